"""What an applicant asks of an open case: withdraw it, resubmit it after a pre-review return, answer a 补正 round.

Only the applicant side of the case may (the applicant, the agent who submitted it, the enterprise's people while
acting for it); anyone else is told the case does not exist. Each request is checked against the lifecycle table
and appended through the journal in one transaction; a refused one changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from api.applications import journal, listing, reading, supplements, transitions
from api.applications import materials as rules
from api.applications.journal import Actor, Entry
from api.applications.submission import SubmissionRejected, find_materials_context, form_problems
from api.identity.tokens import AccessClaims
from api.kit.clock import shanghai_date
from api.kit.errors import Conflict, InvalidInput, NotFound
from api.models import (
    ActorType,
    Application,
    ApplicationMaterial,
    ELicense,
    EventType,
    MaterialRequirement,
    Person,
    ServiceItem,
    SupplementRequest,
)

MAX_REASON = 500
WITHDRAWN_RESULT = 5  # 退件: the applicant gave up (domain.md §7.4)


def _not_found() -> NotFound:
    return NotFound("no such application of yours", path=["id"], code="APPLICATION_NOT_FOUND")


async def _own(
    claims: AccessClaims, application_id: uuid.UUID, now: datetime, db: BaseDBAsyncClient | None
) -> Application:
    app = await Application.filter(id=application_id).using_db(db).first()
    if app is None or await listing.viewer_of(claims, app, now) is not reading.Viewer.APPLICANT:
        raise _not_found()
    return app


async def _actor(claims: AccessClaims) -> Actor:
    names = await Person.filter(id=claims.subject).values_list("name", flat=True)
    return Actor(ActorType.APPLICANT, claims.subject, str(names[0]) if names and names[0] else "申请人")


def _ensure(app: Application, event: EventType) -> None:
    """The lifecycle check before any work, so that a refused request costs nothing."""
    transitions.next_status(app.status, event, resume_status=app.resume_status)


async def withdraw(claims: AccessClaims, application_id: uuid.UUID, reason: str, now: datetime) -> Application:
    """撤回 before a decision (never from DECIDED): the case ends WITHDRAWN with 办结结果 5."""
    text = reason.strip()
    if len(text) > MAX_REASON:
        raise InvalidInput(f"at most {MAX_REASON} characters", path=["reason"], code="TOO_LONG")
    actor = await _actor(claims)
    async with in_transaction() as db:
        app = await _own(claims, application_id, now, db)
        _ensure(app, EventType.WITHDRAW)
        changes: dict[str, Any] = {
            "result_code": WITHDRAWN_RESULT,
            "result_reason": text or "申请人主动撤回申请",
            "result_time": now,
        }
        if app.paused_since is not None:
            changes |= {
                "paused_since": None,
                "paused_minutes": app.paused_minutes + max(0, int((now - app.paused_since) / timedelta(minutes=1))),
            }
        await journal.append(
            app,
            EventType.WITHDRAW,
            actor,
            now,
            db,
            Entry(step_name="撤回", opinion=text, changes=changes, payload={"reason": text}),
        )
    return app


def _wallet(app: Application) -> rules.Wallet:
    return rules.Wallet(
        app.applicant_person_id if app.applicant_enterprise_id is None else None, app.applicant_enterprise_id
    )


@dataclass(frozen=True)
class Correction:
    form_data: Any | None
    materials: list[rules.MaterialClaim] | None
    situations: list[rules.SituationAnswer]


async def resubmit(claims: AccessClaims, application_id: uuid.UUID, fix: Correction, now: datetime) -> Application:
    """After 预审退回: the corrected form and materials, same 办件编号, back to SUBMITTED."""
    app = await _own(claims, application_id, now, None)
    _ensure(app, EventType.SUBMIT)
    item = await ServiceItem.get(id=app.service_item_id)  # the version the case started on (its frozen snapshot)
    form = app.form_data if fix.form_data is None else fix.form_data
    problems = form_problems(item, form)
    resolved: rules.Resolved | None = None
    if fix.materials is not None:
        resolved = await find_materials_context(item, fix.materials, fix.situations, _wallet(app), now)
        problems += resolved.problems
    if problems:
        raise SubmissionRejected(problems)
    actor = await _actor(claims)
    async with in_transaction() as db:
        app = await _own(claims, application_id, now, db)
        if resolved is not None:
            await ApplicationMaterial.filter(application_id=app.id, supplement_round=0).using_db(db).delete()
            await rules.insert(app, resolved, now, db)
        await journal.append(
            app,
            EventType.SUBMIT,
            actor,
            now,
            db,
            Entry(
                step_name="重新提交",
                action_result="PASS",
                changes={"form_data": form},
                detail={"resubmitted": True, "materialsReplaced": resolved is not None},
            ),
        )
    return app


@dataclass(frozen=True)
class SupplementAnswer:
    index: int  # position in the input list
    item: int  # which line of the round's notice it answers
    claim: rules.MaterialClaim


def _requirement_for(
    line: dict[str, Any], known: dict[str, MaterialRequirement], app: Application
) -> tuple[MaterialRequirement, bool]:
    """The requirement a notice line names, or a stand-in for a free-text line (upload or reuse only)."""
    found = known.get(str(line.get("requirement_id")))
    if found is not None:
        return found, False
    stand_in = MaterialRequirement(
        service_item_id=app.service_item_id, name=str(line.get("name", ""))[:200], elicense_type_codes=[]
    )
    return stand_in, True


async def _check_answers(
    app: Application, request: SupplementRequest, answers: Sequence[SupplementAnswer], today: date
) -> rules.Resolved:
    lines = list(request.items)
    ids = [line.get("requirement_id") for line in lines if line.get("requirement_id")]
    known = {str(r.id): r for r in await MaterialRequirement.filter(id__in=ids)} if ids else {}
    wallet = _wallet(app)
    licence_ids = [a.claim.licence_id for a in answers if a.claim.licence_id]
    licences = {x.id: x for x in await ELicense.filter(id__in=licence_ids)} if licence_ids else {}
    reused = {
        m.id: m
        for m in await rules.reusable(
            wallet, [a.claim.reused_material_id for a in answers if a.claim.reused_material_id]
        )
    }
    out = rules.Resolved()
    answered: set[int] = set()
    for answer in answers:
        at = ["materials", str(answer.index), "item"]
        if not 0 <= answer.item < len(lines):
            out.problems.append(rules.Problem(at, "UNKNOWN_ITEM", "not a line of this 补正 notice"))
            continue
        if answer.item in answered:
            out.problems.append(rules.Problem(at, "DUPLICATE_ANSWER", "this line is answered twice"))
            continue
        answered.add(answer.item)
        requirement, free = _requirement_for(lines[answer.item], known, app)
        before = len(out.rows)
        rules.check_claim(answer.claim, requirement, wallet, licences, reused, today, out)
        if len(out.rows) > before and free:
            out.rows[-1]["requirement_id"] = None
    for i, line in enumerate(lines):
        if i not in answered:
            out.problems.append(
                rules.Problem(
                    ["materials"],
                    "ITEM_NOT_ANSWERED",
                    f"「{line.get('name', '')}」 is not answered",
                    str(line.get("name", "")),
                )
            )
    return out


async def _open_round(app: Application, db: BaseDBAsyncClient | None) -> SupplementRequest | None:
    return (
        await SupplementRequest.filter(application_id=app.id, fulfilled_at=None).using_db(db).order_by("-round").first()
    )


def _check_round(request: SupplementRequest | None, round_no: int, now: datetime) -> SupplementRequest:
    if request is None or request.round != round_no:
        raise Conflict("this 补正 round is not the open one", path=["round"], code="SUPPLEMENT_ROUND_NOT_OPEN")
    if now > request.due_at:
        raise Conflict(
            f"the deadline of this 补正 round passed at {request.due_at.isoformat()}",
            path=["round"],
            code="SUPPLEMENT_EXPIRED",
        )
    return request


async def supplement(
    claims: AccessClaims, application_id: uuid.UUID, round_no: int, answers: Sequence[SupplementAnswer], now: datetime
) -> Application:
    """补正: every line of the open round answered before its deadline; the clock resumes."""
    app = await _own(claims, application_id, now, None)
    _ensure(app, EventType.SUPPLEMENT_DONE)
    request = _check_round(await _open_round(app, None), round_no, now)
    resolved = await _check_answers(app, request, answers, shanghai_date(now))
    if resolved.problems:
        raise SubmissionRejected(resolved.problems)
    actor = await _actor(claims)
    async with in_transaction() as db:
        app = await _own(claims, application_id, now, db)
        _ensure(app, EventType.SUPPLEMENT_DONE)
        _check_round(await _open_round(app, db), round_no, now)
        await rules.insert(app, resolved, now, db, round_no)
        changes = await supplements.fulfil(app, now, db)
        await journal.append(
            app,
            EventType.SUPPLEMENT_DONE,
            actor,
            now,
            db,
            Entry(
                step_name="补正",
                action_result="PASS",
                changes=changes,
                detail={"round": round_no, "materials": len(resolved.rows)},
                payload={"round": round_no},
            ),
        )
    return app
