"""Token buckets (§C8): per provider, per campaign (its throttle spread over the minute) and for transactional
traffic, taken together in one Lua call with `now_ms` from the injected clock (never Redis TIME). AIMD: a 429 or
503 halves a provider's rate for 60 s, after which it grows back by 10 % of the base rate per minute."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError

from api.kit.redis import Redis
from api.models.notifications import DeliveryChannel
from api.settings import NotificationsSettings

# KEYS: buckets; ARGV: now_ms, wanted, then rate_per_s and burst per bucket → {granted, ms until the next token}.
# Grants as many as every bucket has whole tokens for, up to `wanted`. A clock that moved backwards (now < ts)
# resets the bucket rather than leaving it stuck until the clock catches up.
_TAKE = """
local now = tonumber(ARGV[1])
local want = tonumber(ARGV[2])
local tokens = {}
local granted = want
for i = 1, #KEYS do
  local rate = tonumber(ARGV[1 + 2 * i])
  local burst = tonumber(ARGV[2 + 2 * i])
  local b = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local t = tonumber(b[1])
  local ts = tonumber(b[2])
  if t == nil or ts == nil or now < ts then
    t = burst
  else
    t = math.min(burst, t + (now - ts) * rate / 1000)
  end
  tokens[i] = t
  if math.floor(t) < granted then granted = math.floor(t) end
end
if granted < 0 then granted = 0 end
local wait = 0
for i = 1, #KEYS do
  local rate = tonumber(ARGV[1 + 2 * i])
  local burst = tonumber(ARGV[2 + 2 * i])
  local left = tokens[i] - granted
  redis.call('HSET', KEYS[i], 'tokens', tostring(left), 'ts', now)
  redis.call('PEXPIRE', KEYS[i], math.ceil(burst * 1000 / rate) + 60000)
  if granted < want and left < 1 then
    local w = math.ceil((1 - left) * 1000 / rate)
    if w > wait then wait = w end
  end
end
return {granted, wait}
"""

HOLD_MS = 60_000
STEP = 0.1  # of the base rate, per minute after the hold
FLOOR = 0.01
AIMD_TTL_MS = 20 * 60_000  # long enough to grow back from the floor


@dataclass(frozen=True)
class Scope:
    key: str
    rate_per_s: float
    burst: float


@dataclass(frozen=True)
class Grant:
    granted: int
    wait_ms: int  # when granted < wanted: how long until the next token


class BucketsUnavailable(Exception):
    """Redis could not be asked: transactional sends go without a bucket, campaign sends wait (§C8)."""


def provider_base_rate(settings: NotificationsSettings, channel: str) -> float:
    if channel == DeliveryChannel.APNS:
        return settings.apns_rate_per_s
    if channel == DeliveryChannel.HUAWEI:
        # 80 % of the vendor's formula: MAU × weight × 0.00072, at least 6,000 QPS (§1.7); weight 1.
        return 0.8 * max(6000.0, settings.huawei_mau * 0.00072)
    if channel == DeliveryChannel.WECHAT:
        return max(1.0, settings.wechat_daily_quota / 86400)
    if channel == DeliveryChannel.SMS:
        return settings.sms_rate_per_s
    return settings.alipay_rate_per_s


def campaign_scope(campaign_id: uuid.UUID, throttle_per_min: int) -> Scope:
    # Spread over the minute: the burst is one second's worth, not the whole minute at once.
    rate = max(throttle_per_min, 1) / 60
    return Scope(f"nb:campaign:{campaign_id}", rate, max(1.0, rate))


def transactional_scope(settings: NotificationsSettings) -> Scope:
    rate = settings.transactional_rate_per_s
    return Scope("nb:tx", rate, max(1.0, rate))


def aimd_factor(factor: float, since_ms: int, now_ms: int) -> float:
    """The share of the base rate in force at `now_ms` after a back-off to `factor` at `since_ms`: held for 60 s,
    then 10 % of the base rate more at the start of each minute, up to the whole rate."""
    elapsed = now_ms - since_ms
    if elapsed < HOLD_MS:
        return factor
    return min(1.0, factor + STEP * (1 + (elapsed - HOLD_MS) // 60_000))


class Buckets:
    def __init__(self, redis: Redis, settings: NotificationsSettings) -> None:
        self._redis = redis
        self._settings = settings

    async def provider_scope(self, channel: str, now: datetime) -> Scope:
        base = provider_base_rate(self._settings, channel)
        rate = base * await self.factor(channel, now)
        return Scope(f"nb:provider:{channel}", rate, max(1.0, rate))

    async def take(self, scopes: list[Scope], wanted: int, now: datetime) -> Grant:
        if wanted <= 0 or not scopes:
            return Grant(max(wanted, 0), 0)
        args = [str(_ms(now)), str(wanted)]
        for scope in scopes:
            args += [repr(float(scope.rate_per_s)), repr(float(scope.burst))]
        try:
            pending: Any = self._redis.eval(_TAKE, len(scopes), *(s.key for s in scopes), *args)
            granted, wait = await pending
        except (RedisError, OSError) as exc:
            raise BucketsUnavailable(str(exc)) from exc
        return Grant(int(granted), int(wait))

    async def factor(self, channel: str, now: datetime) -> float:
        try:
            pending: Any = self._redis.hmget(f"nb:aimd:{channel}", ["factor", "at"])
            state = await pending
        except (RedisError, OSError) as exc:
            raise BucketsUnavailable(str(exc)) from exc
        if state[0] is None or state[1] is None:
            return 1.0
        return aimd_factor(float(state[0]), int(state[1]), _ms(now))

    async def back_off(self, channel: str, now: datetime) -> float:
        """Halve the provider's rate in force now (a 429, 503 or flow-control answer); returns the new share."""
        halved = max(FLOOR, await self.factor(channel, now) / 2)
        key = f"nb:aimd:{channel}"
        try:
            written: Any = self._redis.hset(key, mapping={"factor": repr(halved), "at": _ms(now)})
            await written
            await self._redis.pexpire(key, AIMD_TTL_MS)
        except (RedisError, OSError) as exc:
            raise BucketsUnavailable(str(exc)) from exc
        return halved


def _ms(moment: datetime) -> int:
    return math.floor(moment.timestamp() * 1000)
