"""The inbox (§C12, §C14): one item per request, newest first with opaque cursors, unread counts, mark-read of
the caller's items only, and updates over Redis pub/sub."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

import pytest

from api.kit.errors import AppError
from api.models import InboxItem, NoticeCategory
from notifications.deps import INBOX_CHANNEL_PREFIX, NotificationsDeps
from notifications.errors import NotificationsError
from notifications.inbox import InboxUpdate, inbox_page, mark_read, publish_update, updates, write_item
from notifications.templates import Rendered
from tests.notifications.users.support import resident
from tests.support.client import Api


async def fill(deps: NotificationsDeps, user: uuid.UUID, count: int) -> list[InboxItem]:
    """`count` items a minute apart, oldest first."""
    items = []
    for n in range(count):
        rendered = Rendered(f"通知 {n}", f"第 {n} 条通知的全文", f"zsb://applications/{n}", {})
        item = await write_item(
            None,
            user_id=user,
            request_id=uuid.uuid4(),
            delivery_id=uuid.uuid4(),
            category=NoticeCategory.SERVICE,
            rendered=rendered,
            now=deps.clock.now() + timedelta(minutes=n),
        )
        assert item is not None
        items.append(item)
    return items


class TestWriteItem:
    async def test_one_item_per_request(self, api: Api, deps: NotificationsDeps) -> None:
        user, request = await resident(api), uuid.uuid4()
        rendered = Rendered("办件已受理", "全文" * 3000, "zsb://applications/C42", {})
        kwargs = {"user_id": user, "request_id": request, "category": NoticeCategory.CRITICAL, "now": deps.clock.now()}
        first = await write_item(None, delivery_id=uuid.uuid4(), rendered=rendered, **kwargs)  # type: ignore[arg-type]
        again = await write_item(None, delivery_id=uuid.uuid4(), rendered=rendered, **kwargs)  # type: ignore[arg-type]
        assert first is not None and again is None
        rows = await InboxItem.filter(request_id=request)
        assert [(r.id, r.body, r.read_at) for r in rows] == [(first.id, "全文" * 3000, None)]


class TestInboxPage:
    async def test_pages_newest_first_with_the_unread_count(self, api: Api, deps: NotificationsDeps) -> None:
        # given
        user = await resident(api)
        items = await fill(deps, user, 5)
        # when
        first = await inbox_page(deps, user, 2, None)
        second = await inbox_page(deps, user, 2, first.end_cursor)
        last = await inbox_page(deps, user, 2, second.end_cursor)
        # then
        newest = [i.id for i in reversed(items)]
        assert [i.id for i in first.items] == newest[:2] and first.has_next
        assert [i.id for i in second.items] == newest[2:4] and second.has_next
        assert [i.id for i in last.items] == newest[4:] and not last.has_next
        assert first.unread_count == 5

    async def test_shows_only_the_callers_items(self, api: Api, deps: NotificationsDeps) -> None:
        user, other = await resident(api), await resident(api)
        await fill(deps, other, 2)
        page = await inbox_page(deps, user, 10, None)
        assert (page.items, page.has_next, page.end_cursor, page.unread_count) == ([], False, None, 0)

    async def test_a_cursor_of_another_list_is_refused(self, api: Api, deps: NotificationsDeps) -> None:
        user = await resident(api)
        with pytest.raises(AppError) as refused:
            await inbox_page(deps, user, 10, "bm90LWEtY3Vyc29y")
        assert (refused.value.code, refused.value.path) == ("INVALID_CURSOR", ["after"])


class TestMarkRead:
    async def test_marks_the_callers_items_and_publishes_the_count(self, api: Api, deps: NotificationsDeps) -> None:
        user = await resident(api)
        items = await fill(deps, user, 3)
        async with deps.redis.pubsub() as pubsub:
            await pubsub.subscribe(f"{INBOX_CHANNEL_PREFIX}{user}")
            await pubsub.get_message(timeout=1)  # the subscription confirmation
            # when: one twice, one already read again
            changed = await mark_read(deps, user, [items[0].id, items[1].id, items[0].id])
            again = await mark_read(deps, user, [items[1].id])
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
        # then
        assert (changed, again) == (2, 0)
        assert (await inbox_page(deps, user, 10, None)).unread_count == 1
        assert message is not None and json.loads(message["data"]) == {"itemId": None, "unreadCount": 1}
        read = await InboxItem.get(id=items[0].id)
        assert read.read_at == deps.clock.now()

    async def test_ids_of_someone_else_change_nothing(self, api: Api, deps: NotificationsDeps) -> None:
        user, other = await resident(api), await resident(api)
        theirs = await fill(deps, other, 2)
        changed = await mark_read(deps, user, [t.id for t in theirs] + [uuid.uuid4()])
        assert changed == 0
        assert await InboxItem.filter(user_id=other, read_at=None).count() == 2

    async def test_more_than_a_hundred_ids_are_refused(self, api: Api, deps: NotificationsDeps) -> None:
        user = await resident(api)
        items = await fill(deps, user, 1)
        with pytest.raises(NotificationsError) as refused:
            await mark_read(deps, user, [items[0].id] + [uuid.uuid4() for _ in range(100)])
        assert (refused.value.code, refused.value.path) == ("INVALID_INPUT", ["ids"])
        assert await InboxItem.filter(user_id=user, read_at=None).count() == 1


class TestUpdates:
    async def test_yields_what_is_published_for_the_user_only(self, api: Api, deps: NotificationsDeps) -> None:
        # given: a subscriber of U's updates
        user, other = await resident(api), await resident(api)
        stream = updates(deps.redis, user)
        waiting = asyncio.ensure_future(anext(stream))
        channel = f"{INBOX_CHANNEL_PREFIX}{user}"
        for _ in range(100):
            if dict(await deps.redis.pubsub_numsub(channel)).get(channel.encode()):
                break
            await asyncio.sleep(0.02)
        item = uuid.uuid4()
        # when: W's update, then U's
        await publish_update(deps.redis, other, uuid.uuid4(), 9)
        await publish_update(deps.redis, user, item, 4)
        # then
        assert await asyncio.wait_for(waiting, 5) == InboxUpdate(item, 4)
        await stream.aclose()
        assert not dict(await deps.redis.pubsub_numsub(channel)).get(channel.encode())
