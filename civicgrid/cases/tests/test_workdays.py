"""The working-day calendar: official holidays and 调休, local overrides, deadline arithmetic."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from civicgrid.cases import workdays
from civicgrid.cases.models import CalendarDay

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def at(y, m, d, hh=10, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH)


def test_weekend_is_off_and_weekday_on():
    assert workdays.is_workday(dt.date(2026, 6, 12))  # Friday
    assert not workdays.is_workday(dt.date(2026, 6, 13))  # Saturday
    assert not workdays.is_workday(dt.date(2026, 6, 14))  # Sunday


def test_national_day_2026_is_off_and_the_make_up_sunday_is_on():
    for day in range(1, 8):
        assert not workdays.is_workday(dt.date(2026, 10, day)), day
    # 2026-09-20 (a Sunday) and 2026-10-10 (a Saturday) are make-up working days (调休).
    assert dt.date(2026, 9, 20).weekday() == 6
    assert workdays.is_workday(dt.date(2026, 9, 20))
    assert workdays.is_workday(dt.date(2026, 10, 10))
    # Mid-Autumn Festival 2026 falls on Friday 25 September.
    assert not workdays.is_workday(dt.date(2026, 9, 25))


def test_overrides_win_over_the_official_calendar():
    CalendarDay.objects.create(day=dt.date(2026, 6, 10), is_workday=False, note="flood closure")
    CalendarDay.objects.create(day=dt.date(2026, 6, 13), is_workday=True, note="extra day")
    assert not workdays.is_workday(dt.date(2026, 6, 10))
    assert workdays.is_workday(dt.date(2026, 6, 13))
    # A removed override is forgotten at once (no cache to invalidate).
    CalendarDay.objects.filter(day=dt.date(2026, 6, 10)).delete()
    assert workdays.is_workday(dt.date(2026, 6, 10))


def test_unknown_years_fall_back_to_monday_to_friday_plus_overrides():
    first, last = workdays.official_years()
    year = last + 1
    monday = dt.date(year, 1, 1) + dt.timedelta(days=(7 - dt.date(year, 1, 1).weekday()) % 7)
    assert workdays.is_workday(monday)
    assert not workdays.is_workday(monday + dt.timedelta(days=5))
    CalendarDay.objects.create(day=monday, is_workday=False, note="holiday entered by hand")
    assert not workdays.is_workday(monday)


def test_working_days_keep_the_time_of_day_and_skip_the_weekend():
    # Thursday 15:20 + 2 working days -> Monday 15:20.
    assert workdays.add_working_days(at(2026, 6, 11, 15, 20), 2) == at(2026, 6, 15, 15, 20)
    assert workdays.add_working_days(at(2026, 6, 11, 15, 20), 0) == at(2026, 6, 11, 15, 20)


def test_working_days_from_a_day_off_start_at_office_opening_of_the_next_working_day():
    # Saturday 22:00 + 2 working days: counting starts Monday 09:00, due Wednesday 09:00.
    assert workdays.add_working_days(at(2026, 6, 13, 22), 2) == at(2026, 6, 17, 9)
    assert workdays.add_working_days(at(2026, 6, 13, 22), 0) == at(2026, 6, 15, 9)


def test_working_days_across_national_day_and_the_make_up_days():
    # Wednesday 30 Sep 10:00 + 1 working day: 1-7 Oct are off, Thursday 8 Oct.
    assert workdays.add_working_days(at(2026, 9, 30), 1) == at(2026, 10, 8)
    # + 3: Thu 8, Fri 9, then Saturday 10 October is a make-up working day.
    assert workdays.add_working_days(at(2026, 9, 30), 3) == at(2026, 10, 10)
    # Received on Saturday 19 Sep: the next working day is Sunday 20 Sep (调休).
    assert workdays.add_working_days(at(2026, 9, 19, 16), 1) == at(2026, 9, 21, 9)
    # Received on the 调休 Sunday itself: it is a working day, so the time of day is kept.
    assert workdays.add_working_days(at(2026, 9, 20, 16), 1) == at(2026, 9, 21, 16)


def test_working_days_respect_a_local_closure():
    CalendarDay.objects.create(day=dt.date(2026, 6, 15), is_workday=False, note="closure")
    assert workdays.add_working_days(at(2026, 6, 11, 15, 20), 2) == at(2026, 6, 16, 15, 20)


def test_a_long_stretch_loads_overrides_beyond_the_first_chunk():
    # 2026-06-10 (a Wednesday) is 100 days after the start: outside the first chunk loaded.
    without = workdays.add_working_days(at(2026, 3, 2), 80)
    assert without > at(2026, 6, 10)
    CalendarDay.objects.create(day=dt.date(2026, 6, 10), is_workday=False, note="closure")
    assert workdays.add_working_days(at(2026, 3, 2), 80) == workdays.add_working_days(without, 1)


def test_input_in_another_zone_is_counted_in_local_time():
    # 2026-06-12 18:00 UTC is Saturday 02:00 in Shanghai: a day off.
    start = dt.datetime(2026, 6, 12, 18, 0, tzinfo=dt.UTC)
    assert workdays.add_working_days(start, 1) == at(2026, 6, 16, 9)


def test_hours_and_calendar_days():
    assert workdays.add_hours(at(2026, 6, 13, 23), 2) == at(2026, 6, 14, 1)
    assert workdays.add_calendar_days(at(2026, 9, 30, 8), 7) == at(2026, 10, 7, 8)
