"""特别程序 (domain.md §7.5, A.7): 延长审批, 听证, 检验检测, 专家评审, 现场勘查 … pause the promised clock."""

from __future__ import annotations

import uuid
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from api.applications import deadlines, pauses, staff
from api.applications.journal import Entry
from api.identity.tokens import AccessClaims
from api.kit.errors import Conflict, InvalidInput
from api.models import Application, EventType, SpecialProcedure, SpecialProcedureDef

KINDS = ("1", "2")  # 1 延长审批, 2 除延长审批之外的情况
SUBTYPES = ("HEARING", "TEST", "EXPERT_REVIEW", "SITE_INSPECTION", "OTHER")
MAX_PLANNED_DAYS = 365


async def start(
    claims: AccessClaims | None,
    application_id: uuid.UUID,
    kind: str,
    subtype: str,
    reason_basis: str,
    planned_days: int,
    requested_by: str,
    now: datetime,
) -> Application:
    """Open a special procedure; when the item declares its special procedures, only those, within their days."""
    if kind not in KINDS:
        raise InvalidInput("kind is 1 (延长审批) or 2 (other)", path=["kind"], code="INVALID_KIND")
    if subtype not in SUBTYPES:
        raise InvalidInput(f"subtype is one of {', '.join(SUBTYPES)}", path=["subtype"], code="INVALID_SUBTYPE")
    if not 0 < planned_days <= MAX_PLANNED_DAYS:
        raise InvalidInput(f"planned days are 1–{MAX_PLANNED_DAYS}", path=["plannedDays"], code="INVALID_DAYS")
    reason_basis = staff.text(reason_basis, "reasonBasis")
    requested_by = staff.text(requested_by, "requestedBy", required=False, limit=100)

    async def build(case: staff.Case, db: BaseDBAsyncClient) -> Entry:
        app = case.app
        declared = await SpecialProcedureDef.filter(service_item_id=app.service_item_id).using_db(db)
        if declared:
            match = next((d for d in declared if d.kind == kind and d.subtype == subtype), None)
            if match is None:
                raise InvalidInput(
                    "the item's guide does not provide this special procedure", path=["subtype"], code="NOT_DECLARED"
                )
            if planned_days > match.max_days:
                raise InvalidInput(
                    f"the item allows at most {match.max_days} days for it", path=["plannedDays"], code="TOO_LONG"
                )
        row = await SpecialProcedure.create(
            using_db=db,
            id=uuid.uuid4(),
            application_id=app.id,
            kind=kind,
            subtype=subtype,
            reason_basis=reason_basis,
            requested_by=requested_by,
            started_at=now,
            planned_days=planned_days,
            handler=case.actor.name,
        )
        detail = {"specialProcedureId": str(row.id), "kind": kind, "subtype": subtype, "plannedDays": planned_days}
        return Entry(
            step_name="特别程序",
            opinion=reason_basis,
            detail=detail,
            changes=pauses.pause(app, now),
            payload=detail,
        )

    return await staff.transition(claims, application_id, EventType.SPECIAL_START, now, build)


async def end(
    claims: AccessClaims | None, application_id: uuid.UUID, result: str, opinion: str, now: datetime
) -> Application:
    """Close the open special procedure with its result; the deadlines move by the paused working days."""
    result = staff.text(result, "result", limit=500)
    opinion = staff.text(opinion, "opinion", required=False)

    async def build(case: staff.Case, db: BaseDBAsyncClient) -> Entry:
        app = case.app
        row = (
            await SpecialProcedure.filter(application_id=app.id, ended_at=None)
            .using_db(db)
            .order_by("-started_at")
            .first()
        )
        if row is None:
            raise Conflict("no special procedure is open", code="NO_SPECIAL_PROCEDURE")
        await (
            SpecialProcedure.filter(id=row.id)
            .using_db(db)
            .update(ended_at=now, result=result, opinion=opinion, handler=case.actor.name)
        )
        detail = {"specialProcedureId": str(row.id), "result": result}
        return Entry(
            step_name="特别程序",
            action_result="PASS",
            opinion=opinion or result,
            detail=detail,
            changes=await deadlines.resume(app, now, db),
            payload=detail,
        )

    return await staff.transition(claims, application_id, EventType.SPECIAL_END, now, build)
