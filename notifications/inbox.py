"""The in-app inbox (站内信, notifications.md §C2, §C12): one item per request, always written, the full text kept;
read state per item; live updates over Redis pub/sub for the `inboxUpdates` subscription."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncGenerator, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.functions import Count

from api.kit.pagination import clamp_first, encode_cursor, moment_id_after
from api.kit.redis import Redis
from api.models import InboxItem, NoticeCategory
from notifications.deps import INBOX_CHANNEL_PREFIX, NotificationsDeps
from notifications.errors import NotificationsError, NotificationsErrorCode
from notifications.templates import Rendered

MAX_MARK = 100
_TITLE_CHARS = 200


@dataclass(frozen=True)
class InboxPage:
    items: list[InboxItem]
    has_next: bool
    end_cursor: str | None
    unread_count: int
    cursors: list[str] | None = None  # one per item, for edges


@dataclass(frozen=True)
class InboxUpdate:
    item_id: uuid.UUID | None  # the new item; None when items were marked read
    unread_count: int


def channel_of(user_id: uuid.UUID) -> str:
    return f"{INBOX_CHANNEL_PREFIX}{user_id}"


async def write_item(
    db: BaseDBAsyncClient | None,
    *,
    user_id: uuid.UUID,
    request_id: uuid.UUID,
    delivery_id: uuid.UUID | None,
    category: NoticeCategory,
    rendered: Rendered,
    now: datetime,
) -> InboxItem | None:
    """The request's inbox item; None when it already has one (a re-run never writes a second, and never aborts
    the caller's transaction: ON CONFLICT DO NOTHING)."""
    item = InboxItem(
        id=uuid.uuid4(),
        created_at=now,
        user_id=user_id,
        request_id=request_id,
        delivery_id=delivery_id,
        category=category,
        title=rendered.title[:_TITLE_CHARS],
        body=rendered.body,
        deeplink=rendered.deeplink[:512],
    )
    await InboxItem.bulk_create([item], ignore_conflicts=True, using_db=db)
    query = InboxItem.filter(id=item.id)
    written = await (query.using_db(db) if db is not None else query).exists()
    return item if written else None


@dataclass(frozen=True)
class NewItem:
    user_id: uuid.UUID
    request_id: uuid.UUID
    delivery_id: uuid.UUID | None
    category: NoticeCategory
    rendered: Rendered


_ITEM_COLUMNS = "id, created_at, user_id, request_id, delivery_id, category, title, body, deeplink"
_ITEMS_PER_STATEMENT = 300  # SQLite binds every value


async def write_items(db: BaseDBAsyncClient, items: Sequence[NewItem], *, now: datetime) -> dict[uuid.UUID, uuid.UUID]:
    """`write_item` for many requests in one INSERT … ON CONFLICT DO NOTHING RETURNING: request id → the new
    item's id, for the requests that had no item yet."""
    rows = [
        [
            str(uuid.uuid4()),
            now,
            str(i.user_id),
            str(i.request_id),
            str(i.delivery_id) if i.delivery_id is not None else None,
            i.category.value,
            i.rendered.title[:_TITLE_CHARS],
            i.rendered.body,
            i.rendered.deeplink[:512],
        ]
        for i in items
    ]
    if not rows:
        return {}
    tail = "ON CONFLICT (request_id) DO NOTHING RETURNING id, request_id"
    written: list[dict[str, object]] = []
    if db.capabilities.dialect == "postgres":
        types = ("uuid", "timestamptz", "uuid", "uuid", "uuid", "text", "text", "text", "text")
        arrays = ", ".join(f"${n}::{t}[]" for n, t in enumerate(types, 1))
        sql = f"INSERT INTO inbox_item ({_ITEM_COLUMNS}) SELECT * FROM unnest({arrays}) {tail}"  # noqa: S608
        written = await db.execute_query_dict(sql, [list(c) for c in zip(*rows, strict=True)])
    else:
        for start in range(0, len(rows), _ITEMS_PER_STATEMENT):
            part = rows[start : start + _ITEMS_PER_STATEMENT]
            values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(part))
            sql = f"INSERT INTO inbox_item ({_ITEM_COLUMNS}) VALUES {values} {tail}"  # noqa: S608
            written += await db.execute_query_dict(sql, [v for row in part for v in row])
    return {uuid.UUID(str(r["request_id"])): uuid.UUID(str(r["id"])) for r in written}


async def unread_counts(user_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Each user's unread items, in one query (users without any: 0)."""
    ids = list(dict.fromkeys(user_ids))
    counts = dict.fromkeys(ids, 0)
    if ids:
        rows = (
            await InboxItem.filter(user_id__in=ids, read_at=None)
            .group_by("user_id")
            .annotate(unread=Count("id"))
            .values_list("user_id", "unread")
        )
        for user_id, unread in rows:
            counts[uuid.UUID(str(user_id))] = int(unread)
    return counts


async def unread_count(user_id: uuid.UUID, db: BaseDBAsyncClient | None = None) -> int:
    query = InboxItem.filter(user_id=user_id, read_at=None)
    return await (query.using_db(db) if db is not None else query).count()


async def publish_update(redis: Redis, user_id: uuid.UUID, item_id: uuid.UUID | None, unread: int) -> None:
    message = {"itemId": str(item_id) if item_id is not None else None, "unreadCount": unread}
    await redis.publish(channel_of(user_id), json.dumps(message))


def _cursor(item: InboxItem) -> str:
    return encode_cursor([item.created_at.isoformat(), str(item.id)])


async def inbox_page(deps: NotificationsDeps, user_id: uuid.UUID, first: int | None, after: str | None) -> InboxPage:
    """The caller's items, newest first, `first` (≤ 100) after the opaque cursor `after`."""
    del deps
    limit = clamp_first(first)
    rows = (
        await InboxItem.filter(user_id=user_id)
        .filter(moment_id_after(after, "created_at"))
        .order_by("-created_at", "-id")
        .limit(limit + 1)
    )
    items = list(rows[:limit])
    cursors = [_cursor(item) for item in items]
    return InboxPage(
        items=items,
        has_next=len(rows) > limit,
        end_cursor=cursors[-1] if cursors else None,
        unread_count=await unread_count(user_id),
        cursors=cursors,
    )


async def mark_read(deps: NotificationsDeps, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> int:
    """Marks the caller's unread items among `ids` read; returns how many changed. Ids of other users' items, of
    items already read, or of nothing are ignored."""
    if len(ids) > MAX_MARK:
        raise NotificationsError(NotificationsErrorCode.INVALID_INPUT, f"at most {MAX_MARK} ids at once", path=["ids"])
    if not ids:
        return 0
    changed = await InboxItem.filter(id__in=list(ids), user_id=user_id, read_at=None).update(read_at=deps.clock.now())
    if changed:
        await publish_update(deps.redis, user_id, None, await unread_count(user_id))
    return changed


def _update(data: object) -> InboxUpdate | None:
    try:
        message = json.loads(data if isinstance(data, str | bytes) else str(data))
        item = message.get("itemId")
        return InboxUpdate(uuid.UUID(item) if item else None, int(message["unreadCount"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


async def updates(redis: Redis, user_id: uuid.UUID) -> AsyncGenerator[InboxUpdate, None]:
    """The caller's inbox updates as they are published, until the consumer stops iterating."""
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel_of(user_id))
    try:
        async for message in pubsub.listen():
            if message.get("type") != "message":
                continue
            update = _update(message.get("data"))
            if update is not None:
                yield update
    finally:
        await pubsub.unsubscribe()
        await pubsub.aclose()  # type: ignore[no-untyped-call]
