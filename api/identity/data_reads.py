"""Recording operators' reads of people's data (house rule 12), in one statement per request.

Case handlers and supervisors see applicants' names, contacts and materials; each case or ticket shown to them
leaves a `PersonalDataRead` row, so a person (or an auditor) can later learn who looked at their data and why.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from api.identity.tokens import AccessClaims
from api.models import PersonalDataRead


@dataclass(frozen=True)
class Subject:
    kind: str  # APPLICATION | RECTIFICATION
    id: uuid.UUID
    person_id: uuid.UUID | None
    enterprise_id: uuid.UUID | None = None


async def record(claims: AccessClaims | None, subjects: Iterable[Subject], purpose: str, now: datetime) -> None:
    """One row per subject shown to an operator; citizens reading their own data leave none."""
    if claims is None or claims.kind != "operator":
        return
    rows = [
        PersonalDataRead(
            id=uuid.uuid4(),
            reader_operator_id=claims.subject,
            subject_type=s.kind,
            subject_id=s.id,
            person_id=s.person_id,
            enterprise_id=s.enterprise_id,
            purpose=purpose,
            read_at=now,
        )
        for s in subjects
    ]
    if rows:
        await PersonalDataRead.bulk_create(rows)
