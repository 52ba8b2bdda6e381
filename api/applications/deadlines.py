"""Acceptance (受理) columns: 受理文书编号, the promised and legal dates on the working-day calendar, the first step.

`promise_date` = add_limit(acceptance day, the item's promised limit) and `legal_date` likewise from the legal
limit (domain.md §10.1); a 即办件 promises the acceptance day itself.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from api.applications import pauses, workflow
from api.applications.policy import Policy
from api.kit.clock import shanghai_date
from api.kit.workdays import WorkCalendar
from api.models import Application, ServiceItem
from api.workdays import store

INSTANT = "1"  # 办件类型 即办件 (A.6)


def is_instant(app: Application) -> bool:
    return app.project_type == INSTANT


def limit_of(value: dict[str, Any]) -> tuple[int, str] | None:
    days = value.get("value") if value else None
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        return None
    return days, str(value.get("unit") or "WORKING_DAY")


def accept_doc_no(app: Application, accepted_on: date) -> str:
    # Derived from the unique 办件编号, so it is unique without another counter.
    return f"受〔{accepted_on.year}〕{app.project_no or app.id.hex[:16].upper()}号"[:64]


async def calendar(item: ServiceItem, app: Application, around: date, db: BaseDBAsyncClient) -> WorkCalendar:
    return await store.calendar_for(around, item.region_code or app.region_code, db)


async def acceptance(
    app: Application, item: ServiceItem, now: datetime, db: BaseDBAsyncClient, policy: Policy
) -> dict[str, Any]:
    today = shanghai_date(now)
    cal = await calendar(item, app, today, db)
    promise = limit_of(item.promise_limit)
    legal = limit_of(item.legal_limit)
    changes: dict[str, Any] = {
        "accept_time": now,
        "accept_doc_no": accept_doc_no(app, today),
        "promise_date": today if is_instant(app) else (cal.add_limit(today, *promise) if promise else None),
        "legal_date": cal.add_limit(today, *legal) if legal else None,
    }
    if not is_instant(app):
        chain = workflow.chain_for(item.workflow_steps, policy.step_sla_working_days)
        changes["current_step"], changes["step_due_date"] = workflow.first(chain, today, cal)
    return changes


async def case_calendar(app: Application, around: date, db: BaseDBAsyncClient) -> WorkCalendar:
    """The calendar of the item's region, for moving a paused deadline on resume."""
    region = await ServiceItem.filter(id=app.service_item_id).using_db(db).values_list("region_code", flat=True)
    return await store.calendar_for(around, str(region[0]) if region else app.region_code, db)


async def resume(app: Application, now: datetime, db: BaseDBAsyncClient) -> dict[str, Any]:
    """pauses.resume with the case's calendar: the deadlines move by the paused working days."""
    if app.paused_since is None:
        return pauses.resume(app, now, WorkCalendar())
    return pauses.resume(app, now, await case_calendar(app, shanghai_date(now), db))
