"""Tables built from the evaluated trials: profiles, identifiability and the Pareto front.

**Profiles** are built from the trials (no nested optimisation): the bounds of each free field
are cut into bins (each integer its own bin for integer fields) and the profile is the lowest
objective of the trials falling in each bin.

**Identifiability**: the objective is *within tolerance* when it is at most 1: every target
holds and the means sit, on average, within their tolerances (see ``sim.calibrate.objective``).  A field's range is the span of its values over the trials
within tolerance; a range wider than half the field's bounds means the targets do not pin the
field down ("not identified by these targets").  With no trial within tolerance nothing can be
said, and every field is reported not identified.  The trials are where the search looked,
denser near the best, so a range is a lower bound on the set of acceptable values, not a
confidence interval.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.calibrate.search import Problem, complete

PROFILE_BINS = 12
IDENTIFIED_SHARE = 0.5
WITHIN = 1.0  # objective within tolerance: every target holds, mean squared distance <= 1  # the rule: a range over more than half the bounds is not identified


def profile_table(p: Problem, trials: pd.DataFrame, value: str = "objective") -> pd.DataFrame:
    """Per free field and bin: parameter, bin_low, bin_high, best trial value in the bin
    (``min_<value>``), the field's value at that trial, and the number of trials in the bin."""
    done = complete(trials)
    rows = []
    for f in p.free:
        if f.integer:
            edges = np.arange(f.lo, f.hi + 2) - 0.5
        else:
            edges = np.linspace(f.lo, f.hi, PROFILE_BINS + 1)
        x = done[f.path].to_numpy(dtype=float)
        y = done[value].to_numpy(dtype=float)
        idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
        for b in range(len(edges) - 1):
            sel = np.nonzero(idx == b)[0]
            best = sel[np.argmin(y[sel])] if len(sel) else None
            rows.append({
                "parameter": f.path,
                "bin_low": float(edges[b] + 0.5) if f.integer else float(edges[b]),
                "bin_high": float(edges[b + 1] - 0.5) if f.integer else float(edges[b + 1]),
                f"min_{value}": float(y[best]) if best is not None else math.nan,
                "at_value": float(x[best]) if best is not None else math.nan,
                "trials": len(sel),
            })
    return pd.DataFrame(rows)


def identifiability_table(p: Problem, trials: pd.DataFrame) -> pd.DataFrame:
    """Per free field: bounds, best value, the range of the fitting trials, its share of the
    bounds and ``identified`` (share <= 0.5), with the rule used (see the module docstring)."""
    done = complete(trials)
    if done.empty:
        return pd.DataFrame(columns=["parameter", "lo", "hi", "best", "range_low", "range_high",
                                     "share_of_bounds", "identified", "verdict", "rule", "trials"])
    best = done.loc[done["objective"].idxmin()]
    fits = done[done["objective"] <= WITHIN]
    rows = []
    for f in p.free:
        if fits.empty:
            lo = hi = share = math.nan
            ok, verdict = False, "not identified: no trial within tolerance"
        else:
            lo, hi = float(fits[f.path].min()), float(fits[f.path].max())
            share = (hi - lo) / f.width
            ok = share <= IDENTIFIED_SHARE
            verdict = "identified" if ok else "not identified by these targets"
        rows.append({
            "parameter": f.path, "lo": f.lo, "hi": f.hi, "best": float(best[f.path]),
            "range_low": lo, "range_high": hi, "share_of_bounds": share, "identified": ok,
            "verdict": verdict, "rule": f"objective <= {WITHIN:g}", "trials": len(fits),
        })
    return pd.DataFrame(rows)


def pareto_table(p: Problem, trials: pd.DataFrame) -> pd.DataFrame:
    """The cost-target trade-off: the complete trials not dominated in (lower cost, larger
    weakest margin), by cost; with each free field, feasible and uncertain."""
    done = complete(trials).sort_values(["cost", "weakest_margin"], ascending=[True, False])
    keep, best_margin = [], -math.inf
    for i, row in done.iterrows():
        if row["weakest_margin"] > best_margin:
            keep.append(i)
            best_margin = row["weakest_margin"]
    cols = ["trial", *[f.path for f in p.free], "cost", "weakest_margin", "feasible", "uncertain",
            "failing"]
    return done.loc[keep, cols].reset_index(drop=True)
