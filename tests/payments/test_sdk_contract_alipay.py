"""The alipay-sdk-python behaviour the Alipay channel relies on (payments.md §15.3, Alipay half).

An SDK upgrade that changes any of it must fail here, loudly, before it reaches a payment.
"""

from __future__ import annotations

import importlib.metadata
import re
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from alipay.aop.api.domain.AlipayTradeQueryModel import AlipayTradeQueryModel
from alipay.aop.api.request.AlipayTradeQueryRequest import AlipayTradeQueryRequest
from alipay.aop.api.util import SignatureUtils
from cryptography.hazmat.primitives import serialization

from api.models.payment import Product
from api.platforms.alipay import generate_rsa_keypair, load_private_key
from payments.channels.alipay_wire import make_param_builder
from payments.channels.base import Outcome, RefundSpec
from payments.channels.rsa2 import rsa2_sign
from tests.payments.alipay_support import AlipayWorld, alipay_world, out_trade_no

ROOT = Path(__file__).resolve().parents[2]


def _query_request(notify_url: str | None = None) -> Any:
    model = AlipayTradeQueryModel()
    model.out_trade_no = "T-contract-1"
    request = AlipayTradeQueryRequest(biz_model=model)
    if notify_url:
        request.notify_url = notify_url
    return request


class TestParameterBuilding:
    def test_skip_sign_makes_sdk_execute_return_unsigned_parameters(self) -> None:
        builder = make_param_builder("2021000000000001")

        params = dict(parse_qsl(builder.sdk_execute(_query_request("https://zsb.example/n")), keep_blank_values=True))

        assert "sign" not in params
        assert params["app_id"] == "2021000000000001"
        assert (params["method"], params["sign_type"], params["charset"], params["version"]) == (
            "alipay.trade.query",
            "RSA2",
            "utf-8",
            "1.0",
        )
        assert params["notify_url"] == "https://zsb.example/n"  # a property of the request, not of the model
        assert params["biz_content"] == '{"out_trade_no":"T-contract-1"}'
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", params["timestamp"])  # replaced by ours

    def test_the_builder_has_no_logger_and_no_keys(self) -> None:
        builder = make_param_builder("2021000000000001")
        config = builder._DefaultAlipayClient__config

        assert builder._DefaultAlipayClient__logger is None
        assert (config.skip_sign, config.app_private_key, config.sign_type) == (True, "", "RSA2")

    def test_sign_content_sorts_every_field_and_keeps_blank_ones(self) -> None:
        # Notify verification relies on blank fields being signed too (payments.md §5.5).
        content = SignatureUtils.get_sign_content({"b": "2", "a": "", "sign_type": "RSA2", "c": "中文"})

        assert content == "a=&b=2&c=中文&sign_type=RSA2"


class TestSigning:
    def test_rsa2_sign_equals_the_sdks_sign_with_rsa2(self) -> None:
        # given: the SDK wants PKCS#1; the console shows the bare base64 body
        pem = generate_rsa_keypair()[0]
        key = load_private_key(pem)
        pkcs1 = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ).decode()
        body = "".join(line for line in pkcs1.splitlines() if not line.startswith("-----"))
        content = 'app_id=2021&biz_content={"subject":"营业执照办理费","total_amount":"50.00"}&sign_type=RSA2'

        # when
        ours = rsa2_sign(key, content)
        theirs = SignatureUtils.sign_with_rsa2(body, content, "utf-8")

        # then
        assert ours == theirs


class TestDependencies:
    def test_the_pinned_sdk_is_installed(self) -> None:
        assert importlib.metadata.version("alipay-sdk-python") == "3.7.1411"

    def test_python_alipay_sdk_is_not_installed(self) -> None:
        # Both install the top-level package `alipay` and overwrite each other.
        with pytest.raises(importlib.metadata.PackageNotFoundError):
            importlib.metadata.distribution("python-alipay-sdk")

    def test_the_sdks_transport_is_never_used(self) -> None:
        """No `execute(` (blocking http.client, no pool, breaks on ports) where the SDK is imported, and the SDK
        client is built in one place only."""
        offenders, builders = [], []
        for path in [*(ROOT / "payments").rglob("*.py"), *(ROOT / "api").rglob("*.py")]:
            text = path.read_text(encoding="utf-8")
            if "alipay.aop" in text and re.search(r"\b(execute|page_execute)\(", text):
                offenders.append(path.relative_to(ROOT))
            if "DefaultAlipayClient(" in text:
                builders.append(str(path.relative_to(ROOT)))
        assert offenders == []
        assert builders == ["payments/channels/alipay_wire.py"]

    def test_the_sdks_signing_and_logging_are_never_called_by_our_code(self) -> None:
        forbidden = re.compile(r"\b(sign_with_rsa2?|verify_with_rsa|page_execute|logger=)\b")
        found = []
        for path in (ROOT / "payments").rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if "alipay.aop" in text and forbidden.search(text):
                found.append(path.relative_to(ROOT))
        assert found == []


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[AlipayWorld]:
    async with alipay_world() as built:
        yield built


@pytest.fixture
def rsa_probe(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every way into the SDK's (and `rsa`'s) pure-Python RSA records the thread it ran on."""
    import alipay.aop.api.DefaultAlipayClient as client_module
    import rsa

    calls: list[tuple[str, int]] = []

    def probe(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            calls.append((name, threading.get_ident()))
            return original(*args, **kwargs)

        return recorded

    for module in (SignatureUtils, client_module):
        for name in ("sign_with_rsa2", "sign_with_rsa", "verify_with_rsa"):
            monkeypatch.setattr(module, name, probe(name, getattr(module, name)))
    monkeypatch.setattr(rsa, "sign", probe("rsa.sign", rsa.sign))
    monkeypatch.setattr(rsa, "verify", probe("rsa.verify", rsa.verify))
    return calls


class TestNoPureRsaOnTheLoop:
    def test_the_probe_sees_the_sdk_signing(self, rsa_probe: list[tuple[str, int]]) -> None:
        # Control: the SDK left to sign by itself goes through the probe.
        from alipay.aop.api.AlipayClientConfig import AlipayClientConfig
        from alipay.aop.api.DefaultAlipayClient import DefaultAlipayClient

        key = load_private_key(generate_rsa_keypair()[0])
        config = AlipayClientConfig()
        config.app_id, config.sign_type = "2021000000000001", "RSA2"
        config.app_private_key = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ).decode()

        DefaultAlipayClient(alipay_client_config=config).sdk_execute(_query_request())

        assert [name for name, _ in rsa_probe] == ["sign_with_rsa2", "rsa.sign"]

    async def test_creating_orders_never_calls_the_sdks_pure_python_rsa(
        self, world: AlipayWorld, rsa_probe: list[tuple[str, int]]
    ) -> None:
        # given
        loop_thread = threading.get_ident()
        world.reset()
        channel = world.channel()

        # when: every product, and the calls that follow an order
        results = [await channel.create_order(world.spec(product)) for product in Product]
        paid = world.spec(Product.JSAPI)
        await channel.create_order(paid)
        await world.sandbox.pay(paid.out_trade_no)
        await channel.query(paid.out_trade_no)
        await channel.refund(RefundSpec(paid.out_trade_no, out_trade_no("R"), 100, 5000))

        # then
        assert [r.outcome for r in results] == [Outcome.OK] * len(Product)
        assert [name for name, thread in rsa_probe if thread == loop_thread] == []
        assert rsa_probe == []
