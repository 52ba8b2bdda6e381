"""The deadline scan (domain.md §10.2): 提示 / 黄牌 / 红牌 alerts and every open case's `timer_state`.

Run by the worker every few minutes and callable directly. Each rule is one index-friendly query over the rows
that meet it, read in keyset batches of `batch_size`; each batch's alerts go in with their outbox rows in one
transaction, and an alert is raised once per (case or rectification, rule), so running the scan again, or twice
at once, raises nothing new. Paused cases raise nothing and show PAUSED. The timer states are set with one
UPDATE per level and batch, never row by row.

Dates are Asia/Shanghai: `promise_date` passed means today (in Shanghai) is after it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.models import Model

from api.applications import timers
from api.kit.clock import SHANGHAI, to_shanghai
from api.models import (
    Application,
    ApplicationStatus,
    EfficiencyAlert,
    Organization,
    Rectification,
    RectificationStatus,
    TimerState,
    WorkingCalendar,
)
from api.supervision.raising import Candidate, app_key, raise_alerts, rect_key
from api.supervision.rules import Rule
from api.workdays import store

log = logging.getLogger("zsb.supervision")

DEFAULT_BATCH = 500
INSTANT = "1"  # 办件类型 即办件 (A.6)
# Accepted and not finished: the promised clock runs unless paused (a pausing status sets paused_since).
RUNNING_STATUSES = [
    ApplicationStatus.IN_PROGRESS,
    ApplicationStatus.DECIDED,
    ApplicationStatus.SUPPLEMENT_REQUIRED,
    ApplicationStatus.SPECIAL_PROCEDURE,
    ApplicationStatus.PENDING_PAYMENT,
]
# A rectification whose clock runs: APPEALED waits for the supervisor (due_at moves on rejection), EXPLAINED and
# CLOSED have answered the rater.
RECTIFICATION_RUNNING = [
    RectificationStatus.PENDING_CALLBACK,
    RectificationStatus.VERIFYING,
    RectificationStatus.RECTIFYING,
]
_APP_FIELDS = ("id", "accepting_org_id", "project_no", "item_name", "promise_date", "step_due_date", "current_step")
_RECT_FIELDS = ("id", "assigned_org_id", "evaluation_id", "due_at", "callback_due_at", "reopen_count")
# Regional calendar rows further ahead than this cannot change whether one working day remains.
_NEAR_HORIZON = timedelta(days=60)


@dataclass
class ScanReport:
    raised: dict[str, int] = field(default_factory=dict)
    timers: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Day:
    today: date
    start: datetime  # 00:00 of today in Shanghai, as UTC
    near: Q  # promise_date at most one working day ahead (per region calendar)
    far: Q  # promise_date more than one working day ahead


async def _day(now: datetime) -> _Day:
    today = to_shanghai(now).date()
    start = datetime.combine(today, time(), SHANGHAI).astimezone(UTC)
    rows = (
        await WorkingCalendar.filter(date__gte=today, date__lte=today + _NEAR_HORIZON)
        .exclude(region_code="")
        .values_list("region_code", flat=True)
    )
    regions = sorted({str(code) for code in rows})
    threshold = (await store.calendar_for(today)).add_working_days(today, 1)
    national = Q(region_code__not_in=regions) if regions else Q()
    near = national & Q(promise_date__lte=threshold)
    far = national & Q(promise_date__gt=threshold)
    for region in regions:
        regional = (await store.calendar_for(today, region)).add_working_days(today, 1)
        near |= Q(region_code=region, promise_date__lte=regional)
        far |= Q(region_code=region, promise_date__gt=regional)
    return _Day(today, start, near, far)


def _running() -> Q:
    return Q(status__in=RUNNING_STATUSES, accept_time__isnull=False, paused_since__isnull=True)


def _red(d: _Day) -> Q:
    return Q(project_type__not=INSTANT, promise_date__lt=d.today) | Q(project_type=INSTANT, accept_time__lt=d.start)


def _step_over(d: _Day) -> Q:
    # Still within the promise: past it, the case is RED instead.
    return Q(
        status=ApplicationStatus.IN_PROGRESS,
        project_type__not=INSTANT,
        step_due_date__lt=d.today,
        promise_date__gte=d.today,
    )


def _no_step_over(d: _Day) -> Q:
    # Spelled out rather than ~_step_over: with a NULL step_due_date, NOT(…) is NULL in SQL and would drop the row.
    return Q(status__not=ApplicationStatus.IN_PROGRESS) | Q(step_due_date__isnull=True) | Q(step_due_date__gte=d.today)


def _near(d: _Day) -> Q:
    return Q(project_type__not=INSTANT, promise_date__gte=d.today) & d.near


def _not_alerted(rule: Rule) -> Q:
    """Cases that have no alert of `rule` yet, so that a backlog of old overdue cases is not read on every run."""
    raised = EfficiencyAlert.filter(rule_code=rule.value, application_id__isnull=False).values("application_id")
    return Q(id__not_in=Subquery(raised))


async def _batches(model: type[Model], q: Q, fields: Sequence[str], size: int) -> AsyncIterator[list[dict[str, Any]]]:
    last: Any = None
    while True:
        query = model.filter(q) if last is None else model.filter(q, id__gt=last)
        rows: list[dict[str, Any]] = await query.order_by("id").limit(size).values(*fields)
        if rows:
            yield rows
        if len(rows) < size:
            return
        last = rows[-1]["id"]


def _case(row: dict[str, Any]) -> str:
    return f"办件 {row['project_no'] or row['id']}（{row['item_name']}）"


def _when(moment: datetime) -> str:
    return to_shanghai(moment).strftime("%Y-%m-%d %H:%M")


def _app_candidate(rule: Rule, row: dict[str, Any], reason: str, suffix: str = "") -> Candidate:
    return Candidate(
        rule=rule,
        dedupe_key=app_key(row["id"], rule, suffix),
        reason=reason,
        responsible_org_id=row["accepting_org_id"],
        application_id=row["id"],
        extra={"projectNo": row["project_no"], "itemName": row["item_name"]},
    )


async def _raise_for_cases(
    rule: Rule, q: Q, make: Callable[[dict[str, Any]], Candidate], now: datetime, size: int
) -> int:
    count = 0
    async for rows in _batches(Application, q, _APP_FIELDS, size):
        count += len(await raise_alerts([make(row) for row in rows], now))
    return count


async def _case_alerts(d: _Day, now: datetime, size: int) -> dict[str, int]:
    running = _running()
    plans: list[tuple[Rule, Q, Callable[[dict[str, Any]], Candidate]]] = [
        (
            Rule.PROMISE_OVERDUE,
            running & Q(project_type__not=INSTANT, promise_date__lt=d.today) & _not_alerted(Rule.PROMISE_OVERDUE),
            lambda r: _app_candidate(
                Rule.PROMISE_OVERDUE, r, f"{_case(r)}承诺办结日期 {r['promise_date']} 已过，尚未办结"
            ),
        ),
        (
            Rule.INSTANT_OVERDUE,
            running & Q(project_type=INSTANT, accept_time__lt=d.start) & _not_alerted(Rule.INSTANT_OVERDUE),
            lambda r: _app_candidate(Rule.INSTANT_OVERDUE, r, f"即办件{_case(r)}未在受理当日办结"),
        ),
        (
            # A case gets one 黄牌 per step that overran, so the dedupe key names the step.
            Rule.STEP_OVERDUE,
            running & _step_over(d),
            lambda r: _app_candidate(
                Rule.STEP_OVERDUE,
                r,
                f"{_case(r)}的“{r['current_step'] or '办理'}”环节应于 {r['step_due_date']} 前完成，已超时",
                suffix=str(r["current_step"] or ""),
            ),
        ),
        (
            Rule.PROMISE_NEAR_DUE,
            running & _near(d) & _not_alerted(Rule.PROMISE_NEAR_DUE),
            lambda r: _app_candidate(
                Rule.PROMISE_NEAR_DUE, r, f"{_case(r)}承诺办结日期为 {r['promise_date']}，剩余不足一个工作日"
            ),
        ),
    ]
    return {rule.value: await _raise_for_cases(rule, q, make, now, size) for rule, q, make in plans}


async def _supervising_orgs(org_ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID | None]:
    rows = await Organization.filter(id__in=list(org_ids)).values_list("id", "parent_id")
    return {org: parent for org, parent in rows}


async def _rectification_alerts(now: datetime, size: int) -> dict[str, int]:
    counts = {
        Rule.CALLBACK_OVERDUE.value: 0,
        Rule.RECTIFICATION_OVERDUE.value: 0,
        Rule.RECTIFICATION_ESCALATED.value: 0,
    }

    def candidate(rule: Rule, row: dict[str, Any], reason: str, suffix: str = "", **extra: Any) -> Candidate:
        return Candidate(
            rule=rule,
            dedupe_key=rect_key(row["id"], rule, suffix),
            reason=reason,
            responsible_org_id=row["assigned_org_id"],
            rectification_id=row["id"],
            extra={"evaluationId": str(row["evaluation_id"]), **extra},
        )

    callback_q = Q(status=RectificationStatus.PENDING_CALLBACK, callback_due_at__lt=now)
    async for rows in _batches(Rectification, callback_q, _RECT_FIELDS, size):
        found = [
            candidate(
                Rule.CALLBACK_OVERDUE,
                r,
                f"实名差评应于 {_when(r['callback_due_at'])} 前回访核实，尚未回访",
                suffix=str(r["reopen_count"]),
            )
            for r in rows
        ]
        counts[Rule.CALLBACK_OVERDUE.value] += len(await raise_alerts(found, now))
    # A reopened rectification has a new deadline and may overrun it again: the key carries the round.
    overdue_q = Q(status__in=RECTIFICATION_RUNNING, due_at__lt=now)
    async for rows in _batches(Rectification, overdue_q, _RECT_FIELDS, size):
        found = [
            candidate(
                Rule.RECTIFICATION_OVERDUE,
                r,
                f"差评整改应于 {_when(r['due_at'])} 前完成，已超期",
                suffix=str(r["reopen_count"]),
            )
            for r in rows
        ]
        counts[Rule.RECTIFICATION_OVERDUE.value] += len(await raise_alerts(found, now))
    escalated = EfficiencyAlert.filter(
        rule_code=Rule.RECTIFICATION_ESCALATED.value, rectification_id__isnull=False
    ).values("rectification_id")
    escalated_q = Q(escalated=True) & Q(id__not_in=Subquery(escalated))
    async for rows in _batches(Rectification, escalated_q, _RECT_FIELDS, size):
        parents = await _supervising_orgs({r["assigned_org_id"] for r in rows})
        found = [
            candidate(
                Rule.RECTIFICATION_ESCALATED,
                r,
                "评价人对差评整改结果两次不满意，提请上级主管部门督办",
                escalatedToOrgId=str(parents.get(r["assigned_org_id"]) or r["assigned_org_id"]),
            )
            for r in rows
        ]
        counts[Rule.RECTIFICATION_ESCALATED.value] += len(await raise_alerts(found, now))
    return counts


async def _set_timers(q: Q, state: TimerState, size: int) -> int:
    total = 0
    while True:
        rows = await Application.filter(q).exclude(timer_state=state).limit(size).values_list("id", flat=True)
        ids = [uuid.UUID(str(row)) for row in rows]
        changed = await timers.set_timer_state(ids, state)
        total += changed
        # Rows that changed status meanwhile no longer match `q`; a batch that changed nothing ends the loop.
        if len(ids) < size or changed == 0:
            return total


async def _timer_states(d: _Day, size: int) -> dict[str, int]:
    running = _running()
    normal = Q(project_type=INSTANT, accept_time__gte=d.start) | (
        Q(project_type__not=INSTANT) & (Q(promise_date__isnull=True) | d.far) & _no_step_over(d)
    )
    levels = [
        (TimerState.PAUSED, Q(status__in=timers.OPEN, paused_since__isnull=False)),
        (TimerState.RED, running & _red(d)),
        (TimerState.YELLOW, running & _step_over(d)),
        (TimerState.NEAR_DUE, running & _near(d) & _no_step_over(d)),
        (TimerState.NORMAL, running & normal),
    ]
    return {state.value: await _set_timers(q, state, size) for state, q in levels}


async def scan(now: datetime, batch_size: int = DEFAULT_BATCH) -> ScanReport:
    """Raise the alerts due at `now` and set every open case's timer state."""
    d = await _day(now)
    report = ScanReport()
    report.raised.update(await _case_alerts(d, now, batch_size))
    report.raised.update(await _rectification_alerts(now, batch_size))
    report.timers.update(await _timer_states(d, batch_size))
    log.info("deadline scan", extra={"raised": report.raised, "timers": report.timers})
    return report
