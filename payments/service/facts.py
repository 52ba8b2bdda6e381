"""apply_trade_fact: THE only code that moves a payment order on what a channel says (notifies, queries, the
expiry sweep, client confirmations, reconciliation), payments.md §9.1 and §11 steps 4–7.

One transaction per fact, the Bill row locked first: the PaymentEvent (with the notify's dedupe key), the order's
compare-and-set, the bill's PAID transition with its receipt and outbox row, anomalies and automatic refunds all
commit together or not at all. A duplicate dedupe key rolls everything back and is reported as such.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from api.models.payment import (
    Anomaly,
    Bill,
    EventSource,
    OrderStatus,
    PaymentOrder,
    Refund,
    RefundStatus,
)
from payments.channels.base import Outcome, TradeFact, TradeState
from payments.deps import PaymentsDeps
from payments.service import effects, ledger, locks, metrics, records, refunds, rules
from payments.service.rules import BillEffect, Kind

log = logging.getLogger("zsb.payments")


@dataclass
class AfterCommit:
    """What the transaction asks for once it has committed."""

    refunds: list[uuid.UUID] = field(default_factory=list)
    outbox: bool = False


@dataclass(frozen=True)
class TradeApplied:
    order: PaymentOrder | None  # None: no order has that out_trade_no
    duplicate: bool = False


async def apply_trade_fact(
    deps: PaymentsDeps,
    fact: TradeFact,
    source: EventSource,
    *,
    dedupe_key: str | None = None,
    channel_event_id: str | None = None,
) -> PaymentOrder | None:
    """Apply one channel fact about a trade; returns the order as it now stands, None for an unknown
    out_trade_no. An UNKNOWN or REJECTED answer changes nothing (only a later query resolves it)."""
    return (await apply_trade(deps, fact, source, dedupe_key=dedupe_key, channel_event_id=channel_event_id)).order


async def apply_trade(
    deps: PaymentsDeps,
    fact: TradeFact,
    source: EventSource,
    *,
    dedupe_key: str | None = None,
    channel_event_id: str | None = None,
) -> TradeApplied:
    found = await PaymentOrder.get_or_none(out_trade_no=fact.out_trade_no)
    if found is None:
        log.error("payments alert: %s fact for unknown out_trade_no %r", source.value, fact.out_trade_no)
        return TradeApplied(None)
    if fact.outcome is not Outcome.OK or fact.state is None:
        log.info("payments: %s answer %s for %s (%s)", source.value, fact.outcome, found.out_trade_no, fact.reason)
        return TradeApplied(found)
    after = AfterCommit()
    try:
        async with locks.bill_transaction(found.bill_id) as db:
            await _apply(deps, db, found, fact, source, dedupe_key, channel_event_id, after)
    except records.Duplicate:
        return TradeApplied(await PaymentOrder.get(id=found.id), duplicate=True)
    await run_after_commit(deps, after)
    return TradeApplied(await PaymentOrder.get(id=found.id))


async def run_after_commit(deps: PaymentsDeps, after: AfterCommit) -> None:
    """Submit the refunds the transaction created, then wake the outbox relays (best effort: the relays' cron
    finds the rows anyway)."""
    if after.refunds:
        for refund_id in after.refunds:
            refund = await Refund.get(id=refund_id)
            await refunds.submit_refund(deps, refund)
    if after.outbox:
        await effects.kick(deps)


async def record_fact_event(
    db: BaseDBAsyncClient,
    *,
    order: PaymentOrder,
    source: EventSource,
    now: datetime,
    to_status: OrderStatus,
    payload: Any,
    dedupe_key: str | None,
    channel_event_id: str | None,
) -> int:
    event = await records.add_event(
        db,
        channel=order.channel,
        source=source,
        now=now,
        order_id=order.id,
        dedupe_key=dedupe_key,
        channel_event_id=channel_event_id,
        from_status=order.status.value,
        to_status=to_status.value,
        payload=payload,
    )
    event_id: int = event.id
    return event_id


def _fact_payload(fact: TradeFact) -> dict[str, Any]:
    payload = dict(fact.payload_redacted)
    payload.setdefault("state", fact.state.value if fact.state else None)
    if fact.amount_fen is not None:
        payload.setdefault("amountFen", fact.amount_fen)
    return payload


async def _apply(
    deps: PaymentsDeps,
    db: BaseDBAsyncClient,
    found: PaymentOrder,
    fact: TradeFact,
    source: EventSource,
    dedupe_key: str | None,
    channel_event_id: str | None,
    after: AfterCommit,
) -> None:
    now = deps.clock.now()
    bill = await locks.locked_bill(found.bill_id, db)
    order = await PaymentOrder.filter(id=found.id).using_db(db).select_for_update().get()
    decision = rules.decide_trade(
        order.status,
        fact,
        channel=order.channel,
        amount_fen=order.amount_fen,
        currency=order.currency,
        merchant=deps.merchant,
    )
    target = decision.target if decision.kind is Kind.TRANSITION and decision.target else order.status
    event_id = await record_fact_event(
        db,
        order=order,
        source=source,
        now=now,
        to_status=target,
        payload=_fact_payload(fact),
        dedupe_key=dedupe_key,
        channel_event_id=channel_event_id,
    )
    if decision.kind is Kind.MISMATCH:
        assert decision.anomaly is not None
        detail = {"state": fact.state.value if fact.state else None, "amountFen": fact.amount_fen}
        detail |= {"merchantId": fact.merchant_id, "appId": fact.app_id, "currency": fact.currency}
        anomaly = decision.anomaly
        after.outbox |= await ledger.flag(
            db, bill=bill, order=order, anomaly=anomaly, event_id=event_id, source=source, now=now, detail=detail
        )
    elif decision.kind is Kind.REFUSED:
        log.error("payments alert: %s for order %s refused: %s", source.value, order.out_trade_no, decision.reason)
    elif decision.kind is Kind.REFUND_CONFIRMATION:
        await confirm_refunds_by_total(db, bill=bill, order=order, fact=fact, source=source, now=now)
        after.outbox = True
    elif decision.kind is Kind.TRANSITION and decision.target is OrderStatus.PAID:
        await _to_paid(deps, db, bill, order, fact, source, decision.anomaly, event_id, now, after)
    elif decision.kind is Kind.TRANSITION and decision.target is not None:
        await ledger.move_order(db, order, decision.target, now)


async def _to_paid(
    deps: PaymentsDeps,
    db: BaseDBAsyncClient,
    bill: Bill,
    order: PaymentOrder,
    fact: TradeFact,
    source: EventSource,
    anomaly: Anomaly | None,
    event_id: int,
    now: datetime,
    after: AfterCommit,
) -> None:
    before = order.status
    paid_at = fact.paid_at or now
    assert fact.amount_fen is not None  # decide_trade refuses a payment without its amount
    updates: dict[str, Any] = {
        "status": OrderStatus.PAID,
        "paid_fen": fact.amount_fen,
        "paid_at": paid_at,
        "next_query_at": None,
        "version": F("version") + 1,
    }
    if fact.channel_trade_no and fact.channel_trade_no != order.channel_trade_no:
        updates["channel_trade_no"] = fact.channel_trade_no[:64]
    changed = await PaymentOrder.filter(id=order.id, status=before).using_db(db).update(**updates)
    if changed != 1:
        raise ledger.StaleRow(f"order {order.id} changed under its lock")
    metrics.ORDER_TRANSITIONS.labels(order.channel.value, before.value, OrderStatus.PAID.value).inc()
    order.status, order.paid_fen, order.paid_at = OrderStatus.PAID, fact.amount_fen, paid_at
    effect = rules.bill_effect(bill.status, bill.paid_order_id, order.id)
    if effect is BillEffect.PAY:
        await ledger.pay_bill(db, bill, order, paid_at, now)
        after.outbox = True
    elif effect in (BillEffect.DUPLICATE, BillEffect.NOT_PAYABLE):
        duplicate = effect is BillEffect.DUPLICATE
        anomaly = rules.anomaly_after(anomaly, Anomaly.DUPLICATE_PAYMENT if duplicate else Anomaly.PAID_AFTER_CLOSE)
        # Reconciliation refunds by itself only with the approval flag (payments.md §13); every other source
        # refunds money that should not have been taken at once.
        if source is not EventSource.RECONCILE or deps.settings.auto_refund_duplicates:
            refund = await ledger.automatic_refund(
                db,
                order=order,
                reason="重复缴费自动退款" if duplicate else "缴款单已撤销，自动退款",
                key=f"{'duplicate' if duplicate else 'cancelled'}:{order.id}",
                now=now,
            )
            if refund is not None:
                after.refunds.append(refund.id)
    if anomaly is not None:
        detail = {"from": before.value, "billStatus": bill.status.value, "paidOrderId": str(bill.paid_order_id)}
        after.outbox |= await ledger.flag(
            db, bill=bill, order=order, anomaly=anomaly, event_id=event_id, source=source, now=now, detail=detail
        )


async def confirm_refunds_by_total(
    db: BaseDBAsyncClient,
    *,
    bill: Bill,
    order: PaymentOrder,
    fact: TradeFact,
    source: EventSource,
    now: datetime,
) -> None:
    """A paid trade reported refunded (Alipay TRADE_CLOSED after a full refund, or a refund total): the in-flight
    refunds whose amounts make up the newly refunded money succeed. When no single set of them does, nothing is
    guessed: each is queried at once instead."""
    total = fact.refunded_fen
    if total is None:
        total = order.paid_fen if fact.state in (TradeState.REFUNDED, TradeState.CLOSED) else 0
    rows = await Refund.filter(order_id=order.id).using_db(db).select_for_update().order_by("created_at")
    succeeded = sum(r.amount_fen for r in rows if r.status is RefundStatus.SUCCEEDED)
    pending = [r for r in rows if r.status in ledger.IN_FLIGHT_REFUNDS]
    need = total - succeeded
    if need <= 0:
        return
    chosen = rules.refunds_making_up(need, [(r.id, r.amount_fen) for r in pending])
    if chosen is None:
        log.error(
            "payments alert: %s says %s fen refunded on %s, our refunds do not make it up; querying them",
            source.value,
            total,
            order.out_trade_no,
        )
        await Refund.filter(id__in=[r.id for r in pending]).using_db(db).update(next_query_at=now)
        return
    for refund in pending:
        if refund.id in chosen:
            await ledger.move_refund(
                db,
                bill=bill,
                order=order,
                refund=refund,
                target=RefundStatus.SUCCEEDED,
                source=source,
                now=now,
                payload={"confirmedBy": "trade", "refundedTotalFen": total},
            )
