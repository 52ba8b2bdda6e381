"""Open tracking (notifications.md §C13): `trackNotificationOpened` sets `opened_at` once, for the caller's own
deliveries only, and counts the open in the same transaction only when that compare-and-set changed the row."""

from __future__ import annotations

import uuid

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from api.models import Delivery, DeliveryChannel, InboxItem, NotificationRequest
from notifications import inbox, stats
from notifications.deps import NotificationsDeps
from notifications.errors import NotificationsError, NotificationsErrorCode


async def _own(user_id: uuid.UUID, delivery_id: uuid.UUID) -> Delivery:
    delivery = await Delivery.get_or_none(id=delivery_id, recipient_user_id=user_id)
    if delivery is None:
        raise NotificationsError(NotificationsErrorCode.NOT_FOUND, "no such notification", path=["deliveryId"])
    return delivery


async def _scope(db: BaseDBAsyncClient, delivery: Delivery) -> str:
    topic = (
        await NotificationRequest.filter(id=delivery.request_id).using_db(db).first().values_list("topic", flat=True)
    )
    return stats.scope_for(delivery.campaign_id, str(topic or ""))


async def track_opened(deps: NotificationsDeps, user_id: uuid.UUID, delivery_id: uuid.UUID) -> Delivery:
    """The delivery, opened; NOT_FOUND (nothing changes) for an unknown id or another user's. Opening the inbox
    delivery also marks its inbox item read."""
    delivery = await _own(user_id, delivery_id)
    now = deps.clock.now()
    read = 0
    async with in_transaction() as db:
        opened = await Delivery.filter(id=delivery.id, opened_at=None).using_db(db).update(opened_at=now)
        if opened:
            scope = await _scope(db, delivery)
            await stats.bump(db, scope=scope, channel=delivery.channel.value, metric="opened", at=now)
            if delivery.channel is DeliveryChannel.INBOX:
                read = (
                    await InboxItem.filter(request_id=delivery.request_id, user_id=user_id, read_at=None)
                    .using_db(db)
                    .update(read_at=now)
                )
    if read:
        await inbox.publish_update(deps.redis, user_id, None, await inbox.unread_count(user_id))
    return await Delivery.get(id=delivery.id)


async def track_clicked(deps: NotificationsDeps, user_id: uuid.UUID, delivery_id: uuid.UUID) -> Delivery:
    """The deeplink landing: `clicked_at` once, counted once; a click is an open too. NOT_FOUND as for opens."""
    await track_opened(deps, user_id, delivery_id)
    delivery = await _own(user_id, delivery_id)
    now = deps.clock.now()
    async with in_transaction() as db:
        if await Delivery.filter(id=delivery.id, clicked_at=None).using_db(db).update(clicked_at=now):
            scope = await _scope(db, delivery)
            await stats.bump(db, scope=scope, channel=delivery.channel.value, metric="clicked", at=now)
    return await Delivery.get(id=delivery.id)
