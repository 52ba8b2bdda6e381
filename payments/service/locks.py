"""Serialising the writes that touch one bill's orders and refunds (payments.md §8, §10 step 4).

* PostgreSQL: every such transaction starts with `SELECT … FOR UPDATE` on the Bill row (`locked_bill`), so writers
  of one bill queue in the database, across processes. Lock order is always Bill, then order, then refund.
* SQLite has no row locks (`select_for_update()` is silently nothing): there `bill_transaction` also holds an
  asyncio lock per bill around the transaction, within the process.
* Redis (`click_gate`) is only a fast path that makes a second click wait for the first instead of meeting an
  error; its TTL can run out mid-request, so it decides nothing. The unique indexes are the last word.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import secrets
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.transactions import in_transaction

from api.kit.redis import Redis
from api.models.payment import Bill

log = logging.getLogger("zsb.payments")

_bill_locks: weakref.WeakValueDictionary[uuid.UUID, asyncio.Lock] = weakref.WeakValueDictionary()
# Bills whose lock the current task holds: a service called inside another's locked section joins it.
_held: contextvars.ContextVar[frozenset[uuid.UUID]] = contextvars.ContextVar("payments_bill_locks", default=frozenset())

CLICK_GATE_TTL_MS = 10_000
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def _connection() -> BaseDBAsyncClient:
    connection: BaseDBAsyncClient = connections.get("default")
    return connection


def row_locks_supported() -> bool:
    return bool(_connection().capabilities.support_for_update)


def in_open_transaction() -> bool:
    return isinstance(_connection(), TransactionalDBClient)


@asynccontextmanager
async def bill_guard(bill_id: uuid.UUID) -> AsyncIterator[None]:
    """The per-bill asyncio lock on SQLite; nothing on PostgreSQL (the row lock does it there).

    Never taken inside an open transaction: on SQLite a transaction already holds the one connection for the
    whole process, and waiting for a bill lock there while its holder waits for the connection would deadlock.
    """
    held = _held.get()
    if bill_id in held or row_locks_supported() or in_open_transaction():
        yield
        return
    lock = _bill_locks.get(bill_id)
    if lock is None:
        lock = asyncio.Lock()
        _bill_locks[bill_id] = lock
    async with lock:
        token = _held.set(held | {bill_id})
        try:
            yield
        finally:
            _held.reset(token)


@asynccontextmanager
async def bill_transaction(bill_id: uuid.UUID) -> AsyncIterator[BaseDBAsyncClient]:
    """One transaction over a bill's orders and refunds; call `locked_bill` first thing inside it."""
    async with bill_guard(bill_id), in_transaction() as db:
        yield db


async def locked_bill(bill_id: uuid.UUID, db: BaseDBAsyncClient) -> Bill:
    bill = await Bill.filter(id=bill_id).using_db(db).select_for_update().first()
    if bill is None:
        raise LookupError(f"bill {bill_id} vanished")
    return bill


@asynccontextmanager
async def click_gate(redis: Redis | None, bill_id: uuid.UUID, *, wait_s: float) -> AsyncIterator[bool]:
    """`SET pay:bill:{id} <token> NX PX 10000`, waiting up to `wait_s` for a concurrent click to finish; yields
    whether the gate was taken. Proceeds without it when Redis is absent, busy past the wait or failing."""
    if redis is None:
        yield False
        return
    key, token = f"pay:bill:{bill_id}", secrets.token_hex(8)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    taken = False
    try:
        while True:
            taken = bool(await redis.set(key, token, nx=True, px=CLICK_GATE_TTL_MS))
            if taken or loop.time() >= deadline:
                break
            await asyncio.sleep(0.05)
    except Exception:  # Redis trouble never stops a payment: the database decides anyway
        log.warning("payments: click gate unavailable for bill %s", bill_id, exc_info=True)
        taken = False
    try:
        yield taken
    finally:
        if taken:
            try:
                release: Any = redis.register_script(_RELEASE)
                await release(keys=[key], args=[token])
            except Exception:
                log.warning("payments: click gate of bill %s not released (expires by itself)", bill_id)
