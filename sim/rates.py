"""The demand rate function: expected arrivals per hour of the horizon (month x weekday x
hour-of-day profile x surges).

It reads only the scenario's data, so it sits beside the schema in the bottom layer: the
scenario's own volume check (``Scenario.expected_orders``) and the arrival process
(``sim.demand.generate``) use this one function.  It takes any object shaped like a
scenario (``run``, ``demand``, ``initial_backlog``), not the schema class itself, so that the
schema can call it without an import cycle.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

Scenario = Any  # a sim.scenario.Scenario (duck-typed: see the module docstring)


def _day_weights(scn: Scenario, dates: list[dt.date]) -> np.ndarray:
    d = scn.demand
    return np.array(
        [d.month_weights[x.month - 1] * d.weekday_weights[x.weekday()] for x in dates], dtype=float
    )


def _hour_profile(scn: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Un-surged relative rate and surge factor of every hour of the horizon."""
    d = scn.demand
    days = scn.run.horizon_days
    dates = [scn.run.start + dt.timedelta(days=i) for i in range(days)]
    day_w = _day_weights(scn, dates)
    surge = np.ones(days)
    for s in d.surges:
        for i, x in enumerate(dates):
            if s.start <= x <= s.end:
                surge[i] *= s.factor
    hour_w = np.asarray(d.hour_weights, dtype=float)
    profile = np.outer(day_w, hour_w).ravel()
    return profile, np.repeat(surge, 24)


def year_profile_totals(scn: Scenario) -> dict[int, float]:
    """For each calendar year the horizon touches, the month x weekday x hour profile summed
    over that whole year (1 January to 31 December): the reference that turns the profile
    into a rate, so a year of the profile holds ``annual_orders`` whatever the run's start
    and length (a window of a longer run sees the same rates as a short run over it)."""
    last = scn.run.start + dt.timedelta(days=scn.run.horizon_days - 1)
    hour_w = np.asarray(scn.demand.hour_weights, dtype=float)
    totals = {}
    for year in range(scn.run.start.year, last.year + 1):
        first = dt.date(year, 1, 1)
        n = (dt.date(year + 1, 1, 1) - first).days
        dates = [first + dt.timedelta(days=i) for i in range(n)]
        totals[year] = float(np.outer(_day_weights(scn, dates), hour_w).ravel().sum())
    return totals


def hourly_rates(scn: Scenario) -> np.ndarray:
    """Expected arrivals in each hour of the horizon (orders per hour): ``annual_orders``
    spread over each calendar year by the profile (see ``year_profile_totals``), times
    the surges.  (For a run of exactly one calendar year this is the same arithmetic, so
    the same floats, as normalising over the horizon.)"""
    profile, surge = _hour_profile(scn)
    start = scn.run.start
    years = [(start + dt.timedelta(days=i)).year for i in range(scn.run.horizon_days)]
    totals = year_profile_totals(scn)
    total = np.repeat(np.array([totals[y] for y in years], dtype=float), 24)
    rates = np.zeros_like(profile)
    ok = total > 0
    rates[ok] = scn.demand.annual_orders * profile[ok] / total[ok] * surge[ok]
    return rates


def expected_volume(scn: Scenario) -> float:
    """Expected orders over the horizon (surges and the initial backlog included)."""
    return float(hourly_rates(scn).sum()) + scn.initial_backlog.orders


