"""一个模式 one model: the hotline centre as the district's general customer service (总客服).

Two behaviours: at intake the centre answers a share of consultations itself from its
knowledge base instead of dispatching them; and the monthly dispatch meeting (月调度) lends
temporary handlers from a district pool to units whose queue is long.  Without it, every
order goes to a unit and no capacity moves.
"""

from __future__ import annotations

import numpy as np

from sim.activities import Act
from sim.mechanisms.base import Mechanism

CONSULT = 1  # index of "consult" in CATEGORIES


class OneModel(Mechanism):
    name = "one_model"
    title = "一个模式 general customer service"

    def direct_mask(self, category: np.ndarray, urgent: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        """Which orders the centre answers itself (intake hook, for all orders at once)."""
        if not self.enabled:
            return np.zeros(len(category), dtype=bool)
        return (category == CONSULT) & ~urgent & (uniform < self.params.direct_answer_probability)

    def on_month(self, now: float) -> None:
        if not self.enabled:
            return
        model = self.model
        for unit in model.units:  # the lent handlers of last month go back first
            if unit.lent:
                model.log.record(-1, Act.CAPACITY, now, unit.index, value=-float(unit.lent))
                unit.capacity -= unit.lent
                unit.lent = 0
        p = self.params
        pool = p.pool_handlers
        backlog = [
            (unit.waiting(), unit.index)
            for unit in model.units
            if unit.waiting() > p.meeting_backlog_per_handler * max(unit.handlers, 1)
        ]
        for _, index in sorted(backlog, key=lambda b: (-b[0], b[1])):
            lend = min(p.temporary_handlers, pool)
            if lend <= 0:
                break
            unit = model.units[index]
            unit.lent, unit.capacity, pool = lend, unit.capacity + lend, pool - lend
            model.log.record(-1, Act.CAPACITY, now, unit.index, value=float(lend))
            model.lifecycle.start_queued(unit)
