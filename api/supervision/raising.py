"""Writing alerts: each `EfficiencyAlert` with its `supervision.alert_raised` outbox row (architecture §3a).

An alert is raised once per dedupe key (a case or a rectification, and its rule): the key is unique in the
table, so two scans racing each other cannot raise it twice, and a scan run again raises nothing new.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from api.models import EfficiencyAlert, OutboxEvent
from api.supervision.rules import RULES, Rule

TOPIC = "supervision.alert_raised"


@dataclass(frozen=True)
class Candidate:
    rule: Rule
    dedupe_key: str
    reason: str
    responsible_org_id: uuid.UUID
    application_id: uuid.UUID | None = None
    rectification_id: uuid.UUID | None = None
    extra: dict[str, Any] | None = None  # more for the notice (办件编号, 事项名称, the org escalated to)


def app_key(application_id: uuid.UUID, rule: Rule, suffix: str = "") -> str:
    return f"app:{application_id}:{rule.value}" + (f":{suffix}" if suffix else "")


def rect_key(rectification_id: uuid.UUID, rule: Rule, suffix: str = "") -> str:
    return f"rect:{rectification_id}:{rule.value}" + (f":{suffix}" if suffix else "")


def _payload(alert: EfficiencyAlert, extra: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "alertId": str(alert.id),
        "level": alert.level.value,
        "ruleCode": alert.rule_code,
        "ruleTitle": RULES[Rule(alert.rule_code)].title,
        "applicationId": str(alert.application_id) if alert.application_id else None,
        "rectificationId": str(alert.rectification_id) if alert.rectification_id else None,
        "responsibleOrgId": str(alert.responsible_org_id),
        "reason": alert.reason,
        "raisedAt": alert.raised_at.isoformat(),
        **(extra or {}),
    }


async def _insert(candidates: Sequence[Candidate], now: datetime, db: BaseDBAsyncClient) -> list[EfficiencyAlert]:
    keys = [c.dedupe_key for c in candidates]
    found = await EfficiencyAlert.filter(dedupe_key__in=keys).using_db(db).values_list("dedupe_key", flat=True)
    existing = {str(key) for key in found}
    fresh: dict[str, Candidate] = {c.dedupe_key: c for c in candidates if c.dedupe_key not in existing}
    alerts = [
        EfficiencyAlert(
            id=uuid.uuid4(),
            application_id=c.application_id,
            rectification_id=c.rectification_id,
            rule_code=c.rule.value,
            level=RULES[c.rule].level,
            dedupe_key=c.dedupe_key,
            raised_at=now,
            reason=c.reason,
            responsible_org_id=c.responsible_org_id,
            created_at=now,
            updated_at=now,
        )
        for c in fresh.values()
    ]
    if not alerts:
        return []
    await EfficiencyAlert.bulk_create(alerts, using_db=db)
    await OutboxEvent.bulk_create(
        [
            OutboxEvent(
                topic=TOPIC,
                key=str(a.id),
                state_version=1,
                payload=_payload(a, fresh[a.dedupe_key].extra),
                created_at=now,
            )
            for a in alerts
        ],
        using_db=db,
    )
    return alerts


async def raise_alerts(
    candidates: Sequence[Candidate], now: datetime, db: BaseDBAsyncClient | None = None
) -> list[EfficiencyAlert]:
    """Insert the alerts not raised yet, with their outbox rows; returns the new ones.

    Given `db`, joins the caller's transaction (a unique violation then propagates to the caller); otherwise one
    transaction of its own, retried once when a concurrent scan inserted some of the same keys first.
    """
    if not candidates:
        return []
    if db is not None:
        return await _insert(candidates, now, db)
    for attempt in range(2):
        try:
            async with in_transaction() as conn:
                return await _insert(candidates, now, conn)
        except IntegrityError:
            if attempt:
                raise
    return []  # pragma: no cover - the loop returns or raises
