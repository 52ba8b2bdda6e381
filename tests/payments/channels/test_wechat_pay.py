"""WechatPayChannel against the WeChat Pay sandbox over real HTTP, through the real AsyncWeChatPay client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from api.kit.clock import SHANGHAI
from api.models.payment import Product
from payments.channels.base import Outcome, RefundSpec, RefundState, TradeState
from payments.channels.wechat_pay import WechatPayChannel
from tests.payments.wechat_support import APPID, MCHID, WechatEnv, order, verify_client_sign, wechat_env

READ_TIMEOUT = 0.25
LATE = 0.8  # seconds the sandbox holds a scripted answer: well past READ_TIMEOUT


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WechatEnv]:
    async with wechat_env() as world:
        yield world


@pytest.fixture(scope="module")
async def impatient(env: WechatEnv) -> WechatPayChannel:
    return await env.channel_with(read_timeout=READ_TIMEOUT)


@pytest.fixture(autouse=True)
async def fresh(env: WechatEnv) -> AsyncIterator[None]:
    yield
    await env.sandbox.settle()
    assert env.sandbox.certificate_hits == 0  # public-key mode never asks for platform certificates
    env.sandbox.reset()
    env.receiver.received.clear()
    env.receiver.accept = True


async def _created(env: WechatEnv, product: Product = Product.NATIVE, amount_fen: int = 5000) -> str:
    spec = order(product, clock=env.clock, payer="o-payer-1", amount_fen=amount_fen)
    assert (await env.channel.create_order(spec)).outcome is Outcome.OK
    return spec.out_trade_no


async def _paid(env: WechatEnv, amount_fen: int = 5000) -> str:
    out_trade_no = await _created(env, amount_fen=amount_fen)
    await env.sandbox.pay(out_trade_no)
    await env.sandbox.settle()
    return out_trade_no


class TestCreateOrder:
    async def test_native_answers_the_code_url_and_sends_the_order_as_wechat_wants_it(self, env: WechatEnv) -> None:
        # given
        spec = order(Product.NATIVE, amount_fen=5000, clock=env.clock)

        # when
        result = await env.channel.create_order(spec)

        # then
        trade = env.sandbox.trade(spec.out_trade_no)
        assert trade is not None
        assert result.outcome is Outcome.OK
        assert result.payload == {"codeUrl": f"weixin://wxpay/bizpayurl?pr={trade.prepay_id[-12:]}"}
        [request] = env.sandbox.requests("pay")
        assert request.path == "/v3/pay/transactions/native"
        assert request.body == {
            "notify_url": env.notify_url,
            "description": "营业执照办理费",
            "out_trade_no": spec.out_trade_no,
            "amount": {"total": 5000, "currency": "CNY"},
            "time_expire": spec.expires_at.astimezone(SHANGHAI).isoformat(timespec="seconds"),
            "appid": APPID,
            "mchid": MCHID,
        }
        assert request.body["time_expire"].endswith("+08:00")

    async def test_app_payload_is_signed_with_the_merchant_key(self, env: WechatEnv) -> None:
        # given
        spec = order(Product.APP, clock=env.clock)
        before = int(env.clock.now().timestamp())

        # when
        result = await env.channel.create_order(spec)

        # then
        trade = env.sandbox.trade(spec.out_trade_no)
        assert trade is not None
        payload = result.payload
        assert before <= int(payload["timestamp"]) <= int(env.clock.now().timestamp())
        assert result.outcome is Outcome.OK
        assert set(payload) == {"appid", "partnerid", "prepayid", "package", "noncestr", "timestamp", "sign"}
        assert (payload["appid"], payload["partnerid"], payload["prepayid"]) == (APPID, MCHID, trade.prepay_id)
        assert payload["package"] == "Sign=WXPay"
        parts = (APPID, payload["timestamp"], payload["noncestr"], trade.prepay_id)
        assert verify_client_sign(env.merchant_public_key(), payload["sign"], *parts)

    async def test_jsapi_sends_the_payer_openid_and_signs_the_payload(self, env: WechatEnv) -> None:
        # given
        spec = order(Product.JSAPI, payer="o-payer-7", clock=env.clock)

        # when
        result = await env.channel.create_order(spec)

        # then
        trade = env.sandbox.trade(spec.out_trade_no)
        assert trade is not None
        payload = result.payload
        assert result.outcome is Outcome.OK
        assert env.sandbox.requests("pay")[0].body["payer"] == {"openid": "o-payer-7"}
        assert set(payload) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
        assert (payload["appId"], payload["package"], payload["signType"]) == (
            APPID,
            f"prepay_id={trade.prepay_id}",
            "RSA",
        )
        parts = (APPID, payload["timeStamp"], payload["nonceStr"], payload["package"])
        assert verify_client_sign(env.merchant_public_key(), payload["paySign"], *parts)

    async def test_h5_answers_the_page_to_open_and_sends_the_scene(self, env: WechatEnv) -> None:
        # given
        spec = order(Product.H5, clock=env.clock)

        # when
        result = await env.channel.create_order(spec)

        # then
        assert result.outcome is Outcome.OK
        assert result.payload == {"url": f"{env.sandbox.base_url}/cashier/{spec.out_trade_no}"}
        assert env.sandbox.requests("pay")[0].body["scene_info"] == {
            "payer_client_ip": "127.0.0.1",
            "h5_info": {"type": "Wap"},
        }

    async def test_jsapi_without_an_openid_is_refused_before_any_request(self, env: WechatEnv) -> None:
        # when
        result = await env.channel.create_order(order(Product.JSAPI, payer=None, clock=env.clock))

        # then
        assert (result.outcome, result.reason) == (Outcome.REJECTED, "PAYER_OPENID_MISSING")
        assert env.sandbox.requests() == []

    async def test_a_product_wechat_does_not_have_is_refused_before_any_request(self, env: WechatEnv) -> None:
        # when
        result = await env.channel.create_order(order(Product.WAP, clock=env.clock))

        # then
        assert (result.outcome, result.reason) == (Outcome.REJECTED, "PRODUCT_UNSUPPORTED_WAP")
        assert env.sandbox.requests() == []

    async def test_repeating_the_same_order_gets_the_same_prepay_id(self, env: WechatEnv) -> None:
        # given
        spec = order(Product.APP, clock=env.clock)
        first = await env.channel.create_order(spec)

        # when
        again = await env.channel.create_order(spec)

        # then
        assert again.outcome is Outcome.OK
        assert again.payload["prepayid"] == first.payload["prepayid"]
        assert list(env.sandbox.trades()) == [spec.out_trade_no]

    async def test_the_same_out_trade_no_for_another_amount_is_refused(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env, amount_fen=5000)

        # when
        result = await env.channel.create_order(order(out_trade_no=out_trade_no, amount_fen=4000, clock=env.clock))

        # then
        assert (result.outcome, result.reason) == (Outcome.REJECTED, "INVALID_REQUEST")
        trade = env.sandbox.trade(out_trade_no)
        assert trade is not None and trade.amount_fen == 5000

    async def test_an_already_paid_out_trade_no_is_unknown_so_that_a_query_says_how(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _paid(env)

        # when
        result = await env.channel.create_order(order(out_trade_no=out_trade_no, clock=env.clock))

        # then
        assert (result.outcome, result.reason) == (Outcome.UNKNOWN, "ORDERPAID")

    async def test_a_late_answer_is_unknown_though_the_order_exists_and_a_retry_gets_it(
        self, env: WechatEnv, impatient: WechatPayChannel
    ) -> None:
        # given
        spec = order(Product.APP, clock=env.clock)
        env.sandbox.script("pay", delay_s=LATE)

        # when
        result = await impatient.create_order(spec)

        # then
        assert (result.outcome, result.reason) == (Outcome.UNKNOWN, "SDK_ReadTimeout")
        trade = env.sandbox.trade(spec.out_trade_no)
        assert trade is not None
        retried = await env.channel.create_order(spec)
        assert (retried.outcome, retried.payload["prepayid"]) == (Outcome.OK, trade.prepay_id)

    async def test_a_5xx_is_unknown(self, env: WechatEnv) -> None:
        # given
        spec = order(clock=env.clock)
        env.sandbox.script("pay", http_status=500)

        # when
        result = await env.channel.create_order(spec)

        # then
        assert (result.outcome, result.reason) == (Outcome.UNKNOWN, "SYSTEM_ERROR")
        assert env.sandbox.trade(spec.out_trade_no) is None

    async def test_a_mis_signed_answer_is_unknown(self, env: WechatEnv) -> None:
        # given
        spec = order(clock=env.clock)
        env.sandbox.script("pay", mis_sign=True)

        # when
        result = await env.channel.create_order(spec)

        # then
        assert (result.outcome, result.reason, result.payload) == (Outcome.UNKNOWN, "SDK_Exception", {})

    async def test_a_probe_signed_answer_is_unknown_though_the_order_was_made(self, env: WechatEnv) -> None:
        # given
        spec = order(clock=env.clock)
        env.sandbox.script("pay", probe_signature=True, perform_anyway=True)

        # when
        result = await env.channel.create_order(spec)

        # then
        assert (result.outcome, result.reason) == (Outcome.UNKNOWN, "SDK_Exception")
        assert env.sandbox.trade(spec.out_trade_no) is not None

    async def test_an_answer_under_a_foreign_serial_is_unknown_and_fetches_no_certificate(self, env: WechatEnv) -> None:
        # given a 2xx answer carrying no Wechatpay-* headers at all
        env.sandbox.script({"path": "/v3/pay/transactions/native"}, {"status": 200})

        # when
        result = await env.channel.create_order(order(clock=env.clock))

        # then
        assert (result.outcome, result.reason) == (Outcome.UNKNOWN, "SDK_Exception")
        assert env.sandbox.requests("certificates") == []

    async def test_a_request_signed_with_another_merchant_key_is_refused(self, env: WechatEnv) -> None:
        # given
        from api.platforms.alipay import generate_rsa_keypair

        stranger = await env.channel_with(merchant_private_key_pem=generate_rsa_keypair()[0])

        # when
        result = await stranger.create_order(order(clock=env.clock))

        # then
        assert (result.outcome, result.reason) == (Outcome.REJECTED, "SIGN_ERROR")
        assert env.sandbox.trades() == {}


class TestQuery:
    async def test_an_unpaid_order_is_pending(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)

        # when
        fact = await env.channel.query(out_trade_no)

        # then
        assert (fact.outcome, fact.state, fact.amount_fen) == (Outcome.OK, TradeState.PENDING, 5000)
        assert (fact.merchant_id, fact.app_id, fact.channel_trade_no, fact.paid_at) == (MCHID, APPID, None, None)
        [request] = env.sandbox.requests("query")
        assert (request.path, request.query) == (f"/v3/pay/transactions/out-trade-no/{out_trade_no}", {"mchid": MCHID})

    async def test_a_paid_order_is_paid_with_its_transaction_amount_and_time(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _paid(env, amount_fen=5000)
        trade = env.sandbox.trade(out_trade_no)
        assert trade is not None and trade.success_time is not None

        # when
        fact = await env.channel.query(out_trade_no)

        # then
        assert (fact.outcome, fact.state) == (Outcome.OK, TradeState.PAID)
        assert (fact.channel_trade_no, fact.amount_fen, fact.currency) == (trade.transaction_id, 5000, "CNY")
        assert fact.paid_at == trade.success_time.replace(microsecond=0)
        assert "payer" not in fact.payload_redacted
        assert fact.payload_redacted["transaction_id"] == trade.transaction_id

    @pytest.mark.parametrize(
        ("wechat_state", "state"),
        [
            ("USERPAYING", TradeState.PENDING),
            ("CLOSED", TradeState.CLOSED),
            ("PAYERROR", TradeState.FAILED),
            ("REVOKED", TradeState.CLOSED),
        ],
    )
    async def test_other_trade_states(self, env: WechatEnv, wechat_state: str, state: TradeState) -> None:
        # given
        out_trade_no = await _created(env)
        trade = env.sandbox.trade(out_trade_no)
        assert trade is not None
        trade.state = wechat_state

        # when
        fact = await env.channel.query(out_trade_no)

        # then
        assert (fact.outcome, fact.state) == (Outcome.OK, state)

    async def test_a_refunded_order_is_still_paid(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _paid(env)
        await env.channel.refund(RefundSpec(out_trade_no, "R-1", 1000, 5000))

        # when
        fact = await env.channel.query(out_trade_no)

        # then
        assert (fact.outcome, fact.state, fact.payload_redacted["trade_state"]) == (
            Outcome.OK,
            TradeState.PAID,
            "REFUND",
        )

    async def test_an_order_wechat_does_not_know_is_not_found(self, env: WechatEnv) -> None:
        # when
        fact = await env.channel.query("T-NEVER-MADE-1")

        # then
        assert (fact.outcome, fact.state, fact.reason) == (Outcome.REJECTED, TradeState.NOT_FOUND, "ORDER_NOT_EXIST")

    async def test_a_5xx_is_unknown(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _paid(env)
        env.sandbox.script("query", http_status=503)

        # when
        fact = await env.channel.query(out_trade_no)

        # then
        assert (fact.outcome, fact.state, fact.reason) == (Outcome.UNKNOWN, None, "SYSTEM_ERROR")

    async def test_a_late_answer_is_unknown(self, env: WechatEnv, impatient: WechatPayChannel) -> None:
        # given
        out_trade_no = await _paid(env)
        env.sandbox.script("query", delay_s=LATE)

        # when
        fact = await impatient.query(out_trade_no)

        # then
        assert (fact.outcome, fact.state, fact.reason) == (Outcome.UNKNOWN, None, "SDK_ReadTimeout")

    @pytest.mark.parametrize("signing", [{"mis_sign": True}, {"probe_signature": True}])
    async def test_a_paid_answer_that_does_not_verify_is_no_payment(
        self, env: WechatEnv, signing: dict[str, Any]
    ) -> None:
        # given
        out_trade_no = await _paid(env)
        env.sandbox.script("query", **signing)

        # when
        fact = await env.channel.query(out_trade_no)

        # then
        assert (fact.outcome, fact.state, fact.channel_trade_no) == (Outcome.UNKNOWN, None, None)


class TestClose:
    async def test_an_unpaid_order_is_closed(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)

        # when
        result = await env.channel.close(out_trade_no)

        # then
        assert (result.outcome, result.already_paid) == (Outcome.OK, False)
        trade = env.sandbox.trade(out_trade_no)
        assert trade is not None and trade.state == "CLOSED"
        assert env.sandbox.requests("close")[0].body == {"mchid": MCHID}

    async def test_closing_again_is_fine(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)
        await env.channel.close(out_trade_no)

        # when
        result = await env.channel.close(out_trade_no)

        # then
        assert (result.outcome, result.already_paid) == (Outcome.OK, False)

    async def test_a_paid_order_is_not_closed_and_says_so(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _paid(env)

        # when
        result = await env.channel.close(out_trade_no)

        # then
        assert (result.outcome, result.already_paid, result.reason) == (Outcome.REJECTED, True, "ORDERPAID")
        trade = env.sandbox.trade(out_trade_no)
        assert trade is not None and trade.state == "SUCCESS"

    async def test_an_order_wechat_does_not_know_is_refused(self, env: WechatEnv) -> None:
        # when
        result = await env.channel.close("T-NEVER-MADE-2")

        # then
        assert (result.outcome, result.already_paid, result.reason) == (Outcome.REJECTED, False, "ORDER_NOT_EXIST")

    async def test_a_probe_signed_204_is_unknown_though_the_order_was_closed(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)
        env.sandbox.script("close", probe_signature=True, perform_anyway=True)

        # when
        result = await env.channel.close(out_trade_no)

        # then the SDK raises on the probe although WeChat closed the order: only a query may say so
        assert (result.outcome, result.reason) == (Outcome.UNKNOWN, "SDK_Exception")
        trade = env.sandbox.trade(out_trade_no)
        assert trade is not None and trade.state == "CLOSED"

    async def test_a_5xx_is_unknown_and_nothing_closed(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)
        env.sandbox.script("close", http_status=502)

        # when
        result = await env.channel.close(out_trade_no)

        # then
        assert (result.outcome, result.reason) == (Outcome.UNKNOWN, "SYSTEM_ERROR")
        trade = env.sandbox.trade(out_trade_no)
        assert trade is not None and trade.state == "NOTPAY"


class TestRefund:
    async def test_a_refund_is_accepted_processing_then_succeeds_with_its_notify(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _paid(env)

        # when
        fact = await env.channel.refund(RefundSpec(out_trade_no, "R-100", 2000, 5000, "撤回后退费"))
        await env.sandbox.settle()

        # then
        refund = env.sandbox.refund_record("R-100")
        assert refund is not None
        assert (fact.outcome, fact.state, fact.amount_fen) == (Outcome.OK, RefundState.PROCESSING, 2000)
        assert (fact.out_trade_no, fact.channel_refund_id) == (out_trade_no, refund.refund_id)
        assert env.sandbox.requests("refund")[0].body == {
            "notify_url": env.notify_url,
            "out_refund_no": "R-100",
            "amount": {"refund": 2000, "total": 5000, "currency": "CNY"},
            "out_trade_no": out_trade_no,
            "reason": "撤回后退费",
        }
        assert refund.status == "SUCCESS"
        [notified] = [f.refund for f in env.receiver.facts() if f.refund is not None]
        assert (notified.out_refund_no, notified.state, notified.amount_fen) == ("R-100", RefundState.SUCCEEDED, 2000)

    async def test_the_same_out_refund_no_refunds_once(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _paid(env)
        spec = RefundSpec(out_trade_no, "R-200", 5000, 5000)
        first = await env.channel.refund(spec)

        # when
        again = await env.channel.refund(spec)

        # then
        assert again.outcome is Outcome.OK
        assert again.channel_refund_id == first.channel_refund_id
        assert list(env.sandbox.refunds()) == ["R-200"]

    async def test_more_than_is_left_is_refused(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _paid(env)
        await env.channel.refund(RefundSpec(out_trade_no, "R-300", 4000, 5000))

        # when
        fact = await env.channel.refund(RefundSpec(out_trade_no, "R-301", 2000, 5000))

        # then
        assert (fact.outcome, fact.state, fact.reason) == (Outcome.REJECTED, None, "INVALID_REQUEST")
        assert list(env.sandbox.refunds()) == ["R-300"]

    async def test_an_unpaid_order_cannot_be_refunded(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)

        # when
        fact = await env.channel.refund(RefundSpec(out_trade_no, "R-400", 1000, 5000))

        # then
        assert (fact.outcome, fact.reason) == (Outcome.REJECTED, "INVALID_REQUEST")

    async def test_a_late_answer_is_unknown_and_the_refund_query_finds_the_refund(
        self, env: WechatEnv, impatient: WechatPayChannel
    ) -> None:
        # given
        out_trade_no = await _paid(env)
        env.sandbox.script("refund", delay_s=LATE)

        # when
        fact = await impatient.refund(RefundSpec(out_trade_no, "R-500", 5000, 5000))

        # then
        assert (fact.outcome, fact.state, fact.reason) == (Outcome.UNKNOWN, None, "SDK_ReadTimeout")
        queried = await env.channel.query_refund(out_trade_no, "R-500")
        assert (queried.outcome, queried.state) == (Outcome.OK, RefundState.PROCESSING)
        await env.sandbox.settle()  # the late answer goes out; WeChat finishes the refund after it
        settled = await env.channel.query_refund(out_trade_no, "R-500")
        assert (settled.outcome, settled.state, settled.amount_fen) == (Outcome.OK, RefundState.SUCCEEDED, 5000)
        assert len(env.sandbox.requests("refund")) == 1

    @pytest.mark.parametrize(
        "script", [{"http_status": 500, "perform_anyway": True}, {"probe_signature": True, "perform_anyway": True}]
    )
    async def test_an_unusable_answer_is_unknown_though_the_refund_was_made(
        self, env: WechatEnv, script: dict[str, Any]
    ) -> None:
        # given
        out_trade_no = await _paid(env)
        env.sandbox.script("refund", **script)

        # when
        fact = await env.channel.refund(RefundSpec(out_trade_no, "R-600", 1000, 5000))

        # then
        assert (fact.outcome, fact.state) == (Outcome.UNKNOWN, None)
        assert env.sandbox.refund_record("R-600") is not None


class TestQueryRefund:
    async def test_a_refund_still_processing(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _paid(env)
        env.sandbox.refund_result = None
        await env.channel.refund(RefundSpec(out_trade_no, "R-700", 1000, 5000))

        # when
        fact = await env.channel.query_refund(out_trade_no, "R-700")

        # then
        assert (fact.outcome, fact.state, fact.amount_fen) == (Outcome.OK, RefundState.PROCESSING, 1000)
        assert env.sandbox.requests("query_refund")[0].path == "/v3/refund/domestic/refunds/R-700"

    @pytest.mark.parametrize(("ending", "state"), [("ABNORMAL", RefundState.ABNORMAL), ("CLOSED", RefundState.FAILED)])
    async def test_refunds_that_do_not_succeed(self, env: WechatEnv, ending: str, state: RefundState) -> None:
        # given
        out_trade_no = await _paid(env)
        env.sandbox.refund_result = ending
        await env.channel.refund(RefundSpec(out_trade_no, "R-800", 1000, 5000))
        await env.sandbox.settle()

        # when
        fact = await env.channel.query_refund(out_trade_no, "R-800")

        # then
        assert (fact.outcome, fact.state) == (Outcome.OK, state)

    async def test_a_refund_wechat_does_not_know_is_not_found(self, env: WechatEnv) -> None:
        # when
        fact = await env.channel.query_refund("T-X", "R-NEVER")

        # then
        assert (fact.outcome, fact.state, fact.reason) == (
            Outcome.REJECTED,
            RefundState.NOT_FOUND,
            "RESOURCE_NOT_EXISTS",
        )

    async def test_a_5xx_is_unknown(self, env: WechatEnv) -> None:
        # given
        env.sandbox.script("query_refund", http_status=500)

        # when
        fact = await env.channel.query_refund("T-X", "R-ANY")

        # then
        assert (fact.outcome, fact.state) == (Outcome.UNKNOWN, None)


class TestDownloadBill:
    async def test_the_days_payments_and_refunds_in_fen(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _paid(env, amount_fen=5000)
        await env.channel.refund(RefundSpec(out_trade_no, "R-900", 1234, 5000))
        await env.sandbox.settle()
        trade, refund = env.sandbox.trade(out_trade_no), env.sandbox.refund_record("R-900")
        assert trade is not None and trade.success_time is not None
        assert refund is not None and refund.success_time is not None

        # when
        bill = await env.channel.download_bill(trade.success_time.astimezone(SHANGHAI).date())

        # then
        assert bill.outcome is Outcome.OK
        assert [(x.kind, x.out_trade_no, x.channel_trade_no, x.amount_fen, x.out_refund_no) for x in bill.lines] == [
            ("pay", out_trade_no, trade.transaction_id, 5000, None),
            ("refund", out_trade_no, trade.transaction_id, 1234, "R-900"),
        ]
        assert bill.lines[0].at == trade.success_time.replace(microsecond=0)
        assert env.sandbox.requests("tradebill")[0].query == {
            "bill_date": trade.success_time.astimezone(SHANGHAI).date().isoformat(),
            "bill_type": "ALL",
            "tar_type": "GZIP",
        }

    async def test_a_set_bill_is_what_is_listed(self, env: WechatEnv) -> None:
        # given
        day = (env.clock.now() - timedelta(days=1)).astimezone(SHANGHAI)
        env.sandbox.set_bill(
            day.date(),
            [
                {
                    "kind": "pay",
                    "outTradeNo": "T-THEIRS",
                    "channelTradeNo": "4200X",
                    "amountFen": 1,
                    "at": day.isoformat(),
                }
            ],
        )

        # when
        bill = await env.channel.download_bill(day.date())

        # then
        assert bill.outcome is Outcome.OK
        assert [(x.kind, x.out_trade_no, x.channel_trade_no, x.amount_fen) for x in bill.lines] == [
            ("pay", "T-THEIRS", "4200X", 1)
        ]

    async def test_a_day_without_trades_has_no_bill(self, env: WechatEnv) -> None:
        # when
        bill = await env.channel.download_bill((env.clock.now() - timedelta(days=400)).date())

        # then
        assert (bill.outcome, bill.lines, bill.reason) == (Outcome.REJECTED, (), "NO_STATEMENT_EXIST")

    @pytest.mark.parametrize(
        ("operation", "script"),
        [
            ("tradebill", {"http_status": 500}),
            ("tradebill", {"mis_sign": True}),
            ("billdownload", {"http_status": 503}),
        ],
    )
    async def test_trouble_on_either_call_is_unknown(
        self, env: WechatEnv, operation: str, script: dict[str, Any]
    ) -> None:
        # given
        day = env.clock.now().astimezone(SHANGHAI).date()
        env.sandbox.set_bill(day, [])
        env.sandbox.script(operation, **script)

        # when
        bill = await env.channel.download_bill(day)

        # then
        assert (bill.outcome, bill.lines) == (Outcome.UNKNOWN, ())

    async def test_a_file_that_is_not_the_bill_is_unknown(self, env: WechatEnv) -> None:
        # given
        day = env.clock.now().astimezone(SHANGHAI).date()
        env.sandbox.set_bill(day, [])
        env.sandbox.script({"path": "/v3/billdownload/file"}, {"body": {"not": "a bill"}})

        # when
        bill = await env.channel.download_bill(day)

        # then
        assert (bill.outcome, bill.reason) == (Outcome.UNKNOWN, "BILL_FILE: the bill file is not gzip")


class TestAcknowledgements:
    def test_an_accepted_notify_is_answered_204_without_a_body(self, env: WechatEnv) -> None:
        response = env.channel.ack(True)
        assert (response.status_code, response.body) == (204, b"")

    def test_a_notify_we_could_not_store_is_answered_503_to_be_delivered_again(self, env: WechatEnv) -> None:
        response = env.channel.ack(False)
        assert (response.status_code, bytes(response.body).decode()) == (503, '{"code":"FAIL","message":"失败"}')

    def test_an_unverifiable_notify_is_answered_401_fail(self, env: WechatEnv) -> None:
        response = env.channel.reject()
        assert (response.status_code, bytes(response.body).decode()) == (401, '{"code":"FAIL","message":"失败"}')
