"""The injectable clock: all business time comes from here, never from the process clock or TZ."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftableClock:
    """Real time plus an offset that tests move forward, so that expiries can be exercised over HTTP."""

    def __init__(self) -> None:
        self._offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> None:
        self._offset += delta


def shanghai_date(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def to_shanghai(moment: datetime) -> datetime:
    return moment.astimezone(SHANGHAI)


class SettableClock:
    """A clock tests set to any moment, forwards or backwards (quiet hours at 22:30 on a given day): follows
    `base` until set. Only notifications take it in the test server; identity keeps the session's clock."""

    def __init__(self, base: Clock) -> None:
        self._base = base
        self._moment: datetime | None = None

    def now(self) -> datetime:
        return self._moment if self._moment is not None else self._base.now()

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("an aware datetime")
        self._moment = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._moment = self.now() + delta

    def release(self) -> None:
        self._moment = None
