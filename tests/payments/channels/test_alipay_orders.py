"""AlipayChannel.create_order and the constructor, against the Alipay sandbox over real HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization

from api.models.payment import Product
from api.platforms.alipay import generate_rsa_keypair, load_public_key, rsa2_verify, sign_content
from payments.channels.base import Outcome, TradeState
from tests.payments.alipay_support import APP_ID, AlipayWorld, FixedClock, alipay_world


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[AlipayWorld]:
    async with alipay_world() as built:
        yield built


@pytest.fixture
def env(world: AlipayWorld) -> AlipayWorld:
    world.reset()
    return world


def _params(query: str) -> dict[str, str]:
    return dict(parse_qsl(query, keep_blank_values=True))


class TestConstructor:
    def test_a_bad_app_key_stops_start_up(self, env: AlipayWorld) -> None:
        with pytest.raises(ValueError, match="private key"):
            env.channel(app_private_key_pem="not a key")

    def test_a_bad_alipay_public_key_stops_start_up(self, env: AlipayWorld) -> None:
        with pytest.raises(ValueError, match="public key"):
            env.channel(alipay_public_key_pem="-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")

    def test_a_short_key_stops_start_up(self, env: AlipayWorld) -> None:
        with pytest.raises(ValueError, match="2048"):
            env.channel(app_private_key_pem=generate_rsa_keypair(1024)[0])

    def test_the_consoles_bare_base64_pkcs1_key_is_accepted(self, env: AlipayWorld) -> None:
        key = serialization.load_pem_private_key(env.app_keys[0].encode(), password=None)
        pkcs1 = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ).decode()
        body = "".join(line for line in pkcs1.splitlines() if not line.startswith("-----"))

        channel = env.channel(app_private_key_pem=body)

        assert channel.name == "ALIPAY"
        assert channel.products == {Product.APP, Product.WAP, Product.H5, Product.JSAPI, Product.NATIVE}

    def test_a_missing_notify_url_stops_start_up(self, env: AlipayWorld) -> None:
        with pytest.raises(ValueError, match="notify URL"):
            env.channel(notify_url="")


class TestCreateAppOrder:
    async def test_the_order_string_is_signed_by_us_and_sent_nowhere(self, env: AlipayWorld) -> None:
        # given
        spec = env.spec(Product.APP, amount_fen=5000)

        # when
        result = await env.channel().create_order(spec)

        # then
        assert result.outcome is Outcome.OK
        assert result.channel_trade_no is None
        params = _params(result.payload["orderString"])
        assert set(result.payload) == {"orderString"}
        assert params["method"] == "alipay.trade.app.pay"
        assert (params["app_id"], params["sign_type"], params["charset"], params["version"]) == (
            APP_ID,
            "RSA2",
            "utf-8",
            "1.0",
        )
        assert params["notify_url"] == env.notify_url
        assert rsa2_verify(load_public_key(env.app_keys[1]), sign_content(params), params["sign"])
        biz = json.loads(params["biz_content"])
        assert biz["out_trade_no"] == spec.out_trade_no
        assert biz["total_amount"] == "50.00"
        assert biz["subject"] == "营业执照办理费"
        assert biz["product_code"] == "QUICK_MSECURITY_PAY"
        assert env.sandbox.requests() == []

    async def test_the_trade_does_not_exist_until_the_cashier_opens(self, env: AlipayWorld) -> None:
        # given
        channel = env.channel()
        spec = env.spec(Product.APP)
        result = await channel.create_order(spec)
        before = await channel.query(spec.out_trade_no)

        # when
        page = await env.http.get(env.sandbox.cashier_url(Product.APP, spec.out_trade_no, result.payload) or "")
        after = await channel.query(spec.out_trade_no)

        # then
        assert (before.outcome, before.state) == (Outcome.OK, TradeState.NOT_FOUND)
        assert page.status_code == 200
        assert "50.00" in page.text
        assert (after.outcome, after.state, after.amount_fen) == (Outcome.OK, TradeState.PENDING, 5000)


class TestCreateWapOrder:
    @pytest.mark.parametrize("product", [Product.WAP, Product.H5])
    async def test_the_url_goes_to_the_gateway_and_opens_the_cashier(self, env: AlipayWorld, product: Product) -> None:
        # given
        spec = env.spec(product, amount_fen=1)

        # when
        result = await env.channel().create_order(spec)
        page = await env.http.get(result.payload["url"])

        # then
        assert result.outcome is Outcome.OK
        url = urlsplit(result.payload["url"])
        assert f"{url.scheme}://{url.netloc}{url.path}" == env.hub.alipay.gateway_url
        params = _params(url.query)
        assert params["method"] == "alipay.trade.wap.pay"
        assert params["return_url"] == f"{env.base_url}/return"
        biz = json.loads(params["biz_content"])
        assert (biz["product_code"], biz["quit_url"], biz["total_amount"]) == (
            "QUICK_WAP_WAY",
            f"{env.base_url}/return",
            "0.01",
        )
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "沙箱" in page.text and "0.01" in page.text
        assert env.sandbox.trade(spec.out_trade_no) is not None

    async def test_the_order_spec_return_url_wins(self, env: AlipayWorld) -> None:
        spec = env.spec(Product.WAP, return_url="https://zsb.example/back")

        result = await env.channel().create_order(spec)

        assert _params(urlsplit(result.payload["url"]).query)["return_url"] == "https://zsb.example/back"

    async def test_a_tampered_url_is_refused_by_the_gateway(self, env: AlipayWorld) -> None:
        # given
        result = await env.channel().create_order(env.spec(Product.WAP, amount_fen=5000))

        # when
        page = await env.http.get(result.payload["url"].replace("50.00", "0.01"))

        # then
        assert "isv.invalid-signature" in page.text
        assert env.sandbox.trades() == []


class TestCreateJsapiOrder:
    async def test_the_trade_exists_at_once_and_its_number_is_the_payload(self, env: AlipayWorld) -> None:
        # given
        channel = env.channel()
        spec = env.spec(Product.JSAPI)

        # when
        result = await channel.create_order(spec)
        fact = await channel.query(spec.out_trade_no)

        # then
        assert result.outcome is Outcome.OK
        assert result.payload == {"tradeNo": result.channel_trade_no}
        assert result.channel_trade_no and len(result.channel_trade_no) == 28
        [request] = env.sandbox.requests("alipay.trade.create")
        assert request.body["biz_content"]["buyer_id"] == "2088102177846880"
        assert request.body["biz_content"]["product_code"] == "JSAPI_PAY"
        assert (fact.state, fact.channel_trade_no) == (TradeState.PENDING, result.channel_trade_no)

    async def test_an_open_id_is_sent_as_buyer_open_id(self, env: AlipayWorld) -> None:
        spec = env.spec(Product.JSAPI, payer_channel_id="074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5")

        result = await env.channel().create_order(spec)

        assert result.outcome is Outcome.OK
        [request] = env.sandbox.requests("alipay.trade.create")
        assert "buyer_id" not in request.body["biz_content"]
        assert request.body["biz_content"]["buyer_open_id"] == spec.payer_channel_id

    async def test_the_same_order_again_answers_the_same_trade(self, env: AlipayWorld) -> None:
        channel = env.channel()
        spec = env.spec(Product.JSAPI)

        first = await channel.create_order(spec)
        second = await channel.create_order(spec)

        assert (second.outcome, second.payload) == (Outcome.OK, first.payload)
        assert len(env.sandbox.trades()) == 1

    async def test_an_order_already_paid_is_unknown_so_that_it_gets_queried(self, env: AlipayWorld) -> None:
        channel = env.channel()
        spec = env.spec(Product.JSAPI)
        await channel.create_order(spec)
        await env.sandbox.pay(spec.out_trade_no, notify=False)

        result = await channel.create_order(spec)

        assert result.outcome is Outcome.UNKNOWN
        assert "ACQ.TRADE_HAS_SUCCESS" in result.reason

    async def test_another_amount_for_the_same_out_trade_no_is_rejected(self, env: AlipayWorld) -> None:
        channel = env.channel()
        spec = env.spec(Product.JSAPI, amount_fen=5000)
        await channel.create_order(spec)

        result = await channel.create_order(env.spec(Product.JSAPI, amount_fen=4000, out_trade_no=spec.out_trade_no))

        assert result.outcome is Outcome.REJECTED
        assert "ACQ.CONTEXT_INCONSISTENT" in result.reason
        assert env.sandbox.trade(spec.out_trade_no).amount_fen == 5000  # type: ignore[union-attr]

    async def test_no_payer_is_the_callers_bug(self, env: AlipayWorld) -> None:
        with pytest.raises(ValueError, match="user id"):
            await env.channel().create_order(env.spec(Product.JSAPI, payer_channel_id=None))
        assert env.sandbox.requests() == []


class TestCreateNativeOrder:
    async def test_the_qr_code_is_the_payload_and_opens_the_cashier(self, env: AlipayWorld) -> None:
        # given
        spec = env.spec(Product.NATIVE, amount_fen=2_147_483_648)

        # when
        result = await env.channel().create_order(spec)
        page = await env.http.get(result.payload["codeUrl"])

        # then
        assert result.outcome is Outcome.OK
        assert set(result.payload) == {"codeUrl"}
        [request] = env.sandbox.requests("alipay.trade.precreate")
        assert request.body["biz_content"]["total_amount"] == "21474836.48"
        assert page.status_code == 200 and "21474836.48" in page.text


class TestCreateOrderInput:
    @pytest.mark.parametrize(("fen", "yuan"), [(1, "0.01"), (29, "0.29"), (115, "1.15"), (5000, "50.00")])
    async def test_fen_become_exact_yuan(self, env: AlipayWorld, fen: int, yuan: str) -> None:
        result = await env.channel().create_order(env.spec(Product.APP, amount_fen=fen))

        assert json.loads(_params(result.payload["orderString"])["biz_content"])["total_amount"] == yuan

    async def test_time_expire_and_timestamp_are_beijing_time_from_the_aware_clock(self, env: AlipayWorld) -> None:
        # given: 16:30 UTC is half past midnight the next day in Beijing
        clock = FixedClock(datetime(2025, 12, 31, 16, 30, 5, tzinfo=UTC))
        spec = env.spec(Product.APP, expires_at=datetime(2025, 12, 31, 17, 0, tzinfo=UTC))

        # when
        result = await env.channel(clock=clock).create_order(spec)

        # then
        params = _params(result.payload["orderString"])
        assert params["timestamp"] == "2026-01-01 00:30:05"
        assert json.loads(params["biz_content"])["time_expire"] == "2026-01-01 01:00:00"

    async def test_a_naive_expiry_is_refused(self, env: AlipayWorld) -> None:
        with pytest.raises(ValueError, match="aware"):
            await env.channel().create_order(env.spec(Product.APP, expires_at=datetime(2030, 1, 1)))

    @pytest.mark.parametrize("fen", [0, -1])
    async def test_a_non_positive_amount_is_refused(self, env: AlipayWorld, fen: int) -> None:
        with pytest.raises(ValueError, match="positive"):
            await env.channel().create_order(env.spec(Product.NATIVE, amount_fen=fen))
        assert env.sandbox.requests() == []


class TestCreateOrderOutcomes:
    async def test_a_late_answer_is_unknown_though_the_trade_was_made(self, env: AlipayWorld) -> None:
        # given
        env.sandbox.script("alipay.trade.precreate", delay_s=1.0, perform_anyway=True)
        spec = env.spec(Product.NATIVE)

        # when
        result = await env.channel(read_timeout=0.2).create_order(spec)

        # then
        assert (result.outcome, result.payload) == (Outcome.UNKNOWN, {})
        assert "timed out" in result.reason
        assert env.sandbox.trade(spec.out_trade_no) is not None

    @pytest.mark.parametrize("status", [500, 502, 503, 404])
    async def test_an_http_failure_is_unknown(self, env: AlipayWorld, status: int) -> None:
        env.sandbox.script("alipay.trade.create", http_status=status)
        spec = env.spec(Product.JSAPI)

        result = await env.channel().create_order(spec)

        assert result.outcome is Outcome.UNKNOWN
        assert f"HTTP {status}" in result.reason
        assert env.sandbox.trade(spec.out_trade_no) is None

    async def test_a_mis_signed_answer_is_unknown(self, env: AlipayWorld) -> None:
        env.sandbox.script("alipay.trade.create", mis_sign=True)

        result = await env.channel().create_order(env.spec(Product.JSAPI))

        assert result.outcome is Outcome.UNKNOWN
        assert "signature" in result.reason

    async def test_an_answer_signed_by_another_key_is_unknown(self, env: AlipayWorld) -> None:
        channel = env.channel(alipay_public_key_pem=generate_rsa_keypair()[1])

        result = await channel.create_order(env.spec(Product.JSAPI))

        assert result.outcome is Outcome.UNKNOWN

    async def test_an_unsigned_refusal_is_not_believed(self, env: AlipayWorld) -> None:
        env.hub.alipay.script(
            {"method": "alipay.trade.create"},
            {"body": {"error_response": {"code": "40004", "sub_code": "ACQ.INVALID_PARAMETER"}}},
        )

        result = await env.channel().create_order(env.spec(Product.JSAPI))

        assert result.outcome is Outcome.UNKNOWN

    @pytest.mark.parametrize(
        "node",
        [
            {"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "isp.unknow-error"},
            {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.SYSTEM_ERROR"},
            {"code": "99999", "msg": "?"},
        ],
        ids=["busy", "system error", "unexpected code"],
    )
    async def test_a_signed_try_again_is_unknown(self, env: AlipayWorld, node: dict[str, str]) -> None:
        env.hub.alipay.script({"method": "alipay.trade.precreate"}, {"body": node})

        result = await env.channel().create_order(env.spec(Product.NATIVE))

        assert result.outcome is Outcome.UNKNOWN

    async def test_a_signed_refusal_is_rejected(self, env: AlipayWorld) -> None:
        env.hub.alipay.script(
            {"method": "alipay.trade.precreate"},
            {"body": {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.ACCESS_FORBIDDEN"}},
        )

        result = await env.channel().create_order(env.spec(Product.NATIVE))

        assert result.outcome is Outcome.REJECTED
        assert "ACQ.ACCESS_FORBIDDEN" in result.reason

    async def test_an_app_the_gateway_does_not_know_is_rejected(self, env: AlipayWorld) -> None:
        result = await env.channel(app_id="2021000000009999").create_order(env.spec(Product.NATIVE))

        assert result.outcome is Outcome.REJECTED
        assert "isv.invalid-app-id" in result.reason

    async def test_a_request_signed_with_another_key_is_rejected(self, env: AlipayWorld) -> None:
        result = await env.channel(app_private_key_pem=generate_rsa_keypair()[0]).create_order(env.spec(Product.NATIVE))

        assert result.outcome is Outcome.REJECTED
        assert "isv.invalid-signature" in result.reason

    async def test_an_unreachable_gateway_is_unknown(self, env: AlipayWorld) -> None:
        channel = env.channel(gateway_url="http://127.0.0.1:9/gateway.do", connect_timeout=0.5)

        result = await channel.create_order(env.spec(Product.JSAPI))

        assert result.outcome is Outcome.UNKNOWN
        assert "transport error" in result.reason

    async def test_an_expired_order_is_closed_at_the_sandbox(self, env: AlipayWorld) -> None:
        # given
        channel = env.channel()
        spec = env.spec(Product.NATIVE, expires_at=env.clock.now() + timedelta(minutes=30))
        await channel.create_order(spec)

        # when
        env.sandbox_clock.advance(timedelta(minutes=31))
        fact = await channel.query(spec.out_trade_no)

        # then
        assert (fact.outcome, fact.state) == (Outcome.OK, TradeState.CLOSED)
