"""一支队伍 one team: the supervision team (督查) that chases orders.

Every working day at opening the team works through three lists, most serious first, as far
as its capacity (inspectors × actions a day) goes: orders overdue long enough are publicly
criticised (通报); overdue orders get a reminder (催办); orders due within the warning window
get a warning (预警); orders still overdue after criticism are reminded again every few
working days (``chase_every_working_days``; 0 = never).  A warned order jumps its unit's
queue and its unit is more likely to hurry; a warned order in hand that is heading past its
deadline (a hard case's outside parties), and a reminded or criticised one, has its remaining
outside wait cut (``remind_speedup``): the unit presses the other parties.  Off, or with zero
inspectors, the counterfactual practice: no dedicated team; units still plan to their
deadlines and hurry what can be done in time, but nobody warns, reminds or criticises.
Parameters, units and sources: docs/mechanisms.md.

Decision points: ``on_deadline`` (a deadline set or moved: the warning's due time),
``on_wait`` (an order that stays open until its warning goes on the list), ``next_change``
(the reply shortcut must wait for a warning only when the reply falls at the unit's
deadline).  Its own sweeps are scheduled through the kernel.

Deadlines are known when they are set, so each list is an agenda filed by the sweep at which
an order falls due for that action (a bucket per working day, not one large heap); an entry
whose order has replied by then (``reply_at``) or whose deadline moved (its ``watch`` token
no longer matches) is stale and is dropped when its day comes.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from itertools import count

from pydantic import Field

from sim.activities import Act
from sim.port import Kernel, Order, Policy
from sim.scenario import NonNegative, PolicyParams, Probability

INF = math.inf


class OneTeamParams(PolicyParams):
    inspectors: int = Field(4, ge=0, description="supervision team size (0 = no supervision)")
    actions_per_inspector_day: NonNegative = Field(
        25.0, description="warnings + reminders one inspector sends per working day"
    )
    warn_before_working_hours: NonNegative = Field(
        6.5, description="warn of orders due within this many working hours"
    )
    remind_speedup: Probability = Field(
        0.5, description="a reminder cuts an overdue order's remaining lead time to this share"
    )
    criticise_after_working_days: NonNegative = Field(
        5.0, description="publicly criticise (通报) orders overdue this long"
    )
    chase_every_working_days: NonNegative = Field(
        0.0,
        description="after the criticism, remind an order still overdue again every this many "
        "working days until it is replied (0 = never)",
    )


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


class OneTeam(Policy[OneTeamParams]):
    name = "one_team"
    title = "一支队伍 supervision team"
    Params = OneTeamParams

    def attach(self, kernel: Kernel) -> None:
        super().attach(kernel)
        self.active = self.enabled and self.params.inspectors > 0
        self._seq = count()
        self._days = [d * 24.0 + kernel.cal.office.intervals[0][0] for d in kernel.cal.working_days]
        self._warn, self._remind, self._criticise, self._chase = (Agenda(self._days) for _ in range(4))
        self._fraction = 0.0  # the fraction of an action carried from one sweep to the next
        # read once: on_deadline runs at every deadline set
        self._at_working_clock = kernel.cal.at_working_clock
        self._warn_before = self.params.warn_before_working_hours
        if self.active:
            self._next_day = 0
            self._schedule_next_sweep()

    def active_hooks(self) -> set[str]:
        return {"on_deadline", "on_wait", "next_change"} if self.active else set()

    def next_change(self, order: Order, t: float) -> float:
        """A warning raises a queued order and makes a unit that would miss its deadline
        likelier to hurry: a reply due before the unit's deadline cannot be changed by it;
        one at the deadline can, from the warning on."""
        return INF if t < order.due_unit else order.supervised_from

    def on_deadline(self, order: Order) -> None:
        """An order's reply deadline was just set (or moved): its warning falls due at
        ``supervised_from`` (nothing on the team's lists comes before the warning).  It goes
        on the warning list only if it may still be open then (``follow``)."""
        order.watch += 1
        if order.urgent:
            order.supervised_from = order.due_unit - 2.0
        else:
            order.supervised_from = self._at_working_clock(order.due_unit_clock - self._warn_before)

    def on_wait(self, order: Order, until: float) -> None:
        """Put a watched order on the warning list (once per deadline) when it stays open
        until its warning or later (waiting for a handler, or a reply not settled before the
        warning); an order that replies before it never needs the list."""
        if until >= order.supervised_from and order.followed != order.watch:
            order.followed = order.watch
            self._warn.file(order.supervised_from, next(self._seq), order)

    def _schedule_next_sweep(self) -> None:
        now = self.kernel.now
        while self._next_day < len(self._days) and self._days[self._next_day] < now:
            self._next_day += 1
        if self._next_day < len(self._days) and self._days[self._next_day] < self.kernel.horizon:
            self.kernel.schedule(self._days[self._next_day], self._sweep, self._next_day)
            self._next_day += 1

    def _sweep(self, day: int) -> None:
        now = self.kernel.now
        agendas = (self._criticise, self._remind, self._chase, self._warn)
        for agenda in agendas:
            agenda.current = day
        # a fractional daily allowance (e.g. 0.9 actions) carries its fraction to the next day,
        # so a run spends inspectors x actions a day x days on average; unused whole actions
        # do not carry over (an idle inspector's time is gone)
        allowance = self.params.inspectors * self.params.actions_per_inspector_day + self._fraction
        budget = math.floor(allowance)
        self._fraction = allowance - budget
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
        self.kernel.record(order.id, Act.WARN, now, order.unit, order.due_std)
        self.kernel.raise_priority(order)
        if order.lead_end > order.due_unit:  # in hand and heading past its deadline: the unit
            self.kernel.compress_lead(order, self.params.remind_speedup)  # presses the other parties
        self._remind.file(order.due_unit, next(self._seq), order)
        return True

    def _remind_one(self, order: Order, now: float, budget: int) -> bool:
        if budget <= 0:
            return False
        self.kernel.record(order.id, Act.REMIND, now, order.unit, order.due_std)
        self.kernel.raise_priority(order)
        self.kernel.compress_lead(order, self.params.remind_speedup)
        cal = self.kernel.cal
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
        self.kernel.record(order.id, Act.CRITICISE, now, order.unit, order.due_std)
        self.kernel.compress_lead(order, self.params.remind_speedup)
        self._chase_again(order, now)
        return True

    def _chase_one(self, order: Order, now: float, budget: int) -> bool:
        """Still overdue after public criticism: remind again (催办), every few working days."""
        if budget <= 0:
            return False
        self.kernel.record(order.id, Act.REMIND, now, order.unit, order.due_std)
        self.kernel.compress_lead(order, self.params.remind_speedup)
        self._chase_again(order, now)
        return True

    def _chase_again(self, order: Order, now: float) -> None:
        every = self.params.chase_every_working_days
        if every > 0:
            self._chase.file(self.kernel.cal.add_working_days(now, every), next(self._seq), order)


POLICY = OneTeam
