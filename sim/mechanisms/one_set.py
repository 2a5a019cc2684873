"""一套指标 one set of indicators: monthly assessment and ranking of units (考核).

Each month units are scored on last month's on-time replies, dissatisfaction and public
criticism; the lowest-ranked share raise their effort (a speed factor on handling and lead
times) for the next month, others relax part of the way back.  Without it, no unit changes.
"""

from __future__ import annotations

from sim.activities import Act
from sim.mechanisms.base import Mechanism


class OneSet(Mechanism):
    name = "one_set"
    title = "一套指标 monthly assessment"

    def on_month(self, now: float) -> None:
        if not self.enabled:
            return
        p = self.params
        ended = self.model.month_of(now) - 1  # the month that just ended
        units = [u for u in self.model.units if u.months[ended].replies > 0]
        if not units:
            return

        def score(u) -> float:
            m = u.months[ended]
            on_time = 1.0 - m.late / m.replies
            dissatisfied = m.dissatisfied / m.callbacks if m.callbacks else 0.0
            return on_time - 2.0 * dissatisfied - 0.05 * m.criticised

        ranked = sorted(units, key=lambda u: (score(u), u.index))
        bottom = {u.index for u in ranked[: int(round(p.bottom_share * len(ranked)))]}
        for u in self.model.units:
            old = u.speed
            if u.index in bottom:
                u.speed = min(p.max_speed, u.speed * p.effort_gain)
            else:
                u.speed = 1.0 + (u.speed - 1.0) * p.relax
            if u.speed != old:
                self.model.log.record(-1, Act.ASSESS, now, u.index, value=u.speed)
