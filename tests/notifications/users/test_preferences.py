"""Preferences and quiet hours (§C9, §C12, N10): the critical guard, the last interrupting channel, the inbox,
campaign opt-in, and quiet windows that may only widen the default."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from api.models import NoticeCategory, NotificationPreference, NotificationSettings
from notifications.deps import NotificationsDeps
from notifications.errors import NotificationsError
from notifications.preferences import (
    PreferencesView,
    covers,
    load_policies,
    my_preferences,
    next_allowed,
    update_preference,
    update_quiet_hours,
)
from tests.notifications.users.support import deps_for, resident
from tests.support.client import Api, LiveServer

SHANGHAI = ZoneInfo("Asia/Shanghai")


def switches(view: PreferencesView, category: str) -> dict[str, bool]:
    entry = next(c for c in view.categories if c.category == category)
    return {s.channel.value: s.enabled for s in entry.channels}


async def stored(user: uuid.UUID) -> list[tuple[str, str, bool]]:
    rows = await NotificationPreference.filter(user_id=user).order_by("category", "channel")
    return [(r.category.value, r.channel, r.enabled) for r in rows]


class TestMyPreferences:
    async def test_everything_is_on_by_default_with_the_default_quiet_window(
        self, api: Api, deps: NotificationsDeps
    ) -> None:
        view = await my_preferences(deps, await resident(api))
        assert [(c.category.value, c.enabled, c.mutable) for c in view.categories] == [
            ("critical", True, False),
            ("service", True, True),
            ("campaign", True, True),
        ]
        assert set(switches(view, "campaign").values()) == {True}
        assert (view.timezone, view.quiet_start, view.quiet_end) == ("Asia/Shanghai", time(21), time(8))

    async def test_campaigns_are_off_until_switched_on_when_they_are_opt_in(self, api: Api, live: LiveServer) -> None:
        user = await resident(api)
        async with deps_for(live, campaign_opt_in=True) as deps:
            before = await my_preferences(deps, user)
            after = await update_preference(deps, user, NoticeCategory.CAMPAIGN, "*", True)
            policy = (await load_policies([user], settings=deps.settings))[user]
        assert switches(before, "campaign") == {
            "push": False,
            "wechat": False,
            "alipay": False,
            "sms": False,
            "inbox": True,
        }
        assert set(switches(after, "campaign").values()) == {True}
        assert policy.allows("campaign", "push")


class TestUpdatePreference:
    async def test_mutes_push_for_campaigns_and_every_channel_for_service(
        self, api: Api, deps: NotificationsDeps
    ) -> None:
        # given / when (N10)
        user = await resident(api)
        await update_preference(deps, user, NoticeCategory.CAMPAIGN, "push", False)
        view = await update_preference(deps, user, NoticeCategory.SERVICE, "*", False)
        # then
        policy = (await load_policies([user]))[user]
        assert not policy.allows("campaign", "push") and policy.allows("campaign", "wechat")
        assert [policy.allows("service", c) for c in ("push", "wechat", "alipay", "sms", "inbox")] == [
            False,
            False,
            False,
            False,
            True,
        ]
        assert all(policy.allows("critical", c) for c in ("push", "wechat", "alipay", "sms"))
        assert switches(view, "service")["inbox"] is True

    async def test_a_channel_switch_overrides_the_category_and_the_category_resets_channels(
        self, api: Api, deps: NotificationsDeps
    ) -> None:
        user = await resident(api)
        await update_preference(deps, user, NoticeCategory.SERVICE, "*", False)
        await update_preference(deps, user, NoticeCategory.SERVICE, "wechat", True)
        policy = (await load_policies([user]))[user]
        assert (policy.allows("service", "wechat"), policy.allows("service", "push")) == (True, False)
        # when the whole category is switched again, its channel switches go
        await update_preference(deps, user, NoticeCategory.SERVICE, "*", False)
        assert await stored(user) == [("service", "*", False)]

    async def test_muting_critical_is_refused_and_changes_nothing(self, api: Api, deps: NotificationsDeps) -> None:
        user = await resident(api)
        with pytest.raises(NotificationsError) as refused:
            await update_preference(deps, user, NoticeCategory.CRITICAL, "*", False)
        assert refused.value.code == "CRITICAL_NOT_MUTABLE"
        assert await stored(user) == []

    async def test_critical_channels_can_be_chosen_while_one_interrupting_channel_stays(
        self, api: Api, deps: NotificationsDeps
    ) -> None:
        # given: push, WeChat and Alipay off for critical notices
        user = await resident(api)
        for channel in ("push", "wechat", "alipay"):
            await update_preference(deps, user, NoticeCategory.CRITICAL, channel, False)
        # when: the last one, SMS, is switched off
        with pytest.raises(NotificationsError) as refused:
            await update_preference(deps, user, NoticeCategory.CRITICAL, "sms", False)
        # then
        assert (refused.value.code, refused.value.path) == ("CRITICAL_NOT_MUTABLE", ["channel"])
        assert await stored(user) == [
            ("critical", "alipay", False),
            ("critical", "push", False),
            ("critical", "wechat", False),
        ]
        policy = (await load_policies([user]))[user]
        assert policy.allows("critical", "sms") and not policy.allows("critical", "push")

    async def test_the_inbox_cannot_be_switched_off(self, api: Api, deps: NotificationsDeps) -> None:
        user = await resident(api)
        with pytest.raises(NotificationsError) as refused:
            await update_preference(deps, user, NoticeCategory.CAMPAIGN, "inbox", False)
        assert (refused.value.code, refused.value.path) == ("INVALID_INPUT", ["channel"])
        assert await stored(user) == []

    @pytest.mark.parametrize(
        ("category", "channel", "path"), [("news", "*", "category"), ("service", "fax", "channel")]
    )
    async def test_unknown_categories_and_channels_are_refused(
        self, api: Api, deps: NotificationsDeps, category: str, channel: str, path: str
    ) -> None:
        user = await resident(api)
        with pytest.raises(NotificationsError) as refused:
            await update_preference(deps, user, category, channel, False)
        assert (refused.value.code, refused.value.path) == ("INVALID_INPUT", [path])
        assert await stored(user) == []


class TestUpdateQuietHours:
    async def test_a_wider_window_is_kept(self, api: Api, deps: NotificationsDeps) -> None:
        user = await resident(api)
        view = await update_quiet_hours(deps, user, time(20, 30), time(9))
        row = await NotificationSettings.get(user_id=user)
        assert (row.quiet_start.replace(tzinfo=None), row.quiet_end.replace(tzinfo=None), row.timezone) == (
            time(20, 30),
            time(9),
            "Asia/Shanghai",
        )
        assert (view.quiet_start, view.quiet_end) == (time(20, 30), time(9))
        policy = (await load_policies([user]))[user]
        # 08:30 local is quiet for this user, not by default
        at = datetime(2030, 3, 4, 8, 30, tzinfo=SHANGHAI)
        assert policy.quiet_until(at) == datetime(2030, 3, 4, 9, tzinfo=SHANGHAI)

    async def test_a_second_change_replaces_the_first_and_keeps_the_time_zone(
        self, api: Api, deps: NotificationsDeps
    ) -> None:
        user = await resident(api)
        await update_quiet_hours(deps, user, time(20), time(9), timezone="Asia/Urumqi")
        view = await update_quiet_hours(deps, user, time(21), time(8, 30))
        assert (view.timezone, view.quiet_start, view.quiet_end) == ("Asia/Urumqi", time(21), time(8, 30))
        assert await NotificationSettings.filter(user_id=user).count() == 1

    async def test_an_unknown_time_zone_is_refused(self, api: Api, deps: NotificationsDeps) -> None:
        user = await resident(api)
        with pytest.raises(NotificationsError) as refused:
            await update_quiet_hours(deps, user, time(20), time(9), timezone="Mars/Olympus")
        assert (refused.value.code, refused.value.path) == ("INVALID_INPUT", ["timezone"])
        assert not await NotificationSettings.exists(user_id=user)

    @pytest.mark.parametrize(
        ("start", "end"), [(time(22), time(8)), (time(21), time(7, 59)), (time(23), time(6)), (time(8), time(21))]
    )
    async def test_a_window_not_covering_the_default_is_refused(
        self, api: Api, deps: NotificationsDeps, start: time, end: time
    ) -> None:
        user = await resident(api)
        with pytest.raises(NotificationsError) as refused:
            await update_quiet_hours(deps, user, start, end)
        assert refused.value.code == "QUIET_HOURS_TOO_NARROW"
        assert not await NotificationSettings.exists(user_id=user)


class TestCovers:
    @pytest.mark.parametrize(
        ("window", "expected"),
        [
            ((time(21), time(8)), True),
            ((time(20), time(9)), True),
            ((time(12), time(12, 30)), False),
            ((time(21), time(21)), False),
            ((time(0), time(23, 59)), False),
            ((time(18), time(10)), True),
        ],
    )
    def test_across_midnight(self, window: tuple[time, time], expected: bool) -> None:
        assert covers(*window, time(21), time(8)) is expected


class TestNextAllowed:
    @pytest.mark.parametrize(
        ("local", "expected"),
        [
            (datetime(2025, 6, 1, 22, 30), datetime(2025, 6, 2, 8)),
            (datetime(2025, 6, 2, 7, 59), datetime(2025, 6, 2, 8)),
            (datetime(2025, 6, 2, 8, 0), datetime(2025, 6, 2, 8)),
            (datetime(2025, 6, 1, 20, 59), datetime(2025, 6, 1, 20, 59)),
            (datetime(2025, 6, 1, 21, 0), datetime(2025, 6, 2, 8)),
        ],
    )
    def test_the_default_window(self, local: datetime, expected: datetime) -> None:
        now = local.replace(tzinfo=SHANGHAI).astimezone(UTC)
        assert next_allowed(now, SHANGHAI, time(21), time(8)) == expected.replace(tzinfo=SHANGHAI)
