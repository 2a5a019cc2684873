"""The demand rate function: expected arrivals per hour of the horizon (month x weekday x
hour-of-day profile, public holidays, surges), and the surges' effect on each topic.

It reads only the scenario's data (and the holiday calendar), so it sits beside the schema
in the bottom layer: the scenario's own volume check (``Scenario.expected_orders``) and the
arrival process (``sim.demand.generate``) use these functions.  It takes any object shaped
like a scenario (``run``, ``calendar``, ``demand``, ``topics``, ``initial_backlog``), not the
schema class itself, so that the schema can call it without an import cycle.

Two layers: the *base* rate (``base_hourly_rates``: annual volume x profiles x holidays,
no surges) and the surges, as a multiplier per day and topic (``surge_topic_multipliers``).
The generator draws the base process first and adds or thins the surges' orders on top
(common random numbers); ``hourly_rates`` is their product, the expected total.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

Scenario = Any  # a sim.scenario.Scenario (duck-typed: see the module docstring)


def _holidays(scn: Scenario, first: dt.date, days: int) -> np.ndarray:
    """Official public holidays among ``days`` days from ``first`` (bool array)."""
    from sim.calendar import holiday_flags

    special = {d.date: d.working for d in scn.calendar.special_days}
    return np.array(holiday_flags(first, days, scn.calendar.holidays, special), dtype=bool)


def _day_weights(scn: Scenario, dates: list[dt.date]) -> np.ndarray:
    """Relative volume of each day (consecutive ``dates``): month x weekday weight, and on
    an official holiday, when ``demand.holiday_weight`` is set, month x holiday_weight x
    the mean weekday weight (a holiday is a holiday whatever its weekday)."""
    d = scn.demand
    weights = np.array(
        [d.month_weights[x.month - 1] * d.weekday_weights[x.weekday()] for x in dates], dtype=float
    )
    if d.holiday_weight is not None and dates:
        ordinary = sum(d.weekday_weights) / 7.0
        for i in np.flatnonzero(_holidays(scn, dates[0], len(dates))):
            weights[i] = d.month_weights[dates[i].month - 1] * d.holiday_weight * ordinary
    return weights


def _dates(scn: Scenario) -> list[dt.date]:
    return [scn.run.start + dt.timedelta(days=i) for i in range(scn.run.horizon_days)]


def year_profile_totals(scn: Scenario) -> dict[int, float]:
    """For each calendar year the horizon touches, the month x weekday x hour profile (with
    holidays) summed over that whole year (1 January to 31 December): the reference that
    turns the profile into a rate, so a year of the profile holds ``annual_orders`` whatever
    the run's start and length (a window of a longer run sees the same rates as a short run
    over it), and a holiday effect moves orders between days without changing the year's."""
    last = scn.run.start + dt.timedelta(days=scn.run.horizon_days - 1)
    hour_w = np.asarray(scn.demand.hour_weights, dtype=float)
    totals = {}
    for year in range(scn.run.start.year, last.year + 1):
        first = dt.date(year, 1, 1)
        n = (dt.date(year + 1, 1, 1) - first).days
        dates = [first + dt.timedelta(days=i) for i in range(n)]
        totals[year] = float(np.outer(_day_weights(scn, dates), hour_w).ravel().sum())
    return totals


def base_hourly_rates(scn: Scenario) -> np.ndarray:
    """Expected arrivals in each hour of the horizon without surges (orders per hour, shape
    ``(horizon_days * 24,)``): ``annual_orders`` spread over each calendar year by the
    profile (see ``year_profile_totals``).  (For a run of exactly one calendar year this is
    the same arithmetic, so the same floats, as normalising over the horizon.)"""
    dates = _dates(scn)
    hour_w = np.asarray(scn.demand.hour_weights, dtype=float)
    profile = np.outer(_day_weights(scn, dates), hour_w).ravel()
    totals = year_profile_totals(scn)
    total = np.repeat(np.array([totals[x.year] for x in dates], dtype=float), 24)
    rates = np.zeros_like(profile)
    ok = total > 0
    rates[ok] = scn.demand.annual_orders * profile[ok] / total[ok]
    return rates


def surge_multipliers(surge: Any, shares: np.ndarray, index: dict[str, int]) -> np.ndarray:
    """One surge's multiplier on each topic's rate (shape ``(topics,)``), from the topics'
    base ``shares`` (sum 1) and ``index`` (topic name -> position).

    All-orders surge: ``factor`` for every topic.  Topic surge with ``topics_share`` s over
    named topics of base share b: the named topics x ``s * factor / b``, the others
    x ``(1 - s) * factor / (1 - b)``, so the total rises by ``factor`` and the named topics
    make s of it.  Without ``topics_share``: the named topics x ``(b + factor - 1) / b``, the
    others x 1 (every extra order is in the named topics).  The scenario's checks guarantee
    b > 0, b < 1 with a share, and non-negative multipliers."""
    m = np.full(len(shares), float(surge.factor))
    if not surge.topics:
        return m
    named = np.zeros(len(shares), dtype=bool)
    named[[index[t] for t in surge.topics]] = True
    b = float(shares[named].sum())
    if surge.topics_share is None:
        m[:] = 1.0
        m[named] = (b + surge.factor - 1.0) / b
    else:
        s = float(surge.topics_share)
        m[named] = s * surge.factor / b
        m[~named] = (1.0 - s) * surge.factor / (1.0 - b)
    return m


def surge_topic_multipliers(scn: Scenario) -> np.ndarray | None:
    """Each day's multiplier on each topic's base rate (shape ``(horizon_days, topics)``):
    the product of the surges covering that day; None without surges."""
    surges = scn.demand.surges
    if not surges:
        return None
    shares = np.array([t.share for t in scn.topics], dtype=float)
    index = {t.name: i for i, t in enumerate(scn.topics)}
    out = np.ones((scn.run.horizon_days, len(shares)))
    for s in surges:
        a = (s.start - scn.run.start).days
        b = (s.end - scn.run.start).days + 1
        out[max(a, 0) : max(b, 0)] *= surge_multipliers(s, shares, index)
    return out


def surge_day_factors(scn: Scenario) -> np.ndarray:
    """Each day's multiplier on the total rate (shape ``(horizon_days,)``): the topics'
    multipliers weighted by their base shares; ones without surges."""
    m = surge_topic_multipliers(scn)
    if m is None:
        return np.ones(scn.run.horizon_days)
    return m @ np.array([t.share for t in scn.topics], dtype=float)


def hourly_rates(scn: Scenario) -> np.ndarray:
    """Expected arrivals in each hour of the horizon (orders per hour, shape
    ``(horizon_days * 24,)``): ``base_hourly_rates`` times the surges."""
    rates = base_hourly_rates(scn)
    if scn.demand.surges:
        rates = rates * np.repeat(surge_day_factors(scn), 24)
    return rates


def expected_volume(scn: Scenario) -> float:
    """Expected orders over the horizon (surges and the initial backlog included)."""
    return float(hourly_rates(scn).sum()) + scn.initial_backlog.orders
