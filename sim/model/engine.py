"""Builds one run (calendar, units, mechanisms, orders) and runs it in SimPy.

The engine owns the cadence: arrivals in time order, the monthly tick (月调度/考核) and the
quarterly tick (季分析) for every mechanism, whichever are enabled, and the horizon, where
open orders simply stay open.
"""

from __future__ import annotations

import datetime as dt
import gc
import math
import time as wallclock
from bisect import bisect_right
from collections.abc import Callable
from contextlib import contextmanager
from heapq import heappush
from pathlib import Path
from typing import Any

import numpy as np
import simpy
from simpy.events import NORMAL, URGENT

from sim.activities import CENTRE
from sim.calendar import OfficeHours, WorkCalendar
from sim.demand import Orders, as_array, generate, responsible_units
from sim.log import EventLog, ParquetSink
from sim.mechanisms import REGISTRY
from sim.memory import release_freed_memory
from sim.model.intake import compute_intake
from sim.model.lifecycle import FATE_BITS, Lifecycle
from sim.model.order import REVIEW, Order
from sim.model.units import MonthCounters, Unit
from sim.rng import Streams
from sim.scenario import CATEGORIES, MECHANISMS, Scenario, calendar_margin_days


def _fire(ev: Wake) -> None:
    if ev.version < 0 or ev.version == ev.order.version:
        ev.fn(ev.order)


class Environment(simpy.Environment):
    """SimPy's environment with one addition, ``call_at``: a call at an absolute time.

    The model computes every time as an absolute time; ``schedule(event, delay=when - now)``
    would store ``now + (when - now)``, which can differ from ``when`` in the last bit, so
    the event is queued at ``when`` itself (the same queue entry ``schedule`` makes).

    Calls due on a later day wait in a bucket for their day (a calendar queue) and join
    SimPy's heap when the day begins, with the queue entry they got when scheduled; the
    heap stays about a day's events long instead of every pending deadline, and the order
    of processing is exactly SimPy's (time, priority, scheduling sequence)."""

    DAY = 24.0

    def __init__(self, horizon: float) -> None:
        super().__init__()
        self.horizon = horizon
        self._later: dict[int, list] = {}  # day -> queue entries due that day
        self._day_end = self.DAY  # calls before this go straight to the heap
        self._queue_day_start(self.DAY)

    def _queue_day_start(self, when: float) -> None:
        ev = Wake()
        ev.fn, ev.order, ev.version, ev.callbacks = self._begin_day, None, -1, Wake.FIRE
        heappush(self._queue, (when, URGENT, next(self._eid), ev))

    def _begin_day(self, _: None) -> None:
        """At 00:00 (before any other event of the day): the day's calls join the heap."""
        day = int(self._now // self.DAY)
        self._day_end = (day + 1) * self.DAY
        for entry in self._later.pop(day, ()):
            heappush(self._queue, entry)
        if self._day_end < self.horizon:
            self._queue_day_start(self._day_end)

    def call_at(self, when: float, fn: Callable[[Any], None], arg: Any, version: int = -1) -> None:
        """Call ``fn(arg)`` at time ``when``; with a ``version`` >= 0, only if the order
        ``arg``'s version is still that (its plan did not change since).

        A call at or after the horizon could never happen (the run stops there first), so
        it is not queued: the event queue holds only what can still happen."""
        if when >= self.horizon:
            return
        ev = Wake()
        ev.fn = fn
        ev.order = arg
        ev.version = version
        ev.callbacks = Wake.FIRE
        if when < self._day_end:
            heappush(self._queue, (when, NORMAL, next(self._eid), ev))
        else:
            self._later.setdefault(int(when // self.DAY), []).append((when, NORMAL, next(self._eid), ev))


class Wake:
    """A minimal SimPy event (the documented event protocol: ``callbacks`` and ``_ok``) that
    calls ``fn(order)`` when processed, unless the order's plan changed since (``version``)."""

    __slots__ = ("callbacks", "fn", "order", "version")
    _ok = True  # it always succeeds
    _value = None
    FIRE = (_fire,)  # SimPy iterates callbacks once and then sets them to None


def build_calendar(scn: Scenario) -> WorkCalendar:
    days = scn.run.horizon_days + calendar_margin_days(scn)
    office = OfficeHours(tuple((float(a), float(b)) for a, b in scn.calendar.office_hours))
    return WorkCalendar(scn.run.start, days, office, scn.calendar.holidays)


class Model:
    """One simulation run of a scenario with a seed."""

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
        factors = self.streams.numpy("units").uniform(
            scn.mechanisms.one_standard.unit_limit_factor_min,
            scn.mechanisms.one_standard.unit_limit_factor_max,
            len(scn.units),
        )
        self.units = [
            Unit(i, u.name, u.kind, u.handlers, float(factors[i])) for i, u in enumerate(scn.units)
        ]
        self.month_starts, self.quarter_starts = self._period_starts()
        self.next_quarter_start = self._next_quarter_start(0.0)
        for unit in self.units:
            unit.months = [MonthCounters() for _ in range(len(self.month_starts) + 1)]
        self.orders: Orders = generate(scn, self.streams)
        self.responsible = responsible_units(scn, self.orders)
        self.mechanisms = _Mechanisms(scn)
        self.team = self.mechanisms.one_team
        self.lifecycle = Lifecycle(self)
        for mech in self.mechanisms:
            mech.attach(self)

    # -- cadence ----------------------------------------------------------------------------------
    def _arrivals(self) -> None:
        """Intake for all orders at once, then one chain of wake-ups, each at an order's
        first event (sign-for, or the centre's answer) in time order."""
        intake = compute_intake(self, FATE_BITS)
        o = self.orders
        for name in self.lifecycle.consumed_u:  # free what no order reads one by one
            o.uniforms.pop(name, None)
        for name in self.lifecycle.consumed_z:
            o.normals.pop(name, None)
        # typed arrays: scalar indexing is as fast as a list's, at 1/4 of the memory
        times, dues = as_array("d", o.time), as_array("d", intake.due_std)
        cats, topics, resp = as_array("b", o.category), as_array("i", o.topic), as_array("i", self.responsible)
        urgent, hard = as_array("b", o.urgent), as_array("b", o.hard)
        units, used = as_array("i", intake.first_unit), as_array("q", intake.used_bits)
        sequence = as_array("q", intake.sequence)
        first_in_sequence = as_array("d", np.asarray(intake.first_time)[np.asarray(intake.sequence)])
        n = len(sequence)
        sign_at, centre_reply = self.lifecycle.sign_at, self.lifecycle.centre_reply
        schedule = self.schedule
        k = 0

        def first_event(_: object) -> None:
            nonlocal k
            i = sequence[k]
            now = first_in_sequence[k]
            order = Order(i, cats[i], urgent[i], topics[i], hard[i], resp[i])  # flags as 0/1
            order.arrival = times[i]
            order.unit = unit = units[i]
            order.used = used[i]
            if unit == CENTRE:
                order.due_std = order.due_unit = dues[i]
                order.phase = REVIEW
                centre_reply(order)
            else:
                sign_at(order, now)
            k += 1
            if not k & 0xFFF:
                self.log.maybe_flush(now)
            if k < n:
                schedule(first_in_sequence[k], first_event, None)  # (dropped past the horizon)

        if n:
            schedule(first_in_sequence[0], first_event, None)

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

    def _next_quarter_start(self, t: float) -> float:
        """When the quarter after the one ``t`` falls in begins (inf: not within the run)."""
        q = self.quarter_of(t)
        return self.quarter_starts[q] if q < len(self.quarter_starts) else math.inf

    def _ticks(self) -> None:
        quarters = set(self.quarter_starts)
        for t in self.month_starts:
            self.schedule(t, self._tick, t in quarters)

    def _tick(self, quarter: bool) -> None:
        now = self.env.now
        self.log.maybe_flush(now)
        for mech in self.mechanisms:
            mech.on_month(now)
        if quarter:
            for mech in self.mechanisms:
                mech.on_quarter(now)
            self.next_quarter_start = self._next_quarter_start(now)

    def run(self) -> EventLog:
        started = wallclock.perf_counter()
        self._arrivals()
        self._ticks()
        with _no_cyclic_gc():
            self.env.run(until=self.horizon)
        self.log.close()
        self.log.cases = self._case_table()
        self.log.meta = {
            "seed": self.seed,
            "scenario": self.scn.name,
            "horizon_hours": self.horizon,
            "start": self.scn.run.start.isoformat(),
            "wall_seconds": wallclock.perf_counter() - started,
            "orders_generated": int(len(self.orders)),
        }
        return self.log

    def _case_table(self) -> dict[str, np.ndarray]:
        o = self.orders
        arrived = o.time < self.horizon
        return {
            "order": np.nonzero(arrived)[0].astype(np.int32),
            "category": o.category[arrived].astype(np.int8),
            "urgent": o.urgent[arrived],
            "topic": o.topic[arrived].astype(np.int16),
            "channel": o.channel[arrived].astype(np.int8),
            "hard": o.hard[arrived],
            "responsible": self.responsible[arrived].astype(np.int16),
        }


@contextmanager
def _no_cyclic_gc():
    """Pause Python's cyclic garbage collector during the run.

    A run allocates millions of short-lived objects (wake-ups, orders) that form no reference
    cycles and are freed by reference counting; the collector would only rescan the live
    ones again and again, a cost that grows with the number of orders in progress (it made
    a city year superlinear).  The previous state is restored afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Mechanisms:
    """The six mechanism objects by name, iterable in the scenario's order."""

    def __init__(self, scn: Scenario) -> None:
        self._items = [REGISTRY[name](getattr(scn.mechanisms, name)) for name in MECHANISMS]
        for m in self._items:
            setattr(self, m.name, m)

    def __iter__(self):
        return iter(self._items)


def run_model(scn: Scenario, seed: int, stream_to: str | Path | None = None) -> EventLog:
    """Simulate ``scn`` with ``seed`` and return its event log (streamed to a Parquet file
    as the run goes when ``stream_to`` is given)."""
    model = Model(scn, seed, stream_to)
    log = model.run()
    # the model holds reference cycles (model <-> lifecycle <-> mechanisms): free its orders,
    # fate draws and queues now, before the caller builds its tables, not at some later GC
    del model
    gc.collect()
    release_freed_memory()
    return log
