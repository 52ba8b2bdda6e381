"""The pull cursor (sync-protocol.md §9, P6): signed, bound to a space and an epoch, never an error."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

import orjson
import pytest

from sync.cursor import MAX_CURSOR_LENGTH, Position, PullCursor, ResetReason, encode, next_cycle, next_page, pin, start

KEY = b"k" * 32
EPOCH = uuid.UUID("0192a4c2-0000-7000-8000-000000000001")
SPACE = "P:0192a4c2-0000-7000-8000-00000000aaaa"
DRAFT = uuid.UUID("0192a4c2-0000-7000-8000-00000000d001")


def begin(token: str | None, *, version: int = 10, min_valid: int = 0, key: bytes = KEY) -> Position:
    return start(token, key, space_id=SPACE, epoch=EPOCH, space_version=version, min_valid_version=min_valid)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class TestRoundTrip:
    @pytest.mark.parametrize(
        "cursor",
        [
            PullCursor(EPOCH, SPACE, 0, 0),
            PullCursor(EPOCH, SPACE, 3, 7),
            PullCursor(EPOCH, SPACE, 3, 7, 10, 8, DRAFT),
            PullCursor(EPOCH, SPACE, 2**62, 2**62),
        ],
    )
    def test_own_cursor_is_accepted(self, cursor: PullCursor) -> None:
        assert begin(encode(cursor, KEY), version=2**62) == Position(cursor)

    def test_is_opaque_url_safe_text(self) -> None:
        token = encode(PullCursor(EPOCH, SPACE, 3, 7, 10, 8, DRAFT), KEY)
        assert token.count(".") == 1
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
        assert len(token) < MAX_CURSOR_LENGTH


class TestResets:
    def test_missing(self) -> None:
        for token in (None, ""):
            position = begin(token)
            assert position == Position(PullCursor(EPOCH, SPACE, 0, 0), ResetReason.MISSING)

    @pytest.mark.parametrize("token", ["garbage", "a.b.c", "!!!.???", "x" * 2000 + ".y", ".", "e30.", "\u00e9.\u00e9"])
    def test_garbage(self, token: str) -> None:
        assert begin(token).reset_reason in (ResetReason.MALFORMED, ResetReason.BAD_SIGNATURE)

    def test_tampered_payload(self) -> None:
        token = encode(PullCursor(EPOCH, SPACE, 3, 7), KEY)
        body, mac = token.split(".")
        payload = orjson.loads(base64.urlsafe_b64decode(body + "=="))
        payload["since"] = 0
        position = begin(f"{b64(orjson.dumps(payload))}.{mac}")
        assert position.reset_reason is ResetReason.BAD_SIGNATURE
        assert position.reset_reason.security_relevant
        assert (position.cursor.floor, position.cursor.since, position.cursor.up_to) == (0, 0, None)

    def test_tampered_signature(self) -> None:
        body, mac = encode(PullCursor(EPOCH, SPACE, 3, 7), KEY).split(".")
        flipped = "A" if mac[0] != "A" else "B"
        assert begin(f"{body}.{flipped}{mac[1:]}").reset_reason is ResetReason.BAD_SIGNATURE

    def test_other_key_after_rotation(self) -> None:
        token = encode(PullCursor(EPOCH, SPACE, 3, 7), KEY)
        assert begin(token, key=b"another key").reset_reason is ResetReason.BAD_SIGNATURE

    def test_foreign_space(self) -> None:
        token = encode(PullCursor(EPOCH, "P:someone-else", 3, 7), KEY)
        position = begin(token)
        assert position.reset_reason is ResetReason.FOREIGN_SPACE
        assert position.reset_reason.security_relevant
        assert position.cursor.space_id == SPACE

    def test_epoch_changed(self) -> None:
        token = encode(PullCursor(uuid.uuid4(), SPACE, 3, 7), KEY)
        position = begin(token)
        assert position.reset_reason is ResetReason.EPOCH_CHANGED
        assert not position.reset_reason.security_relevant
        assert position.cursor.epoch == EPOCH

    @pytest.mark.parametrize("cursor", [PullCursor(EPOCH, SPACE, 3, 11), PullCursor(EPOCH, SPACE, 3, 7, 11, 8, DRAFT)])
    def test_from_the_future(self, cursor: PullCursor) -> None:
        assert begin(encode(cursor, KEY), version=10).reset_reason is ResetReason.FROM_THE_FUTURE

    def test_tombstones_collected(self) -> None:
        token = encode(PullCursor(EPOCH, SPACE, 3, 7), KEY)
        assert begin(token, min_valid=8).reset_reason is ResetReason.GARBAGE_COLLECTED
        assert begin(token, min_valid=7).reset_reason is None

    def test_a_reset_cycle_survives_garbage_collection(self) -> None:
        """A cycle from 0 owes every live draft, none of which GC took: it pages on instead of restarting."""
        token = encode(PullCursor(EPOCH, SPACE, 0, 0, 9, 4, uuid.uuid4()), KEY)
        assert begin(token, min_valid=8).reset_reason is None

    @pytest.mark.parametrize(
        "payload",
        [
            [],
            {"epoch": str(EPOCH)},
            {"epoch": "not-a-uuid", "spaceId": SPACE, "floor": 0, "since": 0, "upTo": None, "afterVersion": None,
             "afterDraftId": None},
            {"epoch": str(EPOCH), "spaceId": SPACE, "floor": -1, "since": 0, "upTo": None, "afterVersion": None,
             "afterDraftId": None},
            {"epoch": str(EPOCH), "spaceId": SPACE, "floor": True, "since": 1, "upTo": None, "afterVersion": None,
             "afterDraftId": None},
            {"epoch": str(EPOCH), "spaceId": SPACE, "floor": "1", "since": 1, "upTo": None, "afterVersion": None,
             "afterDraftId": None},
            {"epoch": str(EPOCH), "spaceId": SPACE, "floor": 5, "since": 4, "upTo": None, "afterVersion": None,
             "afterDraftId": None},
            {"epoch": str(EPOCH), "spaceId": SPACE, "floor": 1, "since": 4, "upTo": 3, "afterVersion": None,
             "afterDraftId": None},
            {"epoch": str(EPOCH), "spaceId": SPACE, "floor": 1, "since": 4, "upTo": None, "afterVersion": 5,
             "afterDraftId": str(DRAFT)},
            {"epoch": str(EPOCH), "spaceId": SPACE, "floor": 1, "since": 4, "upTo": 6, "afterVersion": 5,
             "afterDraftId": None},
            {"epoch": str(EPOCH), "spaceId": 7, "floor": 1, "since": 4, "upTo": None, "afterVersion": None,
             "afterDraftId": None},
            {"epoch": str(EPOCH), "spaceId": SPACE, "floor": 1, "since": 4, "upTo": None, "afterVersion": None,
             "afterDraftId": None, "extra": 1},
        ],
    )  # fmt: skip
    def test_signed_but_malformed_payload(self, payload: object) -> None:
        # Only a bug or an old release could sign these: still a reset, never an exception.
        raw = orjson.dumps(payload)
        token = f"{b64(raw)}.{b64(hmac.new(KEY, raw, hashlib.sha256).digest())}"
        assert begin(token).reset_reason is ResetReason.MALFORMED

    def test_signed_non_json(self) -> None:
        raw = b"\xff not json"
        token = f"{b64(raw)}.{b64(hmac.new(KEY, raw, hashlib.sha256).digest())}"
        assert begin(token).reset_reason is ResetReason.MALFORMED


class TestCycle:
    def test_first_page_pins_up_to(self) -> None:
        cursor = pin(PullCursor(EPOCH, SPACE, 3, 7), 12)
        assert cursor.up_to == 12
        assert pin(cursor, 15).up_to == 12  # later pages of the cycle keep the snapshot version

    def test_next_page_keeps_the_window(self) -> None:
        cursor = next_page(pin(PullCursor(EPOCH, SPACE, 3, 7), 12), 9, DRAFT)
        assert cursor == PullCursor(EPOCH, SPACE, 3, 7, 12, 9, DRAFT)
        assert begin(encode(cursor, KEY), version=12).cursor == cursor

    def test_quiet_cycle_advances_floor(self) -> None:
        cursor = next_cycle(pin(PullCursor(EPOCH, SPACE, 3, 7), 12), space_version=12)
        assert cursor == PullCursor(EPOCH, SPACE, 12, 12)

    def test_busy_cycle_keeps_floor(self) -> None:
        # A write during the cycle may have pushed a draft with an unserved change out of it.
        cursor = next_cycle(pin(PullCursor(EPOCH, SPACE, 3, 7), 12), space_version=13)
        assert cursor == PullCursor(EPOCH, SPACE, 3, 12)

    def test_reset_cycle(self) -> None:
        cursor = next_cycle(pin(PullCursor(EPOCH, SPACE, 0, 0), 5), space_version=6)
        assert (cursor.floor, cursor.since, cursor.up_to) == (0, 5, None)

    def test_s13_old_cursor_after_gc_resets(self) -> None:
        """S13 (cursor part): a cursor taken before GC raised min_valid_version resets to a full snapshot."""
        old = encode(next_cycle(pin(PullCursor(EPOCH, SPACE, 0, 0), 4), space_version=4), KEY)
        position = begin(old, version=9, min_valid=6)
        assert position.reset_reason is ResetReason.GARBAGE_COLLECTED
        assert (position.cursor.floor, position.cursor.since) == (0, 0)
