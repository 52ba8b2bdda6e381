"""Statistics buckets (§C13): one upsert per increment on either database, hour buckets in UTC, the funnel."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from api.models import StatBucket
from notifications.stats import ChannelFunnel, bump, campaign_stats, funnel, scope_for


class TestBump:
    async def test_adds_to_the_bucket_of_the_utc_hour(self, live: object) -> None:
        scope = f"topic:test.{uuid.uuid4().hex[:8]}"
        at = datetime(2030, 3, 4, 10, 15, 30, 123456, tzinfo=UTC)
        await bump(None, scope=scope, channel="apns", metric="sent", at=at)
        await bump(None, scope=scope, channel="apns", metric="sent", at=at + timedelta(minutes=40), count=2)
        await bump(None, scope=scope, channel="apns", metric="sent", at=at + timedelta(minutes=50))
        rows = await StatBucket.filter(scope=scope).order_by("hour")
        assert [(r.channel, r.metric, r.hour, r.count) for r in rows] == [
            ("apns", "sent", datetime(2030, 3, 4, 10, tzinfo=UTC), 3),
            ("apns", "sent", datetime(2030, 3, 4, 11, tzinfo=UTC), 1),
        ]


class TestScopeFor:
    def test_campaigns_and_topics(self) -> None:
        campaign = uuid.uuid4()
        assert scope_for(campaign, "application.accepted") == f"campaign:{campaign}"
        assert scope_for(None, "application.accepted") == "topic:application.accepted"


class TestFunnel:
    async def test_per_channel_with_suppressions_and_failures_by_kind(self, live: object) -> None:
        # given: N15's campaign: 10 targeted, 2 opted out, 1 invalid token, 7 sent, 3 opened
        campaign = uuid.uuid4()
        scope = scope_for(campaign, "")
        at = datetime(2030, 3, 4, 10, tzinfo=UTC)
        for channel, metric, count in (
            ("*", "targeted", 10),
            ("apns", "suppressed:opt_out", 2),
            ("apns", "eligible", 8),
            ("apns", "failed:permanent_failure", 1),
            ("apns", "sent", 6),
            ("huawei", "sent", 1),
            ("apns", "opened", 2),
            ("huawei", "opened", 1),
            ("inbox", "sent", 10),
        ):
            await bump(None, scope=scope, channel=channel, metric=metric, at=at, count=count)
        # when
        channels = await funnel(scope)
        stats = await campaign_stats(campaign)
        # then
        assert [c.channel for c in channels] == ["*", "apns", "huawei", "inbox"]
        assert channels[1] == ChannelFunnel(
            "apns", eligible=8, suppressed={"opt_out": 2}, sent=6, opened=2, failed={"permanent_failure": 1}
        )
        assert [c.channel for c in stats.channels] == ["apns", "huawei", "inbox"]
        total = stats.total
        # the inbox, written for everyone, is not part of the total
        assert (total.targeted, total.suppressed, total.failed, total.sent, total.opened) == (
            10,
            {"opt_out": 2},
            {"permanent_failure": 1},
            7,
            3,
        )

    async def test_an_unknown_scope_is_empty(self, live: object) -> None:
        assert await funnel(f"campaign:{uuid.uuid4()}") == []
