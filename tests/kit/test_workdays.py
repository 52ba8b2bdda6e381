"""Deadline maths on the real 2026 calendar (中秋 + 国庆 with 调休, 春节), pauses, regional rows, yearly loading."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from api.applications import pauses
from api.kit.clock import SHANGHAI
from api.kit.workdays import WorkCalendar
from api.models import Application, DayKind, WorkingCalendar
from api.workdays import store
from tests.support.client import LiveServer


def _national(*years: int) -> WorkCalendar:
    overrides: dict[date, bool] = {}
    for year in years:
        data = store.read_year(year)
        overrides.update({d: False for d, _ in data.holidays})
        overrides.update({d: True for d, _ in data.adjusted_workdays})
    return WorkCalendar(overrides)


CAL = _national(2025, 2026, 2027)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """A moment in Asia/Shanghai, as the aware UTC datetime the services store."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def _case(**columns: Any) -> Application:
    # Never saved: pause/resume only read the clock columns.
    return Application(id=uuid.uuid4(), **{"paused_minutes": 0, **columns})


class TestIsWorkingDay:
    def test_holidays_and_adjusted_workdays_of_2026(self) -> None:
        # given the 2026 notice: 中秋 09-25..27, 国庆 10-01..07, 调休 Sunday 09-20 and Saturday 10-10
        # then
        assert CAL.is_working_day(date(2026, 9, 20)) is True  # Sunday, 调休上班
        assert CAL.is_working_day(date(2026, 9, 19)) is False  # plain Saturday
        assert CAL.is_working_day(date(2026, 9, 25)) is False  # Friday, 中秋节
        assert CAL.is_working_day(date(2026, 10, 1)) is False  # Thursday, 国庆节
        assert CAL.is_working_day(date(2026, 10, 7)) is False  # Wednesday, 国庆节
        assert CAL.is_working_day(date(2026, 10, 8)) is True
        assert CAL.is_working_day(date(2026, 10, 10)) is True  # Saturday, 调休上班
        assert CAL.is_working_day(date(2026, 10, 11)) is False
        assert CAL.is_working_day(date(2026, 2, 14)) is True  # Saturday, 春节调休上班
        assert CAL.is_working_day(date(2026, 2, 23)) is False  # Monday, 春节
        assert CAL.is_working_day(date(2026, 2, 28)) is True  # Saturday, 春节调休上班

    def test_a_date_without_a_row_follows_monday_to_friday(self) -> None:
        # given an empty calendar
        cal = WorkCalendar()
        # then
        assert [cal.is_working_day(date(2030, 1, d)) for d in range(7, 14)] == [True] * 5 + [False] * 2


class TestAddWorkingDays:
    def test_counts_the_adjusted_sunday_before_the_holiday(self) -> None:
        # given a case accepted on Friday 2026-09-18, 5 working days (Sunday 09-20 is a working day)
        # when / then: 20, 21, 22, 23, 24
        assert CAL.add_working_days(date(2026, 9, 18), 5) == date(2026, 9, 24)

    def test_skips_mid_autumn_and_national_day(self) -> None:
        # given a case accepted on Thursday 2026-09-24
        # when / then: 28, 29, 30, then 10-08, 10-09; the 6th is Saturday 10-10 (调休), the 7th Monday 10-12
        assert CAL.add_working_days(date(2026, 9, 24), 5) == date(2026, 10, 9)
        assert CAL.add_working_days(date(2026, 9, 24), 6) == date(2026, 10, 10)
        assert CAL.add_working_days(date(2026, 9, 24), 7) == date(2026, 10, 12)

    def test_spring_festival_with_both_adjusted_saturdays(self) -> None:
        # given a case accepted on Thursday 2026-02-12: 13 (Fri), 14 (Sat, 调休), then 24 after 春节
        # then
        assert CAL.add_working_days(date(2026, 2, 12), 3) == date(2026, 2, 24)
        assert CAL.add_working_days(date(2026, 2, 12), 7) == date(2026, 2, 28)  # 24, 25, 26, 27, then Sat 28

    def test_zero_is_the_start_day_even_on_a_holiday(self) -> None:
        # 即办件: the promise is the acceptance day itself
        assert CAL.add_working_days(date(2026, 10, 3), 0) == date(2026, 10, 3)

    def test_counting_starts_the_day_after_a_holiday_start(self) -> None:
        # given a case accepted during the holiday (a 24-hour self-service terminal), 1 working day
        assert CAL.add_working_days(date(2026, 10, 2), 1) == date(2026, 10, 8)

    def test_a_negative_count_is_refused(self) -> None:
        with pytest.raises(ValueError, match="negative"):
            CAL.add_working_days(date(2026, 10, 8), -1)

    def test_a_calendar_without_working_days_is_a_data_error(self) -> None:
        # given every day of 11 years marked as a holiday
        start = date(2040, 1, 1)
        cal = WorkCalendar({start + timedelta(days=i): False for i in range(4000)})
        # then
        with pytest.raises(ValueError, match="no working days"):
            cal.add_working_days(start, 1)


class TestAddLimit:
    def test_natural_days_landing_on_national_day_move_to_the_next_working_day(self) -> None:
        # given 7 natural days from 2026-09-24: 10-01 is 国庆节, the next working day is 10-08
        assert CAL.add_limit(date(2026, 9, 24), 7, "NATURAL_DAY") == date(2026, 10, 8)

    def test_natural_days_landing_on_an_adjusted_saturday_stay_there(self) -> None:
        # given 7 natural days from 2026-10-03: Saturday 10-10 is a 调休 working day
        assert CAL.add_limit(date(2026, 10, 3), 7, "NATURAL_DAY") == date(2026, 10, 10)

    def test_natural_days_landing_on_a_working_day(self) -> None:
        assert CAL.add_limit(date(2026, 9, 1), 15, "NATURAL_DAY") == date(2026, 9, 16)

    def test_working_days_are_the_default_unit(self) -> None:
        assert CAL.add_limit(date(2026, 9, 24), 5, "WORKING_DAY") == date(2026, 10, 9)


class TestWorkingDaysBetween:
    def test_counts_the_half_open_interval_across_the_holidays(self) -> None:
        # (09-24, 10-09]: 28, 29, 30, 10-08, 10-09
        assert CAL.working_days_between(date(2026, 9, 24), date(2026, 10, 9)) == 5
        # (02-13, 02-28]: 14 (调休), 24, 25, 26, 27, 28 (调休)
        assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 28)) == 6

    def test_same_day_and_wholly_inside_a_holiday_count_zero(self) -> None:
        assert CAL.working_days_between(date(2026, 10, 8), date(2026, 10, 8)) == 0
        assert CAL.working_days_between(date(2026, 10, 1), date(2026, 10, 7)) == 0


class TestPause:
    def test_an_accepted_case_keeps_the_moment(self) -> None:
        # given an accepted, running case
        now = _at(date(2026, 9, 24), 10)
        app = _case(accept_time=_at(date(2026, 9, 21), 9), promise_date=date(2026, 10, 12))
        # when / then
        assert pauses.pause(app, now) == {"paused_since": now}

    def test_before_acceptance_no_clock_runs(self) -> None:
        # given a 补正 before 受理
        app = _case(accept_time=None)
        # then nothing is paused
        assert pauses.pause(app, _at(date(2026, 9, 24), 10)) == {}

    def test_a_paused_case_keeps_its_first_pause(self) -> None:
        # given a case paused since 09-24, paused again (special procedure after a supplement)
        app = _case(accept_time=_at(date(2026, 9, 21), 9), paused_since=_at(date(2026, 9, 24), 10))
        # then
        assert pauses.pause(app, _at(date(2026, 9, 28), 10)) == {}


class TestResume:
    def test_a_pause_spanning_the_holidays_moves_every_deadline_by_its_working_days(self) -> None:
        # given accepted Monday 09-21 with 10 working days: 22, 23, 24, 28, 29, 30, 10-08, 09, 10 (Sat), 12
        accepted = date(2026, 9, 21)
        promise = CAL.add_working_days(accepted, 10)
        assert promise == date(2026, 10, 12)
        app = _case(
            accept_time=_at(accepted, 9),
            promise_date=promise,
            legal_date=date(2026, 10, 20),
            step_due_date=date(2026, 9, 25),
            paused_since=_at(date(2026, 9, 24), 10),
            paused_minutes=30,
        )
        # when resumed on 10-09 15:00: (09-24, 10-09] holds 28, 29, 30, 10-08, 10-09 = 5 working days
        changes = pauses.resume(app, _at(date(2026, 10, 9), 15), CAL)
        # then every deadline moves 5 working days; 15 days 5 hours were paused
        assert changes == {
            "paused_since": None,
            "paused_minutes": 30 + 15 * 1440 + 5 * 60,
            "resume_status": None,
            "promise_date": date(2026, 10, 19),  # 13, 14, 15, 16, 19
            "legal_date": date(2026, 10, 27),  # 21, 22, 23, 26, 27
            "step_due_date": date(2026, 10, 9),  # from 09-25: 28, 29, 30, 10-08, 10-09
        }

    def test_a_pause_inside_the_holiday_moves_nothing(self) -> None:
        # given paused 10-02, resumed 10-06: no working day in (10-02, 10-06]
        app = _case(
            accept_time=_at(date(2026, 9, 28), 9),
            promise_date=date(2026, 10, 12),
            paused_since=_at(date(2026, 10, 2), 9),
        )
        # when
        changes = pauses.resume(app, _at(date(2026, 10, 6), 9), CAL)
        # then only the statistics change
        assert changes == {"paused_since": None, "paused_minutes": 4 * 1440, "resume_status": None}

    def test_the_shanghai_day_decides_not_the_utc_day(self) -> None:
        # given paused on Wednesday 09-30 at 23:30 Shanghai (15:30 UTC), resumed on 10-08 at 07:30 Shanghai
        # (still 10-07 in UTC, a holiday): the one working day in (09-30, 10-08] is 10-08
        app = _case(
            accept_time=_at(date(2026, 9, 28), 9),
            promise_date=date(2026, 10, 9),
            paused_since=_at(date(2026, 9, 30), 23, 30),
        )
        # when
        changes = pauses.resume(app, _at(date(2026, 10, 8), 7, 30), CAL)
        # then
        assert changes["promise_date"] == date(2026, 10, 10)

    def test_resuming_an_unpaused_case_only_clears_the_resume_status(self) -> None:
        app = _case(accept_time=_at(date(2026, 9, 28), 9), promise_date=date(2026, 10, 12))
        assert pauses.resume(app, _at(date(2026, 10, 9), 9), CAL) == {"resume_status": None}


def _year(year: int, source: str, holidays: list[tuple[str, str]], workdays: list[str]) -> store.YearFile:
    return store.parse_year(
        {
            "year": year,
            "source": source,
            "holidays": [{"name": "测试假日", "from": a, "to": b} for a, b in holidays],
            "adjusted_workdays": [{"date": d, "name": "测试调休"} for d in workdays],
        }
    )


async def _rows(year: int) -> list[tuple[date, bool, str, str]]:
    return sorted(
        await WorkingCalendar.filter(
            region_code="", date__gte=date(year, 1, 1), date__lte=date(year, 12, 31)
        ).values_list("date", "is_working_day", "source", "kind")
    )


class TestSyncYears:
    """A test-owned far year (2098), so that no deadline of another test moves."""

    async def test_idempotent_and_a_notice_replaces_the_provisional_year(self, live: LiveServer) -> None:
        await WorkingCalendar.filter(region_code="", date__gte=date(2098, 1, 1), date__lte=date(2098, 12, 31)).delete()
        try:
            # given a provisional year: 10-01..10-07 off, Sunday 09-28 working
            provisional = _year(2098, "PROVISIONAL", [("2098-10-01", "2098-10-07")], ["2098-09-28"])
            # when synced twice
            first = await store.sync_years([provisional])
            second = await store.sync_years([provisional])
            # then loaded once, unchanged by the second run
            assert (first, second) == ([2098], [])
            rows = await _rows(2098)
            assert len(rows) == 8
            assert rows[0] == (date(2098, 9, 28), True, "PROVISIONAL", DayKind.ADJUSTED_WORKDAY)
            # when the notice appears with other dates
            notice = _year(2098, "NOTICE", [("2098-10-01", "2098-10-08")], ["2098-10-11"])
            third = await store.sync_years([notice])
            # then the year is replaced: no provisional row remains, the notice's rows are there
            assert third == [2098]
            rows = await _rows(2098)
            assert {source for _, _, source, _ in rows} == {"NOTICE"}
            assert [(d, working) for d, working, _, _ in rows] == [
                *((date(2098, 10, d), False) for d in range(1, 9)),
                (date(2098, 10, 11), True),
            ]
            assert await store.sync_years([notice]) == []
            # and the calendar read back follows it
            cal = await store.calendar_for(date(2098, 9, 30))
            assert cal.add_working_days(date(2098, 9, 30), 1) == date(2098, 10, 9)
        finally:
            await WorkingCalendar.filter(
                region_code="", date__gte=date(2098, 1, 1), date__lte=date(2098, 12, 31)
            ).delete()

    async def test_the_shipped_years_are_in_sync_after_migrate(self, live: LiveServer) -> None:
        # given the conftest ran sync_shipped like `zsb migrate`
        # then another run has nothing to do, and 2026 holds the notice's 50 rows
        assert await store.sync_shipped() == []
        rows = await _rows(2026)
        assert len(rows) == sum(1 for _ in store.read_year(2026).holidays) + 6
        assert (date(2026, 10, 10), True, "NOTICE", DayKind.ADJUSTED_WORKDAY) in rows


class TestCalendarFor:
    async def test_a_regional_row_overrides_the_national_one(self, live: LiveServer) -> None:
        # given national 2097 rows (Tue 10-01..Thu 10-03 off) and a test-owned region that works 10-02 and rests
        # Friday 10-04 (a 民族自治地方 holiday)
        region = f"99{uuid.uuid4().int % 10**10:010d}"
        await store.load_year(2097, data=_year(2097, "NOTICE", [("2097-10-01", "2097-10-03")], []))
        await WorkingCalendar.bulk_create(
            [
                WorkingCalendar(
                    date=date(2097, 10, 2),
                    region_code=region,
                    is_working_day=True,
                    kind=DayKind.WORKDAY,
                    source="NOTICE",
                ),
                WorkingCalendar(
                    date=date(2097, 10, 4),
                    region_code=region,
                    is_working_day=False,
                    kind=DayKind.HOLIDAY,
                    source="NOTICE",
                ),
            ]
        )
        try:
            # when
            national = await store.calendar_for(date(2097, 10, 1))
            regional = await store.calendar_for(date(2097, 10, 1), region)
            # then
            days = [date(2097, 10, d) for d in range(1, 8)]
            assert [national.is_working_day(d) for d in days] == [False, False, False, True, False, False, True]
            assert [regional.is_working_day(d) for d in days] == [False, True, False, False, False, False, True]
            assert national.add_working_days(date(2097, 9, 30), 1) == date(2097, 10, 4)
            assert regional.add_working_days(date(2097, 9, 30), 1) == date(2097, 10, 2)
            assert regional.add_working_days(date(2097, 9, 30), 2) == date(2097, 10, 7)
        finally:
            await WorkingCalendar.filter(date__gte=date(2097, 1, 1), date__lte=date(2097, 12, 31)).delete()
