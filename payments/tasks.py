"""Payments' arq jobs (payments.md §12, §13): active queries, the expiry sweep, the refund poller, due-soon
reminders, stuck-state alarms, the outbox relay and daily reconciliation.

Every job takes arq's `ctx`: `ctx["payments"]` is the process's PaymentsDeps (built by the composition root) and
`ctx["clock"]` the clock the job runs by; the services the job calls see that clock too, so a test can run a job
"at" a later moment. Each job is idempotent (arq delivers at least once) and returns what it did.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import date, timedelta
from typing import Any

from api.kit.clock import Clock, SystemClock, shanghai_date
from api.models.payment import Channel, ReconciliationRun, ReconciliationStatus
from api.outbox import runner
from payments import tasks_alarms, tasks_orders, tasks_relay
from payments.deps import PaymentsDeps
from payments.reconcile.run import reconcile as reconcile_date

log = logging.getLogger("zsb.payments")

_warned: set[str] = set()


def _clock(ctx: dict[str, Any]) -> Clock:
    clock: Clock = ctx.get("clock") or SystemClock()
    return clock


def _deps(ctx: dict[str, Any], job: str) -> PaymentsDeps | None:
    deps: PaymentsDeps | None = ctx.get("payments")
    if deps is None:
        if job not in _warned:  # once per job and process: the cron would repeat it every few seconds
            _warned.add(job)
            log.warning("payments job %s skipped: the worker was started without PaymentsDeps", job)
        return None
    clock = ctx.get("clock")
    if clock is not None and clock is not deps.clock:
        deps = dataclasses.replace(deps, clock=clock)
    return deps


async def poll_orders(ctx: dict[str, Any]) -> int:
    """Query live orders whose next query is due (+10 s, 30 s, 1 m, 2 m, 5 m, 10 m, 30 m, then every 30 m)."""
    deps = _deps(ctx, "poll_orders")
    return await tasks_orders.poll_orders(deps, deps.clock.now()) if deps else 0


async def sweep_expired(ctx: dict[str, Any]) -> int:
    """Settle live orders past expires_at: paid → PAID (never closed), unpaid → closed at the channel."""
    deps = _deps(ctx, "sweep_expired")
    return await tasks_orders.sweep_expired(deps, deps.clock.now()) if deps else 0


async def poll_refunds(ctx: dict[str, Any]) -> int:
    """Resolve SUBMITTED and UNKNOWN refunds through the refund query; send CREATED ones a crash left unsent."""
    deps = _deps(ctx, "poll_refunds")
    return await tasks_orders.poll_refunds(deps, deps.clock.now()) if deps else 0


async def due_soon(ctx: dict[str, Any]) -> int:
    """`payments.bill_due_soon` once per UNPAID bill and due date, 3 days before it."""
    return await tasks_alarms.send_due_soon(_clock(ctx).now())


async def stuck_alarms(ctx: dict[str, Any]) -> dict[str, int]:
    """Gauges and warnings for orders and refunds stuck in a state (payments.md §12)."""
    return (await tasks_alarms.stuck_alarms(_clock(ctx).now())).as_dict()


async def relay_payments(ctx: dict[str, Any]) -> int:
    """Payments' outbox consumer: application.fee_required → the Bill; application.withdrawn → cancel or refund."""
    deps = _deps(ctx, "relay_payments")
    if deps is None:
        return 0
    return await runner.relay_job(
        ctx,
        tasks_relay.CONSUMER,
        tasks_relay.TOPICS,
        tasks_relay.handler(deps),
        outside_transaction=tasks_relay.OUTSIDE_TRANSACTION,
    )


async def reconcile(ctx: dict[str, Any], channel: Channel | str, bill_date: date | str) -> dict[str, Any]:
    """Reconcile one channel's bill of one Beijing-time date; running it again is idempotent."""
    deps = _deps(ctx, "reconcile")
    if deps is None:
        return {}
    day = bill_date if isinstance(bill_date, date) else date.fromisoformat(bill_date)
    run = await reconcile_date(deps, Channel(channel), day)
    return {"channel": run.channel.value, "billDate": run.bill_date.isoformat(), "status": run.status.value}


async def reconcile_yesterday(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """Yesterday's (Beijing time) bill of every configured channel, unless already reconciled: the cron runs this
    twice a day, the second time only for a bill the first could not get."""
    deps = _deps(ctx, "reconcile_yesterday")
    if deps is None:
        return []
    day = shanghai_date(deps.clock.now()) - timedelta(days=1)
    done = []
    for channel in Channel:
        if deps.channel(channel) is None:
            continue
        if await ReconciliationRun.exists(channel=channel, bill_date=day, status=ReconciliationStatus.DONE):
            continue
        done.append(await reconcile(ctx, channel, day))
    return done
