"""一个方案 one plan: a joint resolution plan for hard, recurring cases (克难).

Practice: the quarterly analysis (季分析) finds topics whose hard cases keep ending badly and
adopts a joint plan (一案一策) with the departments involved.  Decision points: ``on_callback``
(count hard cases that ended dissatisfied or unresolved, per topic and quarter),
``on_quarter`` (adopt plans), ``hard_case_lead_factor`` and ``resolve_probability`` (a planned
topic's hard cases are resolved far more often, and faster), ``hurry_probability`` (a hard case
without a plan cannot be hurried by its unit alone), ``next_change`` (a plan adopted at the
next quarter changes how a hard case replied after it is resolved).  Off: no plan is ever
made; hard cases are left to their units (the counterfactual practice: each unit on its own
with the outside parties, no quarterly analysis).  Parameters, units and sources:
docs/mechanisms.md.
"""

from __future__ import annotations

from collections import Counter

from pydantic import Field

from sim.activities import DISSATISFIED, Act
from sim.port import Kernel, Order, Policy
from sim.scenario import PolicyParams, Positive, Probability


class OnePlanParams(PolicyParams):
    hard_cases_per_topic_quarter: int = Field(
        3, ge=1, description="quarterly analysis: hard cases with a bad outcome that trigger a plan"
    )
    resolve_probability_without_plan: Probability = Field(
        0.5, description="probability a hard case is resolved by its unit alone"
    )
    resolve_probability_with_plan: Probability = Field(
        0.95, description="the same once its topic has a joint resolution plan"
    )
    plan_lead_multiplier: Positive = Field(
        2.0, description="hard-case lead time multiplier under a plan (instead of hard_lead_multiplier)"
    )


class OnePlan(Policy[OnePlanParams]):
    name = "one_plan"
    title = "一个方案 hard-case resolution plans"
    Params = OnePlanParams

    def attach(self, kernel: Kernel) -> None:
        super().attach(kernel)
        self.planned: set[int] = set()
        self.bad_hard_cases: dict[int, Counter[int]] = {}  # quarter -> topic -> count
        self.next_quarter = kernel.next_quarter_start(0.0)

    # Every hook, on or off: off, it answers "no plan" (resolve_probability_without_plan,
    # hard_lead_multiplier, no hurrying); and the quarter stays a barrier for the reply
    # shortcut, as it was before the port, so every run's log is unchanged by the port.
    def active_hooks(self) -> set[str]:
        return {"hard_case_lead_factor", "hurry_probability", "next_change", "resolve_probability",
                "on_callback", "on_quarter"}

    def has_plan(self, order: Order) -> bool:
        return order.topic in self.planned

    def hard_case_lead_factor(self, order: Order, factor: float) -> float:
        return self.params.plan_lead_multiplier if self.has_plan(order) else factor

    def hurry_probability(self, order: Order, p: float) -> float:
        # a hard case needs other parties: its unit alone cannot hurry it
        return 0.0 if order.hard and not self.has_plan(order) else p

    def next_change(self, order: Order, t: float) -> float:
        return self.next_quarter

    def resolve_probability(self, order: Order, p: float) -> float:
        q = self.params
        return q.resolve_probability_with_plan if self.has_plan(order) else q.resolve_probability_without_plan

    def on_callback(self, order: Order, outcome: int, when: float) -> None:
        """The callback at ``when`` found a hard case dissatisfied or unresolved: count it."""
        if order.hard and (outcome == DISSATISFIED or not order.resolved):
            quarter = self.kernel.quarter_of(when)
            self.bad_hard_cases.setdefault(quarter, Counter())[order.topic] += 1

    def on_quarter(self, now: float) -> None:
        k = self.kernel
        ended = self.bad_hard_cases.pop(k.quarter_of(now) - 1, Counter())
        if self.enabled:
            threshold = self.params.hard_cases_per_topic_quarter
            for topic, n in sorted(ended.items()):
                if n >= threshold and topic not in self.planned:
                    self.planned.add(topic)
                    k.record(-1, Act.PLAN, now, -1, value=float(topic), outcome=min(n, 127))
        self.next_quarter = k.next_quarter_start(now)


POLICY = OnePlan
