"""What every notifications resolver shares: the process's deps, the caller's id, id parsing, refusal mapping."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import time
from typing import Any, TypeVar

import strawberry

from api.kit.errors import AppError
from api.kit.ids import parse_uuid
from notifications.deps import NotificationsDeps
from notifications.errors import NotificationsError, NotificationsErrorCode
from schema.context import Info
from schema.notifications.errors import notifications_error

T = TypeVar("T")
_HH_MM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def deps_of(info: Info) -> NotificationsDeps:
    deps = info.context.notifications
    if deps is None:
        raise RuntimeError("this process was built without notifications")
    return deps


def caller(info: Info) -> uuid.UUID:
    claims = info.context.principal.claims
    assert claims is not None  # the field's permission class guarantees it
    return claims.subject


def parse_id(value: strawberry.ID | str, field: str, *, missing: NotificationsErrorCode) -> uuid.UUID:
    """A malformed id names nothing, like a well-formed one that is unknown: NOT_FOUND (or INVALID_INPUT)."""
    parsed = parse_uuid(str(value))
    if parsed is None:
        raise NotificationsError(missing, f"{field} is not an id of yours", path=[field])
    return parsed


async def run(call: Callable[[], Awaitable[T]], allowed: tuple[type[Any], ...]) -> Any:
    """The success value, or the member of `allowed` for an expected refusal."""
    try:
        return await call()
    except AppError as exc:
        return notifications_error(exc, allowed)


def local_time(value: str, field: str) -> time:
    """A local wall-clock time `HH:MM`."""
    match = _HH_MM.fullmatch(value.strip())
    if match is None:
        raise NotificationsError(NotificationsErrorCode.INVALID_INPUT, "a local time HH:MM", path=[field])
    return time(int(match.group(1)), int(match.group(2)))
