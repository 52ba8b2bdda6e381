"""request_refund, submit_refund, apply_refund_fact and refresh_refund: money reserved in one transaction, the
channel asked with the refund's own out_refund_no, never a second one for an UNKNOWN refund."""

from __future__ import annotations

import asyncio

import pytest

from api.models.outbox import OutboxEvent
from api.models.payment import Bill, BillStatus, Channel, EventSource, PaymentOrder, Refund, RefundStatus
from payments.channels.base import Outcome, RefundFact, RefundState
from payments.errors import PaymentsError, PaymentsErrorCode
from payments.service import apply_refund_fact, apply_trade_fact, refresh_refund, request_refund
from tests.payments.service.scripted import World, make_world, paying_order
from tests.support.client import LiveServer


@pytest.fixture
async def world(live: LiveServer) -> World:
    return make_world()


async def _paid(world: World, channel: Channel = Channel.ALIPAY) -> tuple[Bill, PaymentOrder]:
    bill, order = await paying_order(world, channel)
    adapter = world.alipay if channel is Channel.ALIPAY else world.wechat
    paid = await apply_trade_fact(world.deps, adapter.pay(order.out_trade_no), EventSource.NOTIFY)
    assert paid is not None
    return bill, paid


async def _refund(world: World, order: PaymentOrder, amount: int, expected: int, key: str, by: str = "op-1") -> Refund:
    return await request_refund(
        world.deps,
        requested_by=by,
        order_id=order.id,
        amount_fen=amount,
        reason="申请退费",
        expected_available_fen=expected,
        idempotency_key=key,
    )


class TestRequestRefund:
    async def test_a_full_refund_succeeds_and_the_bill_is_refunded(self, world: World) -> None:
        bill, order = await _paid(world)
        refund = await _refund(world, order, 5000, 5000, "r1")
        assert (refund.status, refund.amount_fen, refund.bill_id, refund.requested_by) == (
            RefundStatus.SUCCEEDED,
            5000,
            bill.id,
            "op-1",
        )
        assert world.alipay.ops("refund") == [refund.out_refund_no]
        assert (await PaymentOrder.get(id=order.id)).refunded_fen == 5000
        bill = await Bill.get(id=bill.id)
        assert (bill.status, bill.refunded_fen) == (BillStatus.REFUNDED, 5000)
        [row] = await OutboxEvent.filter(topic="payments.bill_refunded", key=str(bill.id))
        assert (row.payload["amountFen"], row.payload["refundedFen"], row.payload["status"]) == (5000, 5000, "REFUNDED")

    async def test_the_same_key_twice_even_concurrently_is_one_refund(self, world: World) -> None:
        _, order = await _paid(world)
        first, second = await asyncio.gather(
            _refund(world, order, 5000, 5000, "r-same"), _refund(world, order, 5000, 5000, "r-same")
        )
        third = await _refund(world, order, 5000, 5000, "r-same")
        assert first.id == second.id == third.id
        assert await Refund.filter(order_id=order.id).count() == 1
        assert len(world.alipay.ops("refund")) == 1

    async def test_the_same_key_for_another_amount_is_refused(self, world: World) -> None:
        _, order = await _paid(world)
        await _refund(world, order, 1000, 5000, "r-k")
        with pytest.raises(PaymentsError) as refused:
            await _refund(world, order, 2000, 4000, "r-k")
        assert refused.value.payments_code is PaymentsErrorCode.IDEMPOTENCY_KEY_REUSED

    async def test_two_keys_for_the_whole_amount_refund_it_once(self, world: World) -> None:
        _, order = await _paid(world)
        answers = await asyncio.gather(
            _refund(world, order, 5000, 5000, "r-a"), _refund(world, order, 5000, 5000, "r-b"), return_exceptions=True
        )
        refunds = [a for a in answers if isinstance(a, Refund)]
        errors = [a for a in answers if isinstance(a, PaymentsError)]
        assert len(refunds) == 1 and len(errors) == 1
        assert errors[0].payments_code in (PaymentsErrorCode.AVAILABLE_MISMATCH, PaymentsErrorCode.EXCEEDS_AVAILABLE)
        assert await Refund.filter(order_id=order.id).count() == 1

    async def test_partial_refunds_until_nothing_is_left(self, world: World) -> None:
        bill, order = await _paid(world)
        await _refund(world, order, 2000, 5000, "p1")
        assert (await Bill.get(id=bill.id)).status is BillStatus.PARTIALLY_REFUNDED
        await _refund(world, order, 2000, 3000, "p2")
        with pytest.raises(PaymentsError) as refused:
            await _refund(world, order, 2000, 1000, "p3")
        assert (refused.value.payments_code, refused.value.extra) == (
            PaymentsErrorCode.EXCEEDS_AVAILABLE,
            {"available_fen": 1000},
        )
        bill = await Bill.get(id=bill.id)
        assert (bill.status, bill.refunded_fen) == (BillStatus.PARTIALLY_REFUNDED, 4000)
        assert await Refund.filter(order_id=order.id).count() == 2

    async def test_a_blind_retry_with_a_stale_expectation_is_refused(self, world: World) -> None:
        _, order = await _paid(world)
        await _refund(world, order, 5000, 5000, "once")
        with pytest.raises(PaymentsError) as refused:
            await _refund(world, order, 5000, 5000, "twice")
        assert (refused.value.payments_code, refused.value.extra) == (
            PaymentsErrorCode.AVAILABLE_MISMATCH,
            {"available_fen": 0},
        )
        assert len(world.alipay.ops("refund")) == 1

    async def test_bad_amounts_and_unpaid_orders(self, world: World) -> None:
        _, unpaid = await paying_order(world)
        with pytest.raises(PaymentsError) as refused:
            await _refund(world, unpaid, 100, 0, "u1")
        assert refused.value.payments_code is PaymentsErrorCode.ORDER_NOT_REFUNDABLE
        _, order = await _paid(world)
        for amount in (0, -1):
            with pytest.raises(PaymentsError) as bad:
                await _refund(world, order, amount, 5000, f"bad{amount}")
            assert bad.value.payments_code is PaymentsErrorCode.INVALID_AMOUNT
        assert await Refund.filter(order_id__in=[unpaid.id, order.id]).count() == 0


class TestRefundResolution:
    async def test_a_timed_out_refund_is_unknown_then_resolved_by_a_query_with_the_same_number(
        self, world: World
    ) -> None:
        bill, order = await _paid(world)
        world.alipay.refund_outcome, world.alipay.perform_anyway = Outcome.UNKNOWN, True
        refund = await _refund(world, order, 5000, 5000, "slow")
        assert refund.status is RefundStatus.UNKNOWN
        assert refund.next_query_at is not None and refund.next_query_at >= world.clock.now()
        # the poller, once due
        world.clock.advance(seconds=15)
        resolved = await refresh_refund(world.deps, refund)
        assert resolved.status is RefundStatus.SUCCEEDED
        assert world.alipay.ops("refund") == [refund.out_refund_no]
        assert world.alipay.ops("query_refund") == [refund.out_refund_no]
        assert (await Bill.get(id=bill.id)).status is BillStatus.REFUNDED

    async def test_an_unknown_refund_the_channel_never_got_is_sent_again_with_the_same_number(
        self, world: World
    ) -> None:
        _, order = await _paid(world)
        world.alipay.refund_outcome = Outcome.UNKNOWN  # and nothing happened at the channel
        refund = await _refund(world, order, 5000, 5000, "lost")
        world.alipay.refund_outcome = None
        world.clock.advance(seconds=15)
        still = await refresh_refund(world.deps, refund)
        assert still.status is RefundStatus.UNKNOWN  # the answer to a re-send is not taken as the result
        world.clock.advance(seconds=60)
        done = await refresh_refund(world.deps, still)
        assert done.status is RefundStatus.SUCCEEDED
        assert world.alipay.ops("refund") == [refund.out_refund_no, refund.out_refund_no]

    async def test_a_refund_notify_resolves_an_unknown_refund_once(self, world: World) -> None:
        bill, order = await _paid(world, Channel.WECHAT)
        world.wechat.refund_outcome = Outcome.UNKNOWN
        refund = await _refund(world, order, 3000, 5000, "wx")
        fact = RefundFact(Outcome.OK, refund.out_refund_no, state=RefundState.SUCCEEDED, amount_fen=3000)
        for _ in range(2):
            after = await apply_refund_fact(world.deps, fact, EventSource.NOTIFY, dedupe_key=f"wx-{refund.id}")
            assert after is not None and after.status is RefundStatus.SUCCEEDED
        bill = await Bill.get(id=bill.id)
        assert (bill.status, bill.refunded_fen) == (BillStatus.PARTIALLY_REFUNDED, 3000)
        assert await OutboxEvent.filter(topic="payments.bill_refunded", key=str(bill.id)).count() == 1

    async def test_wechat_processing_then_abnormal_keeps_the_money_reserved(self, world: World) -> None:
        _, order = await _paid(world, Channel.WECHAT)
        world.wechat.refund_state = RefundState.PROCESSING
        refund = await _refund(world, order, 5000, 5000, "ab")
        assert refund.status is RefundStatus.SUBMITTED
        fact = RefundFact(Outcome.OK, refund.out_refund_no, state=RefundState.ABNORMAL)
        after = await apply_refund_fact(world.deps, fact, EventSource.NOTIFY, dedupe_key=f"ab-{refund.id}")
        assert after is not None and (after.status, after.next_query_at) == (RefundStatus.ABNORMAL, None)
        with pytest.raises(PaymentsError) as refused:
            await _refund(world, order, 1, 0, "ab2")
        assert refused.value.payments_code is PaymentsErrorCode.EXCEEDS_AVAILABLE

    async def test_a_refused_refund_fails_and_gives_the_money_back(self, world: World) -> None:
        _, order = await _paid(world)
        world.alipay.refund_outcome = Outcome.REJECTED
        refund = await _refund(world, order, 5000, 5000, "no")
        assert refund.status is RefundStatus.FAILED
        world.alipay.refund_outcome = None
        assert (await _refund(world, order, 5000, 5000, "yes")).status is RefundStatus.SUCCEEDED
