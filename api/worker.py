"""arq workers: job functions and the cron schedule.

Standalone (`zsb worker`) against a Redis server, or inside the API process in the embedded mode, where Redis is
fakeredis: the same functions and cron jobs, the same queue semantics.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import arq.worker
import httpx
from arq.connections import ArqRedis, RedisSettings
from arq.cron import cron
from arq.typing import WorkerCoroutine

from api import database, devsecrets
from api.applications import payment_relay
from api.applications.jobs import expire_supplements
from api.identity.deps import IdentityDeps
from api.kit import heap
from api.kit.clock import Clock, SystemClock
from api.kit.redis import Redis
from api.licenses.jobs import sweep_licenses
from api.models import Session
from api.notifications_root import provider_clients, worker_deps
from api.outbox import relay as outbox_relay
from api.outbox import runner as outbox_runner
from api.payments_root import build_payments, channel_keys, gateways
from api.ratings.jobs import expire_unrated_ratings
from api.settings import Settings, activate
from api.supervision.jobs import scan_deadlines
from notifications import retention as notification_retention
from notifications import service as notifications_service
from notifications.deps import CAMPAIGN_QUEUE, TX_QUEUE, NotificationsDeps
from notifications.jobs import FUNCTIONS as NOTIFY_FUNCTIONS
from notifications.scheduler import run_scheduler
from payments import tasks as payment_tasks
from payments import tasks_relay as payment_relay_consumer
from payments.deps import PaymentsDeps
from sync import corrections as sync_corrections
from sync import gc as sync_gc
from sync.uploads import Storage, expire_uploads

log = logging.getLogger("zsb.worker")

# Refresh tokens past expiry are kept a week for audit and reuse detection, then removed.
SESSION_RETENTION = timedelta(days=7)


async def purge_expired_sessions(ctx: dict[str, Any]) -> int:
    clock: Clock = ctx.get("clock") or SystemClock()
    removed = await Session.filter(expires_at__lt=clock.now() - SESSION_RETENTION).delete()
    log.info("purged expired sessions", extra={"removed": removed})
    return int(removed)


async def purge_notification_history(ctx: dict[str, Any]) -> dict[str, int]:
    """Device endpoints unseen for 270 days or invalid for 30, final deliveries past their 180 days of audit."""
    clock: Clock = ctx.get("clock") or SystemClock()
    purged = await notification_retention.housekeeping(clock.now())
    log.info("purged notification history", extra={"endpoints": purged.endpoints, "deliveries": purged.deliveries})
    return {"endpoints": purged.endpoints, "deliveries": purged.deliveries}


async def expire_sync_uploads(ctx: dict[str, Any]) -> int:
    """Incomplete draft-sync uploads past their 7 days become EXPIRED and their chunks are deleted."""
    clock: Clock = ctx.get("clock") or SystemClock()
    var_dir: Path = ctx.get("var_dir") or Settings().var_dir
    return await expire_uploads(Storage(var_dir, clock))


async def collect_sync_garbage(ctx: dict[str, Any]) -> dict[str, int]:
    """Draft sync GC: deleted drafts past their 30 days, results and quarantine past 90, blobs unused for 30."""
    clock: Clock = ctx.get("clock") or SystemClock()
    var_dir: Path = ctx.get("var_dir") or Settings().var_dir
    return (await sync_gc.collect(var_dir, clock.now())).__dict__


# Outbox relays keep no result, so that a kick's de-dup job id is free again as soon as a run ends.
RELAYS = [
    (payment_relay_consumer.CONSUMER, payment_tasks.relay_payments),
    (payment_relay.CONSUMER, payment_relay.relay_applications),
    (sync_corrections.CONSUMER, sync_corrections.relay_corrections),
]
PAYMENT_JOBS: tuple[WorkerCoroutine, ...] = (
    payment_tasks.poll_orders,
    payment_tasks.sweep_expired,
    payment_tasks.poll_refunds,
    payment_tasks.due_soon,
    payment_tasks.stuck_alarms,
    payment_tasks.reconcile,
    payment_tasks.reconcile_yesterday,
)


async def prune_outbox_receipts(ctx: dict[str, Any]) -> int:
    """Each relay's receipts below its watermark are never read again."""
    return sum([await outbox_relay.prune_receipts(consumer) for consumer, _ in RELAYS])


FUNCTIONS: list[arq.worker.Function] = [
    *map(arq.worker.func, (purge_expired_sessions, sweep_licenses, expire_unrated_ratings, expire_supplements)),
    arq.worker.func(scan_deadlines),
    arq.worker.func(prune_outbox_receipts),
    arq.worker.func(expire_sync_uploads),
    arq.worker.func(collect_sync_garbage),
    arq.worker.func(purge_notification_history),
    *map(arq.worker.func, PAYMENT_JOBS),
    *(arq.worker.func(job, keep_result=0) for _, job in RELAYS),
]
# arq's cron runs in UTC: 19:30, 16:05 and 16:20 UTC are 03:30, 00:05 and 00:20 in Asia/Shanghai.
CRON_JOBS = [
    cron(purge_expired_sessions, hour={19}, minute={30}, run_at_startup=False),
    cron(prune_outbox_receipts, hour={19}, minute={40}, run_at_startup=False),
    cron(expire_sync_uploads, minute={25}, run_at_startup=False),
    cron(collect_sync_garbage, hour={19}, minute={50}, run_at_startup=False),  # 03:50 Beijing
    cron(purge_notification_history, hour={20}, minute={10}, run_at_startup=False),  # 04:10 Beijing
    cron(sweep_licenses, hour={16}, minute={5}, run_at_startup=False),
    cron(expire_unrated_ratings, hour={16}, minute={20}, run_at_startup=False),
    # 补正 deadlines are moments, not days: checked every hour.
    cron(expire_supplements, minute={10}, run_at_startup=False),
    # 提示 / 黄牌 / 红牌 within minutes of a deadline passing; each run reads only the rows a rule matches.
    cron(scan_deadlines, minute=set(range(2, 60, 5)), run_at_startup=False),
    # Relays every minute as a safety net; kicks after commits make them run at once.
    *(cron(job, second={20}, run_at_startup=True, keep_result=0) for _, job in RELAYS),
    # Payments (payments.md §12): the query schedule has +10 s and +30 s slots, so the poller runs every 10 s;
    # refunds every 30 s (first query 10 s after the request), the expiry sweep every minute.
    cron(payment_tasks.poll_orders, second=set(range(5, 60, 10)), run_at_startup=False, keep_result=0),
    cron(payment_tasks.poll_refunds, second={0, 30}, run_at_startup=False, keep_result=0),
    cron(payment_tasks.sweep_expired, second={40}, run_at_startup=False, keep_result=0),
    cron(payment_tasks.stuck_alarms, minute=set(range(1, 60, 5)), second={50}, run_at_startup=False, keep_result=0),
    cron(payment_tasks.due_soon, minute={7}, run_at_startup=False),
    # 02:30 and 06:30 UTC are 10:30 and 14:30 in Beijing: after both channels publish yesterday's bill (WeChat
    # from 10:00); the second run only retries a bill the first could not get.
    cron(payment_tasks.reconcile_yesterday, hour={2, 6}, minute={30}, run_at_startup=False, timeout=1800),
]


async def kick_relays(redis: Redis) -> None:
    """PaymentsDeps.kick_relays: run the outbox relays now (after a commit that wrote outbox rows)."""
    await outbox_runner.kick(redis, [(consumer, job.__name__) for consumer, job in RELAYS])


async def _startup(ctx: dict[str, Any]) -> None:
    settings = Settings()
    activate(settings)
    await database.connect(settings.resolved_database_url)
    ctx["clock"] = SystemClock()
    ctx["var_dir"] = settings.var_dir
    stack = AsyncExitStack()
    ctx["stack"] = stack
    http = await stack.enter_async_context(httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0)))
    dev = None if settings.is_production else devsecrets.load_or_create(settings.var_dir)
    redis: Redis = ctx["redis"]
    ctx["payments"] = await build_payments(
        settings,
        clock=ctx["clock"],
        http=http,
        redis=redis,
        stack=stack,
        keys=channel_keys(settings, dev),
        gateways=gateways(settings, dev),
        kick_relays=functools.partial(kick_relays, redis),
    )
    heap.settle_after_startup()


async def _shutdown(ctx: dict[str, Any]) -> None:
    stack: AsyncExitStack | None = ctx.get("stack")
    if stack is not None:
        await stack.aclose()
    await database.disconnect()


def worker_redis_settings() -> RedisSettings:
    url = Settings().redis_url
    if not url:
        raise SystemExit("a standalone worker needs APP_REDIS_URL (the embedded mode runs jobs inside the API)")
    return RedisSettings.from_dsn(url)


class WorkerSettings:
    functions = FUNCTIONS
    cron_jobs = CRON_JOBS
    on_startup = _startup
    on_shutdown = _shutdown
    max_tries = 5

    @staticmethod
    def redis_settings() -> RedisSettings:
        return worker_redis_settings()


async def _skip_redis_info(*_args: object) -> None:
    return None


# Notifications (§C1, §C5): the notify:tx and notify:campaign queues run notifications' own functions, with
# ctx["notifications"] the worker-side deps (adapters included), and the scheduler loop beside them.
NOTIFY_QUEUES = (TX_QUEUE, CAMPAIGN_QUEUE)


async def _notify_startup(ctx: dict[str, Any]) -> None:
    settings = Settings()
    activate(settings)
    await database.connect(settings.resolved_database_url)
    stack = AsyncExitStack()
    ctx["stack"] = stack
    http = await stack.enter_async_context(httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0)))
    deps = await worker_deps(
        settings,
        clock=SystemClock(),
        redis=ctx["redis"],
        http=http,
        clients=provider_clients(settings, http),
        stack=stack,
        sandboxes=None,
        on_late_reply=notifications_service.on_late_reply,
    )
    ctx["notifications"] = deps
    stop = asyncio.Event()
    scheduler = asyncio.create_task(run_scheduler(deps, stop), name="notifications-scheduler")

    async def stop_scheduler() -> None:
        stop.set()
        await scheduler

    stack.push_async_callback(stop_scheduler)
    heap.settle_after_startup()


class NotificationWorkerSettings:
    """`zsb worker --queue notify:tx` or `--queue notify:campaign` (the queue name is set by the CLI)."""

    functions = NOTIFY_FUNCTIONS
    on_startup = _notify_startup
    on_shutdown = _shutdown
    max_tries = 3

    @staticmethod
    def redis_settings() -> RedisSettings:
        return worker_redis_settings()


async def start_notification_workers(redis: Redis, deps: NotificationsDeps) -> list[asyncio.Task[None]]:
    """The embedded mode: one in-process worker per notify queue and the scheduler loop, on the API's loop."""
    pool = ArqRedis(connection_pool=redis.connection_pool)
    tasks = []
    for queue in NOTIFY_QUEUES:
        worker = arq.worker.Worker(
            functions=NOTIFY_FUNCTIONS,
            queue_name=queue,
            redis_pool=pool,
            handle_signals=False,
            ctx={"notifications": deps},
            poll_delay=0.2,
            max_tries=3,
        )
        tasks.append(asyncio.create_task(_run_embedded(worker), name=f"embedded-arq-{queue}"))
    tasks.append(asyncio.create_task(run_scheduler(deps, asyncio.Event()), name="embedded-notifications-scheduler"))
    return tasks


async def _run_embedded(worker: arq.worker.Worker) -> None:
    # fakeredis has no INFO command, and arq calls it only to log the server version at start-up.
    with mock.patch.object(arq.worker, "log_redis_info", _skip_redis_info):
        await worker.main()


async def start_in_process_worker(
    settings: Settings, identity: IdentityDeps, redis: Redis, payments: PaymentsDeps | None = None
) -> asyncio.Task[None]:
    pool = ArqRedis(connection_pool=redis.connection_pool)
    worker = arq.worker.Worker(
        functions=FUNCTIONS,
        cron_jobs=CRON_JOBS,
        redis_pool=pool,
        handle_signals=False,
        ctx={"clock": identity.clock, "payments": payments, "var_dir": settings.var_dir},
        poll_delay=0.2,
        max_tries=5,
    )

    return asyncio.create_task(_run_embedded(worker), name="embedded-arq-worker")
