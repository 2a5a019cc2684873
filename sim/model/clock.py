"""The event queue: SimPy's environment with a calendar queue for calls on later days.

SimPy's private state is written here (the heap ``_queue`` and the id counter ``_eid``), so
that a call queued in a day bucket joins the heap with the entry it got when scheduled and
ties are broken exactly as SimPy breaks them; the dependency is pinned to SimPy 4.1 in
pyproject.toml and tests/test_port.py checks the private use.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.core import StopSimulation
from simpy.events import NORMAL, URGENT, Event


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
        heappush(self._queue, (when, URGENT, next(self._eid), (self._begin_day, None, -1)))

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
        if when < self._day_end:
            heappush(self._queue, (when, NORMAL, next(self._eid), (fn, arg, version)))
        else:
            self._later.setdefault(int(when // self.DAY), []).append((when, NORMAL, next(self._eid), (fn, arg, version)))

    def run(self, until: float | Event | None = None) -> Any:
        """SimPy's ``run``, with the model's calls processed in line.

        A call is queued as SimPy queues an event, ``(time, priority, id, call)``, with the
        call ``(fn, arg, version)`` in the event's place (a tuple: no event object is built
        per call).  This loop pops the heap as SimPy's ``step`` does and makes a call at
        once; any other entry (a plain SimPy event, the ``until`` event) goes back on the heap,
        where it is again the least, and SimPy's own ``step`` processes it, so the order and
        the semantics of processing are SimPy's.  (A call costs no ``step`` and no callback
        dispatch: a fifth of a district year's instructions went to them.)"""
        if until is not None:
            if not isinstance(until, Event):
                at = until if isinstance(until, int) else float(until)
                if at <= self.now:
                    raise ValueError(f"until ({at}) must be greater than the current simulation time")
                until = Event(self)
                until._ok = True
                until._value = None
                self.schedule(until, URGENT, at - self.now)
            elif until.callbacks is None:
                return until.value
            until.callbacks.append(StopSimulation.callback)
        queue = self._queue
        try:
            while queue:
                entry = heappop(queue)
                call = entry[3]
                if call.__class__ is tuple:
                    self._now = entry[0]
                    fn, arg, version = call
                    if version < 0 or version == arg.version:
                        fn(arg)
                else:
                    heappush(queue, entry)
                    self.step()
        except StopSimulation as exc:
            return exc.args[0]  # the until event's value
        if until is not None:
            raise RuntimeError(f'No scheduled events left but "until" event was not triggered: {until}')
        return None
