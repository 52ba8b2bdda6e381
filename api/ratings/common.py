"""What the rating and rectification services share: deadlines, history entries, outbox rows, the case sub-state.

`Application.evaluation_status` is written here, by ratings, although applications owns the row: ratings sits
below applications and may not call it (architecture §3), the column is the rating sub-state that no lifecycle
event moves (domain.md §7.3), and only this column is touched, never `status` or `last_seq`, so the journal's
optimistic guard is unaffected. This is the documented deviation from "applications writes its own rows".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from api.kit.clock import SHANGHAI, shanghai_date
from api.models import (
    Application,
    ApplicationEvent,
    ApplicationStatus,
    Evaluation,
    EvaluationStatus,
    EventType,
    OutboxEvent,
    Rectification,
    RectificationStatus,
    ServiceMoment,
)
from api.ratings import loop
from api.workdays import store as workdays

BAD_RATING_TOPIC = "ratings.bad_rating"
RECTIFICATION_DUE_TOPIC = "ratings.rectification_due"

# The timeline events that make a service moment ratable (domain.md §9.2). CONSULT has no event of its own in a
# case's timeline: the consultation that led to the application is ratable from submission. Electronic delivery
# is receipt (已电子送达), so it opens SIGN like a signed-for EMS parcel.
TRIGGERS: dict[ServiceMoment, tuple[EventType, ...]] = {
    ServiceMoment.CONSULT: (EventType.SUBMIT,),
    ServiceMoment.APPLY: (EventType.SUBMIT,),
    ServiceMoment.SUPPLEMENT: (EventType.SUPPLEMENT_DONE,),
    ServiceMoment.PAY: (EventType.PAID,),
    ServiceMoment.SIGN: (EventType.DELIVERY_RECEIVED, EventType.DELIVERY_ELECTRONIC),
    ServiceMoment.COMPLETE: (EventType.COMPLETE,),
}


@dataclass(frozen=True)
class Actor:
    kind: str  # RATER | ORG | SUPERVISOR | SYSTEM
    id: uuid.UUID | None
    name: str = ""


def end_of_day(day: Any) -> datetime:
    """A deadline on a day means until the end of that day in Asia/Shanghai."""
    return datetime.combine(day, time(23, 59, 59), SHANGHAI)


async def working_deadline(start: datetime, working_days: int, region_code: str, db: BaseDBAsyncClient) -> datetime:
    """The end of the n-th working day after `start`'s Asia/Shanghai date (holidays and 调休 as data)."""
    day = shanghai_date(start)
    calendar = await workdays.calendar_for(day, region_code, db)
    return end_of_day(calendar.add_working_days(day, working_days))


def history_entry(
    actor: Actor,
    action: str,
    now: datetime,
    before: RectificationStatus | None,
    after: RectificationStatus,
    **extra: Any,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "at": now.isoformat(),
        "action": action,
        "actorKind": actor.kind,
        "actorId": str(actor.id) if actor.id else None,
        "actorName": actor.name,
        "from": before.value if before else None,
        "to": after.value,
    }
    entry.update({k: v for k, v in extra.items() if v is not None})
    return entry


async def rectification_due(
    row: Rectification, evaluation: Evaluation, recipient: str, now: datetime, db: BaseDBAsyncClient
) -> None:
    """`ratings.rectification_due`: someone must act next. `recipient` ORG (callback, classification, rectification,
    after a reopen or a rejected appeal), RATER (feedback to rate) or SUPERVISOR (an appeal to decide).
    `state_version` is the history length, so every transition is its own notice and a replay is a no-op."""
    await OutboxEvent.create(
        using_db=db,
        topic=RECTIFICATION_DUE_TOPIC,
        key=str(row.id),
        state_version=len(row.history),
        created_at=now,
        payload={
            "rectificationId": str(row.id),
            "evaluationId": str(evaluation.id),
            "applicationId": str(evaluation.application_id) if evaluation.application_id else None,
            "recipient": recipient,
            "raterPersonId": str(evaluation.rater_person_id) if evaluation.rater_person_id else None,
            "assignedOrgId": str(row.assigned_org_id),
            "status": row.status.value,
            "dueAt": row.due_at.isoformat(),
            "callbackDueAt": row.callback_due_at.isoformat() if row.callback_due_at else None,
            "reopenCount": row.reopen_count,
            "escalated": row.escalated,
        },
    )


async def moment_time(application_id: uuid.UUID, moment: ServiceMoment, db: BaseDBAsyncClient) -> datetime | None:
    """When the moment became ratable: its latest triggering event, or None when it has not happened."""
    event = (
        await ApplicationEvent.filter(application_id=application_id, event_type__in=list(TRIGGERS[moment]))
        .using_db(db)
        .order_by("-seq")
        .first()
    )
    return event.started_at if event else None


async def refresh_evaluation_status(app: Application, now: datetime, window: timedelta, db: BaseDBAsyncClient) -> None:
    """Derive the case's rating sub-state from its evaluations and loops (domain.md §7.3, §9.3).

    An open loop of any moment: RECTIFYING. Otherwise it follows the 办结 rating: RECTIFIED when a loop has been
    closed, RATED when rated, and for an unrated completed case PENDING while its window is open, else
    EXPIRED_UNRATED. A case that is not completed keeps its value."""
    evaluation_ids = await Evaluation.filter(application_id=app.id).using_db(db).values_list("id", flat=True)
    statuses = (
        await Rectification.filter(evaluation_id__in=list(evaluation_ids)).using_db(db).values_list("status", flat=True)
        if evaluation_ids
        else []
    )
    rated_complete = (
        await Evaluation.filter(application_id=app.id, service_moment=ServiceMoment.COMPLETE).using_db(db).exists()
    )
    value: EvaluationStatus | None = app.evaluation_status
    if any(loop.is_open(RectificationStatus(str(s))) for s in statuses):
        value = EvaluationStatus.RECTIFYING
    elif rated_complete:
        value = EvaluationStatus.RECTIFIED if statuses else EvaluationStatus.RATED
    elif app.status is ApplicationStatus.COMPLETED:
        completed_at = await moment_time(app.id, ServiceMoment.COMPLETE, db)
        open_window = completed_at is not None and now <= completed_at + window
        value = EvaluationStatus.PENDING if open_window else EvaluationStatus.EXPIRED_UNRATED
    if value is not app.evaluation_status:
        await Application.filter(id=app.id).using_db(db).update(evaluation_status=value)
