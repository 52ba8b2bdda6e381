"""WeChat message push: the signature check and reading the events, from the sandbox's signed posts and from
bodies written out as WeChat sends them."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from api.platforms.sandbox import SandboxHub
from notifications.errors import NotificationsError
from notifications.wechat_push import WechatEvent, parse_events, verify_signature
from tests.notifications.wechat.conftest import PUSH_TOKEN, PushReceiver

TOKEN, TIMESTAMP, NONCE = "tok", "1700000000", "nonce42"


def _sign(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324


class TestVerifySignature:
    def test_a_signature_over_the_token_timestamp_and_nonce_verifies(self) -> None:
        assert verify_signature(TOKEN, _sign(TOKEN, TIMESTAMP, NONCE), TIMESTAMP, NONCE) is True

    def test_a_signature_made_with_another_token_is_refused(self) -> None:
        assert verify_signature(TOKEN, _sign("other", TIMESTAMP, NONCE), TIMESTAMP, NONCE) is False

    def test_a_changed_timestamp_is_refused(self) -> None:
        assert verify_signature(TOKEN, _sign(TOKEN, TIMESTAMP, NONCE), "1700000001", NONCE) is False

    def test_an_empty_or_garbage_signature_is_refused(self) -> None:
        assert verify_signature(TOKEN, "", TIMESTAMP, NONCE) is False
        assert verify_signature(TOKEN, "签名", TIMESTAMP, NONCE) is False


def _push(event: str, items: object) -> bytes:
    body = {
        "ToUserName": "gh_123456789abc",
        "FromUserName": "o-user",
        "CreateTime": "1625575518",
        "MsgType": "event",
        "Event": event,
        "List": items,
    }
    return json.dumps(body, ensure_ascii=False).encode()


class TestParseEvents:
    def test_a_list_object_is_one_event(self) -> None:
        # given
        body = _push("subscribe_msg_change_event", {"SubscribeStatusString": "reject", "TemplateId": "T1"})

        # when
        events = parse_events(body)

        # then
        assert events == [WechatEvent("change", "o-user", "T1", "reject", False, create_time=1625575518)]

    def test_a_list_array_is_one_event_per_item(self) -> None:
        # given
        items = [
            {"TemplateId": "T1", "SubscribeStatusString": "accept", "PopupScene": "0"},
            {"TemplateId": "T2", "SubscribeStatusString": "acceptWithAlert", "PopupScene": "0"},
            {"TemplateId": "T3", "SubscribeStatusString": "reject", "PopupScene": "0"},
        ]

        # when
        events = parse_events(_push("subscribe_msg_popup_event", items))

        # then
        assert [(e.kind, e.template_id, e.status, e.accept) for e in events] == [
            ("popup", "T1", "accept", True),
            ("popup", "T2", "acceptWithAlert", True),
            ("popup", "T3", "reject", False),
        ]

    def test_a_sent_event_carries_the_msgid_and_error_code(self) -> None:
        # given
        items = [
            {"TemplateId": "T1", "Msgid": "1700827132819554304", "ErrorCode": "0", "ErrorStatus": "success"},
            {"TemplateId": "T1", "Msgid": 1700827132819554305, "ErrorCode": 10005, "ErrorStatus": "fail:user block"},
        ]

        # when
        events = parse_events(_push("subscribe_msg_sent_event", items))

        # then
        assert [(e.kind, e.msgid, e.error, e.accept) for e in events] == [
            ("sent", "1700827132819554304", 0, True),
            ("sent", "1700827132819554305", 10005, False),
        ]

    def test_other_pushes_carry_no_subscribe_events(self) -> None:
        body = json.dumps({"FromUserName": "o-user", "MsgType": "text", "Content": "你好"}).encode()
        assert parse_events(body) == []

    @pytest.mark.parametrize(
        "body",
        [
            b"<xml><MsgType>event</MsgType></xml>",
            b"[]",
            _push("subscribe_msg_popup_event", "accept"),
            _push("subscribe_msg_popup_event", {"SubscribeStatusString": "accept"}),
            _push("subscribe_msg_sent_event", {"TemplateId": "T1", "ErrorCode": "0"}),
        ],
    )
    def test_an_unreadable_event_is_invalid_input(self, body: bytes) -> None:
        with pytest.raises(NotificationsError) as caught:
            parse_events(body)
        assert caught.value.code == "INVALID_INPUT"


class TestSandboxEvents:
    async def test_a_popup_event_reaches_our_endpoint_signed_with_a_list_object(
        self, hub: SandboxHub, push_receiver: PushReceiver
    ) -> None:
        # when
        reply = await hub.wechat.post_event("popup", "o-user", "TPL-accepted", "accept")

        # then
        assert (reply.status, reply.body) == (200, "success")
        [event] = push_receiver.events
        assert (event.kind, event.openid, event.template_id, event.accept) == ("popup", "o-user", "TPL-accepted", True)

    async def test_an_event_about_several_templates_has_a_list_array(
        self, hub: SandboxHub, push_receiver: PushReceiver
    ) -> None:
        # when
        await hub.wechat.post_event("change", "o-user", ["TPL-accepted", "TPL-other"], "reject")

        # then
        assert [(e.kind, e.template_id, e.accept) for e in push_receiver.events] == [
            ("change", "TPL-accepted", False),
            ("change", "TPL-other", False),
        ]

    async def test_the_control_endpoint_posts_a_sent_event(
        self, hub: SandboxHub, push_receiver: PushReceiver, http: httpx.AsyncClient
    ) -> None:
        # when
        response = await http.post(
            f"{hub.wechat.control_url}/event",
            json={"kind": "sent", "openid": "o-user", "templateId": "TPL-accepted", "msgid": "77", "errorCode": 0},
        )

        # then
        assert response.json() == {"status": 200, "body": "success"}
        [event] = push_receiver.events
        assert (event.kind, event.msgid, event.error, event.accept) == ("sent", "77", 0, True)

    async def test_a_popup_through_the_control_endpoint_counts_a_consent(
        self, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        # when
        await http.post(
            f"{hub.wechat.control_url}/event",
            json={"kind": "popup", "openid": "o-ctl", "templateId": "TPL-accepted", "status": "accept"},
        )

        # then
        assert hub.wechat.remaining("o-ctl", "TPL-accepted") == 1

    async def test_a_bad_control_request_is_refused_and_posts_nothing(
        self, hub: SandboxHub, push_receiver: PushReceiver, http: httpx.AsyncClient
    ) -> None:
        response = await http.post(
            f"{hub.wechat.control_url}/event", json={"kind": "poke", "openid": "o", "templateId": "T"}
        )
        assert response.status_code == 400
        assert push_receiver.events == []
        assert hub.wechat.remaining("o", "T") is None

    async def test_a_push_signed_with_another_token_is_refused_by_our_endpoint(
        self, hub: SandboxHub, push_receiver: PushReceiver
    ) -> None:
        # given: the sandbox is configured with a token we do not hold
        url = hub.wechat.push_url
        assert url is not None
        hub.wechat.set_push_url(url, "not-our-token")
        try:
            # when
            reply = await hub.wechat.post_event("popup", "o-forged", "TPL-accepted", "accept")
        finally:
            hub.wechat.set_push_url(url, PUSH_TOKEN)

        # then
        assert reply.status == 403
        assert (push_receiver.refused, push_receiver.events) == (1, [])
