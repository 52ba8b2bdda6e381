"""Inputs of the notifications operations: one `input` per mutation (graphql.md §2, §C14)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from schema.notifications.enums import (
    NotificationCategory,
    NotificationChannel,
    NotificationFanout,
    PushEnv,
    PushPlatform,
)
from schema.scalars import BigIntString


@strawberry.input(description="Call on every app start and sign-in: the token moves to you if another user held it.")
class RegisterDeviceInput:
    platform: PushPlatform
    token: str = strawberry.field(description="The APNs device token or the vendor push token; 1–256 characters.")
    env: PushEnv = PushEnv.PROD
    app_version: str = ""


@strawberry.input(description="Call on sign-out: removes your own endpoint for this token.")
class UnregisterDeviceInput:
    platform: PushPlatform
    token: str


@strawberry.input
class MarkReadInput:
    ids: list[strawberry.ID] = strawberry.field(description="Inbox item ids; at most 100.")


@strawberry.input(description="Turn one channel of a category on or off; no channel: every channel of it.")
class UpdateNotificationPreferenceInput:
    category: NotificationCategory
    channel: NotificationChannel | None = None
    enabled: bool


@strawberry.input(description="免打扰: local times `HH:MM`, the window may cross midnight (21:00–08:00 by default).")
class UpdateQuietHoursInput:
    start: str
    end: str


@strawberry.input(description="Sent by the app when the user opens a notification (the payload's `deliveryId`).")
class TrackNotificationOpenedInput:
    delivery_id: strawberry.ID


@strawberry.input(description="A new version of a template; placeholders are `{name}` of the event's params.")
class SaveNotificationTemplateInput:
    code: str
    category: NotificationCategory
    title: str
    body: str
    channels: list[NotificationChannel] = strawberry.field(description="The channel plan, in order.")
    locale: str = "zh-CN"
    deeplink: str = ""
    fanout: NotificationFanout = NotificationFanout.FIRST
    huawei_category: str = ""
    wechat_template_id: str = ""
    wechat_fields: JSON | None = strawberry.field(
        default=None, description='WeChat data keys to texts, e.g. {"thing1": "{itemName}"}.'
    )
    alipay_template_id: str = ""
    alipay_fields: JSON | None = strawberry.field(default=None, description="Alipay keyword keys to texts.")
    sms_template_code: str = ""
    sms_sign_name: str = ""
    sms_params: JSON | None = strawberry.field(default=None, description="SMS TemplateParam keys to texts.")
    sms_fallback: bool = False
    defer_in_quiet_hours: bool = False


@strawberry.input
class CreateSegmentInput:
    name: str
    dsl: JSON = strawberry.field(description='The segment DSL, e.g. {"all": [{"field": "resident.age", …}]}.')


@strawberry.input
class PreviewSegmentInput:
    dsl: JSON


@strawberry.input(description="A run each local day at `at` (HH:MM, Asia/Shanghai) until the window ends.")
class CampaignRecurrenceInput:
    at: str


@strawberry.input
class CreateCampaignInput:
    name: str
    segment_id: strawberry.ID
    template_code: str
    channels: list[NotificationChannel]
    schedule_at: datetime
    window_end: datetime
    recurrence: CampaignRecurrenceInput | None = None
    throttle_per_min: int | None = strawberry.field(default=None, description="Sends per minute; default 3,000.")


@strawberry.input(description="Edit a campaign; any edit returns it to DRAFT and clears its approval.")
class UpdateCampaignInput:
    campaign_id: strawberry.ID
    name: str | None = None
    segment_id: strawberry.ID | None = None
    template_code: str | None = None
    channels: list[NotificationChannel] | None = None
    schedule_at: datetime | None = None
    window_end: datetime | None = None
    recurrence: CampaignRecurrenceInput | None = None
    clear_recurrence: bool = strawberry.field(default=False, description="Make a recurring campaign run once.")
    throttle_per_min: int | None = None


@strawberry.input
class SubmitCampaignInput:
    campaign_id: strawberry.ID


@strawberry.input
class ApproveCampaignInput:
    campaign_id: strawberry.ID


@strawberry.input
class RejectCampaignInput:
    campaign_id: strawberry.ID
    reason: str


@strawberry.input
class PauseCampaignInput:
    campaign_id: strawberry.ID


@strawberry.input
class ResumeCampaignInput:
    campaign_id: strawberry.ID


@strawberry.input
class CancelCampaignInput:
    campaign_id: strawberry.ID


@strawberry.input(description="A business event for one recipient; a repeated event returns the same request id.")
class EmitNotificationEventInput:
    topic: str
    key: str
    state_version: BigIntString
    recipient_user_id: strawberry.ID
    params: JSON = strawberry.field(description="The template's placeholder values.")
    expires_at: datetime | None = None
