"""poll_orders, sweep_expired and poll_refunds (payments.md §12) against the Alipay sandbox of the live server.

Orders are made through the service (precreate: the trade exists at the sandbox at once, WAIT_BUYER_PAY); a lost
notify is `pay(..., notify=False)`; each job runs "at" the test's clock.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from api.models.payment import (
    Bill,
    BillStatus,
    EventSource,
    OrderStatus,
    PaymentEvent,
    PaymentOrder,
    Refund,
    RefundStatus,
)
from payments import service, tasks
from payments.service import ledger
from tests.payments.tasks.support import Jobs, TestClock
from tests.support.client import LiveServer

QUERY = "alipay.trade.query"
CLOSE = "alipay.trade.close"
REFUND = "alipay.trade.refund"
REFUND_QUERY = "alipay.trade.fastpay.refund.query"


def jobs(live: LiveServer) -> Jobs:
    return Jobs(live, TestClock(live))


def calls(j: Jobs, method: str, out_trade_no: str) -> int:
    return len(j.sandbox.alipay.requests(method, out_trade_no=out_trade_no))


class TestPollOrders:
    async def test_a_lost_notify_is_found_at_the_first_due_query_and_querying_stops(self, live: LiveServer) -> None:
        # given: the payer paid and the notify was lost
        j = jobs(live)
        order = await j.order()
        assert order.status is OrderStatus.PAYING
        await j.sandbox.alipay.pay(order.out_trade_no, notify=False)

        # when: the poller runs just before the first slot (+10 s), then at it
        j.clock.advance(seconds=9)
        await tasks.poll_orders(j.ctx())
        queried_early = calls(j, QUERY, order.out_trade_no)
        j.clock.advance(seconds=1)
        await tasks.poll_orders(j.ctx())

        # then: one query, at the slot, and the order and the bill are PAID
        assert queried_early == 0
        row = await PaymentOrder.get(id=order.id)
        assert (row.status, row.paid_fen, row.next_query_at, row.query_attempts) == (OrderStatus.PAID, 5000, None, 1)
        assert (await Bill.get(id=order.bill_id)).status is BillStatus.PAID
        event = await PaymentEvent.filter(order_id=order.id, to_status=OrderStatus.PAID.value).get()
        assert event.source is EventSource.QUERY
        # and later runs no longer ask
        j.clock.advance(minutes=5)
        await tasks.poll_orders(j.ctx())
        assert calls(j, QUERY, order.out_trade_no) == 1

    async def test_an_unpaid_order_moves_to_its_next_slot(self, live: LiveServer) -> None:
        # given
        j = jobs(live)
        order = await j.order()
        j.clock.advance(seconds=10)

        # when
        await tasks.poll_orders(j.ctx())

        # then: still PAYING, next asked at +30 s
        row = await PaymentOrder.get(id=order.id)
        assert (row.status, row.query_attempts, row.next_query_at) == (
            OrderStatus.PAYING,
            1,
            order.created_at + timedelta(seconds=30),
        )
        assert calls(j, QUERY, order.out_trade_no) == 1

    async def test_an_unanswered_query_changes_nothing_but_the_slot(self, live: LiveServer) -> None:
        # given: the sandbox answers the query with a 502
        j = jobs(live)
        order = await j.order()
        await j.sandbox.alipay.pay(order.out_trade_no, notify=False)
        j.sandbox.alipay.script(QUERY, http_status=502)
        j.clock.advance(seconds=10)

        # when
        await tasks.poll_orders(j.ctx())

        # then: not PAID on a guess; asked again at the next slot
        row = await PaymentOrder.get(id=order.id)
        assert (row.status, row.query_attempts) == (OrderStatus.PAYING, 1)
        j.clock.advance(seconds=20)
        await tasks.poll_orders(j.ctx())
        assert (await PaymentOrder.get(id=order.id)).status is OrderStatus.PAID

    async def test_without_payments_deps_the_job_does_nothing(self, live: LiveServer) -> None:
        # given / when / then
        assert await tasks.poll_orders({"clock": TestClock(live)}) == 0


class TestSweepExpired:
    async def test_an_order_paid_by_expiry_becomes_paid_and_is_never_closed(self, live: LiveServer) -> None:
        # given: paid, notify lost, and the poller never got to it
        j = jobs(live)
        order = await j.order()
        await j.sandbox.alipay.pay(order.out_trade_no, notify=False)
        j.clock.moment = order.expires_at

        # when
        await tasks.sweep_expired(j.ctx())

        # then
        row = await PaymentOrder.get(id=order.id)
        assert row.status is OrderStatus.PAID
        assert (await Bill.get(id=order.bill_id)).status is BillStatus.PAID
        assert calls(j, CLOSE, order.out_trade_no) == 0
        assert (await PaymentEvent.filter(order_id=order.id, to_status="PAID").get()).source is EventSource.SWEEP

    async def test_an_unpaid_order_is_closed_at_the_channel_then_closed_here(self, live: LiveServer) -> None:
        # given
        j = jobs(live)
        order = await j.order()
        j.clock.moment = order.expires_at + timedelta(seconds=5)

        # when
        await tasks.sweep_expired(j.ctx())

        # then
        row = await PaymentOrder.get(id=order.id)
        assert row.status is OrderStatus.CLOSED
        assert calls(j, CLOSE, order.out_trade_no) == 1
        trade = j.sandbox.alipay.trade(order.out_trade_no)
        assert trade is not None and trade.status.value == "TRADE_CLOSED"
        assert (await Bill.get(id=order.bill_id)).status is BillStatus.UNPAID

    async def test_a_failed_query_changes_nothing_and_is_retried_a_minute_later(self, live: LiveServer) -> None:
        # given: the expiry query is unanswered (earlier tests' expired orders swept first: the script is ours)
        j = jobs(live)
        order = await j.order()
        j.clock.moment = order.expires_at - timedelta(seconds=1)
        await tasks.sweep_expired(j.ctx())
        j.clock.moment = order.expires_at
        j.sandbox.alipay.script(QUERY, http_status=503)

        # when: the sweep runs, and again at once
        await tasks.sweep_expired(j.ctx())
        await tasks.sweep_expired(j.ctx())

        # then: nothing closed, nothing asked twice in the same minute
        row = await PaymentOrder.get(id=order.id)
        assert (row.status, row.next_query_at) == (OrderStatus.PAYING, order.expires_at + timedelta(minutes=1))
        assert calls(j, CLOSE, order.out_trade_no) == 0
        assert calls(j, QUERY, order.out_trade_no) == 1
        # and a minute later the sweep settles it
        j.clock.advance(minutes=1)
        await tasks.sweep_expired(j.ctx())
        assert (await PaymentOrder.get(id=order.id)).status is OrderStatus.CLOSED


class TestPollRefunds:
    async def test_an_unknown_refund_is_resolved_by_the_query_and_never_sent_again(self, live: LiveServer) -> None:
        # given: a paid order whose refund answer is lost (the refund happened at the sandbox)
        j = jobs(live)
        order = await j.order()
        await j.sandbox.alipay.pay(order.out_trade_no, notify=False)
        j.clock.advance(seconds=10)
        await tasks.poll_orders(j.ctx())
        j.sandbox.alipay.drop_notifies(order.out_trade_no)  # the refund notify is lost too: only a query can tell
        j.sandbox.alipay.script(REFUND, http_status=502, perform_anyway=True)
        refund = await service.request_refund(
            j.clocked(),
            requested_by="finance-test",
            order_id=order.id,
            amount_fen=5000,
            reason="多缴",
            expected_available_fen=5000,
            idempotency_key=str(uuid.uuid4()),
        )
        assert refund.status is RefundStatus.UNKNOWN

        # when: the refund poller runs before and at the refund's next query
        early = await Refund.get(id=refund.id)
        assert early.next_query_at is not None
        j.clock.moment = early.next_query_at - timedelta(seconds=1)
        await tasks.poll_refunds(j.ctx())
        asked_early = calls(j, REFUND_QUERY, order.out_trade_no)
        j.clock.moment = early.next_query_at
        await tasks.poll_refunds(j.ctx())

        # then: SUCCEEDED through one query; the refund request went out once, with its own number
        row = await Refund.get(id=refund.id)
        assert (asked_early, row.status) == (0, RefundStatus.SUCCEEDED)
        assert calls(j, REFUND_QUERY, order.out_trade_no) == 1
        assert calls(j, REFUND, order.out_trade_no) == 1
        assert (await Bill.get(id=order.bill_id)).status is BillStatus.REFUNDED

    async def test_a_refund_a_crash_left_unsent_is_sent_with_its_own_number(self, live: LiveServer) -> None:
        # given: a CREATED refund of a paid order (committed, never sent)
        j = jobs(live)
        order = await j.order()
        await j.sandbox.alipay.pay(order.out_trade_no, notify=False)
        j.clock.advance(seconds=10)
        await tasks.poll_orders(j.ctx())
        paid = await PaymentOrder.get(id=order.id)
        from tortoise.transactions import in_transaction

        async with in_transaction() as db:
            refund = await ledger.new_refund(
                db,
                order=paid,
                amount_fen=2000,
                reason="部分退费",
                requested_by="finance-test",
                idempotency_key=str(uuid.uuid4()),
                request_hash="x" * 64,
                now=j.clock.now(),
            )

        # when: the poller runs while a first call could still be under way, then after that
        j.clock.advance(seconds=10)
        await tasks.poll_refunds(j.ctx())
        untouched = await Refund.get(id=refund.id)
        j.clock.advance(seconds=10)
        await tasks.poll_refunds(j.ctx())

        # then
        assert untouched.status is RefundStatus.CREATED
        row = await Refund.get(id=refund.id)
        assert row.status is RefundStatus.SUCCEEDED
        sent = j.sandbox.alipay.requests(REFUND, out_trade_no=order.out_trade_no)
        assert len(sent) == 1
        assert refund.out_refund_no in str(sent[0].body) + str(sent[0].query)
        assert (await Bill.get(id=order.bill_id)).status is BillStatus.PARTIALLY_REFUNDED
