"""一支队伍 one team: the supervision team (督查) that chases orders.

Every working day at opening the team works through three lists, most serious first, as far
as its capacity (inspectors × actions a day) goes: orders overdue long enough are publicly
criticised (通报); overdue orders get a reminder (催办); orders due within the warning window
get a warning (预警); orders still overdue after criticism are reminded again every few
working days (``chase_every_working_days``; 0 = never).  A warned order jumps its unit's queue and its unit is more likely to
hurry; a reminded or criticised order in its lead phase has its remaining time cut.  With
the team off, or zero inspectors, nobody chases.

Deadlines are known when they are set, so the lists are heaps keyed by the time an order
becomes due for each action; an entry whose order has replied or whose deadline moved is
stale (its ``watch`` token no longer matches) and is dropped when popped.
"""

from __future__ import annotations

from heapq import heappop, heappush
from itertools import count

from sim.activities import Act
from sim.mechanisms.base import Mechanism
from sim.model.order import Order


class OneTeam(Mechanism):
    name = "one_team"
    title = "一支队伍 supervision team"

    def attach(self, model) -> None:
        super().attach(model)
        self.active = self.enabled and self.params.inspectors > 0
        self._warn: list[tuple[float, int, int, Order]] = []
        self._remind: list[tuple[float, int, int, Order]] = []
        self._criticise: list[tuple[float, int, int, Order]] = []
        self._chase: list[tuple[float, int, int, Order]] = []
        self._seq = count()
        if self.active:
            self._days = [d * 24.0 + model.cal.office.intervals[0][0] for d in model.cal.working_days]
            self._next_day = 0
            self._schedule_next_sweep()

    def watch(self, order: Order) -> None:
        """Start watching an order whose reply deadline was just set (or moved)."""
        if not self.active:
            return
        order.watch += 1
        cal = self.model.cal
        if order.urgent:
            key = order.due_unit - 2.0
        else:
            key = cal.at_working_clock(cal.working_clock(order.due_unit) - self.params.warn_before_working_hours)
        heappush(self._warn, (key, next(self._seq), order.watch, order))

    def _schedule_next_sweep(self) -> None:
        now = self.model.env.now
        while self._next_day < len(self._days) and self._days[self._next_day] < now:
            self._next_day += 1
        if self._next_day < len(self._days) and self._days[self._next_day] < self.model.horizon:
            self.model.schedule(self._days[self._next_day], self._sweep, None)
            self._next_day += 1

    def _sweep(self, _: object) -> None:
        now = self.model.env.now
        budget = int(self.params.inspectors * self.params.actions_per_inspector_day)
        budget = self._act(self._criticise, now, budget, self._criticise_one)
        budget = self._act(self._remind, now, budget, self._remind_one)
        budget = self._act(self._chase, now, budget, self._chase_one)
        self._act(self._warn, now, budget, self._warn_one)
        self._schedule_next_sweep()

    def _act(self, heap, now: float, budget: int, action) -> int:
        while heap and heap[0][0] <= now:
            key, seq, token, order = heappop(heap)
            if token != order.watch:
                continue  # replied or deadline moved since
            if not action(order, now, budget):
                heappush(heap, (key, seq, token, order))  # no capacity left today
                break
            budget -= 1
        return budget

    def _warn_one(self, order: Order, now: float, budget: int) -> bool:
        if order.due_unit <= now:  # already overdue: straight to the reminder list, free
            heappush(self._remind, (order.due_unit, next(self._seq), order.watch, order))
            return True
        if budget <= 0:
            return False
        order.warned = True
        self.model.log.record(order.id, Act.WARN, now, order.unit, order.due_std)
        self.model.lifecycle.raise_priority(order)
        heappush(self._remind, (order.due_unit, next(self._seq), order.watch, order))
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
            when = cal.add_working_days(order.due_unit, self.params.criticise_after_working_days)
        heappush(self._criticise, (when, next(self._seq), order.watch, order))
        return True

    def _criticise_one(self, order: Order, now: float, budget: int) -> bool:
        if budget <= 0:
            return False
        order.criticised = True
        self.model.log.record(order.id, Act.CRITICISE, now, order.unit, order.due_std)
        if order.unit >= 0:
            self.model.units[order.unit].month.criticised += 1
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
            when = self.model.cal.add_working_days(now, every)
            heappush(self._chase, (when, next(self._seq), order.watch, order))
