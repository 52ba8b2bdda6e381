"""Reading ratings: the rater's own ratings with their loops, and the rectification lists of departments.

Lists are keyset-paginated on (created_at, id), newest first, and load their related rows in one query per
kind, so a page costs a constant number of statements.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from tortoise.expressions import Q

from api.identity import data_reads
from api.identity.tokens import AccessClaims
from api.kit.errors import Forbidden
from api.kit.pagination import Page, clamp_first, encode_cursor, moment_id_after
from api.models import (
    Application,
    Evaluation,
    OperatorRole,
    Organization,
    Rectification,
    RectificationStatus,
)

T = TypeVar("T", Evaluation, Rectification)


@dataclass(frozen=True)
class CaseSummary:
    id: uuid.UUID
    project_no: str
    item_name: str
    contact_name: str
    contact_mobile: str


@dataclass(frozen=True)
class RatingView:
    evaluation: Evaluation
    rectification: Rectification | None
    case: CaseSummary | None
    org_name: str


@dataclass(frozen=True)
class RectificationView:
    row: Rectification
    evaluation: Evaluation
    case: CaseSummary | None
    org_name: str


async def _page(model: type[T], q: Q, first: int | None, after: str | None) -> tuple[list[T], list[str], bool]:
    n = clamp_first(first)
    rows = list(
        await model.filter(q & moment_id_after(after, "created_at")).order_by("-created_at", "-id").limit(n + 1)
    )
    shown = rows[:n]
    return shown, [encode_cursor([r.created_at.isoformat(), str(r.id)]) for r in shown], len(rows) > n


async def _cases(ids: set[uuid.UUID | None]) -> dict[uuid.UUID, CaseSummary]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = await Application.filter(id__in=wanted).values(
        "id", "project_no", "item_name", "contact_name", "contact_mobile"
    )
    return {
        r["id"]: CaseSummary(r["id"], r["project_no"] or "", r["item_name"], r["contact_name"], r["contact_mobile"])
        for r in rows
    }


async def _org_names(ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    return {r["id"]: r["name"] for r in await Organization.filter(id__in=list(ids)).values("id", "name")}


async def my_ratings(
    claims: AccessClaims, application_id: uuid.UUID | None, first: int | None, after: str | None
) -> Page[RatingView]:
    q = Q(rater_person_id=claims.subject)
    if application_id is not None:
        q &= Q(application_id=application_id)
    rows, cursors, more = await _page(Evaluation, q, first, after)
    loops: dict[uuid.UUID, Rectification] = (
        {r.evaluation_id: r for r in await Rectification.filter(evaluation_id__in=[e.id for e in rows])} if rows else {}
    )
    cases = await _cases({e.application_id for e in rows})
    names = await _org_names({e.target_org_id for e in rows})
    views = [
        RatingView(
            e,
            loops.get(e.id),
            cases.get(e.application_id) if e.application_id else None,
            names.get(e.target_org_id, ""),
        )
        for e in rows
    ]
    return Page(views, cursors, more)


def visible_org(claims: AccessClaims, org_id: uuid.UUID | None) -> uuid.UUID | None:
    """Supervisors see every org (or the one asked for); a case handler sees their own department only."""
    if OperatorRole.SUPERVISOR.value in claims.roles:
        return org_id
    if OperatorRole.CASE_HANDLER.value in claims.roles and claims.department_id is not None:
        if org_id is not None and org_id != claims.department_id:
            raise Forbidden("you see the rectifications of your own department only", code="NOT_ASSIGNED_ORG")
        return claims.department_id
    raise Forbidden("your role does not allow this operation")


async def rectifications(
    claims: AccessClaims,
    org_id: uuid.UUID | None,
    statuses: list[RectificationStatus] | None,
    first: int | None,
    after: str | None,
    now: datetime,
) -> Page[RectificationView]:
    org = visible_org(claims, org_id)
    q = Q()
    if org is not None:
        q &= Q(assigned_org_id=org)
    if statuses:
        q &= Q(status__in=statuses)
    rows, cursors, more = await _page(Rectification, q, first, after)
    evaluations: dict[uuid.UUID, Evaluation] = (
        {e.id: e for e in await Evaluation.filter(id__in=[r.evaluation_id for r in rows])} if rows else {}
    )
    cases = await _cases({e.application_id for e in evaluations.values()})
    names = await _org_names({r.assigned_org_id for r in rows})
    views = []
    for r in rows:
        evaluation = evaluations[r.evaluation_id]
        case = cases.get(evaluation.application_id) if evaluation.application_id else None
        views.append(RectificationView(r, evaluation, case, names.get(r.assigned_org_id, "")))
    await data_reads.record(claims, [_rater(v) for v in views], "RECTIFICATION_CALLBACK", now)
    return Page(views, cursors, more)


def _rater(view: RectificationView) -> data_reads.Subject:
    """The rater's contact is shown for the callback of a real-name 差评; an anonymous rater's never is."""
    evaluation = view.evaluation
    person = evaluation.rater_person_id if evaluation.real_name else None
    return data_reads.Subject("RECTIFICATION", view.row.id, person)


async def rating_view(evaluation: Evaluation, rectification: Rectification | None) -> RatingView:
    cases = await _cases({evaluation.application_id})
    names = await _org_names({evaluation.target_org_id})
    case = cases.get(evaluation.application_id) if evaluation.application_id else None
    return RatingView(evaluation, rectification, case, names.get(evaluation.target_org_id, ""))


async def rectification_view(row: Rectification) -> RectificationView:
    evaluation = await Evaluation.get(id=row.evaluation_id)
    cases = await _cases({evaluation.application_id})
    names = await _org_names({row.assigned_org_id})
    case = cases.get(evaluation.application_id) if evaluation.application_id else None
    return RectificationView(row, evaluation, case, names.get(row.assigned_org_id, ""))


async def rectification_for(
    claims: AccessClaims, rectification_id: uuid.UUID, now: datetime
) -> RectificationView | None:
    """One rectification with its history; another department's is reported as missing."""
    row = await Rectification.get_or_none(id=rectification_id)
    if row is None:
        return None
    org = visible_org(claims, None)
    if org is not None and row.assigned_org_id != org:
        return None
    view = await rectification_view(row)
    await data_reads.record(claims, [_rater(view)], "RECTIFICATION_CALLBACK", now)
    return view
