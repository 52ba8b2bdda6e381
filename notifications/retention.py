"""Nightly housekeeping (§C11, §C13): stale device endpoints, and delivery rows past their 180 days of audit.

Stat buckets are kept indefinitely; a delivery is removed only once final, with its attempts, so that a retry or a
late reply never finds its row gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from api.models.notifications import Delivery, DeliveryAttempt, NoticeStatus
from notifications.devices import purge_endpoints

DELIVERY_RETENTION = timedelta(days=180)
FINAL = (
    NoticeStatus.SENT,
    NoticeStatus.DELIVERED,
    NoticeStatus.PERMANENT_FAILURE,
    NoticeStatus.TECHNICAL_FAILURE,
    NoticeStatus.SUPPRESSED,
    NoticeStatus.EXPIRED,
    NoticeStatus.CANCELLED,
)
PAGE = 5000  # rows per transaction, so that a large backlog never holds one long lock


@dataclass(frozen=True)
class Purged:
    endpoints: int
    deliveries: int


async def purge_old_deliveries(now: datetime) -> int:
    """Final deliveries created more than 180 days before `now`, with their attempt rows; returns how many."""
    removed = 0
    while True:
        ids = (
            await Delivery.filter(created_at__lt=now - DELIVERY_RETENTION, status__in=FINAL)
            .limit(PAGE)
            .values_list("id", flat=True)
        )
        if not ids:
            return removed
        async with in_transaction():
            await DeliveryAttempt.filter(delivery_id__in=list(ids)).delete()
            removed += await Delivery.filter(id__in=list(ids)).delete()


async def housekeeping(now: datetime) -> Purged:
    return Purged(endpoints=await purge_endpoints(now), deliveries=await purge_old_deliveries(now))
