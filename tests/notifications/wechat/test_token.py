"""The stable access token: cached in Redis, refreshed early, fetched once however many callers need it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest

from api.kit.clock import ShiftableClock
from api.kit.redis import Redis
from api.platforms.sandbox import SandboxHub
from api.platforms.wechat import StableTokenSource, WechatTokenError
from tests.notifications.wechat.conftest import WechatApp, token_source

TOKEN_PATH = "/cgi-bin/stable_token"


def token_calls(hub: SandboxHub) -> list[dict[str, object]]:
    return [r.body for r in hub.wechat.requests() if r.path == TOKEN_PATH]


class TestToken:
    async def test_the_first_call_fetches_in_normal_mode_and_later_calls_use_the_cache(
        self, tokens: StableTokenSource, hub: SandboxHub, wechat_app: WechatApp
    ) -> None:
        # when
        first = await tokens.token()
        second = await tokens.token()

        # then
        assert first == second == hub.wechat.current_token(wechat_app.app_id)
        assert token_calls(hub) == [
            {
                "grant_type": "client_credential",
                "appid": wechat_app.app_id,
                "secret": wechat_app.secret,
                "force_refresh": False,
            }
        ]

    async def test_another_process_reads_the_token_from_redis(
        self,
        tokens: StableTokenSource,
        http: httpx.AsyncClient,
        redis: Redis,
        hub: SandboxHub,
        wechat_app: WechatApp,
        wechat_clock: ShiftableClock,
    ) -> None:
        # given
        first = await tokens.token()
        other = token_source(http, redis, hub, wechat_app, wechat_clock)

        # when
        token = await other.token()

        # then
        assert token == first
        assert len(token_calls(hub)) == 1

    async def test_a_token_with_more_than_five_minutes_left_is_kept(
        self, tokens: StableTokenSource, hub: SandboxHub, wechat_clock: ShiftableClock
    ) -> None:
        # given
        first = await tokens.token()
        wechat_clock.advance(timedelta(seconds=7200 - 310))

        # when
        token = await tokens.token()

        # then
        assert token == first
        assert len(token_calls(hub)) == 1

    async def test_a_token_within_five_minutes_of_expiry_is_replaced(
        self, tokens: StableTokenSource, hub: SandboxHub, wechat_app: WechatApp, wechat_clock: ShiftableClock
    ) -> None:
        # given
        first = await tokens.token()
        wechat_clock.advance(timedelta(seconds=7200 - 290))

        # when
        token = await tokens.token()

        # then
        assert token != first
        assert token == hub.wechat.current_token(wechat_app.app_id)
        assert [call["force_refresh"] for call in token_calls(hub)] == [False, False]

    async def test_concurrent_callers_in_two_processes_fetch_once(
        self,
        http: httpx.AsyncClient,
        redis: Redis,
        hub: SandboxHub,
        wechat_app: WechatApp,
        wechat_clock: ShiftableClock,
    ) -> None:
        # given: two processes' sources on one Redis, nothing cached
        sources = [token_source(http, redis, hub, wechat_app, wechat_clock) for _ in range(2)]
        hub.wechat.script({"path": TOKEN_PATH}, {"delayMs": 100})  # a slow fetch keeps the others waiting

        # when
        got = await asyncio.gather(*(sources[i % 2].token() for i in range(20)))

        # then
        assert set(got) == {hub.wechat.current_token(wechat_app.app_id)}
        assert len(token_calls(hub)) == 1

    async def test_a_wrong_secret_is_a_configuration_error(
        self,
        http: httpx.AsyncClient,
        redis: Redis,
        hub: SandboxHub,
        wechat_app: WechatApp,
        wechat_clock: ShiftableClock,
    ) -> None:
        # given
        source = token_source(http, redis, hub, wechat_app, wechat_clock, secret="not-the-secret")

        # when
        with pytest.raises(WechatTokenError) as caught:
            await source.token()

        # then
        assert caught.value.configuration is True
        assert await redis.get(f"wechat:stable_token:{wechat_app.app_id}") is None

    async def test_an_unreachable_platform_is_not_a_configuration_error(
        self, tokens: StableTokenSource, hub: SandboxHub
    ) -> None:
        # given
        hub.wechat.script({"path": TOKEN_PATH}, {"status": 502})

        # when
        with pytest.raises(WechatTokenError) as caught:
            await tokens.token()

        # then
        assert (caught.value.code, caught.value.configuration) == ("WECHAT_UNAVAILABLE", False)


class TestRefreshRejected:
    async def test_a_token_normal_mode_still_returns_is_force_refreshed(
        self, tokens: StableTokenSource, hub: SandboxHub, wechat_app: WechatApp
    ) -> None:
        # given: the API refuses the token although stable_token keeps handing it out
        rejected = await tokens.token()
        hub.wechat.reject_token(rejected)

        # when
        token = await tokens.refresh_rejected(rejected)

        # then
        assert token != rejected
        assert token == hub.wechat.current_token(wechat_app.app_id)
        assert [call["force_refresh"] for call in token_calls(hub)] == [False, False, True]
        assert await tokens.token() == token

    async def test_a_new_token_in_normal_mode_needs_no_forced_refresh(
        self, tokens: StableTokenSource, hub: SandboxHub, http: httpx.AsyncClient, wechat_app: WechatApp
    ) -> None:
        # given: someone else forced a refresh, so our cached token is dead
        rejected = await tokens.token()
        body = {"grant_type": "client_credential", "appid": wechat_app.app_id, "secret": wechat_app.secret}
        await http.post(f"{hub.wechat.base_url}{TOKEN_PATH}", json=body | {"force_refresh": True})

        # when
        token = await tokens.refresh_rejected(rejected)

        # then
        assert token == hub.wechat.current_token(wechat_app.app_id) != rejected
        assert [call["force_refresh"] for call in token_calls(hub)] == [False, True, False]

    async def test_a_token_already_replaced_in_the_cache_is_returned_without_a_call(
        self,
        tokens: StableTokenSource,
        hub: SandboxHub,
        http: httpx.AsyncClient,
        redis: Redis,
        wechat_app: WechatApp,
        wechat_clock: ShiftableClock,
    ) -> None:
        # given: another process has already replaced the rejected token
        rejected = await tokens.token()
        hub.wechat.reject_token(rejected)
        replaced = await token_source(http, redis, hub, wechat_app, wechat_clock).refresh_rejected(rejected)
        calls_before = len(token_calls(hub))

        # when
        token = await tokens.refresh_rejected(rejected)

        # then
        assert token == replaced
        assert len(token_calls(hub)) == calls_before

    async def test_concurrent_rejections_force_one_refresh(
        self, tokens: StableTokenSource, hub: SandboxHub, wechat_app: WechatApp
    ) -> None:
        # given
        rejected = await tokens.token()
        hub.wechat.reject_token(rejected)

        # when
        got = await asyncio.gather(*(tokens.refresh_rejected(rejected) for _ in range(10)))

        # then
        assert set(got) == {hub.wechat.current_token(wechat_app.app_id)}
        assert [call["force_refresh"] for call in token_calls(hub)] == [False, False, True]
