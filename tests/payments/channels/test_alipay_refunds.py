"""AlipayChannel.refund and .query_refund against the Alipay sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api.models.payment import Product
from payments.channels.base import Outcome, RefundSpec, RefundState, TradeState
from tests.payments.alipay_support import AlipayWorld, alipay_world, out_trade_no


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[AlipayWorld]:
    async with alipay_world() as built:
        yield built


@pytest.fixture
def env(world: AlipayWorld) -> AlipayWorld:
    world.reset()
    return world


async def _paid(env: AlipayWorld, amount_fen: int = 5000) -> str:
    spec = env.spec(Product.JSAPI, amount_fen=amount_fen)
    assert (await env.channel().create_order(spec)).outcome is Outcome.OK
    await env.sandbox.pay(spec.out_trade_no)
    return spec.out_trade_no


class TestRefund:
    async def test_a_full_refund_moves_money_and_closes_the_trade(self, env: AlipayWorld) -> None:
        # given
        no = await _paid(env, 5000)
        refund_no = out_trade_no("R")

        # when
        fact = await env.channel().refund(RefundSpec(no, refund_no, 5000, 5000, reason="撤回退费"))
        await env.sandbox.settle()

        # then
        assert (fact.outcome, fact.state, fact.amount_fen) == (Outcome.OK, RefundState.SUCCEEDED, 5000)
        assert (fact.out_refund_no, fact.out_trade_no) == (refund_no, no)
        assert fact.payload_redacted["fund_change"] == "Y"
        assert "buyer_logon_id" not in fact.payload_redacted
        [request] = env.sandbox.requests("alipay.trade.refund")
        biz = request.body["biz_content"]
        assert (biz["refund_amount"], biz["out_request_no"], biz["refund_reason"]) == ("50.00", refund_no, "撤回退费")
        assert env.sandbox.trade(no).status == "TRADE_CLOSED"  # type: ignore[union-attr]
        # The notify that follows a full refund: TRADE_CLOSED with refund_fee, a refund fact for our refund.
        notify = env.receiver.fields()
        assert (notify["trade_status"], notify["refund_fee"]) == ("TRADE_CLOSED", "50.00")
        assert notify["out_biz_no"] == refund_no
        last = env.receiver.facts[-1]
        assert last is not None and last.refund is not None
        assert (last.refund.out_refund_no, last.refund.state) == (refund_no, RefundState.SUCCEEDED)

    async def test_the_same_out_refund_no_again_refunds_nothing_more(self, env: AlipayWorld) -> None:
        # given
        channel = env.channel()
        no = await _paid(env, 5000)
        spec = RefundSpec(no, out_trade_no("R"), 2000, 5000)
        await channel.refund(spec)

        # when
        again = await channel.refund(spec)

        # then: fund_change=N says this call moved nothing; only the refund query decides
        assert (again.outcome, again.state) == (Outcome.OK, RefundState.PROCESSING)
        assert env.sandbox.trade(no).refunded_fen == 2000  # type: ignore[union-attr]
        assert (await channel.query_refund(no, spec.out_refund_no)).state is RefundState.SUCCEEDED

    async def test_partial_refunds_up_to_the_amount_paid(self, env: AlipayWorld) -> None:
        # given
        channel = env.channel()
        no = await _paid(env, 5000)

        # when
        first = await channel.refund(RefundSpec(no, out_trade_no("R"), 2000, 5000))
        second = await channel.refund(RefundSpec(no, out_trade_no("R"), 2000, 5000))
        third = await channel.refund(RefundSpec(no, out_trade_no("R"), 2000, 5000))
        await env.sandbox.settle()

        # then
        assert [first.state, second.state] == [RefundState.SUCCEEDED, RefundState.SUCCEEDED]
        assert (third.outcome, third.state) == (Outcome.REJECTED, None)
        assert "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL" in third.reason
        trade = env.sandbox.trade(no)
        assert trade is not None and (trade.refunded_fen, trade.status) == (4000, "TRADE_SUCCESS")
        # A partial refund's notify keeps TRADE_SUCCESS and carries the trade's total refunded so far.
        notify = env.receiver.fields()
        assert (notify["trade_status"], notify["refund_fee"]) == ("TRADE_SUCCESS", "40.00")
        assert (await channel.query(no)).state is TradeState.PAID

    async def test_an_unpaid_trade_cannot_be_refunded(self, env: AlipayWorld) -> None:
        spec = env.spec(Product.JSAPI)
        await env.channel().create_order(spec)

        fact = await env.channel().refund(RefundSpec(spec.out_trade_no, out_trade_no("R"), 100, 5000))

        assert (fact.outcome, fact.state) == (Outcome.REJECTED, None)
        assert "ACQ.TRADE_STATUS_ERROR" in fact.reason

    async def test_an_unknown_trade_is_rejected(self, env: AlipayWorld) -> None:
        fact = await env.channel().refund(RefundSpec(out_trade_no(), out_trade_no("R"), 100, 5000))

        assert (fact.outcome, fact.state) == (Outcome.REJECTED, None)

    async def test_a_late_answer_is_unknown_and_the_query_finds_the_refund(self, env: AlipayWorld) -> None:
        # given: P18 — Alipay refunds but its answer never reaches us in time
        no = await _paid(env, 5000)
        env.sandbox.drop_notifies(no)
        env.sandbox.script("alipay.trade.refund", delay_s=1.0, perform_anyway=True)
        spec = RefundSpec(no, out_trade_no("R"), 5000, 5000)

        # when
        fact = await env.channel(read_timeout=0.2).refund(spec)
        later = await env.channel().query_refund(no, spec.out_refund_no)

        # then
        assert (fact.outcome, fact.state) == (Outcome.UNKNOWN, None)
        assert (later.outcome, later.state, later.amount_fen) == (Outcome.OK, RefundState.SUCCEEDED, 5000)
        assert len(env.sandbox.requests("alipay.trade.refund", out_trade_no=no)) == 1

    async def test_a_5xx_is_unknown_and_refunds_nothing(self, env: AlipayWorld) -> None:
        no = await _paid(env, 5000)
        env.sandbox.script("alipay.trade.refund", http_status=500)
        spec = RefundSpec(no, out_trade_no("R"), 5000, 5000)

        fact = await env.channel().refund(spec)
        later = await env.channel().query_refund(no, spec.out_refund_no)

        assert fact.outcome is Outcome.UNKNOWN
        assert (later.outcome, later.state) == (Outcome.OK, RefundState.NOT_FOUND)

    async def test_a_mis_signed_answer_is_unknown(self, env: AlipayWorld) -> None:
        no = await _paid(env, 5000)
        env.sandbox.script("alipay.trade.refund", mis_sign=True)

        fact = await env.channel().refund(RefundSpec(no, out_trade_no("R"), 5000, 5000))

        assert (fact.outcome, fact.state) == (Outcome.UNKNOWN, None)

    async def test_a_system_error_is_unknown(self, env: AlipayWorld) -> None:
        node = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.SYSTEM_ERROR"}
        env.hub.alipay.script({"method": "alipay.trade.refund"}, {"body": node})

        fact = await env.channel().refund(RefundSpec(out_trade_no(), out_trade_no("R"), 100, 100))

        assert fact.outcome is Outcome.UNKNOWN

    async def test_a_non_positive_amount_is_the_callers_bug(self, env: AlipayWorld) -> None:
        with pytest.raises(ValueError, match="positive"):
            await env.channel().refund(RefundSpec(out_trade_no(), out_trade_no("R"), 0, 100))
        assert env.sandbox.requests() == []


class TestQueryRefund:
    async def test_a_refund_that_happened_succeeded(self, env: AlipayWorld) -> None:
        channel = env.channel()
        no = await _paid(env, 5000)
        spec = RefundSpec(no, out_trade_no("R"), 1500, 5000)
        await channel.refund(spec)

        fact = await channel.query_refund(no, spec.out_refund_no)

        assert (fact.outcome, fact.state, fact.amount_fen) == (Outcome.OK, RefundState.SUCCEEDED, 1500)
        assert (fact.out_refund_no, fact.out_trade_no) == (spec.out_refund_no, no)

    async def test_a_refund_alipay_never_received_is_not_found(self, env: AlipayWorld) -> None:
        no = await _paid(env)

        fact = await env.channel().query_refund(no, out_trade_no("R"))

        assert (fact.outcome, fact.state) == (Outcome.OK, RefundState.NOT_FOUND)

    async def test_an_unknown_trade_is_not_found(self, env: AlipayWorld) -> None:
        fact = await env.channel().query_refund(out_trade_no(), out_trade_no("R"))

        assert (fact.outcome, fact.state) == (Outcome.OK, RefundState.NOT_FOUND)

    async def test_code_10000_with_the_refund_but_no_status_is_still_processing(self, env: AlipayWorld) -> None:
        refund_no = out_trade_no("R")
        node = {"code": "10000", "msg": "Success", "out_request_no": refund_no, "refund_amount": "15.00"}
        env.hub.alipay.script({"method": "alipay.trade.fastpay.refund.query"}, {"body": node})

        fact = await env.channel().query_refund(out_trade_no(), refund_no)

        assert (fact.outcome, fact.state, fact.amount_fen) == (Outcome.OK, RefundState.PROCESSING, None)

    async def test_an_unreadable_amount_is_unknown(self, env: AlipayWorld) -> None:
        node = {"code": "10000", "msg": "Success", "refund_status": "REFUND_SUCCESS", "refund_amount": "15.001"}
        env.hub.alipay.script({"method": "alipay.trade.fastpay.refund.query"}, {"body": node})

        fact = await env.channel().query_refund(out_trade_no(), out_trade_no("R"))

        assert (fact.outcome, fact.state) == (Outcome.UNKNOWN, None)

    async def test_a_timeout_is_unknown(self, env: AlipayWorld) -> None:
        env.sandbox.script("alipay.trade.fastpay.refund.query", delay_s=1.0)

        fact = await env.channel(read_timeout=0.2).query_refund(out_trade_no(), out_trade_no("R"))

        assert (fact.outcome, fact.state) == (Outcome.UNKNOWN, None)
