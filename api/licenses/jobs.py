"""The daily licence job (domain.md §8.1, §8.3, D14; architecture §3a).

`sweep_licenses` moves VALID licences past `valid_to` to EXPIRED (operation 04 过期失效) and writes
`licenses.expiring` outbox events 90, 30 and 7 days before `valid_to` (`state_version` = the threshold, `key` = the
licence id). Only the tightest threshold reached is written, so a licence first seen 5 days before expiry gets one
notice, not three; the outbox's unique (topic, key, state_version) makes every run idempotent.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from api.kit.clock import Clock, SystemClock, shanghai_date
from api.kit.ids import new_id
from api.models import ELicense, LicenseOperation, LicenseStatus, OutboxEvent

log = logging.getLogger("zsb.licenses")

EXPIRING_TOPIC = "licenses.expiring"
THRESHOLDS = (7, 30, 90)  # tightest first
OP_EXPIRED = "04"


async def expire_past_validity(today: date) -> int:
    """VALID licences whose last valid day is before `today` (Asia/Shanghai) become EXPIRED."""
    candidates = await ELicense.filter(status=LicenseStatus.VALID, valid_to__lt=today).values_list("id", flat=True)
    moved = 0
    for licence_id in candidates:
        async with in_transaction() as conn:
            changed = (
                await ELicense.filter(id=licence_id, status=LicenseStatus.VALID)
                .using_db(conn)
                .update(status=LicenseStatus.EXPIRED)
            )
            if changed:
                await LicenseOperation.create(
                    id=new_id(),
                    elicense_id=licence_id,
                    operation=OP_EXPIRED,
                    reason="有效期届满，过期失效",
                    actor="system:sweep_licenses",
                    using_db=conn,
                )
                moved += 1
    return moved


def threshold_for(days_left: int) -> int | None:
    return next((t for t in THRESHOLDS if days_left <= t), None)


async def emit_expiring(today: date) -> int:
    """`licenses.expiring` for VALID licences within 90 days of `valid_to`; returns the number of new events."""
    rows = await ELicense.filter(
        status=LicenseStatus.VALID, valid_to__gte=today, valid_to__lte=today + timedelta(days=max(THRESHOLDS))
    )
    events = []
    for licence in rows:
        assert licence.valid_to is not None
        days_left = (licence.valid_to - today).days
        threshold = threshold_for(days_left)
        if threshold is None:
            continue
        events.append(
            OutboxEvent(
                topic=EXPIRING_TOPIC,
                key=str(licence.id),
                state_version=threshold,
                payload={
                    "license_id": str(licence.id),
                    "state_version": threshold,
                    "threshold_days": threshold,
                    "days_left": days_left,
                    "valid_to": licence.valid_to.isoformat(),
                    "name": licence.name,
                    "type_code": licence.type_code,
                    "holder_person_id": str(licence.holder_person_id) if licence.holder_person_id else None,
                    "holder_enterprise_id": (
                        str(licence.holder_enterprise_id) if licence.holder_enterprise_id else None
                    ),
                },
            )
        )
    if not events:
        return 0
    keys = [e.key for e in events]
    existing = set(await OutboxEvent.filter(topic=EXPIRING_TOPIC, key__in=keys).values_list("key", "state_version"))
    fresh = [e for e in events if (e.key, e.state_version) not in existing]
    if fresh:
        # Two workers racing past the read above: the unique index keeps one row each.
        await OutboxEvent.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)


async def sweep_licenses(ctx: dict[str, Any]) -> dict[str, int]:
    """arq job, daily at 00:05 Asia/Shanghai (16:05 UTC); safe to run any number of times."""
    clock: Clock = ctx.get("clock") or SystemClock()
    today = shanghai_date(clock.now())
    expired = await expire_past_validity(today)
    expiring = await emit_expiring(today)
    log.info("licence sweep", extra={"expired": expired, "expiring_events": expiring})
    return {"expired": expired, "expiring_events": expiring}
