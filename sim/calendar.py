"""Working time: official holidays, adjusted working days and office hours.

Simulation time is hours since the scenario's start (00:00 of its first day).  Units work
office hours on working days; the hotline works 24x7.  Every deadline in the model is
computed here, directly, so no process ever has to wake up to check the clock.

Working time is a piecewise-linear clock ``W(t)``: the office hours elapsed since the start.
Adding working hours is ``W^-1(W(t) + h)``; both directions are a binary search over the
precomputed office intervals, O(log n) per call.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

HOURS_PER_DAY = 24.0
CHINESE_CALENDAR_FIRST_YEAR = 2004
CHINESE_CALENDAR_LAST_YEAR = 2026


class CalendarRangeError(ValueError):
    """The holiday calendar does not cover the dates a run needs."""


def _has_official_data(year: int) -> bool:
    import chinese_calendar

    try:
        # both ends of the year: a package release may stop part-way (1.9 and 1.10 stop
        # before 2026 while accepting some of its dates)
        chinese_calendar.is_workday(dt.date(year, 1, 1))
        chinese_calendar.is_workday(dt.date(year, 12, 31))
    except NotImplementedError:
        return False
    return True


@cache
def chinese_calendar_last_year() -> int:
    """Last year of the unbroken run of years from 2004 for which the installed
    ``chinesecalendar`` has official holiday data (probed, not trusted from its version)."""
    year = CHINESE_CALENDAR_FIRST_YEAR
    if not _has_official_data(year):
        return year - 1
    while _has_official_data(year + 1):
        year += 1
    return year


def _official_tables() -> tuple[Mapping[dt.date, str], Mapping[dt.date, str]]:
    """``chinesecalendar``'s own data: its official days off (holidays) and adjusted working
    days (调休上班), each date -> festival name.

    Read directly because the package's per-date functions (``is_workday``,
    ``get_holiday_detail``) validate every date by taking ``min`` and ``max`` over its whole
    table (~600 dates) on each call: building a run's calendar and demand profile made some
    2,700 such calls, an eighth of the instructions of a quarter-volume district year.  This
    module checks the range once for the span (``official_years``); the two helpers below
    are the package's own rules, and tests/test_calendar.py checks them against it."""
    from chinese_calendar.constants import holidays, workdays

    return holidays, workdays


def _official_workday(d: dt.date, holidays: Mapping[dt.date, str], workdays: Mapping[dt.date, str]) -> bool:
    """``chinese_calendar.is_workday(d)`` for a date within its data."""
    return d in workdays or (d.weekday() <= 4 and d not in holidays)


def _official_holiday(d: dt.date, holidays: Mapping[dt.date, str], workdays: Mapping[dt.date, str]) -> bool:
    """A named official day off: ``chinese_calendar.get_holiday_detail(d)`` gives
    ``(True, name)`` with a name, for a date within its data."""
    return d not in workdays and d in holidays and holidays[d] is not None


def official_years() -> range:
    """Years with official Chinese holiday data in the installed ``chinesecalendar``."""
    return range(CHINESE_CALENDAR_FIRST_YEAR, chinese_calendar_last_year() + 1)


def projected_holidays(years: Sequence[int]) -> set[dt.date]:
    """China's statutory public holidays (法定节假日) in ``years``, computed by the ``holidays``
    package from the rules (lunar dates included), with a day off for a holiday falling on a
    weekend as that package observes it.  The State Council's adjusted working days (调休)
    cannot be computed: they are absent."""
    import holidays as holidays_package

    return set(holidays_package.China(years=list(years)).keys()) if years else set()


def working_day_flags(
    start: dt.date,
    days: int,
    holidays: str,
    special_days: Mapping[dt.date, bool] | None = None,
) -> list[bool]:
    """Whether each of ``days`` days from ``start`` is a working day.

    ``holidays`` is ``"chinese"`` (official holidays and adjusted working days; raises
    ``CalendarRangeError`` outside the installed data), ``"projected"`` (the official data
    where it exists, else statutory holidays from :func:`projected_holidays`),
    ``"weekends"`` (Monday to Friday) or ``"none"`` (every day works).  ``special_days``
    (date -> working) override the result: a user's holiday file.
    """
    dates = [start + dt.timedelta(days=i) for i in range(days)]
    if holidays == "none":
        flags = [True] * days
    elif holidays == "weekends":
        flags = [d.weekday() < 5 for d in dates]
    elif holidays in ("chinese", "projected"):
        last = dates[-1] if dates else start
        official = official_years()
        if holidays == "chinese" and (start.year not in official or last.year not in official):
            raise CalendarRangeError(
                f"the Chinese holiday calendar covers {official.start}-{official.stop - 1}, "
                f"but the run needs {start} to {last}"
            )
        projected = projected_holidays(
            [y for y in range(start.year, last.year + 1) if y not in official]
        )
        days_off, adjusted = _official_tables()
        flags = [
            _official_workday(d, days_off, adjusted)
            if d.year in official
            else (d.weekday() < 5 and d not in projected)
            for d in dates
        ]
    else:
        raise ValueError(f"unknown holiday calendar {holidays!r}")
    for day, working in (special_days or {}).items():
        i = (day - start).days
        if 0 <= i < days:
            flags[i] = bool(working)
    return flags


def holiday_flags(
    start: dt.date,
    days: int,
    holidays: str,
    special_days: Mapping[dt.date, bool] | None = None,
) -> list[bool]:
    """Whether each of ``days`` days from ``start`` is an official public holiday (法定节假日):
    a day off of an official holiday period, weekend days inside the period included, as
    opposed to an ordinary weekend.  (The demand's ``holiday_weight`` acts on these days.)

    ``holidays`` as in :func:`working_day_flags`: ``"chinese"``: the days off that
    ``chinesecalendar`` names a festival for (raises ``CalendarRangeError`` outside its
    data); ``"projected"``: those where the official data exist, else the statutory
    holidays of :func:`projected_holidays`; ``"weekends"`` and ``"none"``: no holidays.
    ``special_days`` (date -> working, a holiday file) override: a day off listed there is a
    holiday, an adjusted working day (调休上班) is not."""
    dates = [start + dt.timedelta(days=i) for i in range(days)]
    if holidays in ("chinese", "projected"):
        last = dates[-1] if dates else start
        official = official_years()
        if holidays == "chinese" and (start.year not in official or last.year not in official):
            raise CalendarRangeError(
                f"the Chinese holiday calendar covers {official.start}-{official.stop - 1}, "
                f"but the run needs {start} to {last}"
            )
        projected = projected_holidays(
            [y for y in range(start.year, last.year + 1) if y not in official]
        )

        days_off, adjusted = _official_tables()

        def official_holiday(d: dt.date) -> bool:
            if d.year not in official:
                return d in projected
            return _official_holiday(d, days_off, adjusted)

        flags = [official_holiday(d) for d in dates]
    elif holidays in ("weekends", "none"):
        flags = [False] * days
    else:
        raise ValueError(f"unknown holiday calendar {holidays!r}")
    for day, working in (special_days or {}).items():
        i = (day - start).days
        if 0 <= i < days:
            flags[i] = not working
    return flags


@dataclass(frozen=True)
class OfficeHours:
    """Daily office intervals in hours of the day, e.g. ((8.5, 12.0), (14.5, 17.5))."""

    intervals: tuple[tuple[float, float], ...]

    @property
    def hours_per_day(self) -> float:
        return sum(b - a for a, b in self.intervals)


class WorkCalendar:
    """Office-hours clock over a fixed span of days.

    ``add_working_hours`` and ``working_hours_between`` are the two primitives; working days
    are ``hours_per_day`` working hours each, so "5 working days" from Monday 10:00 is the
    next Monday 10:00 when no holiday intervenes.
    """

    def __init__(
        self,
        start: dt.date,
        days: int,
        office: OfficeHours,
        holidays: str = "chinese",
        special_days: Mapping[dt.date, bool] | None = None,
    ) -> None:
        self.start = start
        self.days = days
        self.office = office
        self.hours_per_day = office.hours_per_day
        self.is_working = working_day_flags(start, days, holidays, special_days)
        self.working_days = [d for d, w in enumerate(self.is_working) if w]
        self._starts: list[float] = []
        self._ends: list[float] = []
        self._cum: list[float] = []  # working hours before each interval
        self._cum_end: list[float] = []  # working hours at the end of each interval
        total = 0.0
        for day in self.working_days:
            base = day * HOURS_PER_DAY
            for a, b in office.intervals:
                self._starts.append(base + a)
                self._ends.append(base + b)
                self._cum.append(total)
                total += b - a
                self._cum_end.append(total)
        self.total_working_hours = total
        self.end_hour = days * HOURS_PER_DAY
        # the same lists with a sentinel interval at infinity: a working clock past the
        # calendar's end maps to ``inf`` without a length test on the hot path
        self._starts_x = [*self._starts, math.inf]
        self._cum_x = [*self._cum, 0.0]
        self._cum_end_x = [*self._cum_end, math.inf]
        # opening time of the first working day after each day (inf: none in the calendar)
        opening = office.intervals[0][0] if office.intervals else 0.0
        self._next_opening = [math.inf] * days
        following = math.inf
        for day in range(days - 1, -1, -1):
            self._next_opening[day] = following
            if self.is_working[day]:
                following = day * HOURS_PER_DAY + opening

    # -- primitives -------------------------------------------------------------------------
    def working_clock(self, t: float) -> float:
        """Working hours elapsed from the calendar's start to time ``t`` (hours)."""
        i = bisect_right(self._starts, t) - 1
        if i < 0:
            return 0.0
        end = self._ends[i]
        return self._cum[i] + ((t if t < end else end) - self._starts[i])

    def next_office_time(self, t: float) -> float:
        """``t`` itself if it falls in office hours (an interval's ends included), else the
        next opening after it; ``inf`` past the calendar's end.  Non-urgent work starts only
        at such a time."""
        i = bisect_right(self._starts, t) - 1
        if i >= 0 and t <= self._ends[i]:
            return t
        return self._starts_x[i + 1]

    def at_working_clock(self, w: float) -> float:
        """Earliest time whose working clock reaches ``w``; ``inf`` past the calendar's end.

        The calendar spans the horizon plus the longest deadline, so a time past its end is
        past the horizon: that event does not happen within the run."""
        if w <= 0.0:
            return self._starts[0] if self._starts else 0.0
        j = bisect_left(self._cum_end_x, w)
        return self._starts_x[j] + (w - self._cum_x[j])  # the sentinel gives inf

    def add_working_hours(self, t: float, hours: float) -> float:
        """Time at which ``hours`` of office time have passed after ``t``: never before ``t``.

        (``at_working_clock(working_clock(t) + hours)``, inlined: this is the model's hottest
        calendar call.)  At an opening the working clock equals the previous closing's, and
        ``at_working_clock`` gives the earliest time of a clock reading: an amount too small
        to move the clock's float (a tiny ``remind_speedup`` share of a lead time, a tiny
        exponential effort) would give that closing, before ``t``; so the result is ``t``
        at least (``at_working_clock_from``)."""
        if hours <= 0.0:
            return t
        starts = self._starts
        i = bisect_right(starts, t) - 1
        if i < 0:
            w = hours
        else:
            end = self._ends[i]
            w = self._cum[i] + ((t if t < end else end) - starts[i]) + hours
        j = bisect_left(self._cum_end_x, w)
        out = self._starts_x[j] + (w - self._cum_x[j])  # the sentinel gives inf
        return out if out > t else t

    def add_working_hours_at(self, t: float, clock: float, hours: float) -> float:
        """``add_working_hours(t, hours)`` when ``t``'s working clock is already known (the
        same floats: ``add_working_hours`` is exactly ``at_working_clock(clock + hours)``,
        never before ``t``)."""
        if hours <= 0.0:
            return t
        # (at_working_clock_from(t, clock + hours), inlined: a deadline per handling round)
        w = clock + hours
        if w <= 0.0:
            out = self._starts[0] if self._starts else 0.0
        else:
            j = bisect_left(self._cum_end_x, w)
            out = self._starts_x[j] + (w - self._cum_x[j])  # the sentinel gives inf
        return out if out > t else t

    def at_working_clock_from(self, t: float, w: float) -> float:
        """``at_working_clock(w)`` for a clock reading ``w`` counted on from time ``t``'s
        (``w`` >= ``t``'s clock), never before ``t``: the time an amount of office work
        started at ``t`` ends.  (At ``t`` an opening, ``w`` equal to its clock would give
        the previous closing: an event dated before its cause.)"""
        if w <= 0.0:  # (at_working_clock(w), inlined)
            out = self._starts[0] if self._starts else 0.0
        else:
            j = bisect_left(self._cum_end_x, w)
            out = self._starts_x[j] + (w - self._cum_x[j])  # the sentinel gives inf
        return out if out > t else t

    def add_working_days(self, t: float, days: float) -> float:
        """``days`` full working days of office time after ``t``."""
        return self.add_working_hours(t, days * self.hours_per_day)

    def working_hours_between(self, a: float, b: float) -> float:
        """Office hours between times ``a`` and ``b`` (negative if ``b`` < ``a``)."""
        return self.working_clock(b) - self.working_clock(a)

    def working_days_between(self, a: float, b: float) -> float:
        return self.working_hours_between(a, b) / self.hours_per_day

    def next_working_day_start(self, t: float) -> float:
        """Opening time of the first working day strictly after the day of ``t``."""
        day = int(t // HOURS_PER_DAY)
        if 0 <= day < self.days:
            return self._next_opening[day]
        j = bisect_right(self.working_days, day)
        if j >= len(self.working_days):
            return math.inf
        return self.working_days[j] * HOURS_PER_DAY + self.office.intervals[0][0]

    # -- dates ------------------------------------------------------------------------------
    def to_datetime(self, t: float) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time()) + dt.timedelta(hours=t)

    def to_hours(self, when: dt.date | dt.datetime) -> float:
        if not isinstance(when, dt.datetime):
            when = dt.datetime.combine(when, dt.time())
        delta = when - dt.datetime.combine(self.start, dt.time())
        return delta.total_seconds() / 3600.0

    def is_working_date(self, d: dt.date) -> bool:
        return self.is_working[(d - self.start).days]


def vectorised_add_working_hours(cal: WorkCalendar, times, hours):
    """``add_working_hours`` for many times at once; the same arithmetic, so the same floats."""
    import numpy as np

    t = np.asarray(times, dtype=float)
    h = np.asarray(hours, dtype=float)
    w = vectorised_working_clock(cal, t) + h
    cum_end = np.asarray(cal._cum_end)
    j = np.searchsorted(cum_end, w, side="left")
    inside = j < len(cum_end)
    jc = np.clip(j, 0, len(cum_end) - 1)
    out = np.asarray(cal._starts)[jc] + (w - np.asarray(cal._cum)[jc])
    out = np.where(inside, out, np.inf)
    return np.where(h <= 0.0, t, np.maximum(out, t))  # never before t (WorkCalendar.add_working_hours)


def vectorised_working_clock(cal: WorkCalendar, times: Sequence[float]):
    """``working_clock`` for many times at once (numpy), for indicator tables."""
    import numpy as np

    t = np.asarray(times, dtype=float)
    starts = np.asarray(cal._starts)
    ends = np.asarray(cal._ends)
    cum = np.asarray(cal._cum)
    i = np.searchsorted(starts, t, side="right") - 1
    ok = i >= 0
    ic = np.clip(i, 0, None)
    w = cum[ic] + (np.minimum(t, ends[ic]) - starts[ic])
    return np.where(ok, w, 0.0)
