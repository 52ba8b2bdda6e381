"""Tortoise configuration and migrations: one app, "models", with committed migrations in api/migrations."""

from __future__ import annotations

from typing import Any

import asyncpg
from tortoise import Tortoise
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
