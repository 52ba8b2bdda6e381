"""Inserting notification requests (§C5, §C7 layer 1): `INSERT … ON CONFLICT DO NOTHING` on the unique dedup key,
then the ids read back by key. A producer retry or a replayed event gets the existing id, and the surrounding
transaction (the producer's, or the relay's receipt transaction) never sees an integrity error."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from api.models.notifications import NoticeCategory, NoticeKind, NotificationRequest, RequestStatus

# SQLite allows 999 bound variables in one statement before 3.32; a request row binds 18.
_INSERT_BATCH = 50
_READ_BATCH = 500


@dataclass(frozen=True)
class NewRequest:
    kind: NoticeKind
    category: NoticeCategory
    topic: str
    key: str
    state_version: int
    recipient_user_id: uuid.UUID
    template_code: str
    template_version: int
    params: Mapping[str, Any]
    dedup_key: str
    priority: int = 10
    not_before: datetime | None = None
    expires_at: datetime | None = None
    campaign_id: uuid.UUID | None = None
    locale: str = "zh-CN"


def transactional_dedup_key(topic: str, key: str, state_version: int, recipient: uuid.UUID) -> str:
    return f"{topic}:{key}:{state_version}:{recipient}"


async def insert_requests(
    rows: Sequence[NewRequest], *, now: datetime, db: BaseDBAsyncClient | None = None
) -> dict[str, uuid.UUID]:
    """The request id of every row by dedup key, whether inserted now or earlier."""
    if not rows:
        return {}
    fresh = [
        NotificationRequest(
            id=uuid.uuid4(),
            created_at=now,
            kind=r.kind,
            category=r.category,
            topic=r.topic,
            key=r.key,
            state_version=r.state_version,
            recipient_user_id=r.recipient_user_id,
            template_code=r.template_code,
            template_version=r.template_version,
            locale=r.locale,
            params=dict(r.params),
            dedup_key=r.dedup_key,
            priority=r.priority,
            not_before=r.not_before,
            expires_at=r.expires_at,
            campaign_id=r.campaign_id,
            status=RequestStatus.PENDING,
        )
        for r in rows
    ]
    await NotificationRequest.bulk_create(fresh, batch_size=_INSERT_BATCH, ignore_conflicts=True, using_db=db)
    keys = list(dict.fromkeys(r.dedup_key for r in rows))
    found: dict[str, uuid.UUID] = {}
    for start in range(0, len(keys), _READ_BATCH):
        chunk = keys[start : start + _READ_BATCH]
        query = NotificationRequest.filter(dedup_key__in=chunk)
        if db is not None:
            query = query.using_db(db)
        for dedup_key, request_id in await query.values_list("dedup_key", "id"):
            found[str(dedup_key)] = request_id if isinstance(request_id, uuid.UUID) else uuid.UUID(str(request_id))
    return found
