"""Moving a case along without the operator API, through the journal (the same path every service takes)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from api.applications import journal
from api.applications.journal import Actor, Entry
from api.models import ActorType, Application, EventType, SupplementRequest

STAFF = Actor(ActorType.STAFF, None, "测试窗口")


async def advance(application_id: str, *events: EventType, now: datetime) -> Application:
    async with in_transaction() as db:
        app = await Application.filter(id=application_id).using_db(db).get()
        for event in events:
            changes: dict[str, object] = {}
            if event is EventType.ACCEPT:
                changes = {"accept_time": now, "promise_date": (now + timedelta(days=7)).date()}
            if event is EventType.DECIDE:
                changes = {"decision": "APPROVED"}
            await journal.append(app, event, STAFF, now, db, Entry(changes=changes))
    return app


async def open_round(application_id: str, now: datetime, *, due_in: timedelta, items: list[dict[str, object]]) -> None:
    """A 补正 notice with `items` ({requirement_id, name, reason}) due `due_in` from now."""
    async with in_transaction() as db:
        app = await Application.filter(id=application_id).using_db(db).get()
        round_no = app.supplement_rounds + 1
        await SupplementRequest.create(
            using_db=db,
            id=uuid.uuid4(),
            application_id=app.id,
            round=round_no,
            items=items,
            before_acceptance=app.accept_time is None,
            notified_at=now,
            due_at=now + due_in,
        )
        await journal.append(
            app,
            EventType.SUPPLEMENT_NOTICE,
            STAFF,
            now,
            db,
            Entry(changes={"supplement_rounds": round_no}),
        )
