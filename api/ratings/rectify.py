"""The steps of the 差评 loop (domain.md §9.3; the state model is in `loop`): the responsible org's callback,
classification and rectification, the supervisor's appeal decision and the rater's verdict.

Every step reads the row in its transaction, checks the table, and writes with a guard on (status, updated_at),
so two people acting at once cannot both move the loop: the second gets a Conflict and nothing changes. Every
step appends to `history`; `ratings.rectification_due` is written when someone else must act next: the org after
opening, a reopen or a rejected appeal, the rater when feedback is given, the supervisor when an appeal is filed.
The org's own next steps (classify after the callback, complete after classifying) need no notice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from api.identity.tokens import AccessClaims
from api.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from api.models import (
    Application,
    Evaluation,
    OperatorRole,
    Rectification,
    RectificationCategory,
    RectificationStatus,
)
from api.ratings import common, loop
from api.ratings.loop import IllegalRectificationStep, Step, Verdict
from api.settings import RatingSettings

R = RectificationStatus
TEXT_MAX_CHARS = 2000


class AppealWindowClosed(Conflict):
    code = "APPEAL_WINDOW_CLOSED"


class VerdictWindowClosed(Conflict):
    code = "VERDICT_WINDOW_CLOSED"


@dataclass(frozen=True)
class Loaded:
    row: Rectification
    evaluation: Evaluation


def _text(value: str | None, field: str, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"{field} is required", path=[field], code="REQUIRED")
    if len(text) > TEXT_MAX_CHARS:
        raise InvalidInput(f"{field} holds at most {TEXT_MAX_CHARS} characters", path=[field], code="TEXT_TOO_LONG")
    return text


async def _load(rectification_id: uuid.UUID, db: BaseDBAsyncClient) -> Loaded:
    row = await Rectification.filter(id=rectification_id).using_db(db).first()
    if row is None:
        raise NotFound("no such rectification", path=["rectificationId"], code="RECTIFICATION_NOT_FOUND")
    evaluation = await Evaluation.filter(id=row.evaluation_id).using_db(db).get()
    return Loaded(row, evaluation)


def _org_actor(claims: AccessClaims, row: Rectification) -> common.Actor:
    """谁办理、谁负责: only a case handler of the assigned org acts on its loop."""
    if OperatorRole.CASE_HANDLER.value not in claims.roles or claims.department_id != row.assigned_org_id:
        raise Forbidden("this rectification is assigned to another department", code="NOT_ASSIGNED_ORG")
    return common.Actor("ORG", claims.subject)


async def _save(
    loaded: Loaded,
    actor: common.Actor,
    action: str,
    after: R,
    now: datetime,
    db: BaseDBAsyncClient,
    changes: dict[str, Any],
    **note: Any,
) -> Rectification:
    row = loaded.row
    before = row.status
    history = [*row.history, common.history_entry(actor, action, now, before, after, **note)]
    values: dict[str, Any] = {**changes, "status": after, "history": history, "updated_at": now}
    updated = (
        await Rectification.filter(id=row.id, status=before, updated_at=row.updated_at).using_db(db).update(**values)
    )
    if updated != 1:
        raise Conflict("the rectification was changed by someone else just now; reload it and try again")
    for name, value in values.items():
        setattr(row, name, value)
    return row


async def _refresh_case(evaluation: Evaluation, policy: RatingSettings, now: datetime, db: BaseDBAsyncClient) -> None:
    if evaluation.application_id is None:
        return  # an imported evaluation without a case
    app = await Application.filter(id=evaluation.application_id).using_db(db).first()
    if app is not None:
        await common.refresh_evaluation_status(app, now, timedelta(days=policy.window_days), db)


async def _region(evaluation: Evaluation, db: BaseDBAsyncClient) -> str:
    if evaluation.application_id is None:
        return ""
    values = await Application.filter(id=evaluation.application_id).using_db(db).values_list("region_code", flat=True)
    return str(values[0]) if values else ""


async def record_callback(
    claims: AccessClaims, rectification_id: uuid.UUID, result: str | None, now: datetime
) -> Rectification:
    """回访核实: the callback to a real-name rater; PENDING_CALLBACK → VERIFYING."""
    text = _text(result, "result", required=True)
    async with in_transaction() as db:
        loaded = await _load(rectification_id, db)
        actor = _org_actor(claims, loaded.row)
        loop.check(loaded.row.status, Step.CALLBACK)
        changes = {"callback_at": now, "callback_result": text}
        return await _save(loaded, actor, "CALLBACK", R.VERIFYING, now, db, changes, note=text)


async def classify(
    claims: AccessClaims,
    rectification_id: uuid.UUID,
    category: RectificationCategory,
    text: str | None,
    policy: RatingSettings,
    now: datetime,
) -> Rectification:
    """The category decides the path: IMMEDIATE / LEDGER_DEADLINE rectify, NO_LEGAL_BASIS explains (the text is the
    explanation sent to the rater), MISJUDGED appeals (the text is the appeal's reason)."""
    needs_text = category in (RectificationCategory.NO_LEGAL_BASIS, RectificationCategory.MISJUDGED)
    body = _text(text, "text", required=needs_text)
    async with in_transaction() as db:
        loaded = await _load(rectification_id, db)
        row = loaded.row
        actor = _org_actor(claims, row)
        after = loop.after_classify(row.status, category)
        changes: dict[str, Any] = {"category": category}
        recipient: str | None = None
        if category is RectificationCategory.NO_LEGAL_BASIS:
            changes.update(feedback_text=body, feedback_at=now, rater_feedback_satisfaction=None)
            recipient = "RATER"
        elif category is RectificationCategory.MISJUDGED:
            if row.appeal is not None:
                raise IllegalRectificationStep(row.status, Step.CLASSIFY, "this loop has been appealed once already")
            # Assigned when rated: the loop is opened in the rating's transaction, on the business clock.
            appeal_until = await common.working_deadline(
                loaded.evaluation.evaluated_at, policy.appeal_working_days, await _region(loaded.evaluation, db), db
            )
            if now > appeal_until:
                raise AppealWindowClosed(
                    f"an appeal is possible within {policy.appeal_working_days} working days of assignment",
                    path=["category"],
                )
            changes["appeal"] = {
                "reason": body,
                "filedAt": now.isoformat(),
                "filedBy": str(claims.subject),
                "decision": None,
                "decidedAt": None,
                "decidedBy": None,
                "comment": "",
            }
            recipient = "SUPERVISOR"
        saved = await _save(loaded, actor, "CLASSIFIED", after, now, db, changes, category=category.value, note=body)
        if recipient is not None:
            await common.rectification_due(saved, loaded.evaluation, recipient, now, db)
        await _refresh_case(loaded.evaluation, policy, now, db)
        return saved


async def complete(
    claims: AccessClaims,
    rectification_id: uuid.UUID,
    rectification_text: str | None,
    feedback: str | None,
    policy: RatingSettings,
    now: datetime,
) -> Rectification:
    """整改完成: what was changed, and the feedback the rater reads; RECTIFYING → CLOSED, awaiting the verdict."""
    done = _text(rectification_text, "rectificationText", required=True)
    told = _text(feedback, "feedback", required=True)
    async with in_transaction() as db:
        loaded = await _load(rectification_id, db)
        actor = _org_actor(claims, loaded.row)
        loop.check(loaded.row.status, Step.COMPLETE)
        changes = {
            "rectification_text": done,
            "feedback_text": told,
            "feedback_at": now,
            "rater_feedback_satisfaction": None,
            "closed_at": now,
        }
        saved = await _save(loaded, actor, "COMPLETED", R.CLOSED, now, db, changes, note=told)
        await common.rectification_due(saved, loaded.evaluation, "RATER", now, db)
        await _refresh_case(loaded.evaluation, policy, now, db)
        return saved


async def decide_appeal(
    claims: AccessClaims,
    rectification_id: uuid.UUID,
    upheld: bool,
    comment: str | None,
    policy: RatingSettings,
    now: datetime,
) -> Rectification:
    """申诉复核 by the 政务服务管理机构. Upheld: the evaluation stays stored but leaves the statistics, and the loop
    closes. Rejected: the loop resumes at VERIFYING and `due_at` moves by the time the appeal took."""
    note = _text(comment, "comment", required=not upheld)
    async with in_transaction() as db:
        loaded = await _load(rectification_id, db)
        row = loaded.row
        loop.check(row.status, Step.APPEAL_UPHELD if upheld else Step.APPEAL_REJECTED)
        assert row.appeal is not None  # APPEALED is reached only by filing one
        actor = common.Actor("SUPERVISOR", claims.subject)
        appeal = {
            **row.appeal,
            "decision": "UPHELD" if upheld else "REJECTED",
            "decidedAt": now.isoformat(),
            "decidedBy": str(claims.subject),
            "comment": note,
        }
        if upheld:
            await Evaluation.filter(id=loaded.evaluation.id).using_db(db).update(excluded_from_stats=True)
            changes: dict[str, Any] = {"appeal": appeal, "closed_at": now}
            saved = await _save(loaded, actor, "APPEAL_UPHELD", R.CLOSED, now, db, changes, note=note or None)
        else:
            paused = now - datetime.fromisoformat(row.appeal["filedAt"])
            changes = {"appeal": appeal, "due_at": row.due_at + paused}
            saved = await _save(loaded, actor, "APPEAL_REJECTED", R.VERIFYING, now, db, changes, note=note)
            await common.rectification_due(saved, loaded.evaluation, "ORG", now, db)
        await _refresh_case(loaded.evaluation, policy, now, db)
        return saved


def awaiting_verdict(row: Rectification) -> bool:
    """Feedback was given in this round and the rater has not judged it (an upheld appeal asks for none)."""
    upheld = bool(row.appeal and row.appeal.get("decision") == "UPHELD")
    return (
        row.status in loop.FEEDBACK_GIVEN
        and row.feedback_at is not None
        and row.rater_feedback_satisfaction is None
        and not row.escalated
        and not upheld
    )


async def rate_rectification(
    claims: AccessClaims,
    rectification_id: uuid.UUID,
    verdict: Verdict,
    comment: str | None,
    policy: RatingSettings,
    now: datetime,
) -> Rectification:
    """The rater's 满意 / 基本满意 / 不满意 on the feedback. A first 不满意 reopens the loop once with a new deadline; a
    second closes it escalated, which supervision's scan raises as a RED alert to the supervising org."""
    note = _text(comment, "comment", required=False)
    async with in_transaction() as db:
        loaded = await _load(rectification_id, db)
        row = loaded.row
        if loaded.evaluation.rater_person_id != claims.subject:
            raise NotFound(
                "no such rectification of your ratings", path=["rectificationId"], code="RECTIFICATION_NOT_FOUND"
            )
        if not awaiting_verdict(row):
            raise IllegalRectificationStep(row.status, Step.VERDICT, "there is no feedback awaiting your verdict")
        assert row.feedback_at is not None
        if now > row.feedback_at + timedelta(days=policy.window_days):
            raise VerdictWindowClosed(
                f"feedback can be judged for {policy.window_days} days after it was given", path=["verdict"]
            )
        after, reopened, escalated = loop.after_verdict(row.status, verdict, row.reopen_count)
        actor = common.Actor("RATER", claims.subject)
        changes: dict[str, Any] = {"rater_feedback_satisfaction": verdict.value}
        if reopened:
            region = await _region(loaded.evaluation, db)
            changes.update(
                reopen_count=row.reopen_count + 1,
                due_at=await common.working_deadline(now, policy.rectification_working_days, region, db),
                closed_at=None,
            )
        elif escalated:
            changes.update(escalated=True, closed_at=now)
        else:
            changes["closed_at"] = row.closed_at or now
        action = "REOPENED" if reopened else "ESCALATED" if escalated else "VERDICT"
        saved = await _save(loaded, actor, action, after, now, db, changes, verdict=verdict.value, note=note or None)
        if reopened:
            await common.rectification_due(saved, loaded.evaluation, "ORG", now, db)
        await _refresh_case(loaded.evaluation, policy, now, db)
        return saved
