"""Helpers of the supervision tests: a test-owned department, cases and rectifications inserted in its scope.

The scan reads every row of the shared database; each test asserts only on the rows of its own department, so
that cases of other tests (and of the demo seed) never change its figures.
"""

from __future__ import annotations

import itertools
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from api.kit.clock import SHANGHAI, shanghai_date
from api.kit.workdays import WorkCalendar
from api.models import (
    Application,
    ApplicationChannel,
    ApplicationStatus,
    EfficiencyAlert,
    Organization,
    OutboxEvent,
    Rectification,
    RectificationStatus,
)
from api.supervision import scan
from api.workdays import store
from tests.support.client import LiveServer

_numbers = itertools.count(random.randrange(10_000, 90_000))
REGION = "990100000000"
ALERT_TOPIC = "supervision.alert_raised"


async def department(parent: Organization | None = None) -> Organization:
    n = next(_numbers)
    return await Organization.create(
        id=uuid.uuid4(),
        uscc=f"11990100T{n:05d}{random.randrange(1000):03d}X"[:18],
        name=f"测试督查局{n}",
        region_code=REGION,
        parent_id=parent.id if parent else None,
        is_synthetic=True,
    )


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), SHANGHAI).astimezone(UTC)


async def today(live: LiveServer) -> tuple[date, WorkCalendar]:
    day = shanghai_date(live.clock.now())
    return day, await store.calendar_for(day)


async def case(org: Organization, **columns: Any) -> Application:
    """An accepted 承诺件 in progress unless `columns` say otherwise."""
    n = next(_numbers)
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "project_no": f"T{org.uscc}{n:08d}",
        "submitted_by_person_id": uuid.uuid4(),
        "service_item_id": uuid.uuid4(),
        "service_item_version": 1,
        "task_code": f"{org.uscc}399T{n:08d}",
        "item_name": f"测试事项{n}",
        "applicant_type": "1",
        "applicant_name": "测试申请人",
        "applicant_id_type": "10",
        "channel": ApplicationChannel.APP,
        "region_code": REGION,
        "accepting_org_id": org.id,
        "status": ApplicationStatus.IN_PROGRESS,
        "project_type": "2",
        "apply_time": datetime.now(UTC) - timedelta(days=3),
        "accept_time": datetime.now(UTC) - timedelta(days=3),
        "current_step": "审核",
        "is_synthetic": True,
    }
    values.update(columns)
    return await Application.create(**values)


async def rectification(org: Organization, **columns: Any) -> Rectification:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "evaluation_id": uuid.uuid4(),
        "assigned_org_id": org.id,
        "status": RectificationStatus.RECTIFYING,
        "due_at": datetime.now(UTC) + timedelta(days=5),
        "is_synthetic": True,
    }
    values.update(columns)
    return await Rectification.create(**values)


async def run_scan(live: LiveServer) -> scan.ScanReport:
    return await scan.scan(live.clock.now())


async def alerts_of(org: Organization) -> list[tuple[str, str, str | None, str | None]]:
    """(rule, level, application id, rectification id) of the department's alerts, sorted."""
    rows = await EfficiencyAlert.filter(responsible_org_id=org.id).values_list(
        "rule_code", "level", "application_id", "rectification_id"
    )
    return sorted(
        (str(rule), str(level), str(app) if app else None, str(rect) if rect else None)
        for rule, level, app, rect in rows
    )


async def outbox_of(org: Organization) -> int:
    ids = await EfficiencyAlert.filter(responsible_org_id=org.id).values_list("id", flat=True)
    return await OutboxEvent.filter(topic=ALERT_TOPIC, key__in=[str(i) for i in ids]).count()


async def timer(app: Application) -> str:
    return str((await Application.get(id=app.id)).timer_state.value)
