"""Builds one run (calendar, units, mechanisms, orders) and runs it in SimPy.

The engine owns the cadence: arrivals in time order, the monthly tick (月调度/考核) and the
quarterly tick (季分析) for every mechanism, whichever are enabled, and the horizon, where
open orders simply stay open.
"""

from __future__ import annotations

import gc
import time as wallclock
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from sim.activities import CENTRE
from sim.log import EventLog
from sim.mechanisms import REGISTRY
from sim.memory import as_array
from sim.model.clock import Environment  # noqa: F401  (re-exported: tests import it from here)
from sim.model.intake import Intake, compute_intake
from sim.model.kernel import ModelKernel
from sim.model.lifecycle import FATE_BITS, Lifecycle
from sim.model.state import RunState
from sim.port import Order, PolicyPort
from sim.scenario import Scenario


class Model(RunState):
    """One simulation run of a scenario with a seed: the run's state, its policies attached to
    the kernel, and the lifecycle; ``run()`` runs it."""

    def __init__(self, scn: Scenario, seed: int, stream_to: str | Path | None = None) -> None:
        super().__init__(scn, seed, stream_to)
        # the policies, each with its own parameters, attached to the narrow kernel
        self.kernel = ModelKernel(self)
        policies = [cls(getattr(scn.mechanisms, name)) for name, cls in REGISTRY.items()]
        for policy in policies:
            policy.attach(self.kernel)
        self.port = PolicyPort(policies)  # (after attach: what a policy takes part in may depend on it)
        self.lifecycle = Lifecycle(self)
        self.kernel.lifecycle = self.lifecycle

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
        self._count_first_signs(intake)
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

    def _count_first_signs(self, intake: Intake) -> None:
        """The first sign-fors, like the rest of intake, depend on nothing in the run: count
        them in the units' declared monthly indicators at once (by the month of the sign-for;
        the lifecycle counts sign-fors after a redispatch one by one)."""
        first = np.asarray(intake.first_time)
        unit = np.asarray(intake.first_unit)
        rows = (unit != CENTRE) & (first < self.horizon)
        month = np.searchsorted(self.month_starts, first[rows], side="right")  # (month_of)
        late = (first > np.asarray(intake.sign_due))[rows]
        n_months = len(self.month_starts) + 1
        size = len(self.units) * n_months
        key = unit[rows] * n_months + month
        signs = np.bincount(key, minlength=size).reshape(len(self.units), n_months)
        lates = np.bincount(key[late], minlength=size).reshape(len(self.units), n_months)
        for u, handling_unit in enumerate(self.units):
            for m in np.nonzero(signs[u])[0]:
                handling_unit.months[m].signs += int(signs[u, m])
                handling_unit.months[m].late_signs += int(lates[u, m])

    def _ticks(self) -> None:
        quarters = set(self.quarter_starts)
        for t in self.month_starts:
            self.schedule(t, self._tick, t in quarters)

    def _tick(self, quarter: bool) -> None:
        now = self.env.now
        self.log.maybe_flush(now)
        for on_month in self.port.hooks["on_month"]:
            on_month(now)
        if quarter:
            for on_quarter in self.port.hooks["on_quarter"]:
                on_quarter(now)

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
