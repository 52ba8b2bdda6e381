"""The case handler's work queue: the department's cases, oldest first, with their full views in constant SQL.

One statement for the page and one per related table for the whole page (materials, 补正 rounds, special
procedures, deliveries, timeline, wallet licences), never one per case.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol, TypeVar

from tortoise.expressions import Q

from api.applications import listing, reading, transitions
from api.identity import data_reads
from api.identity.tokens import AccessClaims
from api.kit.errors import Forbidden, InvalidInput
from api.kit.pagination import Page, clamp_first, encode_cursor, moment_id_after
from api.models import (
    Application,
    ApplicationEvent,
    ApplicationMaterial,
    ApplicationStatus,
    ELicense,
    OperatorRole,
    ResultDelivery,
    SpecialProcedure,
    SupplementRequest,
)

OPEN = sorted(transitions.NON_TERMINAL, key=lambda s: s.value)


async def case_queue(
    claims: AccessClaims | None,
    statuses: Iterable[ApplicationStatus] | None,
    first: int | None,
    after: str | None,
    now: datetime,
) -> Page[reading.ApplicationView]:
    """The caller's department's cases in `statuses` (default: every open status), oldest application first."""
    if claims is None or OperatorRole.CASE_HANDLER.value not in claims.roles or claims.department_id is None:
        raise Forbidden("the queue belongs to a department's case handlers")
    n = clamp_first(first)
    wanted = sorted(set(statuses), key=lambda s: s.value) if statuses else OPEN
    if ApplicationStatus.DRAFT in wanted:
        raise InvalidInput("a draft is never a case", path=["status"], code="INVALID_STATUS")
    rows = (
        await Application.filter(
            Q(accepting_org_id=claims.department_id, status__in=wanted)
            & moment_id_after(after, "apply_time", newest_first=False)
        )
        .order_by("apply_time", "id")
        .limit(n + 1)
    )
    shown = rows[:n]
    cursors = [encode_cursor([row.apply_time.isoformat(), str(row.id)]) for row in shown]
    await data_reads.record(claims, [listing.case_subject(row) for row in shown], "CASE_HANDLING", now)
    return Page(await views(shown, reading.Viewer.OPERATOR), cursors, len(rows) > n)


async def views(apps: list[Application], viewer: reading.Viewer) -> list[reading.ApplicationView]:
    """`reading.view_of` for many cases at once."""
    if not apps:
        return []
    ids = [app.id for app in apps]
    materials = await ApplicationMaterial.filter(application_id__in=ids).order_by("supplement_round", "created_at")
    supplements = await SupplementRequest.filter(application_id__in=ids).order_by("round")
    specials = await SpecialProcedure.filter(application_id__in=ids).order_by("started_at")
    deliveries = await ResultDelivery.filter(application_id__in=ids).order_by("created_at")
    events = await ApplicationEvent.filter(application_id__in=ids).order_by("application_id", "seq")
    licence_ids = list({m.elicense_id for m in materials if m.elicense_id})
    licences: dict[uuid.UUID, tuple[str, str]] = {}
    if licence_ids:
        found = await ELicense.filter(id__in=licence_ids).values_list("id", "name", "cert_identifier")
        licences = {row[0]: (row[1], row[2]) for row in found}
    mine = _grouped(materials)
    rounds, special, sent, timeline = _grouped(supplements), _grouped(specials), _grouped(deliveries), _grouped(events)
    result = []
    for app in apps:
        own = mine.get(app.id, [])
        names = {str(m.requirement_id): m.name for m in own if m.requirement_id}
        result.append(
            reading.ApplicationView(
                app=app,
                materials=reading.material_views(own, licences),
                supplements=[_supplement(s, names) for s in rounds.get(app.id, [])],
                specials=special.get(app.id, []),
                deliveries=sent.get(app.id, []),
                timeline=[reading.event_view(e) for e in timeline.get(app.id, [])],
                viewer=viewer,
            )
        )
    return result


class _HasApplication(Protocol):
    application_id: uuid.UUID


R = TypeVar("R", bound=_HasApplication)


def _grouped(rows: Iterable[R]) -> dict[uuid.UUID, list[R]]:
    groups: dict[uuid.UUID, list[R]] = defaultdict(list)
    for row in rows:
        groups[row.application_id].append(row)
    return groups


def _supplement(row: SupplementRequest, names: dict[str, str]) -> reading.SupplementView:
    items = []
    for item in row.items:
        requirement = item.get("requirement_id")
        requirement_id = uuid.UUID(str(requirement)) if requirement else None
        name = str(item.get("name") or names.get(str(requirement), ""))
        items.append(reading.SupplementItemView(requirement_id, name, str(item.get("reason", ""))))
    return reading.SupplementView(
        id=row.id,
        round=row.round,
        items=items,
        before_acceptance=row.before_acceptance,
        notified_at=row.notified_at,
        due_at=row.due_at,
        fulfilled_at=row.fulfilled_at,
    )
