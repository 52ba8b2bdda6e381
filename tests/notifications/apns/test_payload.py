"""build_payload: the APNs body within 4,096 bytes, cut on character boundaries (§C6 Payload limits)."""

from __future__ import annotations

import json

from notifications.channels.apns_payload import APNS_MAX_BYTES, build_payload, serialised_size
from notifications.sandbox.apns import ApnsSandbox
from tests.notifications.apns.conftest import AdapterFactory
from tests.notifications.apns.support import message, valid_token

LONG_BODY = "您的营业执照将于二〇二五年七月一日到期，请及时办理延续手续。" * 200  # ~17 KB of 3-byte characters


class TestBuildPayload:
    def test_a_short_message_is_kept_whole(self) -> None:
        item = message(valid_token())

        payload = build_payload(item)

        assert payload is not None
        assert payload["aps"]["alert"] == {"title": "办件受理", "body": "您的申请 C42 已受理。"}
        assert (payload["deeplink"], payload["deliveryId"]) == ("zsb://applications/C42", str(item.delivery_id))

    def test_a_long_chinese_body_is_cut_on_a_character_boundary_with_an_ellipsis(self) -> None:
        payload = build_payload(message(valid_token(), body=LONG_BODY))

        assert payload is not None
        body = payload["aps"]["alert"]["body"]
        assert serialised_size(payload) <= APNS_MAX_BYTES
        assert body.endswith("…") and LONG_BODY.startswith(body[:-1])
        one_more = {
            **payload,
            "aps": {**payload["aps"], "alert": {"title": "办件受理", "body": LONG_BODY[: len(body)] + "…"}},
        }
        assert serialised_size(one_more) > APNS_MAX_BYTES  # the longest prefix that fits
        assert len(json.dumps(payload, ensure_ascii=False).encode()) == serialised_size(payload)

    def test_json_escapes_count_against_the_limit(self) -> None:
        payload = build_payload(message(valid_token(), body='"\\\n' * 3000))

        assert payload is not None
        assert serialised_size(payload) <= APNS_MAX_BYTES

    def test_the_title_is_cut_when_the_body_alone_cannot_make_room(self) -> None:
        payload = build_payload(message(valid_token(), title="标" * 3000, body="正文"))

        assert payload is not None
        assert payload["aps"]["alert"]["body"] == ""
        assert payload["aps"]["alert"]["title"].endswith("…")
        assert serialised_size(payload) <= APNS_MAX_BYTES

    def test_extra_keys_are_added_but_never_replace_the_reserved_ones(self) -> None:
        item = message(valid_token(), extra={"applicationId": "C42", "deliveryId": "forged", "aps": {}})

        payload = build_payload(item)

        assert payload is not None
        assert (payload["applicationId"], payload["deliveryId"]) == ("C42", str(item.delivery_id))
        assert payload["aps"]["alert"]["title"] == "办件受理"

    def test_a_deeplink_that_cannot_fit_gives_no_payload(self) -> None:
        assert build_payload(message(valid_token(), deeplink="zsb://x/" + "a" * 5000)) is None


class TestOversizedSend:
    async def test_a_long_body_reaches_the_sandbox_trimmed_and_is_accepted(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        adapter = await make_adapter()

        [result] = await adapter.send([message(valid_token(), body=LONG_BODY)])

        assert result.outcome == "sent"
        [recorded] = apns.requests()
        assert recorded["bodyBytes"] <= APNS_MAX_BYTES
        assert recorded["body"]["aps"]["alert"]["body"].endswith("…")

    async def test_extra_keys_json_cannot_carry_are_permanent_and_never_sent(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        adapter = await make_adapter()

        [result] = await adapter.send([message(valid_token(), extra={"when": object()})])

        assert (result.outcome, result.reason, result.alert) == ("permanent", "InvalidPayload", True)
        assert apns.requests() == []

    async def test_a_payload_that_cannot_fit_is_permanent_and_never_sent(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        adapter = await make_adapter()

        [result] = await adapter.send([message(valid_token(), deeplink="zsb://x/" + "a" * 5000)])

        assert (result.outcome, result.reason, result.alert) == ("permanent", "PayloadTooLarge", True)
        assert apns.requests() == []
