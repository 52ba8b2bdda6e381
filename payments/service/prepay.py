"""The channel side of an order's creation (payments.md §9.1, §10 step 6): the channel is asked only after the
CREATED row has committed, and its answer moves the order by compare-and-set. An answer that arrives after a
notify made the order PAID (or after a switch closed it) changes nothing."""

from __future__ import annotations

import logging

from api.models.payment import Bill, EventSource, OrderStatus, PaymentOrder
from payments.channels.base import CreateResult, OrderSpec, Outcome, PaymentChannel
from payments.deps import PaymentsDeps
from payments.service import access, calls, ledger, locks, records

log = logging.getLogger("zsb.payments")


def order_spec(
    order: PaymentOrder, bill: Bill, payer_channel_id: str | None, payer_client_ip: str | None = None
) -> OrderSpec:
    return OrderSpec(
        out_trade_no=order.out_trade_no,
        amount_fen=order.amount_fen,  # always the Bill's, fixed when the row was written
        subject=bill.subject,
        product=order.product,
        expires_at=order.expires_at,
        payer_channel_id=payer_channel_id,
        payer_client_ip=payer_client_ip,
    )


async def prepay(
    deps: PaymentsDeps,
    adapter: PaymentChannel,
    order: PaymentOrder,
    bill: Bill | None = None,
    payer_client_ip: str | None = None,
) -> tuple[PaymentOrder, Outcome]:
    """Ask the channel for the order (again: the same out_trade_no and amount) and record its answer."""
    bill = bill or await Bill.get(id=order.bill_id)
    payer_channel_id = await access.payer_channel_id(order.payer_id, order.channel, order.product)
    result = await calls.create_order(adapter, order_spec(order, bill, payer_channel_id, payer_client_ip))
    return await record_answer(deps, order, result), result.outcome


async def record_answer(deps: PaymentsDeps, found: PaymentOrder, result: CreateResult) -> PaymentOrder:
    """CREATED → PAYING with the payload; a definitive refusal → FAILED; UNKNOWN stays CREATED (the poller
    queries, then asks again with the same out_trade_no)."""
    if result.outcome is Outcome.UNKNOWN:
        log.warning("payments: prepay of %s unanswered (%s); stays CREATED", found.out_trade_no, result.reason)
        return found
    target = OrderStatus.PAYING if result.outcome is Outcome.OK else OrderStatus.FAILED
    now = deps.clock.now()
    async with locks.bill_transaction(found.bill_id) as db:
        await locks.locked_bill(found.bill_id, db)
        order = await PaymentOrder.filter(id=found.id).using_db(db).select_for_update().get()
        moved = order.status is OrderStatus.CREATED
        await records.add_event(
            db,
            channel=order.channel,
            source=EventSource.QUERY,
            now=now,
            order_id=order.id,
            from_status=order.status.value,
            to_status=(target if moved else order.status).value,
            payload={"operation": "create_order", "outcome": result.outcome.value, "reason": result.reason},
        )
        if moved and target is OrderStatus.PAYING:
            extra: dict[str, object] = {"prepay_payload": dict(result.payload)}
            if result.channel_trade_no:
                extra["channel_trade_no"] = result.channel_trade_no[:64]
            await ledger.move_order(db, order, OrderStatus.PAYING, now, **extra)
        elif moved:
            log.warning("payments: %s refused order %s: %s", order.channel, order.out_trade_no, result.reason)
            await ledger.move_order(db, order, OrderStatus.FAILED, now)
    return await PaymentOrder.get(id=found.id)
