"""The Alipay gateway client against the Alipay sandbox, over real HTTP."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest

from api.kit.clock import ShiftableClock
from api.platforms.alipay import (
    AlipayError,
    AlipayGateway,
    gateway,
    generate_rsa_keypair,
    load_public_key,
    open_response,
    rsa2_sign,
)
from api.platforms.sandbox import AlipayGatewayError, AlipayMethodCall, SandboxHub
from tests.platforms.support import ALIPAY_APP_ID, OffsetClock, alipay_gateway


class _Echo:
    """A method handler as payments will register theirs: records its calls, echoes the business content."""

    def __init__(self) -> None:
        self.calls: list[AlipayMethodCall] = []

    async def __call__(self, call: AlipayMethodCall) -> dict[str, Any]:
        self.calls.append(call)
        if call.biz_content and call.biz_content.get("out_trade_no") == "MISSING":
            return {
                "code": "40004",
                "msg": "Business Failed",
                "sub_code": "ACQ.TRADE_NOT_EXIST",
                "sub_msg": "交易不存在",
            }
        if call.biz_content and call.biz_content.get("out_trade_no") == "REFUSED":
            raise AlipayGatewayError(
                "40006", "Insufficient Permissions", "isv.insufficient-isv-permissions", "权限不足"
            )
        return {"code": "10000", "msg": "Success", "echo": call.biz_content}


@pytest.fixture
def echo(hub: SandboxHub) -> _Echo:
    handler = _Echo()
    hub.alipay.register_method("zsb.test.echo", handler)
    return handler


class TestCall:
    async def test_a_registered_method_gets_the_business_content_and_answers_signed(
        self, alipay: AlipayGateway, hub: SandboxHub, echo: _Echo
    ) -> None:
        # given
        biz = {"out_trade_no": "T1", "subject": "办证费", "total_amount": "0.01"}

        # when
        node = await alipay.call("zsb.test.echo", biz_content=biz, params={"notify_url": "https://zsb.example/n"})

        # then
        assert node == {"code": "10000", "msg": "Success", "echo": biz}
        [call] = echo.calls
        assert (call.app_id, call.method, call.biz_content) == (ALIPAY_APP_ID, "zsb.test.echo", biz)
        assert call.params["notify_url"] == "https://zsb.example/n"
        [request] = hub.alipay.requests()
        assert request.body == {"biz_content": biz}
        assert "biz_content" not in request.query

    async def test_a_business_failure_raises_with_alipays_codes(self, alipay: AlipayGateway, echo: _Echo) -> None:
        with pytest.raises(AlipayError) as caught:
            await alipay.call("zsb.test.echo", biz_content={"out_trade_no": "MISSING"})
        error = caught.value
        assert (error.code, error.alipay_code, error.sub_code) == (
            "ALIPAY_ACQ_TRADE_NOT_EXIST",
            "40004",
            "ACQ.TRADE_NOT_EXIST",
        )

    async def test_a_handler_can_refuse_at_gateway_level(self, alipay: AlipayGateway, echo: _Echo) -> None:
        with pytest.raises(AlipayError) as caught:
            await alipay.call("zsb.test.echo", biz_content={"out_trade_no": "REFUSED"})
        assert caught.value.code == "ALIPAY_ISV_INSUFFICIENT_ISV_PERMISSIONS"

    async def test_an_unknown_method_is_refused(self, alipay: AlipayGateway) -> None:
        with pytest.raises(AlipayError) as caught:
            await alipay.call("alipay.no.such.method")
        assert caught.value.code == "ALIPAY_ISV_INVALID_METHOD"

    async def test_a_request_signed_with_another_key_is_refused_before_the_handler(
        self, http: httpx.AsyncClient, hub: SandboxHub, clock: ShiftableClock, echo: _Echo
    ) -> None:
        # given an app whose private key does not match the public key registered for it
        forger = alipay_gateway(http, hub, clock, generate_rsa_keypair())

        # when
        with pytest.raises(AlipayError) as caught:
            await forger.call("zsb.test.echo", biz_content={"out_trade_no": "T1"})

        # then
        assert (caught.value.code, caught.value.sub_code) == (
            "ALIPAY_ISV_INVALID_SIGNATURE",
            "isv.invalid-signature",
        )
        assert echo.calls == []

    async def test_an_unknown_app_is_refused(
        self,
        http: httpx.AsyncClient,
        hub: SandboxHub,
        clock: ShiftableClock,
        alipay_app_keys: tuple[str, str],
    ) -> None:
        stranger = alipay_gateway(http, hub, clock, alipay_app_keys, app_id="2021000000009999")
        with pytest.raises(AlipayError) as caught:
            await stranger.call("zsb.test.echo")
        assert caught.value.code == "ALIPAY_ISV_INVALID_APP_ID"

    async def test_a_stale_timestamp_is_refused(
        self,
        http: httpx.AsyncClient,
        hub: SandboxHub,
        clock: ShiftableClock,
        alipay_app_keys: tuple[str, str],
    ) -> None:
        late = alipay_gateway(http, hub, OffsetClock(clock, timedelta(minutes=-20)), alipay_app_keys)
        with pytest.raises(AlipayError) as caught:
            await late.call("zsb.test.echo")
        assert caught.value.code == "ALIPAY_ISV_INVALID_TIMESTAMP"

    async def test_an_app_registered_with_its_own_clock_is_judged_by_it(
        self,
        http: httpx.AsyncClient,
        hub: SandboxHub,
        clock: ShiftableClock,
        alipay_app_keys: tuple[str, str],
    ) -> None:
        # given: an app whose platform clock tests moved a month ahead, registered with that clock
        ahead = OffsetClock(clock, timedelta(days=31))
        hub.alipay.register_app("2021000000000777", alipay_app_keys[1], clock=ahead)
        moved = alipay_gateway(http, hub, ahead, alipay_app_keys, app_id="2021000000000777")
        stale = alipay_gateway(
            http, hub, OffsetClock(ahead, timedelta(minutes=-20)), alipay_app_keys, app_id="2021000000000777"
        )

        # when / then
        assert (await moved.call("zsb.test.echo"))["code"] == "10000"
        with pytest.raises(AlipayError) as caught:
            await stale.call("zsb.test.echo")
        assert caught.value.code == "ALIPAY_ISV_INVALID_TIMESTAMP"

    async def test_a_mis_signed_reply_is_a_bad_signature(
        self, alipay: AlipayGateway, hub: SandboxHub, echo: _Echo
    ) -> None:
        # given
        hub.alipay.script({"path": "/gateway.do", "method": "zsb.test.echo"}, {"badSignature": True})

        # when
        with pytest.raises(AlipayError) as caught:
            await alipay.call("zsb.test.echo", biz_content={"out_trade_no": "T1"})

        # then
        assert caught.value.code == "ALIPAY_BAD_SIGNATURE"
        assert len(echo.calls) == 1

    async def test_a_reply_checked_with_the_wrong_alipay_key_is_a_bad_signature(
        self,
        http: httpx.AsyncClient,
        hub: SandboxHub,
        clock: ShiftableClock,
        alipay_app_keys: tuple[str, str],
        echo: _Echo,
    ) -> None:
        wrong = alipay_gateway(http, hub, clock, alipay_app_keys, alipay_public_key_pem=generate_rsa_keypair()[1])
        with pytest.raises(AlipayError) as caught:
            await wrong.call("zsb.test.echo")
        assert caught.value.code == "ALIPAY_BAD_SIGNATURE"

    async def test_a_scripted_node_is_signed_for_the_method(self, alipay: AlipayGateway, hub: SandboxHub) -> None:
        # given
        busy = {"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "isp.unknow-error"}
        hub.alipay.script({"path": "/gateway.do"}, {"body": busy})

        # when
        with pytest.raises(AlipayError) as caught:
            await alipay.call("zsb.test.echo")

        # then
        assert (caught.value.code, caught.value.node) == ("ALIPAY_ISP_UNKNOW_ERROR", busy)

    @pytest.mark.parametrize("action", [{"status": 500}, {"status": 502, "body": "Bad Gateway"}, {"disconnect": True}])
    async def test_a_failing_gateway_is_unavailable(
        self, alipay: AlipayGateway, hub: SandboxHub, echo: _Echo, action: dict[str, Any]
    ) -> None:
        hub.alipay.script({"path": "/gateway.do"}, action)
        with pytest.raises(AlipayError) as caught:
            await alipay.call("zsb.test.echo")
        assert caught.value.code == "ALIPAY_UNAVAILABLE"
        assert echo.calls == []

    async def test_a_reply_slower_than_the_timeout_is_unavailable(
        self,
        impatient_http: httpx.AsyncClient,
        hub: SandboxHub,
        clock: ShiftableClock,
        alipay_app_keys: tuple[str, str],
    ) -> None:
        hub.alipay.script({"path": "/gateway.do"}, {"delayMs": 1000})
        with pytest.raises(AlipayError) as caught:
            await alipay_gateway(impatient_http, hub, clock, alipay_app_keys).call("zsb.test.echo")
        assert caught.value.code == "ALIPAY_UNAVAILABLE"

    async def test_signing_runs_off_the_event_loop_thread(
        self, alipay: AlipayGateway, echo: _Echo, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given
        threads: list[threading.Thread] = []
        real_sign = rsa2_sign

        def recording_sign(*args: Any) -> str:
            threads.append(threading.current_thread())
            return real_sign(*args)

        monkeypatch.setattr(gateway, "rsa2_sign", recording_sign)

        # when
        await alipay.call("zsb.test.echo")

        # then
        assert len(threads) == 1
        assert threads[0] is not threading.current_thread()


class TestGatewayEndpoint:
    async def test_refusals_are_error_responses_signed_by_the_sandbox(
        self, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        # when
        response = await http.post(hub.alipay.gateway_url, data={"method": "alipay.system.oauth.token"})

        # then
        with pytest.raises(AlipayError) as caught:
            open_response(response.text, "alipay.system.oauth.token", load_public_key(hub.alipay.public_key_pem))
        assert (caught.value.code, caught.value.alipay_code) == ("ALIPAY_ISV_MISSING_APP_ID", "40001")
        assert list(response.json()) == ["error_response", "sign"]
