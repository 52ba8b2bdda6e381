"""Reminders and alarms (payments.md §12): the due-soon sweep and the stuck-state alarms."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from prometheus_client import Gauge
from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from api.kit.clock import shanghai_date
from api.models.payment import Bill, BillStatus, OrderStatus, PaymentOrder, Refund, RefundStatus
from payments.service import bills, records

log = logging.getLogger("zsb.payments")

DUE_SOON = timedelta(days=3)
DUE_SOON_BATCH = 500

STUCK_CREATED = timedelta(minutes=5)
STUCK_PAYING_PAST_EXPIRY = timedelta(hours=1)
STUCK_REFUND = timedelta(hours=1)
STUCK = Gauge("zsb_payment_stuck", "Payment orders and refunds stuck in a state (payments.md §12)", ["kind"])
_LISTED = 20  # ids named in one alarm line


def due_version(due_day: date) -> int:
    """The due date as yyyymmdd: one reminder per bill and due date (a moved due date reminds again)."""
    return due_day.year * 10_000 + due_day.month * 100 + due_day.day


async def send_due_soon(now: datetime) -> int:
    """`payments.bill_due_soon` once for each UNPAID bill whose `due_at` is within 3 days (and not yet past)."""
    sent = 0
    async for bill in _due_within(now):
        assert bill.due_at is not None
        due_day = shanghai_date(bill.due_at)
        if bill.due_soon_sent_for == due_day:
            continue
        async with in_transaction() as db:
            # The mark and the row together, under compare-and-set: a concurrent sweep, or a payment committed
            # since the read, makes this change nothing.
            claimed = (
                await Bill.filter(id=bill.id, status=BillStatus.UNPAID, due_at=bill.due_at)
                .filter(Q(due_soon_sent_for__isnull=True) | ~Q(due_soon_sent_for=due_day))
                .using_db(db)
                .update(due_soon_sent_for=due_day)
            )
            if claimed != 1:
                continue
            await records.add_outbox(
                db,
                topic=records.TOPIC_BILL_DUE_SOON,
                key=bill.id,
                state_version=due_version(due_day),
                payload=_due_payload(bill, due_day),
                now=now,
            )
        sent += 1
    if sent:
        log.info("bills due soon announced", extra={"bills": sent})
    return sent


async def _due_within(now: datetime) -> AsyncIterator[Bill]:
    """UNPAID bills due in the next 3 days, in pages by (due_at, id): those already reminded are read too (a
    moved due date reminds again), and are few, being due within days."""
    after: tuple[datetime, UUID] | None = None
    while True:
        query = Bill.filter(status=BillStatus.UNPAID, due_at__gt=now, due_at__lte=now + DUE_SOON)
        if after is not None:
            query = query.filter(Q(due_at__gt=after[0]) | Q(due_at=after[0], id__gt=after[1]))
        page = await query.order_by("due_at", "id").limit(DUE_SOON_BATCH)
        for bill in page:
            yield bill
        if len(page) < DUE_SOON_BATCH:
            return
        last = page[-1]
        assert last.due_at is not None
        after = (last.due_at, last.id)


def _due_payload(bill: Bill, due_day: date) -> dict[str, object]:
    return bills.bill_payload(bill) | {"dueDate": due_day.isoformat()}


@dataclass(frozen=True)
class StuckCounts:
    created: int  # orders CREATED for over 5 minutes (the prepay answer never came)
    paying_past_expiry: int  # orders PAYING an hour after they expired (the sweep cannot settle them)
    refunds: int  # refunds SUBMITTED or UNKNOWN for over an hour

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "paying_past_expiry": self.paying_past_expiry, "refunds": self.refunds}


@dataclass(frozen=True)
class Stuck:
    """The rows each alarm counts at `now` (payments.md §12)."""

    created: QuerySet[PaymentOrder]
    paying_past_expiry: QuerySet[PaymentOrder]
    refunds: QuerySet[Refund]


def stuck_at(now: datetime) -> Stuck:
    return Stuck(
        created=PaymentOrder.filter(status=OrderStatus.CREATED, created_at__lt=now - STUCK_CREATED),
        paying_past_expiry=PaymentOrder.filter(
            status=OrderStatus.PAYING, expires_at__lt=now - STUCK_PAYING_PAST_EXPIRY
        ),
        refunds=Refund.filter(
            status__in=(RefundStatus.SUBMITTED, RefundStatus.UNKNOWN), created_at__lt=now - STUCK_REFUND
        ),
    )


async def stuck_alarms(now: datetime) -> StuckCounts:
    stuck = stuck_at(now)
    counts = StuckCounts(
        await stuck.created.count(), await stuck.paying_past_expiry.count(), await stuck.refunds.count()
    )
    for kind, number in counts.as_dict().items():
        STUCK.labels(kind).set(number)
    if counts.created:
        ids = await stuck.created.order_by("created_at").limit(_LISTED).values_list("out_trade_no", flat=True)
        log.warning("payment orders stuck in CREATED", extra={"count": counts.created, "out_trade_nos": list(ids)})
    if counts.paying_past_expiry:
        late = stuck.paying_past_expiry.order_by("expires_at").limit(_LISTED)
        ids = await late.values_list("out_trade_no", flat=True)
        extra = {"count": counts.paying_past_expiry, "out_trade_nos": list(ids)}
        log.warning("payment orders PAYING long past expiry", extra=extra)
    if counts.refunds:
        ids = await stuck.refunds.order_by("created_at").limit(_LISTED).values_list("out_refund_no", flat=True)
        log.warning("refunds stuck unresolved", extra={"count": counts.refunds, "out_refund_nos": list(ids)})
    return counts
