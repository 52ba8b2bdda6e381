"""SDK contract (payments.md §15.3, WeChat half): the `wechatpayv3` behaviour the adapter relies on or guards against.

An upgrade that changes any of it must fail here first.
"""

from __future__ import annotations

import base64
import inspect
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import wechatpayv3
import wechatpayv3.async_.core as async_core
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from wechatpayv3.async_ import AsyncWeChatPay, WeChatPayType

from api.platforms.alipay import generate_rsa_keypair, load_public_key
from payments.channels.wechat_pay import make_wechat_client
from payments.sandbox.wechat_crypto import encrypt_resource, generate_key, public_pem, signed_headers

PUBLIC_KEY_ID = "PUB_KEY_ID_0100000000000000000000000000000001"
APIV3_KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def merchant() -> tuple[str, str]:
    return generate_rsa_keypair()


@pytest.fixture(scope="module")
def platform() -> rsa.RSAPrivateKey:
    return generate_key()


def _client(merchant: tuple[str, str], platform: rsa.RSAPrivateKey, **overrides: Any) -> AsyncWeChatPay:
    settings: dict[str, Any] = {
        "mchid": "1900000001",
        "appid": "wx-contract",
        "merchant_private_key_pem": merchant[0],
        "merchant_serial_no": "ABCDEF0123456789",
        "apiv3_key": APIV3_KEY,
        "public_key_pem": public_pem(platform),
        "public_key_id": PUBLIC_KEY_ID,
        "notify_url": "https://zsb.invalid/pay/notify/wechat",
        "gateway_url": "http://127.0.0.1:9/",
    }
    return make_wechat_client(**(settings | overrides))


def _notify(platform: rsa.RSAPrivateKey, **header_overrides: str) -> tuple[dict[str, str], str]:
    resource = {"out_trade_no": "T1", "trade_state": "SUCCESS"}
    sealed = encrypt_resource(APIV3_KEY, json.dumps(resource), "transaction", "transaction")
    body = json.dumps({"id": "N1", "resource_type": "encrypt-resource", "event_type": "X", "resource": sealed})
    headers = signed_headers(platform, PUBLIC_KEY_ID, 1700000000, body)
    return {k.lower(): v for k, v in (headers | header_overrides).items()}, body


class TestGateway:
    def test_the_gateway_is_the_private_core_attribute_and_make_wechat_client_sets_it(
        self, merchant: tuple[str, str], platform: rsa.RSAPrivateKey
    ) -> None:
        # given the SDK's own default
        bare = AsyncWeChatPay(
            WeChatPayType.NATIVE,
            "1900000001",
            merchant[0],
            "ABCDEF",
            "wx",
            APIV3_KEY,
            public_key=public_pem(platform),
            public_key_id=PUBLIC_KEY_ID,
        )
        assert bare._core._gate_way == "https://api.mch.weixin.qq.com"

        # when
        wx = _client(merchant, platform)

        # then
        assert wx._core._gate_way == "http://127.0.0.1:9"

    def test_the_client_has_no_logger_and_our_timeouts(
        self, merchant: tuple[str, str], platform: rsa.RSAPrivateKey
    ) -> None:
        wx = _client(merchant, platform, connect_timeout=2.5, read_timeout=7.0)
        assert (wx._core._logger, wx._core._timeout) == (None, (2.5, 7.0))

    async def test_public_key_mode_starts_without_any_network(
        self, merchant: tuple[str, str], platform: rsa.RSAPrivateKey
    ) -> None:
        # the gateway port is closed: entering must not call it
        async with _client(merchant, platform) as wx:
            assert wx._core._certificates == []

    async def test_the_certificate_download_the_adapter_disables_is_where_it_expects(
        self, merchant: tuple[str, str], platform: rsa.RSAPrivateKey
    ) -> None:
        # given
        assert inspect.iscoroutinefunction(async_core.AsyncCore._update_certificates)
        wx = _client(merchant, platform)

        # then
        assert await wx._core._update_certificates() is None
        assert wx._core._update_certificates is not async_core.AsyncCore._update_certificates

    def test_the_signing_functions_the_benchmark_probes_are_imported_into_the_core(self) -> None:
        assert {"build_authorization", "rsa_sign", "rsa_verify"} <= set(vars(async_core))


class TestCallback:
    def test_a_genuine_notify_opens(self, merchant: tuple[str, str], platform: rsa.RSAPrivateKey) -> None:
        headers, body = _notify(platform)
        envelope = _client(merchant, platform).callback(headers, body)
        assert envelope["resource"] == {"out_trade_no": "T1", "trade_state": "SUCCESS"}

    def test_a_bad_signature_is_none(self, merchant: tuple[str, str], platform: rsa.RSAPrivateKey) -> None:
        headers, body = _notify(generate_key())  # signed by someone else under our key id
        assert _client(merchant, platform).callback(headers, body) is None

    def test_a_probe_is_none(self, merchant: tuple[str, str], platform: rsa.RSAPrivateKey) -> None:
        probe = "WECHATPAY/SIGNTEST/" + base64.b64encode(secrets.token_bytes(64)).decode()
        headers, body = _notify(platform, **{"Wechatpay-Signature": probe})
        assert _client(merchant, platform).callback(headers, body) is None

    def test_a_missing_signature_type_raises_which_is_why_it_is_checked_first(
        self, merchant: tuple[str, str], platform: rsa.RSAPrivateKey
    ) -> None:
        headers, body = _notify(platform)
        del headers["wechatpay-signature-type"]
        with pytest.raises(Exception, match="does not support this algorithm"):
            _client(merchant, platform).callback(headers, body)

    def test_a_replayed_notify_opens_again(self, merchant: tuple[str, str], platform: rsa.RSAPrivateKey) -> None:
        # No replay window: deduplication is ours (the envelope id).
        headers, body = _notify(platform)
        wx = _client(merchant, platform)
        assert wx.callback(headers, body) == wx.callback(headers, body) is not None


class TestPayType:
    async def test_the_async_client_rejects_the_sync_pay_type(
        self, merchant: tuple[str, str], platform: rsa.RSAPrivateKey
    ) -> None:
        # given
        wx = AsyncWeChatPay(
            wechatpayv3.WeChatPayType.NATIVE,
            "1900000001",
            merchant[0],
            "ABCDEF",
            "wx",
            APIV3_KEY,
            notify_url="https://zsb.invalid/n",
            public_key=public_pem(platform),
            public_key_id=PUBLIC_KEY_ID,
        )

        # then (before any HTTP: the client is not even entered)
        with pytest.raises(Exception, match="pay_type is not assigned"):
            await wx.pay(description="d", out_trade_no="T000001", amount={"total": 1, "currency": "CNY"})


class TestSign:
    def test_sign_is_rsa_sha256_over_the_lines_each_ending_in_a_newline(
        self, merchant: tuple[str, str], platform: rsa.RSAPrivateKey
    ) -> None:
        signature = _client(merchant, platform).sign(["wx", "1700000000", "NONCE", "prepay_id=wx1"])
        load_public_key(merchant[1]).verify(
            base64.b64decode(signature), b"wx\n1700000000\nNONCE\nprepay_id=wx1\n", padding.PKCS1v15(), hashes.SHA256()
        )


class TestAnswers:
    @pytest.fixture
    async def wx(self, merchant: tuple[str, str], platform: rsa.RSAPrivateKey) -> AsyncIterator[AsyncWeChatPay]:
        async with _client(merchant, platform) as client:
            yield client

    async def _serve(self, wx: AsyncWeChatPay, status: int, body: str, headers: dict[str, str]) -> None:
        """Answers every request with the given response (the client made by __aenter__ is closed first)."""

        def answer(request: httpx.Request) -> httpx.Response:
            return httpx.Response(status, text=body, headers={"Content-Type": "application/json"} | headers)

        await wx._core._client.aclose()
        wx._core._client = httpx.AsyncClient(transport=httpx.MockTransport(answer))

    async def test_a_non_2xx_answer_comes_back_unverified_without_an_exception(self, wx: AsyncWeChatPay) -> None:
        await self._serve(wx, 404, '{"code":"ORDER_NOT_EXIST","message":"订单不存在"}', {})
        assert await wx.query(out_trade_no="T1") == (404, '{"code":"ORDER_NOT_EXIST","message":"订单不存在"}')

    async def test_an_altered_2xx_answer_raises(self, wx: AsyncWeChatPay, platform: rsa.RSAPrivateKey) -> None:
        headers = signed_headers(platform, PUBLIC_KEY_ID, 1700000000, '{"trade_state":"NOTPAY"}')
        await self._serve(wx, 200, '{"trade_state":"SUCCESS"}', headers)
        with pytest.raises(Exception, match="failed to verify the signature"):
            await wx.query(out_trade_no="T1")

    async def test_a_probe_signed_2xx_answer_raises(self, wx: AsyncWeChatPay, platform: rsa.RSAPrivateKey) -> None:
        headers = signed_headers(platform, PUBLIC_KEY_ID, 1700000000, "", probe=True)
        await self._serve(wx, 204, "", headers)
        with pytest.raises(Exception, match="failed to verify the signature"):
            await wx.close("T1")

    async def test_a_verified_2xx_answer_comes_back_as_text(
        self, wx: AsyncWeChatPay, platform: rsa.RSAPrivateKey
    ) -> None:
        body = '{"trade_state":"NOTPAY"}'
        await self._serve(wx, 200, body, signed_headers(platform, PUBLIC_KEY_ID, 1700000000, body))
        assert await wx.query(out_trade_no="T1") == (200, body)
