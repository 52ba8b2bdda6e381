"""Running relays as arq jobs: one run per consumer at a time, and kicks that are never lost.

A relay runs from the cron every minute and from a kick enqueued after a commit that wrote outbox rows. Two runs
of one consumer at once would be safe (receipts) but wasteful, and for handlers outside the receipt transaction
they would call a channel twice; so a run takes a Redis lock per consumer. A kick that arrives while a run holds
the lock leaves an "again" mark, and the holder, when it releases, finds the mark and runs once more: events
committed after the holder read the outbox are never left waiting for the next cron.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import timedelta
from typing import Any

from arq.connections import ArqRedis

from api.kit.clock import Clock, SystemClock
from api.kit.redis import Redis
from api.outbox.relay import Handler, run_relay

LOCK_TTL = timedelta(minutes=10)  # longer than arq's job timeout: a crashed holder frees it by expiry

# KEYS: lock, again. ARGV: token, ttl ms. 1: acquired (and the pending mark consumed: this run reads after it).
_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('DEL', KEYS[2])
  return 1
end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
return 0
"""
# 2: a kick came during the run, the lock is kept for one more; 1: released; 0: the lock was not ours any more.
_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('DEL', KEYS[2]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 2
end
redis.call('DEL', KEYS[1])
return 1
"""

_DROP = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return 1"


def _keys(consumer: str) -> tuple[str, str]:
    return f"outbox:relay:{consumer}:lock", f"outbox:relay:{consumer}:again"


async def _eval(redis: Redis, script: str, keys: list[str], args: list[str | int]) -> int:
    pending: Any = redis.eval(script, len(keys), *keys, *(str(a) for a in args))
    return int(await pending)


async def exclusively(redis: Redis | None, consumer: str, run: Callable[[], Awaitable[int]]) -> int:
    """Run `run` unless another run of this consumer holds the lock (then mark it to run again); the total."""
    if redis is None:  # a direct call (tests, CLI): no queue to coordinate with
        return await run()
    lock, again = _keys(consumer)
    token = secrets.token_hex(16)
    ttl_ms = int(LOCK_TTL.total_seconds() * 1000)
    if not await _eval(redis, _ACQUIRE, [lock, again], [token, ttl_ms]):
        return 0
    total = 0
    while True:
        try:
            total += await run()
        except BaseException:
            await _eval(redis, _DROP, [lock], [token])  # the mark stays for the next run
            raise
        if await _eval(redis, _RELEASE, [lock, again], [token, ttl_ms]) != 2:
            return total


async def relay_job(
    ctx: dict[str, Any],
    consumer: str,
    topics: Sequence[str],
    handle: Handler,
    *,
    outside_transaction: Collection[str] = (),
) -> int:
    """The body of a relay's arq job: `ctx["clock"]` for the grace horizon, `ctx["redis"]` (arq's) for the lock."""
    clock: Clock = ctx.get("clock") or SystemClock()

    async def run() -> int:
        return await run_relay(consumer, topics, handle, now=clock.now(), outside_transaction=outside_transaction)

    return await exclusively(ctx.get("redis"), consumer, run)


async def kick(redis: Redis, relays: Sequence[tuple[str, str]]) -> None:
    """Ask the workers to run these relays (consumer, job name) now, after a commit that wrote outbox rows.

    The job id de-duplicates kicks while one is queued or running (the relay functions keep no result, so the id
    is free again once a run ends). The mark makes a run in progress go once more; with no run in progress the
    next run to take the lock consumes it."""
    pool = redis if isinstance(redis, ArqRedis) else ArqRedis(connection_pool=redis.connection_pool)
    ttl_ms = int(LOCK_TTL.total_seconds() * 1000)
    for consumer, job_name in relays:
        await pool.set(_keys(consumer)[1], b"1", px=ttl_ms)
        await pool.enqueue_job(job_name, _job_id=f"outbox-kick:{job_name}")
