"""The pages' bill sections (payments.md §10): a holder's UNPAID bills, soonest due first, in one statement.

Read straight from the Bill table like the pages' other sources (licences, cases), by one `api.database.Statement`
whatever the number of bills. Bills without a due date come after the dated ones on both SQLite and PostgreSQL
(their NULL ordering differs), so the order is decided by an explicit `CASE` rather than by the engine.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from api.database import Statement
from api.models import Bill, BillKind, BillStatus


@dataclass(frozen=True, slots=True)
class BillDue:
    """One unpaid bill of a person or an enterprise."""

    id: uuid.UUID
    bill_no: str
    kind: BillKind
    title: str
    issuer: str
    amount_fen: int
    due_at: datetime | None
    application_id: uuid.UUID | None


def _statement(holder: str) -> Statement:
    sql = (
        "SELECT id, bill_no, kind, subject, issuer, amount_fen, due_at, application_id "  # noqa: S608 (our constants only)
        f"FROM bill WHERE {holder} = $1 AND status = '{BillStatus.UNPAID.value}' "
        "ORDER BY CASE WHEN due_at IS NULL THEN 1 ELSE 0 END, due_at, bill_no LIMIT $2"
    )
    columns = ("id", "kind", "due_at", "application_id")
    return Statement(sql, {column: (Bill, column) for column in columns})


_OF_PERSON = _statement("person_id")
_OF_ENTERPRISE = _statement("enterprise_id")


async def unpaid(
    *, person_id: uuid.UUID | None = None, enterprise_id: uuid.UUID | None = None, limit: int
) -> list[BillDue]:
    """Exactly one of `person_id` / `enterprise_id`: that holder's UNPAID bills, soonest due first."""
    if person_id is not None and enterprise_id is None:
        rows = await _OF_PERSON.rows(person_id, limit)
    elif enterprise_id is not None and person_id is None:
        rows = await _OF_ENTERPRISE.rows(enterprise_id, limit)
    else:
        raise ValueError("name exactly one holder")
    return [
        BillDue(
            id=row["id"],
            bill_no=row["bill_no"],
            kind=row["kind"],
            title=row["subject"],
            issuer=row["issuer"],
            amount_fen=int(row["amount_fen"]),
            due_at=row["due_at"],
            application_id=row["application_id"],
        )
        for row in rows
    ]
