"""一个方案 one plan: a joint resolution plan for hard, recurring cases (克难).

The quarterly analysis (季分析) counts, per topic, hard cases that ended dissatisfied or
unresolved; a topic with enough of them gets a plan, and from then on its hard cases are
resolved jointly (far more often, and faster).  Without the mechanism no plan is ever made.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from sim.activities import Act
from sim.mechanisms.base import Mechanism

if TYPE_CHECKING:  # (the model imports the mechanisms)
    from sim.model.order import Order


class OnePlan(Mechanism):
    name = "one_plan"
    title = "一个方案 hard-case resolution plans"

    def attach(self, model) -> None:
        super().attach(model)
        self.planned: set[int] = set()
        self.bad_hard_cases: dict[int, Counter[int]] = {}  # quarter -> topic -> count

    def note_bad_hard_case(self, order: Order, when: float) -> None:
        """The callback at ``when`` found a hard case dissatisfied or unresolved."""
        quarter = self.model.quarter_of(when)
        self.bad_hard_cases.setdefault(quarter, Counter())[order.topic] += 1

    def has_plan(self, order: Order) -> bool:
        return order.topic in self.planned

    def resolve_probability(self, order: Order) -> float:
        p = self.params
        return p.resolve_probability_with_plan if self.has_plan(order) else p.resolve_probability_without_plan

    def hard_lead_multiplier(self, order: Order, default: float) -> float:
        return self.params.plan_lead_multiplier if self.has_plan(order) else default

    def on_quarter(self, now: float) -> None:
        ended = self.bad_hard_cases.pop(self.model.quarter_of(now) - 1, Counter())
        if self.enabled:
            threshold = self.params.hard_cases_per_topic_quarter
            for topic, n in sorted(ended.items()):
                if n >= threshold and topic not in self.planned:
                    self.planned.add(topic)
                    self.model.log.record(-1, Act.PLAN, now, -1, value=float(topic), outcome=min(n, 127))
