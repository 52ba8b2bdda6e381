"""AlipayAdapter against the Alipay gateway sandbox over real HTTP: signatures both ways and §C6 classification."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

import httpx
import pytest

from api.kit.clock import ShiftableClock
from api.platforms.alipay import AlipayGateway, generate_rsa_keypair
from api.platforms.sandbox import SandboxHub
from notifications.channels.alipay import NO_SUBSCRIPTION_SUB_CODES, AlipayAdapter
from notifications.channels.base import OutboundMessage, SendResult
from notifications.sandbox.alipay_messages import NO_SUBSCRIPTION_SUB_CODE, SEND_METHOD
from tests.notifications.wechat.messages import outbound
from tests.platforms.support import alipay_gateway

USER = "2088000000000042"
ALERT_LOGGER = "zsb.notifications.alipay"


def _alipay(
    address: str = USER, *, template_id: str = "TPL-accepted", data: Mapping[str, str] | None = None
) -> OutboundMessage:
    return outbound(address, channel="alipay", template_id=template_id, data=data)


def _sent(hub: SandboxHub) -> list[dict[str, object]]:
    return [r.body["biz_content"] for r in hub.alipay.requests() if r.query.get("method") == SEND_METHOD]


def _alerted(caplog: pytest.LogCaptureFixture) -> bool:
    return any(r.name == ALERT_LOGGER and r.levelno == logging.ERROR for r in caplog.records)


class TestSend:
    async def test_a_signed_request_is_verified_by_the_gateway_and_sent(
        self, adapter: AlipayAdapter, hub: SandboxHub
    ) -> None:
        # when
        [result] = await adapter.send([_alipay(data={"keyword1": "营业执照办理", "keyword2": "C42"})])

        # then
        assert result == SendResult("sent", http_status=200)
        [biz] = _sent(hub)
        assert biz == {
            "to_user_id": USER,
            "user_template_id": "TPL-accepted",
            "page": "applications/C42",
            "data": json.dumps(
                {"keyword1": {"value": "营业执照办理"}, "keyword2": {"value": "C42"}},
                ensure_ascii=False,
                separators=(",", ":"),
            ),
        }

    async def test_an_open_id_goes_as_to_open_id(self, adapter: AlipayAdapter, hub: SandboxHub) -> None:
        [result] = await adapter.send([_alipay("074a1bcd9e8f")])
        assert result.outcome == "sent"
        [biz] = _sent(hub)
        assert (biz.get("to_open_id"), "to_user_id" in biz) == ("074a1bcd9e8f", False)

    async def test_a_batch_gets_one_result_per_message_in_order(self, adapter: AlipayAdapter) -> None:
        results = await adapter.send([_alipay(), _alipay("2088nosub0001"), _alipay("2088000000000043")])
        assert [r.outcome for r in results] == ["sent", "no_consent", "sent"]


class TestSignatures:
    async def test_a_corrupted_reply_signature_is_technical_with_an_alert_never_sent(
        self, adapter: AlipayAdapter, hub: SandboxHub, caplog: pytest.LogCaptureFixture
    ) -> None:
        # given: the gateway signs other content than the reply it sends
        hub.alipay.script({"method": SEND_METHOD}, {"badSignature": True})

        # when
        with caplog.at_level(logging.ERROR, logger=ALERT_LOGGER):
            [result] = await adapter.send([_alipay()])

        # then
        assert result == SendResult("technical", reason="bad response signature", alert=True)
        assert _alerted(caplog)
        assert len(_sent(hub)) == 1  # the gateway took it; we cannot trust that it did

    async def test_a_request_signed_with_another_key_is_refused_by_the_gateway(
        self, http: httpx.AsyncClient, hub: SandboxHub, alipay_clock: ShiftableClock
    ) -> None:
        # given: an app private key that does not match the registered public key
        stranger = AlipayAdapter(alipay_gateway(http, hub, alipay_clock, generate_rsa_keypair()))

        # when
        [result] = await stranger.send([_alipay()])

        # then
        assert (result.outcome, result.alert, result.reason) == ("permanent", True, "40002 isv.invalid-signature")

    async def test_a_reply_signed_with_another_alipay_key_is_technical(
        self, http: httpx.AsyncClient, hub: SandboxHub, alipay_clock: ShiftableClock, app_keys: tuple[str, str]
    ) -> None:
        # given: we hold the wrong Alipay public key
        wrong_key = generate_rsa_keypair()[1]
        adapter = AlipayAdapter(alipay_gateway(http, hub, alipay_clock, app_keys, alipay_public_key_pem=wrong_key))

        # when
        [result] = await adapter.send([_alipay()])

        # then
        assert (result.outcome, result.alert) == ("technical", True)


class TestClassification:
    async def test_no_subscription_is_no_consent(self, adapter: AlipayAdapter, hub: SandboxHub) -> None:
        [result] = await adapter.send([_alipay("2088nosub0042")])
        assert result == SendResult("no_consent", reason=f"40004 {NO_SUBSCRIPTION_SUB_CODE}")
        assert NO_SUBSCRIPTION_SUB_CODE in NO_SUBSCRIPTION_SUB_CODES

    async def test_another_business_failure_is_permanent_with_an_alert(
        self, adapter: AlipayAdapter, hub: SandboxHub, caplog: pytest.LogCaptureFixture
    ) -> None:
        # given
        node = {"code": "40004", "msg": "Business Failed", "sub_code": "TEMPLATE_NOT_EXIST", "sub_msg": "模板不存在"}
        hub.alipay.script({"method": SEND_METHOD}, {"body": node})

        # when
        with caplog.at_level(logging.ERROR, logger=ALERT_LOGGER):
            [result] = await adapter.send([_alipay()])

        # then
        assert result == SendResult("permanent", reason="40004 TEMPLATE_NOT_EXIST", alert=True)
        assert _alerted(caplog)

    async def test_a_missing_template_id_is_permanent_with_an_alert(
        self, adapter: AlipayAdapter, hub: SandboxHub
    ) -> None:
        [result] = await adapter.send([_alipay(template_id="")])
        assert result == SendResult("permanent", reason="40001 isv.missing-user-template-id", alert=True)

    @pytest.mark.parametrize(
        ("code", "sub_code"),
        [
            ("20001", "aop.invalid-auth-token"),
            ("40002", "isv.invalid-parameter"),
            ("40006", "isv.insufficient-isv-permissions"),
        ],
    )
    async def test_authorisation_parameter_and_permission_errors_are_permanent_with_an_alert(
        self, adapter: AlipayAdapter, hub: SandboxHub, code: str, sub_code: str
    ) -> None:
        hub.alipay.script({"method": SEND_METHOD}, {"body": {"code": code, "msg": "x", "sub_code": sub_code}})
        [result] = await adapter.send([_alipay()])
        assert result == SendResult("permanent", reason=f"{code} {sub_code}", alert=True)

    async def test_service_unavailable_is_retried(self, adapter: AlipayAdapter, hub: SandboxHub) -> None:
        node = {"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "isp.unknow-error"}
        hub.alipay.script({"method": SEND_METHOD}, {"body": node})
        [result] = await adapter.send([_alipay()])
        assert (result.outcome, result.alert) == ("retry", False)

    async def test_an_http_error_is_retried(self, adapter: AlipayAdapter, hub: SandboxHub) -> None:
        hub.alipay.script({"method": SEND_METHOD}, {"status": 502})
        [result] = await adapter.send([_alipay()])
        assert (result.outcome, result.alert) == ("retry", False)

    async def test_a_dropped_connection_is_retried(self, adapter: AlipayAdapter, hub: SandboxHub) -> None:
        hub.alipay.script({"method": SEND_METHOD}, {"disconnect": True})
        [result] = await adapter.send([_alipay()])
        assert result.outcome == "retry"

    async def test_a_timeout_is_retried(self, hub: SandboxHub, gateway: AlipayGateway) -> None:
        # given
        impatient = AlipayAdapter(gateway, timeout_s=0.2)
        hub.alipay.script({"method": SEND_METHOD}, {"delayMs": 1000})

        # when
        [result] = await impatient.send([_alipay()])

        # then
        assert (result.outcome, result.reason) == ("retry", "timeout")
