"""The applicant's cases (`myApplications`) and who may read one case (`application(id)`).

An applicant sees the cases they applied for themselves, those they submitted as an agent, those a relative
submitted for them, and, while the session acts for an enterprise, that enterprise's cases. Operators read a
case when `access.can_read_case` allows it (the accepting department's handlers, supervisors). Anyone else is
told the case does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Q

from api.applications import access, reading, transitions
from api.identity import data_reads
from api.identity.tokens import AccessClaims
from api.kit.errors import InvalidInput
from api.kit.pagination import Page, clamp_first, encode_cursor, moment_id_after
from api.licenses import wallet
from api.models import Application, ApplicationStatus

ACTION_NEEDED = frozenset({ApplicationStatus.PRECHECK_RETURNED, ApplicationStatus.SUPPLEMENT_REQUIRED})
GROUPS: dict[str, frozenset[ApplicationStatus]] = {
    "OPEN": transitions.NON_TERMINAL,
    "ACTION_NEEDED": ACTION_NEEDED,
    "FINISHED": transitions.TERMINAL,
}


@dataclass(frozen=True)
class Filter:
    group: str | None = None
    statuses: Sequence[ApplicationStatus] | None = None
    service_code: str | None = None


async def _acting_enterprise(claims: AccessClaims, now: datetime) -> uuid.UUID | None:
    acting = claims.acting_as_enterprise_id
    if acting is not None and await wallet.acts_for_enterprise(claims, acting, now):
        return acting
    return None


async def viewer_of(claims: AccessClaims | None, app: Application, now: datetime) -> reading.Viewer | None:
    if claims is None:
        return None
    if claims.kind == "operator":
        return reading.Viewer.OPERATOR if access.can_read_case(claims, app) else None
    me = claims.subject
    if me in (app.submitted_by_person_id, app.applicant_person_id, app.agent_person_id):
        return reading.Viewer.APPLICANT
    if app.applicant_enterprise_id is not None and await wallet.acts_for_enterprise(
        claims, app.applicant_enterprise_id, now
    ):
        return reading.Viewer.APPLICANT
    return None


async def one(claims: AccessClaims | None, application_id: uuid.UUID, now: datetime) -> reading.ApplicationView | None:
    app = await Application.get_or_none(id=application_id)
    if app is None:
        return None
    viewer = await viewer_of(claims, app, now)
    if viewer is None:
        return None
    if viewer is reading.Viewer.OPERATOR:
        await data_reads.record(claims, [case_subject(app)], "CASE_HANDLING", now)
    return await reading.view_of(app, viewer)


def case_subject(app: Application) -> data_reads.Subject:
    return data_reads.Subject("APPLICATION", app.id, app.applicant_person_id, app.applicant_enterprise_id)


async def mine(
    claims: AccessClaims, now: datetime, where: Filter, first: int | None, after: str | None
) -> Page[Application]:
    """Newest first, one statement (plus one authorization read when the session acts for an enterprise)."""
    n = clamp_first(first)
    q = Q(submitted_by_person_id=claims.subject) | Q(applicant_person_id=claims.subject)
    enterprise = await _acting_enterprise(claims, now)
    if enterprise is not None:
        q |= Q(applicant_enterprise_id=enterprise)
    statuses: set[ApplicationStatus] | None = None
    if where.group is not None:
        statuses = set(GROUPS[where.group])
    if where.statuses:
        if len(where.statuses) > len(ApplicationStatus):
            raise InvalidInput("too many statuses", path=["filter", "statuses"], code="TOO_MANY")
        chosen = set(where.statuses)
        statuses = chosen if statuses is None else statuses & chosen
    if statuses is not None:
        q &= Q(status__in=sorted(statuses))
    if where.service_code:
        q &= Q(task_code=where.service_code.strip().upper())
    rows = (
        await Application.filter(q & moment_id_after(after, "apply_time")).order_by("-apply_time", "-id").limit(n + 1)
    )
    shown = rows[:n]
    cursors = [encode_cursor([row.apply_time.isoformat(), str(row.id)]) for row in shown]
    return Page(shown, cursors, len(rows) > n)
