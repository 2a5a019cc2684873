"""The search space and the cost of a calibration or optimisation: ``--free`` and ``--minimise``.

``--free PATH=LO:HI`` frees one numeric field of the scenario between LO and HI (a field whose
value in the scenario is an integer, e.g. ``mechanisms.one_team.inspectors``, is searched over
the integers LO..HI).  ``--minimise`` is a sum of cost terms ``[WEIGHT*]NAME``: NAME is an
indicator of the year table (``sim.kpi.INDICATORS``), one of the derived cost indicators below,
or a freed parameter (its value, e.g. a headcount).

Every check runs here, before any run starts, and raises :class:`~sim.scenario.ScenarioError`
with one line naming the flag.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

from sim.batch.design import lookup_field, numeric_bounds
from sim.kpi import INDICATORS
from sim.scenario import ScenarioError, apply_override, from_dict

# cost indicators that are sums of year indicators: none left, since the supervision team's
# work (supervision_actions: warnings 预警 + reminders 催办 + criticisms 通报) became an
# indicator of sim.kpi in its own right; kept for sums a user may need that kpi lacks
DERIVED: dict[str, tuple[str, ...]] = {}


@dataclass(frozen=True)
class FreeParam:
    """One freed field: its dotted path, search bounds and whether it is an integer field."""

    path: str
    lo: float
    hi: float
    integer: bool
    current: float

    def clip(self, value: float) -> float | int:
        """``value`` inside the bounds (the scenario's own value may lie outside them)."""
        v = min(max(float(value), self.lo), self.hi)
        return int(round(v)) if self.integer else v

    @property
    def width(self) -> float:
        return self.hi - self.lo



def parse_free(items: list[str], base: dict[str, Any], source: str) -> list[FreeParam]:
    """``["handling.scale=0.5:2", "mechanisms.one_team.inspectors=0:12"]`` -> free parameters.

    ``base``: the scenario as ``model_dump()`` (every field present, defaults included).  Each
    bound is validated by setting it in the scenario, so a bound outside the field's own range
    (a probability above 1, a negative headcount) is refused with the schema's reason.  Raises
    ScenarioError for a missing '=', an unknown or non-numeric field, bounds that do not parse,
    lo >= hi, non-integer bounds of an integer field, a path given twice, or no --free at all."""
    if not items:
        raise ScenarioError("--free: give at least one field to fit, e.g. --free handling.scale=0.5:2")
    out: list[FreeParam] = []
    for item in items:
        key, eq, text = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ScenarioError(f"--free {item}: expected FIELD.PATH=LO:HI, e.g. handling.scale=0.5:2")
        current = lookup_field(base, key, f"--free {item}: {key} is not a field of the scenario (see `hotline schema`)")
        if isinstance(current, bool) or not isinstance(current, int | float):
            raise ScenarioError(
                f"--free {item}: {key} is not a numeric field (it is {current!r}); only numbers "
                f"can be fitted"
            )
        lo, hi = numeric_bounds("--free", item, text, f"{key}=0.5:2")
        if lo >= hi:
            raise ScenarioError(f"--free {item}: lo must be below hi (got {lo:g} >= {hi:g})")
        integer = isinstance(current, int)
        if integer and (lo != int(lo) or hi != int(hi)):
            raise ScenarioError(f"--free {item}: {key} is an integer field; give integer bounds")
        if any(p.path == key for p in out):
            raise ScenarioError(f"--free {key}: given twice")
        for bound in (lo, hi):
            data = copy.deepcopy(base)
            apply_override(data, key, int(bound) if integer else bound, f"--free {item}")
            try:
                from_dict(data, source)
            except ScenarioError as e:
                reason = str(e).split(": ", 1)[-1]
                raise ScenarioError(
                    f"--free {item}: bound {bound:g} is outside the field's own bounds ({reason})"
                ) from None
        out.append(FreeParam(key, lo, hi, integer, float(current)))
    return out


@dataclass(frozen=True)
class CostTerm:
    """``weight * name`` in a cost; ``name`` an indicator, a derived indicator or a free path."""

    weight: float
    name: str

    def value(self, means: dict[str, float], params: dict[str, float]) -> float:
        if self.name in params:
            return self.weight * float(params[self.name])
        if self.name in INDICATORS:
            return self.weight * means.get(self.name, math.nan)
        return self.weight * sum(means.get(k, math.nan) for k in DERIVED[self.name])


def parse_cost(text: str, free: list[FreeParam]) -> list[CostTerm]:
    """``"handler_hours+supervision_actions"`` or ``"2*mechanisms.one_team.inspectors+
    0.001*handler_hours"`` -> cost terms (the cost is their sum, to be minimised).

    Raises ScenarioError naming the term for an unknown name (neither an indicator, a derived
    cost indicator nor a --free path), a weight that is not a finite number, or an empty cost."""
    terms: list[CostTerm] = []
    paths = {p.path for p in free}
    for raw in text.split("+"):
        part = raw.strip()
        if not part:
            raise ScenarioError(f"--minimise {text}: empty term; give e.g. handler_hours+supervision_actions")
        weight = 1.0
        if "*" in part:
            w, _, part = part.partition("*")
            try:
                weight = float(w)
            except ValueError:
                raise ScenarioError(f"--minimise {text}: weight {w.strip()!r} is not a number") from None
            if not math.isfinite(weight):
                raise ScenarioError(f"--minimise {text}: weight {w.strip()!r} must be finite")
            part = part.strip()
        if part not in INDICATORS and part not in DERIVED and part not in paths:
            raise ScenarioError(
                f"--minimise {part}: unknown indicator (allowed: the indicators of `hotline run`"
                f"{''.join(', ' + d for d in DERIVED)}, or a --free field such as "
                f"{next(iter(paths), 'mechanisms.one_team.inspectors')})"
            )
        terms.append(CostTerm(weight, part))
    return terms


def describe_cost(terms: list[CostTerm]) -> str:
    return " + ".join(t.name if t.weight == 1 else f"{t.weight:g}*{t.name}" for t in terms)
