"""Frequency caps (§C10) and token buckets with AIMD (§C8): the Lua scripts on fakeredis with its Lua extra (the
embedded mode's Redis), driven by an injected clock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import fakeredis
import pytest

from api.kit.clock import SHANGHAI
from api.kit.redis import Redis
from api.settings import NotificationsSettings
from notifications.buckets import Buckets, Scope, aimd_factor, campaign_scope
from notifications.caps import cap_key, release_slot, take_slot
from tests.support.client import LiveServer

NOW = datetime(2025, 6, 1, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai


async def run(pending: Any) -> Any:
    """redis-py's async commands are typed as sync-or-async."""
    return await pending


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client: Redis = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=False)
    yield client
    await client.aclose()


class TestTakeSlot:
    async def test_two_campaign_requests_a_day_then_capped(self, live: LiveServer, redis: Redis) -> None:
        user = uuid.uuid4()
        requests = [uuid.uuid4() for _ in range(3)]

        allowed = [await take_slot(redis, user_id=user, request_id=r, now=NOW, tz=SHANGHAI, limit=2) for r in requests]

        assert allowed == [True, True, False]
        members = await run(redis.smembers(cap_key(user, NOW, SHANGHAI)))
        assert members == {str(requests[0]).encode(), str(requests[1]).encode()}

    async def test_the_same_request_keeps_its_slot(self, live: LiveServer, redis: Redis) -> None:
        user, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        for r in (first, second):
            await take_slot(redis, user_id=user, request_id=r, now=NOW, tz=SHANGHAI, limit=2)

        again = await take_slot(redis, user_id=user, request_id=first, now=NOW, tz=SHANGHAI, limit=2)

        assert again is True
        assert await run(redis.scard(cap_key(user, NOW, SHANGHAI))) == 2

    async def test_a_released_slot_can_be_taken_by_another_request(self, live: LiveServer, redis: Redis) -> None:
        user, first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        for r in (first, second):
            await take_slot(redis, user_id=user, request_id=r, now=NOW, tz=SHANGHAI, limit=2)

        await release_slot(redis, user_id=user, request_id=second, now=NOW, tz=SHANGHAI)
        allowed = await take_slot(redis, user_id=user, request_id=third, now=NOW, tz=SHANGHAI, limit=2)

        assert allowed is True

    async def test_the_next_local_day_has_new_slots(self, live: LiveServer, redis: Redis) -> None:
        user = uuid.uuid4()
        late = datetime(2025, 6, 1, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
        for _ in range(2):
            await take_slot(redis, user_id=user, request_id=uuid.uuid4(), now=late, tz=SHANGHAI, limit=2)

        same_day = await take_slot(redis, user_id=user, request_id=uuid.uuid4(), now=late, tz=SHANGHAI, limit=2)
        next_day = await take_slot(
            redis, user_id=user, request_id=uuid.uuid4(), now=late + timedelta(minutes=1), tz=SHANGHAI, limit=2
        )

        assert (same_day, next_day) == (False, True)

    def test_the_key_is_the_users_local_day(self) -> None:
        user = uuid.UUID("00000000-0000-4000-8000-000000000009")

        assert cap_key(user, datetime(2025, 6, 1, 16, 30, tzinfo=UTC), SHANGHAI) == f"cap:{user}:campaign:20250602"


class TestBucketTake:
    async def test_grants_up_to_the_burst_then_says_how_long_to_wait(self, redis: Redis) -> None:
        buckets = Buckets(redis, NotificationsSettings())
        scope = Scope("nb:test:a", 10.0, 10.0)

        first = await buckets.take([scope], 12, NOW)
        later = await buckets.take([scope], 1, NOW + timedelta(milliseconds=100))

        assert (first.granted, first.wait_ms) == (10, 100)
        assert (later.granted, later.wait_ms) == (1, 0)

    async def test_the_emptiest_bucket_decides_and_all_are_charged_alike(self, redis: Redis) -> None:
        buckets = Buckets(redis, NotificationsSettings())
        wide, narrow = Scope("nb:test:wide", 100.0, 100.0), Scope("nb:test:narrow", 5.0, 5.0)

        grant = await buckets.take([wide, narrow], 20, NOW)

        assert grant.granted == 5
        assert float(await run(redis.hget("nb:test:wide", "tokens"))) == 95.0
        assert float(await run(redis.hget("nb:test:narrow", "tokens"))) == 0.0

    async def test_a_clock_that_moved_backwards_resets_the_bucket(self, redis: Redis) -> None:
        buckets = Buckets(redis, NotificationsSettings())
        scope = Scope("nb:test:back", 1.0, 3.0)
        await buckets.take([scope], 3, NOW)

        stuck_free = await buckets.take([scope], 3, NOW - timedelta(hours=1))

        assert stuck_free.granted == 3

    async def test_a_campaign_throttle_is_spread_over_the_minute(self, redis: Redis) -> None:
        buckets = Buckets(redis, NotificationsSettings())
        scope = campaign_scope(uuid.uuid4(), 600)
        sent = 0

        for step in range(600):  # ask for 50 every 100 ms for one minute
            sent += (await buckets.take([scope], 50, NOW + timedelta(milliseconds=100 * step))).granted

        assert 540 <= sent <= 660
        assert scope.burst == 10


class TestAimd:
    def test_held_for_a_minute_then_grows_ten_percent_a_minute(self) -> None:
        assert [aimd_factor(0.5, 0, ms) for ms in (0, 59_999, 60_000, 119_999, 120_000, 600_000)] == [
            0.5,
            0.5,
            0.6,
            0.6,
            0.7,
            1.0,
        ]

    async def test_back_pressure_halves_the_provider_rate_and_it_grows_back(self, redis: Redis) -> None:
        settings = NotificationsSettings(apns_rate_per_s=1000)
        buckets = Buckets(redis, settings)

        await buckets.back_off("apns", NOW)
        await buckets.back_off("apns", NOW + timedelta(seconds=1))
        held = await buckets.provider_scope("apns", NOW + timedelta(seconds=30))
        grown = await buckets.provider_scope("apns", NOW + timedelta(seconds=61 + 60))
        other = await buckets.provider_scope("huawei", NOW)

        assert held.rate_per_s == pytest.approx(250.0)
        assert grown.rate_per_s == pytest.approx(450.0)
        assert other.rate_per_s == pytest.approx(4800.0)
