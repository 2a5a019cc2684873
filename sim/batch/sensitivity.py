"""Sensitivity indices with SALib: Sobol first- and total-order (Saltelli), Morris mu* and sigma.

The output of a design point is the mean of the indicator over its seeds (the same seeds at
every point, so the replication noise is common to all points).  An indicator that does not
vary over the design, or is missing at some point, gets no indices (it is left out).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

SOBOL_COLUMNS = ["S1", "S1_conf", "ST", "ST_conf"]
MORRIS_COLUMNS = ["mu", "mu_star", "mu_star_conf", "sigma"]
COLUMNS = ["method", "indicator", "parameter", *SOBOL_COLUMNS, *MORRIS_COLUMNS]


def sobol_indices(problem: dict[str, Any], y: np.ndarray, seed: int = 1) -> pd.DataFrame:
    """First- and total-order Sobol indices with 95 % bootstrap CIs (half-widths, ``_conf``).

    ``y`` holds the outputs of SALib's Saltelli design without second order (N*(k+2) values).
    Returns one row per parameter: parameter, S1, S1_conf, ST, ST_conf."""
    from SALib.analyze import sobol

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        si = sobol.analyze(problem, np.asarray(y, dtype=float), calc_second_order=False,
                           num_resamples=100, conf_level=0.95, seed=seed)
    return pd.DataFrame({"parameter": problem["names"], **{c: si[c] for c in SOBOL_COLUMNS}})


def morris_indices(problem: dict[str, Any], x: np.ndarray, y: np.ndarray, seed: int = 1) -> pd.DataFrame:
    """Morris elementary effects: mu, mu* (with its 95 % bootstrap half-width) and sigma.

    ``x`` is the (continuous) Morris design, ``y`` its outputs.  One row per parameter."""
    from SALib.analyze import morris

    from sim.batch.design import MORRIS_LEVELS

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        si = morris.analyze(problem, np.asarray(x, dtype=float), np.asarray(y, dtype=float),
                            num_resamples=100, conf_level=0.95, num_levels=MORRIS_LEVELS, seed=seed)
    return pd.DataFrame({"parameter": problem["names"], **{c: np.asarray(si[c]) for c in MORRIS_COLUMNS}})


def indices_table(method: str, problem: dict[str, Any], x: np.ndarray,
                  outputs: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    """Indices of every indicator column of ``outputs`` (one row per design point, in order).

    Returns the long table of sensitivity.csv: method, indicator, parameter, then the Sobol
    or the Morris columns (the other method's columns empty)."""
    frames = []
    for ind in outputs.columns:
        y = outputs[ind].to_numpy(dtype=float)
        if np.isnan(y).any() or np.nanstd(y) == 0:
            continue
        table = (sobol_indices(problem, y, seed) if method == "sobol"
                 else morris_indices(problem, x, y, seed))
        table.insert(0, "indicator", ind)
        table.insert(0, "method", method)
        frames.append(table)
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True).reindex(columns=COLUMNS)
