"""The bulk writes of a campaign snapshot page (notifications.md §3: 1,000,000 residents materialised in ≤ 60 s).

On PostgreSQL a page is one `INSERT … SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING` per table: no ORM
object per row, and `RETURNING` names exactly the requests that are new, so a page replayed after a crash adds
and counts nothing twice. Elsewhere (SQLite, the embedded mode) the ORM's bulk_create path of
`requests.insert_requests` does the same, with the existing keys read first.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient

from api.models.notifications import CampaignRecipient, NotificationRequest, RequestStatus
from notifications.requests import NewRequest, insert_requests

READ_BATCH = 500

_PG_RECIPIENTS = """
INSERT INTO campaign_recipient (campaign_id, run_no, user_id, root_id, page_key)
SELECT $1::uuid, $2::int, t.user_id, t.root_id, t.page_key
FROM unnest($3::uuid[], $4::text[], $5::text[]) AS t(user_id, root_id, page_key)
ON CONFLICT (campaign_id, run_no, user_id) DO NOTHING
"""

# Everything but the recipient, its parameters and its dedup key is the same for a whole page: scalars, not arrays.
_PG_REQUESTS = """
INSERT INTO notification_request (id, created_at, kind, category, topic, key, state_version, recipient_user_id,
    template_code, template_version, locale, params, dedup_key, priority, not_before, expires_at, campaign_id, status)
SELECT gen_random_uuid(), $1::timestamptz, $2::text, $3::text, $4::text, $5::text, $6::bigint, t.recipient_user_id,
    $7::text, $8::int, $9::text, t.params::jsonb, t.dedup_key, $10::int, $11::timestamptz, $12::timestamptz,
    $13::uuid, $14::text
FROM unnest($15::uuid[], $16::text[], $17::text[]) AS t(recipient_user_id, params, dedup_key)
ON CONFLICT (dedup_key) DO NOTHING
RETURNING id, recipient_user_id
"""


async def relaxed_commit(db: BaseDBAsyncClient) -> None:
    """A page's commit does not wait for its WAL flush (PostgreSQL). Safe here: should the server lose the last
    pages, it loses their keyset position with them and the run redoes them; and anything that acted on them (a
    plan job's synchronous commit) flushed the WAL before them first."""
    if _postgres(db):
        await db.execute_script("SET LOCAL synchronous_commit TO OFF")


def _postgres(db: BaseDBAsyncClient) -> bool:
    return bool(db.capabilities.dialect == "postgres")


async def insert_recipients(
    db: BaseDBAsyncClient,
    campaign_id: uuid.UUID,
    run_no: int,
    users: list[uuid.UUID],
    roots: list[str],
    keys: list[str],
) -> None:
    """One run's recipients (user, root id, page key); a user already in the run stays as first recorded."""
    if not users:
        return
    if _postgres(db):
        await db.execute_query(_PG_RECIPIENTS, [campaign_id, run_no, users, roots, keys])
        return
    await CampaignRecipient.bulk_create(
        [
            CampaignRecipient(campaign_id=campaign_id, run_no=run_no, user_id=u, root_id=r, page_key=k)
            for u, r, k in zip(users, roots, keys, strict=True)
        ],
        batch_size=150,
        ignore_conflicts=True,
        using_db=db,
    )


@dataclass(frozen=True)
class PageRequests:
    """One page of a campaign run: the fields every request shares (`prototype`, whose recipient, parameters and
    dedup key are ignored), then per request its recipient, parameters and dedup key."""

    prototype: NewRequest
    users: list[uuid.UUID]
    params: list[Mapping[str, Any]]
    dedup_keys: list[str]


async def insert_page_requests(
    db: BaseDBAsyncClient, page: PageRequests, now: datetime
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Insert the requests whose dedup key is new; (request id, recipient) of exactly those, in no given order."""
    if not page.users:
        return []
    first = page.prototype
    if _postgres(db):
        encoded: dict[int, str] = {}  # most pages share one parameters object: serialise it once
        params = [encoded.get(id(p)) or encoded.setdefault(id(p), orjson.dumps(dict(p)).decode()) for p in page.params]
        inserted = await db.execute_query_dict(  # execute_query drops the rows an INSERT returns
            _PG_REQUESTS,
            [
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
                first.campaign_id,
                RequestStatus.PENDING.value,
                page.users,
                params,
                page.dedup_keys,
            ],
        )
        return [(row["id"], row["recipient_user_id"]) for row in inserted]
    rows = [
        replace(first, recipient_user_id=u, params=p, dedup_key=k)
        for u, p, k in zip(page.users, page.params, page.dedup_keys, strict=True)
    ]
    existing = await _existing_keys([r.dedup_key for r in rows], db)
    fresh = [r for r in rows if r.dedup_key not in existing]
    ids = await insert_requests(fresh, now=now, db=db)
    return [(ids[r.dedup_key], r.recipient_user_id) for r in fresh]


async def _existing_keys(keys: list[str], db: BaseDBAsyncClient) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), READ_BATCH):
        chunk = keys[start : start + READ_BATCH]
        rows = await NotificationRequest.filter(dedup_key__in=chunk).using_db(db).values_list("dedup_key", flat=True)
        found.update(str(k) for k in rows)
    return found
