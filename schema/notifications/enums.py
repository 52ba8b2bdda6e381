"""The enums of the notifications schema (§C14): SCREAMING_SNAKE, one to one with the stored values of §C2 and §C4.

Converting is `Row(view.value.lower())` and `View(row.value.upper())`: every stored value is the lower-case name.
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

import strawberry

E = TypeVar("E", bound=Enum)


@strawberry.enum(description="critical cannot be muted; service is on by default; campaign is opt-out (§C12).")
class NotificationCategory(Enum):
    CRITICAL = "CRITICAL"
    SERVICE = "SERVICE"
    CAMPAIGN = "CAMPAIGN"


@strawberry.enum(description="A campaign's lifecycle (§C4).")
class CampaignStatus(Enum):
    DRAFT = "DRAFT"
    PENDING_APPROVAL = "PENDING_APPROVAL"
    APPROVED = "APPROVED"
    SCHEDULED = "SCHEDULED"
    MATERIALIZING = "MATERIALIZING"
    SENDING = "SENDING"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"


@strawberry.enum(description="A delivery's status (GOV.UK Notify's vocabulary, §C2).")
class DeliveryStatus(Enum):
    CREATED = "CREATED"
    DEFERRED = "DEFERRED"
    SENDING = "SENDING"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    TEMPORARY_FAILURE = "TEMPORARY_FAILURE"
    PERMANENT_FAILURE = "PERMANENT_FAILURE"
    TECHNICAL_FAILURE = "TECHNICAL_FAILURE"
    SUPPRESSED = "SUPPRESSED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


@strawberry.enum(description="Why a delivery was suppressed.")
class SuppressReason(Enum):
    OPT_OUT = "OPT_OUT"
    FREQUENCY_CAPPED = "FREQUENCY_CAPPED"
    NO_ENDPOINT = "NO_ENDPOINT"
    NO_CONSENT = "NO_CONSENT"


@strawberry.enum(description="A device's push platform (named apart from sync's client `Platform`).")
class PushPlatform(Enum):
    IOS = "IOS"
    HUAWEI = "HUAWEI"
    HONOR = "HONOR"
    XIAOMI = "XIAOMI"
    OPPO = "OPPO"
    VIVO = "VIVO"


@strawberry.enum(description="SANDBOX is Apple's development environment (a debug build), PROD a store build.")
class PushEnv(Enum):
    SANDBOX = "SANDBOX"
    PROD = "PROD"


@strawberry.enum(description="What a template and a preference are written for: PUSH covers every device platform.")
class NotificationChannel(Enum):
    PUSH = "PUSH"
    WECHAT = "WECHAT"
    ALIPAY = "ALIPAY"
    SMS = "SMS"
    INBOX = "INBOX"


@strawberry.enum(description="FIRST: the first available channel of the plan; ALL: every available channel.")
class NotificationFanout(Enum):
    FIRST = "FIRST"
    ALL = "ALL"


def to_row(view: Enum, row: type[E]) -> E:
    return row(str(view.value).lower())


def to_view(value: object, view: type[E]) -> E:
    """The view of a stored enum member or its plain string value."""
    return view(str(getattr(value, "value", value)).upper())
