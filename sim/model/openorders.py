"""The open-order table a warm start resumes, and the two ways it is filled: a forecast's
snapshot or export (``sim.forecast``) and the scenario's ``initial_backlog`` (here).

One row per open order (``COLUMNS``), times in hours relative to the run's start (negative:
before it).  Whatever made the table, ``sim.model.warm.WarmModel`` resumes it, so there is
one way to start from open orders (issue 16).  ``prepare`` turns each row's stage start into
the age the model conditions its remaining durations on.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.demand import backlog_orders, responsible_units
from sim.rng import Streams
from sim.scenario import Scenario, build_calendar, from_dict

# stages an open order can be resumed at (docs/forecast.md); the code is the SNAPSHOT event's outcome
STAGES = ("unsigned", "waiting", "handling", "extended", "replied", "reopened", "centre")
STAGE_CODE = {name: i for i, name in enumerate(STAGES)}
# what the order awaits when it is unsigned: a sign-for, its return (signed by a wrong unit), a redispatch
UNSIGNED_DETAIL = ("sign", "return", "redispatch")

COLUMNS = (
    "order", "category", "urgent", "topic", "channel", "responsible", "unit", "stage", "detail",
    "arrival", "sign_due", "due", "since", "hops", "reopens", "rounds", "extensions", "escalated",
)


def initial_backlog_table(scn: Scenario, seed: int) -> pd.DataFrame:
    """The scenario's ``initial_backlog`` as open orders (``COLUMNS``): ``orders`` orders
    dispatched at time 0 to their responsible unit, awaiting its sign-for (stage
    ``unsigned``, age 0, no history), with the sign-for deadline the intake gives an arrival.

    Their attributes (category, urgency, topic, street, channel) are drawn as an arrival's
    are, from streams of their own (``backlog.*``, ``sim.demand.backlog_orders``), so the
    scenario's arrivals keep every draw of the same seed's run without a backlog (common
    random numbers).  Empty (no rows) when the scenario has no backlog."""
    n = scn.initial_backlog.orders
    orders = backlog_orders(scn, Streams(seed), n)
    responsible = responsible_units(scn, orders)
    cal = build_calendar(scn)
    lim = scn.time_limits
    urgent = np.asarray(orders.urgent, dtype=bool)
    normal_due = cal.add_working_hours(0.0, lim.sign_working_days * cal.hours_per_day)
    sign_due = np.where(urgent, lim.sign_urgent_hours, normal_due)
    zeros = np.zeros(n, dtype=np.int64)
    return pd.DataFrame({
        "order": np.arange(n, dtype=np.int64), "category": orders.category.astype(np.int64),
        "urgent": urgent, "topic": orders.topic.astype(np.int64),
        "channel": orders.channel.astype(np.int64), "responsible": responsible.astype(np.int64),
        "unit": responsible.astype(np.int64), "stage": ["unsigned"] * n, "detail": ["sign"] * n,
        "arrival": np.zeros(n), "sign_due": sign_due, "due": np.full(n, np.nan), "since": np.zeros(n),
        "hops": zeros, "reopens": zeros, "rounds": zeros, "extensions": zeros,
        "escalated": np.zeros(n, dtype=bool),
    }, columns=list(COLUMNS))


@dataclass
class Prepared:
    """Per open order, the time its stage has lasted in the units the model draws it in, and
    the working hours before the start (from a calendar that reaches back to the oldest)."""

    ages: np.ndarray
    before: Callable[[float], float] = field(repr=False)


def prepare(scn: Scenario, table: pd.DataFrame) -> Prepared:
    """Ages of the open orders' stages at the start of ``scn``'s run (working hours; clock
    hours if urgent or at the centre), and ``before(t)``: the working hours from ``t`` < 0 to
    the start, measured on a calendar with ``scn``'s settings built back to the oldest time
    in ``table``."""
    oldest = float(min(table["arrival"].min(), table["since"].min(), table["due"].min(skipna=True), 0.0)) \
        if len(table) else 0.0
    back_days = int(math.ceil(-oldest / 24.0)) + 2
    data = scn.model_dump(mode="python")
    data["run"]["start"] = scn.run.start - dt.timedelta(days=back_days)
    data["run"]["horizon_days"] = back_days + 1
    data["demand"]["surges"] = []
    age_cal = build_calendar(from_dict(data, "age calendar"))
    zero = back_days * 24.0
    clock0 = age_cal.working_clock(zero)

    def before(t: float) -> float:
        return clock0 - age_cal.working_clock(zero + t)

    ages = np.zeros(len(table))
    for i, row in enumerate(table.itertuples(index=False)):
        if row.stage == "centre":
            ages[i] = -row.arrival
        elif row.urgent:
            ages[i] = -row.since
        else:
            ages[i] = before(row.since)
    return Prepared(ages, before)
