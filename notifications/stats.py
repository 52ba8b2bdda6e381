"""Statistics buckets and the funnel (notifications.md §C13).

Counters are hourly `StatBucket` rows per (scope, channel, metric), incremented by one upsert in the transaction
of the status change they count, and only when its compare-and-set changed a row: retries and duplicate beacons
never count twice. `targeted` is counted per user, not per channel, under channel "*".
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from api.models import StatBucket

ANY_CHANNEL = "*"
INBOX = "inbox"

# Works on PostgreSQL and SQLite ≥ 3.24 alike; the id column is filled by the database.
_UPSERT = (
    "INSERT INTO stat_bucket (scope, channel, metric, hour, count) VALUES ({0}, {1}, {2}, {3}, {4}) "
    "ON CONFLICT (scope, channel, metric, hour) DO UPDATE SET count = stat_bucket.count + EXCLUDED.count"
)


def hour_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def scope_for(campaign_id: uuid.UUID | str | None, topic: str) -> str:
    return f"campaign:{campaign_id}" if campaign_id else f"topic:{topic}"


async def bump(
    db: BaseDBAsyncClient | None, *, scope: str, channel: str, metric: str, at: datetime, count: int = 1
) -> None:
    """Adds `count` to the bucket of `at`'s UTC hour."""
    conn = db if db is not None else connections.get("default")
    if conn.capabilities.dialect == "postgres":
        sql = _UPSERT.format("$1", "$2", "$3", "$4", "$5")
    else:
        sql = _UPSERT.format("?", "?", "?", "?", "?")
    await conn.execute_query(sql, [scope, str(channel), metric, hour_of(at), count])


@dataclass(frozen=True)
class ChannelFunnel:
    channel: str
    targeted: int = 0
    eligible: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)  # by reason
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    failed: dict[str, int] = field(default_factory=dict)  # by final status


@dataclass(frozen=True)
class CampaignStats:
    campaign_id: uuid.UUID
    # Every interrupting channel together (channel "*") with the campaign's targeted users; the inbox, written for
    # every request whatever happens on the other channels, is left out of it and shown among `channels`.
    total: ChannelFunnel
    channels: list[ChannelFunnel]


def _funnel(channel: str, counts: dict[str, int]) -> ChannelFunnel:
    def grouped(prefix: str) -> dict[str, int]:
        return {m.split(":", 1)[1]: n for m, n in sorted(counts.items()) if m.startswith(prefix + ":")}

    return ChannelFunnel(
        channel=channel,
        suppressed=grouped("suppressed"),
        failed=grouped("failed"),
        targeted=counts.get("targeted", 0),
        eligible=counts.get("eligible", 0),
        sent=counts.get("sent", 0),
        delivered=counts.get("delivered", 0),
        opened=counts.get("opened", 0),
        clicked=counts.get("clicked", 0),
    )


async def _counts(scope: str) -> dict[str, dict[str, int]]:
    per_channel: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for channel, metric, count in await StatBucket.filter(scope=scope).values_list("channel", "metric", "count"):
        per_channel[channel][metric] += int(count)
    return per_channel


async def funnel(scope: str) -> list[ChannelFunnel]:
    """One funnel per channel of `scope` (by channel name; "*" carries `targeted`)."""
    per_channel = await _counts(scope)
    return [_funnel(channel, per_channel[channel]) for channel in sorted(per_channel)]


async def campaign_stats(campaign_id: uuid.UUID) -> CampaignStats:
    per_channel = await _counts(scope_for(campaign_id, ""))
    total: dict[str, int] = defaultdict(int)
    for channel, counts in per_channel.items():
        if channel == INBOX:
            continue
        for metric, count in counts.items():
            total[metric] += count
    channels = [_funnel(c, per_channel[c]) for c in sorted(per_channel) if c != ANY_CHANNEL]
    return CampaignStats(campaign_id, _funnel(ANY_CHANNEL, total), channels)
