"""Study designs: which scenarios a sweep or comparison runs (its design points).

A design point is a set of dotted-path overrides on the base scenario (the fixed ``--set``
overrides included).  Designs:

* ``grid``: the Cartesian product of ``--grid path=v1,v2,...`` values, in the order given
  (the last path varies fastest);
* ``lhs``: a Latin hypercube of ``n`` points over ``--range path=lo:hi`` (scipy.stats.qmc);
* ``sobol``: the Saltelli design of SALib (``N * (k + 2)`` points, first and total order), whose
  base sequence is scipy's scrambled Sobol sequence; ``N`` must be a power of two;
* ``morris``: SALib's Morris trajectories (``r * (k + 1)`` points, 4 levels).

**Integer fields** (those whose value in the scenario is an integer, e.g. ``inspectors``) are
sampled as continuous values over ``[lo, hi + 1)`` and floored, so each integer in ``lo..hi``
has the same share of the design; the runs table holds the value actually run.  Sensitivity
indices are computed on the continuous design, with the flooring part of the model.

Every value is checked before any run starts: an unknown path, a value that does not parse or
is outside the field's bounds gives a :class:`~sim.scenario.ScenarioError` naming the flag.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.scenario import Scenario, ScenarioError, apply_override, from_dict, parse_value

METHODS = ("grid", "lhs", "sobol", "morris")
MORRIS_LEVELS = 4


@dataclass(frozen=True)
class Range:
    """A continuous (or integer) range of one field for LHS, Sobol and Morris."""

    path: str
    lo: float
    hi: float
    integer: bool = False

    def bounds(self) -> tuple[float, float]:
        """The continuous sampling interval (integers: [lo, hi + 1), floored later)."""
        return (self.lo, self.hi + 1.0) if self.integer else (self.lo, self.hi)

    def value(self, u: float) -> float | int:
        """The field value for a continuous sample ``u`` in ``bounds()``."""
        if self.integer:
            return int(min(math.floor(u), self.hi))
        return float(u)


@dataclass
class Design:
    """The design points of a study: names, the overrides of each, and how they were made.

    ``points[i]`` is a dict ``{dotted path: value}`` (the swept values only); ``fixed`` holds
    the ``--set`` overrides applied to every point; ``unit_x`` is the continuous design matrix
    (points x ranges) SALib needs for the indices (None for grids and comparisons)."""

    method: str
    names: list[str]
    points: list[dict[str, Any]]
    fixed: dict[str, Any] = field(default_factory=dict)
    params: list[str] = field(default_factory=list)
    ranges: list[Range] = field(default_factory=list)
    unit_x: np.ndarray | None = None
    n: int = 0
    design_seed: int = 0
    scenarios: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> whole scenario

    def definition(self) -> dict[str, Any]:
        """What defines the study (for the manifest and the resume check), JSON-able."""
        return {
            "method": self.method,
            "n": self.n,
            "design_seed": self.design_seed,
            "fixed": self.fixed,
            "params": self.params,
            "ranges": [[r.path, r.lo, r.hi, r.integer] for r in self.ranges],
            "points": [[name, p] for name, p in zip(self.names, self.points, strict=True)],
        }

    def problem(self) -> dict[str, Any]:
        """The SALib problem dict of the ranges."""
        return {
            "num_vars": len(self.ranges),
            "names": [r.path for r in self.ranges],
            "bounds": [list(r.bounds()) for r in self.ranges],
        }


# -- parsing flags --------------------------------------------------------------------------------
def split_top_level(text: str) -> list[str]:
    """Split at commas outside brackets, braces and quotes: ``[1,2],{a=1,b=2},3`` -> 3 parts."""
    parts, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts]


def _split_assignment(flag: str, item: str, example: str) -> tuple[str, str]:
    if "=" not in item:
        raise ScenarioError(f"{flag} {item}: expected FIELD.PATH=VALUE, e.g. {example}")
    key, value = item.split("=", 1)
    if not key.strip():
        raise ScenarioError(f"{flag} {item}: no field path before '=', e.g. {example}")
    return key.strip(), value.strip()


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """``["a.b=1,2", "c=[1,2],[3,4]"]`` -> ``{"a.b": [1, 2], "c": [[1, 2], [3, 4]]}``.

    Raises ScenarioError for a missing '=', an empty list or a repeated path."""
    out: dict[str, list[Any]] = {}
    for item in items:
        key, text = _split_assignment("--grid", item, "mechanisms.one_team.inspectors=0,2,4")
        values = [parse_value(v) for v in split_top_level(text) if v != ""]
        if not values:
            raise ScenarioError(f"--grid {item}: empty grid; give values like {key}=1,2,3")
        if key in out:
            raise ScenarioError(f"--grid {key}: given twice; list all its values in one --grid")
        out[key] = values
    return out


def numeric_bounds(flag: str, item: str, text: str, example: str) -> tuple[float, float]:
    """``LO:HI`` of ``flag ITEM`` as two finite floats (lo may exceed hi: the caller says which
    order it allows).  Raises ScenarioError naming the flag and ``item``, with ``example``."""
    try:
        lo_text, hi_text = text.split(":")
        lo, hi = float(lo_text), float(hi_text)
    except ValueError:
        raise ScenarioError(f"{flag} {item}: expected LO:HI with numbers, e.g. {example}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ScenarioError(f"{flag} {item}: bounds must be finite numbers")
    return lo, hi


def lookup_field(data: dict[str, Any], dotted: str, unknown: str) -> Any:
    """The value at ``dotted`` (``a.b.0.c``: list items by index) in a scenario's dict.

    Raises ScenarioError(``unknown``) when the path names no field."""
    node: Any = data
    for part in dotted.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise ScenarioError(unknown)
    return node


def parse_ranges(items: list[str], base: dict[str, Any]) -> list[Range]:
    """``["handling.scale=0.8:1.3", "mechanisms.one_team.inspectors=0:8"]`` -> ranges.

    A field whose base value is an integer is an integer range.  Raises ScenarioError for an
    unknown path, a non-numeric or boolean field, bounds that do not parse, or lo > hi."""
    out: list[Range] = []
    for item in items:
        key, text = _split_assignment("--range", item, "handling.scale=0.8:1.3")
        current = lookup_field(base, key, f"--range {key}: unknown field (not in the scenario; see `hotline schema`)")
        if isinstance(current, bool) or not isinstance(current, int | float):
            raise ScenarioError(
                f"--range {key}: only numeric fields can be ranged (it is {current!r}); "
                f"use --grid for other values"
            )
        lo, hi = numeric_bounds("--range", item, text, f"{key}=0.8:1.3")
        if lo > hi:
            raise ScenarioError(f"--range {item}: lo > hi ({lo:g} > {hi:g})")
        integer = isinstance(current, int)
        if integer and (lo != int(lo) or hi != int(hi)):
            raise ScenarioError(f"--range {item}: {key} is an integer field; give integer bounds")
        if any(r.path == key for r in out):
            raise ScenarioError(f"--range {key}: given twice")
        out.append(Range(key, lo, hi, integer))
    return out


# -- building designs -----------------------------------------------------------------------------
def grid_design(grid: dict[str, list[Any]], fixed: dict[str, Any]) -> Design:
    params = list(grid)
    points = [dict(zip(params, combo, strict=True)) for combo in itertools.product(*grid.values())]
    names = [f"p{i:04d}" for i in range(len(points))]
    return Design("grid", names, points, fixed=fixed, params=params, n=len(points))


def _from_unit(method: str, x: np.ndarray, ranges: list[Range], fixed: dict[str, Any], n: int,
               seed: int) -> Design:
    points = [{r.path: r.value(u) for r, u in zip(ranges, row, strict=True)} for row in x]
    names = [f"p{i:05d}" for i in range(len(points))]
    return Design(method, names, points, fixed=fixed, params=[r.path for r in ranges],
                  ranges=ranges, unit_x=x, n=n, design_seed=seed)


def lhs_design(n: int, ranges: list[Range], fixed: dict[str, Any], seed: int = 1) -> Design:
    """A Latin hypercube of ``n`` points (scipy.stats.qmc.LatinHypercube, seeded)."""
    from scipy.stats import qmc

    if n < 1:
        raise ScenarioError(f"--lhs {n}: give a number of points >= 1")
    sampler = qmc.LatinHypercube(d=len(ranges), seed=seed)
    lo = [r.bounds()[0] for r in ranges]
    hi = [r.bounds()[1] for r in ranges]
    x = qmc.scale(sampler.random(n), lo, hi) if len(ranges) else np.zeros((n, 0))
    return _from_unit("lhs", x, ranges, fixed, n, seed)


def sobol_design(n: int, ranges: list[Range], fixed: dict[str, Any], seed: int = 1) -> Design:
    """SALib's Saltelli design for first- and total-order indices: ``n * (k + 2)`` points.

    Raises ScenarioError unless ``n`` is a power of two (the Sobol sequence's balance needs it)."""
    from SALib.sample import sobol as sobol_sample

    if n < 2 or n & (n - 1):
        raise ScenarioError(f"--sobol {n}: must be a power of two (e.g. 64, 128, 256)")
    problem = {"num_vars": len(ranges), "names": [r.path for r in ranges],
               "bounds": [list(r.bounds()) for r in ranges]}
    x = sobol_sample.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
    return _from_unit("sobol", x, ranges, fixed, n, seed)


def morris_design(r: int, ranges: list[Range], fixed: dict[str, Any], seed: int = 1) -> Design:
    """SALib's Morris trajectories: ``r * (k + 1)`` points on a 4-level grid."""
    from SALib.sample import morris as morris_sample

    if r < 2:
        raise ScenarioError(f"--morris {r}: give at least 2 trajectories")
    problem = {"num_vars": len(ranges), "names": [x.path for x in ranges],
               "bounds": [list(x.bounds()) for x in ranges]}
    x = morris_sample.sample(problem, r, num_levels=MORRIS_LEVELS, seed=seed)
    return _from_unit("morris", x, ranges, fixed, r, seed)


def variants_design(variants: dict[str, dict[str, Any]], fixed: dict[str, Any],
                    scenarios: dict[str, dict[str, Any]] | None = None) -> Design:
    """A comparison: ``base`` (no overrides) then each variant, in the order given."""
    names = ["base", *variants]
    points = [{}, *variants.values()]
    return Design("compare", names, points, fixed=fixed, n=len(names),
                  scenarios=dict(scenarios or {}))


# -- validating and materialising -----------------------------------------------------------------
def scenario_of(base: dict[str, Any], design: Design, i: int, source: str) -> Scenario:
    """The validated scenario of design point ``i``; ScenarioError names ``source``."""
    name = design.names[i]
    data = copy.deepcopy(design.scenarios.get(name, base))
    for dotted, value in design.fixed.items():
        apply_override(data, dotted, value, "--set")
    for dotted, value in design.points[i].items():
        apply_override(data, dotted, value, source)
    return from_dict(data, f"{source} ({name}: {_describe_point(design.points[i])})")


def _describe_point(point: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items()) or "base"

