"""Loading the yearly holiday notices into `WorkingCalendar`, and reading a calendar window back."""

from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from api.kit.workdays import WorkCalendar
from api.models import DayKind, WorkingCalendar

# Wide enough for the longest legal limit plus pauses, small enough to stay one short query.
_WINDOW_BEFORE = timedelta(days=400)
_WINDOW_AFTER = timedelta(days=800)


@dataclass(frozen=True)
class YearFile:
    year: int
    source: str
    holidays: list[tuple[date, str]]
    adjusted_workdays: list[tuple[date, str]]


def shipped_years() -> list[int]:
    names = [p.name for p in resources.files("api.workdays.data").iterdir() if p.name.endswith(".json")]
    return sorted(int(name.removesuffix(".json")) for name in names)


def read_year(year: int) -> YearFile:
    raw: dict[str, Any] = json.loads(resources.files("api.workdays.data").joinpath(f"{year}.json").read_text("utf-8"))
    return parse_year(raw)


def parse_year(raw: dict[str, Any]) -> YearFile:
    """One year file: `{year, source: NOTICE|PROVISIONAL, holidays: [{name, from, to}], adjusted_workdays}`."""
    year = int(raw["year"])
    holidays = [(date.fromisoformat(d), h["name"]) for h in raw["holidays"] for d in _days(h["from"], h["to"])]
    adjusted = [(date.fromisoformat(w["date"]), w["name"]) for w in raw.get("adjusted_workdays", [])]
    return YearFile(year=year, source=raw["source"], holidays=holidays, adjusted_workdays=adjusted)


def _days(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


async def load_year(year: int, db: BaseDBAsyncClient | None = None, data: YearFile | None = None) -> int:
    """Replace the national rows of one year with its file (idempotent); returns the row count.

    `data` defaults to the shipped file; passing one lets an operator load a notice published after the release.
    """
    data = data or read_year(year)
    rows = [
        WorkingCalendar(date=d, is_working_day=False, kind=DayKind.HOLIDAY, name=name, source=data.source)
        for d, name in data.holidays
    ] + [
        WorkingCalendar(date=d, is_working_day=True, kind=DayKind.ADJUSTED_WORKDAY, name=name, source=data.source)
        for d, name in data.adjusted_workdays
    ]
    first, last = date(year, 1, 1), date(year, 12, 31)
    # One transaction, so that no reader ever sees the year half replaced (every day a plain weekday).
    async with in_transaction() if db is None else nullcontext(db) as conn:
        await WorkingCalendar.filter(region_code="", date__gte=first, date__lte=last).using_db(conn).delete()
        await WorkingCalendar.bulk_create(rows, using_db=conn)
    return len(rows)


async def load_shipped(db: BaseDBAsyncClient | None = None) -> int:
    return sum([await load_year(year, db) for year in shipped_years()])


async def calendar_for(around: date, region_code: str = "", db: BaseDBAsyncClient | None = None) -> WorkCalendar:
    """The calendar for a window around `around`; a regional row overrides the national one."""
    regions = ["", region_code] if region_code else [""]
    rows = (
        await WorkingCalendar.filter(
            date__gte=around - _WINDOW_BEFORE, date__lte=around + _WINDOW_AFTER, region_code__in=regions
        )
        .using_db(db)
        .values_list("date", "region_code", "is_working_day")
    )
    national = {d: working for d, region, working in rows if region == ""}
    regional = {d: working for d, region, working in rows if region != ""}
    return WorkCalendar({**national, **regional})


async def sync_shipped(db: BaseDBAsyncClient | None = None) -> list[int]:
    """Load every shipped year whose rows differ from its file (a new notice replaces a PROVISIONAL year).

    Run by `zsb migrate`, so production gets the calendar with its schema; returns the years (re)loaded.
    """
    return await sync_years([read_year(year) for year in shipped_years()], db)


async def sync_years(files: list[YearFile], db: BaseDBAsyncClient | None = None) -> list[int]:
    """(Re)load each year whose national rows differ from its file; returns the years (re)loaded."""
    loaded: list[int] = []
    for data in files:
        year = data.year
        wanted = {(d, False, data.source) for d, _ in data.holidays} | {
            (d, True, data.source) for d, _ in data.adjusted_workdays
        }
        have = set(
            await WorkingCalendar.filter(region_code="", date__gte=date(year, 1, 1), date__lte=date(year, 12, 31))
            .using_db(db)
            .values_list("date", "is_working_day", "source")
        )
        if have != wanted:
            await load_year(year, db, data)
            loaded.append(year)
    return loaded
