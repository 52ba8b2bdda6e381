"""The transactions of the read side (sync-protocol.md decision 6): a pull page reads one snapshot, and writes
outside the push (quarantine acknowledgement, GC) serialize on the space like a push does.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from api.models.sync import SyncSpace


def is_postgres(connection: BaseDBAsyncClient) -> bool:
    return connection.capabilities.dialect == "postgres"


@asynccontextmanager
async def read_snapshot() -> AsyncIterator[BaseDBAsyncClient]:
    """Every query inside sees one snapshot, so draft rows, field rows and client acks agree (§9). PostgreSQL's
    default READ COMMITTED would take a new snapshot per statement; it must be set before the first query. On
    SQLite the transaction holds the process's only connection, so no write can interleave."""
    async with in_transaction() as connection:
        if is_postgres(connection):
            await connection.execute_script("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield connection


async def ensure_space(space_id: str) -> None:
    """The first access to a space creates its row (version 0, a fresh epoch); two first accesses race safely."""
    if not await SyncSpace.exists(space_id=space_id):
        # ON CONFLICT DO NOTHING: a concurrent first access wins harmlessly, even inside a transaction.
        await SyncSpace.bulk_create([SyncSpace(space_id=space_id, epoch=uuid.uuid4())], ignore_conflicts=True)


async def lock_space(space_id: str) -> SyncSpace:
    """Serializes the calling transaction with every other writer of the space, without changing its version:
    PostgreSQL locks the row; on SQLite the write statement takes the database write lock before any read."""
    await SyncSpace.filter(space_id=space_id).update(version=F("version"))
    return await SyncSpace.get(space_id=space_id)


async def bump_space(space_id: str) -> int:
    """As `lock_space`, and takes the next space version (the UPDATE comes first, so the read is serialized)."""
    await SyncSpace.filter(space_id=space_id).update(version=F("version") + 1)
    version: int = (await SyncSpace.get(space_id=space_id)).version
    return version
