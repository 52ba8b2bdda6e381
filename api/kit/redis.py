"""Redis helpers: connection factory (server or in-process fakeredis) and a token-bucket rate limiter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

Redis = aioredis.Redis


def connect(url: str) -> Redis:
    if url:
        server: Redis = aioredis.Redis.from_url(url, decode_responses=False)
        return server
    import fakeredis  # in-process Redis for the embedded mode only

    fake: Redis = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=False)
    return fake


# KEYS: buckets; ARGV: now in ms, then rate per second, burst and cost for each bucket in turn.
# Returns {allowed, retry_after_ms}: the buckets are taken in order and the first empty one refuses (those before
# it stay charged). One script per request whatever the number of buckets; tokens and the time they were counted
# live in Redis, so every API instance shares one budget.
_BUCKET_LOOP = """
local now = tonumber(ARGV[1])
for i = FIRST, #KEYS do
  local j = i - FIRST + 1
  local key = KEYS[i]
  local rate = tonumber(ARGV[3 * j - 1])
  local burst = tonumber(ARGV[3 * j])
  local cost = tonumber(ARGV[3 * j + 1])
  local state = redis.call('HMGET', key, 't', 'ts')
  local tokens = tonumber(state[1])
  local ts = tonumber(state[2])
  if tokens == nil then tokens = burst; ts = now end
  if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate / 1000); ts = now end
  if tokens < cost then
    return {0, math.ceil((cost - tokens) * 1000 / rate)}
  end
  redis.call('HSET', key, 't', tokens - cost, 'ts', ts)
  redis.call('PEXPIRE', key, math.ceil(burst * 1000 / rate) + 1000)
end
return {1, 0}
"""
_BUCKET_SCRIPT = "local FIRST = 1\n" + _BUCKET_LOOP
# The same with KEYS[1] a gate: when that key exists nothing is charged and {-1, 0} is returned. It lets a caller
# check a mark (a revoked session) and take its buckets in one round trip, in the order it would have done both.
_GATED_BUCKET_SCRIPT = "if redis.call('EXISTS', KEYS[1]) == 1 then return {-1, 0} end\nlocal FIRST = 2\n" + _BUCKET_LOOP


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_ms: int


@dataclass(frozen=True)
class Bucket:
    key: str
    rate_per_second: float
    burst: int
    cost: int = 1


class TokenBucket:
    def __init__(self, redis: Redis) -> None:
        self._script: Any = redis.register_script(_BUCKET_SCRIPT)
        self._gated: Any = redis.register_script(_GATED_BUCKET_SCRIPT)

    async def take(self, key: str, *, rate_per_second: float, burst: int, now_ms: int, cost: int = 1) -> Decision:
        return await self.take_all([Bucket(key, rate_per_second, burst, cost)], now_ms=now_ms)

    async def take_all(self, buckets: list[Bucket], *, now_ms: int) -> Decision:
        allowed, retry = await self._script(keys=[f"rl:{b.key}" for b in buckets], args=_args(buckets, now_ms))
        return Decision(bool(int(allowed)), int(retry))

    async def take_all_unless(self, gate: str, buckets: list[Bucket], *, now_ms: int) -> Decision | None:
        """`take_all`, unless the key `gate` exists: then None, and no bucket is charged."""
        keys = [gate, *(f"rl:{b.key}" for b in buckets)]
        allowed, retry = await self._gated(keys=keys, args=_args(buckets, now_ms))
        if int(allowed) < 0:
            return None
        return Decision(bool(int(allowed)), int(retry))


def _args(buckets: list[Bucket], now_ms: int) -> list[object]:
    args: list[object] = [now_ms]
    for bucket in buckets:
        args += [bucket.rate_per_second, bucket.burst, bucket.cost]
    return args


def per_hour(count: int) -> float:
    return count / 3600.0
