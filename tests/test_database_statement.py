"""`api.database.Statement`: hand-written SQL that answers what the ORM would, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from enum import StrEnum
from typing import Any

import pytest

from api.database import Statement, enum_list
from api.models import Bill, BillKind, BillStatus
from tests.support.client import Api

_BILL = Statement(
    "SELECT id, kind, status, amount_fen, due_at, application_id, person_id FROM bill WHERE person_id = $1 "
    "AND (due_at > $2 OR $2 IS NULL) AND bill_no <> $3 ORDER BY bill_no",
    {column: (Bill, column) for column in ("id", "kind", "status", "due_at", "application_id", "person_id")},
)


async def _bill(api: Api, person_id: uuid.UUID, n: int, **values: Any) -> Bill:
    return await Bill.create(
        bill_no=f"TS{n}{uuid.uuid4().hex[:12]}",
        kind=BillKind.UTILITY,
        person_id=person_id,
        issuer="测试演示水务公司",
        subject="测试水费",
        lines=[],
        amount_fen=100 * n,
        due_at=api.live.clock.now() + timedelta(days=n),
        **values,
    )


class TestStatement:
    async def test_rows_hold_what_the_orm_reads_for_the_same_rows(self, api: Api) -> None:
        # given
        person_id = uuid.uuid4()
        await _bill(api, person_id, 1, application_id=uuid.uuid4())
        await _bill(api, person_id, 2, status=BillStatus.PAID)
        columns = ("id", "kind", "status", "amount_fen", "due_at", "application_id", "person_id")

        # when
        rows = await _BILL.rows(person_id, api.live.clock.now(), "none")

        # then: the same values with the same types (UUIDs, aware datetimes, enums), the parameter used twice
        expected = await Bill.filter(person_id=person_id).order_by("bill_no").values(*columns)
        assert rows == expected
        assert [type(row["status"]) for row in rows] == [BillStatus, BillStatus]
        assert all(row["due_at"].utcoffset() == timedelta(0) for row in rows)
        assert isinstance(rows[0]["id"], uuid.UUID) and rows[1]["application_id"] is None

    async def test_an_outside_value_is_a_parameter_never_text(self, api: Api) -> None:
        # given
        person_id = uuid.uuid4()
        await _bill(api, person_id, 1)

        # when: a value that would end the string literal and comment out the rest, were it formatted in
        rows = await _BILL.rows(person_id, None, "x' OR 1=1 --")

        # then
        assert len(rows) == 1


class TestEnumList:
    def test_lists_enum_values_as_quoted_words_in_a_stable_order(self) -> None:
        assert enum_list([BillStatus.UNPAID, BillStatus.CANCELLED]) == "'CANCELLED', 'UNPAID'"

    def test_refuses_a_value_that_is_not_a_plain_word(self) -> None:
        class Odd(StrEnum):
            QUOTE = "it's"

        with pytest.raises(ValueError, match="not plain words"):
            enum_list([Odd.QUOTE])
