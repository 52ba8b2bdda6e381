"""What the engine's modules share about the delivery ledger: which rows are still open, set-based transitions of
claimed rows, attempt rows, request settlement and stat bumps, all in the caller's transaction (§C13: counted only
when a compare-and-set changed a row)."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from api.models.notifications import NoticeStatus
from api.settings import NotificationsSettings
from notifications import stats

CLAIMABLE = (NoticeStatus.CREATED, NoticeStatus.DEFERRED, NoticeStatus.TEMPORARY_FAILURE)
SENT_LIKE = (NoticeStatus.SENT, NoticeStatus.DELIVERED)


def below_max_attempts(settings: NotificationsSettings) -> Q:
    """A temporary failure stays retryable until its kind's attempts are used up (then it is final)."""
    return Q(campaign_id__isnull=True, attempts__lt=settings.transactional_max_attempts) | Q(
        campaign_id__not_isnull=True, attempts__lt=settings.campaign_max_attempts
    )


def open_deliveries(settings: NotificationsSettings) -> Q:
    return Q(status__in=(NoticeStatus.CREATED, NoticeStatus.DEFERRED, NoticeStatus.SENDING)) | (
        Q(status=NoticeStatus.TEMPORARY_FAILURE) & below_max_attempts(settings)
    )


_SETTLE = (
    "UPDATE notification_request AS r SET status = 'done' WHERE {ids} AND r.status = 'planned' AND NOT EXISTS ("
    "SELECT 1 FROM delivery AS d WHERE d.request_id = r.id AND (d.status IN ('created', 'deferred', 'sending') OR "
    "(d.status = 'temporary_failure' AND d.attempts < CASE WHEN d.campaign_id IS NULL THEN {tx} ELSE {campaign} END)))"
    " RETURNING id"
)


async def settle_requests(
    settings: NotificationsSettings, request_ids: Collection[uuid.UUID], db: BaseDBAsyncClient
) -> int:
    """Planned requests whose deliveries are all final (`open_deliveries` in SQL) become done, in one statement."""
    ids = [str(r) for r in dict.fromkeys(request_ids)]
    limits = [settings.transactional_max_attempts, settings.campaign_max_attempts]
    if _postgres(db):
        sql = _SETTLE.format(ids="r.id = ANY($1::uuid[])", tx="$2::integer", campaign="$3::integer")
        return len(await db.execute_query_dict(sql, [ids, *limits])) if ids else 0
    done = 0
    for start in range(0, len(ids), _ROWS_PER_STATEMENT):
        part = ids[start : start + _ROWS_PER_STATEMENT]
        sql = _SETTLE.format(ids=f"r.id IN ({', '.join('?' * len(part))})", tx="?", campaign="?")
        done += len(await db.execute_query_dict(sql, [*part, *limits]))
    return done


class StatTally:
    """Stat increments gathered during one transaction and written at its end by one upsert."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, str]] = Counter()

    def add(self, scope: str, channel: str, metric: str, count: int = 1) -> None:
        if count:
            self._counts[(scope, channel, metric)] += count

    def extend(self, items: Iterable[tuple[str, str, str]]) -> None:
        for scope, channel, metric in items:
            self.add(scope, channel, metric)

    async def flush(self, db: BaseDBAsyncClient, at: datetime) -> None:
        await stats.bump_many(db, self._counts, at=at)
        self._counts.clear()


# Delivery columns a compare-and-set may read or write, with their PostgreSQL types (the unnest arrays are typed).
# Only these names ever reach the SQL text; every value is a bound parameter.
_DELIVERY_COLUMNS = {
    "status": "text",
    "suppress_reason": "text",
    "attempts": "integer",
    "next_attempt_at": "timestamptz",
    "lease_until": "timestamptz",
    "provider_message_id": "text",
    "last_error": "text",
    "sent_at": "timestamptz",
}
_ROWS_PER_STATEMENT = 400  # SQLite binds every value: a few thousand per statement at most

Change = tuple[uuid.UUID, Mapping[str, Any], Mapping[str, Any]]  # (delivery id, expected values, new values)


def _postgres(db: BaseDBAsyncClient) -> bool:
    return db.capabilities.dialect == "postgres"


def _db_value(value: Any) -> Any:
    """What tortoise binds for these columns: an enum's value, anything else as it is (datetimes included)."""
    return value.value if isinstance(value, Enum) else value


def _cas_sql(postgres: bool, guards: Sequence[str], columns: Sequence[str], rows: int, due: bool) -> str:
    """`UPDATE delivery … FROM <one row of values per delivery> WHERE <guards hold> RETURNING id`."""
    if postgres:
        names = ["id", *(f"g_{c}" for c in guards), *(f"s_{c}" for c in columns)]
        types = ["uuid", *(_DELIVERY_COLUMNS[c] for c in (*guards, *columns))]
        arrays = ", ".join(f"${n}::{t}[]" for n, t in enumerate(types, 1))
        where = " AND ".join(["d.id = v.id", *(f"d.{c} = v.g_{c}" for c in guards)])
        if due:
            where += f" AND d.next_attempt_at <= ${len(types) + 1}"
        return (
            f"UPDATE delivery AS d SET {', '.join(f'{c} = v.s_{c}' for c in columns)} "  # noqa: S608
            f"FROM unnest({arrays}) AS v({', '.join(names)}) WHERE {where} RETURNING d.id"
        )
    # SQLite names the columns of a VALUES table column1, column2, …: id, then the guards, then the new values.
    where = " AND ".join(["delivery.id = v.column1", *(f"delivery.{c} = v.column{n}" for n, c in enumerate(guards, 2))])
    if due:
        where += " AND delivery.next_attempt_at <= ?"
    first = len(guards) + 2
    row = f"({', '.join('?' * (1 + len(guards) + len(columns)))})"
    return (
        f"UPDATE delivery SET {', '.join(f'{c} = v.column{n}' for n, c in enumerate(columns, first))} "  # noqa: S608
        f"FROM (VALUES {', '.join([row] * rows)}) AS v WHERE {where} RETURNING id"
    )


async def compare_and_set(
    db: BaseDBAsyncClient, changes: Sequence[Change], *, due: datetime | None = None
) -> set[uuid.UUID]:
    """Per-row compare-and-set of deliveries, set-based: one `UPDATE … RETURNING id` per shape of change (the same
    guard and value columns), every row with its own expected and new values; with `due`, only rows whose
    `next_attempt_at` has come. Returns the ids it changed (only those count in the stats, §C13)."""
    shapes: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Change]] = defaultdict(list)
    for change in changes:
        _, expected, new = change
        unknown = (set(expected) | set(new)) - _DELIVERY_COLUMNS.keys()
        if unknown or any(v is None for v in expected.values()):
            raise ValueError(f"not a compare-and-set of delivery columns: {sorted(unknown) or dict(expected)}")
        shapes[(tuple(sorted(expected)), tuple(sorted(new)))].append(change)
    postgres = _postgres(db)
    changed: set[uuid.UUID] = set()
    for (guards, columns), items in shapes.items():
        for start in range(0, len(items), _ROWS_PER_STATEMENT):
            part = items[start : start + _ROWS_PER_STATEMENT]
            values = [
                [str(i) for i, _, _ in part],
                *([_db_value(e[c]) for _, e, _ in part] for c in guards),
                *([_db_value(n[c]) for _, _, n in part] for c in columns),
            ]
            params = values if postgres else [v for row in zip(*values, strict=True) for v in row]
            sql = _cas_sql(postgres, guards, columns, len(part), due is not None)
            found = await db.execute_query_dict(sql, [*params, due] if due is not None else params)
            changed.update(uuid.UUID(str(r["id"])) for r in found)
    return changed


async def transition_claimed(
    db: BaseDBAsyncClient, claim: str, changes: Sequence[tuple[uuid.UUID, Mapping[str, Any]]]
) -> set[uuid.UUID]:
    """Moves claimed deliveries on: each row guarded by status `sending` and the claim token `claim` in
    last_error (every way out of `sending` overwrites it, so a row re-claimed by another job after a lease sweep
    is left alone). Returns the ids it changed."""
    expected = {"status": NoticeStatus.SENDING, "last_error": claim}
    return await compare_and_set(db, [(i, expected, fields) for i, fields in changes])


@dataclass(frozen=True)
class AttemptRow:
    delivery_id: uuid.UUID
    attempt_no: int
    started_at: datetime
    finished_at: datetime
    http_status: int | None
    reason: str | None
    outcome: str
    latency_ms: int = 0
    late: bool = False


_ATTEMPT_COLUMNS = (
    ("delivery_id", "uuid"),
    ("attempt_no", "integer"),
    ("started_at", "timestamptz"),
    ("finished_at", "timestamptz"),
    ("http_status", "integer"),
    ("reason", "text"),
    ("outcome", "text"),
    ("latency_ms", "integer"),
    ("late", "boolean"),
)
_ATTEMPT_NAMES = ", ".join(c for c, _ in _ATTEMPT_COLUMNS)
_ATTEMPTS_PG = (
    f"INSERT INTO delivery_attempt ({_ATTEMPT_NAMES}) SELECT * FROM unnest("  # noqa: S608
    + ", ".join(f"${n}::{t}[]" for n, (_, t) in enumerate(_ATTEMPT_COLUMNS, 1))
    + ")"
)


def _attempt_values(row: AttemptRow) -> list[Any]:
    return [str(row.delivery_id), *(getattr(row, c) for c, _ in _ATTEMPT_COLUMNS[1:])]


async def insert_attempts(db: BaseDBAsyncClient, rows: Sequence[AttemptRow]) -> None:
    """The attempt rows of a wave in one INSERT (a few hundred rows per statement on SQLite)."""
    if not rows:
        return
    if _postgres(db):
        await db.execute_query_dict(_ATTEMPTS_PG, [list(c) for c in zip(*map(_attempt_values, rows), strict=True)])
        return
    one = f"({', '.join('?' * len(_ATTEMPT_COLUMNS))})"
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        part = rows[start : start + _ROWS_PER_STATEMENT]
        sql = f"INSERT INTO delivery_attempt ({_ATTEMPT_NAMES}) VALUES {', '.join([one] * len(part))}"  # noqa: S608
        await db.execute_query_dict(sql, [v for r in part for v in _attempt_values(r)])
