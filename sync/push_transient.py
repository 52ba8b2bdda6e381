"""Which database failures are temporary (sync-protocol.md §8.2): the database unavailable, a deadlock, a lock or
statement timeout, SQLite's "database is locked". These stop the batch with SERVER_BUSY and keep LMID, so the
retry applies the mutation; anything else is a bug and is recorded as INTERNAL_ERROR instead."""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg.exceptions as pg
from tortoise.exceptions import DBConnectionError, OperationalError, TransactionManagementError

_PG_TRANSIENT = (
    pg.PostgresConnectionError,
    pg.DeadlockDetectedError,
    pg.LockNotAvailableError,
    pg.SerializationError,
    pg.QueryCanceledError,
    pg.TooManyConnectionsError,
    pg.InterfaceError,
)
_TRANSIENT_TYPES = (DBConnectionError, ConnectionError, TimeoutError, asyncio.TimeoutError, *_PG_TRANSIENT)
# Words of the driver messages for the same failures once Tortoise has wrapped them in OperationalError.
_TRANSIENT_WORDS = (
    "database is locked",
    "database table is locked",
    "deadlock",
    "lock timeout",
    "lock_timeout",
    "could not obtain lock",
    "could not serialize",
    "canceling statement",
    "connection",
    "too many clients",
    "shutting down",
    "disk i/o error",
)


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def is_transient(exc: BaseException) -> bool:
    for cause in _causes(exc):
        if isinstance(cause, _TRANSIENT_TYPES):
            return True
        if isinstance(cause, (OperationalError, TransactionManagementError, sqlite3.OperationalError)):
            text = str(cause).lower()
            if any(word in text for word in _TRANSIENT_WORDS):
                return True
    return False
