"""Statistics buckets and the funnel (notifications.md §C13).

Counters are hourly `StatBucket` rows per (scope, channel, metric), incremented by one upsert in the transaction
of the status change they count, and only when its compare-and-set changed a row: retries and duplicate beacons
never count twice. `targeted` is counted per user, not per channel, under channel "*".
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from api.models import StatBucket

ANY_CHANNEL = "*"
INBOX = "inbox"

# Works on PostgreSQL and SQLite ≥ 3.24 alike; the id column is filled by the database.
_UPSERT = (
    "INSERT INTO stat_bucket (scope, channel, metric, hour, count) {0} "
    "ON CONFLICT (scope, channel, metric, hour) DO UPDATE SET count = stat_bucket.count + EXCLUDED.count"
)
_PG_ROWS = "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::bigint[])"


def hour_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def scope_for(campaign_id: uuid.UUID | str | None, topic: str) -> str:
    return f"campaign:{campaign_id}" if campaign_id else f"topic:{topic}"


async def bump(
    db: BaseDBAsyncClient | None, *, scope: str, channel: str, metric: str, at: datetime, count: int = 1
) -> None:
    """Adds `count` to the bucket of `at`'s UTC hour."""
    await bump_many(db, {(scope, channel, metric): count}, at=at)


async def bump_many(db: BaseDBAsyncClient | None, counts: Mapping[tuple[str, str, str], int], *, at: datetime) -> None:
    """Adds each (scope, channel, metric) count to its bucket of `at`'s UTC hour, all in one upsert. Rows go in
    key order, so concurrent transactions lock the buckets they share in the same order (no deadlock)."""
    items = sorted((key, n) for key, n in counts.items() if n)
    if not items:
        return
    conn = db if db is not None else connections.get("default")
    hour = hour_of(at)
    if conn.capabilities.dialect == "postgres":
        columns: list[list[object]] = [[k[0] for k, _ in items], [str(k[1]) for k, _ in items]]
        columns += [[k[2] for k, _ in items], [hour] * len(items), [n for _, n in items]]
        await conn.execute_query_dict(_UPSERT.format(_PG_ROWS), columns)
        return
    rows = ", ".join(["(?, ?, ?, ?, ?)"] * len(items))
    params = [v for (scope, channel, metric), n in items for v in (scope, str(channel), metric, hour, n)]
    await conn.execute_query_dict(_UPSERT.format(f"VALUES {rows}"), params)


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
