"""The (moment, id) keyset shared by every newest-first list: cursors of other lists are typed errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from api.kit.errors import InvalidInput
from api.kit.pagination import encode_cursor, moment_id_after


class TestMomentIdAfter:
    def test_no_cursor_is_no_condition(self) -> None:
        assert str(moment_id_after(None, "created_at").children) == "()"

    @pytest.mark.parametrize(
        "cursor",
        [
            "garbage!!",
            encode_cursor([1]),
            encode_cursor(["2026-11-22T00:00:00+00:00"]),
            encode_cursor(["not a time", str(uuid.uuid4())]),
            encode_cursor(["2026-11-22T00:00:00+00:00", "not an id"]),
        ],
    )
    def test_a_cursor_of_another_list_is_refused(self, cursor: str) -> None:
        with pytest.raises(InvalidInput) as refused:
            moment_id_after(cursor, "created_at")
        assert (refused.value.code, refused.value.path) == ("INVALID_CURSOR", ["after"])

    def test_a_cursor_continues_after_its_row_in_either_direction(self) -> None:
        moment, row = datetime(2026, 11, 22, tzinfo=UTC), uuid.uuid4()
        cursor = encode_cursor([moment.isoformat(), str(row)])
        newest = moment_id_after(cursor, "apply_time")
        oldest = moment_id_after(cursor, "apply_time", newest_first=False)
        assert [c.filters for c in newest.children] == [
            {"apply_time__lt": moment},
            {"apply_time": moment, "id__lt": row},
        ]
        assert [c.filters for c in oldest.children] == [
            {"apply_time__gt": moment},
            {"apply_time": moment, "id__gt": row},
        ]
