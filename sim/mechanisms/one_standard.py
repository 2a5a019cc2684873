"""一个标准 one standard: one time-limit standard for every unit.

With the standard each unit works to the unified limits.  Without it, each unit keeps its own,
looser limit (the standard's times a unit factor) and, working to that limit, takes longer
(Parkinson elasticity).  The on-time indicator is always judged against the unified standard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.mechanisms.base import Mechanism

if TYPE_CHECKING:  # (the model imports the mechanisms)
    from sim.model.units import Unit


class OneStandard(Mechanism):
    name = "one_standard"
    title = "一个标准 unified time limits"

    def unit_limit_factor(self, unit: Unit) -> float:
        return 1.0 if self.enabled else unit.limit_factor
