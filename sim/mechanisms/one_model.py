"""一个模式 one model: the hotline centre as the district's general customer service (总客服).

Practice: the centre answers what it can itself from its knowledge base and runs a monthly
dispatch meeting (月调度) that moves help to units that are falling behind.  Decision points:
``at_intake`` (which consultations the centre answers itself) and ``on_month`` (the meeting
lends temporary handlers from a district pool to units with long queues, for a month).
Off, the counterfactual practice: the centre is a switchboard that transfers every order to a
unit (转办), consultations included, and units work with their own establishment all year (no
capacity moves).  Parameters, units and sources: docs/mechanisms.md.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from sim.activities import Act
from sim.port import IntakeDecisions, Kernel, Policy
from sim.scenario import NonNegative, PolicyParams, Positive, Probability

CONSULT = 1  # index of "consult" in CATEGORIES


class OneModelParams(PolicyParams):
    direct_answer_probability: Probability = Field(
        0.3, description="share of consultations the centre answers itself instead of dispatching"
    )
    answer_hours_median: Positive = Field(2.0, description="clock hours for a centre answer, median")
    meeting_backlog_per_handler: NonNegative = Field(
        4.0, description="monthly meeting: units with more queued orders per handler get help"
    )
    temporary_handlers: int = Field(1, ge=0, description="handlers lent to each such unit for a month")
    pool_handlers: int = Field(8, ge=0, description="district pool of handlers the meeting can lend")


class OneModel(Policy[OneModelParams]):
    name = "one_model"
    title = "一个模式 general customer service"
    Params = OneModelParams

    def attach(self, kernel: Kernel) -> None:
        super().attach(kernel)
        self.lent = [0] * kernel.unit_count()  # handlers lent to each unit this month

    def active_hooks(self) -> set[str]:
        return {"at_intake", "on_month"} if self.enabled else set()

    def at_intake(self, d: IntakeDecisions, category: np.ndarray, urgent: np.ndarray,
                  uniform: np.ndarray) -> None:
        d.direct = d.direct | ((category == CONSULT) & ~urgent & (uniform < self.params.direct_answer_probability))
        d.answer_hours_median = self.params.answer_hours_median

    def on_month(self, now: float) -> None:
        k = self.kernel
        for unit, lent in enumerate(self.lent):  # the lent handlers of last month go back first
            if lent:
                k.record(-1, Act.CAPACITY, now, unit, value=-float(lent))
                k.change_capacity(unit, -lent)
                self.lent[unit] = 0
        p = self.params
        pool = p.pool_handlers
        backlog = [
            (k.unit_waiting(unit), unit)
            for unit in range(k.unit_count())
            if k.unit_waiting(unit) > p.meeting_backlog_per_handler * max(k.unit_handlers(unit), 1)
        ]
        for _, unit in sorted(backlog, key=lambda b: (-b[0], b[1])):
            lend = min(p.temporary_handlers, pool)
            if lend <= 0:
                break
            self.lent[unit], pool = lend, pool - lend
            k.record(-1, Act.CAPACITY, now, unit, value=float(lend))
            k.change_capacity(unit, lend)


POLICY = OneModel
