"""P11–P14 (payments.md §15.2): createPayment under repeated and concurrent clicks, a reused idempotency key, and
a switch of channel. P11 and P12 start from the bill alone: the concurrent clicks are what creates O."""

from __future__ import annotations

import asyncio

import pytest

from api.models.payment import LIVE_ORDER_STATUSES, Bill, BillStatus, Channel, OrderStatus, PaymentOrder
from api.platforms.sandbox.base import RecordedRequest
from payments.sandbox.alipay_trades import TradeStatus
from tests.payments.conformance.probes import footprint, wechat_calls
from tests.payments.conformance.support import World, new_key

# Orders the channel itself creates at once (a precreate, a prepay), so that the sandbox counts the requests.
CHANNELS = [("ALIPAY", "NATIVE"), ("WECHAT", "NATIVE")]


def order_requests(world: World, channel: str, out_trade_no: str) -> list[RecordedRequest]:
    """Alipay precreate / WeChat prepay requests for one out_trade_no."""
    if channel == "ALIPAY":
        return world.harness.alipay.requests("alipay.trade.precreate", out_trade_no=out_trade_no)
    return wechat_calls(world.harness.wechat.requests("pay"), out_trade_no)


class TestOrderCreation:
    @pytest.mark.postgres_only
    @pytest.mark.parametrize(("channel", "product"), CHANNELS)
    async def test_p11_concurrent_clicks_same_key(self, world: World, channel: str, product: str) -> None:
        # given: an unpaid bill and one intent to pay it (key K)
        bill = await world.bill()
        key = new_key()

        # when: 10 clicks with K at once
        answers = await asyncio.gather(*(world.create(bill.id, channel, product, key) for _ in range(10)))

        # then: all answer the same order with the same payload
        assert [a["__typename"] for a in answers] == ["PaymentOrder"] * 10, answers
        assert {a["id"] for a in answers} == {answers[0]["id"]}
        assert all(a["payload"] == answers[0]["payload"] and a["payload"] for a in answers)
        assert {a["status"] for a in answers} == {"PAYING"}
        # one PaymentOrder row, and the channel was asked at most once
        [row] = await PaymentOrder.filter(bill_id=bill.id)
        assert (str(row.id), row.status) == (answers[0]["id"], OrderStatus.PAYING)
        assert len(order_requests(world, channel, row.out_trade_no)) <= 1

    @pytest.mark.postgres_only
    @pytest.mark.parametrize(("channel", "product"), CHANNELS)
    async def test_p12_concurrent_clicks_different_keys(self, world: World, channel: str, product: str) -> None:
        # given: an unpaid bill, clicked on 10 devices (10 keys) for the same channel and product
        bill = await world.bill()

        # when: all at once
        answers = await asyncio.gather(*(world.create(bill.id, channel, product, new_key()) for _ in range(10)))

        # then: one live order; every answer is it or a retryable PaymentInProgressError
        rows = await PaymentOrder.filter(bill_id=bill.id)
        live = [r for r in rows if r.status in LIVE_ORDER_STATUSES]
        assert len(live) == 1, rows
        assert [r.status for r in rows].count(OrderStatus.PAYING) == 1
        orders = [a for a in answers if a["__typename"] == "PaymentOrder"]
        busy = [a for a in answers if a["__typename"] != "PaymentOrder"]
        assert orders, answers
        assert {a["id"] for a in orders} == {str(live[0].id)}
        assert all(
            (a["__typename"], a["code"], a["retryable"]) == ("PaymentInProgressError", "PAYMENT_IN_PROGRESS", True)
            for a in busy
        ), busy

    async def test_p13_same_key_different_request(self, world: World) -> None:
        # given: O for bill B1 with key K, and another unpaid bill B2 of the same payer
        b1, b2 = await world.bill(), await world.bill()
        key = new_key()
        order = await world.paying(b1, "ALIPAY", "APP", key)
        before = await footprint(b1.id), await footprint(b2.id)
        prepays = len(world.harness.wechat.requests("pay"))

        # when: K again for B2, then K again for B1 on another channel
        for_b2 = await world.create(b2.id, "ALIPAY", "APP", key)
        other_channel = await world.create(b1.id, "WECHAT", "NATIVE", key)

        # then: both rejected with IDEMPOTENCY_KEY_REUSED and nothing was created, closed or asked for
        for answer in (for_b2, other_channel):
            assert (answer["__typename"], answer["code"]) == ("IdempotencyKeyReusedError", "IDEMPOTENCY_KEY_REUSED")
        assert (await footprint(b1.id), await footprint(b2.id)) == before
        assert await PaymentOrder.filter(bill_id=b2.id).count() == 0
        assert (await world.order_row(order)).status is OrderStatus.PAYING
        assert world.harness.alipay.requests("alipay.trade.close", out_trade_no=order.out_trade_no) == []
        assert len(world.harness.wechat.requests("pay")) == prepays

    async def test_p14_switching_channel(self, world: World) -> None:
        # given: O in PAYING on Alipay (a QR code whose trade exists at Alipay)
        bill = await world.bill()
        order = await world.paying(bill, "ALIPAY", "NATIVE")

        # when: the payer chooses WeChat for the same bill
        switched = await world.create(bill.id, "WECHAT", "NATIVE")

        # then: Alipay received close(T), O is CLOSED, and a new WeChat order is returned
        assert len(world.harness.alipay.requests("alipay.trade.close", out_trade_no=order.out_trade_no)) == 1
        trade = world.harness.alipay.trade(order.out_trade_no)
        assert trade is not None and trade.status is TradeStatus.TRADE_CLOSED
        assert (await world.order_row(order)).status is OrderStatus.CLOSED
        assert (switched["__typename"], switched["channel"], switched["status"]) == ("PaymentOrder", "WECHAT", "PAYING")
        assert switched["id"] != order.id
        assert world.harness.wechat.trade(switched["outTradeNo"]) is not None
        live = await PaymentOrder.filter(bill_id=bill.id, status__in=LIVE_ORDER_STATUSES)
        assert [str(r.id) for r in live] == [switched["id"]]

        # given: another bill's O on Alipay, which the payer has in fact paid (the notify not yet arrived)
        paid_bill = await world.bill()
        paid = await world.paying(paid_bill, "ALIPAY", "NATIVE")
        await world.pay_at_channel(paid, notify=False)
        prepays = len(world.harness.wechat.requests("pay"))

        # when: the payer switches to WeChat
        answer = await world.create(paid_bill.id, "WECHAT", "NATIVE")

        # then: the close reveals the payment: O is PAID and returned, and no WeChat order is created
        assert (answer["__typename"], answer["id"], answer["status"]) == ("PaymentOrder", paid.id, "PAID")
        assert (await world.order_row(paid)).status is OrderStatus.PAID
        assert (await Bill.get(id=paid_bill.id)).status is BillStatus.PAID
        assert await PaymentOrder.filter(bill_id=paid_bill.id, channel=Channel.WECHAT).count() == 0
        assert len(world.harness.wechat.requests("pay")) == prepays
