"""The supervisor's work on alerts: list, acknowledge, resolve, and record a violation as a 红牌 (domain.md §10.2).

Supervisors see every department; a case handler sees its own department's alerts, read-only. An alert moves
OPEN → ACKNOWLEDGED → RESOLVED (or straight from OPEN to RESOLVED); every other step is refused with the alert's
status and nothing changes. Each step is one conditional UPDATE, so two supervisors acting at once cannot both
succeed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tortoise.expressions import Q

from api.identity.tokens import AccessClaims
from api.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from api.kit.pagination import Page, clamp_first, decode_cursor, encode_cursor
from api.models import AlertLevel, Application, EfficiencyAlert, OperatorRole, Organization
from api.supervision.raising import Candidate, app_key, raise_alerts
from api.supervision.rules import RULES, VIOLATIONS, Rule

MAX_RESOLUTION = 2000
MAX_REASON = 1000


class AlertStatus(StrEnum):
    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    RESOLVED = "RESOLVED"


def status_of(alert: EfficiencyAlert) -> AlertStatus:
    if alert.resolved_at is not None:
        return AlertStatus.RESOLVED
    return AlertStatus.ACKNOWLEDGED if alert.acknowledged_at is not None else AlertStatus.OPEN


class AlertStepRefused(Conflict):
    """The alert's status does not allow the step (resolving twice, acknowledging a resolved alert)."""

    def __init__(self, message: str, *, status: AlertStatus, code: str) -> None:
        super().__init__(message, path=["alertId"], code=code)
        self.status = status


@dataclass(frozen=True)
class AlertView:
    alert: EfficiencyAlert
    project_no: str | None
    item_name: str | None
    org_name: str

    @property
    def status(self) -> AlertStatus:
        return status_of(self.alert)

    @property
    def rule_title(self) -> str:
        known = RULES.get(Rule(self.alert.rule_code)) if self.alert.rule_code in Rule.__members__ else None
        return known.title if known else self.alert.rule_code


def _is_supervisor(claims: AccessClaims) -> bool:
    return OperatorRole.SUPERVISOR.value in claims.roles


def visible_org(claims: AccessClaims, org_id: uuid.UUID | None) -> uuid.UUID | None:
    """The department a caller may look at: a supervisor any (None: all), a case handler only its own."""
    if _is_supervisor(claims):
        return org_id
    if claims.department_id is None or OperatorRole.CASE_HANDLER.value not in claims.roles:
        raise Forbidden("your role does not allow this operation")
    if org_id is not None and org_id != claims.department_id:
        raise Forbidden("case handlers see their own department only")
    return claims.department_id


def _status_q(status: AlertStatus) -> Q:
    if status is AlertStatus.RESOLVED:
        return Q(resolved_at__isnull=False)
    return Q(resolved_at__isnull=True, acknowledged_at__isnull=status is AlertStatus.OPEN)


def _after(cursor: str | None) -> Q:
    position = decode_cursor(cursor)
    if position is None:
        return Q()
    try:
        assert isinstance(position, list) and len(position) == 2
        raised, alert_id = datetime.fromisoformat(str(position[0])), uuid.UUID(str(position[1]))
    except (AssertionError, ValueError):
        raise InvalidInput("not a cursor of this list", path=["after"], code="INVALID_CURSOR") from None
    return Q(raised_at__lt=raised) | Q(raised_at=raised, id__lt=alert_id)


async def views(rows: Sequence[EfficiencyAlert]) -> list[AlertView]:
    """The alerts with their case number, item and department name: two queries for any number of alerts."""
    app_ids = list({r.application_id for r in rows if r.application_id})
    org_ids = list({r.responsible_org_id for r in rows})
    apps = {
        a: (no, name)
        for a, no, name in await Application.filter(id__in=app_ids).values_list("id", "project_no", "item_name")
    }
    orgs = {o: name for o, name in await Organization.filter(id__in=org_ids).values_list("id", "name")}
    return [
        AlertView(
            alert=r,
            project_no=apps.get(r.application_id, (None, None))[0],
            item_name=apps.get(r.application_id, (None, None))[1],
            org_name=str(orgs.get(r.responsible_org_id, "")),
        )
        for r in rows
    ]


async def list_alerts(
    claims: AccessClaims,
    *,
    level: AlertLevel | None = None,
    status: AlertStatus | None = None,
    org_id: uuid.UUID | None = None,
    first: int | None = None,
    after: str | None = None,
) -> Page[AlertView]:
    """Newest first."""
    n = clamp_first(first)
    q = _after(after)
    org = visible_org(claims, org_id)
    if org is not None:
        q &= Q(responsible_org_id=org)
    if level is not None:
        q &= Q(level=level)
    if status is not None:
        q &= _status_q(status)
    rows = await EfficiencyAlert.filter(q).order_by("-raised_at", "-id").limit(n + 1)
    shown = rows[:n]
    cursors = [encode_cursor([r.raised_at.isoformat(), str(r.id)]) for r in shown]
    return Page(await views(shown), cursors, len(rows) > n)


async def _get(alert_id: uuid.UUID) -> EfficiencyAlert:
    alert = await EfficiencyAlert.get_or_none(id=alert_id)
    if alert is None:
        raise NotFound("no such alert", path=["alertId"], code="ALERT_NOT_FOUND")
    return alert


async def acknowledge(claims: AccessClaims, alert_id: uuid.UUID, now: datetime) -> AlertView:
    alert = await _get(alert_id)
    changed = await EfficiencyAlert.filter(id=alert_id, acknowledged_at__isnull=True, resolved_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=claims.subject, updated_at=now
    )
    if not changed:
        alert = await _get(alert_id)
        status = status_of(alert)
        code = "ALERT_RESOLVED" if status is AlertStatus.RESOLVED else "ALERT_ALREADY_ACKNOWLEDGED"
        raise AlertStepRefused(f"the alert is {status.value.lower()} already", status=status, code=code)
    await alert.refresh_from_db()
    return (await views([alert]))[0]


async def resolve(claims: AccessClaims, alert_id: uuid.UUID, resolution: str, now: datetime) -> AlertView:
    text = resolution.strip()
    if not text:
        raise InvalidInput("say how the alert was resolved", path=["resolution"], code="RESOLUTION_REQUIRED")
    if len(text) > MAX_RESOLUTION:
        raise InvalidInput(
            f"the resolution holds at most {MAX_RESOLUTION} characters", path=["resolution"], code="TOO_LONG"
        )
    alert = await _get(alert_id)
    # Resolving implies having seen it: an open alert is acknowledged at the same moment.
    changed = await EfficiencyAlert.filter(id=alert_id, resolved_at__isnull=True).update(
        resolved_at=now,
        resolved_by=claims.subject,
        resolution=text,
        acknowledged_at=alert.acknowledged_at or now,
        acknowledged_by=alert.acknowledged_by or claims.subject,
        updated_at=now,
    )
    if not changed:
        raise AlertStepRefused("the alert is resolved already", status=AlertStatus.RESOLVED, code="ALERT_RESOLVED")
    await alert.refresh_from_db()
    return (await views([alert]))[0]


async def record_violation(
    claims: AccessClaims, application_id: uuid.UUID, rule: Rule, reason: str, now: datetime
) -> AlertView:
    """A supervisor's finding on a case (refusing a compliant application, illegal fees …) as a 红牌."""
    if rule not in VIOLATIONS:
        raise InvalidInput("not a violation rule", path=["rule"], code="NOT_A_VIOLATION")
    text = reason.strip()
    if not text:
        raise InvalidInput("say what was found", path=["reason"], code="REASON_REQUIRED")
    if len(text) > MAX_REASON:
        raise InvalidInput(f"the reason holds at most {MAX_REASON} characters", path=["reason"], code="TOO_LONG")
    app = await Application.get_or_none(id=application_id)
    if app is None:
        raise NotFound("no such application", path=["applicationId"], code="APPLICATION_NOT_FOUND")
    candidate = Candidate(
        rule=rule,
        dedupe_key=app_key(app.id, rule),
        reason=f"{RULES[rule].title}：{text}",
        responsible_org_id=app.accepting_org_id,
        application_id=app.id,
        extra={"projectNo": app.project_no, "itemName": app.item_name, "recordedBy": str(claims.subject)},
    )
    raised = await raise_alerts([candidate], now)
    if not raised:
        raise Conflict(
            "this violation is recorded for the application already", path=["rule"], code="VIOLATION_ALREADY_RECORDED"
        )
    return (await views(raised))[0]
