"""Statistics over replications: means, t-based 95 % confidence intervals, paired differences.

Quantiles come from ``scipy.stats.t`` at every sample size (a normal 1.96 above 30 degrees of
freedom would make the intervals too narrow).  Comparisons pair runs by seed: with common
random numbers the paired difference has a smaller variance than the unpaired one.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

LEVEL = 0.95


def t_quantile(df: int, level: float = LEVEL) -> float:
    """Two-sided Student-t quantile for a ``level`` interval with ``df`` degrees of freedom."""
    if df < 1:
        return math.nan
    return float(stats.t.ppf(0.5 + level / 2, df))


def mean_ci(values: np.ndarray, level: float = LEVEL) -> tuple[float, float, float]:
    """Mean and the ``level`` confidence interval of the mean (t distribution); NaNs dropped.

    Returns (mean, low, high); the interval is NaN with fewer than two values, or when a value
    is infinite (an indicator's "never", e.g. a backlog that does not recover: the mean is
    then ±inf, or NaN when both signs occur, and no interval exists)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan
    if not np.isfinite(x).all():
        signs = set(np.sign(x[np.isinf(x)]))
        return (math.inf if signs == {1.0} else -math.inf if signs == {-1.0} else math.nan), math.nan, math.nan
    m = float(x.mean())
    if n == 1:
        return m, math.nan, math.nan
    half = t_quantile(n - 1, level) * float(x.std(ddof=1)) / math.sqrt(n)
    return m, m - half, m + half


def describe(values: np.ndarray, level: float = LEVEL) -> dict[str, float]:
    """n, mean, standard deviation and CI half-width of the non-NaN values."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    m, lo, hi = mean_ci(x, level)
    return {
        "n": len(x),
        "mean": m,
        "std": float(x.std(ddof=1)) if len(x) > 1 and np.isfinite(x).all() else math.nan,
        "ci_half": (hi - lo) / 2 if len(x) > 1 else math.nan,
    }


def paired_difference(
    base: pd.Series, variant: pd.Series, level: float = LEVEL
) -> dict[str, float]:
    """Mean of ``variant - base`` over the seeds both have, with its t interval.

    ``base`` and ``variant`` are indexed by seed; seeds where either is NaN are left out.
    Returns base_mean, variant_mean, diff, ci_low, ci_high, n (over the paired seeds)."""
    both = pd.concat({"b": base, "v": variant}, axis=1, join="inner").astype(float).dropna()
    d = (both["v"] - both["b"]).to_numpy()
    m, lo, hi = mean_ci(d, level)
    return {
        "base_mean": float(both["b"].mean()) if len(both) else math.nan,
        "variant_mean": float(both["v"].mean()) if len(both) else math.nan,
        "diff": m,
        "ci_low": lo,
        "ci_high": hi,
        "n": len(both),
    }
