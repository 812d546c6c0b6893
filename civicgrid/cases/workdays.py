"""Working days: the official Chinese calendar with local overrides, and deadline arithmetic.

A day is a working day when:
1. a `CalendarDay` override says so (an operator's closure or extra working day), else
2. the official calendar says so (the `chinese_calendar` package: public holidays and the
   make-up working days, 调休, of the years it knows), else
3. for years the package does not know, it is Monday to Friday (operators enter that
   year's holidays as overrides until the package is upgraded).

Deadlines in working days keep the local (Asia/Shanghai) time of day: a case received on a
working day at 15:20 with 2 working days is due at 15:20 on the second working day after.
A case received on a non-working day starts counting at the opening of office hours
(`CIVICGRID_OFFICE_OPENS`, 09:00) on the next working day, so one received on
Saturday with 2 working days is due at 09:00 on the second working day after Monday.

Overrides are read from the database for the range a computation needs (one indexed query
per call, more only when a computation runs past the range loaded), so a change made in one
process is seen by every other at once, with no cache to invalidate.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import chinese_calendar
from django.conf import settings
from django.utils import timezone

# Days loaded per query. A stretch of n working days spans at most about 7n/5 days plus the
# longest official holiday (9 days), so one chunk covers every preset's limits.
_CHUNK_DAYS = 62


@cache
def official_years() -> tuple[int, int]:
    """The first and last year the installed official calendar knows."""
    years = [day.year for day in chinese_calendar.holidays]
    return min(years), max(years)


def official_is_workday(day: dt.date) -> bool:
    """The official answer, ignoring overrides (Monday-Friday for unknown years)."""
    first, last = official_years()
    if first <= day.year <= last:
        return chinese_calendar.is_workday(day)
    return day.weekday() < 5


class Calendar:
    """Working-day questions over a stretch of days, with the overrides loaded lazily."""

    def __init__(self, start: dt.date):
        self._overrides: dict[dt.date, bool] = {}
        self._loaded_from = start
        self._loaded_until = start - dt.timedelta(days=1)

    def _load_until(self, day: dt.date) -> None:
        from civicgrid.cases.models import CalendarDay

        if day < self._loaded_from:
            rows = CalendarDay.objects.filter(day__gte=day, day__lt=self._loaded_from)
            self._overrides.update(rows.values_list("day", "is_workday"))
            self._loaded_from = day
            return
        end = max(day, self._loaded_until + dt.timedelta(days=_CHUNK_DAYS))
        rows = CalendarDay.objects.filter(day__gt=self._loaded_until, day__lte=end)
        self._overrides.update(rows.values_list("day", "is_workday"))
        self._loaded_until = end

    def is_workday(self, day: dt.date) -> bool:
        if not (self._loaded_from <= day <= self._loaded_until):
            self._load_until(day)
        override = self._overrides.get(day)
        return official_is_workday(day) if override is None else override

    def next_workday(self, day: dt.date) -> dt.date:
        """The first working day strictly after `day`."""
        day += dt.timedelta(days=1)
        while not self.is_workday(day):
            day += dt.timedelta(days=1)
        return day


def is_workday(day: dt.date) -> bool:
    """Whether `day` is a working day (overrides first, then the official calendar)."""
    return Calendar(day).is_workday(day)


def office_opens() -> dt.time:
    return settings.OFFICE_OPENS


def add_working_days(start: dt.datetime, n: int) -> dt.datetime:
    """The same local time of day `n` working days after `start` (an aware datetime).

    From a non-working day, counting starts at the opening of office hours on the next
    working day (see the module docstring). `n=0` gives that start.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    tz = timezone.get_default_timezone()
    local = timezone.localtime(start, tz)
    calendar = Calendar(local.date())
    day, time_of_day = local.date(), local.time()
    if not calendar.is_workday(day):
        day, time_of_day = calendar.next_workday(day), office_opens()
    for _ in range(n):
        day = calendar.next_workday(day)
    return dt.datetime.combine(day, time_of_day, tzinfo=tz)


def add_calendar_days(start: dt.datetime, n: int) -> dt.datetime:
    """The same local time of day `n` calendar days after `start`."""
    tz = timezone.get_default_timezone()
    local = timezone.localtime(start, tz)
    return dt.datetime.combine(local.date() + dt.timedelta(days=n), local.time(), tzinfo=tz)


def add_hours(start: dt.datetime, n: int) -> dt.datetime:
    """`n` elapsed hours after `start`: the hotline works round the clock (7×24)."""
    return start + dt.timedelta(hours=n)
