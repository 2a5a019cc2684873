"""One order's path through the lifecycle (DESIGN §2), as a chain of scheduled callbacks.

arrive → sign → [return → redispatch → sign]* → start (handler) → lead → [extend] → reply →
[sendback → start …] → [callback] → close → [reopen → [escalate] → start …]

Each step computes its next time directly (working calendar, drawn durations) and schedules
one wake-up; nothing polls.  A wake-up carries the order's ``version``; when supervision or an
extension changes an order's plan it bumps the version and the stale wake-up is ignored.

A step that nothing in the model can change before it happens needs no wake-up at all: it is
worked out at once and recorded at its own time (``plan_reply``: a reply before the deadline;
``schedule_callback``: the callback and close).  Whatever it affects is kept by time (monthly
and quarterly counters by the step's own time, supervision's lists by ``reply_at``), so the
run is the one the wake-ups would give; only the order in which later rounds draw from the
shared streams differs.  This halves the events a year takes.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import TYPE_CHECKING

import numpy as np

from sim.activities import BASIC, CENTRE, DISSATISFIED, SATISFIED, UNREACHED, Act
from sim.log import NAN
from sim.memory import as_array
from sim.model.callback import SatisfactionModel
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
from sim.port import Order

if TYPE_CHECKING:
    from sim.model.state import RunState

FATE_BITS = {
    name: 1 << i
    for i, name in enumerate(
        ("route", "route_pick", "sign", "direct", "direct_time", "extend", "approve", "hurry",
         "review", "reach", "window", "satisfy", "reopen", "resolve", "effort", "lead")
    )
}


EFFORT_BIT, LEAD_BIT = FATE_BITS["effort"], FATE_BITS["lead"]
# the activity codes as plain ints: a module global costs less than an enum's attribute on
# the per-event path, and the log stores the same value
SIGN, START, REPLY, SENDBACK, CALLBACK, CLOSE = (
    int(Act.SIGN), int(Act.START), int(Act.REPLY), int(Act.SENDBACK), int(Act.CALLBACK), int(Act.CLOSE))
CALLBACK_BITS = FATE_BITS["window"] | FATE_BITS["reach"]  # drawn together, at the callback
NO_FATE = (0, None)  # a draw consumed in bulk: the stream draws


class Lifecycle:
    """The lifecycle callbacks, bound to one model run."""

    def __init__(self, model: RunState) -> None:
        self.m = model
        self.env = model.env
        self.horizon = model.horizon
        self.scn = model.scn
        self.cal = model.cal
        self.record = model.log.record
        self.units = model.units
        self.schedule = model.schedule
        self.streams = model.streams
        scn = model.scn
        self.hpd = model.cal.hours_per_day
        limits = scn.time_limits
        self.reply_limit_wd = [limits.reply_working_days.get(c) for c in model.categories]
        self.reply_urgent_hours, self.max_extensions = limits.reply_urgent_hours, limits.max_extensions
        # the policies' decision points (sim.port): only those that take part, in order
        hooks = model.port.hooks
        self._on_sign, self._on_deadline, self._on_wait = hooks["on_sign"], hooks["on_deadline"], hooks["on_wait"]
        self._hard_lead, self._hurry, self._next_change = (
            hooks["hard_case_lead_factor"], hooks["hurry_probability"], hooks["next_change"])
        self._resolve, self._callback_score = hooks["resolve_probability"], hooks["callback_score"]
        self._on_callback, self._reopen = hooks["on_callback"], hooks["reopen_probability"]
        self.month_starts = model.month_starts
        h = scn.handling
        self.exponential_effort = h.effort_distribution == "exponential"
        # hot-path constants as plain floats (read once per order)
        self.effort_median, self.effort_sigma, self.handling_scale = h.effort_median_hours, h.effort_sigma, h.scale
        # units differ in speed by kind and topic (handler-hours multipliers), not only headcount
        self.kind_effort = [getattr(h.kind_effort_factor, u.kind) for u in model.units]
        self.topic_effort = [t.effort_factor for t in scn.topics] or [1.0]
        self.reopen_lead_factor, self.lead_sigma = h.reopen_lead_factor, h.lead_sigma
        # a unit's own outside waits (units.lead_factor; 1: its categories' pooled medians)
        self.unit_lead = [u.lead_factor for u in scn.units]
        lead_median_wd = [h.lead_median_working_days.get(c) for c in model.categories]
        self.lead_median_hours = [d * self.hpd for d in lead_median_wd]
        self.review_delay, self.sendback_p = scn.review.delay_hours, scn.review.sendback_probability
        cb = scn.callback
        self.method = cb.method
        self.attempts = cb.attempts
        self.satisfaction = SatisfactionModel(cb.satisfaction, model.categories, by_person=cb.method != "sms")
        self.reopen_p = cb.reopen_probability_if_dissatisfied
        self.escalate_after = cb.escalation.after_reopens  # 0: never
        self.escalated_resolve_p = cb.escalation.resolve_probability
        self._callback_method_draws(model)
        # the time-limit factor each unit works to (一个标准: 1 for all)
        self.limit_factor = []
        for unit in model.units:
            factor = 1.0
            for unit_limit_factor in hooks["unit_limit_factor"]:
                factor = unit_limit_factor(unit.index, factor)
            self.limit_factor.append(factor)
        # fate draws by name: (bit, per-order values), those still read one by one
        self._first_round_draws(model)
        u, z = model.orders.uniforms, model.orders.normals
        self._fate_u = {n: (FATE_BITS[n], v) for n, v in u.items() if n not in self.consumed_u}
        self._fate_z = {n: (FATE_BITS[n], v) for n, v in z.items() if n not in self.consumed_z}
        # the two draws every order makes (``u``, inlined in ``reply`` and ``callback_reached``)
        self._review_fate = self._fate_u.get("review", NO_FATE)
        self._satisfy_fate = self._fate_u.get("satisfy", NO_FATE)

    def _first_round_draws(self, model: RunState) -> None:
        """What an order's own fate draws give at its first handling and first callback,
        for all orders at once (numpy): the state-free part of the lognormal effort and lead
        time, and the callback's window offset and attempts.  Later rounds draw from the
        streams as before."""
        u, z = model.orders.uniforms, model.orders.normals
        cats = np.asarray(model.orders.category, dtype=np.int64)
        urgent = np.asarray(model.orders.urgent, dtype=bool)
        h = self.scn.handling
        self.first_effort = None
        if not self.exponential_effort:
            self.first_effort = as_array("d", self.effort_median * np.exp(self.effort_sigma * np.asarray(z["effort"])))
        median = np.where(urgent, h.urgent_lead_median_hours, np.asarray(self.lead_median_hours)[cats])
        self.first_lead = as_array("d", median * np.exp(self.lead_sigma * np.asarray(z["lead"])))
        cb = self.scn.callback
        self.window_hours = cb.window_hours
        self.first_window = as_array("d", np.asarray(u["window"]) * cb.window_hours)
        self.first_attempts = as_array("b", self._attempts_needed(np.asarray(u["reach"])))
        # draws used up here or by the intake (vectorised): never read one by one
        self.consumed_u = {"window", "reach", "route", "direct", "direct_time", "sms_delay", "sample"}
        self.consumed_z = {"lead"} | (set() if self.first_effort is None else {"effort"})

    def _callback_method_draws(self, model: RunState) -> None:
        """The draws an SMS or a sampled callback needs beyond a manual one's: each order's
        own fate draws (``fate.sms_delay``, ``fate.sample``, drawn with the order by
        ``sim.demand``, so a surge that adds orders does not move them), from streams of their
        own, so a manual run's draws are untouched and the same seed gives every method the
        same orders, handling and reach draws (common random numbers)."""
        cb = self.scn.callback
        if self.method == "sms":
            sms = cb.sms
            self.sms_reply_p, self.sms_window, self.sms_mean = sms.reply_probability, sms.window_hours, sms.reply_mean_hours
            # the order's own reach uniform decides whether it answers: the citizen a call
            # reaches at once is the one who answers a text, on the same draw
            self.first_reach_u = model.orders.uniforms["reach"]
            self.first_sms_delay = model.orders.uniforms["sms_delay"]
            # the answer time: exponential with mean reply_mean_hours, cut at window_hours
            self.sms_cut = -math.expm1(-sms.window_hours / sms.reply_mean_hours)
        elif self.method == "sampled":
            draws = np.asarray(model.orders.uniforms["sample"])
            self.sampled = as_array("b", draws < cb.sampled.share)

    def _attempts_needed(self, u: np.ndarray) -> np.ndarray:
        """Attempts until the citizen is reached (0: not within ``attempts``): the smallest k
        with P(reached by attempt k) = 1 - (1-q)^k above ``u``."""
        cb = self.scn.callback
        q = cb.reach_probability_per_attempt
        if q <= 0.0:
            return np.zeros(len(u), dtype=np.int8)
        # (compared as a float first: a subnormal q makes the ratio infinite)
        with np.errstate(over="ignore", divide="ignore"):
            ratio = np.zeros(len(u)) if q >= 1.0 else np.log1p(-u) / math.log1p(-q)
        return np.where(ratio < cb.attempts, np.floor(np.minimum(ratio, cb.attempts)) + 1, 0).astype(np.int8)

    # -- random draws: an order's own fate first, its stream after ---------------------------
    def u(self, o: Order, name: str) -> float:
        """The order's own uniform ``name`` the first time, the shared stream's after (and
        always for a draw consumed in bulk: intake, first round)."""
        bit, values = self._fate_u.get(name, NO_FATE)
        if values is not None and not o.used & bit:
            o.used |= bit
            return values[o.id]
        return self.streams[name].uniform()

    def z(self, o: Order, name: str) -> float:
        bit, values = self._fate_z.get(name, NO_FATE)
        if values is not None and not o.used & bit:
            o.used |= bit
            return values[o.id]
        return self.streams[name].normal()

    # -- deadlines ----------------------------------------------------------------------------
    def sign_due(self, o: Order, t: float) -> float:
        lim = self.scn.time_limits
        if o.urgent:
            return t + lim.sign_urgent_hours
        return self.cal.add_working_days(t, lim.sign_working_days)

    def reply_due(self, o: Order, t: float) -> float:
        if o.urgent:
            return t + self.scn.time_limits.reply_urgent_hours
        return self.cal.add_working_days(t, self.reply_limit_wd[o.category])

    def set_reply_dues(self, o: Order, t: float) -> float | None:
        """Deadlines of a new handling round: the standard's and the unit's own (whose
        working clock is kept: supervision and the deadline decision count back from it).
        Returns the working clock at ``t`` (None for an urgent order, on clock hours)."""
        factor = self.limit_factor[o.unit]
        clock = None
        if o.urgent:
            hours = self.reply_urgent_hours
            o.due_std = t + hours
            o.due_unit = o.due_std if factor == 1.0 else t + hours * factor
        else:
            cal = self.cal
            clock = cal.working_clock(t)
            limit = self.reply_limit_wd[o.category]
            o.due_std = cal.add_working_hours_at(t, clock, limit * self.hpd)
            hours = limit * factor * self.hpd
            o.due_unit = o.due_std if factor == 1.0 else cal.add_working_hours_at(t, clock, hours)
            o.due_unit_clock = clock + hours
        o.extensions_left = self.max_extensions
        o.reply_at = math.inf
        o.warned = False
        for on_deadline in self._on_deadline:
            on_deadline(o)
        return clock

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
        self.schedule(when, self.sign, o)

    def sign(self, o: Order) -> None:
        """A sign-for after a redispatch (the first sign-fors are counted at intake)."""
        now = self.env.now
        month = self.units[o.unit].months[bisect_right(self.month_starts, now)]  # (Model.month_of)
        month.signs += 1
        if now > o.sign_due:
            month.late_signs += 1
        self.sign_at(o, now)

    def sign_at(self, o: Order, now: float) -> None:
        """The unit signs for the order (签收) at ``now``, the current time."""
        if o.unit != o.responsible:
            self.record(o.id, Act.SIGN, now, o.unit, self.reply_due(o, now))
            back = -self.scn.routing.return_working_hours * math.log(1.0 - self.streams["route"].uniform())
            self.schedule(self.cal.add_working_hours(now, back), self.return_order, o)
            return
        clock = self.set_reply_dues(o, now)
        self.record(o.id, SIGN, now, o.unit, o.due_std)
        for on_sign in self._on_sign:
            on_sign(o, now)
        self.request(o, now, clock)

    def return_order(self, o: Order) -> None:
        now = self.m.env.now
        self.record(o.id, Act.RETURN, now, o.unit)
        o.hops += 1
        delay = -self.scn.routing.redispatch_hours * math.log(1.0 - self.streams["route"].uniform())
        self.schedule(now + delay, self.redispatch, o)

    def redispatch(self, o: Order) -> None:
        now = self.m.env.now
        o.unit = self.route(o)
        o.sign_due = self.sign_due(o, now)
        self.record(o.id, Act.REDISPATCH, now, o.unit, o.sign_due)
        self.schedule_sign(o, now)

    # -- handling -----------------------------------------------------------------------------
    def request(self, o: Order, now: float, clock: float | None = None) -> None:
        """Queue for a handler of the order's unit, starting at once if one is free
        (``clock``: the working clock at ``now``, when the caller has it)."""
        unit = self.units[o.unit]
        o.handling = False
        if free_handlers(unit, now) > 0:
            self.start(o, unit, now, clock)
        else:
            enqueue(unit, o, URGENT_PRIORITY if o.urgent else NORMAL_PRIORITY)
            for on_wait in self._on_wait:
                on_wait(o, math.inf)
            self.wake_unit_when_free(unit)

    def start(self, o: Order, unit: Unit, now: float, clock: float | None = None) -> None:
        """A handler takes the order: effort in office hours (urgent: around the clock), then
        the lead time.  Both are known now, so the reply (or the deadline decision) is
        scheduled at once; the handler's release is booked in the unit, which wakes up
        only if orders wait for it.

        A non-urgent order taken outside office hours (a send-back reviewed in the evening,
        a handler lent at 00:00 on the 1st) is started at the next opening: its handler is
        booked from now, but no office time passes before then."""
        if not o.urgent:
            now = self.cal.next_office_time(now)
        o.handling = True  # in hand: effort until effort_end, then the lead time
        if now >= self.horizon:
            return  # the office opens after the run: nothing of this round happens within it
        o.started_at = now
        if self.first_effort is not None and not o.used & EFFORT_BIT:
            o.used |= EFFORT_BIT
            effort = self.first_effort[o.id]
        else:
            effort = self.effort_draw(self.z(o, "effort"))
        effort = self.scaled_effort(o, unit, effort)
        self.record(o.id, START, now, unit.index, NAN, effort)
        lead = self.lead_time(o, unit)
        if o.urgent:
            end = now + effort
            o.lead_end = end + lead
        else:  # one clock reading for both: the end's working clock is now's plus the effort
            cal = self.cal
            if clock is None:
                clock = cal.working_clock(now)
            # (add_working_hours_at, inlined; never before now, nor the lead before the effort:
            # a tiny amount at an opening would give the previous closing)
            end = cal.at_working_clock(clock + effort) if effort > 0.0 else now
            if end < now:
                end = now
            o.lead_end = cal.at_working_clock(clock + effort + lead) if lead > 0.0 else end
            if o.lead_end < end:
                o.lead_end = end
        occupy(unit, end)
        o.effort_end = end
        self.plan_reply(o, now)

    def effort_draw(self, z: float) -> float:
        """The handler effort (office hours, before scaling) of standard-normal draw ``z``:
        lognormal, or exponential through the same draw's CDF."""
        if self.exponential_effort:
            return -self.effort_median / math.log(2.0) * math.log(0.5 * math.erfc(z / math.sqrt(2.0)))
        return self.effort_median * math.exp(self.effort_sigma * z)

    def scaled_effort(self, o: Order, unit: Unit, effort: float) -> float:
        """A drawn effort for ``o`` at ``unit``: scaled by the handling scale, the unit kind's
        and the topic's factors, the unit's speed and, after a reopen, the reopen factor (the
        warm start scales its conditioned draws here too)."""
        effort *= self.handling_scale * self.kind_effort[unit.index] * self.topic_effort[o.topic] / unit.speed
        if o.round > 0:
            effort *= self.reopen_lead_factor
        return effort

    def start_queued(self, unit: Unit) -> None:
        """Start waiting orders while handlers are free (after a release or more capacity)."""
        now = self.env.now
        while free_handlers(unit, now) > 0:
            nxt = pop_next(unit)
            if nxt is None:
                return
            self.start(nxt, unit, now)
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
        if not o.used & LEAD_BIT:
            o.used |= LEAD_BIT
            lead = self.first_lead[o.id]
        else:
            median = self.scn.handling.urgent_lead_median_hours if o.urgent else self.lead_median_hours[o.category]
            lead = median * math.exp(self.lead_sigma * self.z(o, "lead"))
        return self.scaled_lead(o, unit, lead)

    def scaled_lead(self, o: Order, unit: Unit, lead: float) -> float:
        """A drawn lead time ``lead`` for ``o`` at ``unit``: scaled by the handling scale, the
        unit's own factor and speed, its time-limit factor (Parkinson), the reopen factor and
        the hard-case multiplier (the warm start scales its conditioned draws here too)."""
        h = self.scn.handling
        # (x 1.0 is exact: a scenario without unit lead factors draws the same times)
        lead = lead * self.handling_scale * self.unit_lead[unit.index] / unit.speed
        factor = self.limit_factor[unit.index]
        if factor != 1.0:
            lead *= factor**h.parkinson_elasticity
        if o.round > 0:
            lead *= h.reopen_lead_factor
        if o.hard:
            factor = h.hard_lead_multiplier
            for hard_case_lead_factor in self._hard_lead:
                factor = hard_case_lead_factor(o, factor)
            lead *= factor
        return lead

    def plan_reply(self, o: Order, now: float) -> None:
        """Schedule the reply, or, when it would miss the unit's deadline, the decision to
        extend or hurry shortly before that deadline.

        A reply that nothing can change first is worked out now and recorded at its own
        time, with no wake-up: every policy is asked when it could next change the order
        (``next_change``), and a reply before all of their answers (and the horizon) cannot
        be changed.  Its effects are counted by their own time (monthly counters by the
        reply's month; supervision drops the order from ``reply_at`` on, so a warning due
        before the reply still happens)."""
        o.version += 1
        t = o.lead_end
        if t <= o.due_unit:
            for on_wait in self._on_wait:  # (a warning due before the reply comes first)
                on_wait(o, t)
            limit = self.horizon
            for next_change in self._next_change:
                when = next_change(o, t)
                if when < limit:
                    limit = when
            if t < limit:
                self.reply(o, t)
            else:
                self.schedule(t, self.reply_now, o, o.version)
            return
        before = self.scn.handling.decide_before_working_hours
        if o.urgent:  # urgent limits are clock hours: decide two hours before
            decide = o.due_unit - 2.0
        else:
            decide = self.cal.at_working_clock(o.due_unit_clock - before)
        for on_wait in self._on_wait:
            on_wait(o, math.inf)
        self.schedule(max(now, decide), self.decide, o, o.version)

    def decide(self, o: Order) -> None:
        """Shortly before its deadline, a unit that will miss it manages to the deadline:
        it hurries the order if the work can still be done in time, and otherwise asks for an
        extension (延期) while the standard deadline has not expired; failing both, the order
        runs late.

        "Can still be done in time": the handler's own work ends before the unit's deadline
        and the rest is waiting the unit can cut short (pressing the other party, replying
        with what it has), which a hard case's outside parties do not allow.  Units are
        ranked on on-time reply (一套指标), so they hurry such an order with
        ``hurry_probability`` (``hurry_probability_warned`` after a supervision warning;
        policies may change it).  An extension is asked for only when the order cannot be
        done in time, and counts against the unit in the assessment."""
        now = self.m.env.now
        h = self.scn.handling
        earliest = max(now, o.effort_end)  # hurrying cannot cut the handler's own work
        if not o.hard and o.due_unit > earliest:
            p = h.hurry_probability_warned if o.warned else h.hurry_probability
            for hurry_probability in self._hurry:
                p = hurry_probability(o, p)
            if self.u(o, "hurry") < p:
                share = self.streams["hurry"].uniform()
                if o.urgent:  # urgent work runs around the clock
                    o.lead_end = earliest + share * (o.due_unit - earliest)
                else:  # the rest of the work is office time: the reply falls in office hours
                    w = self.cal.working_clock(earliest)
                    o.lead_end = self.cal.at_working_clock_from(earliest, w + share * (o.due_unit_clock - w))
                o.version += 1
                self.schedule(o.lead_end, self.reply_now, o, o.version)
                return
        # cannot be done in time: an extension extends the standard deadline and must be asked
        # for before it expires; once it has passed, the order stays late
        if o.extensions_left > 0 and now < o.due_std and self.u(o, "extend") < h.extension_request_probability:
            o.extensions_left -= 1
            approved = self.u(o, "approve") < h.extension_approval_probability
            unit = self.units[o.unit]
            unit.months[bisect_right(self.month_starts, now)].extensions += 1
            if approved:
                limit = self.reply_limit_wd[o.category]
                factor = self.limit_factor[unit.index]
                if o.urgent:
                    o.due_std += self.scn.time_limits.reply_urgent_hours
                    o.due_unit += self.scn.time_limits.reply_urgent_hours * factor
                else:
                    o.due_std = self.cal.add_working_days(o.due_std, limit)
                    hours = limit * factor * self.hpd
                    o.due_unit = self.cal.add_working_hours_at(o.due_unit, o.due_unit_clock, hours)
                    o.due_unit_clock += hours
                o.warned = False
                for on_deadline in self._on_deadline:
                    on_deadline(o)
            self.record(o.id, Act.EXTEND, now, o.unit, o.due_std, outcome=int(approved))
            if approved:
                self.plan_reply(o, now)
                return
        o.version += 1
        self.schedule(o.lead_end, self.reply_now, o, o.version)

    def compress_lead(self, o: Order, share: float) -> None:
        """Supervision chased the order: its remaining lead time shrinks to ``share`` (only
        while a handler has it: a queued order has no lead time yet)."""
        now = self.m.env.now
        if not o.in_hand(now):
            return
        base = max(now, o.effort_end)  # only the lead time after the handler's work shrinks
        if o.urgent:
            o.lead_end = base + (o.lead_end - base) * share
        else:
            left = self.cal.working_hours_between(base, o.lead_end)
            o.lead_end = self.cal.add_working_hours(base, left * share)
        if now < o.due_unit:  # chased before its deadline (a warning): the deadline decision is still ahead
            self.plan_reply(o, now)
            return
        o.version += 1
        self.schedule(max(now, o.lead_end), self.reply_now, o, o.version)

    def raise_priority(self, o: Order) -> None:
        if o.queued and o.unit >= 0:
            enqueue(self.units[o.unit], o, URGENT_PRIORITY if o.urgent else RAISED_PRIORITY)

    # -- reply, review, callback ----------------------------------------------------------------
    def reply_now(self, o: Order) -> None:
        self.reply(o, self.env.now)

    def reply(self, o: Order, now: float) -> None:
        """The unit replies at ``now`` (which may be after the current time, see plan_reply)."""
        unit = self.units[o.unit]
        o.reply_at = now  # supervision stops chasing this round from then on
        self.record(o.id, REPLY, now, o.unit, o.due_std)
        month = unit.months[bisect_right(self.month_starts, now)]  # (Model.month_of)
        month.replies += 1
        if now > o.due_std:
            month.late += 1
            o.late_days = max(0.0, self.late_working_days(o, now))
        else:
            o.late_days = 0.0
        if o.hard:
            p = 1.0
            for resolve_probability in self._resolve:
                p = resolve_probability(o, p)
            if o.escalated and p < self.escalated_resolve_p:  # a joint effort, like a plan's
                p = self.escalated_resolve_p
            o.resolved = self.u(o, "resolve") < p
        review_at = now + self.review_delay
        bit, values = self._review_fate  # (self.u(o, "review"), inlined)
        if values is not None and not o.used & bit:
            o.used |= bit
            review = values[o.id]
        else:
            review = self.streams["review"].uniform()
        if review < self.sendback_p:
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
        now = self.env.now
        o.reply_at = now
        self.record(o.id, REPLY, now, CENTRE, o.due_std)
        o.late_days = max(0.0, self.late_working_days(o, now))
        self.schedule_callback(o, now)

    def sendback(self, o: Order) -> None:
        now = self.env.now
        self.record(o.id, SENDBACK, now, o.unit)
        self.units[o.unit].months[bisect_right(self.month_starts, now)].sendbacks += 1
        o.round += 1
        o.reply_at = math.inf  # a new handling round, under the same deadlines
        for on_deadline in self._on_deadline:
            on_deadline(o)
        self.request(o, now)
        if o.escalated:
            self.raise_priority(o)

    def schedule_callback(self, o: Order, after: float) -> None:
        """The callback after the review accepted the reply at ``after``, by the scenario's
        method (回访方式, ``callback.method``):

        * manual (人工回访): call attempts on consecutive working days from the next working
          day, until the citizen is reached or the attempts run out;
        * sms (短信回访): one text message when the first call would be made; answered or not
          (``schedule_sms``);
        * sampled (抽样回访): manual calls to the order's first round only if it is in the
          sample; otherwise the order closes at ``after``, without a callback.  A reopened
          order is always called back.

        Nothing can change an order between its reply and its callback (supervision has let
        it go, and the satisfaction model reads only what the reply fixed), so the callback
        and the close are worked out now and recorded at their own time, without a wake-up
        of their own; only a reopen, which competes for handlers again, waits for its time."""
        method = self.method
        if method == "sms":
            self.schedule_sms(o, after)
            return
        if method == "sampled" and not o.reopens and not self.sampled[o.id]:
            if after < self.horizon:
                self.close(o, after)
            return
        if not o.used & CALLBACK_BITS:  # the first callback: the order's own draws
            o.used |= CALLBACK_BITS
            offset, needed = self.first_window[o.id], self.first_attempts[o.id]
        else:
            offset = self.streams["window"].uniform() * self.window_hours
            needed = int(self._attempts_needed(np.array([self.streams["reach"].uniform()]))[0])
        first = self.cal.next_working_day_start(after) + offset
        attempts, reached = (needed, True) if needed else (self.attempts, False)
        when = self.cal.add_working_days(first, attempts - 1) if attempts > 1 else first
        if when >= self.horizon:
            return  # the callback falls after the run: the order stays open
        if reached:
            self.callback_reached(o, when)
        else:
            self.callback_unreached(o, when)

    def schedule_sms(self, o: Order, after: float) -> None:
        """短信回访: the text goes out when the first call would be made (the next working day,
        in the call window); the citizen answers it with ``sms.reply_probability``, after an
        exponential delay (mean ``reply_mean_hours``) cut at ``window_hours``, at any hour.
        No answer within the window: unreached, recorded when the window ends."""
        if not o.used & CALLBACK_BITS:  # the first callback: the order's own draws
            o.used |= CALLBACK_BITS
            offset, reach_u, delay_u = self.first_window[o.id], self.first_reach_u[o.id], self.first_sms_delay[o.id]
        else:
            offset = self.streams["window"].uniform() * self.window_hours
            reach_u, delay_u = self.streams["reach"].uniform(), self.streams["sms_delay"].uniform()
        sent = self.cal.next_working_day_start(after) + offset
        if reach_u < self.sms_reply_p:
            when = sent - self.sms_mean * math.log1p(-delay_u * self.sms_cut)
            if when < self.horizon:
                self.callback_reached(o, when)
        else:
            when = sent + self.sms_window
            if when < self.horizon:
                self.callback_unreached(o, when)

    def callback_unreached(self, o: Order, now: float) -> None:
        self.record(o.id, CALLBACK, now, o.unit, NAN, NAN, UNREACHED)
        self.close(o, now)

    def callback_reached(self, o: Order, now: float) -> None:
        """The citizen is reached at ``now`` (which may be after the current time)."""
        bit, values = self._satisfy_fate  # (self.u(o, "satisfy"), inlined)
        if values is not None and not o.used & bit:
            o.used |= bit
            uniform = values[o.id]
        else:
            uniform = self.streams["satisfy"].uniform()
        if self._callback_score:
            score = self.satisfaction.score(o)
            for callback_score in self._callback_score:
                score = callback_score(o, now, score)
            result = self.satisfaction.outcome_at(score, uniform)
        else:
            result = self.satisfaction.outcome(o, uniform)
        # the citizen also says whether the problem was resolved (解决率): as the model has
        # it, i.e. a hard case left unresolved at its last reply says no, any other yes
        self.record(o.id, CALLBACK, now, o.unit, NAN, 1.0 if o.resolved else 0.0,  # (activities.RESOLVED
                    result)  # / UNRESOLVED)
        if o.unit >= 0:
            m = self.units[o.unit].months[bisect_right(self.month_starts, now)]
            m.callbacks += 1
            if result == DISSATISFIED:
                m.dissatisfied += 1
        for on_callback in self._on_callback:
            on_callback(o, result, now)
        self.close(o, now)
        if result == DISSATISFIED:
            p = self.reopen_p
            for reopen_probability in self._reopen:
                p = reopen_probability(o, now, p)
            if self.u(o, "reopen") < p:
                self.schedule(now, self.reopen, o)
        elif result not in (SATISFIED, BASIC, DISSATISFIED):  # pragma: no cover - guard
            raise ValueError(f"unknown callback outcome {result}")

    def close(self, o: Order, now: float) -> None:
        self.record(o.id, CLOSE, now, o.unit)

    def reopen(self, o: Order) -> None:
        now = self.env.now
        if o.unit < 0:  # the centre's own answer failed: the responsible unit takes over
            o.unit = o.responsible
        o.reopens += 1
        o.round += 1
        clock = self.set_reply_dues(o, now)
        self.record(o.id, Act.REOPEN, now, o.unit, o.due_std)
        if o.reopens == self.escalate_after:
            self.escalate(o, now)
        self.request(o, now, clock)
        if o.escalated:
            self.raise_priority(o)

    def escalate(self, o: Order, now: float) -> None:
        """提级督办: the ``callback.escalation.after_reopens``-th reopen escalates the order.
        From now on each of its rounds waits ahead of normal work in the unit's queue (as a
        supervised order does), and a hard case is resolved at its reply with at least
        ``escalation.resolve_probability`` (a joint effort, like a resolution plan's)."""
        o.escalated = True
        self.record(o.id, Act.ESCALATE, now, o.unit, o.due_std)

