"""The kernel a policy acts through (``sim.port.Kernel``): the model's clock, calendar,
log, random streams and a few levers on orders and units, and nothing else of it."""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any

from sim.activities import Act
from sim.calendar import WorkCalendar
from sim.model.units import free_handlers
from sim.port import Order, UnitMonth
from sim.rng import Stream

if TYPE_CHECKING:
    import numpy as np

    from sim.model.lifecycle import Lifecycle
    from sim.model.state import RunState


class ModelKernel:
    """``sim.port.Kernel`` over one run (the engine sets ``lifecycle`` once it is built)."""

    def __init__(self, model: RunState) -> None:
        self._m = model
        self.lifecycle: Lifecycle | None = None
        self.cal: WorkCalendar = model.cal
        self.horizon: float = model.horizon
        self.schedule: Callable[[float, Callable[[Any], None], Any], None] = model.schedule
        self._record = model.log.record
        self._units = model.units

    @property
    def now(self) -> float:
        return self._m.env.now

    def record(self, order: int, activity: int, time: float, unit: int,
               due: float = math.nan, value: float = math.nan, outcome: int = -1) -> None:
        self._record(order, activity, time, unit, due, value, outcome)
        if activity == Act.CRITICISE and unit >= 0:  # a declared indicator (UnitMonth)
            self._units[unit].months[self._m.month_of(time)].criticisms += 1

    def stream(self, name: str) -> Stream:
        return self._m.streams[name]

    def numpy_stream(self, name: str) -> np.random.Generator:
        return self._m.streams.numpy(name)

    def month_of(self, t: float) -> int:
        return self._m.month_of(t)

    def quarter_of(self, t: float) -> int:
        return self._m.quarter_of(t)

    def next_quarter_start(self, t: float) -> float:
        return self._m.next_quarter_start(t)

    def raise_priority(self, order: Order) -> None:
        self.lifecycle.raise_priority(order)

    def compress_lead(self, order: Order, share: float) -> None:
        self.lifecycle.compress_lead(order, share)

    def book_handler_time(self, order: Order, hours: float) -> float:
        """The first handler of the order's unit to be free does the work, in office hours:
        now if one is free, else at the earliest release (before any queued order, which
        waits that much longer).  Logged as WORK at its start (value = hours)."""
        unit = self._units[order.unit]
        now = self.now
        releases = unit.releases
        start = now if free_handlers(unit, now) > 0 else heappop(releases)
        end = self.cal.add_working_hours(start, hours)
        heappush(releases, end)
        if start < self.horizon:  # (work that begins after the run is not in its log)
            self._record(order.id, Act.WORK, start, unit.index, value=hours)
        return end

    def unit_count(self) -> int:
        return len(self._units)

    def unit_handlers(self, unit: int) -> int:
        return self._units[unit].handlers

    def unit_waiting(self, unit: int) -> int:
        return self._units[unit].waiting()

    def change_capacity(self, unit: int, change: int) -> None:
        u = self._units[unit]
        u.capacity += change
        if change > 0:
            self.lifecycle.start_queued(u)

    def set_speed(self, unit: int, speed: float) -> None:
        self._units[unit].speed = speed

    def unit_month(self, unit: int, month: int) -> UnitMonth:
        return self._units[unit].months[month]
