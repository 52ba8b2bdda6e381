"""Notifications (notifications.md §C2): templates, requests, deliveries and their attempts, device endpoints,
subscription quotas, preferences, segments, campaigns and their recipients and audit, the inbox and the
statistics buckets. Table names follow the specification.

Channel identities (WeChat openid, Alipay user id, phone) are never stored here: they are read from identity.
References to persons, operators and campaigns are plain UUID columns, as in the other aggregates.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from api.models.base import Entity


class NoticeCategory(StrEnum):
    CRITICAL = "critical"
    SERVICE = "service"
    CAMPAIGN = "campaign"


class NoticeKind(StrEnum):
    TRANSACTIONAL = "transactional"
    CAMPAIGN = "campaign"


class TemplateChannel(StrEnum):
    """What a template row is written for: `push` covers every device platform (APNs, Huawei, …)."""

    PUSH = "push"
    WECHAT = "wechat"
    ALIPAY = "alipay"
    SMS = "sms"
    INBOX = "inbox"


class DeliveryChannel(StrEnum):
    """Where one delivery goes: one adapter each."""

    APNS = "apns"
    HUAWEI = "huawei"
    WECHAT = "wechat"
    ALIPAY = "alipay"
    SMS = "sms"
    INBOX = "inbox"


class Fanout(StrEnum):
    FIRST = "first"  # the first available channel of the plan
    ALL = "all"  # every available channel


class RequestStatus(StrEnum):
    PENDING = "pending"
    PLANNED = "planned"
    DONE = "done"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class NoticeStatus(StrEnum):
    """Delivery status, GOV.UK Notify's vocabulary (notifications.md §C2)."""

    CREATED = "created"
    DEFERRED = "deferred"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    TEMPORARY_FAILURE = "temporary_failure"
    PERMANENT_FAILURE = "permanent_failure"
    TECHNICAL_FAILURE = "technical_failure"
    SUPPRESSED = "suppressed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class SuppressReason(StrEnum):
    OPT_OUT = "opt_out"
    FREQUENCY_CAPPED = "frequency_capped"
    NO_ENDPOINT = "no_endpoint"
    NO_CONSENT = "no_consent"


class PushPlatform(StrEnum):
    IOS = "ios"
    HUAWEI = "huawei"
    HONOR = "honor"
    XIAOMI = "xiaomi"
    OPPO = "oppo"
    VIVO = "vivo"


class PushEnv(StrEnum):
    SANDBOX = "sandbox"  # Apple's development environment, not one of the project's sandboxes
    PROD = "prod"


class QuotaProvider(StrEnum):
    WECHAT = "wechat"
    ALIPAY = "alipay"


class QuotaKind(StrEnum):
    ONE_TIME = "one_time"
    LONG_TERM = "long_term"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    MATERIALIZING = "materializing"
    SENDING = "sending"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class NotificationTemplate(Entity):
    """One channel variant of a versioned template. All rows of one code and version share category, fan-out and
    the quiet-hours and SMS flags, and `rank` orders the channel plan."""

    code = fields.CharField(max_length=64)
    category = fields.CharEnumField(NoticeCategory, max_length=8)
    channel = fields.CharEnumField(TemplateChannel, max_length=8)
    locale = fields.CharField(max_length=8, default="zh-CN")
    version = fields.IntField()
    rank = fields.IntField(default=0)
    fanout = fields.CharEnumField(Fanout, max_length=5, default=Fanout.FIRST)
    title = fields.CharField(max_length=200)
    body = fields.TextField()
    deeplink = fields.CharField(max_length=512, default="")
    huawei_category = fields.CharField(max_length=32, default="")
    wechat_template_id = fields.CharField(max_length=64, default="")
    alipay_template_id = fields.CharField(max_length=64, default="")
    # Vendor data fields: {"thing1": "{itemName}"} for WeChat and Alipay, {"code": "{billNo}"} for SMS.
    fields_map = fields.JSONField[dict[str, str]](default=dict)
    sms_template_code = fields.CharField(max_length=64, default="")
    sms_sign_name = fields.CharField(max_length=64, default="")
    sms_fallback = fields.BooleanField(default=False)
    defer_in_quiet_hours = fields.BooleanField(default=False)
    active = fields.BooleanField(default=True)
    created_by = fields.CharField(max_length=64, default="system")

    class Meta:
        table = "notification_template"
        unique_together = (("code", "channel", "locale", "version"),)


class NotificationRequest(Model):
    """created_at comes from the injectable clock: the reconciler ages rows by it."""

    id = fields.UUIDField(primary_key=True)
    created_at = fields.DatetimeField()
    kind = fields.CharEnumField(NoticeKind, max_length=13)
    category = fields.CharEnumField(NoticeCategory, max_length=8)
    topic = fields.CharField(max_length=64)
    key = fields.CharField(max_length=128)
    state_version = fields.BigIntField(default=0)
    recipient_user_id = fields.UUIDField(db_index=True)
    template_code = fields.CharField(max_length=64)
    template_version = fields.IntField()
    locale = fields.CharField(max_length=8, default="zh-CN")
    params = fields.JSONField[dict[str, Any]](default=dict)
    dedup_key = fields.CharField(max_length=255, unique=True)
    priority = fields.IntField(default=10)
    not_before = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(null=True)
    campaign_id = fields.UUIDField(null=True, db_index=True)
    status = fields.CharEnumField(RequestStatus, max_length=9, default=RequestStatus.PENDING)

    class Meta:
        table = "notification_request"
        indexes = (("status", "created_at"),)


class Delivery(Model):
    """One message to one endpoint of one channel. The id is unguessable: apps send it back when opened."""

    id = fields.UUIDField(primary_key=True)
    request_id = fields.UUIDField(db_index=True)
    campaign_id = fields.UUIDField(null=True, db_index=True)
    recipient_user_id = fields.UUIDField(db_index=True)
    channel = fields.CharEnumField(DeliveryChannel, max_length=8)
    # Device endpoint id, openid, Alipay id, phone or the literal "inbox": never null (NULLs never collide).
    endpoint_key = fields.CharField(max_length=128)
    dedup_key = fields.CharField(max_length=255)
    status = fields.CharEnumField(NoticeStatus, max_length=17, default=NoticeStatus.CREATED)
    suppress_reason = fields.CharEnumField(SuppressReason, max_length=16, null=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    lease_until = fields.DatetimeField(null=True)
    provider_message_id = fields.CharField(max_length=128, null=True, db_index=True)
    last_error = fields.CharField(max_length=255, null=True)
    created_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    opened_at = fields.DatetimeField(null=True)
    clicked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "delivery"
        unique_together = (("dedup_key", "channel", "endpoint_key"),)
        indexes = (("status", "next_attempt_at"),)


class DeliveryAttempt(Model):
    """Append-only: one row per provider call, and one for a reply that came after its timeout (`late`)."""

    id = fields.BigIntField(primary_key=True)
    delivery_id = fields.UUIDField(db_index=True)
    attempt_no = fields.IntField()
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField()
    http_status = fields.IntField(null=True)
    reason = fields.CharField(max_length=128, null=True)
    outcome = fields.CharField(max_length=16)
    latency_ms = fields.IntField(default=0)
    late = fields.BooleanField(default=False)

    class Meta:
        table = "delivery_attempt"


class DeviceEndpoint(Entity):
    user_id = fields.UUIDField(db_index=True)
    platform = fields.CharEnumField(PushPlatform, max_length=8)
    token = fields.CharField(max_length=256)
    env = fields.CharEnumField(PushEnv, max_length=7, default=PushEnv.PROD)
    app_version = fields.CharField(max_length=32, default="")
    registered_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()
    invalidated_at = fields.DatetimeField(null=True)
    invalid_reason = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "device_endpoint"
        unique_together = (("platform", "token"),)


class SubscriptionQuota(Entity):
    user_id = fields.UUIDField()
    provider = fields.CharEnumField(QuotaProvider, max_length=6)
    template_id = fields.CharField(max_length=64)
    kind = fields.CharEnumField(QuotaKind, max_length=9, default=QuotaKind.ONE_TIME)
    remaining = fields.IntField(default=0)

    class Meta:
        table = "subscription_quota"
        unique_together = (("user_id", "provider", "template_id"),)


class NotificationPreference(Entity):
    user_id = fields.UUIDField()
    category = fields.CharEnumField(NoticeCategory, max_length=8)
    channel = fields.CharField(max_length=8)  # a TemplateChannel value, or "*" for every channel
    enabled = fields.BooleanField()

    class Meta:
        table = "notification_preference"
        unique_together = (("user_id", "category", "channel"),)


class NotificationSettings(Model):
    user_id = fields.UUIDField(primary_key=True)
    timezone = fields.CharField(max_length=64, default="Asia/Shanghai")
    quiet_start = fields.TimeField()
    quiet_end = fields.TimeField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "notification_settings"


class Segment(Entity):
    name = fields.CharField(max_length=128)
    dsl = fields.JSONField[dict[str, Any]]()
    version = fields.IntField(default=1)
    created_by = fields.UUIDField()

    class Meta:
        table = "segment"


class Campaign(Entity):
    name = fields.CharField(max_length=128)
    segment_id = fields.UUIDField()
    segment_version = fields.IntField()
    template_code = fields.CharField(max_length=64)
    channels = fields.JSONField[list[str]](default=list)  # TemplateChannel values in plan order
    schedule_at = fields.DatetimeField()
    window_end = fields.DatetimeField()
    # null: one run. {"every": "day", "at": "09:00"}: a run each local day at that time until `window_end`.
    recurrence = fields.JSONField[dict[str, Any]](null=True)
    throttle_per_min = fields.IntField(default=3000)
    run_no = fields.IntField(default=0)
    next_run_at = fields.DatetimeField(null=True)
    materialized_key = fields.CharField(max_length=128, null=True)  # keyset position of the run in progress
    status = fields.CharEnumField(CampaignStatus, max_length=16, default=CampaignStatus.DRAFT)
    created_by = fields.UUIDField()
    last_edited_by = fields.UUIDField()
    submitted_by = fields.UUIDField(null=True)
    approved_by = fields.UUIDField(null=True)
    version = fields.IntField(default=1)  # bumped by every write, for compare-and-set

    class Meta:
        table = "campaign"
        indexes = (("status", "next_run_at"),)


class CampaignRecipient(Model):
    id = fields.BigIntField(primary_key=True)
    campaign_id = fields.UUIDField()
    run_no = fields.IntField()
    user_id = fields.UUIDField()
    root_id = fields.CharField(max_length=64)  # the segment's root entity (a licence for licence segments)
    page_key = fields.CharField(max_length=128)

    class Meta:
        table = "campaign_recipient"
        unique_together = (("campaign_id", "run_no", "user_id"),)


class CampaignTransition(Model):
    id = fields.BigIntField(primary_key=True)
    campaign_id = fields.UUIDField(db_index=True)
    from_status = fields.CharField(max_length=16)
    to_status = fields.CharField(max_length=16)
    actor = fields.CharField(max_length=64)  # an operator id, or "system"
    reason = fields.CharField(max_length=255, default="")
    at = fields.DatetimeField()

    class Meta:
        table = "campaign_transition"


class InboxItem(Model):
    """created_at comes from the injectable clock: the inbox is ordered by it."""

    id = fields.UUIDField(primary_key=True)
    created_at = fields.DatetimeField()
    user_id = fields.UUIDField()
    request_id = fields.UUIDField(unique=True)
    delivery_id = fields.UUIDField(null=True)
    category = fields.CharEnumField(NoticeCategory, max_length=8)
    title = fields.CharField(max_length=200)
    body = fields.TextField()
    deeplink = fields.CharField(max_length=512, default="")
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "inbox_item"
        indexes = (("user_id", "created_at"),)


class StatBucket(Model):
    id = fields.BigIntField(primary_key=True)
    scope = fields.CharField(max_length=80)  # campaign:{id} or topic:{topic}
    channel = fields.CharField(max_length=8)
    metric = fields.CharField(max_length=32)  # targeted, eligible, suppressed:{reason}, sent, …
    hour = fields.DatetimeField()
    count = fields.BigIntField(default=0)

    class Meta:
        table = "stat_bucket"
        unique_together = (("scope", "channel", "metric", "hour"),)
