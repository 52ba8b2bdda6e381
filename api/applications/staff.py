"""The case an operator acts on, read in the caller's transaction, and the staff actor recorded on its timeline."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from api.applications import access, deadlines, journal, transitions
from api.applications.journal import Actor, Entry
from api.identity.tokens import AccessClaims
from api.kit.errors import InvalidInput, NotFound
from api.models import ActorType, Application, ApplicationStatus, EventType, Operator, Organization


@dataclass(frozen=True)
class Case:
    app: Application
    actor: Actor
    department: Organization


async def load_case(claims: AccessClaims | None, application_id: uuid.UUID, db: BaseDBAsyncClient) -> Case:
    """The application for its department's case handler; NotFound before Forbidden, and nothing read for others."""
    app = await Application.get_or_none(id=application_id, using_db=db)
    if app is None:
        raise NotFound("no such application", path=["applicationId"], code="APPLICATION_NOT_FOUND")
    handler = access.require_case_handler(claims, app)
    operator = await Operator.get_or_none(id=handler.subject, using_db=db)
    department = await Organization.get(id=app.accepting_org_id, using_db=db)
    name = operator.name if operator is not None else "经办人"
    return Case(app, Actor(ActorType.STAFF, handler.subject, name, department.uscc), department)


# Events the table allows in these statuses only on the 即办件 path (the table does not know the project type).
_INSTANT_ONLY = {
    ApplicationStatus.SUBMITTED: {EventType.ACCEPT},
    ApplicationStatus.IN_PROGRESS: {EventType.ISSUE_LICENCE, EventType.COMPLETE},
}


def allowed(app: Application) -> set[EventType]:
    """The events this case allows now: the lifecycle table, narrowed by the case's project type."""
    events = transitions.allowed_events(app.status, resume_status=app.resume_status)
    if not deadlines.is_instant(app):
        events -= _INSTANT_ONLY.get(app.status, set())
    return events


def ensure(app: Application, event: EventType) -> None:
    """Refuse an event the case does not allow, before anything is written."""
    if event in allowed(app):
        return
    exc = transitions.IllegalTransition(app.status, event, resume_status=app.resume_status)
    exc.allowed = sorted(e.value for e in allowed(app))
    exc.message = (
        f"{event.value} is not allowed while the application is {app.status.value}; "
        f"allowed: {', '.join(exc.allowed) or 'nothing'}"
    )
    exc.args = (exc.message,)
    raise exc


# What a handling step adds to its timeline entry, computed from the case read inside the transaction.
Build = Callable[[Case, BaseDBAsyncClient], Awaitable[Entry]]


async def transition(
    claims: AccessClaims | None, application_id: uuid.UUID, event: EventType, now: datetime, build: Build
) -> Application:
    """Read, check the handler and the table, then record one event; all or nothing."""
    async with in_transaction() as db:
        case = await load_case(claims, application_id, db)
        ensure(case.app, event)
        entry = await build(case, db)
        await journal.append(case.app, event, case.actor, now, db, entry)
    return case.app


def text(value: str, field_name: str, *, required: bool = True, limit: int = 2000) -> str:
    """A free-text input trimmed and bounded; an empty required one is refused with its path."""
    cleaned = value.strip()
    if required and not cleaned:
        raise InvalidInput(f"{field_name} is required", path=[field_name], code="REQUIRED")
    if len(cleaned) > limit:
        raise InvalidInput(f"{field_name} has at most {limit} characters", path=[field_name], code="TOO_LONG")
    return cleaned
