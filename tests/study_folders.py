"""Small sweep and comparison folders of the batch layer's documented shape, made from real
``simulate`` runs of tests/scenarios/small.toml (two units, 60 days).

runs.parquet: one row per run (point, one column per swept parameter named by its dotted path,
seed, every year indicator, status, error, wall_seconds); summary.csv: per design point each
indicator's mean, std and 95 % CI half-width; manifest.json; effects.csv for a comparison
(variant, indicator, base_mean, variant_mean, diff, ci_low, ci_high, n), paired over seeds.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

import sim

SMALL = Path(__file__).resolve().parent / "scenarios" / "small.toml"
SWEEP_GRID = {"handling.scale": [0.8, 1.0, 1.3], "mechanisms.one_team.inspectors": [0, 2]}
SWEEP_SEEDS = [1, 2, 3]
VARIANTS = {"no_team": {"mechanisms.one_team.enabled": False}, "slow": {"handling.scale": 1.5}}
COMPARE_SEEDS = [1, 2, 3, 4]


def _run(overrides: dict, seed: int) -> dict:
    t = time.perf_counter()
    res = sim.simulate(sim.load_scenario(SMALL, overrides=overrides), seed=seed)
    row = res.kpis().iloc[0].to_dict()
    return {**row, "seed": seed, "status": "ok", "error": None, "wall_seconds": time.perf_counter() - t}


def _manifest(folder: Path, study: dict) -> None:
    manifest = {"scenario": "base", "study": study, "versions": {"hotline-sim": sim.__version__}}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def _half(x: np.ndarray) -> float:
    return float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))


def make_sweep(folder: Path) -> pd.DataFrame:
    """A 3 × 2 grid over 3 seeds (18 runs); returns the runs table written."""
    folder.mkdir(parents=True)
    rows = []
    names = list(SWEEP_GRID)
    for point, values in enumerate(itertools.product(*SWEEP_GRID.values())):
        overrides = dict(zip(names, values, strict=True))
        for seed in SWEEP_SEEDS:
            rows.append({"point": point, **overrides, **_run(overrides, seed)})
    runs = pd.DataFrame(rows)
    runs.to_parquet(folder / "runs.parquet", index=False)
    summary = []
    for (point, *values), part in runs.groupby(["point", *names]):
        row = {"point": point, **dict(zip(names, values, strict=True))}
        for key in ("closure_rate", "satisfaction", "on_time_reply_rate"):
            x = part[key].to_numpy(dtype=float)
            row |= {f"{key}_mean": x.mean(), f"{key}_std": x.std(ddof=1), f"{key}_ci95": _half(x)}
        summary.append(row)
    pd.DataFrame(summary).to_csv(folder / "summary.csv", index=False, encoding="utf-8-sig")
    _manifest(folder, {"kind": "grid", "grid": SWEEP_GRID, "seeds": SWEEP_SEEDS})
    return runs


def make_compare(folder: Path) -> pd.DataFrame:
    """Base and two variants over 4 common seeds; returns the effects table written."""
    folder.mkdir(parents=True)
    rows = []
    for variant, overrides in {"base": {}, **VARIANTS}.items():
        for seed in COMPARE_SEEDS:
            rows.append({"variant": variant, **_run(overrides, seed)})
    runs = pd.DataFrame(rows)
    runs.to_parquet(folder / "runs.parquet", index=False)
    base = runs[runs["variant"] == "base"].set_index("seed")
    effects = []
    for variant in VARIANTS:
        other = runs[runs["variant"] == variant].set_index("seed")
        for key in ("closure_rate", "satisfaction", "on_time_reply_rate", "ttc_median_wd"):
            d = (other[key] - base[key]).to_numpy(dtype=float)
            half = _half(d)
            effects.append({
                "variant": variant, "indicator": key, "base_mean": base[key].mean(),
                "variant_mean": other[key].mean(), "diff": d.mean(), "ci_low": d.mean() - half,
                "ci_high": d.mean() + half, "n": len(d),
            })
    table = pd.DataFrame(effects)
    table.to_csv(folder / "effects.csv", index=False, encoding="utf-8-sig")
    _manifest(folder, {"kind": "compare", "variants": VARIANTS, "seeds": COMPARE_SEEDS})
    return table
