"""WechatAdapter against the WeChat sandbox over real HTTP: the request it makes and the §C6 classification."""

from __future__ import annotations

import logging

import httpx
import pytest

from api.kit.clock import ShiftableClock
from api.platforms.sandbox import SandboxHub
from api.platforms.wechat import StableTokenSource
from notifications.channels.base import SendResult
from notifications.channels.wechat import WechatAdapter
from tests.notifications.wechat.conftest import WechatApp, token_source
from tests.notifications.wechat.messages import outbound

SEND_PATH = "/cgi-bin/message/subscribe/send"
ALERT_LOGGER = "zsb.notifications.wechat"


def sends(hub: SandboxHub) -> list[object]:
    return [r.body for r in hub.wechat.requests() if r.path == SEND_PATH]


def token_calls(hub: SandboxHub) -> list[object]:
    return [r.body for r in hub.wechat.requests() if r.path == "/cgi-bin/stable_token"]


class TestSend:
    async def test_an_accepted_message_is_sent_with_its_msgid(
        self, adapter: WechatAdapter, hub: SandboxHub, wechat_app: WechatApp
    ) -> None:
        # given
        message = outbound("o-user-1", data={"thing1": "营业执照办理", "character_string2": "C42"})

        # when
        [result] = await adapter.send([message])

        # then
        [stored] = hub.wechat.messages()
        assert result == SendResult("sent", provider_id=stored.msgid, http_status=200)
        [request] = [r for r in hub.wechat.requests() if r.path == SEND_PATH]
        assert request.query == {"access_token": hub.wechat.current_token(wechat_app.app_id)}
        assert request.body == {
            "touser": "o-user-1",
            "template_id": "TPL-accepted",
            "page": "applications/C42",
            "data": {"thing1": {"value": "营业执照办理"}, "character_string2": {"value": "C42"}},
            "miniprogram_state": "formal",
            "lang": "zh_CN",
        }

    async def test_a_thing_value_is_cut_to_twenty_characters(self, adapter: WechatAdapter, hub: SandboxHub) -> None:
        # given
        long_thing = "关于您申请的食品经营许可证变更登记事项的办理进度通知"

        # when
        [result] = await adapter.send([outbound("o-user-2", data={"thing1": long_thing})])

        # then
        assert result.outcome == "sent"
        [stored] = hub.wechat.messages()
        assert stored.data == {"thing1": long_thing[:20]}

    async def test_a_batch_gets_one_result_per_message_in_order(self, adapter: WechatAdapter, hub: SandboxHub) -> None:
        # when
        results = await adapter.send([outbound("o-a"), outbound("bad-openid"), outbound("refused-b"), outbound("o-c")])

        # then
        assert [r.outcome for r in results] == ["sent", "invalid_endpoint", "no_consent", "sent"]
        assert [m.openid for m in hub.wechat.messages()] == ["o-a", "o-c"]


class TestClassification:
    async def test_43101_is_no_consent_without_retry(self, adapter: WechatAdapter, hub: SandboxHub) -> None:
        [result] = await adapter.send([outbound("refused-v")])
        assert (result.outcome, result.alert) == ("no_consent", False)
        assert result.reason is not None and result.reason.startswith("43101 ")
        assert len(sends(hub)) == 1

    async def test_40003_is_an_invalid_endpoint(self, adapter: WechatAdapter, hub: SandboxHub) -> None:
        [result] = await adapter.send([outbound("bad-openid")])
        assert result.outcome == "invalid_endpoint"
        assert result.reason is not None and result.reason.startswith("40003 ")

    async def test_47003_is_permanent_with_an_alert(
        self, adapter: WechatAdapter, hub: SandboxHub, caplog: pytest.LogCaptureFixture
    ) -> None:
        # given: an amount has at most 10 digits, and adapters never cut formatted fields
        message = outbound("o-user", data={"amount3": "¥12345678901"})

        # when
        with caplog.at_level(logging.ERROR, logger=ALERT_LOGGER):
            [result] = await adapter.send([message])

        # then
        assert (result.outcome, result.alert) == ("permanent", True)
        assert result.reason is not None and "data.amount3.value" in result.reason
        assert any(r.name == ALERT_LOGGER and r.levelno == logging.ERROR for r in caplog.records)
        assert hub.wechat.messages() == []

    async def test_40037_an_unknown_template_is_permanent_with_an_alert(
        self, adapter: WechatAdapter, hub: SandboxHub
    ) -> None:
        # when
        [result] = await adapter.send([outbound("o-user", template_id="TPL-unknown")])

        # then
        assert (result.outcome, result.alert) == ("permanent", True)
        assert result.reason is not None and result.reason.startswith("40037 ")

    async def test_41030_an_invalid_page_is_permanent_with_an_alert(
        self, adapter: WechatAdapter, hub: SandboxHub
    ) -> None:
        hub.wechat.script({"path": SEND_PATH}, {"body": {"errcode": 41030, "errmsg": "invalid page"}})
        [result] = await adapter.send([outbound("o-user")])
        assert (result.outcome, result.alert, result.reason) == ("permanent", True, "41030 invalid page")

    async def test_system_busy_is_retried(self, adapter: WechatAdapter, hub: SandboxHub) -> None:
        hub.wechat.script({"path": SEND_PATH}, {"body": {"errcode": -1, "errmsg": "system error"}})
        [result] = await adapter.send([outbound("o-user")])
        assert (result.outcome, result.alert) == ("retry", False)

    async def test_an_http_error_is_retried(self, adapter: WechatAdapter, hub: SandboxHub) -> None:
        hub.wechat.script({"path": SEND_PATH}, {"status": 503})
        [result] = await adapter.send([outbound("o-user")])
        assert (result.outcome, result.http_status) == ("retry", 503)

    async def test_a_timeout_is_retried(
        self, tokens: StableTokenSource, http: httpx.AsyncClient, hub: SandboxHub, wechat_clock: ShiftableClock
    ) -> None:
        # given
        impatient = WechatAdapter(http, tokens, base_url=hub.wechat.base_url, clock=wechat_clock, timeout_s=0.2)
        hub.wechat.script({"path": SEND_PATH}, {"delayMs": 1000})

        # when
        [result] = await impatient.send([outbound("o-user")])

        # then
        assert (result.outcome, result.reason) == ("retry", "timeout")

    async def test_a_dropped_connection_is_retried(self, adapter: WechatAdapter, hub: SandboxHub) -> None:
        hub.wechat.script({"path": SEND_PATH}, {"disconnect": True})
        [result] = await adapter.send([outbound("o-user")])
        assert result.outcome == "retry"


class TestAccessTokenRefusal:
    async def test_a_rejected_token_is_refreshed_and_the_send_retried_once(
        self, adapter: WechatAdapter, tokens: StableTokenSource, hub: SandboxHub, wechat_app: WechatApp
    ) -> None:
        # given
        rejected = await tokens.token()
        hub.wechat.reject_token(rejected)

        # when
        [result] = await adapter.send([outbound("o-user")])

        # then
        assert result.outcome == "sent"
        fresh = hub.wechat.current_token(wechat_app.app_id)
        send_tokens = [r.query["access_token"] for r in hub.wechat.requests() if r.path == SEND_PATH]
        assert send_tokens == [rejected, fresh]
        assert [call["force_refresh"] for call in token_calls(hub)] == [False, False, True]  # type: ignore[index]

    @pytest.mark.parametrize("errcode", [40001, 42001, 40014])
    async def test_a_second_refusal_after_the_refresh_is_auth_with_an_alert(
        self, adapter: WechatAdapter, hub: SandboxHub, errcode: int
    ) -> None:
        # given
        hub.wechat.script({"path": SEND_PATH}, {"body": {"errcode": errcode, "errmsg": "token"}}, times=2)

        # when
        [result] = await adapter.send([outbound("o-user")])

        # then
        assert (result.outcome, result.alert) == ("auth", True)
        assert len(sends(hub)) == 2

    async def test_wrong_app_credentials_are_auth_with_an_alert_and_no_send(
        self,
        http: httpx.AsyncClient,
        redis: object,
        hub: SandboxHub,
        wechat_app: WechatApp,
        wechat_clock: ShiftableClock,
    ) -> None:
        # given
        source = token_source(http, redis, hub, wechat_app, wechat_clock, secret="wrong")  # type: ignore[arg-type]
        adapter = WechatAdapter(http, source, base_url=hub.wechat.base_url, clock=wechat_clock)

        # when
        [result] = await adapter.send([outbound("o-user")])

        # then
        assert (result.outcome, result.alert) == ("auth", True)
        assert sends(hub) == []

    async def test_an_unreachable_token_endpoint_is_retried(self, adapter: WechatAdapter, hub: SandboxHub) -> None:
        hub.wechat.script({"path": "/cgi-bin/stable_token"}, {"status": 500})
        [result] = await adapter.send([outbound("o-user")])
        assert (result.outcome, result.alert) == ("retry", False)
        assert sends(hub) == []


class TestOneTimeConsent:
    async def test_one_accept_allows_exactly_one_message(self, adapter: WechatAdapter, hub: SandboxHub) -> None:
        # given
        reply = await hub.wechat.post_event("popup", "o-u", "TPL-accepted", "accept")
        assert reply.status == 200

        # when
        first = await adapter.send([outbound("o-u")])
        second = await adapter.send([outbound("o-u")])

        # then
        assert [r.outcome for r in first + second] == ["sent", "no_consent"]
        assert hub.wechat.remaining("o-u", "TPL-accepted") == 0

    async def test_two_accepts_allow_two_messages(self, adapter: WechatAdapter, hub: SandboxHub) -> None:
        # given
        await hub.wechat.post_event("popup", "o-u2", "TPL-accepted", "accept")
        await hub.wechat.post_event("popup", "o-u2", "TPL-accepted", "acceptWithAlert")

        # when
        results = await adapter.send([outbound("o-u2")]) + await adapter.send([outbound("o-u2")])
        third = await adapter.send([outbound("o-u2")])

        # then
        assert [r.outcome for r in results + third] == ["sent", "sent", "no_consent"]

    async def test_an_accept_covers_only_its_template(self, adapter: WechatAdapter, hub: SandboxHub) -> None:
        await hub.wechat.post_event("popup", "o-u3", "TPL-accepted", "accept")
        [result] = await adapter.send([outbound("o-u3", template_id="TPL-other")])
        assert result.outcome == "no_consent"

    async def test_a_reject_leaves_nothing(self, adapter: WechatAdapter, hub: SandboxHub) -> None:
        await hub.wechat.post_event("popup", "o-u4", "TPL-accepted", "accept")
        await hub.wechat.post_event("change", "o-u4", "TPL-accepted", "reject")
        [result] = await adapter.send([outbound("o-u4")])
        assert result.outcome == "no_consent"
        assert hub.wechat.messages() == []

    async def test_a_long_term_subscription_allows_many_until_switched_off(
        self, adapter: WechatAdapter, hub: SandboxHub
    ) -> None:
        # given
        await hub.wechat.post_event("popup", "o-u5", "TPL-long", "accept")

        # when
        sent = [(await adapter.send([outbound("o-u5", template_id="TPL-long")]))[0] for _ in range(3)]
        await hub.wechat.post_event("change", "o-u5", "TPL-long", "reject")
        [after] = await adapter.send([outbound("o-u5", template_id="TPL-long")])

        # then
        assert [r.outcome for r in sent] == ["sent"] * 3
        assert after.outcome == "no_consent"
