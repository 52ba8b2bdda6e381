"""The WeChat Pay sandbox's merchant API over raw HTTP: who may call it, how it signs, what it refuses."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from api.kit.clock import SHANGHAI
from payments.channels.base import BillLine
from payments.channels.wechat_bill import BillFileError, open_bill_file, parse_trade_bill
from payments.sandbox.wechat_crypto import generate_key, load_public_pem, sign, verify
from payments.sandbox.wechat_state import render_trade_bill
from tests.payments.wechat_support import APPID, MCHID, WechatEnv, new_out_trade_no, wechat_env


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WechatEnv]:
    async with wechat_env() as world:
        yield world


@pytest.fixture(autouse=True)
async def fresh(env: WechatEnv, request: pytest.FixtureRequest) -> AsyncIterator[None]:
    yield
    await env.sandbox.settle()
    if request.cls is not TestCertificates:
        assert env.sandbox.certificate_hits == 0
    env.sandbox.reset()
    env.receiver.received.clear()


def _merchant_key(env: WechatEnv) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(env.merchant_private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


async def _call(
    env: WechatEnv,
    method: str,
    target: str,
    body: str = "",
    *,
    key: rsa.RSAPrivateKey | None = None,
    serial_no: str | None = None,
    signed_target: str | None = None,
    signed_body: str | None = None,
    authorization: str | None = None,
) -> httpx.Response:
    """A merchant API call signed as WeChat requires: `METHOD\\ntarget\\ntimestamp\\nnonce\\nbody\\n`."""
    if authorization is None:
        stamp, nonce = str(int(datetime.now(UTC).timestamp())), secrets.token_hex(16)
        signature = sign(
            key or _merchant_key(env),
            method,
            signed_target or target,
            stamp,
            nonce,
            body if signed_body is None else signed_body,
        )
        authorization = (
            f'WECHATPAY2-SHA256-RSA2048 mchid="{MCHID}",nonce_str="{nonce}",signature="{signature}",'
            f'timestamp="{stamp}",serial_no="{serial_no or env.serial_no}"'
        )
    headers = {"Authorization": authorization, "Content-Type": "application/json", "Accept": "application/json"}
    return await env.http.request(method, f"{env.sandbox.gateway_url}{target}", content=body, headers=headers)


def _signed_by_sandbox(env: WechatEnv, response: httpx.Response) -> bool:
    h = response.headers
    if (h.get("wechatpay-serial"), h.get("wechatpay-signature-type")) != (
        env.sandbox.public_key_id,
        "WECHATPAY2-SHA256-RSA2048",
    ):
        return False
    key = load_public_pem(env.sandbox.public_key_pem)
    return verify(key, h["wechatpay-signature"], h["wechatpay-timestamp"], h["wechatpay-nonce"], response.text)


def _order_body(number: str, **overrides: object) -> str:
    expire = (datetime.now(UTC) + timedelta(minutes=30)).astimezone(SHANGHAI).isoformat(timespec="seconds")
    body = {
        "appid": APPID,
        "mchid": MCHID,
        "description": "办证费",
        "out_trade_no": number,
        "notify_url": "https://example.invalid/notify",
        "amount": {"total": 100, "currency": "CNY"},
        "time_expire": expire,
    } | overrides
    return json.dumps(body)


class TestAuthentication:
    async def test_a_request_signed_with_the_registered_key_is_served(self, env: WechatEnv) -> None:
        # when
        response = await _call(env, "GET", f"/v3/pay/transactions/out-trade-no/T-NONE-1?mchid={MCHID}")

        # then past authentication: the order simply does not exist
        assert (response.status_code, response.json()["code"]) == (404, "ORDER_NOT_EXIST")

    async def test_an_unsigned_request_is_a_signed_401(self, env: WechatEnv) -> None:
        # when
        response = await _call(env, "GET", f"/v3/pay/transactions/out-trade-no/T-1?mchid={MCHID}", authorization="")

        # then
        assert (response.status_code, response.json()["code"]) == (401, "SIGN_ERROR")
        assert _signed_by_sandbox(env, response)

    async def test_another_key_under_our_serial_is_refused(self, env: WechatEnv) -> None:
        # when
        response = await _call(env, "GET", f"/v3/pay/transactions/out-trade-no/T-1?mchid={MCHID}", key=generate_key())

        # then
        assert (response.status_code, response.json()["code"]) == (401, "SIGN_ERROR")

    async def test_an_unregistered_serial_is_refused(self, env: WechatEnv) -> None:
        # when
        response = await _call(env, "GET", f"/v3/pay/transactions/out-trade-no/T-1?mchid={MCHID}", serial_no="ABC")

        # then
        assert response.status_code == 401

    async def test_a_body_changed_after_signing_is_refused(self, env: WechatEnv) -> None:
        # given
        out_trade_no = new_out_trade_no()

        # when
        response = await _call(
            env,
            "POST",
            "/v3/pay/transactions/native",
            _order_body(out_trade_no, amount={"total": 1, "currency": "CNY"}),
            signed_body=_order_body(out_trade_no),
        )

        # then
        assert response.status_code == 401
        assert env.sandbox.trades() == {}

    async def test_the_signed_path_is_relative_to_the_sandbox_and_includes_the_query(self, env: WechatEnv) -> None:
        # given
        target = f"/v3/pay/transactions/out-trade-no/T-1?mchid={MCHID}"
        mount = env.sandbox.gateway_url.removeprefix(env.base_url)

        # when
        full_path = await _call(env, "GET", target, signed_target=f"{mount}{target}")
        no_query = await _call(env, "GET", target, signed_target="/v3/pay/transactions/out-trade-no/T-1")
        relative = await _call(env, "GET", target)

        # then
        assert (full_path.status_code, no_query.status_code, relative.status_code) == (401, 401, 404)


class TestSignedAnswers:
    async def test_a_200_is_signed_over_its_exact_body(self, env: WechatEnv) -> None:
        # given
        out_trade_no = new_out_trade_no()
        await _call(env, "POST", "/v3/pay/transactions/native", _order_body(out_trade_no))

        # when
        response = await _call(env, "GET", f"/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={MCHID}")

        # then
        assert (response.status_code, response.json()["trade_state"]) == (200, "NOTPAY")
        assert _signed_by_sandbox(env, response)

    async def test_a_204_is_signed_over_the_empty_body(self, env: WechatEnv) -> None:
        # given
        out_trade_no = new_out_trade_no()
        await _call(env, "POST", "/v3/pay/transactions/native", _order_body(out_trade_no))

        # when
        response = await _call(
            env, "POST", f"/v3/pay/transactions/out-trade-no/{out_trade_no}/close", json.dumps({"mchid": MCHID})
        )

        # then
        assert (response.status_code, response.content) == (204, b"")
        assert _signed_by_sandbox(env, response)

    async def test_a_mis_signed_answer_carries_a_well_formed_signature_over_other_content(self, env: WechatEnv) -> None:
        # given
        env.sandbox.script("query", mis_sign=True)

        # when
        response = await _call(env, "GET", f"/v3/pay/transactions/out-trade-no/T-2?mchid={MCHID}")

        # then
        assert response.headers["wechatpay-serial"] == env.sandbox.public_key_id
        assert not _signed_by_sandbox(env, response)

    async def test_a_probe_answer_carries_the_signtest_prefix(self, env: WechatEnv) -> None:
        # given
        env.sandbox.script("query", probe_signature=True)

        # when
        response = await _call(env, "GET", f"/v3/pay/transactions/out-trade-no/T-3?mchid={MCHID}")

        # then
        assert response.headers["wechatpay-signature"].startswith("WECHATPAY/SIGNTEST/")


class TestCertificates:
    async def test_there_are_none_in_public_key_mode_and_every_ask_is_counted(self, env: WechatEnv) -> None:
        # when
        response = await env.http.get(f"{env.sandbox.gateway_url}/v3/certificates")

        # then
        assert response.status_code == 404
        assert response.json() == {
            "code": "RESOURCE_NOT_EXISTS",
            "message": "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥",
        }
        assert env.sandbox.certificate_hits == 1


class TestOrderRules:
    @pytest.mark.parametrize(
        ("overrides", "code"),
        [
            ({"amount": {"total": 0}}, "PARAM_ERROR"),
            ({"amount": {"total": 1.5}}, "PARAM_ERROR"),
            ({"mchid": "1900009999"}, "PARAM_ERROR"),
            ({"appid": "wx-other"}, "APPID_MCHID_NOT_MATCH"),
            ({"out_trade_no": "T1"}, "PARAM_ERROR"),
            ({"time_expire": "2020-01-01T00:00:00+08:00"}, "PARAM_ERROR"),
            ({"time_expire": "2099-01-01T00:00:00"}, "PARAM_ERROR"),
            ({"description": ""}, "PARAM_ERROR"),
        ],
    )
    async def test_an_order_wechat_would_refuse_is_refused(
        self, env: WechatEnv, overrides: dict[str, object], code: str
    ) -> None:
        # when
        response = await _call(env, "POST", "/v3/pay/transactions/native", _order_body(new_out_trade_no(), **overrides))

        # then
        assert (response.status_code, response.json()["code"]) == (400, code)
        assert env.sandbox.trades() == {}

    async def test_jsapi_needs_the_payer_and_h5_the_scene(self, env: WechatEnv) -> None:
        # when
        jsapi = await _call(env, "POST", "/v3/pay/transactions/jsapi", _order_body(new_out_trade_no()))
        h5 = await _call(env, "POST", "/v3/pay/transactions/h5", _order_body(new_out_trade_no()))

        # then
        assert (jsapi.status_code, h5.status_code) == (400, 400)


class TestTradeBillFile:
    def _lines(self) -> list[BillLine]:
        at = datetime(2026, 3, 1, 9, 30, tzinfo=SHANGHAI)
        return [
            BillLine("pay", "T-A", "4200A", 5000, at),
            BillLine("refund", "T-A", "4200A", 1999, at + timedelta(hours=1), "R-A"),
        ]

    def test_what_the_sandbox_writes_is_what_the_channel_reads(self) -> None:
        # given
        import gzip
        import hashlib

        raw = render_trade_bill(self._lines(), mchid=MCHID, appid=APPID)

        # when
        lines = parse_trade_bill(
            open_bill_file(gzip.compress(raw), "SHA1", hashlib.sha1(raw, usedforsecurity=False).hexdigest())
        )

        # then
        assert lines == self._lines()
        assert raw.decode().splitlines()[1].startswith("`2026-03-01 09:30:00,`wx-sandbox-pay-app,`1900000001")

    def test_a_file_that_does_not_match_its_digest_is_refused(self) -> None:
        # given
        import gzip

        raw = render_trade_bill(self._lines(), mchid=MCHID, appid=APPID)

        # then
        with pytest.raises(BillFileError, match="does not match its digest"):
            open_bill_file(gzip.compress(raw), "SHA1", "0" * 40)

    def test_a_row_in_a_state_we_do_not_know_is_refused(self) -> None:
        # given
        text = render_trade_bill(self._lines(), mchid=MCHID, appid=APPID).decode().replace("`SUCCESS", "`WEIRD", 1)

        # then
        with pytest.raises(BillFileError, match="bill row 2: unknown 交易状态 'WEIRD'"):
            parse_trade_bill(text)
