"""Cursor pagination: opaque cursors over a stable sort key, `first` clamped to 100 (graphql.md §2)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

import orjson
from tortoise.expressions import Q

from api.kit.errors import InvalidInput

T = TypeVar("T")
DEFAULT_FIRST = 20
MAX_FIRST = 100


def clamp_first(first: int | None) -> int:
    if first is None:
        return DEFAULT_FIRST
    if first < 0:
        raise InvalidInput("first must not be negative", path=["first"], code="INVALID_PAGE")
    return min(first, MAX_FIRST)


def encode_cursor(position: object) -> str:
    """`position` is the sort key of the last item seen (an offset, or a tuple of column values)."""
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> object:
    if not cursor:
        return None
    try:
        return orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise InvalidInput("not a cursor of this list", path=["after"], code="INVALID_CURSOR") from None


def offset_after(cursor: str | None) -> int:
    """Offset cursors, for ranked lists (search results) whose order has no stable key of its own."""
    position = decode_cursor(cursor)
    if position is None:
        return 0
    if not isinstance(position, int) or position < 0:
        raise InvalidInput("not a cursor of this list", path=["after"], code="INVALID_CURSOR")
    return position + 1


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    cursors: Sequence[str]
    has_next_page: bool
    total_count: int | None = None


def offset_page(rows: Sequence[T], *, start: int, first: int, total: int | None = None) -> Page[T]:
    """`rows` fetched with limit first + 1 from `start`: the extra row only says whether there is more."""
    shown = rows[:first]
    return Page(shown, [encode_cursor(start + i) for i in range(len(shown))], len(rows) > first, total)


def moment_id_after(after: str | None, field: str, *, newest_first: bool = True) -> Q:
    """The rows after a cursor of `encode_cursor([moment.isoformat(), str(id)])` on the sort (`field`, id), newest
    first by default; an empty condition without a cursor, a typed error for a cursor of another list."""
    position = decode_cursor(after)
    if position is None:
        return Q()
    if not (isinstance(position, list) and len(position) == 2 and all(isinstance(p, str) for p in position)):
        raise InvalidInput("not a cursor of this list", path=["after"], code="INVALID_CURSOR")
    try:
        moment, row_id = datetime.fromisoformat(position[0]), uuid.UUID(position[1])
    except ValueError:
        raise InvalidInput("not a cursor of this list", path=["after"], code="INVALID_CURSOR") from None
    op = "lt" if newest_first else "gt"
    before: dict[str, object] = {f"{field}__{op}": moment}
    tied: dict[str, object] = {field: moment, f"id__{op}": row_id}
    return Q(**before) | Q(**tied)  # type: ignore[arg-type]
