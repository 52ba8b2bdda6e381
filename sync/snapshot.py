"""The read transaction of a pull page (sync-protocol.md decision 6, §9): one snapshot on both backends.
Writes serialize on the space through `sync.spaces.serialized`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction


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
