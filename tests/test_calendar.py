"""WorkCalendar: working-time arithmetic across 2021's official holidays."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from sim.calendar import (
    CalendarRangeError,
    OfficeHours,
    WorkCalendar,
    vectorised_add_working_hours,
    vectorised_working_clock,
    working_day_flags,
)

OFFICE = OfficeHours(((8.5, 12.0), (14.5, 17.5)))
HPD = 6.5


def make(holidays: str = "chinese", start: dt.date = dt.date(2021, 1, 1), days: int = 400):
    return WorkCalendar(start, days, OFFICE, holidays)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return make()


def at(cal: WorkCalendar, *args: int) -> float:
    return cal.to_hours(dt.datetime(*args))


def test_office_hours_per_day(cal):
    assert OFFICE.hours_per_day == HPD
    assert cal.hours_per_day == HPD


def test_to_hours_and_back(cal):
    t = at(cal, 2021, 2, 10, 10, 0)
    assert t == (31 + 9) * 24 + 10
    assert cal.to_datetime(t) == dt.datetime(2021, 2, 10, 10, 0)
    assert cal.to_hours(dt.date(2021, 1, 2)) == 24.0


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (dt.date(2021, 1, 1), False),  # New Year's Day
        (dt.date(2021, 2, 7), True),  # Sunday, adjusted working day
        (dt.date(2021, 2, 10), True),
        (dt.date(2021, 2, 11), False),  # Spring Festival 11..17
        (dt.date(2021, 2, 14), False),
        (dt.date(2021, 2, 17), False),
        (dt.date(2021, 2, 18), True),
        (dt.date(2021, 2, 20), True),  # Saturday, adjusted working day
        (dt.date(2021, 2, 21), False),
        (dt.date(2021, 9, 26), True),  # Sunday, adjusted working day
        (dt.date(2021, 10, 1), False),  # National Day 1..7
        (dt.date(2021, 10, 7), False),
        (dt.date(2021, 10, 8), True),
        (dt.date(2021, 10, 9), True),  # Saturday, adjusted working day
        (dt.date(2021, 10, 10), False),
    ],
)
def test_chinese_working_dates(cal, day, working):
    assert cal.is_working_date(day) is working


@pytest.mark.parametrize(
    ("start", "days", "end"),
    [
        # Spring Festival: Wednesday before the holiday -> Thursday after it
        ((2021, 2, 10, 10, 0), 1, (2021, 2, 18, 10, 0)),
        ((2021, 2, 10, 10, 0), 2, (2021, 2, 19, 10, 0)),
        ((2021, 2, 10, 10, 0), 3, (2021, 2, 20, 10, 0)),  # Saturday worked
        ((2021, 2, 10, 10, 0), 4, (2021, 2, 22, 10, 0)),
        ((2021, 2, 5, 10, 0), 1, (2021, 2, 7, 10, 0)),  # Friday -> adjusted Sunday
        ((2021, 2, 7, 10, 0), 1, (2021, 2, 8, 10, 0)),
        # National Day
        ((2021, 9, 24, 10, 0), 1, (2021, 9, 26, 10, 0)),  # Friday -> adjusted Sunday
        ((2021, 9, 30, 16, 0), 1, (2021, 10, 8, 16, 0)),
        ((2021, 9, 30, 16, 0), 2, (2021, 10, 9, 16, 0)),  # Saturday worked
        ((2021, 10, 9, 16, 0), 1, (2021, 10, 11, 16, 0)),
        # an ordinary week: 5 working days from Monday is next Monday
        ((2021, 3, 1, 10, 0), 5, (2021, 3, 8, 10, 0)),
    ],
)
def test_add_working_days_across_holidays(cal, start, days, end):
    t = cal.add_working_days(at(cal, *start), days)
    assert t == pytest.approx(at(cal, *end), abs=1e-9)
    assert cal.to_datetime(t).replace(microsecond=0) == dt.datetime(*end)


def test_working_days_between_over_spring_festival(cal):
    a, b = at(cal, 2021, 2, 10, 0, 0), at(cal, 2021, 2, 21, 0, 0)
    # working days in [10th, 21st): 10, 18, 19, 20
    assert cal.working_days_between(a, b) == pytest.approx(4.0)
    assert cal.working_hours_between(a, b) == pytest.approx(4 * HPD)
    assert cal.working_hours_between(b, a) == pytest.approx(-4 * HPD)


def test_working_days_between_over_national_day(cal):
    a, b = at(cal, 2021, 9, 25, 0, 0), at(cal, 2021, 10, 11, 0, 0)
    # 26, 27, 28, 29, 30 Sep, 8 and 9 Oct
    assert cal.working_days_between(a, b) == pytest.approx(7.0)


@pytest.mark.parametrize(
    ("start", "hours", "end"),
    [
        ((2021, 3, 1, 11, 0), 1.5, (2021, 3, 1, 15, 0)),  # across lunch
        ((2021, 3, 1, 11, 0), 1.0, (2021, 3, 1, 12, 0)),
        ((2021, 3, 1, 11, 0), 0.5, (2021, 3, 1, 11, 30)),
        ((2021, 3, 1, 11, 30), 0.5, (2021, 3, 1, 12, 0)),  # ends exactly at noon
        ((2021, 3, 1, 12, 30), 1.0, (2021, 3, 1, 15, 30)),  # starts in the lunch break
        ((2021, 3, 1, 7, 0), 1.0, (2021, 3, 1, 9, 30)),  # before opening
        ((2021, 3, 1, 20, 0), 1.0, (2021, 3, 2, 9, 30)),  # after closing
        ((2021, 3, 1, 17, 0), 1.0, (2021, 3, 2, 9, 0)),  # across the night
        ((2021, 3, 6, 10, 0), 1.0, (2021, 3, 8, 9, 30)),  # from a Saturday
        ((2021, 2, 12, 10, 0), 1.0, (2021, 2, 18, 9, 30)),  # from inside the holiday
        ((2021, 3, 1, 8, 30), 6.5, (2021, 3, 1, 17, 30)),  # one full day
        ((2021, 3, 1, 16, 30), 6.5, (2021, 3, 2, 16, 30)),
    ],
)
def test_add_working_hours(cal, start, hours, end):
    assert cal.add_working_hours(at(cal, *start), hours) == pytest.approx(at(cal, *end), abs=1e-9)


def test_add_zero_hours_is_identity(cal):
    for t in (at(cal, 2021, 3, 1, 20, 0), at(cal, 2021, 3, 1, 10, 0), at(cal, 2021, 2, 12, 3, 0)):
        assert cal.add_working_hours(t, 0.0) == t


@pytest.mark.parametrize("hours", [1e-90, 1e-17, 1e-14, 1e-12])
def test_tiny_amount_from_an_opening_never_goes_back(cal, hours):
    """At an opening the working clock equals the previous closing's, and the earliest time
    of a clock reading is that closing: an amount too small to move the clock's float (a
    tiny remind_speedup share of a lead time) gave the closing, before the start, and a
    supervision warning's reply was dated before the warning (tests/test_properties.py
    TINY_REMIND_SPEEDUP).  Every form of "hours after t" is t at least, and at most a
    rounding later."""
    openings = [
        at(cal, 2021, 3, 2, 8, 30),  # morning, after a working day
        at(cal, 2021, 3, 2, 14, 30),  # afternoon, after lunch
        at(cal, 2021, 3, 8, 8, 30),  # Monday, after a weekend
        at(cal, 2021, 2, 18, 8, 30),  # after the Spring Festival
    ]
    for t in openings:
        clock = cal.working_clock(t)
        assert cal.at_working_clock(clock) < t  # (why: the clock reading's earliest time)
        for end in (
            cal.add_working_hours(t, hours),
            cal.add_working_hours_at(t, clock, hours),
            cal.at_working_clock_from(t, clock + hours),
            float(vectorised_add_working_hours(cal, [t], [hours])[0]),
        ):
            assert t <= end <= t + 1e-9, (t, hours, end)


def test_no_working_time_passes_outside_office_hours(cal):
    # lunch, night, weekend, holiday
    for a, b in (
        ((2021, 3, 1, 12, 0), (2021, 3, 1, 14, 30)),
        ((2021, 3, 1, 17, 30), (2021, 3, 2, 8, 30)),
        ((2021, 3, 5, 17, 30), (2021, 3, 8, 8, 30)),
        ((2021, 2, 10, 17, 30), (2021, 2, 18, 8, 30)),
        ((2021, 1, 1, 0, 0), (2021, 1, 4, 8, 30)),  # the run's first days are holidays
    ):
        assert cal.working_hours_between(at(cal, *a), at(cal, *b)) == 0.0
    assert cal.working_clock(0.0) == 0.0
    assert cal.working_clock(at(cal, 2021, 1, 4, 9, 30)) == pytest.approx(1.0)


def test_next_working_day_start(cal):
    assert cal.next_working_day_start(at(cal, 2021, 2, 10, 9, 0)) == at(cal, 2021, 2, 18, 8, 30)
    assert cal.next_working_day_start(at(cal, 2021, 2, 5, 16, 0)) == at(cal, 2021, 2, 7, 8, 30)
    assert cal.next_working_day_start(at(cal, 2021, 3, 1, 1, 0)) == at(cal, 2021, 3, 2, 8, 30)


def _random_times(cal, n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, 360 * 24.0, n)


def test_working_hours_between_is_additive(cal):
    t = np.sort(_random_times(cal, 300, seed=1).reshape(100, 3), axis=1)
    for a, b, c in t:
        lhs = cal.working_hours_between(a, b) + cal.working_hours_between(b, c)
        assert lhs == pytest.approx(cal.working_hours_between(a, c), abs=1e-9)
        assert cal.working_hours_between(a, c) >= 0.0


def test_add_working_hours_inverts_working_hours_between(cal):
    rng = np.random.default_rng(2)
    for t, h in zip(_random_times(cal, 200, seed=3), rng.uniform(0.01, 200.0, 200), strict=True):
        end = cal.add_working_hours(t, h)
        assert end > t
        assert cal.working_hours_between(t, end) == pytest.approx(h, abs=1e-9)
        # and it is the earliest such time: a moment earlier, less work has been done
        assert cal.working_hours_between(t, end - 1e-6) < h


def test_add_working_hours_composes(cal):
    rng = np.random.default_rng(4)
    for t, h1, h2 in zip(
        _random_times(cal, 100, seed=5),
        rng.uniform(0.0, 40.0, 100),
        rng.uniform(0.0, 40.0, 100),
        strict=True,
    ):
        two = cal.add_working_hours(cal.add_working_hours(t, h1), h2)
        one = cal.add_working_hours(t, h1 + h2)
        if h1 > 0:
            assert two == pytest.approx(one, abs=1e-9)


def test_between_then_add_returns_to_an_office_time(cal):
    # from an office-hours time b, adding the hours between a and b from a lands on b
    for a in _random_times(cal, 50, seed=6):
        b = cal.add_working_hours(a, 13.25)  # inside office hours by construction
        assert cal.add_working_hours(a, cal.working_hours_between(a, b)) == pytest.approx(b)


def test_vectorised_clock_matches_scalar(cal):
    t = np.concatenate([[-1.0, 0.0], _random_times(cal, 200, seed=7)])
    vec = vectorised_working_clock(cal, t)
    assert vec == pytest.approx([cal.working_clock(x) for x in t])


def test_past_the_calendar_end_is_infinite():
    small = make(days=30)
    assert small.add_working_days(0.0, 100) == math.inf
    assert small.next_working_day_start(29 * 24.0 + 1) == math.inf


def test_weekends_mode_ignores_official_holidays():
    cal = make("weekends")
    assert cal.is_working_date(dt.date(2021, 2, 11))  # Spring Festival Thursday works
    assert not cal.is_working_date(dt.date(2021, 2, 7))  # no adjusted Sunday
    assert not cal.is_working_date(dt.date(2021, 2, 20))
    assert cal.add_working_days(at(cal, 2021, 2, 10, 10, 0), 1) == at(cal, 2021, 2, 11, 10, 0)
    assert cal.add_working_days(at(cal, 2021, 2, 5, 10, 0), 1) == at(cal, 2021, 2, 8, 10, 0)
    assert sum(cal.is_working[:365]) == 261  # 2021 has 261 weekdays


def test_none_mode_every_day_works():
    cal = make("none")
    assert all(cal.is_working)
    assert cal.add_working_days(at(cal, 2021, 2, 12, 10, 0), 1) == at(cal, 2021, 2, 13, 10, 0)
    assert cal.working_days_between(0.0, 7 * 24.0) == pytest.approx(7.0)


def test_chinese_mode_2021_working_day_count():
    # 2021: 365 days, 104 weekend days, 11 holidays on weekdays, 7 adjusted working days
    # -> 250 working days (DESIGN §7: "2021's 250 working days")
    assert sum(make().is_working[:365]) == 250


def test_modes_outside_the_holiday_data_range():
    far = dt.date(2030, 1, 1)
    assert sum(make("weekends", start=far, days=365).is_working) == 261
    assert all(make("none", start=far, days=10).is_working)


@pytest.mark.parametrize(
    ("start", "days"),
    [
        (dt.date(2026, 12, 1), 60),  # runs into 2027
        (dt.date(2030, 1, 1), 10),
        (dt.date(2003, 12, 1), 60),  # starts before 2004
    ],
)
def test_chinese_calendar_out_of_range_raises(start, days):
    with pytest.raises(CalendarRangeError, match="covers"):
        make(start=start, days=days)


def test_last_day_of_holiday_data_is_accepted():
    cal = make(start=dt.date(2026, 12, 1), days=31)
    assert len(cal.is_working) == 31


def test_unknown_holiday_mode():
    with pytest.raises(ValueError, match="unknown holiday calendar"):
        working_day_flags(dt.date(2021, 1, 1), 3, "lunar")


def test_official_day_rules_match_the_package():
    """working_day_flags and holiday_flags read chinesecalendar's tables directly (its
    per-date functions re-validate each date at a cost): the same answers as the package's
    is_workday and get_holiday_detail on every date its tables name and on two whole years."""
    import chinese_calendar

    from sim.calendar import _official_holiday, _official_tables, _official_workday, official_years

    days_off, adjusted = _official_tables()
    years = official_years()
    dates = {d for d in (*days_off, *adjusted) if d.year in years}
    dates |= {dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(731)}
    for d in sorted(dates):
        on_holiday, name = chinese_calendar.get_holiday_detail(d)
        assert _official_workday(d, days_off, adjusted) == chinese_calendar.is_workday(d), d
        assert _official_holiday(d, days_off, adjusted) == bool(on_holiday and name is not None), d
