"""Expected failures of notifications (notifications.md §C14), each a typed GraphQL error with a stable code."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from api.kit.errors import AppError


class NotificationsErrorCode(StrEnum):
    INVALID_SEGMENT = "INVALID_SEGMENT"  # unknown field or op, wrong type, raw SQL (§C3)
    SELF_APPROVAL = "SELF_APPROVAL"  # the approver created, last edited or submitted the campaign (§C4)
    SCHEDULE_IN_PAST = "SCHEDULE_IN_PAST"  # schedule_at not after the clock, or window_end not after schedule_at
    INVALID_TRANSITION = "INVALID_TRANSITION"  # the campaign's status does not allow the operation
    TEMPLATE_TOO_LARGE = "TEMPLATE_TOO_LARGE"  # a channel's payload over its limit, or a WeChat field over its type
    CRITICAL_NOT_MUTABLE = "CRITICAL_NOT_MUTABLE"  # muting the critical category (§C12)
    QUIET_HOURS_TOO_NARROW = "QUIET_HOURS_TOO_NARROW"  # a window that does not cover the default one
    NOT_FOUND = "NOT_FOUND"  # unknown or foreign id (deliveries, devices, campaigns, segments, templates)
    INVALID_INPUT = "INVALID_INPUT"  # anything else a field-level check refuses


class NotificationsError(AppError):
    def __init__(self, code: NotificationsErrorCode, message: str, *, path: Sequence[str] | None = None) -> None:
        super().__init__(message, path=path, code=code.value)
        self.error_code = code
