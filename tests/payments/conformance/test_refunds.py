"""P07 and P15–P18 (payments.md §15.2): refunds of a paid order through requestRefund (finance): a full refund and
the TRADE_CLOSED that follows it, repeated and concurrent requests, partial refunds, and a refund whose answer is
lost. WeChat refunds finish asynchronously (PROCESSING, then REFUND.SUCCESS), so their end is awaited."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from api.models.payment import Bill, BillStatus, OrderStatus, PaymentEvent, Refund, RefundStatus
from api.platforms.sandbox.base import RecordedRequest
from payments import tasks as payment_tasks
from tests.payments.conformance.probes import biz_of, footprint, outbox_topics, wechat_calls
from tests.payments.conformance.support import BILL_FEN, Order, World, eventually, new_key

PRODUCT = {"ALIPAY": "APP", "WECHAT": "NATIVE"}
CHANNELS = ["ALIPAY", "WECHAT"]


async def paid_order(world: World, channel: str) -> tuple[Bill, Order]:
    """O PAID through its notify."""
    bill = await world.bill()
    order = await world.paying(bill, channel, PRODUCT[channel])
    await world.pay_at_channel(order)
    assert (await world.order_row(order)).status is OrderStatus.PAID
    return bill, order


def refund_requests(world: World, order: Order) -> list[RecordedRequest]:
    """The refund requests the channel's sandbox received for O."""
    if order.channel == "ALIPAY":
        return world.harness.alipay.requests("alipay.trade.refund", out_trade_no=order.out_trade_no)
    return wechat_calls(world.harness.wechat.requests("refund"), order.out_trade_no)


def refund_numbers(world: World, order: Order) -> list[str]:
    """The out_refund_no of each refund request (Alipay calls it out_request_no)."""
    if order.channel == "ALIPAY":
        return [str(biz_of(r).get("out_request_no")) for r in refund_requests(world, order)]
    return [str(r.body.get("out_refund_no")) for r in refund_requests(world, order)]


async def succeeded(world: World, refund_id: str) -> bool:
    async def done() -> bool:
        return (await Refund.get(id=refund_id)).status is RefundStatus.SUCCEEDED

    return await eventually(done, world)


class TestRefunds:
    async def test_p07_close_after_pay(self, world: World) -> None:
        # given: O paid on Alipay, then refunded in full
        bill, order = await paid_order(world, "ALIPAY")
        refund = await world.refund(order.id, BILL_FEN, BILL_FEN, key=new_key())
        assert refund["__typename"] == "Refund", refund
        assert await succeeded(world, refund["id"])
        trade = world.harness.alipay.trade(order.out_trade_no)
        assert trade is not None and trade.status.value == "TRADE_CLOSED"

        # when: a day later, a signed TRADE_CLOSED for T with refund_fee=50.00
        world.advance_sandbox(timedelta(days=1))
        fields = world.harness.alipay.notify_fields(order.out_trade_no, refund_fee="50.00")
        assert (fields["trade_status"], fields["total_amount"]) == ("TRADE_CLOSED", "50.00")
        late = await world.harness.alipay.send_notify(fields)

        # then: acknowledged; O stays PAID, the refund SUCCEEDED, the Bill REFUNDED; nothing says the payment failed
        assert [a.body for a in late.attempts] == ["success"]
        assert all(d.acknowledged for d in world.alipay_deliveries(order.out_trade_no))
        row = await world.order_row(order)
        assert (row.status, row.paid_fen, row.refunded_fen) == (OrderStatus.PAID, BILL_FEN, BILL_FEN)
        assert row.anomaly is None
        assert (await Refund.get(id=refund["id"])).status is RefundStatus.SUCCEEDED
        refunded = await Bill.get(id=bill.id)
        assert (refunded.status, refunded.refunded_fen) == (BillStatus.REFUNDED, BILL_FEN)
        assert await PaymentEvent.filter(order_id=row.id, to_status__in=["CLOSED", "FAILED"]).count() == 0
        assert (await outbox_topics(bill.id)).count("payments.bill_refunded") == 1
        view = await world.order_view(order.id)
        assert view is not None and view["status"] == "PAID"

    @pytest.mark.postgres_only
    @pytest.mark.parametrize("channel", CHANNELS)
    async def test_p15_refund_twice_same_key(self, world: World, channel: str) -> None:
        # given: O PAID, and one refund intent (key R)
        bill, order = await paid_order(world, channel)
        token, key = await world.finance(), new_key()

        # when: requestRefund(O, 5000, expected=5000, R) twice, then three times at once
        first = await world.refund(order.id, BILL_FEN, BILL_FEN, key, token)
        second = await world.refund(order.id, BILL_FEN, BILL_FEN, key, token)
        together = await asyncio.gather(*(world.refund(order.id, BILL_FEN, BILL_FEN, key, token) for _ in range(3)))

        # then: every call returns the same refund; one Refund row, one refund request at the channel
        answers = [first, second, *together]
        assert [a["__typename"] for a in answers] == ["Refund"] * 5, answers
        assert {a["id"] for a in answers} == {first["id"]}
        [row] = await Refund.filter(order_id=order.id)
        assert refund_numbers(world, order) == [row.out_refund_no]
        # and it succeeds, refunding the Bill in full
        assert await succeeded(world, first["id"])
        refunded = await Bill.get(id=bill.id)
        assert (refunded.status, refunded.refunded_fen) == (BillStatus.REFUNDED, BILL_FEN)
        assert refund_numbers(world, order) == [row.out_refund_no]

    @pytest.mark.postgres_only
    @pytest.mark.parametrize("channel", CHANNELS)
    async def test_p16_refund_twice_different_keys(self, world: World, channel: str) -> None:
        # given: O PAID
        bill, order = await paid_order(world, channel)
        token = await world.finance()

        # when: two full refunds at once, with different keys
        twins = (world.refund(order.id, BILL_FEN, BILL_FEN, new_key(), token) for _ in range(2))
        answers = await asyncio.gather(*twins)

        # then: exactly one succeeds; the other is refused for what is no longer available
        refunds = [a for a in answers if a["__typename"] == "Refund"]
        refused = [a for a in answers if a["__typename"] != "Refund"]
        assert len(refunds) == 1 and len(refused) == 1, answers
        assert refused[0]["code"] in ("AVAILABLE_MISMATCH", "EXCEEDS_AVAILABLE"), refused
        # the total refunded never exceeds 5000
        rows = await Refund.filter(order_id=order.id)
        assert [str(r.id) for r in rows] == [refunds[0]["id"]]
        assert sum(r.amount_fen for r in rows if r.status is not RefundStatus.FAILED) <= BILL_FEN
        assert len(refund_requests(world, order)) == 1
        assert await succeeded(world, refunds[0]["id"])
        refunded = await Bill.get(id=bill.id)
        assert (refunded.status, refunded.refunded_fen) == (BillStatus.REFUNDED, BILL_FEN)
        assert (await world.order_row(order)).refunded_fen == BILL_FEN

    @pytest.mark.parametrize("channel", CHANNELS)
    async def test_p17_partial_refunds(self, world: World, channel: str) -> None:
        # given: O PAID
        bill, order = await paid_order(world, channel)

        # when: 2000 is refunded, then 2000 more
        first = await world.refund(order.id, 2000, BILL_FEN)
        assert first["__typename"] == "Refund", first
        assert await succeeded(world, first["id"])
        second = await world.refund(order.id, 2000, BILL_FEN - 2000)
        assert second["__typename"] == "Refund", second
        assert await succeeded(world, second["id"])

        # then: the Bill is PARTIALLY_REFUNDED
        partly = await Bill.get(id=bill.id)
        assert (partly.status, partly.refunded_fen) == (BillStatus.PARTIALLY_REFUNDED, 4000)
        before = await footprint(bill.id)

        # when: a third 2000
        third = await world.refund(order.id, 2000, BILL_FEN - 4000)

        # then: rejected, 1000 available; nothing created or sent
        assert (third["__typename"], third["code"], third["availableFen"]) == (
            "ExceedsAvailableError",
            "EXCEEDS_AVAILABLE",
            "1000",
        )
        assert await footprint(bill.id) == before
        assert await Refund.filter(order_id=order.id).count() == 2
        assert len(refund_requests(world, order)) == 2
        assert (await world.order_row(order)).refunded_fen == 4000

    @pytest.mark.parametrize("channel", CHANNELS)
    async def test_p18_refund_timeout_then_success(self, world: World, channel: str) -> None:
        # given: O PAID; from now on the channel's notifies about T are lost (the refund's too)
        bill, order = await paid_order(world, channel)
        world.harness.alipay.drop_notifies(order.out_trade_no)
        world.harness.wechat.drop_notifies(order.out_trade_no)
        # and the channel will answer the refund only after our read timeout, having recorded it at once
        late = world.deps.settings.channel_read_timeout + 1.5
        if channel == "ALIPAY":
            world.harness.alipay.script("alipay.trade.refund", delay_s=late, perform_anyway=True)
        else:
            world.harness.wechat.script("refund", delay_s=late)

        # when: a full refund is requested
        answer = await world.refund(order.id, BILL_FEN, BILL_FEN)

        # then: the refund is UNKNOWN, never FAILED, although the channel has it
        assert (answer["__typename"], answer["status"]) == ("Refund", "UNKNOWN"), answer
        row = await Refund.get(id=answer["id"])
        if channel == "ALIPAY":
            trade = world.harness.alipay.trade(order.out_trade_no)
            assert trade is not None and row.out_refund_no in trade.refunds
        else:
            await world.harness.wechat.settle()
            recorded = world.harness.wechat.refund_record(row.out_refund_no)
            assert recorded is not None
            if recorded.status == "PROCESSING":  # its finishing step rode on the answer we never read
                await world.harness.wechat.complete_refund(row.out_refund_no, notify=False)
        statuses = [e.to_status for e in await PaymentEvent.filter(refund_id=row.id)]
        assert "UNKNOWN" in statuses and "FAILED" not in statuses

        # when: the refund poller runs at the refund's next query
        row = await Refund.get(id=row.id)
        if row.status is not RefundStatus.SUCCEEDED:  # the embedded worker's own poller may have been first
            assert row.status is RefundStatus.UNKNOWN and row.next_query_at is not None
            assert row.next_query_at >= row.created_at + timedelta(seconds=10)
            await payment_tasks.poll_refunds(world.ctx(row.next_query_at))

        # then: it queried the refund and set SUCCEEDED; no request with a new out_refund_no reached the channel
        row = await Refund.get(id=row.id)
        assert row.status is RefundStatus.SUCCEEDED
        if channel == "ALIPAY":
            asked = world.harness.alipay.requests("alipay.trade.fastpay.refund.query", out_trade_no=order.out_trade_no)
        else:
            asked = [r for r in world.harness.wechat.requests("query_refund") if row.out_refund_no in r.path]
        assert len(asked) >= 1
        assert set(refund_numbers(world, order)) == {row.out_refund_no}
        assert await Refund.filter(order_id=order.id).count() == 1
        refunded = await Bill.get(id=bill.id)
        assert (refunded.status, refunded.refunded_fen) == (BillStatus.REFUNDED, BILL_FEN)
        statuses = [e.to_status for e in await PaymentEvent.filter(refund_id=row.id)]
        assert "FAILED" not in statuses
