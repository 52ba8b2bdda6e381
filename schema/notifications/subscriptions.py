"""`inboxUpdates`: a hint after each change of your inbox, served over graphql-transport-ws (schema.websocket)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator

import strawberry

from api.kit.redis import Redis
from notifications import service
from schema.access import CitizenOnly
from schema.context import Info
from schema.notifications.common import caller, deps_of
from schema.notifications.types import InboxUpdate


async def _updates(redis: Redis, user_id: uuid.UUID) -> AsyncGenerator[InboxUpdate, None]:
    async for update in service.updates(redis, user_id):
        item_id = update.item_id
        yield InboxUpdate(
            item_id=None if item_id is None else strawberry.ID(str(item_id)), unread_count=update.unread_count
        )


@strawberry.type
class NotificationsSubscription:
    @strawberry.subscription(
        permission_classes=[CitizenOnly],
        description="Your unread count after each new or read inbox item: a hint to refresh myInbox.",
    )
    async def inbox_updates(self, info: Info) -> AsyncGenerator[InboxUpdate, None]:
        return _updates(deps_of(info).redis, caller(info))
