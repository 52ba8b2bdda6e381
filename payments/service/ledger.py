"""Writes shared by the fact, refund and order paths, always inside a bill transaction (`locks.bill_transaction`
with the Bill row locked): the bill's PAID transition with its receipt, refund transitions and their accounting,
anomalies. Each announces itself in the outbox in the same transaction."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from api.models.payment import (
    Anomaly,
    Bill,
    BillStatus,
    EventSource,
    OrderStatus,
    PaymentOrder,
    Receipt,
    Refund,
    RefundStatus,
)
from api.settings import active
from payments import transitions
from payments.service import metrics, records, rules, schedule

log = logging.getLogger("zsb.payments")
SERVICE_REQUESTER = "service:payments"


class StaleRow(RuntimeError):
    """A compare-and-set under the bill lock matched nothing: the transaction is rolled back and retried later."""


def bill_paid_payload(bill: Bill, order: PaymentOrder, paid_at: datetime) -> dict[str, object]:
    return {
        "billId": str(bill.id),
        "billNo": bill.bill_no,
        "applicationId": str(bill.application_id) if bill.application_id else None,
        "orderId": str(order.id),
        "channel": order.channel.value,
        "amountFen": order.paid_fen,
        "paidAt": paid_at.isoformat(),
        "personId": str(bill.person_id) if bill.person_id else None,
        "enterpriseId": str(bill.enterprise_id) if bill.enterprise_id else None,
    }


async def pay_bill(db: BaseDBAsyncClient, bill: Bill, order: PaymentOrder, paid_at: datetime, now: datetime) -> None:
    """Bill UNPAID → PAID through `order`, its receipt and `payments.bill_paid`, in the caller's transaction."""
    changed = (
        await Bill.filter(id=bill.id, status=BillStatus.UNPAID, version=bill.version)
        .using_db(db)
        .update(status=BillStatus.PAID, paid_order_id=order.id, paid_at=paid_at, version=F("version") + 1)
    )
    if changed != 1:
        raise StaleRow(f"bill {bill.id} changed under its lock")
    bill.status, bill.paid_order_id, bill.paid_at, bill.version = BillStatus.PAID, order.id, paid_at, bill.version + 1
    receipt_no = records.new_receipt_no(now)
    await Receipt.create(
        using_db=db,
        bill_id=bill.id,
        receipt_no=receipt_no,
        issuer=bill.issuer,
        amount_fen=order.paid_fen,
        issued_at=now,
        file_ref=records.receipt_file_ref(receipt_no),
        created_at=now,
    )
    await records.add_outbox(
        db,
        topic=records.TOPIC_BILL_PAID,
        key=bill.id,
        state_version=bill.version,
        payload=bill_paid_payload(bill, order, paid_at),
        now=now,
    )


async def flag(
    db: BaseDBAsyncClient,
    *,
    bill: Bill,
    order: PaymentOrder,
    anomaly: Anomaly,
    event_id: int,
    source: EventSource,
    now: datetime,
    detail: dict[str, Any],
) -> bool:
    """Give `order` the anomaly (the weightiest one kept), alert, and write `payments.anomaly` when it is new.
    Returns whether an outbox row was written. A repeated mismatching fact (the poller asks again) alerts in
    the log only."""
    kept = rules.anomaly_after(order.anomaly, anomaly) or anomaly
    log.error(
        "payments alert: %s on order %s (%s, bill %s) from %s: %s",
        anomaly.value,
        order.out_trade_no,
        order.channel.value,
        bill.id,
        source.value,
        detail,
    )
    if kept == order.anomaly:
        return False
    await PaymentOrder.filter(id=order.id).using_db(db).update(anomaly=kept)
    order.anomaly = kept
    metrics.ANOMALIES.labels(order.channel.value, anomaly.value).inc()
    await records.add_outbox(
        db,
        topic=records.TOPIC_ANOMALY,
        key=bill.id,
        state_version=event_id,  # one row per occurrence: the audit event that records it
        payload={
            "billId": str(bill.id),
            "orderId": str(order.id),
            "outTradeNo": order.out_trade_no,
            "channel": order.channel.value,
            "anomaly": anomaly.value,
            "source": source.value,
            "detail": detail,
        },
        now=now,
    )
    return True


def reserved_fen(refunds: list[Refund]) -> int:
    return sum(r.amount_fen for r in refunds if r.status in _RESERVING)


_RESERVING = frozenset(
    (RefundStatus.CREATED, RefundStatus.SUBMITTED, RefundStatus.UNKNOWN, RefundStatus.ABNORMAL, RefundStatus.SUCCEEDED)
)
IN_FLIGHT_REFUNDS = (RefundStatus.CREATED, RefundStatus.SUBMITTED, RefundStatus.UNKNOWN, RefundStatus.ABNORMAL)


def _call_budget() -> timedelta:
    s = active().payments
    return timedelta(seconds=s.channel_connect_timeout + s.channel_read_timeout + 2)


async def new_refund(
    db: BaseDBAsyncClient,
    *,
    order: PaymentOrder,
    amount_fen: int,
    reason: str,
    requested_by: str,
    idempotency_key: str,
    request_hash: str,
    now: datetime,
) -> Refund:
    """A CREATED refund, committed before any channel call (the caller submits it after commit)."""
    return await Refund.create(
        using_db=db,
        order_id=order.id,
        bill_id=order.bill_id,
        out_refund_no=records.new_out_refund_no(now),
        amount_fen=amount_fen,
        reason=reason[:200],
        status=RefundStatus.CREATED,
        requested_by=requested_by,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        # A refund whose submission never happened (a crash after commit) is submitted by the refund poller, but
        # never while its first call may still be running (connect plus read timeout).
        next_query_at=now + max(schedule.REFUND_FIRST_QUERY, _call_budget()),
        created_at=now,
    )


async def automatic_refund(
    db: BaseDBAsyncClient, *, order: PaymentOrder, reason: str, key: str, now: datetime
) -> Refund | None:
    """A full refund of money that should not have been taken (a duplicate payment, a cancelled bill)."""
    existing = await Refund.get_or_none(requested_by=SERVICE_REQUESTER, idempotency_key=key, using_db=db)
    if existing is not None:
        return None
    refunds = await Refund.filter(order_id=order.id).using_db(db)
    available = order.paid_fen - reserved_fen(refunds)
    if available <= 0:
        return None
    digest = records.request_hash(orderId=order.id, amountFen=available)
    return await new_refund(
        db,
        order=order,
        amount_fen=available,
        reason=reason,
        requested_by=SERVICE_REQUESTER,
        idempotency_key=key,
        request_hash=digest,
        now=now,
    )


def _next_refund_query(refund: Refund, now: datetime) -> datetime:
    scheduled = schedule.next_refund_query_after(refund.created_at, refund.query_attempts)
    return max(scheduled, now + schedule.REFUND_FIRST_QUERY)


async def move_refund(
    db: BaseDBAsyncClient,
    *,
    bill: Bill,
    order: PaymentOrder,
    refund: Refund,
    target: RefundStatus,
    source: EventSource,
    now: datetime,
    channel_refund_id: str | None = None,
    payload: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    channel_event_id: str | None = None,
) -> bool:
    """Compare-and-set `refund` to `target` when the table allows it, with the event and, on success, the money
    accounting of the order and the bill. Returns whether the refund moved; the event is recorded either way."""
    before = refund.status
    allowed = before is not target and transitions.refund_allows(before, target)
    await records.add_event(
        db,
        channel=order.channel,
        source=source,
        now=now,
        order_id=order.id,
        refund_id=refund.id,
        dedupe_key=dedupe_key,
        channel_event_id=channel_event_id,
        from_status=before.value,
        to_status=(target if allowed else before).value,
        payload=payload,
    )
    if not allowed:
        if before is not target:
            log.warning("payments: refund %s %s -> %s refused", refund.out_refund_no, before.value, target.value)
        return False
    updates: dict[str, Any] = {"status": target, "version": F("version") + 1}
    if channel_refund_id:
        updates["channel_refund_id"] = channel_refund_id[:64]
    if target in (RefundStatus.SUBMITTED, RefundStatus.UNKNOWN):
        updates["next_query_at"] = _next_refund_query(refund, now)
    else:
        updates["next_query_at"] = None
    if target is RefundStatus.SUCCEEDED:
        updates["succeeded_at"] = now
    changed = await Refund.filter(id=refund.id, status=before).using_db(db).update(**updates)
    if changed != 1:
        raise StaleRow(f"refund {refund.id} changed under its lock")
    refund.status = target
    metrics.REFUND_STATES.labels(order.channel.value, target.value).inc()
    if target is RefundStatus.ABNORMAL:
        log.error("payments alert: refund %s is ABNORMAL at %s; manual handling", refund.out_refund_no, order.channel)
    if target is RefundStatus.SUCCEEDED:
        await _account_success(db, bill=bill, order=order, refund=refund, now=now)
    return True


async def _account_success(
    db: BaseDBAsyncClient, *, bill: Bill, order: PaymentOrder, refund: Refund, now: datetime
) -> None:
    await (
        PaymentOrder.filter(id=order.id)
        .using_db(db)
        .update(refunded_fen=F("refunded_fen") + refund.amount_fen, version=F("version") + 1)
    )
    order.refunded_fen += refund.amount_fen
    if bill.paid_order_id != order.id or bill.status not in (BillStatus.PAID, BillStatus.PARTIALLY_REFUNDED):
        return  # a duplicate payment's refund, or one for a cancelled bill: the bill's own money is untouched
    refunded = bill.refunded_fen + refund.amount_fen
    status = transitions.bill_after_refunds(order.paid_fen, refunded)
    changed = (
        await Bill.filter(id=bill.id, version=bill.version)
        .using_db(db)
        .update(refunded_fen=refunded, status=status, version=F("version") + 1)
    )
    if changed != 1:
        raise StaleRow(f"bill {bill.id} changed under its lock")
    bill.refunded_fen, bill.status, bill.version = refunded, status, bill.version + 1
    await records.add_outbox(
        db,
        topic=records.TOPIC_BILL_REFUNDED,
        key=bill.id,
        state_version=bill.version,
        payload={
            "billId": str(bill.id),
            "billNo": bill.bill_no,
            "applicationId": str(bill.application_id) if bill.application_id else None,
            "orderId": str(order.id),
            "refundId": str(refund.id),
            "amountFen": refund.amount_fen,
            "refundedFen": refunded,
            "status": status.value,
            "personId": str(bill.person_id) if bill.person_id else None,
            "enterpriseId": str(bill.enterprise_id) if bill.enterprise_id else None,
        },
        now=now,
    )


async def move_order(
    db: BaseDBAsyncClient, order: PaymentOrder, target: OrderStatus, now: datetime, **extra: Any
) -> None:
    """Compare-and-set a live order to CLOSED / FAILED / PAYING under the bill lock."""
    before = order.status
    if not transitions.order_allows(before, target):
        raise ValueError(f"{before.value} -> {target.value} is not a transition")
    updates: dict[str, Any] = {"status": target, "version": F("version") + 1, **extra}
    if target in (OrderStatus.CLOSED, OrderStatus.FAILED):
        updates.setdefault("closed_at", now)
        updates["next_query_at"] = None
    changed = await PaymentOrder.filter(id=order.id, status=before).using_db(db).update(**updates)
    if changed != 1:
        raise StaleRow(f"order {order.id} changed under its lock")
    metrics.ORDER_TRANSITIONS.labels(order.channel.value, before.value, target.value).inc()
    order.status = target
    order.version += 1
