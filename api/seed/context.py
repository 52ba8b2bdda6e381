"""What every seed part shares: collaborators, the seed moment, deterministic ids and random streams."""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from api.kit.clock import Clock, shanghai_date
from api.kit.pii import PiiCipher

SEED = 20261122
# Fixed namespace: the same row gets the same UUID in every demo database, so later seed parts, docs and
# tests can refer to "resident 3" or "the 市场监管 department" without a lookup.
_NAMESPACE = uuid.UUID("5eed0000-2026-4122-8000-00000000d3e0")


def seed_id(kind: str, key: object) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{kind}:{key}")


def seed_random(part: str) -> random.Random:
    """One stream per part, so that adding or changing a part never shifts the values of another."""
    return random.Random(f"{SEED}:{part}")  # noqa: S311 - demo data, not secrets


def add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February in a non-leap target year
        return moment.replace(year=moment.year + years, day=28)


@dataclass(frozen=True)
class SeedContext:
    pii: PiiCipher
    db: BaseDBAsyncClient  # the seed transaction; every write joins it (house rule 2)
    now: datetime  # aware, UTC
    today: date  # Asia/Shanghai calendar date of `now`

    @classmethod
    def create(cls, *, pii: PiiCipher, clock: Clock, db: BaseDBAsyncClient) -> SeedContext:
        now = clock.now()
        if now.tzinfo is None:
            raise ValueError("the seed clock must return aware datetimes")
        return cls(pii=pii, db=db, now=now.astimezone(UTC), today=shanghai_date(now))


@dataclass(frozen=True)
class SeedPart:
    name: str
    is_loaded: Callable[[BaseDBAsyncClient], Awaitable[bool]]  # its marker row exists
    load: Callable[[SeedContext], Awaitable[None]]
