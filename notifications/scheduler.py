"""The scheduler tick and reconciler (§C5): the database schedules, arq only transports.

Each tick (every `scheduler_interval_s`, driven by the injected clock; tests call `tick()` themselves) enqueues
the relay, the deliveries that are due, the requests and deliveries whose enqueue was missed, settles leases of
sends that never finished, expires what is past its deadline and advances campaigns. Ticks are idempotent; a
Redis lock keeps one ticker active across processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from api.models.notifications import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryChannel,
    NoticeStatus,
    NotificationRequest,
    RequestStatus,
)
from notifications import campaign_runs, stats
from notifications.deps import CAMPAIGN_QUEUE, TX_QUEUE, NotificationsDeps
from notifications.ledger import StatTally, below_max_attempts, settle_requests
from notifications.queue import enqueue

log = logging.getLogger("zsb.notifications.scheduler")

MISSED_AFTER = timedelta(seconds=10)
MAX_BATCHES_PER_TICK = 20
PLAN_BATCH = 100
SWEEP_LIMIT = 5000
LOCK_KEY = "notify:scheduler:lock"
RELAY_JOB_ID = "notify-relay"
LIVE_CAMPAIGNS = (CampaignStatus.MATERIALIZING, CampaignStatus.SENDING, CampaignStatus.PAUSED)

# KEYS[1] lock; ARGV token, ttl ms → 1 while this ticker holds it (renewed), 0 when another one does.
_HOLD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""
_DROP = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return 1"


@dataclass(frozen=True)
class TickReport:
    due: int  # deliveries enqueued for sending
    replanned: int  # pending requests enqueued again
    leases_retried: int  # transactional sends past their lease, back to temporary_failure
    leases_failed: int  # campaign sends past their lease: technical_failure, never re-sent
    expired: int
    campaigns: int  # what advance_campaigns reported


async def tick(deps: NotificationsDeps) -> TickReport:
    now = deps.clock.now()
    await enqueue(deps, "relay_outbox", TX_QUEUE, job_id=RELAY_JOB_ID)
    leases_retried, leases_failed = await _settle_leases(deps, now)
    expired = await _expire(deps, now)
    due = await _enqueue_due(deps, now)
    replanned = await _replan_missed(deps, now)
    campaigns = await campaign_runs.advance_campaigns(deps)
    return TickReport(due, replanned, leases_retried, leases_failed, expired, campaigns)


async def _paused() -> list[uuid.UUID]:
    rows = await Campaign.filter(status=CampaignStatus.PAUSED).values_list("id", flat=True)
    return [uuid.UUID(str(r)) for r in rows]


async def _enqueue_due(deps: NotificationsDeps, now: datetime) -> int:
    size = max(1, deps.settings.send_batch_size)
    retryable = Q(status__in=(NoticeStatus.DEFERRED, NoticeStatus.TEMPORARY_FAILURE)) | Q(
        status=NoticeStatus.CREATED, created_at__lte=now - MISSED_AFTER
    )
    query = Delivery.filter(retryable, below_max_attempts(deps.settings), next_attempt_at__lte=now).exclude(
        channel=DeliveryChannel.INBOX
    )
    paused = await _paused()
    if paused:
        query = query.exclude(campaign_id__in=paused)
    rows = (
        await query.order_by("next_attempt_at", "id")
        .limit(size * MAX_BATCHES_PER_TICK)
        .values_list("id", "campaign_id")
    )
    await _enqueue_in_batches(deps, rows, "send_batch", "notify-send", size)
    return len(rows)


async def _replan_missed(deps: NotificationsDeps, now: datetime) -> int:
    rows = (
        await NotificationRequest.filter(status=RequestStatus.PENDING, created_at__lte=now - MISSED_AFTER)
        .order_by("created_at", "id")
        .limit(PLAN_BATCH * MAX_BATCHES_PER_TICK)
        .values_list("id", "campaign_id")
    )
    await _enqueue_in_batches(deps, rows, "plan_request", "notify-plan", PLAN_BATCH)
    return len(rows)


async def _enqueue_in_batches(
    deps: NotificationsDeps, rows: Sequence[tuple[Any, Any]], function: str, job_prefix: str, size: int
) -> None:
    """(id, campaign id) rows as jobs of at most `size` ids, campaign work on its own queue. The same rows come up
    every tick until a worker takes them: the job id, made of the ids, keeps one queued job per set."""
    by_queue: dict[str, list[str]] = defaultdict(list)
    for row_id, campaign_id in rows:
        by_queue[CAMPAIGN_QUEUE if campaign_id else TX_QUEUE].append(str(row_id))
    for queue, ids in by_queue.items():
        for start in range(0, len(ids), size):
            batch = ids[start : start + size]
            await enqueue(deps, function, queue, batch, job_id=_batch_id(job_prefix, batch))


async def _settle_leases(deps: NotificationsDeps, now: datetime) -> tuple[int, int]:
    """A send whose worker died: transactional notices go again (at-least-once, same apns-id), campaign ones
    become technical_failure (at-most-once, §C7)."""
    stale = await Delivery.filter(status=NoticeStatus.SENDING, lease_until__lt=now).limit(SWEEP_LIMIT)
    if not stale:
        return 0, 0
    scopes = await _scopes({r.request_id for r in stale})
    retried = failed = 0
    tally = StatTally()
    async with in_transaction() as db:
        for row in stale:
            guard = Delivery.filter(id=row.id, status=NoticeStatus.SENDING, attempts=row.attempts).using_db(db)
            if row.campaign_id is None:
                retried += await guard.update(
                    status=NoticeStatus.TEMPORARY_FAILURE, next_attempt_at=now, lease_until=None, last_error="lease"
                )
            elif await guard.update(status=NoticeStatus.TECHNICAL_FAILURE, lease_until=None, last_error="lease"):
                failed += 1
                tally.add(scopes[row.request_id], row.channel, f"failed:{NoticeStatus.TECHNICAL_FAILURE}")
        await tally.flush(db, now)
        await settle_requests(deps.settings, {r.request_id for r in stale}, db)
    return retried, failed


async def _expire(deps: NotificationsDeps, now: datetime) -> int:
    """Open deliveries past the request's `expires_at` or the campaign's `window_end` become expired."""
    request_ids = list(
        await NotificationRequest.filter(status=RequestStatus.PLANNED, expires_at__lte=now)
        .limit(SWEEP_LIMIT)
        .values_list("id", flat=True)
    )
    campaign_ids = list(
        await Campaign.filter(status__in=LIVE_CAMPAIGNS, window_end__lte=now).values_list("id", flat=True)
    )
    if not request_ids and not campaign_ids:
        return 0
    waiting = Q(status__in=(NoticeStatus.CREATED, NoticeStatus.DEFERRED)) | (
        Q(status=NoticeStatus.TEMPORARY_FAILURE) & below_max_attempts(deps.settings)
    )
    past = (
        Q(request_id__in=request_ids) | Q(campaign_id__in=campaign_ids)
        if campaign_ids
        else Q(request_id__in=request_ids)
    )
    rows = await Delivery.filter(waiting, past).limit(SWEEP_LIMIT).values_list("id", "request_id", "channel", "status")
    if not rows:
        return 0
    scopes = await _scopes({r for _, r, _, _ in rows})
    tally = StatTally()
    expired = 0
    groups: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
    for delivery_id, request_id, channel, status in rows:
        groups[(scopes[request_id], str(channel), str(status))].append(delivery_id)
    async with in_transaction() as db:
        for (scope, channel, status), ids in groups.items():
            changed = (
                await Delivery.filter(id__in=ids, status=status)
                .using_db(db)
                .update(status=NoticeStatus.EXPIRED, last_error="deadline passed")
            )
            expired += changed
            tally.add(scope, channel, f"failed:{NoticeStatus.EXPIRED}", changed)
        await tally.flush(db, now)
        await settle_requests(deps.settings, {r for _, r, _, _ in rows}, db)
    return expired


async def _scopes(request_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await NotificationRequest.filter(id__in=list(request_ids)).values_list("id", "campaign_id", "topic")
    return {request_id: stats.scope_for(campaign_id, topic) for request_id, campaign_id, topic in rows}


def _batch_id(prefix: str, ids: list[str]) -> str:
    return f"{prefix}:{hashlib.sha256(','.join(ids).encode()).hexdigest()[:24]}"


async def run_scheduler(deps: NotificationsDeps, stop: asyncio.Event) -> None:
    """Tick every `scheduler_interval_s` while this process holds the scheduler lock."""
    interval = max(0.05, deps.settings.scheduler_interval_s)
    token = secrets.token_hex(16)
    ttl_ms = str(int(max(5.0, interval * 5) * 1000))
    try:
        while not stop.is_set():
            try:
                holding: Any = deps.redis.eval(_HOLD, 1, LOCK_KEY, token, ttl_ms)
                if int(await holding) == 1:
                    await tick(deps)
            except Exception:  # a failed tick is retried by the next one; the loop must survive
                log.exception("notifications scheduler tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
    finally:
        with contextlib.suppress(Exception):
            dropping: Any = deps.redis.eval(_DROP, 1, LOCK_KEY, token)
            await dropping
