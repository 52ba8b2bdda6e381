"""Spaces (sync-protocol.md §1, decision 1) and their write serialization (decision 6).

Every write to a space's sync state runs as `async with serialized(space_id) as space:`. It holds a striped
per-space `asyncio.Lock` (one process, the embedded SQLite backend) across a transaction that locks the space row
before reading `sync_space.version`: PostgreSQL with `SELECT … FOR UPDATE`, SQLite with a no-op UPDATE of the row
first, which takes the database write lock (what `BEGIN IMMEDIATE` would do). Version order is then commit order
(P2), in both backends.

Never enter it inside another open transaction: on SQLite that transaction already holds the one connection's
lock, which a holder of the space lock may be waiting for.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from api.identity.tokens import AccessClaims
from api.models.sync import SyncSpace

_STRIPES = 256
LOCK_TIMEOUT_MS = 5000
# Per event loop: an asyncio.Lock is bound to the loop it first waited on, and a process may run several loops over
# its life (tests, a worker started apart from the API).
_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[asyncio.Lock]] = weakref.WeakKeyDictionary()
_known: set[str] = set()


def space_of(claims: AccessClaims) -> str:
    """The caller's space (decision 1): the enterprise acted for, else the person. The space always comes from the
    authenticated identity, never from client input."""
    if claims.acting_as_enterprise_id is not None:
        return f"E:{claims.acting_as_enterprise_id}"
    return f"P:{claims.subject}"


def lock_for(space_id: str) -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    locks = _LOCKS.get(loop)
    if locks is None:
        locks = _LOCKS[loop] = [asyncio.Lock() for _ in range(_STRIPES)]
    return locks[zlib.crc32(space_id.encode()) % _STRIPES]


async def ensure_space(space_id: str) -> SyncSpace:
    """The space row, created on first access (idempotent insert) with version 0 and a fresh epoch."""
    found = await SyncSpace.get_or_none(space_id=space_id)
    if found is not None:
        return found
    try:
        async with in_transaction():
            return await SyncSpace.create(space_id=space_id, epoch=uuid.uuid4())
    except IntegrityError:
        # A concurrent first access inserted it: theirs is the space.
        return await SyncSpace.get(space_id=space_id)


@asynccontextmanager
async def serialized(space_id: str) -> AsyncIterator[SyncSpace]:
    """A write transaction serialized on the space, yielding its locked row. The caller sets the new version."""
    if space_id not in _known:
        await ensure_space(space_id)
        _known.add(space_id)  # space rows are never deleted: one insert check per process is enough
    async with lock_for(space_id), in_transaction() as connection:
        if connection.capabilities.dialect == "postgres":
            # A writer stuck behind another process's lock gives up and the push stops with SERVER_BUSY (§8.2).
            await connection.execute_script(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'")
        else:
            # A no-op write first: SQLite then holds the database write lock before the version is read.
            await SyncSpace.filter(space_id=space_id).update(version=F("version"))
        space = await SyncSpace.select_for_update().get_or_none(space_id=space_id)
        if space is None:  # pragma: no cover - removed behind this process's back (a wiped database)
            space = await SyncSpace.create(space_id=space_id, epoch=uuid.uuid4())
        yield space
