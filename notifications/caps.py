"""Campaign frequency caps (§C10): one slot per campaign request per user per local day, shared by all the
request's interrupting deliveries, taken atomically at send time and idempotent for the same request."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from api.kit.redis import Redis
from api.models.notifications import Delivery, DeliveryChannel, NoticeStatus

# KEYS[1] = cap:{user}:campaign:{yyyymmdd}; ARGV limit, request_id, ttl_s, then seed members → 1 allowed, 0 capped.
# Seeds (today's sent campaign requests, read from the database when the key was missing) are added first, so a
# Redis restart never hands out slots already used.
_TAKE = """
for i = 4, #ARGV do redis.call('SADD', KEYS[1], ARGV[i]) end
if #ARGV >= 4 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3])) end
if redis.call('SISMEMBER', KEYS[1], ARGV[2]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""
TTL_S = 2 * 86400  # outlives the local day in every time zone
SENT = (NoticeStatus.SENT, NoticeStatus.DELIVERED)


def cap_key(user_id: uuid.UUID, now: datetime, tz: ZoneInfo) -> str:
    return f"cap:{user_id}:campaign:{now.astimezone(tz):%Y%m%d}"


async def take_slot(
    redis: Redis, *, user_id: uuid.UUID, request_id: uuid.UUID, now: datetime, tz: ZoneInfo, limit: int
) -> bool:
    """True when the request may interrupt the user today (it holds a slot, now or from an earlier attempt)."""
    key = cap_key(user_id, now, tz)
    seeds: list[str] = []
    if not await redis.exists(key):
        seeds = await _sent_today(user_id, now, tz)
    pending: Any = redis.eval(_TAKE, 1, key, str(limit), str(request_id), str(TTL_S), *seeds)
    return int(await pending) == 1


async def release_slot(redis: Redis, *, user_id: uuid.UUID, request_id: uuid.UUID, now: datetime, tz: ZoneInfo) -> None:
    """Give the slot back: none of the request's capped deliveries was sent."""
    removed: Any = redis.srem(cap_key(user_id, now, tz), str(request_id))
    await removed


async def _sent_today(user_id: uuid.UUID, now: datetime, tz: ZoneInfo) -> list[str]:
    day = now.astimezone(tz).date()
    start = datetime.combine(day, time(), tzinfo=tz)
    rows = (
        await Delivery.filter(
            recipient_user_id=user_id,
            campaign_id__not_isnull=True,
            status__in=SENT,
            sent_at__gte=start,
            sent_at__lt=start + timedelta(days=1),
        )
        .exclude(channel=DeliveryChannel.INBOX)
        .distinct()
        .values_list("request_id", flat=True)
    )
    return sorted({str(r) for r in rows})
