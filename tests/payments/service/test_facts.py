"""apply_trade_fact: a channel's facts about a trade move the order, the bill, its receipt and the outbox
together, or leave an anomaly; corrections, duplicate payments and refund confirmations."""

from __future__ import annotations

import pytest

from api.models.outbox import OutboxEvent
from api.models.payment import (
    Anomaly,
    Bill,
    BillStatus,
    Channel,
    EventSource,
    OrderStatus,
    PaymentEvent,
    PaymentOrder,
    Receipt,
    Refund,
    RefundStatus,
)
from payments.channels.base import Outcome, TradeFact, TradeState
from payments.service import apply_trade, apply_trade_fact, request_refund
from tests.payments.service.scripted import World, make_world, paying_order
from tests.support.client import LiveServer


@pytest.fixture
async def world(live: LiveServer) -> World:
    return make_world()


async def _outbox(bill: Bill, topic: str) -> list[OutboxEvent]:
    return list(await OutboxEvent.filter(topic=topic, key=str(bill.id)).order_by("id"))


class TestApplyTradeFact:
    async def test_a_payment_makes_order_and_bill_paid_with_receipt_and_one_outbox_row(self, world: World) -> None:
        # given a PAYING order
        bill, order = await paying_order(world)
        # when the channel says it is paid
        fact = world.wechat.pay(order.out_trade_no)
        world.clock.advance(seconds=30)
        paid = await apply_trade_fact(world.deps, fact, EventSource.NOTIFY, dedupe_key="evt-1")
        # then the order is PAID with the channel's trade number, the bill PAID with a receipt
        assert paid is not None
        assert (paid.status, paid.paid_fen, paid.channel_trade_no, paid.next_query_at) == (
            OrderStatus.PAID,
            5000,
            fact.channel_trade_no,
            None,
        )
        bill = await Bill.get(id=bill.id)
        assert (bill.status, bill.paid_order_id, bill.paid_at) == (BillStatus.PAID, order.id, world.clock.now())
        receipt = await Receipt.get(bill_id=bill.id)
        assert (receipt.amount_fen, receipt.issuer, receipt.file_ref) == (
            5000,
            bill.issuer,
            f"receipts/{receipt.receipt_no}.pdf",
        )
        [row] = await _outbox(bill, "payments.bill_paid")
        assert row.payload["orderId"] == str(order.id) and row.payload["amountFen"] == 5000
        assert row.state_version == bill.version
        # and the event keeps no personal data, and the relays were woken
        event = await PaymentEvent.get(order_id=order.id, dedupe_key="evt-1")
        assert (event.source, event.from_status, event.to_status, event.verified) == (
            EventSource.NOTIFY,
            "PAYING",
            "PAID",
            True,
        )
        assert "buyer_id" not in event.payload_redacted
        assert world.kicks == [1]

    async def test_the_same_notify_again_is_a_duplicate_and_changes_nothing(self, world: World) -> None:
        bill, order = await paying_order(world)
        fact = world.wechat.pay(order.out_trade_no)
        await apply_trade_fact(world.deps, fact, EventSource.NOTIFY, dedupe_key="evt-dup")
        again = await apply_trade(world.deps, fact, EventSource.NOTIFY, dedupe_key="evt-dup")
        assert again.duplicate and again.order is not None and again.order.status is OrderStatus.PAID
        assert await PaymentEvent.filter(dedupe_key="evt-dup").count() == 1
        assert len(await _outbox(bill, "payments.bill_paid")) == 1
        assert await Receipt.filter(bill_id=bill.id).count() == 1

    async def test_a_repeated_query_of_a_paid_order_only_logs_the_event(self, world: World) -> None:
        bill, order = await paying_order(world)
        fact = world.wechat.pay(order.out_trade_no)
        await apply_trade_fact(world.deps, fact, EventSource.QUERY)
        await apply_trade_fact(world.deps, fact, EventSource.QUERY)
        events = PaymentEvent.filter(order_id=order.id).order_by("id")
        expected = [("CREATED", "PAYING"), ("PAYING", "PAID"), ("PAID", "PAID")]
        assert await events.values_list("from_status", "to_status") == expected
        assert len(await _outbox(bill, "payments.bill_paid")) == 1

    async def test_another_amount_leaves_the_order_with_an_anomaly_and_a_later_correct_fact_pays(
        self, world: World
    ) -> None:
        bill, order = await paying_order(world)
        world.wechat.pay(order.out_trade_no)
        wrong = world.wechat.fact(order.out_trade_no, amount_fen=1)
        after = await apply_trade_fact(world.deps, wrong, EventSource.NOTIFY, dedupe_key="evt-1fen")
        assert after is not None and (after.status, after.anomaly) == (OrderStatus.PAYING, Anomaly.AMOUNT_MISMATCH)
        assert (await Bill.get(id=bill.id)).status is BillStatus.UNPAID
        [alert] = await _outbox(bill, "payments.anomaly")
        assert alert.payload["anomaly"] == "AMOUNT_MISMATCH"
        assert await PaymentEvent.filter(dedupe_key="evt-1fen", to_status="PAYING").count() == 1
        # a repeat of the same mismatch alerts in the log only
        await apply_trade_fact(world.deps, wrong, EventSource.QUERY)
        assert len(await _outbox(bill, "payments.anomaly")) == 1
        right = world.wechat.fact(order.out_trade_no)
        paid = await apply_trade_fact(world.deps, right, EventSource.NOTIFY, dedupe_key="evt-right")
        assert paid is not None and paid.status is OrderStatus.PAID
        assert (await Bill.get(id=bill.id)).status is BillStatus.PAID

    async def test_another_merchant_is_flagged_and_nothing_moves(self, world: World) -> None:
        bill, order = await paying_order(world, Channel.ALIPAY)
        world.alipay.pay(order.out_trade_no)
        for fact in (
            world.alipay.fact(order.out_trade_no, merchant_id="2088999999999999"),
            world.alipay.fact(order.out_trade_no, app_id="2021999999999999"),
        ):
            after = await apply_trade_fact(world.deps, fact, EventSource.NOTIFY)
            assert after is not None and (after.status, after.anomaly) == (
                OrderStatus.PAYING,
                Anomaly.MERCHANT_MISMATCH,
            )
        assert (await Bill.get(id=bill.id)).status is BillStatus.UNPAID

    async def test_money_arriving_for_a_closed_order_wins_with_an_anomaly(self, world: World) -> None:
        bill, order = await paying_order(world)
        await PaymentOrder.filter(id=order.id).update(status=OrderStatus.CLOSED)
        paid = await apply_trade_fact(world.deps, world.wechat.pay(order.out_trade_no), EventSource.QUERY)
        assert paid is not None and (paid.status, paid.anomaly) == (OrderStatus.PAID, Anomaly.PAID_AFTER_CLOSE)
        assert (await Bill.get(id=bill.id)).status is BillStatus.PAID
        assert [e.payload["anomaly"] for e in await _outbox(bill, "payments.anomaly")] == ["PAID_AFTER_CLOSE"]

    async def test_a_second_payment_of_a_paid_bill_is_refunded_in_full(self, world: World) -> None:
        # given a bill paid through one order, and a second, closed attempt whose money arrives too
        bill, first = await paying_order(world)
        await apply_trade_fact(world.deps, world.wechat.pay(first.out_trade_no), EventSource.NOTIFY)
        second = await PaymentOrder.create(
            bill_id=bill.id,
            payer_id=first.payer_id,
            channel=Channel.ALIPAY,
            product=first.product,
            out_trade_no=f"DUP{first.out_trade_no[3:]}",
            amount_fen=5000,
            status=OrderStatus.CLOSED,
            expires_at=first.expires_at,
            idempotency_key="dup",
            request_hash="x",
        )
        world.alipay.trades[second.out_trade_no] = type(world.wechat.trades[first.out_trade_no])(5000)
        # when that money is reported
        paid = await apply_trade_fact(world.deps, world.alipay.pay(second.out_trade_no), EventSource.NOTIFY)
        # then the second order is PAID with DUPLICATE_PAYMENT and refunded in full, the bill untouched
        assert paid is not None and (paid.status, paid.anomaly, paid.refunded_fen) == (
            OrderStatus.PAID,
            Anomaly.DUPLICATE_PAYMENT,
            5000,
        )
        [refund] = await Refund.filter(order_id=second.id)
        assert (refund.status, refund.amount_fen, refund.requested_by) == (
            RefundStatus.SUCCEEDED,
            5000,
            "service:payments",
        )
        assert world.alipay.ops("refund") == [refund.out_refund_no]
        bill = await Bill.get(id=bill.id)
        assert (bill.status, bill.paid_order_id, bill.refunded_fen) == (BillStatus.PAID, first.id, 0)
        assert [e.payload["anomaly"] for e in await _outbox(bill, "payments.anomaly")] == ["DUPLICATE_PAYMENT"]
        assert await _outbox(bill, "payments.bill_refunded") == []

    async def test_a_closed_trade_after_a_full_refund_confirms_the_refund_and_stays_paid(self, world: World) -> None:
        bill, order = await paying_order(world, Channel.ALIPAY)
        await apply_trade_fact(world.deps, world.alipay.pay(order.out_trade_no), EventSource.NOTIFY)
        world.alipay.refund_outcome = Outcome.UNKNOWN  # the refund's answer is lost
        refund = await request_refund(
            world.deps,
            requested_by="op-1",
            order_id=order.id,
            amount_fen=5000,
            reason="退费",
            expected_available_fen=5000,
            idempotency_key="r-closed",
        )
        assert refund.status is RefundStatus.UNKNOWN
        closed = TradeFact(
            Outcome.OK,
            order.out_trade_no,
            state=TradeState.REFUNDED,
            amount_fen=5000,
            refunded_fen=5000,
            merchant_id="2088000000000001",
            app_id="2021000000000001",
        )
        after = await apply_trade_fact(world.deps, closed, EventSource.NOTIFY, dedupe_key="T:TRADE_CLOSED:x")
        assert after is not None and (after.status, after.refunded_fen) == (OrderStatus.PAID, 5000)
        assert (await Refund.get(id=refund.id)).status is RefundStatus.SUCCEEDED
        bill = await Bill.get(id=bill.id)
        assert (bill.status, bill.refunded_fen) == (BillStatus.REFUNDED, 5000)
        [row] = await _outbox(bill, "payments.bill_refunded")
        assert row.payload["status"] == "REFUNDED"

    async def test_closed_and_failed_at_the_channel(self, world: World) -> None:
        _, order = await paying_order(world)
        closed = world.wechat.fact(order.out_trade_no, state=TradeState.CLOSED)
        after = await apply_trade_fact(world.deps, closed, EventSource.QUERY)
        assert after is not None and (after.status, after.closed_at) == (OrderStatus.CLOSED, world.clock.now())
        _, other = await paying_order(world)
        failed = world.wechat.fact(other.out_trade_no, state=TradeState.FAILED)
        assert (await apply_trade_fact(world.deps, failed, EventSource.QUERY)).status is OrderStatus.FAILED  # type: ignore[union-attr]

    async def test_unknown_answers_and_unknown_orders_change_nothing(self, world: World) -> None:
        _, order = await paying_order(world)
        before = await PaymentEvent.filter(order_id=order.id).count()
        same = await apply_trade_fact(world.deps, TradeFact(Outcome.UNKNOWN, order.out_trade_no), EventSource.QUERY)
        assert same is not None and same.status is OrderStatus.PAYING
        assert await PaymentEvent.filter(order_id=order.id).count() == before
        assert await apply_trade_fact(world.deps, TradeFact(Outcome.OK, "NOPE"), EventSource.NOTIFY) is None
