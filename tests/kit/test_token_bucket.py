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


class TestTakeAllUnless:
    async def test_takes_the_buckets_as_take_all_while_the_gate_key_is_absent(self) -> None:
        redis = connect("")
        buckets = TokenBucket(redis)
        bucket = Bucket("gated", 2.0, 2)
        results = [await buckets.take_all_unless("gate", [bucket], now_ms=1_000) for _ in range(3)]
        assert [r.allowed if r else None for r in results] == [True, True, False]
        assert results[2] is not None and results[2].retry_after_ms == 500
        await redis.aclose()

    async def test_answers_none_and_charges_nothing_when_the_gate_key_exists(self) -> None:
        redis = connect("")
        buckets = TokenBucket(redis)
        bucket = Bucket("closed", 1.0, 1)
        await redis.set("gate", b"1")
        assert await buckets.take_all_unless("gate", [bucket], now_ms=0) is None
        assert await redis.exists("rl:closed") == 0
        await redis.delete("gate")
        assert (await buckets.take_all([bucket], now_ms=0)).allowed
        await redis.aclose()
