"""The state of one run that the lifecycle, the intake and the kernel share: scenario,
clock, calendar, random streams, log, units, orders and the calendar months and quarters.

The engine (``sim.model.engine.Model``) extends it with the policies and the lifecycle and
runs it; the modules that only need the state import this one, so no module of the model
imports the engine (no import cycle, not even for type hints).
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from pathlib import Path
from typing import TYPE_CHECKING

from sim.demand import Orders, generate, responsible_units
from sim.log import EventLog, ParquetSink
from sim.model.clock import Environment
from sim.model.units import Unit
from sim.port import UnitMonth
from sim.rng import Streams
from sim.scenario import CATEGORIES, Scenario, build_calendar

if TYPE_CHECKING:
    from sim.port import PolicyPort


class RunState:
    """What one run of a scenario with a seed holds (see the module docstring)."""

    port: PolicyPort  # set by the engine before the lifecycle is built

    def __init__(self, scn: Scenario, seed: int, stream_to: str | Path | None = None) -> None:
        self.scn = scn
        self.seed = seed
        self.horizon = scn.horizon_hours
        self.env = Environment(self.horizon)
        self.schedule = self.env.call_at  # schedule(when, fn, arg[, version]): the model's one timer
        self.cal = build_calendar(scn)
        self.streams = Streams(seed)
        self.log = EventLog(ParquetSink(stream_to) if stream_to else None)
        self.categories = CATEGORIES
        self.units = [Unit(i, u.name, u.kind, n) for i, (u, n) in enumerate(zip(scn.units, scn.unit_handlers(), strict=True))]
        self.month_starts, self.quarter_starts = self._period_starts()
        for unit in self.units:
            unit.months = [UnitMonth() for _ in range(len(self.month_starts) + 1)]
        self.orders: Orders = generate(scn, self.streams)
        self.responsible = responsible_units(scn, self.orders)

    def _period_starts(self) -> tuple[list[float], list[float]]:
        """Times (hours) at which each calendar month and quarter after the start begins,
        within the horizon: the monthly (月调度/考核) and quarterly (季分析) ticks."""
        start = self.scn.run.start
        month = dt.date(start.year, start.month, 1)
        months, quarters = [], []
        while True:
            month = dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
            t = self.cal.to_hours(month)
            if t >= self.horizon:
                return months, quarters
            months.append(t)
            if month.month in (1, 4, 7, 10):
                quarters.append(t)

    def month_of(self, t: float) -> int:
        """Index of the month (0 = the start's, partial) that time ``t`` falls in."""
        return bisect_right(self.month_starts, t)

    def quarter_of(self, t: float) -> int:
        """Index of the quarter (0 = the start's, partial) that time ``t`` falls in."""
        return bisect_right(self.quarter_starts, t)

    def next_quarter_start(self, t: float) -> float:
        """When the quarter after the one ``t`` falls in begins (inf: not within the run)."""
        q = self.quarter_of(t)
        return self.quarter_starts[q] if q < len(self.quarter_starts) else math.inf
