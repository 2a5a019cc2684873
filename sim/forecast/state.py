"""The mechanisms' state at a snapshot, carried into the warm start (docs/forecast.md).

A run that has gone on for months is not in its 1 January state: the monthly assessment
(一套指标 ``one_set``) has raised the pace of the units it ranked low, the monthly meeting
(一个模式 ``one_model``, 月调度) has lent handlers to the units with a queue, and the
resolution plans (一个方案 ``one_plan``) adopted so far speed up and resolve the hard cases
of their topics.  Each of these is a decision of the district, recorded as a system event
of the log (ASSESS, CAPACITY, PLAN) and known to the centre (the league table, the meeting's
minutes, the plans are published); none is a hidden attribute of an order.  Not carried in
(they start afresh at the snapshot): the current quarter's count of badly closed hard cases
(a plan's trigger; it needs the hidden hard-case flag) and the supervision team's (一支队伍)
per-order warnings and reminders.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.activities import Act
from sim.model.warm import MechanismState

__all__ = ["MechanismState", "state_at"]


def state_at(events: pd.DataFrame, at: float, n_units: int) -> MechanismState:
    """The mechanisms' state at hour ``at`` from a run's event log (the coded columns of
    ``sim.result.Result.events``; its system events have order -1): each unit's last ASSESS
    value; the handlers lent at the last monthly meeting (they go back at the next one);
    every PLAN.  A meeting at ``at`` itself counts (a warm start holds its first meeting at
    the next month's start, not at its own start)."""
    ev = events[(events["order"].to_numpy() < 0) & (events["time"].to_numpy() <= at)]
    act = ev["activity"].to_numpy()
    state = MechanismState.fresh(n_units)
    assess = ev[act == int(Act.ASSESS)]
    for unit, value in assess.groupby("unit", sort=True)["value"].last().items():
        state.speed[int(unit)] = float(value)
    capacity = ev[act == int(Act.CAPACITY)]
    if len(capacity):
        # the last meeting: every CAPACITY event at its time (the return of last month's
        # handlers and the new loans are recorded at the same instant)
        meeting = capacity[capacity["time"].to_numpy() == capacity["time"].max()]
        lent = meeting[meeting["value"].to_numpy() > 0]
        for unit, value in zip(lent["unit"].to_numpy(), lent["value"].to_numpy(), strict=True):
            state.lent[int(unit)] += int(round(value))
    plans = ev[act == int(Act.PLAN)]
    state.planned = {int(t) for t in np.asarray(plans["value"].to_numpy(), dtype=float)}
    return state
