"""Any period, any year (issue 9 §2, §3): year-month tables, rates that do not depend on the
horizon, projected holidays and holiday files, dated inputs outside the run, the calendar
margin and data coverage, field bounds, the Kaplan-Meier median and printed tables."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim import calendar as calendar_module
from sim.cli import main
from sim.demand import hourly_rates
from sim.kpi import kaplan_meier_median
from sim.scenario import ScenarioError, ScenarioWarning
from sim.summary import annual_sentence

HERE = Path(__file__).resolve().parent
SMALL = HERE / "scenarios" / "small.toml"
BASELINE = HERE.parent / "scenarios" / "yuelu_2021.toml"


def small(**overrides) -> sim.Scenario:
    return sim.load_scenario(SMALL, overrides=overrides)


# -- r1: one row per year-month, in time order ------------------------------------------------
def test_two_years_give_24_year_months():
    res = sim.simulate(small(**{"run.horizon_days": 730}), seed=1)
    monthly = res.monthly()
    labels = [f"{y}-{m:02d}" for y in (2021, 2022) for m in range(1, 13)]
    assert monthly["month"].tolist() == labels
    year = res.kpis().iloc[0]
    for key in ("dispatched", "received", "closed", "open"):
        assert monthly[key].sum() == year[key], key
    assert monthly["event_month_dispatched"].sum() == year["dispatched"]
    assert monthly["event_month_received"].sum() == year["received"]
    # cohorts (arrival month) and event months differ in general, each labelled
    assert (monthly["dispatched"] == monthly["event_month_dispatched"]).all()
    assert (monthly["closed"] != monthly["event_month_closed"]).any()


def test_run_from_july_lists_july_first():
    res = sim.simulate(small(**{"run.start": dt.date(2021, 7, 1), "run.horizon_days": 365}), seed=1)
    months = res.monthly()["month"].tolist()
    assert months[0] == "2021-07" and months[-1] == "2022-06" and len(months) == 12
    assert months == sorted(months)


def test_a_window_sees_the_rates_of_a_short_run():
    """A 60-day run from 1 March and days 59-119 of a two-year run from 1 January: the same
    rate function (profile normalised over the calendar year, not over the horizon)."""
    weights = {"demand.month_weights": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
               "demand.weekday_weights": [1.2, 1.1, 1, 1, 1, 0.6, 0.5]}
    long = hourly_rates(small(**weights, **{"run.horizon_days": 730}))
    short = hourly_rates(small(**weights, **{"run.start": dt.date(2021, 3, 1), "run.horizon_days": 60}))
    offset = (dt.date(2021, 3, 1) - dt.date(2021, 1, 1)).days * 24
    np.testing.assert_allclose(short, long[offset : offset + len(short)], rtol=1e-12)
    # each calendar year holds annual_orders
    assert long[: 365 * 24].sum() == pytest.approx(2000.0)
    assert long[365 * 24 :].sum() == pytest.approx(2000.0)


def test_summary_names_the_period():
    k = pd.Series({"received": 10, "closed": 9, "satisfaction": math.nan})
    text = annual_sentence(k, small())
    assert "2021-01-01 至 2021-03-01" in text and "From 2021-01-01 to 2021-03-01" in text
    assert "nan" not in text and "n/a" in text  # no callback reached anyone
    k["satisfaction"] = 0.99
    assert annual_sentence(k, sim.load_scenario(BASELINE)).startswith("全年共计")


# -- next year: projected holidays and holiday files ------------------------------------------
def test_projected_holidays_run_2027_and_warn_once(tmp_path, capsys):
    code = main(["run", str(SMALL), "--set", "run.start=2027-01-01",
                 "--set", "calendar.holidays=projected", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 0, err
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "2027" in warnings[0] and "调休" in warnings[0], err
    with pytest.warns(ScenarioWarning):
        scn = small(**{"run.start": dt.date(2027, 1, 1), "calendar.holidays": "projected"})
    cal = sim.Result.load(tmp_path / "r").context.cal
    assert scn.run.start == cal.start
    assert not cal.is_working_date(dt.date(2027, 2, 8))  # Spring Festival 2027 (a Monday)
    assert not cal.is_working_date(dt.date(2027, 1, 1))
    assert cal.is_working_date(dt.date(2027, 1, 4))


def test_chinese_2027_is_refused_with_the_way_out():
    with pytest.raises(ScenarioError, match="run.start.*2004-2026.*projected"):
        small(**{"run.start": dt.date(2027, 1, 1)})


def test_projected_equals_official_where_data_exist():
    a = calendar_module.working_day_flags(dt.date(2021, 1, 1), 365, "chinese")
    b = calendar_module.working_day_flags(dt.date(2021, 1, 1), 365, "projected")
    assert a == b


def test_holiday_file(tmp_path):
    (tmp_path / "h.csv").write_text(
        "date,working\n2027-02-05,false\n2027-02-20,true\n", encoding="utf-8"
    )
    text = SMALL.read_text(encoding="utf-8").replace(
        'holidays = "chinese"', 'holidays = "projected"\nholiday_file = "h.csv"'
    ).replace("start = 2021-01-01", "start = 2027-01-01")
    (tmp_path / "s.toml").write_text(text, encoding="utf-8")
    with pytest.warns(ScenarioWarning):
        scn = sim.load_scenario(tmp_path / "s.toml")
    assert [(d.date, d.working) for d in scn.calendar.special_days] == [
        (dt.date(2027, 2, 5), False), (dt.date(2027, 2, 20), True)]
    cal = sim.simulate(scn, seed=1).context.cal
    assert not cal.is_working_date(dt.date(2027, 2, 5))  # a Friday made a holiday
    assert cal.is_working_date(dt.date(2027, 2, 20))  # a Saturday made a working day
    # an entry outside the dates the run uses is an error, never ignored
    (tmp_path / "h.csv").write_text("date,working\n2028-05-01,false\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"calendar.holiday_file.*h.csv.*line 2.*2028-05-01"):
        sim.load_scenario(tmp_path / "s.toml")
    (tmp_path / "h.csv").write_text("date,working\n2027-13-01,false\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"calendar.holiday_file.*line 2"):
        sim.load_scenario(tmp_path / "s.toml")


def test_surge_outside_the_run_is_refused():
    with pytest.raises(ScenarioError, match=r"demand.surges.0.*not inside the run window"):
        small(**{"demand.surges": [{"start": "2021-05-01", "end": "2021-05-10", "factor": 2.0}]})


# -- calendar data and margin -------------------------------------------------------------------
def test_margin_ignores_unit_factor_when_the_standard_is_on():
    scn = sim.load_scenario(BASELINE, overrides={"run.start": dt.date(2026, 9, 1), "run.horizon_days": 30})
    assert scn.run.start.year == 2026
    with pytest.raises(ScenarioError, match="run.horizon_days"):
        sim.load_scenario(BASELINE, overrides={
            "run.start": dt.date(2026, 9, 1), "run.horizon_days": 30,
            "mechanisms.one_standard.enabled": False})


def test_calendar_data_that_stop_early_are_refused_at_load(monkeypatch):
    """chinesecalendar 1.9/1.10 stop before 2026: the coverage is probed, so a 2026 run is
    refused with one line at load time, never a traceback mid-run."""
    import chinese_calendar

    real = chinese_calendar.is_workday

    def old_package(day):
        if day.year >= 2026:
            raise NotImplementedError("no data")
        return real(day)

    monkeypatch.setattr(chinese_calendar, "is_workday", old_package)
    calendar_module.chinese_calendar_last_year.cache_clear()
    try:
        assert calendar_module.chinese_calendar_last_year() == 2025
        with pytest.raises(ScenarioError, match="covers 2004-2025"):
            small(**{"run.start": dt.date(2026, 3, 1)})
    finally:
        calendar_module.chinese_calendar_last_year.cache_clear()


# -- field bounds that fit the meaning --------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value", "must"),
    [
        ("time_limits.reply_working_days.help", 0.0, "time_limits.reply_working_days.help"),
        ("callback.window_hours", 20.0, "callback.window_hours"),
        ("run.start", dt.datetime(2021, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))), "run.start"),
        ("run.start", "2021-01-01T08:00:00", "run.start"),
        ("demand.hard_share.help", 1.5, "demand.hard_share.help"),
        ("demand.channel_shares", {"phone": 1.5, "web": -0.5}, "demand.channel_shares"),
        ("demand.category_shares.help", 1.2, "demand.category_shares.help"),
        ("run.timezone", "Mars/Olympus", "run.timezone"),
    ],
)
def test_field_bounds(field, value, must):
    with pytest.raises(ScenarioError) as e:
        small(**{field: value})
    msg = str(e.value)
    assert must in msg and "\n" not in msg, msg


# -- Kaplan-Meier median ----------------------------------------------------------------------
def test_km_median_exact_half():
    d = np.array([0, 0, 2, 2, 3, 5, 5, 6, 7, 7], dtype=float)
    assert kaplan_meier_median(d, np.ones(10, dtype=bool)) == 3.0


def test_km_median_matches_scipy_on_censored_samples():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(7)
    for _ in range(50):
        n = int(rng.integers(5, 60))
        d = rng.integers(0, 12, n).astype(float)  # ties, as working-day durations have
        observed = rng.random(n) < 0.7
        if not observed.any():
            continue
        data = stats.CensoredData(uncensored=d[observed], right=d[~observed])
        sf = stats.ecdf(data).sf
        times, probs = sf.quantiles, sf.probabilities
        below = np.nonzero(probs <= 0.5 + 1e-9)[0]
        expected = float(times[below[0]]) if len(below) else math.inf
        assert kaplan_meier_median(d, observed) == expected, (d, observed)
