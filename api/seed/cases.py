"""Building seeded 办件 through the same journal as live cases, so every timeline replays to its status.

Each case is a script of steps dated in days before the seed moment; `Case.run` creates the row as submission does
and appends every step with `journal.append`, so the seeded history obeys the lifecycle table and has its outbox
rows, exactly like a case handled live.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from api.applications import journal
from api.kit.clock import shanghai_date
from api.kit.workdays import WorkCalendar
from api.models import (
    ActorType,
    Application,
    ApplicationChannel,
    ApplicationEvent,
    ApplicationStatus,
    DailySequence,
    EventType,
    Organization,
    OutboxEvent,
    ServiceItem,
)
from api.seed.context import SeedContext, seed_id
from api.seed.enterprises import ENTERPRISES
from api.seed.residents import BY_NUMBER


@dataclass(frozen=True)
class Step:
    event: EventType
    days_ago: float
    opinion: str = ""
    step_name: str = ""
    changes: dict[str, Any] = field(default_factory=dict)
    action_result: str = "OTHER"
    detail: dict[str, Any] = field(default_factory=dict)  # recorded on the event, as the live step records it
    payload: dict[str, Any] = field(default_factory=dict)  # added to its outbox row, as the live step adds it


@dataclass(frozen=True)
class Applicant:
    person_id: uuid.UUID | None
    enterprise_id: uuid.UUID | None
    name: str
    submitted_by: uuid.UUID
    agent_person_id: uuid.UUID | None = None
    mobile: str = ""


def resident(n: int, *, for_n: int | None = None) -> Applicant:
    """Resident n applying for themself, or as 亲友代办 agent for resident `for_n`."""
    me = BY_NUMBER[n]
    if for_n is None:
        return Applicant(seed_id("person", n), None, me.name, seed_id("person", n), mobile=me.mobile or "")
    principal = BY_NUMBER[for_n]
    return Applicant(
        seed_id("person", for_n), None, principal.name, seed_id("person", n), seed_id("person", n), me.mobile or ""
    )


def enterprise(key: str, *, by_agent: bool = False) -> Applicant:
    """The enterprise applying through its legal representative, or through its 经办人."""
    spec = next(e for e in ENTERPRISES if e.key == key)
    person = spec.agent if by_agent else spec.legal_rep
    return Applicant(
        None,
        seed_id("enterprise", key),
        spec.name,
        seed_id("person", person),
        seed_id("person", person) if by_agent else None,
        BY_NUMBER[person].mobile or "",
    )


def sample_value(schema: dict[str, Any], path: str, applicant: Applicant) -> Any:
    """A plausible, schema-valid value for one form field of the synthetic applicant."""
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("type") == "number":
        return 1
    if schema.get("type") == "boolean":
        return True
    if schema.get("format") == "date":
        return "2026-01-05"
    kind = schema.get("x-field-type")
    if kind == "phone":
        return applicant.mobile or "19900000000"
    if kind == "id_number":
        return "99010019800101000X"  # region 99: GB/T 2260 assigns none, so never a real person
    if path.endswith("name"):
        return applicant.name
    return "演示填写内容"


def sample_form(schema: dict[str, Any], applicant: Applicant, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, child in (schema.get("properties") or {}).items():
        path = f"{prefix}/{key}" if prefix else key
        out[key] = (
            sample_form(child, applicant, path)
            if child.get("type") == "object"
            else sample_value(child, path, applicant)
        )
    return out


class Numbers:
    """办件编号 for seeded cases, counted into `DailySequence` so that live submissions continue after them."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, date], int] = {}

    def next(self, task_code: str, day: date) -> str:
        value = self.last.get((task_code, day), 0) + 1
        self.last[(task_code, day)] = value
        return f"{task_code}{day:%Y%m%d}{value:04d}"

    async def save(self, ctx: SeedContext) -> None:
        await DailySequence.bulk_create(
            [DailySequence(task_code=code, date=day, last_value=value) for (code, day), value in self.last.items()],
            using_db=ctx.db,
        )


@dataclass
class Case:
    label: str
    item: ServiceItem
    org: Organization
    applicant: Applicant
    channel: ApplicationChannel
    submitted_days_ago: float
    steps: list[Step] = field(default_factory=list)
    final: dict[str, Any] = field(default_factory=dict)

    def at(self, ctx: SeedContext, days_ago: float) -> datetime:
        return ctx.now - timedelta(days=days_ago)

    async def run(self, ctx: SeedContext, numbers: Numbers, handler: journal.Actor) -> Application:
        applied = self.at(ctx, self.submitted_days_ago)
        app = await Application.create(
            using_db=ctx.db,
            id=seed_id("application", self.label),
            project_no=numbers.next(self.item.task_code, shanghai_date(applied)),
            submitted_by_person_id=self.applicant.submitted_by,
            idempotency_key=f"seed-{self.label}",
            service_item_id=self.item.id,
            service_item_version=self.item.version,
            task_code=self.item.task_code,
            item_name=self.item.name,
            applicant_type="2" if self.applicant.enterprise_id else "1",
            applicant_person_id=self.applicant.person_id,
            applicant_enterprise_id=self.applicant.enterprise_id,
            applicant_name=self.applicant.name,
            applicant_id_type="001" if self.applicant.enterprise_id else "111",
            agent_person_id=self.applicant.agent_person_id,
            contact_name=self.applicant.name,
            contact_mobile=self.applicant.mobile,
            channel=self.channel,
            region_code=self.item.region_code,
            accepting_org_id=self.org.id,
            status=ApplicationStatus.SUBMITTED,
            project_type=self.item.project_type,
            apply_time=applied,
            form_version=self.item.form_version,
            form_data=sample_form(self.item.form_schema, self.applicant),
            last_seq=0,
            is_synthetic=True,
        )
        applicant_actor = journal.Actor(ActorType.APPLICANT, self.applicant.submitted_by, self.applicant.name)
        await _first_event(app, applicant_actor, applied, ctx)
        for step in self.steps:
            actor = applicant_actor if step.event in _APPLICANT_EVENTS else handler
            entry = journal.Entry(
                opinion=step.opinion,
                step_name=step.step_name,
                action_result=step.action_result,
                detail=step.detail,
                changes=step.changes,
                payload=step.payload,
            )
            await journal.append(app, step.event, actor, self.at(ctx, step.days_ago), ctx.db, entry)
        if self.final:
            await Application.filter(id=app.id).using_db(ctx.db).update(**self.final)
        return app


_APPLICANT_EVENTS = {EventType.SUBMIT, EventType.SUPPLEMENT_DONE, EventType.WITHDRAW, EventType.DELIVERY_RECEIVED}


async def _first_event(app: Application, actor: journal.Actor, at: datetime, ctx: SeedContext) -> None:
    """The SUBMIT that creates the case: journal.append moves existing cases, so the seed writes the first
    event as submission does (seq 1 with its `application.submitted` outbox row)."""
    await Application.filter(id=app.id).using_db(ctx.db).update(last_seq=1)
    app.last_seq = 1
    await ApplicationEvent.create(
        using_db=ctx.db,
        id=seed_id("application-event", f"{app.id}:1"),
        application_id=app.id,
        seq=1,
        event_type=EventType.SUBMIT,
        to_status=ApplicationStatus.SUBMITTED,
        actor_type=actor.type,
        actor_id=actor.id,
        actor_name=actor.name,
        started_at=at,
        ended_at=at,
    )
    await OutboxEvent.create(
        using_db=ctx.db,
        topic="application.submitted",
        key=str(app.id),
        state_version=1,
        payload={**journal.notice_payload(app), "event": "SUBMIT", "seq": 1},
        created_at=at,
    )


def accept_changes(item: ServiceItem, accepted: datetime, calendar: WorkCalendar, doc_no: str) -> dict[str, Any]:
    day = shanghai_date(accepted)
    promise = item.promise_limit or {}
    legal = item.legal_limit or {}
    promise_days = int(promise.get("value") or 0)
    changes: dict[str, Any] = {
        "accept_time": accepted,
        "accept_doc_no": doc_no,
        "promise_date": calendar.add_limit(day, promise_days, str(promise.get("unit") or "WORKING_DAY")),
        "current_step": "承办",
        "step_due_date": calendar.add_working_days(day, 2),
    }
    if legal.get("value"):
        changes["legal_date"] = calendar.add_limit(day, int(legal["value"]), str(legal.get("unit") or "WORKING_DAY"))
    return changes
