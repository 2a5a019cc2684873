"""One order's path through the lifecycle (DESIGN §2), as a chain of scheduled callbacks.

arrive → sign → [return → redispatch → sign]* → start (handler) → lead → [extend] → reply →
[sendback → start …] → callback → close → [reopen → start …]

Each step computes its next time directly (working calendar, drawn durations) and schedules
one wake-up; nothing polls.  A wake-up carries the order's ``version``; when supervision or an
extension changes an order's plan it bumps the version and the stale wake-up is ignored.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim.activities import BASIC, CENTRE, DISSATISFIED, SATISFIED, UNREACHED, Act
from sim.model.callback import outcome
from sim.model.order import CALLBACK, CLOSED, LEAD, QUEUED, REVIEW, ROUTING, Order
from sim.model.units import (
    NORMAL_PRIORITY,
    RAISED_PRIORITY,
    URGENT_PRIORITY,
    Unit,
    enqueue,
    free_handlers,
    occupy,
    pop_next,
)

if TYPE_CHECKING:
    from sim.model.engine import Model

FATE_BITS = {
    name: 1 << i
    for i, name in enumerate(
        ("route", "route_pick", "sign", "direct", "direct_time", "extend", "approve", "hurry",
         "review", "reach", "window", "satisfy", "reopen", "resolve", "effort", "lead")
    )
}


class Lifecycle:
    """The lifecycle callbacks, bound to one model run."""

    def __init__(self, model: Model) -> None:
        self.m = model
        self.scn = model.scn
        self.cal = model.cal
        self.record = model.log.record
        self.units = model.units
        self.schedule = model.schedule
        self.fate_u = model.orders.uniforms
        self.fate_z = model.orders.normals
        self.streams = model.streams
        scn = model.scn
        self.hpd = model.cal.hours_per_day
        limits = scn.time_limits
        self.reply_limit_wd = [limits.reply_working_days.get(c) for c in model.categories]
        self.lead_median_wd = [scn.handling.lead_median_working_days.get(c) for c in model.categories]
        self.category_names = model.categories
        self.mech = model.mechanisms
        self.exponential_effort = scn.handling.effort_distribution == "exponential"

    # -- random draws: an order's own fate first, its stream after ---------------------------
    def u(self, o: Order, name: str) -> float:
        bit = FATE_BITS[name]
        if not o.used & bit:
            o.used |= bit
            return self.fate_u[name][o.id]
        return self.streams[name].uniform()

    def z(self, o: Order, name: str) -> float:
        bit = FATE_BITS[name]
        if not o.used & bit:
            o.used |= bit
            return self.fate_z[name][o.id]
        return self.streams[name].normal()

    # -- deadlines ----------------------------------------------------------------------------
    def sign_due(self, o: Order, t: float) -> float:
        lim = self.scn.time_limits
        if o.urgent:
            return t + lim.sign_urgent_hours
        return self.cal.add_working_days(t, lim.sign_working_days)

    def reply_due(self, o: Order, t: float, factor: float = 1.0) -> float:
        if o.urgent:
            return t + self.scn.time_limits.reply_urgent_hours * factor
        return self.cal.add_working_days(t, self.reply_limit_wd[o.category] * factor)

    def set_reply_dues(self, o: Order, t: float) -> None:
        """Deadlines of a new handling round: the standard's and the unit's own."""
        o.due_std = self.reply_due(o, t)
        factor = self.mech.one_standard.unit_limit_factor(self.units[o.unit])
        o.due_unit = o.due_std if factor == 1.0 else self.reply_due(o, t, factor)
        o.extensions_left = self.scn.time_limits.max_extensions
        o.warned = o.reminded = o.criticised = False
        self.m.team.watch(o)

    # -- routing after a return --------------------------------------------------------------
    def route(self, o: Order) -> int:
        """The unit a returned order is redispatched to: the responsible one, or by mistake
        another.  (The first dispatch is computed for all orders at intake.)"""
        wrong = self.streams["route"].uniform() >= self.scn.routing.redispatch_accuracy
        if not wrong or len(self.units) < 2:
            return o.responsible
        pick = int(self.u(o, "route_pick") * (len(self.units) - 1))
        return pick if pick < o.responsible else pick + 1

    def schedule_sign(self, o: Order, now: float) -> None:
        s = self.scn.signing
        u = self.u(o, "sign")
        if o.urgent:
            when = now - s.urgent_mean_hours * math.log(1.0 - u)
        else:
            when = self.cal.add_working_hours(now, -s.mean_working_hours * math.log(1.0 - u))
        o.phase = ROUTING
        self.schedule(when, self.sign, o)

    def sign(self, o: Order) -> None:
        now = self.m.env.now
        if o.unit != o.responsible:
            self.record(o.id, Act.SIGN, now, o.unit, self.reply_due(o, now))
            back = -self.scn.routing.return_working_hours * math.log(1.0 - self.streams["route"].uniform())
            self.schedule(self.cal.add_working_hours(now, back), self.return_order, o)
            return
        self.set_reply_dues(o, now)
        self.record(o.id, Act.SIGN, now, o.unit, o.due_std)
        self.request(o)

    def return_order(self, o: Order) -> None:
        now = self.m.env.now
        self.record(o.id, Act.RETURN, now, o.unit)
        o.hops += 1
        delay = -self.scn.routing.redispatch_hours * math.log(1.0 - self.streams["route"].uniform())
        self.schedule(now + delay, self.redispatch, o)

    def redispatch(self, o: Order) -> None:
        now = self.m.env.now
        o.unit = self.route(o)
        self.record(o.id, Act.REDISPATCH, now, o.unit, self.sign_due(o, now))
        self.schedule_sign(o, now)

    # -- handling -----------------------------------------------------------------------------
    def request(self, o: Order) -> None:
        """Queue for a handler of the order's unit, starting at once if one is free."""
        unit = self.units[o.unit]
        o.phase = QUEUED
        if free_handlers(unit, self.m.env.now) > 0:
            self.start(o, unit)
        else:
            enqueue(unit, o, URGENT_PRIORITY if o.urgent else NORMAL_PRIORITY)
            self.wake_unit_when_free(unit)

    def start(self, o: Order, unit: Unit) -> None:
        """A handler takes the order: effort in office hours (urgent: around the clock), then
        the lead time.  Both are known now, so the reply (or the deadline decision) is
        scheduled at once; the handler's release is booked in the unit, which wakes up
        only if orders wait for it."""
        now = self.m.env.now
        o.phase = LEAD  # in hand: effort until effort_end, then the lead time
        h = self.scn.handling
        z = self.z(o, "effort")
        if self.exponential_effort:  # the same normal draw, mapped through its CDF
            effort = -h.effort_median_hours / math.log(2.0) * math.log(0.5 * math.erfc(z / math.sqrt(2.0)))
        else:
            effort = h.effort_median_hours * math.exp(h.effort_sigma * z)
        effort *= h.scale / unit.speed
        if o.round > 0:
            effort *= h.reopen_lead_factor
        o.effort = effort
        self.record(o.id, Act.START, now, unit.index, value=effort)
        end = now + effort if o.urgent else self.cal.add_working_hours(now, effort)
        occupy(unit, end)
        o.effort_end = end
        lead = self.lead_time(o, unit)
        o.lead_end = end + lead if o.urgent else self.cal.add_working_hours(end, lead)
        self.plan_reply(o, now)

    def start_queued(self, unit: Unit) -> None:
        """Start waiting orders while handlers are free (after a release or more capacity)."""
        now = self.m.env.now
        while free_handlers(unit, now) > 0:
            nxt = pop_next(unit)
            if nxt is None:
                return
            self.start(nxt, unit)
        self.wake_unit_when_free(unit)

    def wake_unit_when_free(self, unit: Unit) -> None:
        """One wake-up per unit, at its next handler release, while orders wait."""
        if unit.queue and not unit.wake_pending and unit.releases:
            unit.wake_pending = True
            self.schedule(unit.releases[0], self.unit_wake, unit)

    def unit_wake(self, unit: Unit) -> None:
        unit.wake_pending = False
        self.start_queued(unit)

    def lead_time(self, o: Order, unit: Unit) -> float:
        """Hours (clock if urgent, working otherwise) from the end of handler work to reply."""
        h = self.scn.handling
        if o.urgent:
            median = h.urgent_lead_median_hours
        else:
            median = self.lead_median_wd[o.category] * self.hpd
        lead = median * math.exp(h.lead_sigma * self.z(o, "lead")) * h.scale / unit.speed
        factor = self.mech.one_standard.unit_limit_factor(unit)
        if factor != 1.0:
            lead *= factor**h.parkinson_elasticity
        if o.round > 0:
            lead *= h.reopen_lead_factor
        if o.hard:
            lead *= self.mech.one_plan.hard_lead_multiplier(o, h.hard_lead_multiplier)
        return lead

    def plan_reply(self, o: Order, now: float) -> None:
        """Schedule the reply, or, when it would miss the unit's deadline, the decision to
        extend or hurry shortly before that deadline."""
        o.version += 1
        if o.lead_end <= o.due_unit:
            self.schedule(o.lead_end, self.reply, o, o.version)
            return
        before = self.scn.handling.decide_before_working_hours
        if o.urgent:  # urgent limits are clock hours: decide two hours before
            decide = o.due_unit - 2.0
        else:
            decide = self.cal.at_working_clock(self.cal.working_clock(o.due_unit) - before)
        self.schedule(max(now, decide), self.decide, o, o.version)

    def decide(self, o: Order) -> None:
        """Shortly before its deadline, a unit that will miss it asks for an extension
        (延期), hurries, or lets it run late."""
        now = self.m.env.now
        h = self.scn.handling
        if o.extensions_left > 0 and self.u(o, "extend") < h.extension_request_probability:
            o.extensions_left -= 1
            approved = self.u(o, "approve") < h.extension_approval_probability
            if approved:
                unit = self.units[o.unit]
                limit = self.reply_limit_wd[o.category]
                factor = self.mech.one_standard.unit_limit_factor(unit)
                if o.urgent:
                    o.due_std += self.scn.time_limits.reply_urgent_hours
                    o.due_unit += self.scn.time_limits.reply_urgent_hours * factor
                else:
                    o.due_std = self.cal.add_working_days(o.due_std, limit)
                    o.due_unit = self.cal.add_working_days(o.due_unit, limit * factor)
                o.warned = o.reminded = False
                self.m.team.watch(o)
            self.record(o.id, Act.EXTEND, now, o.unit, o.due_std, outcome=int(approved))
            if approved:
                self.plan_reply(o, now)
                return
        p = h.hurry_probability_warned if o.warned else h.hurry_probability
        if o.hard and not self.mech.one_plan.has_plan(o):
            p = 0.0  # a hard case needs other parties: its unit alone cannot hurry it (一个方案)
        earliest = max(now, o.effort_end)  # hurrying cannot cut the handler's own work
        if self.u(o, "hurry") < p and o.due_unit > earliest:
            o.lead_end = earliest + self.streams["hurry"].uniform() * (o.due_unit - earliest)
        o.version += 1
        self.schedule(o.lead_end, self.reply, o, o.version)

    def compress_lead(self, o: Order, share: float) -> None:
        """Supervision chased the order: its remaining lead time shrinks to ``share``."""
        if o.phase != LEAD:
            return
        now = self.m.env.now
        base = max(now, o.effort_end)  # only the lead time after the handler's work shrinks
        if o.urgent:
            o.lead_end = base + (o.lead_end - base) * share
        else:
            left = self.cal.working_hours_between(base, o.lead_end)
            o.lead_end = self.cal.add_working_hours(base, left * share)
        o.version += 1
        self.schedule(max(now, o.lead_end), self.reply, o, o.version)

    def raise_priority(self, o: Order) -> None:
        if o.phase == QUEUED and o.unit >= 0:
            enqueue(self.units[o.unit], o, URGENT_PRIORITY if o.urgent else RAISED_PRIORITY)

    # -- reply, review, callback ----------------------------------------------------------------
    def reply(self, o: Order) -> None:
        now = self.m.env.now
        unit = self.units[o.unit]
        o.watch += 1  # supervision stops chasing this round
        self.record(o.id, Act.REPLY, now, o.unit, o.due_std)
        o.late_days = max(0.0, self.late_working_days(o, now))
        unit.month.replies += 1
        if now > o.due_std:
            unit.month.late += 1
        if o.hard:
            o.resolved = self.u(o, "resolve") < self.mech.one_plan.resolve_probability(o)
        o.phase = REVIEW
        review_at = now + self.scn.review.delay_hours
        if self.u(o, "review") < self.scn.review.sendback_probability:
            self.schedule(review_at, self.sendback, o)
        else:
            self.schedule_callback(o, review_at)

    def late_working_days(self, o: Order, now: float) -> float:
        if now <= o.due_std:
            return 0.0
        if o.urgent:
            return (now - o.due_std) / 24.0
        return self.cal.working_days_between(o.due_std, now)

    def centre_reply(self, o: Order) -> None:
        now = self.m.env.now
        o.watch += 1
        self.record(o.id, Act.REPLY, now, CENTRE, o.due_std)
        o.late_days = max(0.0, self.late_working_days(o, now))
        self.schedule_callback(o, now)

    def sendback(self, o: Order) -> None:
        now = self.m.env.now
        self.record(o.id, Act.SENDBACK, now, o.unit)
        o.round += 1
        o.watch += 1
        self.m.team.watch(o)
        self.request(o)

    def schedule_callback(self, o: Order, after: float) -> None:
        """Callback attempts on consecutive working days from the next working day."""
        cb = self.scn.callback
        first = self.cal.next_working_day_start(after) + self.u(o, "window") * cb.window_hours
        u = self.u(o, "reach")
        q = cb.reach_probability_per_attempt
        attempts, reached = cb.attempts, False
        if q > 0.0:
            # smallest k with P(reached by attempt k) = 1 - (1-q)^k above u
            # (compared as a float first: a subnormal q makes the ratio infinite)
            ratio = 0.0 if q >= 1.0 else math.log1p(-u) / math.log1p(-q)
            if ratio < cb.attempts:
                attempts, reached = math.floor(ratio) + 1, True
        when = self.cal.add_working_days(first, attempts - 1) if attempts > 1 else first
        o.phase = CALLBACK
        self.schedule(when, self.callback_reached if reached else self.callback_unreached, o)

    def callback_unreached(self, o: Order) -> None:
        now = self.m.env.now
        unit = o.unit
        self.record(o.id, Act.CALLBACK, now, unit, outcome=UNREACHED)
        self.close(o, now)

    def callback_reached(self, o: Order) -> None:
        now = self.m.env.now
        result = outcome(self.scn.callback.satisfaction, self.category_names[o.category], o,
                         self.u(o, "satisfy"))
        self.record(o.id, Act.CALLBACK, now, o.unit, outcome=result)
        if o.unit >= 0:
            m = self.units[o.unit].month
            m.callbacks += 1
            if result == DISSATISFIED:
                m.dissatisfied += 1
        if o.hard and (result == DISSATISFIED or not o.resolved):
            self.mech.one_plan.note_bad_hard_case(o)
        self.close(o, now)
        reopen_p = self.scn.callback.reopen_probability_if_dissatisfied
        if result == DISSATISFIED and self.u(o, "reopen") < reopen_p:
            self.reopen(o, now)
        elif result not in (SATISFIED, BASIC, DISSATISFIED):  # pragma: no cover - guard
            raise ValueError(f"unknown callback outcome {result}")

    def close(self, o: Order, now: float) -> None:
        self.record(o.id, Act.CLOSE, now, o.unit)
        o.phase = CLOSED

    def reopen(self, o: Order, now: float) -> None:
        if o.unit < 0:  # the centre's own answer failed: the responsible unit takes over
            o.unit = o.responsible
        o.reopens += 1
        o.round += 1
        self.set_reply_dues(o, now)
        self.record(o.id, Act.REOPEN, now, o.unit, o.due_std)
        self.request(o)

