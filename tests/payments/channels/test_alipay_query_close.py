"""AlipayChannel.query and .close against the Alipay sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from api.models.payment import Product
from payments.channels.base import Outcome, RefundSpec, TradeState
from tests.payments.alipay_support import APP_ID, SELLER_ID, AlipayWorld, alipay_world, out_trade_no


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[AlipayWorld]:
    async with alipay_world() as built:
        yield built


@pytest.fixture
def env(world: AlipayWorld) -> AlipayWorld:
    world.reset()
    return world


async def _jsapi(env: AlipayWorld, amount_fen: int = 5000) -> str:
    spec = env.spec(Product.JSAPI, amount_fen=amount_fen)
    result = await env.channel().create_order(spec)
    assert result.outcome is Outcome.OK
    return spec.out_trade_no


class TestQuery:
    async def test_an_unknown_trade_is_not_found(self, env: AlipayWorld) -> None:
        fact = await env.channel().query(out_trade_no())

        assert (fact.outcome, fact.state, fact.amount_fen) == (Outcome.OK, TradeState.NOT_FOUND, None)
        assert "ACQ.TRADE_NOT_EXIST" in fact.reason

    async def test_a_waiting_trade_is_pending(self, env: AlipayWorld) -> None:
        no = await _jsapi(env, 29)

        fact = await env.channel().query(no)

        assert (fact.outcome, fact.state, fact.amount_fen, fact.paid_at) == (Outcome.OK, TradeState.PENDING, 29, None)

    async def test_a_paid_trade_is_paid_with_its_facts(self, env: AlipayWorld) -> None:
        # given
        no = await _jsapi(env, 5000)
        trade = await env.sandbox.pay(no, notify=False)

        # when
        fact = await env.channel().query(no)

        # then
        assert fact.outcome is Outcome.OK
        assert (fact.state, fact.amount_fen, fact.currency) == (TradeState.PAID, 5000, "CNY")
        assert (fact.channel_trade_no, fact.merchant_id, fact.app_id) == (trade.trade_no, SELLER_ID, APP_ID)
        assert trade.paid_at is not None and fact.paid_at is not None
        assert fact.paid_at == trade.paid_at.replace(microsecond=0)
        assert fact.paid_at.utcoffset() == timedelta(0)
        assert fact.payload_redacted["trade_status"] == "TRADE_SUCCESS"
        assert "buyer_user_id" not in fact.payload_redacted
        assert "buyer_logon_id" not in fact.payload_redacted

    async def test_the_amount_alipay_reports_is_the_fact(self, env: AlipayWorld) -> None:
        no = await _jsapi(env, 5000)
        await env.sandbox.pay(no, amount_fen=1, notify=False)

        fact = await env.channel().query(no)

        assert (fact.state, fact.amount_fen) == (TradeState.PAID, 1)

    async def test_a_closed_trade_is_closed(self, env: AlipayWorld) -> None:
        no = await _jsapi(env)
        await env.sandbox.close_trade(no)

        fact = await env.channel().query(no)

        assert (fact.outcome, fact.state) == (Outcome.OK, TradeState.CLOSED)

    async def test_a_fully_refunded_trade_is_closed(self, env: AlipayWorld) -> None:
        channel = env.channel()
        no = await _jsapi(env, 5000)
        await env.sandbox.pay(no, notify=False)
        await channel.refund(RefundSpec(no, out_trade_no("R"), 5000, 5000))

        fact = await channel.query(no)

        assert (fact.outcome, fact.state, fact.amount_fen) == (Outcome.OK, TradeState.CLOSED, 5000)

    @pytest.mark.parametrize(
        ("status", "state"),
        [("TRADE_FINISHED", TradeState.PAID), ("WAIT_BUYER_PAY", TradeState.PENDING)],
    )
    async def test_alipays_states_map(self, env: AlipayWorld, status: str, state: TradeState) -> None:
        no = out_trade_no()
        node = {"code": "10000", "msg": "Success", "trade_no": "2024", "out_trade_no": no, "trade_status": status}
        env.hub.alipay.script({"method": "alipay.trade.query"}, {"body": node | {"total_amount": "0.29"}})

        fact = await env.channel().query(no)

        assert (fact.outcome, fact.state, fact.amount_fen) == (Outcome.OK, state, 29)

    @pytest.mark.parametrize(
        "node",
        [
            {"code": "10000", "msg": "Success", "trade_status": "TRADE_PAUSED", "total_amount": "1.00"},
            {"code": "10000", "msg": "Success", "trade_status": "TRADE_SUCCESS", "total_amount": "1e2"},
            {"code": "10000", "msg": "Success", "trade_status": "TRADE_SUCCESS", "total_amount": "-1.00"},
            {"code": "10000", "msg": "Success", "trade_status": "TRADE_SUCCESS"},
            {"code": "10000", "msg": "Success", "trade_status": "TRADE_SUCCESS", "out_trade_no": "OTHER"},
            {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.SYSTEM_ERROR"},
        ],
        ids=["unknown state", "exponent", "negative", "no amount", "another trade", "system error"],
    )
    async def test_an_answer_that_cannot_be_read_is_unknown(self, env: AlipayWorld, node: dict[str, str]) -> None:
        env.hub.alipay.script({"method": "alipay.trade.query"}, {"body": {"trade_no": "2024"} | node})

        fact = await env.channel().query(out_trade_no())

        assert (fact.outcome, fact.state) == (Outcome.UNKNOWN, None)

    async def test_a_timeout_is_unknown(self, env: AlipayWorld) -> None:
        no = await _jsapi(env)
        env.sandbox.script("alipay.trade.query", delay_s=1.0)

        fact = await env.channel(read_timeout=0.2).query(no)

        assert (fact.outcome, fact.state) == (Outcome.UNKNOWN, None)

    async def test_a_mis_signed_answer_is_unknown(self, env: AlipayWorld) -> None:
        no = await _jsapi(env)
        await env.sandbox.pay(no, notify=False)
        env.sandbox.script("alipay.trade.query", mis_sign=True)

        fact = await env.channel().query(no)

        assert (fact.outcome, fact.state) == (Outcome.UNKNOWN, None)

    async def test_a_refused_query_is_rejected_without_a_state(self, env: AlipayWorld) -> None:
        node = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.INVALID_PARAMETER"}
        env.hub.alipay.script({"method": "alipay.trade.query"}, {"body": node})

        fact = await env.channel().query(out_trade_no())

        assert (fact.outcome, fact.state) == (Outcome.REJECTED, None)


class TestClose:
    async def test_a_waiting_trade_is_closed(self, env: AlipayWorld) -> None:
        channel = env.channel()
        no = await _jsapi(env)

        result = await channel.close(no)

        assert (result.outcome, result.already_paid) == (Outcome.OK, False)
        assert (await channel.query(no)).state is TradeState.CLOSED

    async def test_an_unknown_trade_has_nothing_to_close(self, env: AlipayWorld) -> None:
        result = await env.channel().close(out_trade_no())

        assert (result.outcome, result.already_paid) == (Outcome.OK, False)
        assert "ACQ.TRADE_NOT_EXIST" in result.reason

    async def test_a_paid_trade_says_so(self, env: AlipayWorld) -> None:
        no = await _jsapi(env)
        await env.sandbox.pay(no, notify=False)

        result = await env.channel().close(no)

        assert (result.outcome, result.already_paid) == (Outcome.OK, True)
        assert env.sandbox.trade(no).status == "TRADE_SUCCESS"  # type: ignore[union-attr]
        assert len(env.sandbox.requests("alipay.trade.query", out_trade_no=no)) == 1

    async def test_closing_a_closed_trade_is_fine(self, env: AlipayWorld) -> None:
        no = await _jsapi(env)
        await env.sandbox.close_trade(no)

        result = await env.channel().close(no)

        assert (result.outcome, result.already_paid) == (Outcome.OK, False)

    async def test_when_the_query_after_a_status_error_fails_the_close_is_unknown(self, env: AlipayWorld) -> None:
        no = await _jsapi(env)
        await env.sandbox.pay(no, notify=False)
        env.sandbox.script("alipay.trade.query", http_status=503)

        result = await env.channel().close(no)

        assert (result.outcome, result.already_paid) == (Outcome.UNKNOWN, False)

    async def test_trade_has_success_is_already_paid(self, env: AlipayWorld) -> None:
        node = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_HAS_SUCCESS"}
        env.hub.alipay.script({"method": "alipay.trade.close"}, {"body": node})

        result = await env.channel().close(out_trade_no())

        assert (result.outcome, result.already_paid) == (Outcome.OK, True)

    async def test_a_late_answer_is_unknown_though_the_trade_was_closed(self, env: AlipayWorld) -> None:
        no = await _jsapi(env)
        env.sandbox.script("alipay.trade.close", delay_s=1.0, perform_anyway=True)

        result = await env.channel(read_timeout=0.2).close(no)

        assert (result.outcome, result.already_paid) == (Outcome.UNKNOWN, False)
        assert env.sandbox.trade(no).status == "TRADE_CLOSED"  # type: ignore[union-attr]

    async def test_a_5xx_is_unknown_and_closes_nothing(self, env: AlipayWorld) -> None:
        no = await _jsapi(env)
        env.sandbox.script("alipay.trade.close", http_status=502)

        result = await env.channel().close(no)

        assert result.outcome is Outcome.UNKNOWN
        assert env.sandbox.trade(no).status == "WAIT_BUYER_PAY"  # type: ignore[union-attr]
