"""What the engine's modules share about the delivery ledger: which rows are still open, set-based transitions of
claimed rows, attempt rows, request settlement and stat bumps, all in the caller's transaction (§C13: counted only
when a compare-and-set changed a row)."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from api.models.notifications import Delivery, NoticeStatus, NotificationRequest, RequestStatus
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


async def settle_requests(
    settings: NotificationsSettings, request_ids: Collection[uuid.UUID], db: BaseDBAsyncClient
) -> int:
    """Planned requests whose deliveries are all final become done."""
    if not request_ids:
        return 0
    still_open = set(
        await Delivery.filter(open_deliveries(settings), request_id__in=list(request_ids))
        .using_db(db)
        .values_list("request_id", flat=True)
    )
    finished = [r for r in request_ids if r not in still_open]
    if not finished:
        return 0
    done: int = (
        await NotificationRequest.filter(id__in=finished, status=RequestStatus.PLANNED)
        .using_db(db)
        .update(status=RequestStatus.DONE)
    )
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


# Columns a claimed delivery's transition may set, with their PostgreSQL types (the unnest arrays are typed). Only
# these names ever reach the SQL text; every value is a bound parameter.
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


def _postgres(db: BaseDBAsyncClient) -> bool:
    return db.capabilities.dialect == "postgres"


def _db_value(column: str, value: Any) -> Any:
    return Delivery._meta.fields_map[column].to_db_value(value, Delivery)


def _transition_sql(postgres: bool, columns: Sequence[str], rows: int) -> str:
    if postgres:
        types = ["uuid", *(_DELIVERY_COLUMNS[c] for c in columns)]
        arrays = ", ".join(f"${n}::{t}[]" for n, t in enumerate(types, 1))
        return (
            f"UPDATE delivery AS d SET {', '.join(f'{c} = v.{c}' for c in columns)} "  # noqa: S608
            f"FROM unnest({arrays}) AS v(id, {', '.join(columns)}) "
            f"WHERE d.id = v.id AND d.status = 'sending' AND d.last_error = ${len(types) + 1} RETURNING d.id"
        )
    row = f"({', '.join('?' * (len(columns) + 1))})"
    return (
        f"UPDATE delivery SET {', '.join(f'{c} = v.column{n}' for n, c in enumerate(columns, 2))} "  # noqa: S608
        f"FROM (VALUES {', '.join([row] * rows)}) AS v "
        "WHERE delivery.id = v.column1 AND delivery.status = 'sending' AND delivery.last_error = ? RETURNING id"
    )


async def transition_claimed(
    db: BaseDBAsyncClient, claim: str, changes: Sequence[tuple[uuid.UUID, Mapping[str, Any]]]
) -> set[uuid.UUID]:
    """Compare-and-set of claimed deliveries, set-based: one `UPDATE … RETURNING id` per shape of change (the same
    columns), values per row, each row guarded by status `sending` and the claim token `claim` (every way out of
    `sending` overwrites it, so a row re-claimed by another job after a lease sweep is left alone). Returns the ids
    it changed: only those count in the stats (§C13)."""
    shapes: dict[tuple[str, ...], list[tuple[uuid.UUID, Mapping[str, Any]]]] = defaultdict(list)
    for delivery_id, fields in changes:
        unknown = set(fields) - _DELIVERY_COLUMNS.keys()
        if unknown:
            raise ValueError(f"not a transition column: {sorted(unknown)}")
        shapes[tuple(sorted(fields))].append((delivery_id, fields))
    postgres = _postgres(db)
    changed: set[uuid.UUID] = set()
    for columns, items in shapes.items():
        for start in range(0, len(items), _ROWS_PER_STATEMENT):
            part = items[start : start + _ROWS_PER_STATEMENT]
            values = [[str(i) for i, _ in part], *([_db_value(c, f[c]) for _, f in part] for c in columns)]
            params = values if postgres else [v for row in zip(*values, strict=True) for v in row]
            found = await db.execute_query_dict(_transition_sql(postgres, columns, len(part)), [*params, claim])
            changed.update(uuid.UUID(str(r["id"])) for r in found)
    return changed


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
