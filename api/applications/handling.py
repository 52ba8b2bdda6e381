"""Operator handling of a case (domain.md §7.2): 预审, 接件, 受理 / 不予受理, the step chain, 终止, visits and fees.

Every operation is one transaction: read the case, check the handler's department and the lifecycle table, record
one event with its projected columns and outbox row (`journal.append`). Refused input changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from api.applications import deadlines, journal, pauses, results, staff, supplements, workflow
from api.applications.journal import Actor, Entry
from api.applications.policy import Policy, current
from api.identity.tokens import AccessClaims
from api.kit.clock import shanghai_date
from api.kit.errors import Conflict, InvalidInput
from api.models import (
    ActorType,
    Application,
    ApplicationEvent,
    ApplicationStatus,
    EventType,
    FeeItem,
    ServiceItem,
    SpecialProcedure,
)

TERMINATION_CODES = (2, 3)  # 作废办结, 删除办结 (domain.md §7.4)
RESULT_NOT_ACCEPTED = 6
MAX_FEE_FEN = 10**10  # ¥100,000,000: far above any administrative fee, a guard against a typo in fen
PAYMENTS = Actor(ActorType.SYSTEM, None, "统一支付平台")


async def precheck_pass(
    claims: AccessClaims | None, application_id: uuid.UUID, opinion: str, now: datetime
) -> Application:
    opinion = staff.text(opinion, "opinion", required=False)

    async def build(case: staff.Case, db: BaseDBAsyncClient) -> Entry:
        return Entry(step_name="预审", action_result="PASS", opinion=opinion or "预审通过")

    return await staff.transition(claims, application_id, EventType.PRECHECK_PASS, now, build)


async def precheck_return(
    claims: AccessClaims | None,
    application_id: uuid.UUID,
    items: list[supplements.NoticeItem],
    opinion: str,
    now: datetime,
) -> Application:
    """预审退回 with a 一次性告知: every point to fix at once; the applicant resubmits (the draft reopens)."""
    opinion = staff.text(opinion, "opinion", required=False)

    async def build(case: staff.Case, db: BaseDBAsyncClient) -> Entry:
        stored = await supplements.notice_items(items, case.app.service_item_id, db)
        return Entry(
            step_name="预审",
            action_result="RETURN",
            opinion=opinion,
            detail={"items": stored},
            payload={"items": stored, "opinion": opinion},
        )

    return await staff.transition(claims, application_id, EventType.PRECHECK_RETURN, now, build)


async def receive(claims: AccessClaims | None, application_id: uuid.UUID, opinion: str, now: datetime) -> Application:
    """接件: the window takes the case up; the status stays PENDING_ACCEPTANCE."""
    opinion = staff.text(opinion, "opinion", required=False)

    async def build(case: staff.Case, db: BaseDBAsyncClient) -> Entry:
        return Entry(step_name="接件", action_result="PASS", opinion=opinion)

    return await staff.transition(claims, application_id, EventType.RECEIVE, now, build)


async def accept(
    claims: AccessClaims | None,
    application_id: uuid.UUID,
    opinion: str,
    now: datetime,
    *,
    policy: Policy | None = None,
) -> Application:
    """受理: the 受理文书编号, the promised and legal dates on the calendar, and the first step of the chain."""
    policy = policy or current()
    opinion = staff.text(opinion, "opinion", required=False)

    async def build(case: staff.Case, db: BaseDBAsyncClient) -> Entry:
        item = await ServiceItem.get(id=case.app.service_item_id, using_db=db)
        changes = await deadlines.acceptance(case.app, item, now, db, policy)
        return Entry(
            step_name="受理",
            action_result="PASS",
            opinion=opinion or "材料齐全，符合法定形式，予以受理",
            detail={"acceptDocNo": changes["accept_doc_no"]},
            changes=changes,
            payload={
                "acceptDocNo": changes["accept_doc_no"],
                "promiseDate": changes["promise_date"].isoformat() if changes["promise_date"] else None,
            },
        )

    return await staff.transition(claims, application_id, EventType.ACCEPT, now, build)


async def not_accept(
    claims: AccessClaims | None, application_id: uuid.UUID, reason: str, notice_no: str, now: datetime
) -> Application:
    """不予受理: terminal with result 6; the reason and the 不予受理通知书 number are required."""
    reason = staff.text(reason, "reason")
    notice_no = staff.text(notice_no, "noticeNo", limit=64)

    async def build(case: staff.Case, db: BaseDBAsyncClient) -> Entry:
        return Entry(
            step_name="受理",
            action_result="RETURN",
            opinion=reason,
            detail={"noticeNo": notice_no},
            changes={
                "result_code": RESULT_NOT_ACCEPTED,
                "result_time": now,
                "result_reason": reason,
                "result_summary": f"不予受理通知书 {notice_no}",
                "current_step": None,
                "step_due_date": None,
            },
            payload={"resultCode": RESULT_NOT_ACCEPTED, "reason": reason, "noticeNo": notice_no},
        )

    return await staff.transition(claims, application_id, EventType.NOT_ACCEPT, now, build)


async def step(
    claims: AccessClaims | None,
    application_id: uuid.UUID,
    expected_step: str,
    outcome: workflow.Outcome,
    opinion: str,
    now: datetime,
    *,
    policy: Policy | None = None,
) -> Application:
    """承办 / 审核 / 批准: PASS moves to the next step with its SLA, RETURN sends the case back one step."""
    policy = policy or current()
    opinion = staff.text(opinion, "opinion", required=outcome is workflow.Outcome.RETURN)
    expected_step = staff.text(expected_step, "step", limit=20)

    async def build(case: staff.Case, db: BaseDBAsyncClient) -> Entry:
        app = case.app
        if app.accept_time is None:
            raise Conflict("a case has steps only once accepted", code="NOT_ACCEPTED_YET")
        item = await ServiceItem.get(id=app.service_item_id, using_db=db)
        chain = workflow.chain_for(item.workflow_steps, policy.step_sla_working_days)
        today = shanghai_date(now)
        calendar = await deadlines.calendar(item, app, today, db)
        nxt, due = workflow.advance(chain, app.current_step, expected_step, outcome, today, calendar)
        return Entry(
            step_name=expected_step,
            action_result=outcome.value,
            opinion=opinion,
            detail={"nextStep": nxt},
            changes={"current_step": nxt, "step_due_date": due},
        )

    return await staff.transition(claims, application_id, EventType.STEP, now, build)


async def terminate(
    claims: AccessClaims | None, application_id: uuid.UUID, result_code: int, reason: str, now: datetime
) -> Application:
    """异常终止 from any open status: 2 作废办结 or 3 删除办结, with the reason."""
    if result_code not in TERMINATION_CODES:
        raise InvalidInput("a termination carries result code 2 or 3", path=["resultCode"], code="INVALID_RESULT_CODE")
    reason = staff.text(reason, "reason")

    async def build(case: staff.Case, db: BaseDBAsyncClient) -> Entry:
        # An open special procedure ends with the case.
        await (
            SpecialProcedure.filter(application_id=case.app.id, ended_at=None)
            .using_db(db)
            .update(ended_at=now, result="办件终止")
        )
        return Entry(
            step_name="终止",
            action_result="OTHER",
            opinion=reason,
            detail={"resultCode": result_code},
            changes={
                "result_code": result_code,
                "result_time": now,
                "result_reason": reason,
                "current_step": None,
                "step_due_date": None,
                **results.close_pause(case.app, now),
            },
            payload={"resultCode": result_code, "reason": reason},
        )

    return await staff.transition(claims, application_id, EventType.TERMINATE, now, build)


async def record_visit(claims: AccessClaims | None, application_id: uuid.UUID, note: str, now: datetime) -> Application:
    """An on-site visit by the applicant (到现场次数); the status does not move."""
    note = staff.text(note, "note", required=False, limit=500)

    async def build(case: staff.Case, db: BaseDBAsyncClient) -> Entry:
        return Entry(step_name="现场", opinion=note, changes={"visits_count": case.app.visits_count + 1})

    return await staff.transition(claims, application_id, EventType.VISIT, now, build)


async def fee_notice(
    claims: AccessClaims | None, application_id: uuid.UUID, amount_fen: int | None, note: str, now: datetime
) -> Application:
    """缴款通知: payments creates the Bill from `application.fee_required`; the clock pauses until paid."""
    note = staff.text(note, "note", required=False, limit=500)
    if amount_fen is not None and not 0 < amount_fen <= MAX_FEE_FEN:
        raise InvalidInput("the amount is positive and at most 100,000,000 yuan", path=["amountFen"], code="AMOUNT")

    async def build(case: staff.Case, db: BaseDBAsyncClient) -> Entry:
        item = await ServiceItem.get(id=case.app.service_item_id, using_db=db)
        if not item.is_fee:
            raise InvalidInput("this item charges no fee", path=["applicationId"], code="NO_FEE")
        fees = await FeeItem.filter(service_item_id=item.id).using_db(db).order_by("order")
        lines = [{"name": f.name, "amountFen": f.amount_fen} for f in fees if f.amount_fen]
        amount = amount_fen if amount_fen is not None else sum(int(f["amountFen"] or 0) for f in lines)
        if amount <= 0:
            raise InvalidInput("the item has no fixed fee: state the amount", path=["amountFen"], code="REQUIRED")
        return Entry(
            step_name="缴费",
            opinion=note,
            detail={"amountFen": amount, "feeItems": lines},
            changes=pauses.pause(case.app, now),
            payload={"amountFen": amount, "feeItems": lines, "note": note},
        )

    return await staff.transition(claims, application_id, EventType.FEE_NOTICE, now, build)


async def record_payment(application_id: uuid.UUID, bill_id: str, now: datetime) -> Application:
    """For payments' `payments.bill_paid` consumer (not an operator action): PAID moves the case back to where it
    was and the deadlines by the paused working days. Idempotent per bill: a replayed notice changes nothing."""
    async with in_transaction() as db:
        app = await Application.get_or_none(id=application_id, using_db=db)
        if app is None:
            raise InvalidInput("no such application", path=["applicationId"], code="APPLICATION_NOT_FOUND")
        paid_before = await ApplicationEvent.filter(application_id=app.id, event_type=EventType.PAID).using_db(db)
        if any(e.detail.get("billId") == bill_id for e in paid_before):
            return app
        if app.status is not ApplicationStatus.PENDING_PAYMENT:
            staff.ensure(app, EventType.PAID)
        changes = await deadlines.resume(app, now, db)
        entry = Entry(step_name="缴费", action_result="PASS", detail={"billId": bill_id}, changes=changes)
        await journal.append(app, EventType.PAID, PAYMENTS, now, db, entry)
    return app
