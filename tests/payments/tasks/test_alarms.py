"""due_soon (payments.bill_due_soon once per UNPAID bill and due date, 3 days ahead) and stuck_alarms (orders
CREATED over 5 minutes, PAYING an hour past expiry, refunds unresolved over an hour)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from api.kit.clock import shanghai_date
from api.models import OutboxEvent
from api.models.payment import Bill, OrderStatus, PaymentOrder, RefundStatus
from payments import service, tasks
from payments.errors import PaymentsError, PaymentsErrorCode
from payments.tasks_alarms import due_version, stuck_at
from tests.payments.tasks.support import Jobs, TestClock
from tests.support.client import LiveServer

PRECREATE = "alipay.trade.precreate"


def jobs(live: LiveServer) -> Jobs:
    return Jobs(live, TestClock(live))


async def reminders(bill: Bill) -> list[OutboxEvent]:
    return list(await OutboxEvent.filter(topic="payments.bill_due_soon", key=str(bill.id)).order_by("id"))


class TestDueSoon:
    async def test_an_unpaid_bill_is_announced_once_three_days_before_it_is_due(self, live: LiveServer) -> None:
        # given: a bill due in three days and a minute, then three days exactly
        j = jobs(live)
        due = j.clock.now() + timedelta(days=3, minutes=1)
        bill = await j.bill(due_at=due)

        # when
        await tasks.due_soon(j.ctx())
        early = await reminders(bill)
        j.clock.advance(minutes=1)
        await tasks.due_soon(j.ctx())
        await tasks.due_soon(j.ctx())

        # then
        assert early == []
        (row,) = await reminders(bill)
        day = shanghai_date(due)
        assert (row.state_version, row.payload["billId"], row.payload["dueDate"], row.payload["amountFen"]) == (
            due_version(day),
            str(bill.id),
            day.isoformat(),
            5000,
        )
        assert row.state_version == day.year * 10_000 + day.month * 100 + day.day
        assert (await Bill.get(id=bill.id)).due_soon_sent_for == day

    async def test_a_moved_due_date_is_announced_again(self, live: LiveServer) -> None:
        # given: announced for one date, then the date moves a day later
        j = jobs(live)
        bill = await j.bill(due_at=j.clock.now() + timedelta(days=2))
        await tasks.due_soon(j.ctx())
        moved = j.clock.now() + timedelta(days=3)
        await Bill.filter(id=bill.id).update(due_at=moved)

        # when
        await tasks.due_soon(j.ctx())

        # then
        assert [r.state_version for r in await reminders(bill)] == [
            due_version(shanghai_date(j.clock.now() + timedelta(days=2))),
            due_version(shanghai_date(moved)),
        ]

    async def test_bills_not_due_soon_overdue_or_no_longer_unpaid_are_not_announced(self, live: LiveServer) -> None:
        # given
        j = jobs(live)
        later = await j.bill(due_at=j.clock.now() + timedelta(days=4))
        overdue = await j.bill(due_at=j.clock.now() - timedelta(minutes=1))
        undated = await j.bill()
        cancelled = await j.bill(due_at=j.clock.now() + timedelta(days=1))
        await service.cancel_bill(j.clocked(), cancelled.id, reason="撤销")

        # when
        await tasks.due_soon(j.ctx())

        # then
        for bill in (later, overdue, undated, cancelled):
            assert await reminders(bill) == []
            assert (await Bill.get(id=bill.id)).due_soon_sent_for is None


class TestStuckAlarms:
    async def test_orders_and_refunds_past_their_limits_are_counted_and_gauged(self, live: LiveServer) -> None:
        # given: a PAYING order, a refund whose answer was lost, and an order whose prepay went unanswered (CREATED)
        j = jobs(live)
        paying = await j.order()
        paid = await j.order()
        await j.sandbox.alipay.pay(paid.out_trade_no, notify=False)
        j.sandbox.alipay.drop_notifies(paid.out_trade_no)
        j.clock.advance(seconds=10)
        await tasks.poll_orders(j.ctx())
        j.sandbox.alipay.script("alipay.trade.refund", http_status=502)
        refund = await service.request_refund(
            j.clocked(),
            requested_by="finance-test",
            order_id=paid.id,
            amount_fen=5000,
            reason="多缴",
            expected_available_fen=5000,
            idempotency_key=str(uuid.uuid4()),
        )
        assert refund.status is RefundStatus.UNKNOWN
        created_bill = await j.bill()
        j.sandbox.alipay.script(PRECREATE, http_status=502)
        with pytest.raises(PaymentsError) as busy:
            await j.order(created_bill)
        assert busy.value.payments_code is PaymentsErrorCode.PAYMENT_IN_PROGRESS
        created = await PaymentOrder.get(bill_id=created_bill.id)
        assert created.status is OrderStatus.CREATED
        start = j.clock.now()

        # when / then: within every limit, nothing of ours is stuck
        stuck = stuck_at(start + timedelta(minutes=4))
        assert not await stuck.created.filter(id=created.id).exists()
        # past 5 minutes the CREATED order is stuck, the refund not yet
        stuck = stuck_at(start + timedelta(minutes=6))
        assert await stuck.created.filter(id=created.id).exists()
        assert not await stuck.refunds.filter(id=refund.id).exists()
        # an hour past its expiry the PAYING order is stuck, and the refund after an hour
        stuck = stuck_at(paying.expires_at + timedelta(hours=1, seconds=1))
        assert await stuck.paying_past_expiry.filter(id=paying.id).exists()
        assert await stuck.refunds.filter(id=refund.id).exists()
        assert (
            not await stuck_at(paying.expires_at + timedelta(minutes=59))
            .paying_past_expiry.filter(id=paying.id)
            .exists()
        )

        # when: the job runs then
        j.clock.moment = paying.expires_at + timedelta(hours=1, seconds=1)
        counts = await tasks.stuck_alarms(j.ctx())

        # then: it returns the counts and sets the gauges
        assert set(counts) == {"created", "paying_past_expiry", "refunds"}
        assert min(counts.values()) >= 1
        for kind, number in counts.items():
            assert REGISTRY.get_sample_value("zsb_payment_stuck", {"kind": kind}) == number
