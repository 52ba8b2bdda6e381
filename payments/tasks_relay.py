"""Payments' consumer of the outbox (payments.md §13, architecture §3a): `application.fee_required` makes the
application's Bill, `application.withdrawn` cancels it or refunds it, and `application.terminated` (终止 while
awaiting payment; the spec is silent) cancels an unpaid one, since nobody should pay for a case that has ended; a
paid fee of a terminated case is left to finance, the refund policy being about withdrawals.

`fee_required` is handled inside the relay's transaction (the Bill, its `payments.bill_created` row and the
receipt commit together). `withdrawn` closes live orders at the channel and may refund, so it runs outside it
(api.outbox.relay explains why); it is idempotent on its own: cancel_bill is a compare-and-set, and the refund's
idempotency key is derived from the event id.

Refusals that retrying cannot change are logged and passed over: a raise would stop the consumer for good.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from api.kit.errors import InvalidInput
from api.kit.ids import parse_uuid
from api.models import Application, ApplicationStatus, Organization, OutboxEvent, ServiceItem
from api.models.payment import Bill, BillKind, BillStatus, PaymentOrder, Refund
from api.outbox.relay import Handler
from payments import service
from payments.deps import PaymentsDeps
from payments.errors import PaymentsError, PaymentsErrorCode
from payments.service import ledger

log = logging.getLogger("zsb.payments")

CONSUMER = "payments"
FEE_REQUIRED = "application.fee_required"
WITHDRAWN = "application.withdrawn"
TERMINATED = "application.terminated"
TOPICS = (FEE_REQUIRED, WITHDRAWN, TERMINATED)
OUTSIDE_TRANSACTION = frozenset({WITHDRAWN, TERMINATED})

# 缴费期限: the spec names none. Fifteen days from the notice, a common term for administrative fees; the
# due-soon reminder goes out three days before.
FEE_DUE_IN = timedelta(days=15)
DEFAULT_ISSUER = "政务服务中心"
WITHDRAWAL_REFUND_REASON = "申请人撤回办件，退还已缴费用"


def handler(deps: PaymentsDeps) -> Handler:
    async def handle(event: OutboxEvent) -> None:
        if event.topic == FEE_REQUIRED:
            await bill_for_fee(deps, event)
        elif event.topic in (WITHDRAWN, TERMINATED):
            await settle_withdrawal(deps, event)

    return handle


def source_key(event: OutboxEvent) -> str:
    return f"{event.topic}:{event.key}:{event.state_version}"


async def bill_for_fee(deps: PaymentsDeps, event: OutboxEvent) -> Bill | None:
    """The application's fee Bill: holder the applicant (the enterprise when it applied for one), amount from the
    notice (the item's FeeItem amounts, or the amount the handler stated), payee the accepting department."""
    payload = event.payload
    app = await _application(event)
    if app is None:
        return None
    if app.status is not ApplicationStatus.PENDING_PAYMENT:
        # Withdrawn or terminated before this relay got to the notice: nothing is owed any more.
        log.warning("payments: no bill for %s, no longer awaiting payment (%s)", app.id, app.status.value)
        return None
    amount = payload.get("amountFen")
    if type(amount) is not int or amount <= 0:
        log.error("payments alert: fee notice %s without a valid amount: %r", event.id, amount)
        return None
    org = await Organization.get_or_none(id=app.accepting_org_id)
    item = await ServiceItem.get_or_none(id=app.service_item_id)
    try:
        return await _create(deps, event, app, amount, org, item)
    except (InvalidInput, PaymentsError, ValueError) as exc:
        # A notice no bill can be made from (no holder, an amount out of range): retrying changes nothing.
        log.error("payments alert: no bill for fee notice %s: %s", event.id, exc)
        return None


async def _create(
    deps: PaymentsDeps,
    event: OutboxEvent,
    app: Application,
    amount: int,
    org: Organization | None,
    item: ServiceItem | None,
) -> Bill:
    return await service.create_bill(
        kind=BillKind.APPLICATION_FEE,
        person_id=None if app.applicant_enterprise_id else app.applicant_person_id,
        enterprise_id=app.applicant_enterprise_id,
        issuer=(org.name if org else DEFAULT_ISSUER)[:100],
        issuer_code=org.uscc if org else "",
        subject=_subject(app),
        amount_fen=amount,
        lines=_lines(event.payload.get("feeItems"), amount, app.item_name),
        due_at=fee_due_at(event.created_at),
        now=deps.clock.now(),
        application_id=app.id,
        source_key=source_key(event),
        min_assurance=max(deps.settings.min_assurance_level, item.min_assurance_level if item else 0),
    )


def _subject(app: Application) -> str:
    """What the payer sees at the channel: the item's name and the 办件编号, within 128 characters."""
    suffix = f" 办件编号{app.project_no}" if app.project_no else ""
    return f"{app.item_name[: 128 - len(suffix)]}{suffix}"


def _lines(fee_items: object, amount: int, item_name: str) -> list[dict[str, Any]]:
    """The notice's fee items when they add up to the amount; a stated amount (a fee the item does not fix) is
    one line of its own."""
    if isinstance(fee_items, list):
        lines = [
            {"name": str(f["name"])[:100], "amountFen": f["amountFen"]}
            for f in fee_items
            if isinstance(f, dict) and type(f.get("amountFen")) is int and f.get("name")
        ]
        if lines and len(lines) == len(fee_items) and sum(int(line["amountFen"]) for line in lines) == amount:
            return lines
    return [{"name": item_name[:100] or "行政事业性收费", "amountFen": amount}]


async def settle_withdrawal(deps: PaymentsDeps, event: OutboxEvent) -> None:
    """Each fee Bill of the withdrawn (or terminated) application: UNPAID → CANCELLED once its live orders are
    closed at the channel; PAID (the close may reveal a payment) → refunded in full when withdrawn and the refund
    policy says so."""
    app_id = parse_uuid(event.payload.get("applicationId")) or parse_uuid(event.key)
    if app_id is None:
        log.error("payments alert: withdrawal %s names no application", event.id)
        return
    for found in await Bill.filter(application_id=app_id, kind=BillKind.APPLICATION_FEE).order_by("created_at"):
        bill = found
        if bill.status is BillStatus.UNPAID:
            # PAYMENT_IN_PROGRESS (a channel did not answer the close) propagates: the relay retries the event.
            reason = "办件撤回" if event.topic == WITHDRAWN else "办件终止"
            bill = await service.cancel_bill(deps, bill.id, reason=f"{reason} (outbox {event.id})")
        if bill.status not in (BillStatus.PAID, BillStatus.PARTIALLY_REFUNDED):
            continue
        if event.topic == WITHDRAWN and deps.settings.refund_on_withdrawal:
            await _refund_rest(deps, bill, event)
        elif event.topic == TERMINATED:
            log.warning("payments: bill %s of terminated application %s stays paid (finance decides)", bill.id, app_id)


async def _refund_rest(deps: PaymentsDeps, bill: Bill, event: OutboxEvent) -> None:
    if bill.paid_order_id is None:
        log.error("payments alert: bill %s is %s without its paid order", bill.id, bill.status.value)
        return
    key = f"withdrawn:{event.id}:{bill.id}"
    if await Refund.exists(requested_by=ledger.SERVICE_REQUESTER, idempotency_key=key):
        return  # asked before this run was cut short; the refund poller carries it on
    order = await PaymentOrder.get(id=bill.paid_order_id)
    available = order.paid_fen - ledger.reserved_fen(list(await Refund.filter(order_id=order.id)))
    if available <= 0:
        return
    try:
        await service.request_refund(
            deps,
            requested_by=ledger.SERVICE_REQUESTER,
            order_id=order.id,
            amount_fen=available,
            reason=WITHDRAWAL_REFUND_REASON,
            expected_available_fen=available,
            idempotency_key=key,
        )
    except PaymentsError as exc:
        if exc.payments_code is not PaymentsErrorCode.ORDER_NOT_REFUNDABLE:
            raise  # AVAILABLE_MISMATCH and the like: a refund moved meanwhile; the next run computes again
        log.error("payments alert: withdrawn bill %s cannot be refunded: %s", bill.id, exc.message)


async def _application(event: OutboxEvent) -> Application | None:
    app_id = parse_uuid(event.payload.get("applicationId")) or parse_uuid(event.key)
    app = await Application.get_or_none(id=app_id) if app_id else None
    if app is None:
        log.error("payments alert: %s %s for an unknown application %r", event.topic, event.id, event.key)
    return app


def fee_due_at(notice_at: datetime) -> datetime:
    return notice_at + FEE_DUE_IN
