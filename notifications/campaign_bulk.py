"""Writing one page of a campaign snapshot (notifications.md §3: 1,000,000 residents materialised in ≤ 60 s).

A page is atomic: the compare-and-set of the run's keyset position, its CampaignRecipient rows, its new
NotificationRequest rows and their `targeted` count. The position guard means two workers never store a page
twice and a cancelled run stops; `ON CONFLICT DO NOTHING` plus "count only what was inserted" means a replayed
page adds and counts nothing twice.

On PostgreSQL the page is ONE statement (data-modifying CTEs over `unnest` arrays, the request fields every row
shares passed once as scalars): no ORM object per row, one round trip. Elsewhere (SQLite, the embedded mode) it is
a transaction over the ORM, the requests through `requests.insert_requests`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from api.models.notifications import Campaign, CampaignRecipient, CampaignStatus, NotificationRequest, RequestStatus
from notifications import stats
from notifications.requests import NewRequest, insert_requests

READ_BATCH = 500


@dataclass(frozen=True)
class SnapshotPage:
    """One page of a run: its recipients (one row per user) and its requests. `prototype` holds the fields every
    request shares; its recipient, parameters and dedup key are ignored."""

    users: list[uuid.UUID]
    roots: list[str]
    page_keys: list[str]
    prototype: NewRequest
    request_users: list[uuid.UUID]
    request_params: list[Mapping[str, Any]]
    dedup_keys: list[str]


_PG_PAGE = """
WITH moved AS (
    UPDATE campaign SET materialized_key = $4::text
    WHERE id = $1::uuid AND status = $5::text AND run_no = $2::int AND materialized_key IS NOT DISTINCT FROM $3::text
    RETURNING id
), recipients AS (
    INSERT INTO campaign_recipient (campaign_id, run_no, user_id, root_id, page_key)
    SELECT $1::uuid, $2::int, t.user_id, t.root_id, t.page_key
    FROM unnest($6::uuid[], $7::text[], $8::text[]) AS t(user_id, root_id, page_key)
    WHERE EXISTS (SELECT 1 FROM moved)
    ON CONFLICT (campaign_id, run_no, user_id) DO NOTHING
), requests AS (
    INSERT INTO notification_request (id, created_at, kind, category, topic, key, state_version, recipient_user_id,
        template_code, template_version, locale, params, dedup_key, priority, not_before, expires_at, campaign_id,
        status)
    SELECT gen_random_uuid(), $9::timestamptz, $10::text, $11::text, $12::text, $13::text, $14::bigint,
        t.recipient_user_id, $15::text, $16::int, $17::text, t.params::jsonb, t.dedup_key, $18::int,
        $19::timestamptz, $20::timestamptz, $1::uuid, $21::text
    FROM unnest($22::uuid[], $23::text[], $24::text[]) AS t(recipient_user_id, params, dedup_key)
    WHERE EXISTS (SELECT 1 FROM moved)
    ON CONFLICT (dedup_key) DO NOTHING
    RETURNING id, recipient_user_id
), targeted AS (
    INSERT INTO stat_bucket (scope, channel, metric, hour, count)
    SELECT $25::text, $26::text, 'targeted', $27::timestamptz, count(DISTINCT recipient_user_id) FROM requests
    HAVING count(*) > 0
    ON CONFLICT (scope, channel, metric, hour) DO UPDATE SET count = stat_bucket.count + EXCLUDED.count
)
SELECT r.id AS request_id FROM moved LEFT JOIN requests r ON true
"""


async def write_page(
    campaign_id: uuid.UUID, run_no: int, old_key: str | None, new_key: str | None, page: SnapshotPage, now: datetime
) -> list[uuid.UUID] | None:
    """Store a page if the run is still at `old_key`, moving it to `new_key`: the new request ids, or None when
    another worker or a cancel moved the run first (then nothing is written)."""
    db = connections.get("default")
    if db.capabilities.dialect == "postgres":
        return await _write_page_postgres(db, campaign_id, run_no, old_key, new_key, page, now)
    async with in_transaction() as tx:
        position = {"materialized_key": old_key} if old_key is not None else {"materialized_key__isnull": True}
        moved = (
            await Campaign.filter(id=campaign_id, status=CampaignStatus.MATERIALIZING, run_no=run_no, **position)
            .using_db(tx)
            .update(materialized_key=new_key)
        )
        if not moved:
            return None
        await CampaignRecipient.bulk_create(
            [
                CampaignRecipient(campaign_id=campaign_id, run_no=run_no, user_id=u, root_id=r, page_key=k)
                for u, r, k in zip(page.users, page.roots, page.page_keys, strict=True)
            ],
            batch_size=150,
            ignore_conflicts=True,
            using_db=tx,
        )
        rows = [
            replace(page.prototype, recipient_user_id=u, params=p, dedup_key=k)
            for u, p, k in zip(page.request_users, page.request_params, page.dedup_keys, strict=True)
        ]
        existing = await _existing_keys([r.dedup_key for r in rows], tx)
        fresh = [r for r in rows if r.dedup_key not in existing]
        ids = await insert_requests(fresh, now=now, db=tx)
        targeted = len({r.recipient_user_id for r in fresh})
        if targeted:
            scope = stats.scope_for(campaign_id, "campaign")
            await stats.bump(tx, scope=scope, channel=stats.ANY_CHANNEL, metric="targeted", at=now, count=targeted)
        return [ids[r.dedup_key] for r in fresh]


async def _write_page_postgres(
    db: BaseDBAsyncClient,
    campaign_id: uuid.UUID,
    run_no: int,
    old_key: str | None,
    new_key: str | None,
    page: SnapshotPage,
    now: datetime,
) -> list[uuid.UUID] | None:
    first = page.prototype
    encoded: dict[int, str] = {}  # most pages share one parameters object: serialise it once
    params = [
        encoded.get(id(p)) or encoded.setdefault(id(p), orjson.dumps(dict(p)).decode()) for p in page.request_params
    ]
    rows = await db.execute_query_dict(  # execute_query would drop the rows of a statement that writes
        _PG_PAGE,
        [
            campaign_id,
            run_no,
            old_key,
            new_key,
            CampaignStatus.MATERIALIZING.value,
            page.users,
            page.roots,
            page.page_keys,
            now,
            str(first.kind),
            str(first.category),
            first.topic,
            first.key,
            first.state_version,
            first.template_code,
            first.template_version,
            first.locale,
            first.priority,
            first.not_before,
            first.expires_at,
            RequestStatus.PENDING.value,
            page.request_users,
            params,
            page.dedup_keys,
            stats.scope_for(campaign_id, "campaign"),
            stats.ANY_CHANNEL,
            stats.hour_of(now),
        ],
    )
    if not rows:
        return None
    return [row["request_id"] for row in rows if row["request_id"] is not None]


async def _existing_keys(keys: list[str], db: BaseDBAsyncClient) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), READ_BATCH):
        chunk = keys[start : start + READ_BATCH]
        rows = await NotificationRequest.filter(dedup_key__in=chunk).using_db(db).values_list("dedup_key", flat=True)
        found.update(str(k) for k in rows)
    return found
