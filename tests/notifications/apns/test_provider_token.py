"""The shared provider JWT of SharedTokenPool (behaviour 4) and the 403 handling of ApnsAdapter.send."""

from __future__ import annotations

import asyncio

from notifications.channels.base import SendResult
from notifications.sandbox.apns import ApnsSandbox
from tests.notifications.apns.conftest import AdapterFactory
from tests.notifications.apns.support import foreign_key_pem, message, valid_token


class TestSharedProviderToken:
    async def test_one_jwt_across_several_connections_and_bursts(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        adapter = await make_adapter(connections=4, timeout_s=30.0)

        first = await adapter.send([message(valid_token()) for _ in range(1200)])
        await asyncio.sleep(0.5)
        second = await adapter.send([message(valid_token()) for _ in range(1200)])

        assert {r.outcome for r in first + second} == {"sent"}
        recorded = apns.requests()
        assert len(recorded) == 2400
        assert len({r["connection"] for r in recorded}) >= 2  # 500 streams per connection once SETTINGS apply
        assert len({r["jwtFingerprint"] for r in recorded}) == 1


class TestRejectedProviderToken:
    async def test_a_403_swaps_the_provider_once_and_the_next_send_carries_a_new_jwt(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        adapter = await make_adapter()
        token = valid_token()
        apns.script(token, [{"status": 403, "reason": "ExpiredProviderToken"}])
        item = message(token)

        [rejected] = await adapter.send([item])
        [accepted] = await adapter.send([item])

        assert rejected == SendResult("auth", item.apns_id, "ExpiredProviderToken", 403, alert=False)
        assert accepted.outcome == "sent"
        before, after = apns.requests()
        assert before["jwtFingerprint"] != after["jwtFingerprint"]
        assert before["connection"] != after["connection"]  # the connections were recycled

    async def test_a_key_the_server_does_not_know_alerts_after_the_one_swap(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        adapter = await make_adapter(key_pem=foreign_key_pem())

        results = [(await adapter.send([message(valid_token())]))[0] for _ in range(3)]

        assert [(r.outcome, r.reason, r.alert) for r in results] == [
            ("auth", "InvalidProviderToken", False),
            ("auth", "InvalidProviderToken", True),
            ("auth", "InvalidProviderToken", True),
        ]
        assert len({r["jwtFingerprint"] for r in apns.requests()}) == 2  # never more than one renewal

    async def test_concurrent_rejections_renew_the_provider_once(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        adapter = await make_adapter(key_pem=foreign_key_pem())

        results = await adapter.send([message(valid_token()) for _ in range(20)])

        assert {(r.outcome, r.alert) for r in results} == {("auth", False)}
        assert adapter.pools["prod"].generation == 1
