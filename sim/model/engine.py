"""Builds one run (calendar, units, mechanisms, orders) and runs it in SimPy.

The engine owns the cadence: arrivals in time order, the monthly tick (月调度/考核) and the
quarterly tick (季分析) for every mechanism, whichever are enabled, and the horizon, where
open orders simply stay open.
"""

from __future__ import annotations

import datetime as dt
import gc
import time as wallclock
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import simpy
from simpy.events import NORMAL

from sim.activities import CENTRE
from sim.calendar import OfficeHours, WorkCalendar
from sim.demand import Orders, as_array, generate, responsible_units
from sim.log import EventLog, ParquetSink
from sim.mechanisms import REGISTRY
from sim.model.intake import compute_intake
from sim.model.lifecycle import FATE_BITS, Lifecycle
from sim.model.order import REVIEW, Order
from sim.model.units import MonthCounters, Unit
from sim.rng import Streams
from sim.scenario import CATEGORIES, MECHANISMS, Scenario, calendar_margin_days


def _fire(ev: Wake) -> None:
    if ev.version < 0 or ev.version == ev.order.version:
        ev.fn(ev.order)


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
        self.env = simpy.Environment()
        self._schedule = self.env.schedule
        self.cal = build_calendar(scn)
        self.horizon = scn.horizon_hours
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
        self.orders: Orders = generate(scn, self.streams)
        self.responsible = responsible_units(scn, self.orders)
        self.mechanisms = _Mechanisms(scn)
        self.team = self.mechanisms.one_team
        self.lifecycle = Lifecycle(self)
        for mech in self.mechanisms:
            mech.attach(self)

    # -- scheduling -----------------------------------------------------------------------------
    def schedule(self, when: float, fn: Callable[[Any], None], order: Any, version: int = -1) -> None:
        """Call ``fn(order)`` at time ``when`` (skipped if ``version`` >= 0 and stale).

        A wake-up at or after the horizon could never fire (the run stops there first), so
        it is not scheduled: the event queue holds only what can still happen."""
        if when >= self.horizon:
            return
        ev = Wake()
        ev.fn = fn
        ev.order = order
        ev.version = version
        ev.callbacks = Wake.FIRE
        self._schedule(ev, NORMAL, when - self.env.now)

    # -- cadence ----------------------------------------------------------------------------------
    def _arrivals(self) -> None:
        """Intake for all orders at once, then one chain of wake-ups, each at an order's
        first event (sign-for, or the centre's answer) in time order."""
        intake = compute_intake(self, FATE_BITS)
        o = self.orders
        # typed arrays: scalar indexing is as fast as a list's, at 1/4 of the memory
        times, first, dues = as_array("d", o.time), as_array("d", intake.first_time), as_array("d", intake.due_std)
        cats, topics, resp = as_array("b", o.category), as_array("q", o.topic), as_array("q", self.responsible)
        urgent, hard = as_array("b", o.urgent), as_array("b", o.hard)
        units, used = as_array("q", intake.first_unit), as_array("q", intake.used_bits)
        sequence = as_array("q", intake.sequence)
        sign, centre_reply = self.lifecycle.sign, self.lifecycle.centre_reply
        horizon = self.horizon
        state = {"k": 0}

        def first_event(_: object) -> None:
            k = state["k"]
            i = sequence[k]
            order = Order(i, cats[i], bool(urgent[i]), topics[i], bool(hard[i]), resp[i])
            order.arrival = times[i]
            order.unit = units[i]
            order.used = used[i]
            if units[i] == CENTRE:
                order.due_std = order.due_unit = dues[i]
                order.phase = REVIEW
                centre_reply(order)
            else:
                sign(order)
            k += 1
            state["k"] = k
            if not k & 0xFFFF:
                self.log.maybe_flush()
            if k < len(sequence) and first[sequence[k]] < horizon:
                self.schedule(first[sequence[k]], first_event, None)

        if len(sequence) and first[sequence[0]] < horizon:
            self.schedule(first[sequence[0]], first_event, None)

    def _ticks(self) -> None:
        start = self.scn.run.start
        month = dt.date(start.year, start.month, 1)
        k = 0
        while True:
            month = dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
            t = self.cal.to_hours(month)
            if t >= self.horizon:
                break
            k += 1
            self.schedule(t, self._tick, (k, month.month in (1, 4, 7, 10)))

    def _tick(self, arg: tuple[int, bool]) -> None:
        _, quarter = arg
        now = self.env.now
        for mech in self.mechanisms:
            mech.on_month(now)
        if quarter:
            for mech in self.mechanisms:
                mech.on_quarter(now)
        for unit in self.units:
            unit.month = MonthCounters()

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
    return log
