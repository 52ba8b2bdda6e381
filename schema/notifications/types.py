"""GraphQL types of notifications (§C14), each built from a row or view a `notifications.service` call returned
(`of`), so that no type loads data itself except the two campaign fields that are their own reads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from schema.notifications.enums import (
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


@strawberry.type(description="The notification request the event became; the same id for a repeated event.")
class NotificationEventEmitted:
    request_id: strawberry.ID
