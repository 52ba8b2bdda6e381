"""Working-day maths (domain.md §10.1) over a set of dated exceptions to Monday–Friday.

Pure: the calendar rows are loaded by `api.workdays` and passed in, so that deadline rules can be tested
without a database and every caller agrees on one definition.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

# Far more than any legal time limit (the longest are 60 working days); a loop past it means a calendar
# with no working day at all, which is a data error rather than a deadline.
_MAX_SCAN_DAYS = 3660


@dataclass(frozen=True)
class WorkCalendar:
    """`overrides` maps a date to whether it is a working day; other dates follow Monday–Friday."""

    overrides: Mapping[date, bool] = field(default_factory=dict)

    def is_working_day(self, day: date) -> bool:
        known = self.overrides.get(day)
        return known if known is not None else day.weekday() < 5

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (counting starts on the next day); n = 0 is `start` itself."""
        if n < 0:
            raise ValueError("n must not be negative")
        day = start
        remaining = n
        for _ in range(_MAX_SCAN_DAYS):
            if remaining == 0:
                return day
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        raise ValueError("calendar has no working days in range")

    def add_natural_days(self, start: date, n: int) -> date:
        """n calendar days later, moved forward to the next working day when that day is not one."""
        return self.on_or_after(start + timedelta(days=n))

    def add_limit(self, start: date, n: int, unit: str) -> date:
        return self.add_natural_days(start, n) if unit == "NATURAL_DAY" else self.add_working_days(start, n)

    def on_or_after(self, day: date) -> date:
        for _ in range(_MAX_SCAN_DAYS):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise ValueError("calendar has no working days in range")

    def working_days_between(self, after: date, until: date) -> int:
        """Working days in (after, until]: how far a paused deadline moves on resume (domain.md §10.1)."""
        count = 0
        day = after + timedelta(days=1)
        while day <= until:
            if self.is_working_day(day):
                count += 1
            day += timedelta(days=1)
        return count
