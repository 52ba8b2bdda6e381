"""P08–P10 (payments.md §15.2): lost notifies found by asking the channel (the payer's confirmation, the poller),
and the expiry sweep that never closes a paid order. Worker jobs run "at" moments of their own (`World.ctx`)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from api.models.payment import BillStatus, EventSource, OrderStatus, PaymentEvent
from api.platforms.sandbox.base import RecordedRequest
from payments import tasks as payment_tasks
from tests.payments.conformance.probes import footprint, outbox_topics, wechat_calls
from tests.payments.conformance.support import BILL_FEN, Order, World

PRODUCT = {"ALIPAY": "APP", "WECHAT": "NATIVE"}


def queries(world: World, order: Order) -> list[RecordedRequest]:
    """The trade queries the channel's sandbox received for O."""
    if order.channel == "ALIPAY":
        return world.harness.alipay.requests("alipay.trade.query", out_trade_no=order.out_trade_no)
    return wechat_calls(world.harness.wechat.requests("query"), order.out_trade_no)


def closes(world: World, order: Order) -> list[RecordedRequest]:
    if order.channel == "ALIPAY":
        return world.harness.alipay.requests("alipay.trade.close", out_trade_no=order.out_trade_no)
    return wechat_calls(world.harness.wechat.requests("close"), order.out_trade_no)


async def assert_paid_once(world: World, order: Order, source: EventSource) -> None:
    row = await world.order_row(order)
    assert (row.status, row.paid_fen, row.next_query_at) == (OrderStatus.PAID, BILL_FEN, None)
    assert row.channel_trade_no
    after = await footprint(row.bill_id)
    assert (after["bill"][0], after["receipts"]) == (BillStatus.PAID, 1)
    assert (await outbox_topics(row.bill_id)).count("payments.bill_paid") == 1
    [paid] = await PaymentEvent.filter(order_id=row.id, to_status="PAID", from_status="PAYING")
    assert paid.source is source


class TestActiveQueries:
    @pytest.mark.parametrize("channel", ["ALIPAY", "WECHAT"])
    async def test_p08_lost_notify_client_confirmation(self, world: World, channel: str) -> None:
        # given: O in PAYING, paid at the channel, whose notify is lost
        bill = await world.bill()
        order = await world.paying(bill, channel, PRODUCT[channel])
        await world.pay_at_channel(order, notify=False)
        assert world.deliveries(channel, order.out_trade_no) == []
        asked = len(queries(world, order))

        # when: the app comes back and confirms
        confirmed = await world.confirm(order.id)

        # then: the server asked the channel and answers PAID
        assert (confirmed["__typename"], confirmed["id"], confirmed["status"]) == ("PaymentOrder", order.id, "PAID")
        assert len(queries(world, order)) == asked + 1
        await assert_paid_once(world, order, EventSource.CLIENT_CONFIRM)

        # when: a second confirmation within 2 s of the clock
        again = await world.confirm(order.id)

        # then: the same answer, no second query
        assert (again["id"], again["status"]) == (order.id, "PAID")
        assert len(queries(world, order)) == asked + 1

        # and an order still unpaid: asked at most once per 2 s, the stored state answered in between
        other = await world.paying(await world.bill(), channel, PRODUCT[channel])
        assert (await world.confirm(other.id))["status"] == "PAYING"
        assert len(queries(world, other)) == 1
        await world.pay_at_channel(other, notify=False)
        within = await world.confirm(other.id)
        assert (within["status"], len(queries(world, other))) == ("PAYING", 1)
        await asyncio.sleep(2.1)  # the session's clock is real time plus an offset: 2 s of it pass
        later = await world.confirm(other.id)
        assert (later["status"], len(queries(world, other))) == ("PAID", 2)

    @pytest.mark.parametrize("channel", ["ALIPAY", "WECHAT"])
    async def test_p09_lost_notify_poller(self, world: World, channel: str) -> None:
        # given: O in PAYING, first query scheduled 10 s after creation
        bill = await world.bill()
        order = await world.paying(bill, channel, PRODUCT[channel])
        row = await world.order_row(order)
        created = row.created_at
        assert row.next_query_at == created + timedelta(seconds=10)

        async def poll_at(seconds: int) -> int:
            await payment_tasks.poll_orders(world.ctx(created + timedelta(seconds=seconds)))
            return len(queries(world, order))

        # when/then: the poller asks at +10 s and +30 s, not in between; the order is unpaid
        assert await poll_at(5) == 0
        assert await poll_at(10) == 1
        assert await poll_at(20) == 1
        assert await poll_at(30) == 2
        assert (await world.order_row(order)).status is OrderStatus.PAYING

        # when: the payer pays right after, and the notify is lost
        await world.pay_at_channel(order, notify=False)
        assert world.deliveries(channel, order.out_trade_no) == []

        # then: nothing asks before +1 m; the +1 m query finds the payment
        assert await poll_at(45) == 2
        assert await poll_at(60) == 3
        await assert_paid_once(world, order, EventSource.QUERY)

        # and querying then stops
        for seconds in (120, 300, 600, 1800):
            assert await poll_at(seconds) == 3

    @pytest.mark.parametrize("channel", ["ALIPAY", "WECHAT"])
    async def test_p10_expiry_never_closes_a_paid_order(self, world: World, channel: str) -> None:
        # given: O in PAYING, paid at the channel, the notify lost
        bill = await world.bill()
        order = await world.paying(bill, channel, PRODUCT[channel])
        row = await world.order_row(order)
        await world.pay_at_channel(order, notify=False)

        # when: the expiry sweep reaches O at expires_at, where the channel's query says paid
        await payment_tasks.sweep_expired(world.ctx(row.expires_at))
        await payment_tasks.sweep_expired(world.ctx(row.expires_at + timedelta(minutes=5)))

        # then: O is PAID and close was never called
        assert len(queries(world, order)) >= 1
        assert closes(world, order) == []
        await assert_paid_once(world, order, EventSource.SWEEP)
