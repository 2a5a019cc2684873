"""How far a candidate's indicator means are from the targets, in units of each target's tolerance.

For each target the normalised distance ``d`` of the replication mean ``m``:

* a value with a tolerance (``value ± tol``): ``d = (m - value) / tol``; the target holds when
  ``|d| <= 1``;
* a range ``[lo, hi]``: 0 inside, else the distance to the nearer bound over the range's
  half-width; a one-sided range (only ``min`` or only ``max``) has no width, so its scale is
  a tenth of the bound's size (1 for a bound of 0).

The calibration objective is the weighted mean of ``d**2`` over the targets (0 when every mean
sits on its value and inside its range; about 1 when the means sit at the edges of their
tolerances) plus the number of failing targets, so it is <= 1 only when every target holds.  The optimisation uses each target's *margin*: how far inside its bounds the mean
lies, in the same units (positive = the target holds); the weakest margin is the smallest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.targets import Target, Targets

ONE_SIDED_SCALE = 0.1  # a one-sided range's scale: this share of the bound's size


@dataclass(frozen=True)
class Scaled:
    """A target with its bounds, centre and scale (the unit of the normalised distance)."""

    key: str
    target: Target
    lo: float
    hi: float
    scale: float

    @classmethod
    def of(cls, key: str, t: Target) -> Scaled:
        lo, hi = t.bounds()
        if math.isfinite(lo) and math.isfinite(hi):
            scale = (hi - lo) / 2 if hi > lo else 1.0
        else:
            bound = lo if math.isfinite(lo) else hi
            scale = ONE_SIDED_SCALE * abs(bound) if bound else 1.0
        return cls(key, t, lo, hi, scale)

    def distance(self, mean: float) -> float:
        """Normalised distance of ``mean`` to the target (signed for a value target); NaN if
        the mean is NaN (the indicator could not be computed)."""
        if math.isnan(mean):
            return math.nan
        if self.target.value is not None:
            return (mean - self.target.value) / self.scale
        if mean < self.lo:
            return (mean - self.lo) / self.scale
        if mean > self.hi:
            return (mean - self.hi) / self.scale
        return 0.0

    def margin(self, mean: float) -> float:
        """How far inside its bounds ``mean`` lies, in scale units (negative: the target fails)."""
        if math.isnan(mean):
            return -math.inf
        return min(mean - self.lo, self.hi - mean) / self.scale

    def straddles(self, ci_low: float, ci_high: float) -> bool:
        """True when the 95 % CI of the mean contains a bound: the verdict is uncertain."""
        if math.isnan(ci_low) or math.isnan(ci_high):
            return False
        return any(math.isfinite(b) and ci_low < b < ci_high for b in (self.lo, self.hi))


def scaled_targets(targets: Targets) -> list[Scaled]:
    """The targets that are indicators (all of a valid targets file), scaled."""
    return [Scaled.of(k, t) for k, t in targets.targets.items()]


def objective(means: dict[str, float], scaled: list[Scaled], weights: dict[str, float]) -> float:
    """Weighted mean of the squared normalised distances, plus one for every target (of
    positive weight) that fails: a candidate missing a range by a hair would otherwise score
    better than one meeting every target near the edges of their tolerances, and the search
    would settle outside the targets.  So the objective is <= 1 only when every target holds.
    A target whose mean is NaN counts as far away (distance 10) and failing."""
    total = wsum = 0.0
    failing = 0
    for s in scaled:
        w = weights.get(s.key, 1.0)
        mean = means.get(s.key, math.nan)
        d = s.distance(mean)
        total += w * (100.0 if math.isnan(d) else d * d)
        wsum += w
        failing += w > 0 and (math.isnan(mean) or not s.target.passes(mean))
    return (total / wsum if wsum else 0.0) + failing
