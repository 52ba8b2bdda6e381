"""Categories, preferences and quiet hours (notifications.md §C9, §C12).

Switches are per category: `*` (every channel of the category) or one channel; a channel switch overrides the
category's `*`, and setting `*` clears the category's channel switches. The inbox is always on. `critical` cannot
be muted: only its channels can be chosen, and at least one interrupting channel stays on. Campaigns are on by
default unless the deployment runs them opt-in (PIPL), in which case they are off until switched on.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise import connections
from tortoise.transactions import in_transaction

from api.models import NoticeCategory, NotificationPreference, NotificationSettings, TemplateChannel
from api.settings import NotificationsSettings
from notifications.deps import NotificationsDeps
from notifications.errors import NotificationsError, NotificationsErrorCode

DEFAULT_TIMEZONE = "Asia/Shanghai"
ALL = "*"
INTERRUPTING = (TemplateChannel.PUSH, TemplateChannel.WECHAT, TemplateChannel.ALIPAY, TemplateChannel.SMS)
SHOWN_CHANNELS = (*INTERRUPTING, TemplateChannel.INBOX)
_DAY = 24 * 3600


def _parse_time(text: str) -> time:
    return time.fromisoformat(text)


def default_quiet(settings: NotificationsSettings) -> tuple[time, time]:
    return _parse_time(settings.quiet_start), _parse_time(settings.quiet_end)


def next_allowed(now: datetime, tz: ZoneInfo, start: time, end: time) -> datetime:
    """`now` when it is outside the window [start, end) in `tz` (across midnight when start > end), else the
    window's end, in UTC."""
    local = now.astimezone(tz)
    t = local.time().replace(tzinfo=None)
    quiet = (t >= start or t < end) if start > end else (start <= t < end)
    if not quiet:
        return now
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class UserPolicy:
    user_id: uuid.UUID
    prefs: dict[tuple[str, str], bool]  # (category, channel or "*") → enabled, as the user set them
    timezone: str
    quiet_start: time
    quiet_end: time
    campaign_default: bool = True  # False when campaigns are opt-in

    def allows(self, category: str, channel: str) -> bool:
        # plain str keys: a StrEnum member hashes by its name, not by its value
        category, channel = str(category), str(channel)
        if channel == TemplateChannel.INBOX:
            return True
        explicit = self.prefs.get((category, channel))
        if explicit is not None:
            if category == NoticeCategory.CRITICAL and not explicit and not self._critical_reachable():
                return True  # never muted, even if two concurrent updates slipped past the guard
            return explicit
        if category == NoticeCategory.CRITICAL:
            return True
        every = self.prefs.get((category, ALL))
        if every is not None:
            return every
        return self.campaign_default if category == NoticeCategory.CAMPAIGN else True

    def _critical_reachable(self) -> bool:
        return any(self.prefs.get((NoticeCategory.CRITICAL.value, c.value), True) for c in INTERRUPTING)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def quiet_until(self, now: datetime) -> datetime:
        """`now` outside the user's quiet window, else the moment it ends."""
        return next_allowed(now, self.zone, self.quiet_start, self.quiet_end)


def _policy(
    user_id: uuid.UUID,
    prefs: dict[tuple[str, str], bool],
    stored: NotificationSettings | None,
    settings: NotificationsSettings,
) -> UserPolicy:
    start, end = default_quiet(settings)
    if stored is not None:  # read back as UTC-aware times; the window is wall-clock time in the user's zone
        start, end = stored.quiet_start.replace(tzinfo=None), stored.quiet_end.replace(tzinfo=None)
    return UserPolicy(
        user_id=user_id,
        prefs=prefs,
        timezone=stored.timezone if stored is not None else DEFAULT_TIMEZONE,
        quiet_start=start,
        quiet_end=end,
        campaign_default=not settings.campaign_opt_in,
    )


async def load_policies(
    user_ids: Collection[uuid.UUID], *, settings: NotificationsSettings | None = None
) -> dict[uuid.UUID, UserPolicy]:
    """Every user's policy, defaults for users who never changed anything (pass the deployment's settings for
    its quiet window and campaign opt-in)."""
    settings = settings or NotificationsSettings()
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return {}
    prefs: dict[uuid.UUID, dict[tuple[str, str], bool]] = {user: {} for user in ids}
    for row in await NotificationPreference.filter(user_id__in=ids):
        prefs[row.user_id][(str(row.category), row.channel)] = row.enabled
    stored = {row.user_id: row for row in await NotificationSettings.filter(user_id__in=ids)}
    return {user: _policy(user, prefs[user], stored.get(user), settings) for user in ids}


@dataclass(frozen=True)
class ChannelSwitch:
    channel: TemplateChannel
    enabled: bool
    mutable: bool


@dataclass(frozen=True)
class CategoryPreference:
    category: NoticeCategory
    enabled: bool  # the category as a whole ("*"); critical is always on
    mutable: bool  # whether the category as a whole can be switched off
    channels: list[ChannelSwitch] = field(default_factory=list)


@dataclass(frozen=True)
class PreferencesView:
    categories: list[CategoryPreference]
    timezone: str
    quiet_start: time
    quiet_end: time
    default_quiet_start: time
    default_quiet_end: time


def _view(policy: UserPolicy, settings: NotificationsSettings) -> PreferencesView:
    default_start, default_end = default_quiet(settings)
    categories = []
    for category in NoticeCategory:
        critical = category is NoticeCategory.CRITICAL
        whole = policy.prefs.get((category.value, ALL))
        if whole is None or critical:
            whole = policy.campaign_default if category is NoticeCategory.CAMPAIGN else True
        switches = [
            ChannelSwitch(channel, policy.allows(category.value, channel.value), channel is not TemplateChannel.INBOX)
            for channel in SHOWN_CHANNELS
        ]
        categories.append(CategoryPreference(category, whole, not critical, switches))
    return PreferencesView(
        categories, policy.timezone, policy.quiet_start, policy.quiet_end, default_start, default_end
    )


async def my_preferences(deps: NotificationsDeps, user_id: uuid.UUID) -> PreferencesView:
    policy = (await load_policies([user_id], settings=deps.settings))[user_id]
    return _view(policy, deps.settings)


def _invalid(message: str, path: str) -> NotificationsError:
    return NotificationsError(NotificationsErrorCode.INVALID_INPUT, message, path=[path])


def _parse_switch(category: NoticeCategory | str, channel: str) -> tuple[NoticeCategory, str]:
    try:
        parsed = NoticeCategory(category)
    except ValueError:
        raise _invalid("one of critical, service, campaign", "category") from None
    if channel != ALL and channel not in {c.value for c in TemplateChannel}:
        raise _invalid("'*' or one of push, wechat, alipay, sms, inbox", "channel")
    return parsed, channel


def _guard_critical(policy: UserPolicy, channel: str, enabled: bool) -> None:
    if enabled:
        return
    if channel == ALL:
        raise NotificationsError(
            NotificationsErrorCode.CRITICAL_NOT_MUTABLE,
            "critical notices (法定告知, 补正材料, 缴费截止) cannot be muted; choose their channels instead",
            path=["enabled"],
        )
    after = dict(policy.prefs) | {(NoticeCategory.CRITICAL.value, channel): False}
    if not any(after.get((NoticeCategory.CRITICAL.value, c.value), True) for c in INTERRUPTING):
        raise NotificationsError(
            NotificationsErrorCode.CRITICAL_NOT_MUTABLE,
            "at least one of push, WeChat, Alipay and SMS stays on for critical notices",
            path=["channel"],
        )


async def update_preference(
    deps: NotificationsDeps, user_id: uuid.UUID, category: NoticeCategory | str, channel: str, enabled: bool
) -> PreferencesView:
    """One switch; CRITICAL_NOT_MUTABLE for muting critical notices (or their last interrupting channel),
    INVALID_INPUT for switching the inbox off. A refused change writes nothing."""
    parsed, channel = _parse_switch(category, channel)
    if channel == TemplateChannel.INBOX:
        if not enabled:
            raise _invalid("the inbox is always on", "channel")
        return await my_preferences(deps, user_id)
    policy = (await load_policies([user_id], settings=deps.settings))[user_id]
    if parsed is NoticeCategory.CRITICAL:
        _guard_critical(policy, channel, enabled)
    async with in_transaction() as db:
        if channel == ALL:
            # The category as a whole: its channel switches go, so that "mute all" mutes all.
            await NotificationPreference.filter(user_id=user_id, category=parsed).using_db(db).delete()
        else:
            await NotificationPreference.filter(user_id=user_id, category=parsed, channel=channel).using_db(db).delete()
        await NotificationPreference.create(
            using_db=db, user_id=user_id, category=parsed, channel=channel, enabled=enabled
        )
    return await my_preferences(deps, user_id)


_QUIET_UPSERT = (
    "INSERT INTO notification_settings (user_id, timezone, quiet_start, quiet_end, updated_at) "
    "VALUES ({0}, {1}, {2}, {3}, {4}) ON CONFLICT (user_id) DO UPDATE SET quiet_start = EXCLUDED.quiet_start, "
    "quiet_end = EXCLUDED.quiet_end, updated_at = EXCLUDED.updated_at"
)


async def _store_quiet_hours(user_id: uuid.UUID, start: time, end: time, timezone: str | None, now: datetime) -> None:
    """One upsert. Written as SQL: the sqlite3 driver has no adapter for `datetime.time`, so the ORM cannot
    write a TimeField there (it reads the ISO text back fine)."""
    conn = connections.get("default")
    sql = _QUIET_UPSERT + (", timezone = EXCLUDED.timezone" if timezone is not None else "")
    # PostgreSQL's column is TIMETZ (the ORM's time fields carry UTC): wall-clock times are stored as UTC times.
    values: list[object] = [
        user_id,
        timezone or DEFAULT_TIMEZONE,
        start.replace(tzinfo=UTC),
        end.replace(tzinfo=UTC),
        now,
    ]
    if conn.capabilities.dialect == "postgres":
        sql = sql.format("$1", "$2", "$3", "$4", "$5")
    else:
        sql = sql.format("?", "?", "?", "?", "?")
        values = [str(user_id), values[1], start.isoformat(), end.isoformat(), now]
    await conn.execute_query(sql, values)


def covers(start: time, end: time, inner_start: time, inner_end: time) -> bool:
    """Whether the window [start, end) contains [inner_start, inner_end), both across midnight when start > end
    (an empty window when start == end)."""

    def seconds(t: time) -> int:
        return t.hour * 3600 + t.minute * 60 + t.second

    length = (seconds(end) - seconds(start)) % _DAY
    inner_length = (seconds(inner_end) - seconds(inner_start)) % _DAY
    offset = (seconds(inner_start) - seconds(start)) % _DAY
    if inner_length == 0:
        return True
    return offset + inner_length <= length


async def update_quiet_hours(
    deps: NotificationsDeps, user_id: uuid.UUID, start: time, end: time, *, timezone: str | None = None
) -> PreferencesView:
    """The user's quiet window; QUIET_HOURS_TOO_NARROW unless it contains the default window (users may only
    widen it, §C9)."""
    default_start, default_end = default_quiet(deps.settings)
    start, end = start.replace(tzinfo=None, microsecond=0), end.replace(tzinfo=None, microsecond=0)
    if not covers(start, end, default_start, default_end):
        raise NotificationsError(
            NotificationsErrorCode.QUIET_HOURS_TOO_NARROW,
            f"quiet hours must include {default_start:%H:%M}–{default_end:%H:%M}",
            path=["start"],
        )
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise _invalid("an IANA time zone such as Asia/Shanghai", "timezone") from None
    await _store_quiet_hours(user_id, start, end, timezone, deps.clock.now())
    return await my_preferences(deps, user_id)
