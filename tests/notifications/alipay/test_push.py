"""Alipay subscription notifies: signed by the gateway sandbox, posted to our app gateway, verified and read."""

from __future__ import annotations

import json

import httpx
import pytest

from api.platforms.alipay import generate_rsa_keypair, load_private_key, rsa2_sign
from api.platforms.sandbox import SandboxHub
from notifications.alipay_push import SUBSCRIPTION_MSG_METHOD, AlipayEvent, notify_sign_content, parse_events
from notifications.errors import NotificationsError
from notifications.sandbox.alipay_messages import post_subscription_event
from tests.notifications.alipay.conftest import AlipayServer, NotifyReceiver
from tests.platforms.support import ALIPAY_APP_ID

USER = "2088000000000042"


def _form(hub: SandboxHub, **overrides: str) -> dict[str, str]:
    biz = {
        "user_id": USER,
        "templates": [{"user_template_id": "T1", "action": "subscribe", "subscribe_type": "one_time"}],
    }
    form = {
        "notify_id": "n-1",
        "utc_timestamp": "1700000000000",
        "msg_method": SUBSCRIPTION_MSG_METHOD,
        "app_id": ALIPAY_APP_ID,
        "version": "1.1",
        "charset": "utf-8",
        "biz_content": json.dumps(biz),
    } | overrides
    form["sign"] = hub.alipay.sign(notify_sign_content(form))
    form["sign_type"] = "RSA2"
    return form


def _refusal(form: dict[str, str], key_pem: str) -> NotificationsError:
    with pytest.raises(NotificationsError) as caught:
        parse_events(form, key_pem, app_id=ALIPAY_APP_ID)
    return caught.value


class TestParseEvents:
    def test_a_notify_signed_by_alipay_is_read(self, hub: SandboxHub) -> None:
        events = parse_events(_form(hub), hub.alipay.public_key_pem, app_id=ALIPAY_APP_ID)
        assert events == [AlipayEvent(USER, "T1", "subscribe", "one_time", "n-1")]

    def test_several_templates_give_one_event_each(self, hub: SandboxHub) -> None:
        # given
        templates = [
            {"user_template_id": "T1", "action": "UNSUBSCRIBE", "subscribe_type": "LONG_TERM"},
            {"user_template_id": "T2", "action": "subscribe", "subscribe_type": "one_time"},
        ]
        form = _form(hub, biz_content=json.dumps({"user_id": USER, "templates": templates}))

        # when
        events = parse_events(form, hub.alipay.public_key_pem)

        # then
        assert [(e.template_id, e.action, e.kind) for e in events] == [
            ("T1", "unsubscribe", "long_term"),
            ("T2", "subscribe", "one_time"),
        ]

    def test_a_notify_signed_with_another_key_is_refused(self, hub: SandboxHub) -> None:
        # given
        form = _form(hub)
        form["sign"] = rsa2_sign(load_private_key(generate_rsa_keypair()[0]), notify_sign_content(form))

        # then
        assert _refusal(form, hub.alipay.public_key_pem).code == "INVALID_INPUT"

    def test_a_field_changed_after_signing_is_refused(self, hub: SandboxHub) -> None:
        form = _form(hub)
        form["biz_content"] = form["biz_content"].replace(USER, "2088000000000099")
        assert _refusal(form, hub.alipay.public_key_pem).code == "INVALID_INPUT"

    def test_a_notify_without_sign_type_rsa2_is_refused(self, hub: SandboxHub) -> None:
        form = _form(hub)
        form["sign_type"] = "RSA"
        assert _refusal(form, hub.alipay.public_key_pem).code == "INVALID_INPUT"

    def test_an_unsigned_notify_is_refused(self, hub: SandboxHub) -> None:
        form = _form(hub)
        del form["sign"]
        assert _refusal(form, hub.alipay.public_key_pem).code == "INVALID_INPUT"

    def test_a_notify_for_another_app_is_refused(self, hub: SandboxHub) -> None:
        form = _form(hub, app_id="2021000000009999")
        assert _refusal(form, hub.alipay.public_key_pem).code == "INVALID_INPUT"

    def test_another_message_gives_no_events(self, hub: SandboxHub) -> None:
        form = _form(hub, msg_method="alipay.fund.trans.order.changed")
        assert parse_events(form, hub.alipay.public_key_pem) == []

    def test_a_signed_but_unreadable_body_is_invalid_input(self, hub: SandboxHub) -> None:
        form = _form(hub, biz_content=json.dumps({"user_id": USER, "templates": [{"action": "subscribe"}]}))
        assert _refusal(form, hub.alipay.public_key_pem).code == "INVALID_INPUT"


class TestPostSubscriptionEvent:
    async def test_the_sandbox_posts_a_signed_notify_our_gateway_accepts(
        self, hub: SandboxHub, alipay_server: AlipayServer, notify_receiver: NotifyReceiver, http: httpx.AsyncClient
    ) -> None:
        # when
        response = await post_subscription_event(
            hub.alipay, alipay_server.notify_url, USER, "T7", "subscribe", "long_term", http, app_id=ALIPAY_APP_ID
        )

        # then
        assert (response.status_code, response.text) == (200, "success")
        [event] = notify_receiver.events
        assert (event.user_id, event.template_id, event.action, event.kind) == (USER, "T7", "subscribe", "long_term")

    async def test_a_notify_for_another_app_is_refused_and_applies_nothing(
        self, hub: SandboxHub, alipay_server: AlipayServer, notify_receiver: NotifyReceiver, http: httpx.AsyncClient
    ) -> None:
        # when
        response = await post_subscription_event(
            hub.alipay, alipay_server.notify_url, USER, "T7", "unsubscribe", "one_time", http, app_id="2021000000009999"
        )

        # then
        assert response.status_code == 400
        assert (notify_receiver.refused, notify_receiver.events) == (1, [])
