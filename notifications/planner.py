"""The channel plan of one request (§C12 last bullet, §C9, §C10 note). Pure: everything it needs is passed in.

Interrupting channels come from the template in rank order; fan-out `first` stops at the first channel that has
somewhere to go, `all` takes every one. Push is every active endpoint of the user. WeChat and Alipay need an
identity and quota for the variant's template. SMS is a fallback of critical and service templates that ask for
it, only when nothing else interrupts. When nothing is left, one suppressed row says why. The inbox row is
always there and never deferred.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from api.models.notifications import (
    DeliveryChannel,
    Fanout,
    NoticeCategory,
    NoticeKind,
    NoticeStatus,
    PushPlatform,
    QuotaKind,
    SuppressReason,
    TemplateChannel,
)
from notifications.ids import stable_fraction
from notifications.preferences import next_allowed

INBOX_KEY = "inbox"
NO_ENDPOINT_KEY = "none"

# Device platforms with an adapter; the other vendors' endpoints wait for theirs (§0).
PUSH_ADAPTERS: Mapping[str, DeliveryChannel] = {
    PushPlatform.IOS: DeliveryChannel.APNS,
    PushPlatform.HUAWEI: DeliveryChannel.HUAWEI,
}


class VariantView(Protocol):
    @property
    def wechat_template_id(self) -> str: ...
    @property
    def alipay_template_id(self) -> str: ...


class TemplateView(Protocol):
    @property
    def category(self) -> str: ...
    @property
    def fanout(self) -> str: ...
    @property
    def sms_fallback(self) -> bool: ...
    @property
    def defer_in_quiet_hours(self) -> bool: ...
    @property
    def variants(self) -> Mapping[TemplateChannel, VariantView]: ...
    def interrupting_channels(self) -> list[TemplateChannel]: ...


class PolicyView(Protocol):
    @property
    def quiet_start(self) -> time: ...
    @property
    def quiet_end(self) -> time: ...
    def allows(self, category: str, channel: str) -> bool: ...


class EndpointView(Protocol):
    @property
    def id(self) -> object: ...
    @property
    def platform(self) -> str: ...
    @property
    def token(self) -> str: ...
    @property
    def env(self) -> str: ...


class IdentitiesView(Protocol):
    @property
    def wechat_openid(self) -> str | None: ...
    @property
    def alipay_user_id(self) -> str | None: ...
    @property
    def alipay_open_id(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...


@dataclass(frozen=True)
class PlannedDelivery:
    channel: DeliveryChannel
    endpoint_key: str
    address: str
    env: str
    status: NoticeStatus  # created, deferred or suppressed
    suppress_reason: SuppressReason | None
    next_attempt_at: datetime


@dataclass(frozen=True)
class PlanInput:
    kind: str  # a NoticeKind value
    category: str  # a NoticeCategory value
    dedup_key: str
    template: TemplateView
    policy: PolicyView
    timezone: ZoneInfo
    endpoints: Sequence[EndpointView]
    identities: IdentitiesView | None
    # (provider, vendor template id) → (QuotaKind, remaining)
    quotas: Mapping[tuple[str, str], tuple[str, int]]
    now: datetime
    quiet_jitter_s: int
    # A campaign may narrow the template's channels (Campaign.channels); None: all of them.
    only_channels: Sequence[str] | None = None
    not_before: datetime | None = None  # the request's own earliest send time


@dataclass(frozen=True)
class _Target:
    channel: DeliveryChannel
    endpoint_key: str
    address: str
    env: str = ""


def plan(p: PlanInput) -> list[PlannedDelivery]:
    ranked = [c for c in p.template.interrupting_channels() if p.only_channels is None or c in p.only_channels]
    chosen: list[_Target] = []
    muted = False  # preferences removed a channel that had somewhere to go
    for channel in ranked:
        targets = _targets(channel, p)
        if not targets:
            continue
        if not p.policy.allows(p.category, channel):
            muted = True
            continue
        chosen += targets
        if p.template.fanout == Fanout.FIRST:
            break
    if not chosen and _sms_allowed(p):
        sms = _sms_target(p)
        if sms is not None:
            if p.policy.allows(p.category, TemplateChannel.SMS):
                chosen.append(sms)
            else:
                muted = True

    release = _release_at(p)
    planned = [
        PlannedDelivery(
            t.channel,
            t.endpoint_key,
            t.address,
            t.env,
            NoticeStatus.DEFERRED if release is not None else NoticeStatus.CREATED,
            None,
            release or p.now,
        )
        for t in chosen
    ]
    if not chosen and ranked:
        reason = SuppressReason.OPT_OUT if muted else SuppressReason.NO_ENDPOINT
        planned.append(
            PlannedDelivery(
                _suppressed_channel(ranked[0], p), NO_ENDPOINT_KEY, "", "", NoticeStatus.SUPPRESSED, reason, p.now
            )
        )
    planned.append(
        PlannedDelivery(DeliveryChannel.INBOX, INBOX_KEY, "", "", NoticeStatus.CREATED, None, p.now),
    )
    return planned


def _targets(channel: TemplateChannel, p: PlanInput) -> list[_Target]:
    if channel == TemplateChannel.PUSH:
        return [
            _Target(PUSH_ADAPTERS[e.platform], str(e.id), e.token, e.env)
            for e in p.endpoints
            if e.platform in PUSH_ADAPTERS
        ]
    variant = p.template.variants.get(channel)
    ids = p.identities
    if variant is None or ids is None:
        return []
    if channel == TemplateChannel.WECHAT:
        address, template_id = ids.wechat_openid, variant.wechat_template_id
        delivery_channel = DeliveryChannel.WECHAT
    elif channel == TemplateChannel.ALIPAY:
        address, template_id = ids.alipay_user_id or ids.alipay_open_id, variant.alipay_template_id
        delivery_channel = DeliveryChannel.ALIPAY
    else:
        return []
    if not address or not _has_quota(p.quotas.get((channel.value, template_id))):
        return []
    return [_Target(delivery_channel, address, address)]


def _has_quota(quota: tuple[str, int] | None) -> bool:
    if quota is None:
        return False
    kind, remaining = quota
    return kind == QuotaKind.LONG_TERM or remaining > 0


def _sms_allowed(p: PlanInput) -> bool:
    return (
        p.kind != NoticeKind.CAMPAIGN
        and p.category in (NoticeCategory.CRITICAL, NoticeCategory.SERVICE)
        and p.template.sms_fallback
        and TemplateChannel.SMS in p.template.variants
        and (p.only_channels is None or TemplateChannel.SMS in p.only_channels)
    )


def _sms_target(p: PlanInput) -> _Target | None:
    phone = p.identities.phone if p.identities is not None else None
    return _Target(DeliveryChannel.SMS, phone, phone) if phone else None


def _suppressed_channel(first: TemplateChannel, p: PlanInput) -> DeliveryChannel:
    if first == TemplateChannel.PUSH:
        platforms = [PUSH_ADAPTERS[e.platform] for e in p.endpoints if e.platform in PUSH_ADAPTERS]
        return platforms[0] if platforms else DeliveryChannel.APNS
    return DeliveryChannel(first.value)


def _release_at(p: PlanInput) -> datetime | None:
    """When a delivery may go if not now: the request's `not_before`, pushed past the user's quiet hours."""
    start = p.not_before if p.not_before is not None and p.not_before > p.now else p.now
    if p.category != NoticeCategory.CAMPAIGN and not p.template.defer_in_quiet_hours:
        return start if start > p.now else None
    end = quiet_release(start, p.timezone, p.policy.quiet_start, p.policy.quiet_end)
    if end is None:
        return start if start > p.now else None
    # No thundering herd at the window's end; fixed per request, so a re-plan lands on the same moment.
    return end + timedelta(seconds=int(p.quiet_jitter_s * stable_fraction(p.dedup_key)))


def quiet_release(now: datetime, tz: ZoneInfo, start: time, end: time) -> datetime | None:
    """The end of the quiet window `now` falls in (§C9), or None outside it. A window may cross midnight."""
    release = next_allowed(now, tz, start, end)
    return None if release == now else release
