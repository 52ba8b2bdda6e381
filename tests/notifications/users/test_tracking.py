"""Open tracking (§C13, N15): once per delivery, the caller's own only, counted only when the open is new."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from api.models import Delivery, DeliveryChannel, InboxItem, NoticeCategory, StatBucket
from notifications.deps import NotificationsDeps
from notifications.errors import NotificationsError
from notifications.inbox import write_item
from notifications.stats import hour_of
from notifications.templates import Rendered
from notifications.tracking import track_clicked, track_opened
from tests.notifications.users.support import resident, sent_delivery
from tests.support.client import Api


async def opened(scope: str, channel: str) -> list[int]:
    return [b.count for b in await StatBucket.filter(scope=scope, channel=channel, metric="opened")]


class TestTrackOpened:
    async def test_sets_opened_once_and_counts_once(self, api: Api, deps: NotificationsDeps) -> None:
        # given: a campaign's push delivery to U
        user, campaign = await resident(api), uuid.uuid4()
        delivery = await sent_delivery(user, campaign_id=campaign)
        first_open = deps.clock.now()
        # when: the app reports the open twice
        once = await track_opened(deps, user, delivery.id)
        deps.clock.advance(timedelta(minutes=3))  # type: ignore[attr-defined]
        twice = await track_opened(deps, user, delivery.id)
        # then
        assert once.opened_at == twice.opened_at == first_open
        assert await opened(f"campaign:{campaign}", "apns") == [1]
        bucket = await StatBucket.get(scope=f"campaign:{campaign}", metric="opened")
        assert bucket.hour == hour_of(first_open)

    async def test_counts_a_transactional_open_under_its_topic(self, api: Api, deps: NotificationsDeps) -> None:
        user = await resident(api)
        topic = f"application.test_{uuid.uuid4().hex[:8]}"
        delivery = await sent_delivery(user, topic=topic, channel=DeliveryChannel.HUAWEI)
        await track_opened(deps, user, delivery.id)
        assert await opened(f"topic:{topic}", "huawei") == [1]

    async def test_another_users_or_an_unknown_id_is_not_found_and_changes_nothing(
        self, api: Api, deps: NotificationsDeps
    ) -> None:
        user, other = await resident(api), await resident(api)
        campaign = uuid.uuid4()
        theirs = await sent_delivery(other, campaign_id=campaign)
        for delivery_id in (theirs.id, uuid.uuid4()):
            with pytest.raises(NotificationsError) as refused:
                await track_opened(deps, user, delivery_id)
            assert (refused.value.code, refused.value.path) == ("NOT_FOUND", ["deliveryId"])
        assert (await Delivery.get(id=theirs.id)).opened_at is None
        assert await opened(f"campaign:{campaign}", "apns") == []

    async def test_opening_the_inbox_delivery_reads_its_item(self, api: Api, deps: NotificationsDeps) -> None:
        user = await resident(api)
        delivery = await sent_delivery(user, channel=DeliveryChannel.INBOX)
        rendered = Rendered("办件已受理", "全文", "zsb://applications/C42", {})
        item = await write_item(
            None,
            user_id=user,
            request_id=delivery.request_id,
            delivery_id=delivery.id,
            category=NoticeCategory.SERVICE,
            rendered=rendered,
            now=deps.clock.now(),
        )
        assert item is not None
        await track_opened(deps, user, delivery.id)
        assert (await InboxItem.get(id=item.id)).read_at == deps.clock.now()


class TestTrackClicked:
    async def test_a_click_is_counted_once_and_is_an_open_too(self, api: Api, deps: NotificationsDeps) -> None:
        user, campaign = await resident(api), uuid.uuid4()
        delivery = await sent_delivery(user, campaign_id=campaign)
        await track_clicked(deps, user, delivery.id)
        deps.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
        clicked = await track_clicked(deps, user, delivery.id)
        scope = f"campaign:{campaign}"
        assert clicked.clicked_at == clicked.opened_at == deps.clock.now() - timedelta(minutes=1)
        assert await opened(scope, "apns") == [1]
        assert [b.count for b in await StatBucket.filter(scope=scope, metric="clicked")] == [1]

    async def test_another_users_delivery_is_not_found(self, api: Api, deps: NotificationsDeps) -> None:
        user, other = await resident(api), await resident(api)
        theirs = await sent_delivery(other)
        with pytest.raises(NotificationsError) as refused:
            await track_clicked(deps, user, theirs.id)
        assert refused.value.code == "NOT_FOUND"
        stored = await Delivery.get(id=theirs.id)
        assert (stored.opened_at, stored.clicked_at) == (None, None)
