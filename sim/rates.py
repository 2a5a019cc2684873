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


def _hour_profile(scn: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Un-surged relative rate and surge factor of every hour of the horizon."""
    d = scn.demand
    days = scn.run.horizon_days
    dates = [scn.run.start + dt.timedelta(days=i) for i in range(days)]
    day_w = np.array(
        [d.month_weights[x.month - 1] * d.weekday_weights[x.weekday()] for x in dates], dtype=float
    )
    surge = np.ones(days)
    for s in d.surges:
        for i, x in enumerate(dates):
            if s.start <= x <= s.end:
                surge[i] *= s.factor
    hour_w = np.asarray(d.hour_weights, dtype=float)
    profile = np.outer(day_w, hour_w).ravel()
    return profile, np.repeat(surge, 24)


def hourly_rates(scn: Scenario) -> np.ndarray:
    """Expected arrivals in each hour of the horizon (orders per hour)."""
    profile, surge = _hour_profile(scn)
    total = profile.sum()
    if total <= 0:
        return np.zeros_like(profile)
    expected_unsurged = scn.demand.annual_orders * scn.run.horizon_days / 365.0
    return expected_unsurged * profile / total * surge


def expected_volume(scn: Scenario) -> float:
    """Expected orders over the horizon (surges and the initial backlog included)."""
    return float(hourly_rates(scn).sum()) + scn.initial_backlog.orders


