"""Device endpoints (§C11, N03, N16): upsert, move to the new holder, reactivation, unregister by the holder only,
and the 410 rule."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from api.models import DeviceEndpoint, PushEnv, PushPlatform
from notifications.deps import NotificationsDeps
from notifications.devices import (
    active_endpoints,
    invalidate_endpoint,
    purge_endpoints,
    register_device,
    unregister_device,
)
from notifications.errors import NotificationsError
from tests.notifications.users.support import resident
from tests.support.client import Api


def token() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex  # 64 hex, as APNs gives


class TestRegisterDevice:
    async def test_creates_an_active_endpoint_registered_now(self, api: Api, deps: NotificationsDeps) -> None:
        # given
        user, tok = await resident(api), token()
        # when
        endpoint = await register_device(deps, user, PushPlatform.IOS, tok, PushEnv.PROD, "3.2.0")
        # then
        stored = await DeviceEndpoint.get(platform=PushPlatform.IOS, token=tok)
        assert (stored.id, stored.user_id, stored.env, stored.app_version) == (endpoint.id, user, PushEnv.PROD, "3.2.0")
        assert stored.registered_at == stored.last_seen_at == deps.clock.now()
        assert stored.invalidated_at is None

    async def test_moves_a_token_to_the_user_who_registers_it(self, api: Api, deps: NotificationsDeps) -> None:
        # given: U registered the token; W signs in on the same phone later
        u, w, tok = await resident(api), await resident(api), token()
        first = await register_device(deps, u, PushPlatform.IOS, tok, PushEnv.PROD, "1")
        deps.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
        # when
        moved = await register_device(deps, w, PushPlatform.IOS, tok, PushEnv.SANDBOX, "2")
        # then: one row, now W's
        assert moved.id == first.id
        assert await DeviceEndpoint.filter(platform=PushPlatform.IOS, token=tok).count() == 1
        assert (moved.user_id, moved.env, moved.registered_at) == (w, PushEnv.SANDBOX, deps.clock.now())
        assert (await active_endpoints([u])).get(u) is None
        assert [e.token for e in (await active_endpoints([w]))[w]] == [tok]

    async def test_reactivates_an_invalidated_token(self, api: Api, deps: NotificationsDeps) -> None:
        # given: the token was invalidated by a 410
        user, tok = await resident(api), token()
        endpoint = await register_device(deps, user, PushPlatform.IOS, tok, PushEnv.PROD, "1")
        await invalidate_endpoint(None, endpoint.id, deps.clock.now() + timedelta(seconds=1), "Unregistered")
        assert (await active_endpoints([user])).get(user) is None
        deps.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
        # when
        again = await register_device(deps, user, PushPlatform.IOS, tok, PushEnv.PROD, "1")
        # then
        assert (again.invalidated_at, again.invalid_reason) == (None, None)
        assert [e.id for e in (await active_endpoints([user]))[user]] == [endpoint.id]

    @pytest.mark.parametrize("bad", ["", "with space", "x" * 257, "令牌"])
    async def test_refuses_a_malformed_token_and_writes_nothing(
        self, api: Api, deps: NotificationsDeps, bad: str
    ) -> None:
        user = await resident(api)
        with pytest.raises(NotificationsError) as refused:
            await register_device(deps, user, PushPlatform.HUAWEI, bad, PushEnv.PROD, "1")
        assert (refused.value.code, refused.value.path) == ("INVALID_INPUT", ["token"])
        assert await DeviceEndpoint.filter(user_id=user).count() == 0

    async def test_accepts_the_sandbox_conventional_tokens(self, api: Api, deps: NotificationsDeps) -> None:
        user = await resident(api)
        for tok in (f"gone{uuid.uuid4().hex[:6]}", f"busy-{uuid.uuid4().hex}"):
            await register_device(deps, user, PushPlatform.IOS, tok, PushEnv.PROD, "1")
        assert len((await active_endpoints([user]))[user]) == 2


class TestUnregisterDevice:
    async def test_removes_the_callers_endpoint(self, api: Api, deps: NotificationsDeps) -> None:
        user, tok = await resident(api), token()
        await register_device(deps, user, PushPlatform.IOS, tok, PushEnv.PROD, "1")
        await unregister_device(deps, user, PushPlatform.IOS, tok)
        assert not await DeviceEndpoint.exists(platform=PushPlatform.IOS, token=tok)

    async def test_a_token_another_user_holds_is_not_found_and_stays(self, api: Api, deps: NotificationsDeps) -> None:
        # given: U's token moved to W (N16)
        u, w, tok = await resident(api), await resident(api), token()
        await register_device(deps, u, PushPlatform.IOS, tok, PushEnv.PROD, "1")
        await register_device(deps, w, PushPlatform.IOS, tok, PushEnv.PROD, "1")
        # when
        with pytest.raises(NotificationsError) as refused:
            await unregister_device(deps, u, PushPlatform.IOS, tok)
        # then
        assert refused.value.code == "NOT_FOUND"
        assert [e.token for e in (await active_endpoints([w]))[w]] == [tok]

    async def test_an_unknown_token_or_another_platform_is_not_found(self, api: Api, deps: NotificationsDeps) -> None:
        user, tok = await resident(api), token()
        await register_device(deps, user, PushPlatform.IOS, tok, PushEnv.PROD, "1")
        for platform, value in ((PushPlatform.IOS, token()), (PushPlatform.HUAWEI, tok)):
            with pytest.raises(NotificationsError) as refused:
                await unregister_device(deps, user, platform, value)
            assert refused.value.code == "NOT_FOUND"
        assert await DeviceEndpoint.filter(user_id=user).count() == 1


class TestActiveEndpoints:
    async def test_lists_every_device_of_each_user_and_skips_invalidated(
        self, api: Api, deps: NotificationsDeps
    ) -> None:
        # given: U has two iPhones and a Huawei phone, one more iPhone invalidated; V has none
        u, v = await resident(api), await resident(api)
        ios = [token(), token()]
        for tok in ios:
            await register_device(deps, u, PushPlatform.IOS, tok, PushEnv.PROD, "1")
        await register_device(deps, u, PushPlatform.HUAWEI, "hw-" + token(), PushEnv.PROD, "1")
        dead = await register_device(deps, u, PushPlatform.IOS, token(), PushEnv.PROD, "1")
        await invalidate_endpoint(None, dead.id, deps.clock.now(), "BadDeviceToken")
        # when
        found = await active_endpoints([u, v])
        # then
        assert sorted(e.platform.value for e in found[u]) == ["huawei", "ios", "ios"]
        assert dead.id not in {e.id for e in found[u]}
        assert v not in found


class TestInvalidateEndpoint:
    async def test_a_410_before_the_registration_changes_nothing(self, api: Api, deps: NotificationsDeps) -> None:
        # given: the token was registered again after the moment APNs says it stopped being valid (N03)
        user = await resident(api)
        endpoint = await register_device(deps, user, PushPlatform.IOS, token(), PushEnv.PROD, "1")
        # when
        await invalidate_endpoint(None, endpoint.id, deps.clock.now() - timedelta(seconds=1), "Unregistered")
        # then
        stored = await DeviceEndpoint.get(id=endpoint.id)
        assert (stored.invalidated_at, stored.invalid_reason) == (None, None)

    async def test_a_410_after_the_registration_invalidates_at_its_timestamp(
        self, api: Api, deps: NotificationsDeps
    ) -> None:
        user = await resident(api)
        endpoint = await register_device(deps, user, PushPlatform.IOS, token(), PushEnv.PROD, "1")
        gone_at = deps.clock.now() + timedelta(hours=1)
        # when: a second report later keeps the first moment
        await invalidate_endpoint(None, endpoint.id, gone_at, "Unregistered")
        await invalidate_endpoint(None, endpoint.id, gone_at + timedelta(hours=1), "BadDeviceToken")
        # then
        stored = await DeviceEndpoint.get(id=endpoint.id)
        assert (stored.invalidated_at, stored.invalid_reason) == (gone_at, "Unregistered")


class TestPurgeEndpoints:
    async def test_removes_endpoints_unseen_for_270_days_or_invalid_for_30(
        self, api: Api, deps: NotificationsDeps
    ) -> None:
        # given: endpoints from long ago (nothing else in the database is that old)
        user = await resident(api)
        clock = deps.clock
        clock.set(datetime(1990, 1, 1, tzinfo=UTC))  # type: ignore[attr-defined]
        await register_device(deps, user, PushPlatform.IOS, token(), PushEnv.PROD, "1")
        clock.set(datetime(1990, 9, 1, tzinfo=UTC))  # type: ignore[attr-defined]
        dead = await register_device(deps, user, PushPlatform.IOS, token(), PushEnv.PROD, "1")
        await invalidate_endpoint(None, dead.id, clock.now(), "Unregistered")
        recent = await register_device(deps, user, PushPlatform.HUAWEI, token(), PushEnv.PROD, "1")
        clock.set(datetime(1990, 9, 20, tzinfo=UTC))  # type: ignore[attr-defined]
        fresh_dead = await register_device(deps, user, PushPlatform.IOS, token(), PushEnv.PROD, "1")
        await invalidate_endpoint(None, fresh_dead.id, clock.now(), "Unregistered")
        # when: 1990-10-05 is 277 days after the first and 34 after the invalidation
        purged = await purge_endpoints(datetime(1990, 10, 5, tzinfo=UTC))
        # then
        assert purged == 2
        assert {e.id for e in await DeviceEndpoint.filter(user_id=user)} == {recent.id, fresh_dead.id}
