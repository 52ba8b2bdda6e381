"""HuaweiAdapter.send against the Huawei Push Kit sandbox over real HTTP: payload, batching and classification."""

from __future__ import annotations

import json
from typing import Any

import httpx

from api.kit.clock import SettableClock
from api.kit.redis import Redis
from notifications.channels.base import SendResult
from notifications.channels.huawei import HuaweiAdapter
from notifications.sandbox.huawei import HuaweiSandbox
from tests.notifications.huawei.conftest import make_adapter
from tests.notifications.huawei.support import eventually, huawei_message

SEND_PATH = "/v1/{app_id}/messages:send"


def sends(sandbox: HuaweiSandbox) -> list[Any]:
    return [r.body for r in sandbox.requests() if r.path == SEND_PATH]


class TestHuaweiAdapterSend:
    async def test_a_transactional_notice_is_sent_with_its_request_id(
        self, adapter: HuaweiAdapter, huawei: HuaweiSandbox
    ) -> None:
        # when
        [result] = await adapter.send([huawei_message("tok-a1")])

        # then
        [pushed] = huawei.pushed("tok-a1")
        assert result == SendResult("sent", provider_id=pushed.request_id, http_status=200)
        [body] = sends(huawei)
        assert body == {
            "validate_only": False,
            "message": {
                "android": {
                    "ttl": "86400s",
                    "category": "WORK",
                    "notification": {
                        "title": "办件受理通知",
                        "body": "您的申请C42已受理。",
                        "click_action": {
                            "type": 1,
                            "intent": "intent://applications/C42#Intent;scheme=zsb;"
                            "action=android.intent.action.VIEW;launchFlags=0x04000000;end",
                        },
                        "importance": "NORMAL",
                        "tag": "0123456789abcdef0123456789abcdef",
                    },
                },
                "token": ["tok-a1"],
            },
        }
        [send] = [r for r in huawei.requests() if r.path == SEND_PATH]
        assert send.headers["authorization"].startswith("Bearer ")

    async def test_a_campaign_goes_low_without_a_category_and_carries_its_data(
        self, adapter: HuaweiAdapter, huawei: HuaweiSandbox
    ) -> None:
        # given
        item = huawei_message("tok-c1", kind="campaign", category="campaign", extra={"deliveryId": "d-1"})

        # when
        [result] = await adapter.send([item])

        # then
        assert result.outcome == "sent"
        [body] = sends(huawei)
        message = body["message"]
        assert message["android"]["notification"]["importance"] == "LOW"
        assert "category" not in message["android"]
        assert json.loads(message["data"]) == {"deliveryId": "d-1"}

    async def test_identical_payloads_share_one_call_and_different_ones_do_not(
        self, adapter: HuaweiAdapter, huawei: HuaweiSandbox
    ) -> None:
        # given two devices of one request and a device of another request
        items = [
            huawei_message("tok-u1"),
            huawei_message("tok-v1", collapse_id="f" * 32),
            huawei_message("tok-u2"),
        ]

        # when
        results = await adapter.send(items)

        # then
        assert [r.outcome for r in results] == ["sent", "sent", "sent"]
        assert results[0].provider_id == results[2].provider_id != results[1].provider_id
        assert sorted(b["message"]["token"] for b in sends(huawei)) == [
            ["tok-u1", "tok-u2"],
            ["tok-v1"],
        ]

    async def test_more_than_a_thousand_tokens_are_split_into_calls_of_at_most_a_thousand(
        self, adapter: HuaweiAdapter, huawei: HuaweiSandbox
    ) -> None:
        # given
        items = [huawei_message(f"tok-{n:04d}") for n in range(1001)]

        # when
        results = await adapter.send(items)

        # then
        assert {r.outcome for r in results} == {"sent"}
        assert sorted(len(b["message"]["token"]) for b in sends(huawei)) == [1, 1000]

    async def test_an_invalid_token_alone_is_an_invalid_endpoint(
        self, adapter: HuaweiAdapter, huawei: HuaweiSandbox
    ) -> None:
        [result] = await adapter.send([huawei_message("bad01")])
        assert (result.outcome, result.reason) == ("invalid_endpoint", "80300007")
        assert huawei.pushed() == []

    async def test_a_mixed_batch_is_sent_for_the_good_tokens_and_invalid_for_the_illegal_ones(
        self, adapter: HuaweiAdapter, huawei: HuaweiSandbox
    ) -> None:
        # when
        results = await adapter.send([huawei_message("tok-m1"), huawei_message("bad02"), huawei_message("tok-m2")])

        # then
        request_id = huawei.pushed("tok-m1")[0].request_id
        assert [(r.outcome, r.provider_id) for r in results] == [
            ("sent", request_id),
            ("invalid_endpoint", request_id),
            ("sent", request_id),
        ]
        assert len(sends(huawei)) == 1
        assert [p.token for p in huawei.pushed()] == ["tok-m1", "tok-m2"]

    async def test_flow_control_is_retried_and_does_not_hold_up_other_calls(
        self, adapter: HuaweiAdapter, huawei: HuaweiSandbox
    ) -> None:
        # when
        busy, other = await adapter.send([huawei_message("busy01"), huawei_message("tok-x1", collapse_id="e" * 32)])

        # then
        assert (busy.outcome, busy.http_status) == ("retry", 503)
        assert other.outcome == "sent"
        assert huawei.pushed("busy01") == []

    async def test_a_scripted_token_fails_twice_then_succeeds(
        self, adapter: HuaweiAdapter, huawei: HuaweiSandbox
    ) -> None:
        # given
        huawei.script_token("flaky01", [500, 502])

        # when
        outcomes = [(await adapter.send([huawei_message("flaky01")]))[0] for _ in range(3)]

        # then
        assert [(r.outcome, r.http_status) for r in outcomes] == [("retry", 500), ("retry", 502), ("sent", 200)]
        assert len(huawei.pushed("flaky01")) == 1

    async def test_a_scripted_permanent_code_alerts(self, adapter: HuaweiAdapter, huawei: HuaweiSandbox) -> None:
        huawei.script_token("tok-s1", ["80100016"])
        [result] = await adapter.send([huawei_message("tok-s1")])
        assert (result.outcome, result.reason, result.alert) == ("permanent", "80100016", True)

    async def test_a_long_body_is_trimmed_on_a_character_boundary_to_fit_four_kilobytes(
        self, adapter: HuaweiAdapter, huawei: HuaweiSandbox
    ) -> None:
        # given a body of 2,000 Chinese characters (6,000 bytes)
        long_body = "办" * 2000

        # when
        [result] = await adapter.send([huawei_message("tok-l1", body=long_body)])

        # then
        assert result.outcome == "sent"
        [pushed] = huawei.pushed("tok-l1")
        body = pushed.message["android"]["notification"]["body"]
        assert body.endswith("…") and set(body[:-1]) == {"办"}
        size = len(json.dumps(pushed.message, ensure_ascii=False, separators=(",", ":")).encode())
        assert 4096 - 3 < size <= 4096

    async def test_a_title_too_large_for_any_body_is_permanent(
        self, adapter: HuaweiAdapter, huawei: HuaweiSandbox
    ) -> None:
        [result] = await adapter.send([huawei_message("tok-t1", title="题" * 1500)])
        assert (result.outcome, result.reason, result.alert) == ("permanent", "80300008", True)
        assert huawei.pushed() == []

    async def test_a_reply_slower_than_the_client_timeout_is_retried(
        self, redis: Redis, huawei: HuaweiSandbox, huawei_clock: SettableClock
    ) -> None:
        # given
        huawei.script_token("slow01", [{"delayMs": 1000}])
        async with httpx.AsyncClient(timeout=0.3) as impatient:
            adapter = make_adapter(impatient, redis, huawei, huawei_clock)

            # when
            [result] = await adapter.send([huawei_message("slow01")])

        # then
        assert (result.outcome, result.reason) == ("retry", "timeout")
        # Huawei acts on it all the same: let it land here rather than in a later test's sandbox
        await eventually(lambda: len(huawei.pushed("slow01")) == 1)

    async def test_an_unreachable_server_is_retried(
        self, http: httpx.AsyncClient, redis: Redis, huawei: HuaweiSandbox, huawei_clock: SettableClock
    ) -> None:
        # given an adapter whose token is cached but whose push server does not listen
        good = make_adapter(http, redis, huawei, huawei_clock)
        await good.tokens.token()
        adapter = HuaweiAdapter(
            http,
            redis,
            base_url="http://127.0.0.1:9",
            oauth_url=huawei.oauth_url,
            app_id=huawei.app_id,
            client_id=huawei.client_id,
            client_secret="unused",
            clock=huawei_clock,
        )

        # when
        [result] = await adapter.send([huawei_message("tok-n1")])

        # then
        assert result.outcome == "retry" and result.reason is not None and result.reason.startswith("connection")
