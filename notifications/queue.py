"""Enqueueing arq jobs on the notifications queues. Jobs carry ids only; business dedup never relies on arq
(§C5), so a job id is only passed to avoid queueing the same periodic work twice while it waits."""

from __future__ import annotations

from arq.connections import ArqRedis

from notifications.deps import NotificationsDeps


async def enqueue(deps: NotificationsDeps, function: str, queue: str, *args: object, job_id: str | None = None) -> None:
    pool = ArqRedis(connection_pool=deps.redis.connection_pool)
    await pool.enqueue_job(function, *args, _queue_name=queue, _job_id=job_id)
