"""The Redis token bucket behind every rate limit (one Lua script per request, shared by all instances)."""

from __future__ import annotations

from api.kit.redis import Bucket, TokenBucket, connect


class TestTakeAll:
    async def test_refuses_at_the_first_empty_bucket_and_says_when_to_retry(self) -> None:
        redis = connect("")
        buckets = TokenBucket(redis)
        wide, narrow = Bucket("wide", 10.0, 100), Bucket("narrow", 2.0, 2)
        results = [await buckets.take_all([wide, narrow], now_ms=1_000) for _ in range(3)]
        assert [r.allowed for r in results] == [True, True, False]
        assert results[2].retry_after_ms == 500  # one token at 2 per second
        await redis.aclose()

    async def test_refills_with_time_up_to_the_burst(self) -> None:
        redis = connect("")
        buckets = TokenBucket(redis)
        bucket = Bucket("refill", 1.0, 3)
        assert all([(await buckets.take_all([bucket], now_ms=0)).allowed for _ in range(3)])
        assert not (await buckets.take_all([bucket], now_ms=0)).allowed
        assert (await buckets.take_all([bucket], now_ms=1_000)).allowed
        later = [(await buckets.take_all([bucket], now_ms=60_000)).allowed for _ in range(4)]
        assert later == [True, True, True, False]
        await redis.aclose()
