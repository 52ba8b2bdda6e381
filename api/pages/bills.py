"""The pages' bill sections (payments.md §10): a holder's UNPAID bills, soonest due first, in one statement.

Read straight from the Bill table like the pages' other sources (licences, cases): one `.values()` projection,
whatever the number of bills. Bills without a due date come after the dated ones on both SQLite and PostgreSQL
(their NULL ordering differs), so the order is decided by an explicit `no_due` column rather than by the engine.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Case, Q, When

from api.models import Bill, BillKind, BillStatus

_FIELDS = ("id", "bill_no", "kind", "subject", "issuer", "amount_fen", "due_at", "application_id")


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


async def unpaid(
    *, person_id: uuid.UUID | None = None, enterprise_id: uuid.UUID | None = None, limit: int
) -> list[BillDue]:
    """Exactly one of `person_id` / `enterprise_id`: that holder's UNPAID bills, soonest due first."""
    if (person_id is None) == (enterprise_id is None):
        raise ValueError("name exactly one holder")
    holder = Q(person_id=person_id) if person_id is not None else Q(enterprise_id=enterprise_id)
    rows = (
        await Bill.filter(holder, status=BillStatus.UNPAID)
        .annotate(no_due=Case(When(due_at__isnull=True, then="1"), default="0"))
        .order_by("no_due", "due_at", "bill_no")
        .limit(limit)
        .values(*_FIELDS)
    )
    return [
        BillDue(
            id=row["id"],
            bill_no=row["bill_no"],
            kind=BillKind(row["kind"]),
            title=row["subject"],
            issuer=row["issuer"],
            amount_fen=int(row["amount_fen"]),
            due_at=row["due_at"],
            application_id=row["application_id"],
        )
        for row in rows
    ]
