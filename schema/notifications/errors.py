"""The typed errors of notifications' mutations, one per `NotificationsErrorCode` (§C14).

`notifications_error(exc, allowed)` is the one mapping from a refusal to the member of a result union. A code whose
type the union lacks becomes that union's `InvalidInputError` with the same stable `code`, so that a refusal never
reaches the client as a masked "Unexpected error.".
"""

from __future__ import annotations

from typing import Any

import strawberry

from api.kit.errors import AppError
from notifications.errors import NotificationsError, NotificationsErrorCode
from schema.errors import Error, InvalidInputError, NotFoundError, to_error


@strawberry.type(description="The segment DSL names an unknown field or op, has a wrong type or raw SQL; see `path`.")
class InvalidSegmentError(Error):
    pass


@strawberry.type(description="The approver created, last edited or submitted this campaign (four-eyes rule).")
class SelfApprovalError(Error):
    pass


@strawberry.type(description="`scheduleAt` is not in the future, or `windowEnd` is not after `scheduleAt`.")
class ScheduleInPastError(Error):
    pass


@strawberry.type(description="The campaign's status does not allow this operation. Nothing changed.")
class InvalidTransitionError(Error):
    pass


@strawberry.type(description="A channel's payload is over its limit, or a WeChat field over its type's length.")
class TemplateTooLargeError(Error):
    pass


@strawberry.type(description="The critical category cannot be muted: only its channels can be chosen.")
class CriticalNotMutableError(Error):
    pass


@strawberry.type(description="The quiet hours must cover at least the default window (21:00–08:00).")
class QuietHoursTooNarrowError(Error):
    pass


_TYPES: dict[NotificationsErrorCode, type[Error]] = {
    NotificationsErrorCode.INVALID_SEGMENT: InvalidSegmentError,
    NotificationsErrorCode.SELF_APPROVAL: SelfApprovalError,
    NotificationsErrorCode.SCHEDULE_IN_PAST: ScheduleInPastError,
    NotificationsErrorCode.INVALID_TRANSITION: InvalidTransitionError,
    NotificationsErrorCode.TEMPLATE_TOO_LARGE: TemplateTooLargeError,
    NotificationsErrorCode.CRITICAL_NOT_MUTABLE: CriticalNotMutableError,
    NotificationsErrorCode.QUIET_HOURS_TOO_NARROW: QuietHoursTooNarrowError,
    NotificationsErrorCode.NOT_FOUND: NotFoundError,
    NotificationsErrorCode.INVALID_INPUT: InvalidInputError,
}


def notifications_error(exc: AppError, allowed: tuple[type[Any], ...]) -> Any:
    """The member of a result union (`allowed`) for an expected refusal."""
    if isinstance(exc, NotificationsError):
        typed: Error = _TYPES[exc.error_code](code=exc.code, message=exc.message, path=exc.path)
    else:
        typed = to_error(exc)
    if isinstance(typed, allowed):
        return typed
    return InvalidInputError(code=exc.code, message=exc.message, path=exc.path)
