"""The pull cursor of sync-protocol.md §9: `base64url(payload) "." base64url(HMAC-SHA256(key, payload))`.

A cursor never causes an error: anything unusable yields a reset (P6). The HMAC is checked before the payload
is parsed, so a forged cursor never reaches the JSON decoder's corner cases.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import orjson

_KEYS = frozenset({"epoch", "spaceId", "floor", "since", "upTo", "afterVersion", "afterDraftId"})
MAX_CURSOR_LENGTH = 1024  # a real one is about 300 characters: longer input is not worth decoding


class ResetReason(StrEnum):
    MISSING = "MISSING"
    MALFORMED = "MALFORMED"
    BAD_SIGNATURE = "BAD_SIGNATURE"
    FOREIGN_SPACE = "FOREIGN_SPACE"
    EPOCH_CHANGED = "EPOCH_CHANGED"
    FROM_THE_FUTURE = "FROM_THE_FUTURE"
    GARBAGE_COLLECTED = "GARBAGE_COLLECTED"

    @property
    def security_relevant(self) -> bool:
        """A forged or replayed cursor is logged as a security event, the others are ordinary resets."""
        return self in (ResetReason.BAD_SIGNATURE, ResetReason.FOREIGN_SPACE)


@dataclass(frozen=True)
class PullCursor:
    """`up_to` and `after_*` are None at the start of a cycle. Deltas are computed from `floor` (≤ `since`)."""

    epoch: uuid.UUID
    space_id: str
    floor: int
    since: int
    up_to: int | None = None
    after_version: int | None = None
    after_draft_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Position:
    """Where a pull starts: the cursor to page from, and why it was reset, if it was."""

    cursor: PullCursor
    reset_reason: ResetReason | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


def encode(cursor: PullCursor, key: bytes) -> str:
    payload = orjson.dumps(
        {
            "epoch": str(cursor.epoch),
            "spaceId": cursor.space_id,
            "floor": cursor.floor,
            "since": cursor.since,
            "upTo": cursor.up_to,
            "afterVersion": cursor.after_version,
            "afterDraftId": None if cursor.after_draft_id is None else str(cursor.after_draft_id),
        }
    )
    return f"{_b64(payload)}.{_b64(_sign(key, payload))}"


class _Unusable(Exception):
    def __init__(self, reason: ResetReason) -> None:
        self.reason = reason


def decode(token: str, key: bytes) -> PullCursor:
    """The cursor a token carries, or `_Unusable` with the reason it is not one of ours."""
    if len(token) > MAX_CURSOR_LENGTH or token.count(".") != 1:
        raise _Unusable(ResetReason.MALFORMED)
    body, signature = token.split(".")
    try:
        payload, mac = _unb64(body), _unb64(signature)
    except (binascii.Error, ValueError):
        raise _Unusable(ResetReason.MALFORMED) from None
    if not hmac.compare_digest(mac, _sign(key, payload)):
        raise _Unusable(ResetReason.BAD_SIGNATURE)
    try:
        return _parse(orjson.loads(payload))
    except (orjson.JSONDecodeError, ValueError, TypeError, KeyError):
        raise _Unusable(ResetReason.MALFORMED) from None


def _version(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("not a version")
    return value


def _optional_version(value: Any) -> int | None:
    return None if value is None else _version(value)


def _parse(data: Any) -> PullCursor:
    # Signed by us, yet checked: a cursor minted by an older release must reset, never crash a pull.
    if not isinstance(data, dict) or data.keys() != _KEYS or not isinstance(data["spaceId"], str):
        raise ValueError("not a cursor payload")
    floor, since = _version(data["floor"]), _version(data["since"])
    up_to = _optional_version(data["upTo"])
    after_version = _optional_version(data["afterVersion"])
    after_id = data["afterDraftId"]
    after_draft_id = None if after_id is None else uuid.UUID(after_id)
    if floor > since or (up_to is not None and since > up_to):
        raise ValueError("inconsistent versions")
    if (after_version is None) != (after_draft_id is None) or (after_version is not None and up_to is None):
        raise ValueError("inconsistent page position")
    return PullCursor(uuid.UUID(data["epoch"]), data["spaceId"], floor, since, up_to, after_version, after_draft_id)


def start(
    token: str | None,
    key: bytes,
    *,
    space_id: str,
    epoch: uuid.UUID,
    space_version: int,
    min_valid_version: int,
) -> Position:
    """Validate a client's cursor against the space as read in the pull's snapshot, resetting when unusable."""

    def reset(reason: ResetReason) -> Position:
        return Position(PullCursor(epoch, space_id, 0, 0), reason)

    if not token:
        return reset(ResetReason.MISSING)
    try:
        cursor = decode(token, key)
    except _Unusable as unusable:
        return reset(unusable.reason)
    if cursor.space_id != space_id:
        return reset(ResetReason.FOREIGN_SPACE)
    if cursor.epoch != epoch:
        return reset(ResetReason.EPOCH_CHANGED)
    if cursor.since > space_version or (cursor.up_to is not None and cursor.up_to > space_version):
        return reset(ResetReason.FROM_THE_FUTURE)
    # A cycle from 0 selects every live draft, so GC cannot have taken a change it still owes: only a delta cursor
    # older than the watermark resets (else a multi-page reset would restart for ever once any tombstone was purged).
    if 0 < cursor.since < min_valid_version:
        return reset(ResetReason.GARBAGE_COLLECTED)
    return Position(cursor)


def pin(cursor: PullCursor, space_version: int) -> PullCursor:
    """At the start of a cycle `upTo` is pinned to the space version: every page of the cycle reports it."""
    return cursor if cursor.up_to is not None else replace(cursor, up_to=space_version)


def next_page(cursor: PullCursor, last_version: int, last_draft_id: uuid.UUID) -> PullCursor:
    """`hasMore = true`: same cycle, after the last draft served."""
    return replace(cursor, after_version=last_version, after_draft_id=last_draft_id)


def next_cycle(cursor: PullCursor, space_version: int) -> PullCursor:
    """`hasMore = false`. `floor` advances only when nothing was written during the cycle: a draft that dropped out
    of it mid-cycle may carry an earlier change at or below the new `since`, which deltas from `floor` still cover."""
    up_to = cursor.since if cursor.up_to is None else cursor.up_to
    floor = up_to if space_version == up_to else cursor.floor
    return PullCursor(cursor.epoch, cursor.space_id, floor, up_to)
