"""What a campaign's content must satisfy before it is stored (notifications.md §C4): an existing segment, a
campaign-category template, channels campaigns may use, a schedule in the future by the clock with a later
`window_end`, a daily recurrence and a throttle in range. Paths name the GraphQL input fields."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from api.models.notifications import NoticeCategory, Segment, TemplateChannel
from notifications.errors import NotificationsError, NotificationsErrorCode
from notifications.templates import current_template

MAX_THROTTLE_PER_MIN = 100_000
CAMPAIGN_CHANNELS = (TemplateChannel.PUSH, TemplateChannel.WECHAT, TemplateChannel.ALIPAY, TemplateChannel.INBOX)
LOCAL_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True)
class CampaignFields:
    name: str
    segment_id: uuid.UUID
    template_code: str
    channels: list[str]
    schedule_at: datetime
    window_end: datetime
    recurrence: dict[str, Any] | None
    throttle_per_min: int


def _invalid(message: str, field: str) -> NotificationsError:
    return NotificationsError(NotificationsErrorCode.INVALID_INPUT, message, path=[field])


def check_schedule(schedule_at: datetime, window_end: datetime, now: datetime) -> None:
    for value, field in ((schedule_at, "scheduleAt"), (window_end, "windowEnd")):
        if value.tzinfo is None:
            raise _invalid("a time with its offset", field)
    if schedule_at <= now:
        raise NotificationsError(
            NotificationsErrorCode.SCHEDULE_IN_PAST, "scheduleAt must be in the future", path=["scheduleAt"]
        )
    if window_end <= schedule_at:
        raise NotificationsError(
            NotificationsErrorCode.SCHEDULE_IN_PAST, "windowEnd must be after scheduleAt", path=["windowEnd"]
        )


def check_recurrence(recurrence: dict[str, Any] | None) -> dict[str, str] | None:
    """None for a single run, or {"every": "day", "at": "HH:MM"} (local time, Asia/Shanghai)."""
    if recurrence is None:
        return None
    at = recurrence.get("at") if isinstance(recurrence, dict) else None
    if set(recurrence) != {"every", "at"} or recurrence.get("every") != "day" or not isinstance(at, str):
        raise _invalid('expected {"every": "day", "at": "HH:MM"}', "recurrence")
    if not LOCAL_TIME.match(at):
        raise _invalid("expected a local time HH:MM", "recurrence")
    return {"every": "day", "at": at}


async def check_fields(fields: CampaignFields, now: datetime) -> dict[str, Any]:
    """The columns to store, or the first typed error."""
    name = fields.name.strip() if isinstance(fields.name, str) else ""
    if not name or len(name) > 128:
        raise _invalid("a name of 1 to 128 characters", "name")
    segment = await Segment.get_or_none(id=fields.segment_id)
    if segment is None:
        raise NotificationsError(NotificationsErrorCode.NOT_FOUND, "no such segment", path=["segmentId"])
    template = await current_template(fields.template_code)
    if template is None or template.category != NoticeCategory.CAMPAIGN:
        raise _invalid("a template of the campaign category", "templateCode")
    channels: list[str] = []
    for value in fields.channels:
        if value not in {c.value for c in CAMPAIGN_CHANNELS}:
            raise _invalid("campaigns use push, wechat, alipay and the inbox (never SMS)", "channels")
        if str(value) not in channels:
            channels.append(str(value))
    check_schedule(fields.schedule_at, fields.window_end, now)
    throttle = fields.throttle_per_min
    if isinstance(throttle, bool) or not isinstance(throttle, int) or not 1 <= throttle <= MAX_THROTTLE_PER_MIN:
        raise _invalid(f"from 1 to {MAX_THROTTLE_PER_MIN} per minute", "throttlePerMin")
    return {
        "name": name,
        "segment_id": segment.id,
        "segment_version": segment.version,
        "template_code": fields.template_code,
        "channels": channels,
        # In UTC: SQLite compares stored moments as text, so they must all carry the same offset.
        "schedule_at": fields.schedule_at.astimezone(UTC),
        "window_end": fields.window_end.astimezone(UTC),
        "recurrence": check_recurrence(fields.recurrence),
        "throttle_per_min": throttle,
    }
