"""Scalars shared by every domain."""

from __future__ import annotations

import re
from datetime import datetime
from typing import NewType

import strawberry
from graphql import GraphQLError
from strawberry.types.scalar import ScalarDefinition

from api.kit.clock import SHANGHAI

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]{0,18})")

# Versions and counters beyond 32 bits (graphql.md §2): GraphQL Int is 32-bit, and a JS number loses precision
# above 2^53, so they travel as strings of decimal digits.
BigIntString = NewType("BigIntString", int)


class BigIntStringError(GraphQLError, ValueError):
    """A refused BigIntString input. A GraphQLError, so that graphql-core reports it as the variable's input error
    as it stands rather than masking it as unexpected (like FenError)."""


def _serialize_datetime(value: datetime) -> str:
    return value.astimezone(SHANGHAI).isoformat()


def _parse_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime must be an ISO 8601 string with an offset")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("DateTime needs an offset, e.g. 2026-01-01T09:00:00+08:00")
    return parsed


def parse_big_int(value: object) -> int:
    # Only the canonical spelling (no "+", no leading zeros, no JSON number): the string is kept as the client sent
    # it where it is stored, so one version has one spelling.
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value) or not INT64_MIN <= int(value) <= INT64_MAX:
        raise BigIntStringError('BigIntString must be a 64-bit integer as a string of decimal digits, e.g. "42"')
    return int(value)


def serialize_big_int(value: object) -> str:
    # bool is an int: never let True become "1".
    if type(value) is not int or not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"BigIntString must be a 64-bit int, got {value!r}")
    return str(value)


SCALAR_MAP: dict[object, ScalarDefinition] = {
    datetime: strawberry.scalar(
        name="DateTime",
        description="ISO 8601 date-time with offset, rendered in Asia/Shanghai.",
        serialize=_serialize_datetime,
        parse_value=_parse_datetime,
    ),
    BigIntString: strawberry.scalar(
        name="BigIntString",
        description="A 64-bit integer as a string of decimal digits (GraphQL Int is 32-bit).",
        serialize=serialize_big_int,
        parse_value=parse_big_int,
    ),
}
