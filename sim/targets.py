"""Calibration targets: the indicator values a scenario should reproduce, with tolerances.

A targets file sits beside its scenario (``yuelu_2021.targets.toml``).  Each target is either
a value with an absolute or relative tolerance (PASS when the replication mean lies within it)
or a range (PASS when the mean lies in [min, max]).
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.kpi import INDICATORS
from sim.scenario import ScenarioError, read_toml, validation_message


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["hard", "range"] = Field("hard", description="a seed figure or a plausible range")
    value: float | None = None
    tolerance: float | None = Field(None, ge=0, description="absolute tolerance around value")
    tolerance_relative: float | None = Field(None, ge=0, description="relative tolerance around value")
    min: float | None = None
    max: float | None = None
    source: str = ""

    @model_validator(mode="after")
    def _shape(self) -> Target:
        has_value = self.value is not None
        has_range = self.min is not None or self.max is not None
        if has_value == has_range:
            raise ValueError("give either value (with tolerance) or min/max")
        if has_value and (self.tolerance is None) == (self.tolerance_relative is None):
            raise ValueError("give exactly one of tolerance and tolerance_relative")
        return self

    def bounds(self) -> tuple[float, float]:
        if self.value is not None:
            tol = self.tolerance if self.tolerance is not None else abs(self.value) * self.tolerance_relative
            return self.value - tol, self.value + tol
        return (-math.inf if self.min is None else self.min, math.inf if self.max is None else self.max)

    def passes(self, mean: float) -> bool:
        lo, hi = self.bounds()
        return lo <= mean <= hi

    def describe(self) -> str:
        if self.value is not None:
            if self.tolerance_relative is not None:
                return f"{self.value:g} ± {self.tolerance_relative:.1%}"
            return f"{self.value:g} ± {self.tolerance:g}"
        lo, hi = self.bounds()
        return f"[{lo:g}, {hi:g}]"


class Targets(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scenario: str = ""
    targets: dict[str, Target]

    @model_validator(mode="after")
    def _known(self) -> Targets:
        for key in self.targets:
            if key not in INDICATORS:
                raise ValueError(f"targets.{key}: unknown indicator (allowed: {', '.join(INDICATORS)})")
        return self


def default_targets_path(scenario_path: str | Path) -> Path:
    p = Path(scenario_path)
    return p.with_name(p.stem + ".targets.toml")


def load_targets(path: str | Path) -> Targets:
    data = read_toml(path)
    try:
        return Targets.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(validation_message(str(path), e)) from None


__all__ = ["Target", "Targets", "load_targets", "default_targets_path", "tomllib"]
