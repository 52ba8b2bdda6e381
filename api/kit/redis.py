"""Redis helpers: connection factory (server or in-process fakeredis) and a token-bucket rate limiter."""

from __future__ import annotations

import math
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


# KEYS[1] bucket; ARGV: rate per second, burst, now in ms, cost. Returns {allowed, retry_after_ms}.
# The bucket stores tokens and the time they were counted, so concurrent API instances share one budget.
_BUCKET_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = burst; ts = now end
if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate / 1000); ts = now end
local allowed = 0
local retry = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry = math.ceil((cost - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 't', tokens, 'ts', ts)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, retry}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_ms: int


class TokenBucket:
    def __init__(self, redis: Redis) -> None:
        self._script: Any = redis.register_script(_BUCKET_SCRIPT)

    async def take(self, key: str, *, rate_per_second: float, burst: int, now_ms: int, cost: int = 1) -> Decision:
        allowed, retry = await self._script(keys=[f"rl:{key}"], args=[rate_per_second, burst, now_ms, cost])
        return Decision(bool(int(allowed)), int(retry))


def per_hour(count: int) -> float:
    return count / 3600.0


def ceil_ms(seconds: float) -> int:
    return math.ceil(seconds * 1000)
