"""一个标准 one standard: one time-limit standard for every unit.

Practice: the district sets one set of reply limits by category (办理时限标准) for all units.
Decision point: ``unit_limit_factor`` (the limit each unit works to).  Off: each unit keeps
its own, looser limit (the standard's times a unit factor) and, working to that limit, takes
longer (``handling.parkinson_elasticity``).  The on-time indicator is always judged against
the unified standard.  Parameters, units and sources: docs/mechanisms.md.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from sim.port import Kernel, Policy
from sim.scenario import PolicyParams, Positive


class OneStandardParams(PolicyParams):
    unit_limit_factor_min: Positive = Field(
        1.0, description="without the standard: each unit's own limit is the standard's times a "
        "factor drawn uniformly from [min, max] (assumed)"
    )
    unit_limit_factor_max: Positive = Field(2.0)

    @model_validator(mode="after")
    def _ordered(self) -> OneStandardParams:
        if self.unit_limit_factor_max < self.unit_limit_factor_min:
            raise ValueError("unit_limit_factor_max must be >= unit_limit_factor_min")
        return self

    def limit_factor_max(self) -> float:
        # (the calendar margin counts the loosest factor even with the standard on, as it
        # always has; narrowing it is a change of behaviour for another issue)
        return self.unit_limit_factor_max


class OneStandard(Policy[OneStandardParams]):
    name = "one_standard"
    title = "一个标准 unified time limits"
    Params = OneStandardParams

    def attach(self, kernel: Kernel) -> None:
        super().attach(kernel)
        # drawn whether or not the standard is on: the same units get the same own limits in
        # every scenario (common random numbers)
        p = self.params
        self.own_factor = kernel.numpy_stream("units").uniform(
            p.unit_limit_factor_min, p.unit_limit_factor_max, kernel.unit_count()
        )

    def active_hooks(self) -> set[str]:
        return set() if self.enabled else {"unit_limit_factor"}

    def unit_limit_factor(self, unit: int, factor: float) -> float:
        return factor * float(self.own_factor[unit])


POLICY = OneStandard
