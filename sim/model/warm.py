"""The warm start: a run that begins with the orders open at its start, each resumed at its
stage, beside the scenario's new arrivals from the start on.

It is the one way to start from open orders (issue 16): a forecast's (``hotline forecast
--open``: a snapshot of a run or an export, ``sim.forecast``) and the scenario's
``initial_backlog`` (``sim.model.openorders.initial_backlog_table``; ``sim.model.start``
starts every run with one through here) fill the same table and are resumed by the same code.

``WarmModel`` extends the engine's ``Model`` and changes nothing of it: a cold run (no open
orders) is the engine's run, event for event.  The carried-in orders get ids after every
generated order, a SNAPSHOT event at time 0 and ``carried_in = 1`` in the case table; one
dispatched at the start itself (arrival 0: the initial backlog) has its dispatch in the run,
so its ARRIVE (with its sign-for deadline) is logged at 0, just before its SNAPSHOT.

Remaining durations are drawn without length bias (an order still open at the snapshot is a
long one): each drawn duration is conditioned on the time already spent, S | S > age
(docs/forecast.md, "What is conditioned"):

* in handling (and extended): the round's handler effort E and lead time L (and the hidden
  hard-case flag, with its prior share for the category) are drawn jointly from the model
  conditioned on E + L > age (rejection, then an exact lognormal tail draw for L when the
  age is far in the tail); what remains of E occupies a handler, then what remains of L;
* replied, awaiting the callback: the callback's window and attempts are drawn conditioned
  on the callback falling after the snapshot (rejection; past the tries: at the snapshot);
* the centre's own answer: lognormal conditioned on exceeding the age (exact tail draw);
* sign-for, return and redispatch delays are exponential: memoryless, so conditioning on the
  age gives a fresh draw of the same law;
* waiting for a handler: no drawn duration; the order queues from time 0 by its deadline,
  and the caseload rules (priority queues) decide when it starts.

Every draw of the warm start comes from streams of its own (``warm.*``), so the new orders'
draws are those of the same seed's cold run (common random numbers).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

from sim.activities import CENTRE, Act
from sim.log import EventLog
from sim.memory import as_array
from sim.model.engine import Model
from sim.model.lifecycle import FATE_BITS
from sim.model.openorders import STAGE_CODE
from sim.model.units import free_handlers, occupy
from sim.port import IntakeDecisions, Order
from sim.scenario import CATEGORIES, Scenario

ALL_FATE = sum(FATE_BITS.values())  # a carried-in order has no fate draws of its own left
REJECTION_TRIES = 1000
_NORMAL = NormalDist()


@dataclass
class MechanismState:
    """The mechanisms' state at a warm start (``sim.forecast.state``): per unit, the speed
    factor in force (``one_set``, 1.0: the base pace) and the handlers lent this month
    (``one_model``); the topics with a resolution plan (``one_plan``)."""

    speed: list[float]
    lent: list[int]
    planned: set[int] = field(default_factory=set)

    @classmethod
    def fresh(cls, n_units: int) -> MechanismState:
        """The state of a run's start: base pace, nothing lent, no plan."""
        return cls([1.0] * n_units, [0] * n_units)


def _tail_normal(u: float, c: float) -> float:
    """A standard normal draw conditioned on exceeding ``c`` (inverse CDF, from uniform ``u``)."""
    p = _NORMAL.cdf(c)
    q = p + u * (1.0 - p)
    if q >= 1.0 - 1e-15:  # far in the tail: the bound itself
        return c
    return _NORMAL.inv_cdf(max(q, 1e-15))


class WarmModel(Model):
    """A run of ``scn`` (starting at the snapshot: ``run.start`` is the snapshot's day) with the
    open orders ``open_orders`` (``sim.model.openorders.COLUMNS``; times in hours relative
    to the start) carried in."""

    def __init__(self, scn: Scenario, seed: int, open_orders: pd.DataFrame,
                 ages_hours: np.ndarray, working_hours_before: Callable[[float], float],
                 stream_to: str | Path | None = None, state: MechanismState | None = None) -> None:
        """``ages_hours``: per row of ``open_orders``, the time its stage has lasted at the
        start, in the units the model draws it in (working hours; clock hours for an urgent
        order, and for the centre's answer); ``working_hours_before(t)``: the working hours
        from ``t`` < 0 to the start (the run's calendar begins at the start); ``state``: the
        mechanisms' state at the start (``sim.forecast.state``; None: a run's fresh state);
        ``stream_to``: as for ``Model``."""
        super().__init__(scn, seed, stream_to)
        if state is not None:
            self._carry_state(state)
        self.open_orders = open_orders.reset_index(drop=True)
        self.stage_ages = np.asarray(ages_hours, dtype=float)
        self._before = working_hours_before
        self.first_carried = int(len(self.orders))  # carried-in ids follow every generated order
        self.carried: list[Order] = []  # the carried-in orders, by row of ``open_orders``

    def run(self) -> EventLog:
        self._schedule_carried()
        log = super().run()
        self._carried_cases(log)
        log.meta["carried_in"] = int(len(self.open_orders))
        return log

    def _carry_state(self, state: MechanismState) -> None:
        """Set the mechanisms' state in force at the start: the units' speed factors
        (``one_set``), the handlers lent this month (``one_model``, they go back at its next
        meeting), the topics with a resolution plan (``one_plan``).  A mechanism the scenario
        has switched off takes nothing."""
        if len(state.speed) != len(self.units) or len(state.lent) != len(self.units):
            raise ValueError(f"state for {len(state.speed)} units, the scenario has {len(self.units)}")
        one_set, one_model, one_plan = self.port["one_set"], self.port["one_model"], self.port["one_plan"]
        for u, (speed, lent) in enumerate(zip(state.speed, state.lent, strict=True)):
            if one_set.enabled and speed != 1.0:
                one_set.speed[u] = speed
                self.kernel.set_speed(u, speed)
            if one_model.enabled and lent:
                one_model.lent[u] = lent
                self.kernel.change_capacity(u, lent)
        if one_plan.enabled:
            one_plan.planned.update(state.planned)

    # -- the carried-in orders -------------------------------------------------------------------
    def _schedule_carried(self) -> None:
        """Resume each open order at its stage, in the order the caseload rules would take
        them: handler work in progress first (it holds handlers), then the queue by deadline."""
        table = self.open_orders
        self.carried = [None] * len(table)  # type: ignore[list-item]  (filled below, every row)
        lc = self.lifecycle
        if lc.method == "sampled":
            # whether a carried-in order's first round is in the callback sample is hidden: drawn
            # at the sampled share (warm.sample); one open past its reply's review is in it
            # (``_resume_replied``).  (The generated orders' flags come from their fate draws.)
            draws = self.streams.numpy("warm.sample").random(len(table)) < self.scn.callback.sampled.share
            lc.sampled.extend(as_array("b", draws))
        stage_rank = {"handling": 0, "extended": 0, "waiting": 1, "reopened": 1}
        rank = table["stage"].map(stage_rank).fillna(2).to_numpy()
        due = table["due"].fillna(np.inf).to_numpy()
        for k in np.lexsort((due, rank)):
            row = table.iloc[int(k)]
            self._resume(int(k), row, float(self.stage_ages[k]))

    def _new_order(self, k: int, row: pd.Series) -> Order:
        o = Order(self.first_carried + k, int(row["category"]), int(bool(row["urgent"])), int(row["topic"]),
                  0, int(row["responsible"]))
        o.arrival = float(row["arrival"])
        o.unit = int(row["unit"])
        o.used = ALL_FATE
        o.hops, o.reopens, o.round = int(row["hops"]), int(row["reopens"]), int(row["rounds"])
        o.escalated = bool(row["escalated"])
        sign_due = float(row["sign_due"])
        o.sign_due = sign_due if math.isfinite(sign_due) else math.inf
        # the hidden hard-case flag: its prior share (the handling draw conditions it on the age)
        share = getattr(self.scn.demand.hard_share, CATEGORIES[o.category])
        o.hard = int(self.streams["warm.hard"].uniform() < share)
        return o

    def _set_dues(self, o: Order, due: float, extensions_used: int) -> None:
        """The deadline in force (the standard's) and the unit's, as ``set_reply_dues`` sets
        them, from the snapshot's deadline instead of a new round's."""
        lc = self.lifecycle
        factor = lc.limit_factor[o.unit] if o.unit >= 0 else 1.0
        o.due_std = due
        if o.urgent or o.unit < 0:
            o.due_unit = due if factor == 1.0 else due + (factor - 1.0) * self.scn.time_limits.reply_urgent_hours
        else:
            # the unit's working clock of the deadline (negative: already past at the start)
            clock = self.cal.working_clock(due) if due >= 0 else -self._before(due)
            extra = (factor - 1.0) * lc.reply_limit_wd[o.category] * lc.hpd
            o.due_unit_clock = clock + extra
            o.due_unit = due if extra == 0.0 else self.cal.at_working_clock(o.due_unit_clock)
        o.extensions_left = max(0, self.scn.time_limits.max_extensions - extensions_used)
        o.reply_at = math.inf
        for on_deadline in lc._on_deadline:
            on_deadline(o)

    def _resume(self, k: int, row: pd.Series, age: float) -> None:
        o = self._new_order(k, row)
        self.carried[k] = o
        stage = str(row["stage"])
        due = float(row["due"])
        if o.arrival >= 0.0:  # dispatched at the start itself (the initial backlog): in the run's log
            self.log.record(o.id, Act.ARRIVE, o.arrival, o.unit, o.sign_due)
        self.log.record(o.id, Act.SNAPSHOT, 0.0, o.unit, due, value=0.0 - o.arrival, outcome=STAGE_CODE[stage])  # (0.0 -: no -0.0)
        lc = self.lifecycle
        if stage == "unsigned":
            self._resume_unsigned(o, str(row["detail"]))
        elif stage == "centre":
            o.due_std = o.due_unit = due
            self.schedule(self._centre_answer(age), lc.centre_reply, o)
        elif stage in ("waiting", "reopened"):
            self._set_dues(o, due, int(row["extensions"]))
            lc.request(o, 0.0, self.cal.working_clock(0.0))
            if o.escalated:
                lc.raise_priority(o)
        elif stage in ("handling", "extended"):
            self._set_dues(o, due, int(row["extensions"]))
            self._resume_handling(o, age, queue_if_busy=str(row["detail"]) == "signed",
                                  extended=stage == "extended")
        elif stage == "replied":
            o.due_std = o.due_unit = due
            o.reply_at = float(row["since"])
            o.late_days = 0.0 if not (o.reply_at > due) else (o.reply_at - due) / 24.0
            self._resume_replied(o, age)
        else:  # pragma: no cover - the snapshot's stages are checked before
            raise ValueError(f"unknown stage {stage}")

    def _resume_unsigned(self, o: Order, detail: str) -> None:
        lc, s, r = self.lifecycle, self.scn.signing, self.scn.routing
        u = self.streams["warm.sign"].uniform()
        if detail == "return":  # signed by a wrong unit: it returns the order (exponential, memoryless)
            self.schedule(self.cal.add_working_hours(0.0, -r.return_working_hours * math.log1p(-u)), lc.return_order, o)
        elif detail == "redispatch":
            self.schedule(-r.redispatch_hours * math.log1p(-u), lc.redispatch, o)
        elif o.urgent:
            self.schedule(-s.urgent_mean_hours * math.log1p(-u), lc.sign, o)
        else:
            self.schedule(self.cal.add_working_hours(0.0, -s.mean_working_hours * math.log1p(-u)), lc.sign, o)

    def _centre_answer(self, age: float) -> float:
        """Clock hours from the start to the centre's answer: lognormal (sigma 0.5, the
        intake's) conditioned on exceeding ``age``."""
        decisions = IntakeDecisions(direct=np.zeros(0, dtype=bool))
        empty = np.zeros(0)
        for at_intake in self.port.hooks["at_intake"]:
            at_intake(decisions, empty.astype(np.int8), empty.astype(bool), empty)
        median = max(decisions.answer_hours_median, 1e-9)
        c = math.log(max(age, 1e-12) / median) / 0.5
        z = _tail_normal(self.streams["warm.centre"].uniform(), c)
        return max(0.0, median * math.exp(0.5 * z) - age)

    def _effort_lead(self, o: Order, unit) -> tuple[float, float]:
        """One draw of the round's effort and lead time (hours), as ``Lifecycle.start`` and
        ``lead_time`` draw them, from the warm start's streams."""
        lc = self.lifecycle
        effort = lc.scaled_effort(o, unit, lc.effort_draw(self.streams["warm.effort"].normal()))
        return effort, self._lead(o, unit, self.streams["warm.lead"].normal())

    def _lead(self, o: Order, unit, z: float) -> float:
        """The lead time of standard-normal draw ``z``, scaled as the engine scales its own
        (``Lifecycle.scaled_lead``)."""
        lc = self.lifecycle
        median = self.scn.handling.urgent_lead_median_hours if o.urgent else lc.lead_median_hours[o.category]
        return lc.scaled_lead(o, unit, median * math.exp(lc.lead_sigma * z))

    def _resume_handling(self, o: Order, age: float, queue_if_busy: bool = False,
                         extended: bool = False) -> None:
        """A round in a handler's hands for ``age`` hours: (hard, E, L) drawn conditioned on
        E + L > age; the rest of E holds a handler, then the rest of L runs.

        ``extended``: an extension was approved in the round, so at the unit's decision on
        the deadline before it (``w_prev`` working hours after the START, clock hours if
        urgent) the round was heading past it (E + L > w_prev) and could not be hurried
        (``Lifecycle.decide``): a hard case, handler work ending after it (E >= w_prev), or
        a plain one the unit did not hurry (probability 1 - ``hurry_probability``, stream
        ``warm.hurry``).  The draw is conditioned on that as well: without it the extended
        orders were resumed as hard cases at the prior share and missed their extended
        deadline too rarely (docs/forecast.md).

        ``queue_if_busy``: the order may as well be waiting for a handler (an export shows
        the sign-for, not the START): if handler work remains and every handler of the unit
        is taken (by the orders resumed before it: in hand first, then by deadline), it
        waits in the unit's queue, as the caseload rules would have kept it, and starts
        afresh when a handler is free."""
        unit = self.units[o.unit]
        share = getattr(self.scn.demand.hard_share, CATEGORIES[o.category])
        w_prev = self._previous_deadline(o, age) if extended else -math.inf
        bound = max(age, w_prev)
        effort = lead = 0.0
        for _ in range(REJECTION_TRIES):
            effort, lead = self._effort_lead(o, unit)
            if effort + lead > bound and (not extended or o.hard or effort >= w_prev
                                          or self.streams["warm.hurry"].uniform() >= self.scn.handling.hurry_probability):
                break
            o.hard = int(self.streams["warm.hard"].uniform() < share)  # the flag is redrawn with the rest
        else:  # far in the tail: a hard case (if any can be), L drawn exactly from L > age - E
            o.hard = int(share > 0)
            scale = self._lead(o, unit, 0.0)
            c = math.log(max(bound - effort, 1e-12) / scale) / max(self.lifecycle.lead_sigma, 1e-12)
            lead = scale * math.exp(self.lifecycle.lead_sigma * _tail_normal(self.streams["warm.lead"].uniform(), c))
        if queue_if_busy and effort > age and free_handlers(unit, 0.0) <= 0:
            o.hard = int(self.streams["warm.hard"].uniform() < share)  # not started: its prior
            self.lifecycle.request(o, 0.0, self.cal.working_clock(0.0))
            if o.escalated:
                self.lifecycle.raise_priority(o)
            return
        o.handling = True
        o.started_at = -age
        if o.urgent:
            effort_end = max(0.0, effort - age)
            o.lead_end = effort + lead - age
        else:
            effort_end = self.cal.add_working_hours(0.0, effort - age) if effort > age else 0.0
            o.lead_end = self.cal.add_working_hours(0.0, effort + lead - age)
        if effort_end > 0.0:
            occupy(unit, effort_end)
        o.effort_end = effort_end
        self.lifecycle.plan_reply(o, 0.0)

    def _previous_deadline(self, o: Order, age: float) -> float:
        """For an order resumed in an extended round: the unit's deadline before its last
        extension, in working hours after the round's START (clock hours if urgent), ``age``
        hours before the start: the deadline in force less one extension (a reply limit
        times the unit's limit factor, as ``Lifecycle.decide`` extends it)."""
        lc = self.lifecycle
        factor = lc.limit_factor[o.unit]
        if o.urgent:
            return age + o.due_unit - self.scn.time_limits.reply_urgent_hours * factor
        to_due = o.due_unit_clock - self.cal.working_clock(0.0)
        return age + to_due - lc.reply_limit_wd[o.category] * factor * lc.hpd

    def _resume_replied(self, o: Order, age: float) -> None:
        """Replied ``age`` hours ago: the review (if still due) and the callback, drawn
        conditioned on falling after the start."""
        lc = self.lifecycle
        review_at = o.reply_at + lc.review_delay
        if review_at >= 0.0 and self.streams["warm.review"].uniform() < lc.sendback_p:
            self.schedule(review_at, lc.sendback, o)
            return
        after = max(review_at, o.reply_at)
        if lc.method == "sampled" and after < 0.0 and not o.reopens:
            lc.sampled[o.id] = 1  # open after its review in its first round: only a sampled order is
        if lc.method != "manual":  # (sms, sampled: their own laws, from the start; docs/forecast.md)
            lc.schedule_callback(o, max(after, 0.0))
            return
        cb = self.scn.callback
        when, reached = 0.0, False
        for _ in range(REJECTION_TRIES):
            offset = self.streams["warm.window"].uniform() * lc.window_hours
            needed = int(lc._attempts_needed(np.array([self.streams["warm.reach"].uniform()]))[0])
            if after >= 0.0:
                first, attempts_done = self.cal.next_working_day_start(after) + offset, 0
            else:  # attempts on the working days before the start were made (and missed)
                first = self.cal.next_working_day_start(-1e-9) + offset
                attempts_done = int(self._before(after) // self.cal.hours_per_day)
            attempts, reached = (needed, True) if needed else (cb.attempts, False)
            left = attempts - attempts_done
            if left >= 1:
                when = self.cal.add_working_days(first, left - 1) if left > 1 else first
                break
        else:
            when, reached = 0.0, False
        if when >= self.horizon:
            return
        if reached:
            lc.callback_reached(o, when)
        else:
            lc.callback_unreached(o, when)

    def _carried_cases(self, log: EventLog) -> None:
        """Append the carried-in orders to the case table, with ``carried_in = 1``."""
        t = self.open_orders
        n = len(t)
        cases = log.cases
        cases["carried_in"] = np.zeros(len(cases["order"]), dtype=np.int8)
        extra = {
            "order": np.arange(self.first_carried, self.first_carried + n, dtype=np.int32),
            "category": t["category"].to_numpy(np.int8),
            "urgent": t["urgent"].to_numpy(bool),
            "topic": t["topic"].to_numpy(np.int16),
            "channel": t["channel"].to_numpy(np.int8),
            # the flag the run drew (its prior, or conditioned on the age: not the source's)
            "hard": np.array([bool(o.hard) for o in self.carried], dtype=bool),
            "responsible": t["responsible"].to_numpy(np.int16),
            "carried_in": np.ones(n, dtype=np.int8),
        }
        for name, values in extra.items():
            cases[name] = np.concatenate([np.asarray(cases[name]), values.astype(np.asarray(cases[name]).dtype)])


__all__ = ["CENTRE", "MechanismState", "WarmModel"]
