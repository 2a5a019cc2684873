"""The mean of a chart table over replications, with the 95 % confidence interval of that mean.

Used by the run charts when a folder holds several replications (``sim.plots.replications``);
the interval is Student's t over the seeds (scipy.stats), as the sweep charts' bands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

LEVEL = 0.95


@dataclass(frozen=True)
class Band:
    """The mean over replications of a chart table, with the 95 % CI of that mean.

    ``mean``, ``low``, ``high``: the table's index and columns (values in its units; ``low``
    and ``high`` NaN where fewer than two replications have a value).  ``n``: replications."""

    mean: pd.DataFrame
    low: pd.DataFrame
    high: pd.DataFrame
    n: int


def mean_band(tables: list[pd.DataFrame], level: float = LEVEL, floor: float | None = None,
              ceiling: float | None = None) -> Band:
    """Cell by cell over ``tables`` (one per replication, same columns; indexes aligned on
    their union): the mean and its ``level`` Student-t interval, ignoring NaN cells.  The
    interval is cut to [``floor``, ``ceiling``] where given (counts cannot be negative, shares
    not above 1; the t interval is symmetric and does not know that).

    Raises ValueError for an empty list."""
    if not tables:
        raise ValueError("no replications to average")
    index = tables[0].index
    for t in tables[1:]:
        index = index.union(t.index, sort=False)
    columns = list(tables[0].columns)
    cube = np.stack([t.reindex(index=index, columns=columns).to_numpy(dtype=float) for t in tables])
    n = np.isfinite(cube).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.nansum(cube, axis=0) / np.maximum(n, 1), np.nan)
        sd = np.sqrt(np.nansum((cube - mean) ** 2, axis=0) / np.maximum(n - 1, 1))
        half = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(np.maximum(n, 1))
    half = np.where(n >= 2, half, np.nan)

    def frame(values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(values, index=index, columns=columns)

    low, high = mean - half, mean + half
    if floor is not None or ceiling is not None:
        low, high = np.clip(low, floor, ceiling), np.clip(high, floor, ceiling)
    return Band(frame(mean), frame(low), frame(high), len(tables))
