"""Appending to a case's timeline: the event, the projected row and the outbox row in one transaction.

Every status change and every timeline entry goes through `append`, which checks the lifecycle table, takes
the next `seq` with an optimistic guard on `last_seq` (two handlers acting at once: the second gets a Conflict
and changes nothing), and writes the outbox row whose `state_version` is that `seq` (domain.md §7.5).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from api.applications import transitions
from api.kit.errors import Conflict
from api.models import (
    ActorType,
    Application,
    ApplicationEvent,
    ApplicationStatus,
    EventType,
    OutboxEvent,
)

# The outbox topic of each status-changing event (architecture §3a is the only list of topics).
TOPICS: dict[EventType, str] = {
    EventType.SUBMIT: "application.submitted",
    EventType.PRECHECK_RETURN: "application.precheck_returned",
    EventType.ACCEPT: "application.accepted",
    EventType.NOT_ACCEPT: "application.not_accepted",
    EventType.SUPPLEMENT_NOTICE: "application.supplement_requested",
    EventType.SUPPLEMENT_DONE: "application.supplemented",
    EventType.SPECIAL_START: "application.special_procedure_started",
    EventType.SPECIAL_END: "application.special_procedure_ended",
    EventType.FEE_NOTICE: "application.fee_required",
    EventType.DECIDE: "application.decided",
    EventType.COMPLETE: "application.completed",
    EventType.WITHDRAW: "application.withdrawn",
    EventType.TERMINATE: "application.terminated",
    EventType.DELIVERY_SHIPPED: "application.delivered",
    EventType.DELIVERY_ELECTRONIC: "application.delivered",
    EventType.DELIVERY_READY: "application.delivered",
}


@dataclass(frozen=True)
class Actor:
    type: ActorType
    id: uuid.UUID | None
    name: str
    org_uscc: str = ""


SYSTEM = Actor(ActorType.SYSTEM, None, "系统")


@dataclass
class Entry:
    """What one timeline entry records besides its type; `changes` are columns set on the application."""

    opinion: str = ""
    step_name: str = ""
    action_result: str = "OTHER"
    detail: dict[str, Any] = field(default_factory=dict)
    changes: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)
    ended_at: datetime | None = None


def notice_payload(app: Application) -> dict[str, Any]:
    """What every consumer of an application topic needs without reading the row back."""
    return {
        "applicationId": str(app.id),
        "projectNo": app.project_no,
        "status": app.status.value,
        "itemName": app.item_name,
        "taskCode": app.task_code,
        "applicantPersonId": str(app.applicant_person_id) if app.applicant_person_id else None,
        "applicantEnterpriseId": str(app.applicant_enterprise_id) if app.applicant_enterprise_id else None,
        "submittedByPersonId": str(app.submitted_by_person_id),
        "agentPersonId": str(app.agent_person_id) if app.agent_person_id else None,
        "acceptingOrgId": str(app.accepting_org_id),
    }


async def append(
    app: Application,
    event: EventType,
    actor: Actor,
    now: datetime,
    db: BaseDBAsyncClient,
    entry: Entry | None = None,
) -> ApplicationEvent:
    """Check, record and project one event. `app` must have been read inside the caller's transaction."""
    entry = entry or Entry()
    before = app.status
    after = transitions.next_status(before, event, resume_status=app.resume_status)
    seq = app.last_seq + 1
    changes: dict[str, Any] = {"status": after, "last_seq": seq, "updated_at": now, **entry.changes}
    if after is not before and after in transitions.PAUSING and before not in transitions.PAUSING:
        changes.setdefault("resume_status", before)
    elif after in transitions.TERMINAL:
        changes.setdefault("resume_status", None)  # a finished case resumes nothing
    updated = await Application.filter(id=app.id, last_seq=app.last_seq).using_db(db).update(**changes)
    if updated != 1:
        raise Conflict("the application was changed by someone else just now; reload it and try again")
    for name, value in changes.items():
        setattr(app, name, value)
    row = await ApplicationEvent.create(
        using_db=db,
        id=uuid.uuid4(),
        application_id=app.id,
        seq=seq,
        event_type=event,
        from_status=before,
        to_status=after,
        step_name=entry.step_name,
        actor_type=actor.type,
        actor_id=actor.id,
        actor_name=actor.name,
        org_uscc=actor.org_uscc,
        action_result=entry.action_result,
        opinion=entry.opinion,
        detail=entry.detail,
        started_at=now,
        ended_at=entry.ended_at or now,
        step_state="DONE",
    )
    topic = TOPICS.get(event)
    if topic is not None:
        payload = {**notice_payload(app), "event": event.value, "seq": seq, **entry.payload}
        await OutboxEvent.create(
            using_db=db, topic=topic, key=str(app.id), state_version=seq, payload=payload, created_at=now
        )
    return row


def is_terminal(status: ApplicationStatus) -> bool:
    return status in transitions.TERMINAL
