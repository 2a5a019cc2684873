"""The engine's shortcuts keep the model's meaning: the calendar queue processes calls exactly
as SimPy's heap would, supervision's daily agendas pop in a heap's order, work done ahead of
the clock is counted in its own month, and the calendar's tables agree with a direct search."""

from __future__ import annotations

import heapq
import random
from bisect import bisect_right

import numpy as np
import pytest

from sim.activities import UNREACHED, Act
from sim.mechanisms.one_team import Agenda
from sim.memory import release_freed_memory
from sim.model.engine import Environment, Model


def test_calendar_queue_processes_calls_in_simpy_order():
    """Calls on later days wait in buckets, yet run at their exact times, in (time,
    scheduling order): the order a single SimPy heap gives, ties included."""
    rnd = random.Random(7)
    horizon = 24.0 * 30
    env = Environment(horizon)
    seen: list[tuple[float, int, float]] = []
    expected: list[tuple[float, int]] = []
    seq = iter(range(10**6))

    def call(tag: int) -> None:
        seen.append((env.now, tag, env.now))
        # from inside the run: more calls, some the same day, some later, some at once
        for _ in range(rnd.choice((0, 1, 2))):
            when = env.now + rnd.choice((0.0, rnd.uniform(0, 5), rnd.uniform(0, 24 * 6), 24.0))
            if when < horizon:
                t = next(seq)
                expected.append((when, t))
                env.call_at(when, call, t)

    for _ in range(300):
        when = rnd.choice((rnd.uniform(0, horizon), float(rnd.randrange(30)) * 24.0))
        t = next(seq)
        expected.append((when, t))
        env.call_at(when, call, t)
    env.call_at(horizon + 1.0, call, -1)  # past the horizon: never queued
    env.run(until=horizon)
    assert [(w, t) for w, t, _ in seen] == sorted(expected)
    assert all(now == when for when, _, now in seen)  # exact times, not now + delay


def test_agenda_pops_in_heap_order():
    """Daily buckets give the order of one heap keyed (due time, filing order), including
    entries filed for a sweep already held and entries left over for lack of capacity."""
    rnd = random.Random(3)
    sweeps = [d * 24.0 + 8.5 for d in range(40)]
    agenda, heap = Agenda(sweeps), []

    class Watched:
        watch = 0
        reply_at = float("inf")

    seq = 0
    for day, now in enumerate(sweeps):
        for _ in range(rnd.randrange(6)):  # filed before the sweep, some already overdue
            key = now - 30.0 + rnd.uniform(0, 120.0)
            seq += 1
            agenda.file(key, seq, Watched())
            heapq.heappush(heap, (key, seq))
        agenda.current = day
        due = agenda.due(now)
        budget = rnd.randrange(4)
        taken, left = due[:budget], due[budget:]
        agenda.late[:0] = left  # what the team could not do today
        expected = []
        while heap and heap[0][0] <= now and len(expected) < budget:
            expected.append(heapq.heappop(heap))
        assert [(k, s) for k, s, _, _ in taken] == expected


def test_agenda_drops_replied_and_moved_orders():
    class Watched:
        def __init__(self, watch: int, reply_at: float) -> None:
            self.watch, self.reply_at = watch, reply_at

    agenda = Agenda([10.0, 34.0])
    live, replied, moved = Watched(0, 99.0), Watched(0, 5.0), Watched(0, 99.0)
    for i, o in enumerate((live, replied, moved)):
        agenda.file(9.0, i, o)
    moved.watch += 1  # its deadline moved after filing
    agenda.current = 0
    assert [e[3] for e in agenda.due(10.0)] == [live]


def test_work_ahead_is_counted_in_its_own_month(small_scenario):
    """Replies and callbacks worked out before their time still count in the month they
    happen, as the monthly assessment must see them."""
    model = Model(small_scenario, 5)
    log = model.run()
    cols = log.columns()
    months = np.array([model.month_of(t) for t in cols["time"]])
    for act, counter in ((Act.REPLY, "replies"), (Act.CALLBACK, "callbacks")):
        rows = (cols["activity"] == act) & (cols["unit"] >= 0)
        if act == Act.CALLBACK:  # the assessment counts reached callbacks
            rows &= cols["outcome"] != UNREACHED
        for unit in model.units:
            mine = rows & (cols["unit"] == unit.index)
            logged = np.bincount(months[mine], minlength=len(unit.months))
            counted = [getattr(m, counter) for m in unit.months]
            assert list(logged) == counted, (unit.name, counter)


def test_next_working_day_table_matches_a_search(small_scenario):
    model = Model(small_scenario, 1)
    cal = model.cal
    opening = cal.office.intervals[0][0]
    for t in np.linspace(-5.0, cal.end_hour + 100.0, 2000):
        day = int(t // 24.0)
        j = bisect_right(cal.working_days, day)
        want = cal.working_days[j] * 24.0 + opening if j < len(cal.working_days) else float("inf")
        assert cal.next_working_day_start(t) == want


@pytest.mark.parametrize("calls", [1, 2])
def test_release_freed_memory_is_harmless(calls):
    for _ in range(calls):
        release_freed_memory()
