"""The generic outbox relay (architecture §3a): one consumer reads the topics it cares about in id order.

At most once per (consumer, event id): an `OutboxReceipt` row is inserted in the same transaction as the
handler's own writes (tortoise's `in_transaction` nests, so a service the handler calls joins it). A receipt
that already exists means another run (or another worker) handled the event: it is skipped.

The progress row is only a read optimisation. On PostgreSQL ids are taken when a row is inserted, not when its
transaction commits, so an event with a lower id can become visible after a higher one. The watermark therefore
moves only past a prefix of handled events that are older than `GRACE`; anything newer is read again by the next
run and skipped by its receipt.

A failing handler is logged with the event id and its transaction rolled back; the consumer stops there, so the
next run retries the same event first and order is kept (per key, and in fact over the whole consumer). Handlers
must therefore swallow the refusals that retrying cannot change (log them and return), or they would block
their consumer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import Counter, Gauge
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from api.models import OutboxEvent, OutboxProgress, OutboxReceipt

log = logging.getLogger("zsb.outbox")

GRACE = timedelta(seconds=60)

Handler = Callable[[OutboxEvent], Awaitable[None]]

HANDLED = Counter("zsb_outbox_handled_total", "Outbox events handled by a relay", ["consumer", "topic"])
FAILED = Counter("zsb_outbox_failures_total", "Outbox handler failures (the consumer stops and retries)", ["consumer"])
WATERMARK = Gauge("zsb_outbox_watermark", "The last outbox event id a consumer has settled", ["consumer"])


@dataclass(frozen=True)
class RelayRun:
    handled: int  # events whose handler ran and committed in this run
    skipped: int  # events another run had already handled
    failed_event_id: int | None  # the event the consumer stopped at, if a handler failed
    watermark: int


async def run_relay(
    consumer: str,
    topics: Sequence[str],
    handle: Handler,
    *,
    now: datetime,
    batch: int = 200,
    max_batches: int = 50,
    outside_transaction: Collection[str] = (),
    grace: timedelta = GRACE,
) -> int:
    """Handle the consumer's pending events; returns how many handlers ran. See `relay_once` for the details."""
    run = await relay_once(
        consumer,
        topics,
        handle,
        now=now,
        batch=batch,
        max_batches=max_batches,
        outside_transaction=outside_transaction,
        grace=grace,
    )
    return run.handled


async def relay_once(
    consumer: str,
    topics: Sequence[str],
    handle: Handler,
    *,
    now: datetime,
    batch: int = 200,
    max_batches: int = 50,
    outside_transaction: Collection[str] = (),
    grace: timedelta = GRACE,
) -> RelayRun:
    """Read up to `batch * max_batches` events past the consumer's watermark and handle each not yet handled.

    `outside_transaction`: topics whose handler calls an external system (a payment channel) and must commit its
    own write-ahead rows before that call. Holding one transaction across a channel call would lose the
    write-ahead guarantee (a crash after the channel acted would leave no row) and, on SQLite, block every other
    writer for the whole call. Those handlers must be idempotent on keys of their own (payments.md §13: the
    service's idempotency keys and compare-and-set transitions); the receipt is inserted after they return, so
    they run at least once and take effect once.
    """
    progress = await _progress(consumer)
    cursor = watermark = progress.last_event_id
    settled = True  # every event read so far is handled and past the grace period
    horizon = now - grace
    handled = skipped = 0
    failed: int | None = None
    for _ in range(max_batches):
        events = await OutboxEvent.filter(id__gt=cursor, topic__in=list(topics)).order_by("id").limit(batch)
        if not events:
            break
        done = set(
            await OutboxReceipt.filter(consumer=consumer, event_id__in=[e.id for e in events]).values_list(
                "event_id", flat=True
            )
        )
        for event in events:
            if event.id in done:
                skipped += 1
            else:
                outcome = await _handle_one(consumer, event, handle, outside=event.topic in outside_transaction)
                if outcome is None:
                    failed = event.id
                    break
                if outcome:
                    handled += 1
                else:
                    skipped += 1
            if settled and event.created_at <= horizon:
                watermark = event.id
            else:
                settled = False
        if failed is not None or len(events) < batch:
            break
        cursor = events[-1].id
    if watermark > progress.last_event_id:
        # Monotonic even when two runs of the same consumer overlap.
        await OutboxProgress.filter(consumer=consumer, last_event_id__lt=watermark).update(last_event_id=watermark)
    WATERMARK.labels(consumer).set(watermark)
    return RelayRun(handled=handled, skipped=skipped, failed_event_id=failed, watermark=watermark)


async def _progress(consumer: str) -> OutboxProgress:
    progress = await OutboxProgress.get_or_none(consumer=consumer)
    if progress is not None:
        return progress
    try:
        return await OutboxProgress.create(consumer=consumer, last_event_id=0)
    except IntegrityError:  # a concurrent first run created it
        return await OutboxProgress.get(consumer=consumer)


async def _handle_one(consumer: str, event: OutboxEvent, handle: Handler, *, outside: bool) -> bool | None:
    """True: handled now; False: another run had; None: the handler failed (rolled back, logged)."""
    if outside:
        try:
            await handle(event)
        except Exception:
            _failed(consumer, event)
            return None
        try:
            await OutboxReceipt.create(consumer=consumer, event_id=event.id)
        except IntegrityError:
            return False  # a concurrent run handled it too; the handler's own keys made that harmless
    else:
        try:
            async with in_transaction():
                await OutboxReceipt.create(consumer=consumer, event_id=event.id)
                await handle(event)
        except Exception as exc:
            if isinstance(exc, IntegrityError) and await OutboxReceipt.exists(consumer=consumer, event_id=event.id):
                return False  # a concurrent run committed it first; ours rolled back whole
            _failed(consumer, event)
            return None
    HANDLED.labels(consumer, event.topic).inc()
    return True


def _failed(consumer: str, event: OutboxEvent) -> None:
    log.exception("outbox handler failed", extra={"consumer": consumer, "event_id": event.id, "topic": event.topic})
    FAILED.labels(consumer).inc()


async def prune_receipts(consumer: str) -> int:
    """Forget the receipts at or below the consumer's watermark: reads start past it, so they are never asked
    about again. Returns how many were removed."""
    progress = await OutboxProgress.get_or_none(consumer=consumer)
    if progress is None or progress.last_event_id <= 0:
        return 0
    removed: int = await OutboxReceipt.filter(consumer=consumer, event_id__lte=progress.last_event_id).delete()
    return removed
