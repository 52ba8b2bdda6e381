"""Deciding a case and issuing its result (domain.md §7.2, §7.4): the 即办件 path and the operator's 决定 / 出证.

`finish` is the one completion helper: the licence issued (ISSUE_LICENCE), COMPLETE with its 办结结果 code, the
rating window opened (evaluation PENDING; an unrated case is never defaulted to good), and, when a licence went
to the wallet, its electronic delivery. Every step is a journal entry in the caller's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from api.applications import deadlines, journal, staff, workflow
from api.applications.journal import Actor, Entry
from api.applications.policy import Policy, current
from api.identity.tokens import AccessClaims
from api.kit.errors import Conflict, InvalidInput
from api.licenses import issuing
from api.models import (
    Application,
    DeliveryMethod,
    DeliveryStatus,
    ELicense,
    EvaluationStatus,
    EventType,
    Organization,
    ResultDelivery,
    ServiceItem,
)

RESULT_GRANTED = 0  # 出证办结 (准予)
RESULT_REFUSED = 1  # 不予许可


class Decision(StrEnum):
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class ResultSpec:
    """What the issuing handler adds to the result: 照面信息, the printed number, the term and a summary."""

    surface: list[dict[str, str]] = field(default_factory=list)
    cert_number: str = ""
    valid_from: date | None = None
    valid_to: date | None = None
    summary: str = ""


def yields_licence(item: ServiceItem) -> bool:
    return item.result_is_elicense and len(item.elicense_type_code) == issuing.TYPE_CODE_LENGTH


def _holder(app: Application) -> issuing.Holder:
    if app.applicant_enterprise_id is not None:
        return issuing.Holder(
            app.applicant_name, app.applicant_id_type, app.applicant_id_no_hash, None, app.applicant_enterprise_id
        )
    return issuing.Holder(app.applicant_name, app.applicant_id_type, app.applicant_id_no_hash, app.applicant_person_id)


async def issue_licence(
    app: Application, item: ServiceItem, actor: Actor, now: datetime, db: BaseDBAsyncClient, spec: ResultSpec
) -> ELicense:
    issuer = await Organization.get(id=app.accepting_org_id, using_db=db)
    type_name = item.result_name.strip() or item.name
    surface = spec.surface or [
        {"key": "持证主体", "value": app.applicant_name},
        {"key": "办件编号", "value": app.project_no or ""},
    ]
    request = issuing.Issue(
        type_code=item.elicense_type_code,
        type_name=type_name[:100],
        holder=_holder(app),
        area_code=app.region_code,
        surface=surface,
        cert_number=spec.cert_number,
        valid_from=spec.valid_from,
        valid_to=spec.valid_to,
        application_id=app.id,
        project_no=app.project_no or "",
    )
    return await issuing.issue(request, issuer, actor.name, now, db)


def close_pause(app: Application, now: datetime) -> dict[str, Any]:
    """A case that ends while paused keeps the paused minutes for statistics; no deadline moves any more."""
    if app.paused_since is None:
        return {}
    minutes = int((now - app.paused_since) / timedelta(minutes=1))
    return {"paused_since": None, "paused_minutes": app.paused_minutes + max(minutes, 0), "resume_status": None}


async def finish(
    app: Application,
    actor: Actor,
    now: datetime,
    db: BaseDBAsyncClient,
    *,
    code: int,
    reason: str = "",
    summary: str = "",
    licences: list[ELicense] | None = None,
    policy: Policy | None = None,
) -> None:
    """Complete the case with 办结结果 `code`; licences already issued in this transaction are recorded first."""
    policy = policy or current()
    licences = licences or []
    if licences:
        await journal.append(
            app,
            EventType.ISSUE_LICENCE,
            actor,
            now,
            db,
            Entry(
                step_name="出证",
                action_result="PASS",
                detail={"licences": [{"id": str(x.id), "certIdentifier": x.cert_identifier} for x in licences]},
                changes={"result_licence_ids": [str(x.id) for x in licences]},
            ),
        )
    await journal.append(
        app,
        EventType.COMPLETE,
        actor,
        now,
        db,
        Entry(
            step_name="办结",
            action_result="PASS" if code == RESULT_GRANTED else "OTHER",
            opinion=reason,
            detail={"resultCode": code},
            changes={
                "result_code": code,
                "result_time": now,
                "result_reason": reason,
                "result_summary": summary,
                "evaluation_status": EvaluationStatus.PENDING,
                "rating_due_at": now + policy.rating_window,
                "current_step": None,
                "step_due_date": None,
                **close_pause(app, now),
            },
            payload={"resultCode": code, "licenceIds": [str(x.id) for x in licences]},
        ),
    )
    if licences:
        await ResultDelivery.create(
            using_db=db,
            id=uuid.uuid4(),
            application_id=app.id,
            method=DeliveryMethod.ELECTRONIC,
            sender_org_id=app.accepting_org_id,
            sent_at=now,
            received_at=now,
            receiver_name=app.applicant_name,
            status=DeliveryStatus.E_DELIVERED,
        )
        await journal.append(
            app,
            EventType.DELIVERY_ELECTRONIC,
            actor,
            now,
            db,
            Entry(
                step_name="送达",
                opinion="电子证照已发放至证照夹",
                changes={"delivery_method": DeliveryMethod.ELECTRONIC, "delivery_status": DeliveryStatus.E_DELIVERED},
                payload={
                    "deliveryMethod": DeliveryMethod.ELECTRONIC.value,
                    "licenceIds": [str(x.id) for x in licences],
                },
            ),
        )


async def complete_instant(
    app: Application, actor: Actor, now: datetime, db: BaseDBAsyncClient, *, policy: Policy | None = None
) -> None:
    """即办件: SUBMITTED → IN_PROGRESS (受理, promised the same day) → COMPLETED (result 0), in the caller's
    transaction; the item's licence, if it yields one, goes to the applicant's wallet."""
    policy = policy or current()
    if not deadlines.is_instant(app):
        raise Conflict("only a 即办件 completes on submission", code="NOT_INSTANT")
    staff.ensure(app, EventType.ACCEPT)
    item = await ServiceItem.get(id=app.service_item_id, using_db=db)
    changes = await deadlines.acceptance(app, item, now, db, policy)
    await journal.append(
        app,
        EventType.ACCEPT,
        actor,
        now,
        db,
        Entry(step_name="受理", action_result="PASS", opinion="即办件当场受理", changes=changes),
    )
    licences = [await issue_licence(app, item, actor, now, db, ResultSpec())] if yields_licence(item) else []
    summary = f"即办件当场办结：{item.result_name}" if item.result_name else "即办件当场办结"
    await finish(app, actor, now, db, code=RESULT_GRANTED, summary=summary, licences=licences, policy=policy)


async def decide(
    claims: AccessClaims | None, application_id: uuid.UUID, decision: Decision, reason: str, now: datetime
) -> Application:
    """决定: approve or reject once every step of the chain has passed; a rejection states its reason."""
    reason = staff.text(reason, "reason", required=decision is Decision.REJECTED)
    async with in_transaction() as db:
        case = await staff.load_case(claims, application_id, db)
        app = case.app
        staff.ensure(app, EventType.DECIDE)
        if not workflow.is_complete(app.accept_time is not None, app.current_step):
            raise Conflict(
                f"the case is still at step {app.current_step}; every step must pass before the decision",
                code="WORKFLOW_INCOMPLETE",
            )
        await journal.append(
            app,
            EventType.DECIDE,
            case.actor,
            now,
            db,
            Entry(
                step_name="决定",
                action_result="PASS" if decision is Decision.APPROVED else "RETURN",
                opinion=reason,
                detail={"decision": decision.value},
                changes={"decision": decision.value, "result_reason": reason},
                payload={"decision": decision.value},
            ),
        )
    return app


async def issue_result(
    claims: AccessClaims | None,
    application_id: uuid.UUID,
    spec: ResultSpec,
    now: datetime,
    *,
    policy: Policy | None = None,
) -> Application:
    """出证 / 办结 after the decision: an approval whose item yields a licence puts it in the applicant's wallet."""
    summary = staff.text(spec.summary, "summary", required=False)
    async with in_transaction() as db:
        case = await staff.load_case(claims, application_id, db)
        app = case.app
        staff.ensure(app, EventType.COMPLETE)
        if app.decision is None:
            raise Conflict("decide the case before issuing its result", code="DECISION_MISSING")
        approved = app.decision == Decision.APPROVED.value
        item = await ServiceItem.get(id=app.service_item_id, using_db=db)
        licences: list[ELicense] = []
        if approved and yields_licence(item):
            licences.append(await issue_licence(app, item, case.actor, now, db, spec))
        elif spec.surface or spec.cert_number or spec.valid_to or spec.valid_from:
            raise InvalidInput(
                "this result issues no licence, so it takes no licence data", path=["licence"], code="NO_LICENCE"
            )
        code = RESULT_GRANTED if approved else RESULT_REFUSED
        default = item.result_name if approved else "不予许可"
        await finish(
            app,
            case.actor,
            now,
            db,
            code=code,
            reason="" if approved else app.result_reason,
            summary=summary or default,
            licences=licences,
            policy=policy,
        )
    return app
