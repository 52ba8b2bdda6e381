"""Spaces (sync-protocol.md §1, decision 1) and their write serialization (decision 6).

Every write to a space's sync state runs as `async with serialized(space_id) as space:`. It holds a striped
per-space `asyncio.Lock` (one process, the embedded SQLite backend) across a transaction whose first statement is
an UPDATE of the space row: on SQLite that takes the database write lock before `sync_space.version` is read (what
`BEGIN IMMEDIATE` would do), on PostgreSQL it takes the row lock that the following `SELECT … FOR UPDATE` holds
until commit. Version order is then commit order (P2), in both backends.

Never enter it inside another open transaction: on SQLite that transaction already holds the one connection's
lock, which a holder of the space lock may be waiting for.
"""

from __future__ import annotations

import asyncio
import uuid
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from api.identity.tokens import AccessClaims
from api.models.sync import SyncSpace

_STRIPES = 256
_LOCKS = [asyncio.Lock() for _ in range(_STRIPES)]


def space_of(claims: AccessClaims) -> str:
    """The caller's space (decision 1): the enterprise acted for, else the person. The space always comes from the
    authenticated identity, never from client input."""
    if claims.acting_as_enterprise_id is not None:
        return f"E:{claims.acting_as_enterprise_id}"
    return f"P:{claims.subject}"


def lock_for(space_id: str) -> asyncio.Lock:
    return _LOCKS[zlib.crc32(space_id.encode()) % _STRIPES]


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
    await ensure_space(space_id)
    async with lock_for(space_id), in_transaction():
        # A no-op write first: it takes the write lock (SQLite) or the row lock (PostgreSQL) before the read.
        await SyncSpace.filter(space_id=space_id).update(version=F("version"))
        yield await SyncSpace.select_for_update().get(space_id=space_id)
