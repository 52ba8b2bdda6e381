"""Closing orders and asking channels about them (payments.md §9.1, §12): close_order (channel switch,
cancelPayment, the expiry sweep, bill cancellation), the poller's refresh_order and the expiry sweep's
sweep_expired_order. An order is CLOSED only on the channel's word, never on a local timer alone; a close that
reveals a payment makes the order PAID instead; an expired order that turns out paid is never closed."""

from __future__ import annotations

import logging
from datetime import timedelta

from api.models.payment import LIVE_ORDER_STATUSES, EventSource, OrderStatus, PaymentOrder
from payments.channels.base import Outcome, TradeFact, TradeState
from payments.deps import PaymentsDeps
from payments.errors import PaymentsError
from payments.service import calls, facts, ledger, locks, prepay, records, schedule

log = logging.getLogger("zsb.payments")

# A CREATED order still this far from its expiry is worth asking the channel for again (a prepay that went
# unanswered); closer to the end the payer could not pay it anyway.
RETRY_PREPAY_MARGIN = timedelta(minutes=2)


async def close_order(deps: PaymentsDeps, order: PaymentOrder, source: EventSource) -> PaymentOrder:
    """Close a live order at its channel, then query to confirm: CLOSED when the channel says closed or never
    heard of it, PAID when the money arrived after all. A close the channel did not answer changes nothing (the
    order is returned still live)."""
    order = await PaymentOrder.get(id=order.id)
    adapter = deps.channel(order.channel)
    if order.status not in LIVE_ORDER_STATUSES or adapter is None:
        return order
    closing = await calls.close(adapter, order.out_trade_no)
    if closing.outcome is Outcome.UNKNOWN:
        log.warning("payments: close of %s unanswered (%s)", order.out_trade_no, closing.reason)
        return order
    fact = await calls.query(adapter, order.out_trade_no)
    if fact.outcome is not Outcome.OK or fact.state is None:
        return await PaymentOrder.get(id=order.id)
    if fact.state in (TradeState.PAID, TradeState.REFUNDED):
        return await facts.apply_trade_fact(deps, fact, EventSource.QUERY) or order
    if fact.state in (TradeState.CLOSED, TradeState.FAILED):
        return await facts.apply_trade_fact(deps, fact, source) or order
    if fact.state is TradeState.NOT_FOUND:
        # The trade never reached the channel (an app or wap order string nobody opened, a prepay that never
        # arrived). Its signed order string stays payable until time_expire; should that happen, the payment is
        # applied as a correction (PAID_AFTER_CLOSE, refunded if the bill was paid otherwise).
        return await _close_locally(deps, order, source, fact)
    log.warning("payments: %s still %s after close (%s)", order.out_trade_no, fact.state, closing.outcome)
    return await PaymentOrder.get(id=order.id)


async def _close_locally(deps: PaymentsDeps, found: PaymentOrder, source: EventSource, fact: TradeFact) -> PaymentOrder:
    now = deps.clock.now()
    async with locks.bill_transaction(found.bill_id) as db:
        await locks.locked_bill(found.bill_id, db)
        order = await PaymentOrder.filter(id=found.id).using_db(db).select_for_update().get()
        live = order.status in LIVE_ORDER_STATUSES
        await records.add_event(
            db,
            channel=order.channel,
            source=source,
            now=now,
            order_id=order.id,
            from_status=order.status.value,
            to_status=(OrderStatus.CLOSED if live else order.status).value,
            payload={"operation": "close", "state": TradeState.NOT_FOUND.value, **dict(fact.payload_redacted)},
        )
        if live:
            await ledger.move_order(db, order, OrderStatus.CLOSED, now)
    return await PaymentOrder.get(id=found.id)


async def refresh_order(deps: PaymentsDeps, order: PaymentOrder, *, force: bool = False) -> PaymentOrder:
    """The poller's unit of work for one due live order (`next_query_at <= now`): claim it by moving
    `next_query_at` to the next slot of the schedule (two pollers never both ask), query, apply the answer.
    A CREATED order whose prepay went unanswered and that the channel does not hold as paid is asked for again,
    with the same out_trade_no and amount."""
    order = await PaymentOrder.get(id=order.id)
    now = deps.clock.now()
    adapter = deps.channel(order.channel)
    if order.status not in LIVE_ORDER_STATUSES or adapter is None:
        return order
    if not force and (order.next_query_at is None or order.next_query_at > now):
        return order
    attempts = order.query_attempts + 1
    upcoming = schedule.next_query_after(order.created_at, attempts, order.expires_at)
    claimed = await PaymentOrder.filter(
        id=order.id, status__in=LIVE_ORDER_STATUSES, query_attempts=order.query_attempts
    ).update(query_attempts=attempts, next_query_at=upcoming)
    if claimed != 1:
        return await PaymentOrder.get(id=order.id)
    fact = await calls.query(adapter, order.out_trade_no)
    current = await facts.apply_trade_fact(deps, fact, EventSource.QUERY) or order
    unanswered = fact.outcome is Outcome.OK and fact.state in (TradeState.NOT_FOUND, TradeState.PENDING)
    if current.status is OrderStatus.CREATED and unanswered and current.expires_at - now > RETRY_PREPAY_MARGIN:
        try:
            current, _ = await prepay.prepay(deps, adapter, current)
        except PaymentsError as exc:  # the payer's mini-program binding is gone: the order cannot be made
            log.warning("payments: prepay of %s not retried: %s", current.out_trade_no, exc.message)
    return current


async def sweep_expired_order(deps: PaymentsDeps, order: PaymentOrder) -> PaymentOrder:
    """The expiry sweep for one live order past `expires_at`: query first; paid → PAID and never a close; closed
    or failed at the channel → that; still unpaid → close at the channel, re-query, and only then CLOSED. A query
    error changes nothing (the next sweep asks again)."""
    order = await PaymentOrder.get(id=order.id)
    now = deps.clock.now()
    adapter = deps.channel(order.channel)
    if order.status not in LIVE_ORDER_STATUSES or adapter is None or order.expires_at > now:
        return order
    fact = await calls.query(adapter, order.out_trade_no)
    if fact.outcome is not Outcome.OK or fact.state is None:
        log.warning("payments: expiry query of %s failed (%s); retried next sweep", order.out_trade_no, fact.reason)
        return order
    if fact.state in (TradeState.PAID, TradeState.REFUNDED, TradeState.CLOSED, TradeState.FAILED):
        return await facts.apply_trade_fact(deps, fact, EventSource.SWEEP) or order
    return await close_order(deps, order, EventSource.SWEEP)
