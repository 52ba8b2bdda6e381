"""The pure channel plan (§C12, §C9, §C10 note): fan-out, quotas, SMS fallback, suppress reasons, quiet hours."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from api.kit.clock import SHANGHAI
from api.models.notifications import (
    Fanout,
    NoticeCategory,
    NoticeKind,
    NoticeStatus,
    QuotaKind,
    SuppressReason,
    TemplateChannel,
)
from notifications.identities import ChannelIdentities
from notifications.planner import PlanInput, PlannedDelivery, plan, quiet_release
from notifications.preferences import UserPolicy
from notifications.templates import TemplateVariant, TemplateVersion

USER = uuid.UUID("00000000-0000-4000-8000-000000000001")
DAY = datetime(2025, 6, 1, 14, 0, tzinfo=SHANGHAI)  # 14:00 local: outside the default quiet window
OPENID = "o-wechat-user"
ALIPAY_ID = "2088000000000001"
PHONE = "13800000001"


@dataclass(frozen=True)
class Endpoint:
    id: uuid.UUID
    platform: str
    token: str
    env: str = "prod"


def endpoint(platform: str, token: str) -> Endpoint:
    return Endpoint(uuid.uuid5(USER, token), platform, token)


def template(
    *,
    category: NoticeCategory = NoticeCategory.SERVICE,
    fanout: Fanout = Fanout.FIRST,
    channels: tuple[TemplateChannel, ...] = (TemplateChannel.PUSH, TemplateChannel.WECHAT, TemplateChannel.ALIPAY),
    sms_fallback: bool = False,
    defer: bool = False,
) -> TemplateVersion:
    listed = [*channels, *([TemplateChannel.SMS] if sms_fallback else []), TemplateChannel.INBOX]
    variants = {
        c: TemplateVariant(
            channel=c,
            rank=rank,
            title="标题",
            body="正文",
            wechat_template_id="wx-tpl" if c == TemplateChannel.WECHAT else "",
            alipay_template_id="ali-tpl" if c == TemplateChannel.ALIPAY else "",
            sms_template_code="SMS_1" if c == TemplateChannel.SMS else "",
        )
        for rank, c in enumerate(listed)
    }
    return TemplateVersion("T", 1, "zh-CN", category, fanout, sms_fallback, defer, variants)


def policy(prefs: dict[tuple[str, str], bool] | None = None, start: str = "21:00", end: str = "08:00") -> UserPolicy:
    return UserPolicy(
        user_id=USER,
        prefs=prefs or {},
        timezone="Asia/Shanghai",
        quiet_start=time.fromisoformat(start),
        quiet_end=time.fromisoformat(end),
    )


WECHAT_QUOTA = {("wechat", "wx-tpl"): (QuotaKind.ONE_TIME.value, 1)}
ALIPAY_QUOTA = {("alipay", "ali-tpl"): (QuotaKind.ONE_TIME.value, 1)}


def run(
    tpl: TemplateVersion,
    *,
    kind: NoticeKind = NoticeKind.TRANSACTIONAL,
    endpoints: list[Endpoint] | None = None,
    ids: ChannelIdentities | None = None,
    quotas: dict[tuple[str, str], tuple[str, int]] | None = None,
    user_policy: UserPolicy | None = None,
    now: datetime = DAY,
    dedup_key: str = "topic:key:1:user",
    only: list[str] | None = None,
    not_before: datetime | None = None,
) -> list[PlannedDelivery]:
    return plan(
        PlanInput(
            kind=kind,
            category=tpl.category,
            dedup_key=dedup_key,
            template=tpl,
            policy=user_policy or policy(),
            timezone=SHANGHAI,
            endpoints=endpoints or [],
            identities=ids,
            quotas=quotas or {},
            now=now.astimezone(UTC),
            quiet_jitter_s=900,
            only_channels=only,
            not_before=not_before.astimezone(UTC) if not_before else None,
        )
    )


def shape(planned: list[PlannedDelivery]) -> list[tuple[str, str, str, str | None]]:
    return [(p.channel.value, p.endpoint_key, p.status.value, p.suppress_reason) for p in planned]


IPHONE = endpoint("ios", "a" * 64)
MATE = endpoint("huawei", "huawei-token-1")
XIAOMI = endpoint("xiaomi", "xiaomi-token-1")
INBOX = ("inbox", "inbox", "created", None)


class TestFanout:
    def test_first_takes_every_push_endpoint_and_stops_there(self) -> None:
        planned = run(
            template(),
            endpoints=[IPHONE, MATE],
            ids=ChannelIdentities(wechat_openid=OPENID, alipay_user_id=ALIPAY_ID),
            quotas={**WECHAT_QUOTA, **ALIPAY_QUOTA},
        )

        assert shape(planned) == [
            ("apns", str(IPHONE.id), "created", None),
            ("huawei", str(MATE.id), "created", None),
            INBOX,
        ]
        assert [(p.address, p.env) for p in planned[:2]] == [("a" * 64, "prod"), ("huawei-token-1", "prod")]

    def test_all_takes_every_available_channel_in_rank_order(self) -> None:
        planned = run(
            template(fanout=Fanout.ALL),
            endpoints=[IPHONE],
            ids=ChannelIdentities(wechat_openid=OPENID, alipay_open_id="alipay-open-1"),
            quotas={**WECHAT_QUOTA, **ALIPAY_QUOTA},
        )

        assert shape(planned) == [
            ("apns", str(IPHONE.id), "created", None),
            ("wechat", OPENID, "created", None),
            ("alipay", "alipay-open-1", "created", None),
            INBOX,
        ]

    def test_first_falls_through_to_the_next_channel_without_push_endpoints(self) -> None:
        planned = run(template(), endpoints=[XIAOMI], ids=ChannelIdentities(wechat_openid=OPENID), quotas=WECHAT_QUOTA)

        assert shape(planned) == [("wechat", OPENID, "created", None), INBOX]

    def test_rank_order_of_the_template_decides_which_channel_is_first(self) -> None:
        tpl = template(channels=(TemplateChannel.WECHAT, TemplateChannel.PUSH))

        planned = run(tpl, endpoints=[IPHONE], ids=ChannelIdentities(wechat_openid=OPENID), quotas=WECHAT_QUOTA)

        assert shape(planned) == [("wechat", OPENID, "created", None), INBOX]

    def test_a_campaign_narrows_the_template_channels(self) -> None:
        planned = run(
            template(fanout=Fanout.ALL),
            kind=NoticeKind.CAMPAIGN,
            endpoints=[IPHONE],
            ids=ChannelIdentities(wechat_openid=OPENID),
            quotas=WECHAT_QUOTA,
            only=["wechat"],
        )

        assert shape(planned) == [("wechat", OPENID, "created", None), INBOX]


class TestQuotas:
    def test_no_quota_row_leaves_wechat_out(self) -> None:
        planned = run(template(channels=(TemplateChannel.WECHAT,)), ids=ChannelIdentities(wechat_openid=OPENID))

        assert shape(planned) == [("wechat", "none", "suppressed", SuppressReason.NO_ENDPOINT), INBOX]

    def test_a_used_up_one_time_quota_leaves_wechat_out(self) -> None:
        planned = run(
            template(channels=(TemplateChannel.WECHAT, TemplateChannel.ALIPAY)),
            ids=ChannelIdentities(wechat_openid=OPENID, alipay_user_id=ALIPAY_ID),
            quotas={("wechat", "wx-tpl"): ("one_time", 0), **ALIPAY_QUOTA},
        )

        assert shape(planned) == [("alipay", ALIPAY_ID, "created", None), INBOX]

    def test_a_long_term_subscription_needs_no_count(self) -> None:
        planned = run(
            template(channels=(TemplateChannel.WECHAT,)),
            ids=ChannelIdentities(wechat_openid=OPENID),
            quotas={("wechat", "wx-tpl"): ("long_term", 0)},
        )

        assert shape(planned) == [("wechat", OPENID, "created", None), INBOX]

    def test_quota_of_another_template_does_not_count(self) -> None:
        planned = run(
            template(channels=(TemplateChannel.WECHAT,)),
            ids=ChannelIdentities(wechat_openid=OPENID),
            quotas={("wechat", "other-tpl"): ("one_time", 5)},
        )

        assert shape(planned)[0] == ("wechat", "none", "suppressed", SuppressReason.NO_ENDPOINT)

    def test_quota_without_an_identity_does_not_count(self) -> None:
        planned = run(template(channels=(TemplateChannel.ALIPAY,)), ids=ChannelIdentities(), quotas=ALIPAY_QUOTA)

        assert shape(planned)[0] == ("alipay", "none", "suppressed", SuppressReason.NO_ENDPOINT)


class TestSmsFallback:
    def test_critical_with_fallback_and_nothing_else_goes_by_sms(self) -> None:
        planned = run(template(category=NoticeCategory.CRITICAL, sms_fallback=True), ids=ChannelIdentities(phone=PHONE))

        assert shape(planned) == [("sms", PHONE, "created", None), INBOX]
        assert planned[0].address == PHONE

    def test_service_with_fallback_goes_by_sms(self) -> None:
        planned = run(template(sms_fallback=True), ids=ChannelIdentities(phone=PHONE))

        assert shape(planned) == [("sms", PHONE, "created", None), INBOX]

    def test_no_sms_when_another_interrupting_channel_is_there(self) -> None:
        planned = run(
            template(category=NoticeCategory.CRITICAL, sms_fallback=True),
            endpoints=[IPHONE],
            ids=ChannelIdentities(phone=PHONE),
        )

        assert shape(planned) == [("apns", str(IPHONE.id), "created", None), INBOX]

    def test_no_sms_for_a_template_without_fallback(self) -> None:
        planned = run(template(category=NoticeCategory.CRITICAL), ids=ChannelIdentities(phone=PHONE))

        assert shape(planned) == [("apns", "none", "suppressed", SuppressReason.NO_ENDPOINT), INBOX]

    def test_campaigns_never_use_sms(self) -> None:
        planned = run(
            template(category=NoticeCategory.CAMPAIGN, sms_fallback=True),
            kind=NoticeKind.CAMPAIGN,
            ids=ChannelIdentities(phone=PHONE),
        )

        assert shape(planned) == [("apns", "none", "suppressed", SuppressReason.NO_ENDPOINT), INBOX]

    def test_no_phone_no_sms(self) -> None:
        planned = run(template(category=NoticeCategory.CRITICAL, sms_fallback=True), ids=ChannelIdentities())

        assert shape(planned) == [("apns", "none", "suppressed", SuppressReason.NO_ENDPOINT), INBOX]


class TestSuppressReasons:
    def test_muted_push_with_endpoints_is_opt_out_on_the_endpoint_platform(self) -> None:
        muted = policy({("service", "push"): False})

        planned = run(template(), endpoints=[MATE], user_policy=muted)

        assert shape(planned) == [("huawei", "none", "suppressed", SuppressReason.OPT_OUT), INBOX]

    def test_muted_campaigns_are_opt_out(self) -> None:
        muted = policy({("campaign", "*"): False})

        planned = run(
            template(category=NoticeCategory.CAMPAIGN), kind=NoticeKind.CAMPAIGN, endpoints=[IPHONE], user_policy=muted
        )

        assert shape(planned) == [("apns", "none", "suppressed", SuppressReason.OPT_OUT), INBOX]

    def test_a_mute_on_a_channel_without_an_endpoint_is_no_endpoint(self) -> None:
        muted = policy({("service", "wechat"): False})

        planned = run(template(), user_policy=muted, ids=ChannelIdentities(wechat_openid=OPENID))

        assert shape(planned) == [("apns", "none", "suppressed", SuppressReason.NO_ENDPOINT), INBOX]

    def test_a_muted_channel_falls_through_to_the_next(self) -> None:
        muted = policy({("service", "push"): False})

        planned = run(
            template(),
            endpoints=[IPHONE],
            ids=ChannelIdentities(wechat_openid=OPENID),
            quotas=WECHAT_QUOTA,
            user_policy=muted,
        )

        assert shape(planned) == [("wechat", OPENID, "created", None), INBOX]

    def test_critical_cannot_be_muted_as_a_whole(self) -> None:
        muted = policy({("critical", "*"): False})

        planned = run(template(category=NoticeCategory.CRITICAL), endpoints=[IPHONE], user_policy=muted)

        assert shape(planned) == [("apns", str(IPHONE.id), "created", None), INBOX]

    def test_a_template_that_only_writes_the_inbox_records_no_suppression(self) -> None:
        planned = run(template(channels=()))

        assert shape(planned) == [INBOX]


class TestQuietHours:
    def test_campaign_at_22_30_waits_for_08_00_plus_jitter_and_the_inbox_does_not(self) -> None:
        night = datetime(2025, 6, 1, 22, 30, tzinfo=SHANGHAI)

        planned = run(
            template(category=NoticeCategory.CAMPAIGN), kind=NoticeKind.CAMPAIGN, endpoints=[IPHONE], now=night
        )

        push, inbox = planned
        release = datetime(2025, 6, 2, 8, 0, tzinfo=SHANGHAI)
        assert push.status == NoticeStatus.DEFERRED
        assert release <= push.next_attempt_at < release + timedelta(seconds=900)
        assert (inbox.status, inbox.next_attempt_at) == (NoticeStatus.CREATED, night.astimezone(UTC))

    def test_jitter_is_fixed_by_the_dedup_key_and_differs_between_keys(self) -> None:
        night = datetime(2025, 6, 1, 22, 30, tzinfo=SHANGHAI)
        tpl = template(category=NoticeCategory.CAMPAIGN)

        times = [
            run(tpl, kind=NoticeKind.CAMPAIGN, endpoints=[IPHONE], now=night, dedup_key=key)[0].next_attempt_at
            for key in ("campaign:c:1:u1", "campaign:c:1:u1", "campaign:c:1:u2")
        ]

        assert times[0] == times[1]
        assert times[0] != times[2]

    def test_transactional_notices_are_sent_at_night(self) -> None:
        night = datetime(2025, 6, 1, 22, 30, tzinfo=SHANGHAI)

        planned = run(template(category=NoticeCategory.CRITICAL), endpoints=[IPHONE], now=night)

        assert planned[0].status == NoticeStatus.CREATED
        assert planned[0].next_attempt_at == night.astimezone(UTC)

    def test_a_template_flagged_defer_in_quiet_hours_waits(self) -> None:
        night = datetime(2025, 6, 1, 23, 59, tzinfo=SHANGHAI)

        planned = run(template(defer=True), endpoints=[IPHONE], now=night)

        assert planned[0].status == NoticeStatus.DEFERRED
        assert planned[0].next_attempt_at >= datetime(2025, 6, 2, 8, 0, tzinfo=SHANGHAI)

    def test_after_midnight_the_window_ends_the_same_morning(self) -> None:
        early = datetime(2025, 6, 2, 7, 59, tzinfo=SHANGHAI)

        planned = run(
            template(category=NoticeCategory.CAMPAIGN), kind=NoticeKind.CAMPAIGN, endpoints=[IPHONE], now=early
        )

        assert planned[0].status == NoticeStatus.DEFERRED
        release = datetime(2025, 6, 2, 8, 0, tzinfo=SHANGHAI)
        assert release <= planned[0].next_attempt_at < release + timedelta(seconds=900)

    def test_at_the_window_end_the_campaign_goes_at_once(self) -> None:
        morning = datetime(2025, 6, 2, 8, 0, tzinfo=SHANGHAI)

        planned = run(
            template(category=NoticeCategory.CAMPAIGN), kind=NoticeKind.CAMPAIGN, endpoints=[IPHONE], now=morning
        )

        assert planned[0].status == NoticeStatus.CREATED

    def test_a_widened_window_defers_longer(self) -> None:
        evening = datetime(2025, 6, 1, 20, 30, tzinfo=SHANGHAI)
        wide = policy(start="20:00", end="09:00")

        planned = run(
            template(category=NoticeCategory.CAMPAIGN),
            kind=NoticeKind.CAMPAIGN,
            endpoints=[IPHONE],
            now=evening,
            user_policy=wide,
        )

        release = datetime(2025, 6, 2, 9, 0, tzinfo=SHANGHAI)
        assert planned[0].status == NoticeStatus.DEFERRED
        assert release <= planned[0].next_attempt_at < release + timedelta(seconds=900)

    def test_suppressed_rows_are_not_deferred(self) -> None:
        night = datetime(2025, 6, 1, 22, 30, tzinfo=SHANGHAI)

        planned = run(template(category=NoticeCategory.CAMPAIGN), kind=NoticeKind.CAMPAIGN, now=night)

        assert shape(planned) == [("apns", "none", "suppressed", SuppressReason.NO_ENDPOINT), INBOX]


class TestNotBefore:
    def test_a_request_for_later_is_deferred_until_then(self) -> None:
        later = DAY + timedelta(hours=2)

        planned = run(template(), endpoints=[IPHONE], not_before=later)

        assert [(p.status, p.next_attempt_at) for p in planned] == [
            (NoticeStatus.DEFERRED, later.astimezone(UTC)),
            (NoticeStatus.CREATED, DAY.astimezone(UTC)),
        ]

    def test_a_campaign_for_later_that_falls_into_quiet_hours_waits_for_their_end(self) -> None:
        planned = run(
            template(category=NoticeCategory.CAMPAIGN),
            kind=NoticeKind.CAMPAIGN,
            endpoints=[IPHONE],
            not_before=datetime(2025, 6, 1, 23, 0, tzinfo=SHANGHAI),
        )

        release = datetime(2025, 6, 2, 8, 0, tzinfo=SHANGHAI)
        assert release <= planned[0].next_attempt_at < release + timedelta(seconds=900)

    def test_a_past_not_before_changes_nothing(self) -> None:
        planned = run(template(), endpoints=[IPHONE], not_before=DAY - timedelta(hours=1))

        assert planned[0].status == NoticeStatus.CREATED


class TestQuietRelease:
    def test_windows_across_midnight(self) -> None:
        start, end = time(21, 0), time(8, 0)

        def at(h: int, m: int) -> datetime | None:
            return quiet_release(datetime(2025, 6, 1, h, m, tzinfo=SHANGHAI), SHANGHAI, start, end)

        assert at(20, 59) is None
        assert at(21, 0) == datetime(2025, 6, 2, 8, 0, tzinfo=SHANGHAI)
        assert at(0, 0) == datetime(2025, 6, 1, 8, 0, tzinfo=SHANGHAI)
        assert at(8, 0) is None

    def test_a_window_within_one_day(self) -> None:
        start, end = time(12, 0), time(14, 0)

        def at(h: int) -> datetime | None:
            return quiet_release(datetime(2025, 6, 1, h, 0, tzinfo=SHANGHAI), SHANGHAI, start, end)

        assert (at(11), at(12), at(13), at(14)) == (
            None,
            datetime(2025, 6, 1, 14, 0, tzinfo=SHANGHAI),
            datetime(2025, 6, 1, 14, 0, tzinfo=SHANGHAI),
            None,
        )

    def test_the_user_zone_decides_the_local_time(self) -> None:
        utc_evening = datetime(2025, 6, 1, 13, 30, tzinfo=UTC)  # 21:30 in Shanghai

        assert quiet_release(utc_evening, SHANGHAI, time(21, 0), time(8, 0)) == datetime(
            2025, 6, 2, 8, 0, tzinfo=SHANGHAI
        )
        assert quiet_release(utc_evening, ZoneInfo("UTC"), time(21, 0), time(8, 0)) is None
