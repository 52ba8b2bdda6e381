"""The read model of one 办件: a plain view of the row, its materials, supplements, special procedures, deliveries
and timeline, built with a constant number of SQL statements whatever the length of the timeline.

The GraphQL `Application` type is built from `ApplicationView` only (schema/applications/types.py `from_view`),
so that applicant queries and operator mutations return the same shape. `allowed_actions` depends on who looks:
an applicant sees what the applicant may do next, an operator the timeline events the lifecycle table allows.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from api.applications import transitions
from api.models import (
    Application,
    ApplicationEvent,
    ApplicationMaterial,
    ApplicationStatus,
    ELicense,
    EventType,
    ResultDelivery,
    SpecialProcedure,
    SupplementRequest,
)

TIMELINE_SHOWN = 60  # the GraphQL cost of a full case stays under the document limit (graphql.md §3)
# Timelines by (case, last_seq). Events are append-only and the row's `last_seq` moves in the same transaction as
# each new event, so the committed timeline up to a given seq never changes: a cached one is never stale, in this
# or any other process. Bounded; reads inside a transaction (which may roll back) neither fill nor use it.
_TIMELINES: OrderedDict[tuple[uuid.UUID, int], list[EventView]] = OrderedDict()
_TIMELINES_MAX = 2048


class Viewer(StrEnum):
    APPLICANT = "APPLICANT"  # the applicant, the submitting agent, the enterprise's staff acting for it
    OPERATOR = "OPERATOR"  # a case handler of the owning department, a supervisor


class ApplicantAction(StrEnum):
    WITHDRAW = "WITHDRAW"
    RESUBMIT = "RESUBMIT"
    SUPPLEMENT = "SUPPLEMENT"


@dataclass(frozen=True)
class MaterialView:
    id: uuid.UUID
    requirement_id: uuid.UUID | None
    name: str
    provided_via: str
    trust_grade: str
    elicense_id: uuid.UUID | None
    licence_name: str | None
    licence_identifier: str | None
    file_id: str
    supplement_round: int
    received: bool


@dataclass(frozen=True)
class SupplementItemView:
    requirement_id: uuid.UUID | None
    name: str
    reason: str


@dataclass(frozen=True)
class SupplementView:
    id: uuid.UUID
    round: int
    items: list[SupplementItemView]
    before_acceptance: bool
    notified_at: datetime
    due_at: datetime
    fulfilled_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.fulfilled_at is None


@dataclass(frozen=True)
class EventView:
    seq: int
    type: EventType
    from_status: ApplicationStatus | None
    to_status: ApplicationStatus | None
    step_name: str
    actor_type: str
    actor_name: str
    action_result: str
    opinion: str
    at: datetime


@dataclass(frozen=True)
class ApplicationView:
    app: Application
    materials: list[MaterialView]
    supplements: list[SupplementView]
    specials: list[SpecialProcedure]
    deliveries: list[ResultDelivery]
    timeline: list[EventView]
    viewer: Viewer

    @property
    def open_supplement(self) -> SupplementView | None:
        return next((s for s in reversed(self.supplements) if s.is_open), None)

    @property
    def allowed_actions(self) -> list[str]:
        if self.viewer is Viewer.OPERATOR:
            return sorted(
                e.value for e in transitions.allowed_events(self.app.status, resume_status=self.app.resume_status)
            )
        return [a.value for a in applicant_actions(self.app, self.open_supplement is not None)]


def applicant_actions(app: Application, has_open_round: bool) -> list[ApplicantAction]:
    allowed = transitions.allowed_events(app.status, resume_status=app.resume_status)
    actions: list[ApplicantAction] = []
    if EventType.WITHDRAW in allowed:
        actions.append(ApplicantAction.WITHDRAW)
    if app.status is ApplicationStatus.PRECHECK_RETURNED:
        actions.append(ApplicantAction.RESUBMIT)
    if app.status is ApplicationStatus.SUPPLEMENT_REQUIRED and has_open_round:
        actions.append(ApplicantAction.SUPPLEMENT)
    return actions


def _supplement(row: SupplementRequest, names: dict[str, str]) -> SupplementView:
    items = []
    for item in row.items:
        requirement = item.get("requirement_id") or item.get("requirementId")
        requirement_id = uuid.UUID(str(requirement)) if requirement else None
        name = str(item.get("name") or names.get(str(requirement), ""))
        items.append(SupplementItemView(requirement_id, name, str(item.get("reason", ""))))
    return SupplementView(
        id=row.id,
        round=row.round,
        items=items,
        before_acceptance=row.before_acceptance,
        notified_at=row.notified_at,
        due_at=row.due_at,
        fulfilled_at=row.fulfilled_at,
    )


def event_view(row: ApplicationEvent) -> EventView:
    return EventView(
        seq=row.seq,
        type=row.event_type,
        from_status=row.from_status,
        to_status=row.to_status,
        step_name=row.step_name,
        actor_type=row.actor_type.value,
        actor_name=row.actor_name,
        action_result=row.action_result,
        opinion=row.opinion,
        at=row.started_at,
    )


# The columns a timeline entry shows, read as tuples: a full ApplicationEvent model per entry (detail JSON and
# all) costs several times the query itself on a long timeline.
EVENT_COLUMNS = (
    "seq",
    "event_type",
    "from_status",
    "to_status",
    "step_name",
    "actor_type",
    "actor_name",
    "action_result",
    "opinion",
    "started_at",
)


def _event_from_columns(row: tuple[Any, ...]) -> EventView:
    seq, event_type, from_status, to_status, step_name, actor_type, actor_name, action_result, opinion, at = row
    return EventView(
        seq=seq,
        type=event_type,
        from_status=from_status,
        to_status=to_status,
        step_name=step_name,
        actor_type=actor_type.value,
        actor_name=actor_name,
        action_result=action_result,
        opinion=opinion,
        at=at,
    )


async def _licences(ids: set[uuid.UUID], db: BaseDBAsyncClient | None) -> dict[uuid.UUID, tuple[str, str]]:
    if not ids:
        return {}
    rows = await ELicense.filter(id__in=list(ids)).using_db(db).values_list("id", "name", "cert_identifier")
    return {row[0]: (row[1], row[2]) for row in rows}


def material_views(
    rows: Sequence[ApplicationMaterial], licences: dict[uuid.UUID, tuple[str, str]]
) -> list[MaterialView]:
    views = []
    for m in rows:
        licence = licences.get(m.elicense_id) if m.elicense_id else None
        views.append(
            MaterialView(
                id=m.id,
                requirement_id=m.requirement_id,
                name=m.name,
                provided_via=m.provided_via.value,
                trust_grade=m.trust_grade,
                elicense_id=m.elicense_id,
                licence_name=licence[0] if licence else None,
                licence_identifier=licence[1] if licence else None,
                file_id=m.file_id,
                supplement_round=m.supplement_round,
                received=m.received,
            )
        )
    return views


# Statuses a case has never left since submission: special procedures start only in IN_PROGRESS (transitions).
NEVER_ACCEPTED = frozenset(
    {
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.PRECHECK_RETURNED,
        ApplicationStatus.PENDING_ACCEPTANCE,
        ApplicationStatus.NOT_ACCEPTED,
    }
)


async def _none() -> list[Any]:
    return []


async def view_of(app: Application, viewer: Viewer, db: BaseDBAsyncClient | None = None) -> ApplicationView:
    """Everything about one case: at most five statements, plus one when materials came from the wallet.

    What the row already rules out is not read: every 补正 round counts in `supplement_rounds`, every delivery
    sets `delivery_status` in the same transaction, and a case that was never accepted has no special procedure.
    A freshly submitted case takes two statements."""
    materials_q = (
        ApplicationMaterial.filter(application_id=app.id).using_db(db).order_by("supplement_round", "created_at")
    )
    supplements_q = (
        SupplementRequest.filter(application_id=app.id).using_db(db).order_by("round")
        if app.supplement_rounds
        else _none()
    )
    specials_q = (
        SpecialProcedure.filter(application_id=app.id).using_db(db).order_by("started_at")
        if app.status not in NEVER_ACCEPTED
        else _none()
    )
    deliveries_q = (
        ResultDelivery.filter(application_id=app.id).using_db(db).order_by("created_at")
        if app.delivery_status is not None
        else _none()
    )
    # The latest entries only: `seq` runs 1…last_seq without gaps, so the total needs no count.
    key = (app.id, app.last_seq)
    cached = _TIMELINES.get(key) if db is None else None
    events_q = (
        _none()
        if cached is not None
        else ApplicationEvent.filter(application_id=app.id, seq__lte=app.last_seq)
        .using_db(db)
        .order_by("-seq")
        .limit(TIMELINE_SHOWN)
        .values_list(*EVENT_COLUMNS)
    )
    if db is None:
        # Pooled connections outside a transaction: the reads overlap.
        materials, supplements, specials, deliveries, events = await asyncio.gather(
            materials_q, supplements_q, specials_q, deliveries_q, events_q
        )
    else:
        # One connection inside a transaction runs one statement at a time.
        materials, supplements = await materials_q, await supplements_q
        specials, deliveries, events = await specials_q, await deliveries_q, await events_q
    licences = await _licences({m.elicense_id for m in materials if m.elicense_id}, db)
    names = {str(m.requirement_id): m.name for m in materials if m.requirement_id}
    timeline = cached if cached is not None else [_event_from_columns(e) for e in reversed(events)]
    if cached is None and db is None:
        _TIMELINES[key] = timeline
        if len(_TIMELINES) > _TIMELINES_MAX:
            _TIMELINES.popitem(last=False)
    elif cached is not None:
        _TIMELINES.move_to_end(key)
    return ApplicationView(
        app=app,
        materials=material_views(materials, licences),
        supplements=[_supplement(s, names) for s in supplements],
        specials=list(specials),
        deliveries=list(deliveries),
        timeline=timeline,
        viewer=viewer,
    )


async def view_by_id(
    application_id: uuid.UUID, viewer: Viewer, db: BaseDBAsyncClient | None = None
) -> ApplicationView | None:
    app = await Application.filter(id=application_id).using_db(db).first()
    return None if app is None else await view_of(app, viewer, db)


# Timeline entries shown to an anonymous lookup: what happened, never who or why (no personal data).
PUBLIC_EVENTS = frozenset(
    {
        EventType.SUBMIT,
        EventType.PRECHECK_PASS,
        EventType.PRECHECK_RETURN,
        EventType.ACCEPT,
        EventType.NOT_ACCEPT,
        EventType.SUPPLEMENT_NOTICE,
        EventType.SUPPLEMENT_DONE,
        EventType.SPECIAL_START,
        EventType.SPECIAL_END,
        EventType.DECIDE,
        EventType.COMPLETE,
        EventType.WITHDRAW,
        EventType.TERMINATE,
        EventType.DELIVERY_SHIPPED,
        EventType.DELIVERY_RECEIVED,
        EventType.DELIVERY_ELECTRONIC,
    }
)
