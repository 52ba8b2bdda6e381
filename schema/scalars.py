"""Scalars shared by every domain."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types.scalar import ScalarDefinition

from api.kit.clock import SHANGHAI


def _serialize_datetime(value: datetime) -> str:
    return value.astimezone(SHANGHAI).isoformat()


def _parse_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime must be an ISO 8601 string with an offset")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("DateTime needs an offset, e.g. 2026-01-01T09:00:00+08:00")
    return parsed


SCALAR_MAP: dict[object, ScalarDefinition] = {
    datetime: strawberry.scalar(
        name="DateTime",
        description="ISO 8601 date-time with offset, rendered in Asia/Shanghai.",
        serialize=_serialize_datetime,
        parse_value=_parse_datetime,
    ),
}
