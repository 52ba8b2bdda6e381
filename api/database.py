"""Tortoise configuration and migrations: one app, "models", with committed migrations in api/migrations."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

import asyncpg
from tortoise import Model, Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate as run_migrations


class PooledConnection(asyncpg.Connection):  # type: ignore[misc]
    """A pooled PostgreSQL connection returned to the pool without a reset statement.

    asyncpg resets every released connection with `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`,
    one more round trip after every statement tortoise runs outside a transaction (half of all round trips on
    a read path). Nothing here leaves session state behind: no session-level SET, advisory lock, cursor or
    LISTEN is ever used, and an open transaction is still rolled back on release (asyncpg does that before
    the reset statement, whatever the query)."""

    def get_reset_query(self) -> str:
        return ""


def _connection(database_url: str) -> str | dict[str, Any]:
    config: dict[str, Any] = expand_db_url(database_url)
    if config["engine"] != "tortoise.backends.asyncpg":
        return database_url
    config["credentials"]["connection_class"] = PooledConnection
    return config


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(database_url)},
        "apps": {
            "models": {
                "models": ["api.models"],
                "default_connection": "default",
                "migrations": "api.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def migrate(database_url: str) -> None:
    config = tortoise_config(database_url)
    try:
        await run_migrations(config=config)
    finally:
        await Tortoise.close_connections()


async def connect(database_url: str, *, process_wide: bool = True) -> None:
    """`process_wide`: visible to every task of the process. uvicorn runs the lifespan and each request in
    different tasks, and tortoise 1.x otherwise scopes a connection to the task (context) that made it; only one
    process-wide database exists, so a second one (a test's own database) passes False."""
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=process_wide)


async def disconnect() -> None:
    await Tortoise.close_connections()


# For `python -m tortoise -c api.database.MIGRATIONS_CONFIG makemigrations` (the Makefile's `migrations`).
MIGRATIONS_CONFIG = tortoise_config("sqlite://:memory:")


class Statement:
    """One hand-written SELECT of a hot read path, run on either dialect.

    Tortoise builds every query anew through pypika and converts every value through its fields; on the personal
    page that was half the CPU of a request, more than the round trips themselves. A `Statement` keeps its text: it
    is written once with PostgreSQL's numbered parameters (`$1`, usable more than once), which SQLite reads as
    `?1`. Each returned column named in `fields` goes through that model field's `to_python_value`, so rows hold
    what `.values()` would have given (UUIDs, dates and aware datetimes from SQLite's text, enums from their
    values). Only constants of our own code are ever formatted into the text; every outside value is a parameter.
    """

    def __init__(self, sql: str, fields: Mapping[str, tuple[type[Model], str]]) -> None:
        self.postgres = sql
        self.sqlite = _NUMBERED.sub(r"?\1", sql)
        self._decoders = [
            (column, model._meta.fields_map[name].to_python_value) for column, (model, name) in fields.items()
        ]

    async def rows(self, *params: object) -> list[dict[str, Any]]:
        db = connections.get("default")
        if db.capabilities.dialect == "postgres":
            found: list[dict[str, Any]] = await db.execute_query_dict(self.postgres, list(params))
        else:
            found = await db.execute_query_dict(self.sqlite, [_sqlite_value(value) for value in params])
        for row in found:
            for column, decode in self._decoders:
                row[column] = decode(row[column])
        return found


_NUMBERED = re.compile(r"\$(\d+)")


def _sqlite_value(value: object) -> object:
    # tortoise stores UUIDs as text on SQLite (and registers the adapters of dates and datetimes itself)
    return str(value) if isinstance(value, uuid.UUID) else value


def enum_list(values: Iterable[StrEnum]) -> str:
    """A SQL list of enum values for a `Statement`'s text: our own constants, checked to be plain words."""
    words = sorted(value.value for value in values)
    if not all(_WORD.fullmatch(word) for word in words):
        raise ValueError(f"not plain words: {words}")
    return ", ".join(f"'{word}'" for word in words)


_WORD = re.compile(r"[A-Za-z0-9_]+")
