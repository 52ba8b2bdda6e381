"""ApnsAdapter.send against the APNs sandbox: token conventions, scripted sequences, headers, env routing."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from notifications.channels.base import SendResult
from notifications.sandbox.apns import ApnsSandbox
from tests.notifications.apns.conftest import AdapterFactory
from tests.notifications.apns.support import NOW, TOPIC, message, valid_token


class TestTokenConventions:
    async def test_a_device_token_of_64_hex_is_sent_with_its_apns_id(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        adapter = await make_adapter()
        token = valid_token()
        item = message(token)

        [result] = await adapter.send([item])

        assert result == SendResult("sent", provider_id=item.apns_id, http_status=200)
        [recorded] = apns.requests()
        assert (recorded["token"], recorded["status"], recorded["apnsId"]) == (token, 200, item.apns_id)

    async def test_bad_gone_busy_and_boom_tokens_are_classified_each_their_own_way(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        adapter = await make_adapter()
        items = [message(token) for token in ("bad01", "gone01", "busy01", "boom01")]

        bad, gone, busy, boom = await adapter.send(items)

        assert bad == SendResult("invalid_endpoint", items[0].apns_id, "BadDeviceToken", 400, endpoint_invalid_at=NOW)
        # The 410 body carries the moment in milliseconds, taken from the sandbox's injected clock.
        assert gone == SendResult(
            "invalid_endpoint",
            items[1].apns_id,
            "Unregistered",
            410,
            endpoint_invalid_at=datetime(2025, 6, 1, 2, 30, 0, 123000, tzinfo=UTC),
        )
        assert busy == SendResult("retry", items[2].apns_id, "TooManyRequests", 429)
        assert boom == SendResult("retry", items[3].apns_id, "InternalServerError", 500)
        assert sorted((r["token"], r["status"]) for r in apns.requests()) == [
            ("bad01", 400),
            ("boom01", 500),
            ("busy01", 429),
            ("gone01", 410),
        ]

    async def test_a_scripted_retry_after_is_reported(self, apns: ApnsSandbox, make_adapter: AdapterFactory) -> None:
        adapter = await make_adapter()
        apns.script("busy02", [{"status": 429, "retryAfter": 7}])

        [result] = await adapter.send([message("busy02")])

        assert (result.outcome, result.retry_after_s, result.alert) == ("retry", 7.0, False)

    async def test_too_many_provider_token_updates_is_retried_and_alerts(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        adapter = await make_adapter()
        apns.script("busy03", [{"status": 429, "reason": "TooManyProviderTokenUpdates"}])

        [result] = await adapter.send([message("busy03")])

        assert (result.outcome, result.reason, result.alert) == ("retry", "TooManyProviderTokenUpdates", True)

    async def test_other_client_errors_are_permanent_and_alert(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        adapter = await make_adapter()
        apns.script("flaky02", [{"status": 400, "reason": "BadCollapseId"}, {"status": 413}])

        first, second = [await adapter.send([message("flaky02")]) for _ in range(2)]

        assert [(r.outcome, r.reason, r.http_status, r.alert) for r in (*first, *second)] == [
            ("permanent", "BadCollapseId", 400, True),
            ("permanent", "PayloadTooLarge", 413, True),
        ]


class TestScriptedSequence:
    async def test_500_500_200_gives_three_requests_with_the_same_apns_id(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        adapter = await make_adapter()
        apns.script("flaky01", [500, 500, 200])
        item = message("flaky01")

        outcomes = [(await adapter.send([item]))[0].outcome for _ in range(3)]

        assert outcomes == ["retry", "retry", "sent"]
        recorded = apns.requests("flaky01")
        assert [r["status"] for r in recorded] == [500, 500, 200]
        assert {r["apnsId"] for r in recorded} == {item.apns_id}

    async def test_after_the_script_the_token_convention_applies_again(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        adapter = await make_adapter()
        apns.script("gone02", [200])

        first, second = [(await adapter.send([message("gone02")]))[0].outcome for _ in range(2)]

        assert (first, second) == ("sent", "invalid_endpoint")


class TestHeaders:
    async def test_topic_priority_push_type_collapse_id_and_expiration_are_sent(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        adapter = await make_adapter()
        transactional = message(valid_token())
        campaign = message(valid_token(), kind="campaign", category="campaign", ttl_s=600)

        await adapter.send([transactional])
        await adapter.send([campaign])

        first, second = apns.requests()
        assert (first["topic"], first["pushType"], first["priority"], first["collapseId"]) == (
            TOPIC,
            "alert",
            "10",
            transactional.collapse_id,
        )
        assert (second["priority"], second["collapseId"]) == ("5", campaign.collapse_id)
        # aioapns turns the TTL into an absolute expiry from the wall clock.
        assert abs(int(first["expiration"]) - (time.time() + 3600)) <= 5
        assert abs(int(second["expiration"]) - (time.time() + 600)) <= 5
        assert first["body"] == {
            "aps": {
                "alert": {"title": "办件受理", "body": "您的申请 C42 已受理。"},
                "sound": "default",
                "thread-id": "service",
            },
            "deeplink": "zsb://applications/C42",
            "deliveryId": str(transactional.delivery_id),
        }


class TestEnvRouting:
    async def test_development_tokens_go_through_their_own_pool(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        adapter = await make_adapter(development_host="127.0.0.1")

        results = await adapter.send([message(valid_token(), env="sandbox"), message(valid_token(), env="prod")])

        assert [r.outcome for r in results] == ["sent", "sent"]
        assert len({r["connection"] for r in apns.requests()}) == 2
        assert [pool.protocol_class.APNS_SERVER for pool in adapter.pools.values()] == ["localhost", "127.0.0.1"]

    async def test_an_unknown_env_is_permanent_and_nothing_is_sent(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        adapter = await make_adapter()

        [result] = await adapter.send([message(valid_token(), env="staging")])

        assert (result.outcome, result.reason, result.alert) == ("permanent", "UnknownEnv:staging", True)
        assert apns.requests() == []


class TestFlowControl:
    async def test_more_than_64_kib_of_error_bodies_on_one_connection_are_all_answered(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        # aioapns never hands received DATA back to the h2 window: without the pool's fix the server could send
        # no more error bodies once 65,535 bytes had been answered on a connection.
        adapter = await make_adapter(connections=1, timeout_s=20.0)

        results = await adapter.send([message(f"bad{n:05}") for n in range(2600)])

        assert {(r.outcome, r.reason) for r in results} == {("invalid_endpoint", "BadDeviceToken")}
        assert sum(len(json.dumps({"reason": r["reason"]}, separators=(",", ":"))) for r in apns.requests()) > 65535
        assert len({r["connection"] for r in apns.requests()}) == 1
