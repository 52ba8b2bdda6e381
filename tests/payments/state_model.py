"""The reference model of the payments state machine and the invariants checked after every step.

The model remembers what the machine did and what the channels know (which trades were paid there, for how much,
which signed notifies our route acknowledged); a `Snapshot` is what the database says about the machine's bills.
`check` holds one against the other:

* a bill is paid at most once, or every extra payment carries DUPLICATE_PAYMENT and an automatic full refund;
* Σ successful refunds ≤ paid, per order and per bill, and the bill's refunded amount and status follow them;
* money shown paid was paid at the channel, in that amount; refunds shown successful were made there;
* every verified success notify our route acknowledged is reflected: the order PAID, unless the notify's amount
  did not match (then AMOUNT_MISMATCH and not PAID);
* an order once PAID stays PAID; at most one live attempt per bill; an application moves on at most once.

"No unverified notify changed anything" is checked around each forgery by comparing `Snapshot.fingerprint`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api.models import Application, ApplicationEvent, EventType
from api.models.payment import (
    LIVE_ORDER_STATUSES,
    Anomaly,
    Bill,
    BillStatus,
    Channel,
    EventSource,
    OrderStatus,
    PaymentEvent,
    PaymentOrder,
    Product,
    Refund,
    RefundStatus,
)
from payments.service import SERVICE_REQUESTER
from tests.payments.state_world import Notice

PAID_BILL = (BillStatus.PAID, BillStatus.PARTIALLY_REFUNDED, BillStatus.REFUNDED)
RESERVING = (
    RefundStatus.CREATED,
    RefundStatus.SUBMITTED,
    RefundStatus.UNKNOWN,
    RefundStatus.ABNORMAL,
    RefundStatus.SUCCEEDED,
)
MISMATCHES = (Anomaly.AMOUNT_MISMATCH, Anomaly.MERCHANT_MISMATCH)


@dataclass(frozen=True)
class BillRef:
    id: uuid.UUID
    amount_fen: int
    payer: int  # the seeded resident who holds (and pays) it
    case_id: uuid.UUID | None = None  # the application waiting on it


@dataclass(frozen=True)
class Request:
    """What a createPayment idempotency key was first used for."""

    bill_id: uuid.UUID
    channel: Channel
    product: Product


@dataclass
class Model:
    bills: dict[uuid.UUID, BillRef] = field(default_factory=dict)
    orders: dict[uuid.UUID, PaymentOrder] = field(default_factory=dict)  # as first seen (ids, numbers, amounts)
    keys: dict[tuple[int, str], tuple[Request, uuid.UUID | None]] = field(default_factory=dict)
    refund_keys: dict[str, tuple[uuid.UUID, int, uuid.UUID | None]] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    delivered: set[tuple[Channel, int]] = field(default_factory=set)  # notices our route has acknowledged
    # out_trade_no → the amount the channel held as paid when our route acknowledged its success notify
    acknowledged: dict[str, int] = field(default_factory=dict)
    ever_paid: set[uuid.UUID] = field(default_factory=set)
    relayed: set[uuid.UUID] = field(default_factory=set)  # cases whose paid bill a clean relay run has seen

    def order_by_trade(self, out_trade_no: str) -> PaymentOrder:
        return next(o for o in self.orders.values() if o.out_trade_no == out_trade_no)


@dataclass
class Snapshot:
    bills: dict[uuid.UUID, Bill]
    orders: dict[uuid.UUID, PaymentOrder]
    refunds: dict[uuid.UUID, Refund]
    notify_events: dict[uuid.UUID, int]  # verified NOTIFY events per order
    events: int  # every PaymentEvent of the machine's orders and refunds
    cases: dict[uuid.UUID, tuple[str, int]]  # case → (status, PAID events)

    @classmethod
    async def take(cls, model: Model) -> Snapshot:
        bill_ids = list(model.bills)
        bills = {b.id: b for b in await Bill.filter(id__in=bill_ids)}
        orders = {o.id: o for o in await PaymentOrder.filter(bill_id__in=bill_ids)}
        refunds = {r.id: r for r in await Refund.filter(bill_id__in=bill_ids)}
        events = await PaymentEvent.filter(order_id__in=list(orders)).values_list("order_id", "source", "verified")
        notify: dict[uuid.UUID, int] = defaultdict(int)
        for order_id, source, verified in events:
            if source == EventSource.NOTIFY and verified:
                notify[order_id] += 1
        cases = {}
        for ref in model.bills.values():
            if ref.case_id is not None:
                row = await Application.get(id=ref.case_id)
                paid = await ApplicationEvent.filter(application_id=ref.case_id, event_type=EventType.PAID).count()
                cases[ref.case_id] = (str(row.status), paid)
        return cls(bills, orders, refunds, dict(notify), len(events), cases)

    def fingerprint(self) -> tuple[Any, ...]:
        """Everything a notify could change."""
        return (
            sorted((str(b.id), b.status, str(b.paid_order_id), b.refunded_fen, b.version) for b in self.bills.values()),
            sorted(
                (str(o.id), o.status, o.anomaly, o.paid_fen, o.refunded_fen, o.channel_trade_no, o.version)
                for o in self.orders.values()
            ),
            sorted((str(r.id), r.status, r.version) for r in self.refunds.values()),
            sorted((str(k), v) for k, v in self.notify_events.items()),
            self.events,
        )

    def refunds_of(self, order_id: uuid.UUID) -> list[Refund]:
        return [r for r in self.refunds.values() if r.order_id == order_id]

    def available(self, order_id: uuid.UUID) -> int:
        """What finance may still refund: paid minus every refund that reserves money."""
        order = self.orders[order_id]
        return int(order.paid_fen - sum(r.amount_fen for r in self.refunds_of(order_id) if r.status in RESERVING))


@dataclass(frozen=True)
class Channels:
    """What the channels hold, as the invariants need it."""

    paid: Callable[[PaymentOrder], int | None]  # amount paid at the channel, None when unpaid
    refunds: Callable[[PaymentOrder], dict[str, int]]  # out_refund_no → amount refunded at the channel


def check(snap: Snapshot, model: Model, channels: Channels) -> None:
    for bill_id in model.bills:
        _check_bill(snap, bill_id)
    for order in snap.orders.values():
        _check_order(snap, order, channels)
    for out_trade_no, paid_at_channel in model.acknowledged.items():
        order = snap.orders[model.order_by_trade(out_trade_no).id]
        if paid_at_channel == order.amount_fen:
            assert order.status is OrderStatus.PAID, f"acknowledged success notify of {out_trade_no} lost: {order}"
        else:
            assert order.anomaly in MISMATCHES, f"{out_trade_no}: paid {paid_at_channel} of {order.amount_fen}"
            assert order.status is not OrderStatus.PAID or order.paid_fen == order.amount_fen
    for order_id in model.ever_paid:
        assert snap.orders[order_id].status is OrderStatus.PAID, f"order {order_id} left PAID"
    model.ever_paid |= {o.id for o in snap.orders.values() if o.status is OrderStatus.PAID}
    for case_id, (status, paid_events) in snap.cases.items():
        assert paid_events <= 1, f"case {case_id} moved on {paid_events} times"
        if case_id in model.relayed:
            assert paid_events == 1 and status != "PENDING_PAYMENT", f"case {case_id} still {status}"


def _check_bill(snap: Snapshot, bill_id: uuid.UUID) -> None:
    bill = snap.bills[bill_id]
    orders = [o for o in snap.orders.values() if o.bill_id == bill_id]
    live = [o for o in orders if o.status in LIVE_ORDER_STATUSES]
    assert len(live) <= 1, f"bill {bill_id} has {len(live)} live orders"
    paid = [o for o in orders if o.status is OrderStatus.PAID]
    if bill.status is BillStatus.UNPAID:
        assert not paid and bill.paid_order_id is None, f"unpaid bill {bill_id} has paid orders {paid}"
        return
    assert bill.status in PAID_BILL, bill.status
    primary = snap.orders.get(bill.paid_order_id) if bill.paid_order_id else None
    assert primary is not None and primary.status is OrderStatus.PAID, f"bill {bill_id} paid by {primary}"
    assert primary.anomaly is not Anomaly.DUPLICATE_PAYMENT
    for extra in paid:
        if extra.id == primary.id:
            continue
        assert extra.anomaly is Anomaly.DUPLICATE_PAYMENT, f"bill {bill_id} paid twice, {extra} not flagged"
        automatic = [r for r in snap.refunds_of(extra.id) if r.requested_by == SERVICE_REQUESTER]
        assert [r.amount_fen for r in automatic] == [extra.paid_fen], f"duplicate {extra} not refunded: {automatic}"
        assert automatic[0].status is not RefundStatus.FAILED
    refunded = sum(r.amount_fen for r in snap.refunds_of(primary.id) if r.status is RefundStatus.SUCCEEDED)
    assert bill.refunded_fen == refunded, f"bill {bill_id} refunded {bill.refunded_fen}, refunds say {refunded}"
    expected = (
        BillStatus.PAID
        if refunded == 0
        else BillStatus.REFUNDED
        if refunded == primary.paid_fen
        else BillStatus.PARTIALLY_REFUNDED
    )
    assert bill.status is expected, f"bill {bill_id} is {bill.status}, refunds make it {expected}"


def _check_order(snap: Snapshot, order: PaymentOrder, channels: Channels) -> None:
    refunds = snap.refunds_of(order.id)
    succeeded = sum(r.amount_fen for r in refunds if r.status is RefundStatus.SUCCEEDED)
    reserved = sum(r.amount_fen for r in refunds if r.status in RESERVING)
    assert succeeded <= reserved <= order.paid_fen, f"{order.out_trade_no}: {reserved} reserved of {order.paid_fen}"
    assert order.refunded_fen == succeeded, f"{order.out_trade_no}: refunded {order.refunded_fen} vs {succeeded}"
    if refunds:
        assert order.status is OrderStatus.PAID, f"refunds of an unpaid order {order.out_trade_no}"
    at_channel = channels.paid(order)
    if order.status is OrderStatus.PAID:
        assert order.paid_fen == order.amount_fen, f"{order.out_trade_no} PAID with {order.paid_fen}"
        assert at_channel == order.paid_fen, f"{order.out_trade_no} PAID here, {at_channel} at the channel"
    channel_refunds = channels.refunds(order)
    ours = {r.out_refund_no: r for r in refunds}
    for number, amount in channel_refunds.items():
        assert number in ours, f"the channel refunded {number} of {order.out_trade_no}, which we never asked for"
        assert ours[number].amount_fen == amount
    for refund in refunds:
        if refund.status is RefundStatus.SUCCEEDED:
            assert refund.out_refund_no in channel_refunds, f"{refund.out_refund_no} SUCCEEDED, not at the channel"
    assert sum(channel_refunds.values()) <= (at_channel or 0)
