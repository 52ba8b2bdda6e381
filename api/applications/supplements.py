"""补正 (domain.md §7.5): one itemised notice (一次性告知) per round, the applicant's deadline, and its expiry.

A round lists every missing item with its reason at once; the applicant has `settings.applications.supplement_days`
natural days. After acceptance the promised clock pauses while the case waits (D11). A round past its deadline
completes the case with result 5 退件 (`expire_overdue`, run by the worker; idempotent).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from api.applications import deadlines, pauses, results, staff
from api.applications.journal import SYSTEM, Entry
from api.applications.policy import Policy, current
from api.identity.tokens import AccessClaims
from api.kit.errors import AppError, InvalidInput
from api.models import Application, ApplicationStatus, EventType, MaterialRequirement, SupplementRequest

log = logging.getLogger("zsb.applications")

MAX_ITEMS = 100
RESULT_RETURNED = 5  # 退件


@dataclass(frozen=True)
class NoticeItem:
    """One line of a 一次性告知: the material (or other point) to fix, and why."""

    requirement_id: uuid.UUID | None
    name: str
    reason: str


async def notice_items(
    items: list[NoticeItem], service_item_id: uuid.UUID, db: BaseDBAsyncClient
) -> list[dict[str, Any]]:
    """Validated notice lines as stored; a requirement must belong to the item, and its name fills an empty one."""
    if not items:
        raise InvalidInput("list every item to fix, at least one", path=["items"], code="REQUIRED")
    if len(items) > MAX_ITEMS:
        raise InvalidInput(f"at most {MAX_ITEMS} items", path=["items"], code="TOO_MANY")
    wanted = {i.requirement_id for i in items if i.requirement_id is not None}
    known: dict[uuid.UUID, str] = {}
    if wanted:
        rows = await MaterialRequirement.filter(id__in=wanted, service_item_id=service_item_id).using_db(db)
        known = {row.id: row.name for row in rows}
    stored: list[dict[str, Any]] = []
    seen: set[uuid.UUID] = set()
    for index, item in enumerate(items):
        path = ["items", str(index)]
        if item.requirement_id is not None:
            if item.requirement_id not in known:
                raise InvalidInput(
                    "not a material of this item", path=[*path, "requirementId"], code="UNKNOWN_REQUIREMENT"
                )
            if item.requirement_id in seen:
                raise InvalidInput("this material is listed twice", path=[*path, "requirementId"], code="DUPLICATE")
            seen.add(item.requirement_id)
        name = item.name.strip() or known.get(item.requirement_id or uuid.UUID(int=0), "")
        if not name:
            raise InvalidInput("name what is to be fixed", path=[*path, "name"], code="REQUIRED")
        if len(name) > 200:
            raise InvalidInput("at most 200 characters", path=[*path, "name"], code="TOO_LONG")
        reason = staff.text(item.reason, "reason", limit=500) if item.reason.strip() else ""
        if not reason:
            raise InvalidInput("say why it is needed or what is wrong", path=[*path, "reason"], code="REQUIRED")
        stored.append(
            {
                "requirement_id": str(item.requirement_id) if item.requirement_id else None,
                "name": name,
                "reason": reason,
            }
        )
    return stored


async def request_supplement(
    claims: AccessClaims | None,
    application_id: uuid.UUID,
    items: list[NoticeItem],
    opinion: str,
    now: datetime,
    *,
    policy: Policy | None = None,
) -> Application:
    """Open the next 补正 round with every missing item; pauses the clock when the case was already accepted."""
    window = (policy or current()).supplement_window
    opinion = staff.text(opinion, "opinion", required=False)

    async def build(case: staff.Case, db: BaseDBAsyncClient) -> Entry:
        app = case.app
        stored = await notice_items(items, app.service_item_id, db)
        round_no = app.supplement_rounds + 1
        due_at = now + window
        row = await SupplementRequest.create(
            using_db=db,
            id=uuid.uuid4(),
            application_id=app.id,
            round=round_no,
            items=stored,
            before_acceptance=app.accept_time is None,
            notified_at=now,
            due_at=due_at,
        )
        return Entry(
            step_name="补正告知",
            action_result="RETURN",
            opinion=opinion,
            detail={"round": round_no, "items": stored, "dueAt": due_at.isoformat()},
            changes={"supplement_rounds": round_no, **pauses.pause(app, now)},
            payload={
                "round": round_no,
                "supplementRequestId": str(row.id),
                "items": stored,
                "dueAt": due_at.isoformat(),
            },
        )

    return await staff.transition(claims, application_id, EventType.SUPPLEMENT_NOTICE, now, build)


async def fulfil(app: Application, now: datetime, db: BaseDBAsyncClient) -> dict[str, Any]:
    """For the applicant's SUPPLEMENT_DONE: close the open round and return the columns that resume the clock.

    Call it inside the transaction that appends SUPPLEMENT_DONE and pass the result in `Entry.changes`."""
    await SupplementRequest.filter(application_id=app.id, fulfilled_at=None).using_db(db).update(fulfilled_at=now)
    return await deadlines.resume(app, now, db)


async def _expire_one(request_id: uuid.UUID, now: datetime, policy: Policy) -> bool:
    async with in_transaction() as db:
        row = await SupplementRequest.get_or_none(id=request_id, using_db=db)
        if row is None or row.fulfilled_at is not None or row.due_at > now:
            return False
        app = await Application.get_or_none(id=row.application_id, using_db=db)
        if app is None or app.status is not ApplicationStatus.SUPPLEMENT_REQUIRED:
            return False
        # The round stays unanswered: fulfilled_at remains empty, the timeline says why the case ended.
        await results.finish(
            app,
            SYSTEM,
            now,
            db,
            code=RESULT_RETURNED,
            reason=f"申请人逾期未补正（第 {row.round} 次补正告知，期限 {row.due_at.isoformat()}），退件",
            summary="退件",
            policy=policy,
        )
        return True


async def expire_overdue(now: datetime, *, policy: Policy | None = None, batch: int = 500) -> int:
    """Complete with 退件 every case whose open 补正 round is past its deadline; safe to run again."""
    policy = policy or current()
    waiting = Application.filter(status=ApplicationStatus.SUPPLEMENT_REQUIRED).values("id")
    ids = (
        await SupplementRequest.filter(fulfilled_at=None, due_at__lte=now, application_id__in=Subquery(waiting))
        .order_by("due_at")
        .limit(batch)
        .values_list("id", flat=True)
    )
    done = 0
    for request_id in ids:
        try:
            done += await _expire_one(uuid.UUID(str(request_id)), now, policy)
        except AppError as exc:  # raced by a handler or the applicant: the next run sees the new state
            log.info("supplement expiry skipped", extra={"supplementRequestId": str(request_id), "reason": exc.code})
    return done
