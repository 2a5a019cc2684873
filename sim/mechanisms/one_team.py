"""一支队伍 one team: the supervision team (督查) that chases orders.

Every working day at opening the team works through three lists, most serious first, as far
as its capacity (inspectors × actions a day) goes: orders overdue long enough are publicly
criticised (通报); overdue orders get a reminder (催办); orders due within the warning window
get a warning (预警); orders still overdue after criticism are reminded again every few
working days (``chase_every_working_days``; 0 = never).  A warned order jumps its unit's queue and its unit is more likely to
hurry; a reminded or criticised order in its lead phase has its remaining time cut.  With
the team off, or zero inspectors, nobody chases.

Deadlines are known when they are set, so each list is an agenda filed by the sweep at which
an order falls due for that action (a bucket per working day, not one large heap); an entry
whose order has replied by then (``reply_at``) or whose deadline moved (its ``watch`` token
no longer matches) is stale and is dropped when its day comes.
"""

from __future__ import annotations

from bisect import bisect_left
from itertools import count
from typing import TYPE_CHECKING

from sim.activities import Act
from sim.mechanisms.base import Mechanism

if TYPE_CHECKING:  # (the model imports the mechanisms)
    from sim.model.order import Order


class Agenda:
    """Orders due for one kind of action, filed by the sweep (working-day opening) at which
    they fall due.  A sweep takes, in (due time, filing order) order, what it left undone last
    time, what was filed for a sweep already past, and its own bucket: the order a single heap
    would give, without paying a heap's cost for the many entries that go stale unseen."""

    def __init__(self, sweeps: list[float]) -> None:
        self.sweeps = sweeps
        self.buckets: dict[int, list[tuple[float, int, int, Order]]] = {}
        self.late: list[tuple[float, int, int, Order]] = []  # filed for a sweep already held
        self.current = -1  # index of the sweep being (or last) held

    def file(self, key: float, seq: int, order: Order) -> None:
        day = bisect_left(self.sweeps, key)  # first sweep at or after the due time
        entry = (key, seq, order.watch, order)
        if day <= self.current:
            self.late.append(entry)
        elif day < len(self.sweeps):
            self.buckets.setdefault(day, []).append(entry)
        # else: due after the last sweep of the run, never acted on

    def due(self, now: float) -> list[tuple[float, int, int, Order]]:
        """This sweep's live entries, earliest due first (call after setting ``current``)."""
        entries = self.late + self.buckets.pop(self.current, [])
        self.late = []
        entries = [e for e in entries if e[2] == e[3].watch and e[3].reply_at > now]
        entries.sort()  # (due time, filing sequence): sequences are unique
        return entries


class OneTeam(Mechanism):
    name = "one_team"
    title = "一支队伍 supervision team"

    def attach(self, model) -> None:
        super().attach(model)
        self.active = self.enabled and self.params.inspectors > 0
        self._seq = count()
        self._days = [d * 24.0 + model.cal.office.intervals[0][0] for d in model.cal.working_days]
        self._warn, self._remind, self._criticise, self._chase = (Agenda(self._days) for _ in range(4))
        if self.active:
            self._next_day = 0
            self._schedule_next_sweep()

    def watch(self, order: Order) -> None:
        """An order's reply deadline was just set (or moved): its warning falls due at
        ``supervised_from`` (nothing on the team's lists comes before the warning).  It goes
        on the warning list only if it may still be open then (``follow``)."""
        if not self.active:
            return
        order.watch += 1
        cal = self.model.cal
        if order.urgent:
            order.supervised_from = order.due_unit - 2.0
        else:
            order.supervised_from = cal.at_working_clock(
                order.due_unit_clock - self.params.warn_before_working_hours
            )

    def follow(self, order: Order) -> None:
        """Put a watched order on the warning list (once per deadline).  The lifecycle calls
        this when the order has to wait for a handler or its reply is not settled before
        the warning; an order that replies before it never needs the list."""
        if self.active and order.followed != order.watch:
            order.followed = order.watch
            self._warn.file(order.supervised_from, next(self._seq), order)

    def _schedule_next_sweep(self) -> None:
        now = self.model.env.now
        while self._next_day < len(self._days) and self._days[self._next_day] < now:
            self._next_day += 1
        if self._next_day < len(self._days) and self._days[self._next_day] < self.model.horizon:
            self.model.schedule(self._days[self._next_day], self._sweep, self._next_day)
            self._next_day += 1

    def _sweep(self, day: int) -> None:
        now = self.model.env.now
        agendas = (self._criticise, self._remind, self._chase, self._warn)
        for agenda in agendas:
            agenda.current = day
        budget = int(self.params.inspectors * self.params.actions_per_inspector_day)
        budget = self._act(self._criticise, now, budget, self._criticise_one)
        budget = self._act(self._remind, now, budget, self._remind_one)
        budget = self._act(self._chase, now, budget, self._chase_one)
        self._act(self._warn, now, budget, self._warn_one)
        self._schedule_next_sweep()

    def _act(self, agenda: Agenda, now: float, budget: int, action) -> int:
        entries = agenda.due(now)
        for k, (_, _, _, order) in enumerate(entries):  # (live: Agenda.due dropped the stale)
            if not action(order, now, budget):
                agenda.late[:0] = entries[k:]  # no capacity left today: first in line tomorrow
                break
            budget -= 1
        return budget

    def _warn_one(self, order: Order, now: float, budget: int) -> bool:
        if order.due_unit <= now:  # already overdue: straight to the reminder list, free
            self._remind.file(order.due_unit, next(self._seq), order)
            return True
        if budget <= 0:
            return False
        order.warned = True
        self.model.log.record(order.id, Act.WARN, now, order.unit, order.due_std)
        self.model.lifecycle.raise_priority(order)
        self._remind.file(order.due_unit, next(self._seq), order)
        return True

    def _remind_one(self, order: Order, now: float, budget: int) -> bool:
        if budget <= 0:
            return False
        order.reminded = True
        self.model.log.record(order.id, Act.REMIND, now, order.unit, order.due_std)
        self.model.lifecycle.raise_priority(order)
        self.model.lifecycle.compress_lead(order, self.params.remind_speedup)
        cal = self.model.cal
        if order.urgent:
            when = order.due_unit + 24.0 * self.params.criticise_after_working_days
        else:
            hours = self.params.criticise_after_working_days * cal.hours_per_day
            when = cal.add_working_hours_at(order.due_unit, order.due_unit_clock, hours)
        self._criticise.file(when, next(self._seq), order)
        return True

    def _criticise_one(self, order: Order, now: float, budget: int) -> bool:
        if budget <= 0:
            return False
        order.criticised = True
        self.model.log.record(order.id, Act.CRITICISE, now, order.unit, order.due_std)
        if order.unit >= 0:
            self.model.units[order.unit].months[self.model.month_of(now)].criticised += 1
        self.model.lifecycle.compress_lead(order, self.params.remind_speedup)
        self._chase_again(order, now)
        return True

    def _chase_one(self, order: Order, now: float, budget: int) -> bool:
        """Still overdue after public criticism: remind again (催办), every few working days."""
        if budget <= 0:
            return False
        self.model.log.record(order.id, Act.REMIND, now, order.unit, order.due_std)
        self.model.lifecycle.compress_lead(order, self.params.remind_speedup)
        self._chase_again(order, now)
        return True

    def _chase_again(self, order: Order, now: float) -> None:
        every = self.params.chase_every_working_days
        if every > 0:
            self._chase.file(self.model.cal.add_working_days(now, every), next(self._seq), order)
