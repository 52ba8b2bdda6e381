"""GraphQL types of notifications (§C14), each built from a row or view a `notifications.service` call returned
(`of`), so that no type loads data itself except the two campaign fields that are their own reads."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from notifications import service
from schema.notifications.enums import (
    CampaignStatus,
    NotificationCategory,
    NotificationChannel,
    NotificationFanout,
    PushEnv,
    PushPlatform,
    to_view,
)

MAX_VARIANTS = 5


def _id(value: uuid.UUID | str) -> strawberry.ID:
    return strawberry.ID(str(value))


def _id_or_none(value: uuid.UUID | str | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


@strawberry.type(description="A device endpoint of yours that receives push notifications.")
class PushDevice:
    id: strawberry.ID
    platform: PushPlatform
    env: PushEnv
    app_version: str
    registered_at: datetime
    last_seen_at: datetime

    @classmethod
    def of(cls, row: Any) -> PushDevice:
        return cls(
            id=_id(row.id),
            platform=to_view(row.platform, PushPlatform),
            env=to_view(row.env, PushEnv),
            app_version=row.app_version,
            registered_at=row.registered_at,
            last_seen_at=row.last_seen_at,
        )


@strawberry.type
class DeviceUnregistered:
    platform: PushPlatform
    token: str


@strawberry.type(description="站内信: one notice, kept in full whatever the other channels did.")
class InboxItem:
    id: strawberry.ID
    category: NotificationCategory
    title: str
    body: str
    deeplink: str
    created_at: datetime
    read_at: datetime | None
    delivery_id: strawberry.ID | None = strawberry.field(
        description="Send it back with trackNotificationOpened when the user opens the item."
    )

    @classmethod
    def of(cls, row: Any) -> InboxItem:
        return cls(
            id=_id(row.id),
            category=to_view(row.category, NotificationCategory),
            title=row.title,
            body=row.body,
            deeplink=row.deeplink,
            created_at=row.created_at,
            read_at=row.read_at,
            delivery_id=_id_or_none(row.delivery_id),
        )


@strawberry.type
class InboxEdge:
    cursor: str
    node: InboxItem


@strawberry.type
class InboxPageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(description="Your inbox, newest first, with the number of unread items.")
class InboxConnection:
    edges: list[InboxEdge]
    page_info: InboxPageInfo
    unread_count: int


@strawberry.type
class InboxMarkedRead:
    marked: int = strawberry.field(description="How many of the items were unread until now.")


@strawberry.type(description="Pushed after an item arrives in or is read from your inbox.")
class InboxUpdate:
    item_id: strawberry.ID | None
    unread_count: int


@strawberry.type
class ChannelPreference:
    channel: NotificationChannel
    enabled: bool
    mutable: bool = strawberry.field(description="False for the inbox: it is always written.")


@strawberry.type
class CategoryPreference:
    category: NotificationCategory
    enabled: bool = strawberry.field(description="The category as a whole; always true for CRITICAL.")
    mutable: bool = strawberry.field(description="False for CRITICAL: only its channels can be chosen.")
    channels: list[ChannelPreference] = strawberry.field(description="At most 5.")


@strawberry.type(description="Your notification preferences and quiet hours (免打扰).")
class NotificationPreferences:
    categories: list[CategoryPreference] = strawberry.field(description="At most 3.")
    quiet_start: str = strawberry.field(description="HH:MM local time.")
    quiet_end: str
    default_quiet_start: str = strawberry.field(description="The narrowest window allowed starts here.")
    default_quiet_end: str
    timezone: str


@strawberry.type
class NotificationOpened:
    delivery_id: strawberry.ID
    opened_at: datetime | None


@strawberry.type
class TemplateVariant:
    channel: NotificationChannel
    rank: int
    title: str
    body: str
    deeplink: str
    huawei_category: str
    wechat_template_id: str
    alipay_template_id: str
    fields_map: JSON
    sms_template_code: str
    sms_sign_name: str


@strawberry.type(description="The current version of a template, with one variant per channel.")
class NotificationTemplate:
    code: str
    version: int
    locale: str
    category: NotificationCategory
    fanout: NotificationFanout
    sms_fallback: bool
    defer_in_quiet_hours: bool
    variants: list[TemplateVariant] = strawberry.field(description="At most 5, in plan order.")

    @classmethod
    def of(cls, template: Any) -> NotificationTemplate:
        variants = sorted(template.variants.values(), key=lambda v: v.rank)
        return cls(
            code=template.code,
            version=template.version,
            locale=template.locale,
            category=to_view(template.category, NotificationCategory),
            fanout=to_view(template.fanout, NotificationFanout),
            sms_fallback=template.sms_fallback,
            defer_in_quiet_hours=template.defer_in_quiet_hours,
            variants=[
                TemplateVariant(
                    channel=to_view(v.channel, NotificationChannel),
                    rank=v.rank,
                    title=v.title,
                    body=v.body,
                    deeplink=v.deeplink,
                    huawei_category=v.huawei_category,
                    wechat_template_id=v.wechat_template_id,
                    alipay_template_id=v.alipay_template_id,
                    fields_map=JSON(dict(v.fields_map)),
                    sms_template_code=v.sms_template_code,
                    sms_sign_name=v.sms_sign_name,
                )
                for v in variants
            ],
        )


@strawberry.type
class Segment:
    id: strawberry.ID
    name: str
    dsl: JSON
    version: int
    created_by: strawberry.ID

    @classmethod
    def of(cls, row: Any) -> Segment:
        return cls(id=_id(row.id), name=row.name, dsl=row.dsl, version=row.version, created_by=_id(row.created_by))


@strawberry.type(description="A recipient as an operator may see one: 张**, 138****5678, never an ID number.")
class MaskedRecipient:
    name: str
    phone: str
    region_code: str


@strawberry.type
class SegmentPreview:
    count: int
    sample: list[MaskedRecipient] = strawberry.field(description="At most 10.")

    @classmethod
    def of(cls, preview: Any) -> SegmentPreview:
        return cls(
            count=preview.count,
            sample=[MaskedRecipient(name=r.name, phone=r.phone, region_code=r.region_code) for r in preview.sample],
        )


@strawberry.type
class ReasonCount:
    reason: str = strawberry.field(description="A SuppressReason or DeliveryStatus value, lower case as stored.")
    count: int


@strawberry.type(description="One channel's funnel: targeted → eligible → suppressed → sent → delivered → opened.")
class ChannelFunnel:
    channel: str = strawberry.field(description='A delivery channel (apns, huawei, wechat, …) or "*" for the run.')
    targeted: int
    eligible: int
    suppressed: list[ReasonCount] = strawberry.field(description="At most 4.")
    sent: int
    delivered: int
    opened: int
    clicked: int
    failed: list[ReasonCount] = strawberry.field(description="At most 11.")

    @classmethod
    def of(cls, row: Any) -> ChannelFunnel:
        return cls(
            channel=row.channel,
            targeted=row.targeted,
            eligible=row.eligible,
            suppressed=_counts(row.suppressed),
            sent=row.sent,
            delivered=row.delivered,
            opened=row.opened,
            clicked=row.clicked,
            failed=_counts(row.failed),
        )


def _counts(values: Mapping[str, int]) -> list[ReasonCount]:
    return [ReasonCount(reason=str(k), count=int(v)) for k, v in sorted(values.items())]


@strawberry.type
class CampaignStats:
    campaign_id: strawberry.ID
    total: ChannelFunnel = strawberry.field(description="Every channel together, with the users targeted.")
    channels: list[ChannelFunnel] = strawberry.field(description="At most 6: one per delivery channel.")

    @classmethod
    def of(cls, stats: Any) -> CampaignStats:
        return cls(
            campaign_id=_id(stats.campaign_id),
            total=ChannelFunnel.of(stats.total),
            channels=[ChannelFunnel.of(f) for f in stats.channels],
        )


@strawberry.type(description="One change of a campaign's status, with who made it and when (audit).")
class CampaignTransition:
    from_status: CampaignStatus | None = strawberry.field(description="Null for the campaign's creation.")
    to_status: CampaignStatus
    actor: str = strawberry.field(description='An operator id, or "system".')
    reason: str
    at: datetime

    @classmethod
    def of(cls, row: Any) -> CampaignTransition:
        return cls(
            from_status=to_view(row.from_status, CampaignStatus) if row.from_status else None,
            to_status=to_view(row.to_status, CampaignStatus),
            actor=row.actor,
            reason=row.reason,
            at=row.at,
        )


@strawberry.type
class CampaignRecurrence:
    every: str
    at: str


@strawberry.type(name="Campaign")
class CampaignView:
    id: strawberry.ID
    name: str
    status: CampaignStatus
    segment_id: strawberry.ID
    segment_version: int
    template_code: str
    channels: list[NotificationChannel] = strawberry.field(description="At most 5, in plan order.")
    schedule_at: datetime
    window_end: datetime
    recurrence: CampaignRecurrence | None
    throttle_per_min: int
    run_no: int
    created_by: strawberry.ID
    last_edited_by: strawberry.ID
    submitted_by: strawberry.ID | None
    approved_by: strawberry.ID | None
    version: int

    @classmethod
    def of(cls, row: Any) -> CampaignView:
        recurrence = row.recurrence or None
        return cls(
            id=_id(row.id),
            name=row.name,
            status=to_view(row.status, CampaignStatus),
            segment_id=_id(row.segment_id),
            segment_version=row.segment_version,
            template_code=row.template_code,
            channels=[to_view(c, NotificationChannel) for c in row.channels],
            schedule_at=row.schedule_at,
            window_end=row.window_end,
            recurrence=CampaignRecurrence(every=str(recurrence.get("every", "day")), at=str(recurrence.get("at", "")))
            if recurrence
            else None,
            throttle_per_min=row.throttle_per_min,
            run_no=row.run_no,
            created_by=_id(row.created_by),
            last_edited_by=_id(row.last_edited_by),
            submitted_by=_id_or_none(row.submitted_by),
            approved_by=_id_or_none(row.approved_by),
            version=row.version,
        )

    @strawberry.field(description="Every status change, oldest first; at most 100.")
    async def transitions(self) -> list[CampaignTransition]:
        return [CampaignTransition.of(t) for t in await service.transitions(uuid.UUID(self.id))]

    @strawberry.field(description="The campaign's funnel per channel (§C13).")
    async def stats(self) -> CampaignStats:
        return await campaign_stats(uuid.UUID(self.id))


async def campaign_stats(campaign_id: uuid.UUID) -> CampaignStats:
    return CampaignStats.of(await service.campaign_stats(campaign_id))


@strawberry.type(description="The notification request the event became; the same id for a repeated event.")
class NotificationEventEmitted:
    request_id: strawberry.ID
