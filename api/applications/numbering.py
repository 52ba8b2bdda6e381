"""办件编号 = 实施编码 + yyyyMMdd (Asia/Shanghai) + 4-digit daily sequence (domain.md §3.2).

The sequence is one counter row per (实施编码, date), taken with a single atomic upsert in the submitting
transaction: concurrent submissions serialise on that row (PostgreSQL row lock, SQLite's single writer), so numbers
are unique and, since a rolled-back submission rolls its increment back too, consecutive.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from api.kit.clock import shanghai_date
from api.kit.errors import Conflict

log = logging.getLogger("zsb.applications")

MAX_DAILY = 9999

# `INSERT … ON CONFLICT … DO UPDATE … RETURNING` works on PostgreSQL and on SQLite ≥ 3.35 alike; the id column
# is filled by the database (serial / rowid alias).
_UPSERT = (
    "INSERT INTO daily_sequence (task_code, date, last_value) VALUES ({p1}, {p2}, 1) "
    "ON CONFLICT (task_code, date) DO UPDATE SET last_value = daily_sequence.last_value + 1 "
    "RETURNING last_value"
)


class SequenceExhausted(Conflict):
    code = "DAILY_SEQUENCE_EXHAUSTED"


async def next_value(task_code: str, day: date, db: BaseDBAsyncClient) -> int:
    if db.capabilities.dialect == "postgres":
        sql, params = _UPSERT.format(p1="$1", p2="$2"), [task_code, day]
    else:  # Tortoise stores SQLite dates as ISO text
        sql, params = _UPSERT.format(p1="?", p2="?"), [task_code, day.isoformat()]
    # execute_query_dict always fetches: asyncpg's execute_query drops the rows of an INSERT … RETURNING.
    rows = await db.execute_query_dict(sql, params)
    return int(rows[0]["last_value"])


def format_number(task_code: str, day: date, value: int) -> str:
    return f"{task_code}{day:%Y%m%d}{value:04d}"


async def allocate(task_code: str, now: datetime, db: BaseDBAsyncClient) -> str:
    """The next 办件编号 of `task_code` on the Asia/Shanghai date of `now`, inside the caller's transaction."""
    day = shanghai_date(now)
    value = await next_value(task_code, day, db)
    if value > MAX_DAILY:
        # The raising transaction rolls the increment back; operations learn of it from the error log.
        log.error("daily sequence exhausted", extra={"task_code": task_code, "date": day.isoformat()})
        raise SequenceExhausted(
            f"this service has received {MAX_DAILY} applications today, the most one day can number; "
            "please apply again tomorrow",
            code="DAILY_SEQUENCE_EXHAUSTED",
        )
    return format_number(task_code, day, value)
