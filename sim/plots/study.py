"""Reading sweep and comparison folders (the batch layer's outputs) into chart tables.

A sweep folder holds ``runs.parquet`` (one row per run: design point id, one column per swept
parameter named by its dotted path, seed, every year indicator, status, error, wall seconds),
``summary.csv``, ``manifest.json`` and, for Sobol or Morris designs, ``sensitivity.csv``.  A
comparison folder holds ``effects.csv`` (variant, indicator, base_mean, variant_mean, diff,
ci_low, ci_high, n) beside ``runs.parquet``.  Means and 95 % CIs here are recomputed from the
runs table (Student's t from scipy.stats), so charts need nothing but the runs.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from sim.kpi import INDICATORS

# indicators drawn by default when a study has them (the report's headline figures)
HEADLINE = ["closure_rate", "on_time_reply_rate", "satisfaction", "ttc_median_wd",
            "extension_rate", "reopen_rate", "backlog_mean", "utilisation"]
FAILED_STATUSES = {"failed", "error", "errored"}
POINT_COLUMNS = ("point", "design_point", "point_id", "design_point_id")


def ok_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs that finished (status not failed, no error text)."""
    keep = pd.Series(True, index=runs.index)
    if "status" in runs:
        keep &= ~runs["status"].astype(str).str.lower().isin(FAILED_STATUSES)
    if "error" in runs:
        keep &= runs["error"].isna() | (runs["error"].astype(str).str.strip() == "")
    return runs[keep]


def swept_parameters(runs: pd.DataFrame) -> list[str]:
    """The swept parameters: columns named by a dotted scenario path that vary across runs."""
    params = [c for c in runs.columns if "." in c and c not in INDICATORS]
    return [c for c in params if runs[c].nunique(dropna=True) > 1]


def headline(columns, wanted: list[str] | None = None, limit: int = 4) -> list[str]:
    """The indicators to draw: ``wanted`` or the headline ones present, at most ``limit``."""
    pool = wanted if wanted else HEADLINE
    return [c for c in pool if c in columns][:limit]


def mean_ci(values: np.ndarray) -> tuple[float, float]:
    """Mean and 95 % CI half-width (Student's t; NaN half-width for fewer than two values)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return math.nan, math.nan
    if len(x) == 1:
        return float(x[0]), math.nan
    half = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return float(x.mean()), half


def response_table(runs: pd.DataFrame, x: str, group: str | None, indicator: str) -> pd.DataFrame:
    """Mean and CI half-width of ``indicator`` per value of ``x`` (and of ``group``).

    Columns: x, group (or absent), mean, half, n.  Rows sorted by group then x."""
    keys = [x] if group is None else [group, x]
    rows = []
    for key, part in runs.groupby(keys, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        m, h = mean_ci(part[indicator].to_numpy())
        rows.append({**dict(zip(keys, key, strict=True)), "mean": m, "half": h, "n": len(part)})
    return pd.DataFrame(rows)


def sensitivity_columns(table: pd.DataFrame) -> tuple[str, str, list[tuple[str, str | None]]]:
    """(parameter column, indicator column, [(index column, its CI column or None)]) of a
    sensitivity table: Sobol (S1, ST with *_conf) or Morris (mu_star with *_conf, sigma).

    Raises ValueError naming what is missing."""
    param = next((c for c in ("parameter", "param", "name", "input") if c in table), None)
    indicator = next((c for c in ("indicator", "output", "outcome") if c in table), None)
    if param is None or indicator is None:
        raise ValueError("sensitivity.csv: expected a parameter column and an indicator column")
    indices = []
    for name in ("S1", "ST", "mu_star", "sigma"):
        if name in table:
            conf = next((c for c in (f"{name}_conf", f"{name}_ci") if c in table), None)
            indices.append((name, conf))
    if not indices:
        raise ValueError("sensitivity.csv: expected Sobol (S1, ST) or Morris (mu_star, sigma) columns")
    return param, indicator, indices


EFFECT_COLUMNS = ("variant", "indicator", "base_mean", "variant_mean", "diff", "ci_low", "ci_high", "n")


def check_effects(table: pd.DataFrame) -> pd.DataFrame:
    """``effects.csv`` with its documented columns; ValueError naming any missing column."""
    missing = [c for c in EFFECT_COLUMNS if c not in table]
    if missing:
        raise ValueError(f"effects.csv: missing columns {', '.join(missing)}")
    return table
