"""The Huawei access token: cached in Redis, refreshed five minutes early, single-flight, one retry on 80200003."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from api.kit.clock import SettableClock
from api.kit.redis import Redis
from notifications.channels.huawei import HuaweiAdapter
from notifications.sandbox.huawei import HuaweiSandbox
from tests.notifications.huawei.conftest import make_adapter
from tests.notifications.huawei.support import huawei_message

OAUTH = "/oauth2/v3/token"
SEND = "/v1/{app_id}/messages:send"


def calls(sandbox: HuaweiSandbox) -> list[str]:
    return ["oauth" if r.path == OAUTH else "send" for r in sandbox.requests()]


class TestHuaweiAccessToken:
    async def test_a_token_is_fetched_once_and_reused(self, adapter: HuaweiAdapter, huawei: HuaweiSandbox) -> None:
        # when
        for token in ("tok-1", "tok-2"):
            await adapter.send([huawei_message(token)])

        # then
        assert calls(huawei) == ["oauth", "send", "send"]
        [oauth] = [r for r in huawei.requests() if r.path == OAUTH]
        assert oauth.body == {
            "grant_type": "client_credentials",
            "client_id": huawei.client_id,
            "client_secret": "huawei-test-secret",
        }

    async def test_two_workers_sending_at_once_fetch_one_token(
        self, http: httpx.AsyncClient, redis: Redis, huawei: HuaweiSandbox, huawei_clock: SettableClock
    ) -> None:
        # given two workers sharing Redis, and an OAuth server slow enough for both to miss the cache
        first, second = (make_adapter(http, redis, huawei, huawei_clock) for _ in range(2))
        huawei.script({"path": OAUTH}, {"delayMs": 300})

        # when
        a, b = await asyncio.gather(first.send([huawei_message("tok-a")]), second.send([huawei_message("tok-b")]))

        # then
        assert [a[0].outcome, b[0].outcome] == ["sent", "sent"]
        assert calls(huawei).count("oauth") == 1
        tokens = {r.headers["authorization"] for r in huawei.requests() if r.path == SEND}
        assert len(tokens) == 1

    async def test_a_token_is_refreshed_five_minutes_before_it_expires(
        self, adapter: HuaweiAdapter, huawei: HuaweiSandbox, huawei_clock: SettableClock
    ) -> None:
        # given a token fetched now (valid one hour)
        await adapter.send([huawei_message("tok-1")])

        # when 54 minutes later, then 56 minutes later
        huawei_clock.advance(timedelta(minutes=54))
        await adapter.send([huawei_message("tok-2")])
        huawei_clock.advance(timedelta(minutes=2))
        await adapter.send([huawei_message("tok-3")])

        # then
        assert calls(huawei) == ["oauth", "send", "send", "oauth", "send"]

    async def test_an_expired_token_is_refreshed_and_the_send_retried_once(
        self, adapter: HuaweiAdapter, huawei: HuaweiSandbox
    ) -> None:
        # given a cached token the provider no longer accepts
        await adapter.tokens.token()
        huawei.expire_access_tokens()
        huawei.clear_requests()

        # when
        [result] = await adapter.send([huawei_message("tok-e1")])

        # then
        assert result.outcome == "sent"
        assert calls(huawei) == ["send", "oauth", "send"]
        first, second = [r.headers["authorization"] for r in huawei.requests() if r.path == SEND]
        assert first != second
        assert len(huawei.pushed("tok-e1")) == 1

    async def test_a_token_refused_again_after_the_refresh_is_an_auth_failure(
        self, adapter: HuaweiAdapter, huawei: HuaweiSandbox
    ) -> None:
        # given
        expired = {"status": 401, "body": {"code": "80200003", "msg": "Oauth Token expired"}}
        huawei.script({"path": SEND}, expired, times=2)

        # when
        [result] = await adapter.send([huawei_message("tok-r1")])

        # then
        assert (result.outcome, result.reason, result.alert) == ("auth", "80200003", True)
        assert calls(huawei) == ["oauth", "send", "oauth", "send"]
        assert huawei.pushed() == []

    async def test_wrong_credentials_are_an_auth_failure_and_nothing_is_pushed(
        self, http: httpx.AsyncClient, redis: Redis, huawei: HuaweiSandbox, huawei_clock: SettableClock
    ) -> None:
        # given
        adapter = make_adapter(http, redis, huawei, huawei_clock, secret="not-the-secret")

        # when
        [result] = await adapter.send([huawei_message("tok-w1")])

        # then
        assert (result.outcome, result.alert) == ("auth", True)
        assert calls(huawei) == ["oauth"]
        assert await redis.get(adapter.tokens.cache_key) is None

    async def test_an_unreachable_oauth_server_is_retried(
        self, http: httpx.AsyncClient, redis: Redis, huawei: HuaweiSandbox, huawei_clock: SettableClock
    ) -> None:
        # given
        huawei.script({"path": OAUTH}, {"status": 503})
        adapter = make_adapter(http, redis, huawei, huawei_clock)

        # when
        [result] = await adapter.send([huawei_message("tok-o1")])

        # then
        assert result.outcome == "retry"
        assert calls(huawei) == ["oauth"]

    async def test_without_redis_a_token_is_fetched_for_the_call_and_the_send_goes_out(
        self, http: httpx.AsyncClient, huawei: HuaweiSandbox, huawei_clock: SettableClock
    ) -> None:
        # given a Redis nothing listens for
        unreachable = Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.5)
        adapter = make_adapter(http, unreachable, huawei, huawei_clock)

        # when
        [result] = await adapter.send([huawei_message("tok-nr1")])

        # then
        await unreachable.aclose()
        assert result.outcome == "sent"
        assert calls(huawei) == ["oauth", "send"]
