"""A study: every (design point, seed) run of a design, stored, resumed, and summarised.

``sweep`` and ``compare`` are the Python API (the ``hotline sweep``/``compare``/``check``
commands call them).  Every check on the input runs before the first run starts; the same
replication seeds are used at every design point (common random numbers); the tables are
ordered by (design point, seed) whatever the executor and the order runs finish in.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.batch import design as dsg
from sim.batch import stats
from sim.batch.ablation import ablation_table, is_ablation
from sim.batch.executors import make_executor
from sim.batch.runner import RunJob, lost_run, run_one
from sim.batch.store import (
    RunStore,
    StudyError,
    run_key,
    scenario_hash,
    source_digest,
    write_atomic,
)
from sim.kpi import INDICATORS
from sim.scenario import (  # SIX: the 六个一, what --ablate all switches off (not first_contact)
    SIX,
    Scenario,
    ScenarioError,
    apply_override,
    from_dict,
    load_scenario,
)
from sim.summary import effects_for_people, unit_of
from sim.targets import Targets, default_targets_path, load_targets

TIMING = ("wall_seconds", "cpu_seconds")
BOM = "utf-8-sig"


@dataclass
class StudyResult:
    """The tables of a study (DataFrames) and where they were written.

    ``runs``: one row per run (point, parameters, seed, indicators, status, error, timing);
    ``summary``: per point and indicator n, mean, std, ci_half, target_share;
    ``effects``: per variant and indicator the paired difference to the base (comparisons);
    ``sensitivity``: Sobol or Morris indices (those designs)."""

    runs: pd.DataFrame
    summary: pd.DataFrame
    effects: pd.DataFrame | None = None
    sensitivity: pd.DataFrame | None = None
    out: Path | None = None
    failed: int = 0
    computed: int = 0
    reused: int = 0
    wall_seconds: float = 0.0
    manifest: dict[str, Any] = field(default_factory=dict)


# -- input -----------------------------------------------------------------------------------------
def _base(scenario: str | Path | Scenario) -> tuple[Scenario, str | None]:
    if isinstance(scenario, Scenario):
        return scenario, None
    return load_scenario(scenario), str(scenario)


def _validated(data: dict[str, Any], overrides: Mapping[str, Any], source: str) -> Scenario:
    import copy

    data = copy.deepcopy(data)
    for dotted, value in overrides.items():
        apply_override(data, dotted, value, source)
    return from_dict(data, source)


def _value_text(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, default=str) if not isinstance(v, str) else v


def _targets(targets: str | Path | Targets | None, path: str | None) -> Targets | None:
    if isinstance(targets, Targets):
        return targets
    if targets is not None:
        return load_targets(targets)
    if path is not None and default_targets_path(path).exists():
        return load_targets(default_targets_path(path))
    return None


def _seeds(seeds: Sequence[int] | int) -> list[int]:
    out = list(range(1, seeds + 1)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not out:
        raise StudyError("--seeds: give at least one seed")
    if any(s < 0 for s in out):
        raise StudyError("--seeds: seeds must be non-negative")
    if len(set(out)) != len(out):
        raise StudyError("--seeds: a seed is given twice")
    return out


# -- the public API ----------------------------------------------------------------------------------
def sweep(
    scenario: str | Path | Scenario,
    grid: Mapping[str, Sequence[Any]] | None = None,
    seeds: Sequence[int] | int = (1,),
    *,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    lhs: int | None = None,
    sobol: int | None = None,
    morris: int | None = None,
    design_seed: int = 1,
    overrides: Mapping[str, Any] | None = None,
    executor: str = "processes",
    jobs: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    keep_logs: bool = False,
    targets: str | Path | Targets | None = None,
    progress: bool = True,
    after: Callable[[Any, str, int], None] | None = None,
) -> StudyResult:
    """Run a parameter sweep: a grid, or LHS/Sobol/Morris over ranges, each point with ``seeds``.

    ``grid``: {dotted path: [values]} (product, last path fastest); ``ranges``: {path: (lo, hi)}
    with exactly one of ``lhs`` (points), ``sobol`` (N, a power of two) or ``morris``
    (trajectories).  ``overrides`` are fixed for every run (``--set``).  ``out``: the study
    folder (resumable run store and the output files); None keeps everything in memory.
    ``after``: a function each worker calls on each run's Result (see ``run_study``).

    Returns a StudyResult.  Raises ScenarioError/StudyError (one line naming the flag) for any
    bad input, before any run starts."""
    base, path = _base(scenario)
    data = base.model_dump(mode="python")
    fixed = dict(overrides or {})
    _validated(data, fixed, "--set")
    chosen = [m for m, v in (("lhs", lhs), ("sobol", sobol), ("morris", morris)) if v is not None]
    if grid and (ranges or chosen):
        raise StudyError("--grid: cannot be combined with --range/--lhs/--sobol/--morris")
    if len(chosen) > 1:
        raise StudyError(f"--{chosen[1]}: give only one of --lhs, --sobol, --morris")
    if grid:
        grid = {k: list(v) for k, v in grid.items()}
        for key, values in grid.items():
            if not values:
                raise StudyError(f"--grid {key}: empty grid; give values like {key}=1,2,3")
            for v in values:
                _validated(data, fixed | {key: v}, f"--grid {key}={_value_text(v)}")
        design = dsg.grid_design(grid, fixed)
    elif chosen:
        if not ranges:
            raise StudyError(f"--{chosen[0]}: needs at least one --range PATH=LO:HI")
        full = _validated(data, fixed, "--set").model_dump(mode="python")
        rs = dsg.parse_ranges([f"{k}={lo}:{hi}" for k, (lo, hi) in ranges.items()], full)
        for r in rs:
            for v in (r.lo, r.hi):
                value = int(v) if r.integer else v
                _validated(data, fixed | {r.path: value}, f"--range {r.path}={r.lo:g}:{r.hi:g}")
        n = {"lhs": lhs, "sobol": sobol, "morris": morris}[chosen[0]]
        maker = {"lhs": dsg.lhs_design, "sobol": dsg.sobol_design, "morris": dsg.morris_design}
        design = maker[chosen[0]](int(n), rs, fixed, design_seed)
    else:
        if ranges:
            raise StudyError("--range: needs one of --lhs N, --sobol N or --morris R")
        raise StudyError("sweep: give --grid PATH=V1,V2,... or --range with --lhs/--sobol/--morris")
    return run_study(base, design, seeds, scenario_path=path, executor=executor, jobs=jobs,
                     scheduler=scheduler, out=out, overwrite=overwrite, keep_logs=keep_logs,
                     targets=_targets(targets, path), progress=progress, kind="sweep",
                     after=after)


def ablation_variants(base: Scenario, names: Sequence[str] | str = "all") -> dict[str, dict[str, Any]]:
    """``--ablate``: each named mechanism that is enabled in ``base`` off alone (``no_<name>``),
    then all of them off (``all_off``).  ``"all"`` means the six 六个一 mechanisms.

    Raises StudyError for an unknown name or when none of them is enabled."""
    wanted = list(SIX) if names == "all" or names == ["all"] else list(names)
    for n in wanted:
        if n not in SIX:
            raise StudyError(f"--ablate {n}: unknown mechanism (allowed: all, {', '.join(SIX)})")
    enabled = [n for n in wanted if getattr(base.mechanisms, n).enabled]
    if not enabled:
        raise StudyError(f"--ablate: none of {', '.join(wanted)} is enabled in the scenario")
    variants = {f"no_{n}": {f"mechanisms.{n}.enabled": False} for n in enabled}
    if len(enabled) > 1:
        variants["all_off"] = {f"mechanisms.{n}.enabled": False for n in enabled}
    return variants


def compare(
    scenario: str | Path | Scenario,
    variants: Mapping[str, Mapping[str, Any]] | None = None,
    seeds: Sequence[int] | int = 20,
    *,
    against: Sequence[str | Path] | None = None,
    ablate: Sequence[str] | str | None = None,
    overrides: Mapping[str, Any] | None = None,
    executor: str = "processes",
    jobs: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    keep_logs: bool = False,
    targets: str | Path | Targets | None = None,
    progress: bool = True,
    reuse: Sequence[str | Path] = (),
    after: Callable[[Any, str, int], None] | None = None,
) -> StudyResult:
    """Compare variants with the base scenario on the same seeds (paired differences).

    ``variants``: {name: {dotted path: value}}; ``against``: other scenario files, each a
    variant named by its file stem; ``ablate``: ``"all"`` or mechanism names (see
    ``ablation_variants``); ``reuse``: other study folders whose finished runs are taken
    instead of running them again, ``after`` a function each worker calls on each run's
    Result (see ``run_study``).  Returns a StudyResult whose
    ``effects`` has the columns variant, indicator, base_mean, variant_mean, diff, ci_low,
    ci_high, n (95 % paired t interval)."""
    base, path = _base(scenario)
    data = base.model_dump(mode="python")
    fixed = dict(overrides or {})
    _validated(data, fixed, "--set")
    all_variants: dict[str, dict[str, Any]] = {}
    scenarios: dict[str, dict[str, Any]] = {}
    for name, ov in (variants or {}).items():
        if not name or name == "base":
            raise StudyError(f"--variant {name!r}: give each variant a name other than 'base'")
        for k, v in ov.items():
            _validated(data, fixed | {k: v}, f"--variant {name}={k}={_value_text(v)}")
        all_variants[name] = dict(ov)
    for other in against or []:
        other_scn = load_scenario(other)
        name = Path(other).stem
        if name in all_variants or name == "base":
            name = f"{name}_{len(all_variants)}"
        all_variants[name] = {}
        scenarios[name] = other_scn.model_dump(mode="python")
        _validated(scenarios[name], fixed, f"--against {other} with --set")
    if ablate:
        for name, ov in ablation_variants(_validated(data, fixed, "--set"), ablate).items():
            all_variants.setdefault(name, ov)
    if not all_variants:
        raise StudyError("compare: give --variant NAME=PATH=VALUE, --against FILE or --ablate all")
    design = dsg.variants_design(all_variants, fixed, scenarios)
    return run_study(base, design, seeds, scenario_path=path, executor=executor, jobs=jobs,
                     scheduler=scheduler, out=out, overwrite=overwrite, keep_logs=keep_logs,
                     targets=_targets(targets, path), progress=progress, kind="compare",
                     reuse=reuse, after=after)


# -- running ---------------------------------------------------------------------------------------
def run_study(
    base: Scenario,
    design: dsg.Design,
    seeds: Sequence[int] | int,
    *,
    scenario_path: str | None = None,
    executor: str = "processes",
    jobs: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    keep_logs: bool = False,
    targets: Targets | None = None,
    progress: bool = True,
    kind: str = "sweep",
    reuse: Sequence[str | Path] = (),
    after: Callable[[Any, str, int], None] | None = None,
) -> StudyResult:
    """Run every (point, seed) of ``design`` not already in the store, then write the tables.

    ``reuse``: other study folders (their run stores) whose finished runs are taken instead of
    running them again: a run's key is its scenario as run, seed and source digest, so a
    record with the same key is the same run whichever study made it (the what-if page reuses
    its cached baseline this way).  Reused records are not copied into ``out``; with
    ``keep_logs`` their run folders stay where their own study kept them.

    ``after``: a picklable function each worker calls as ``after(result, point, seed)`` on
    every run it makes (not on reused ones), after the indicators: what a caller needs of each
    run beyond the indicators, made where the Result is (sim.batch.runner.RunJob)."""
    seeds = _seeds(seeds)
    if keep_logs and out is None:
        raise StudyError("--keep-logs: needs --out (the run folders are saved under it)")
    data = base.model_dump(mode="python")
    scns = [dsg.scenario_of(data, design, i, kind if kind != "sweep" else "--grid/--range")
            for i in range(len(design.names))]
    shas = [scenario_hash(s) for s in scns]
    definition = {
        "kind": kind,
        "scenario": scenario_path,
        "scenario_sha256": scenario_hash(base),
        "design": design.definition(),
        "seeds": seeds,
        "keep_logs": keep_logs,
    }
    store = RunStore(out) if out is not None else None
    ex = make_executor(executor, jobs, scheduler)  # before any run: a bad scheduler stops here
    started = time.perf_counter()
    try:
        if store is not None:
            # the scenario file's path is not part of the identity (its content hash is)
            store.open({k: v for k, v in definition.items() if k != "scenario"}, overwrite)
        done = store.finished() if store is not None else {}
        for other in reuse:
            for key, rec in RunStore(other).finished().items():
                done.setdefault(key, rec)
        # two points may be the same scenario (a variant setting the base's own value, a file
        # compared with itself): their runs share a key and run once
        plan = [(i, s, run_key(shas[i], s)) for i in range(len(scns)) for s in seeds]
        first = {}
        for i, s, key in plan:
            first.setdefault(key, (i, s))
        records = {key: done[key] for key in first if key in done}
        todo = [
            RunJob.of(key, design.names[i], s, scns[i],
                   str(store.logs_folder(design.names[i], s)) if keep_logs and store else None,
                   after)
            for key, (i, s) in first.items() if key not in records
        ]
        reused = len(records)
        bar = _bar(len(first), reused, f"{kind} ({ex.workers} workers)", progress)
        try:
            for rec in ex.map_unordered(run_one, todo, on_error=lost_run):
                if store is not None:
                    store.put(rec)
                records[rec["key"]] = rec
                bar.update(1)
        finally:
            bar.close()
    finally:
        ex.close()
    ordered = [records[key] | {"point": design.names[i]} for i, _, key in plan]
    runs = runs_table(ordered, design, kind)
    summary = summary_table(runs, design, targets)
    effects = effects_table(runs, design) if kind == "compare" else None
    sensitivity = None
    if design.method in ("sobol", "morris"):
        from sim.batch.sensitivity import indices_table

        means = point_means(runs, design)
        sensitivity = indices_table(design.method, design.problem(), design.unit_x, means,
                                    seed=design.design_seed)
    failed = int((runs["status"] != "ok").sum())
    wall = time.perf_counter() - started
    manifest = {
        **definition,
        "source_digest": source_digest(),
        "versions": _versions(),
        "executor": executor,
        "workers": ex.workers,
        "runs": len(runs),
        "failed": failed,
        "computed": len(todo),
        "reused": reused,
        "wall_seconds": wall,
        "targets": targets.model_dump() if targets is not None else None,
    }
    result = StudyResult(runs, summary, effects, sensitivity, Path(out) if out else None,
                         failed, len(todo), reused, wall, manifest)
    if store is not None:
        write_outputs(result)
    return result


def _versions() -> dict[str, str]:
    from sim.result import package_versions

    return package_versions()


def _bar(total: int, initial: int, desc: str, enabled: bool):
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread in a driver that forks workers
    return tqdm(total=total, initial=initial, desc=desc, unit="run", file=sys.stderr,
                disable=not (enabled and sys.stderr.isatty()))


# -- tables ----------------------------------------------------------------------------------------
def indicator_columns(runs: pd.DataFrame) -> list[str]:
    """The indicator columns of a runs table: the year indicators, then open orders by age."""
    cols = [c for c in INDICATORS if c in runs.columns]
    return cols + [c for c in runs.columns if c.startswith("open_age_") and c not in cols]


def _param_value(v: Any) -> Any:
    # arrays and inline tables (grid values) are stored as JSON text: Parquet columns are typed
    return json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, list | dict) else v


def runs_table(records: list[dict[str, Any]], design: dsg.Design, kind: str) -> pd.DataFrame:
    """One row per run, ordered by (design point, seed): point, [variant], each swept parameter
    (by its dotted path), seed, the indicators, status, error, traceback, timing, key."""
    index = {name: i for i, name in enumerate(design.names)}
    rows = []
    for rec in records:
        row: dict[str, Any] = {"point": rec["point"]}
        if kind == "compare":
            row["variant"] = rec["point"]
        point = design.points[index[rec["point"]]]
        for p in design.params:
            row[p] = _param_value(point.get(p))
        row["seed"] = rec["seed"]
        row.update(rec.get("indicators") or {})
        row.update({k: rec.get(k) for k in ("status", "error", "traceback", *TIMING, "key")})
        rows.append(row)
    runs = pd.DataFrame(rows)
    ind = [c for c in runs.columns if c in INDICATORS or c.startswith("open_age_")]
    front = ["point", *(["variant"] if kind == "compare" else []), *design.params, "seed"]
    order = front + [c for c in INDICATORS if c in ind] + [c for c in ind if c not in INDICATORS]
    runs = runs.reindex(columns=order + ["status", "error", "traceback", *TIMING, "key"])
    for c in order[len(front):]:
        runs[c] = runs[c].astype(float)
    return runs


def _ok(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["status"] == "ok"]


def point_means(runs: pd.DataFrame, design: dsg.Design) -> pd.DataFrame:
    """Mean of each indicator over the seeds of each design point (rows in design order);
    a point with no successful run is NaN."""
    cols = indicator_columns(runs)
    means = _ok(runs).groupby("point", sort=False)[cols].mean()
    return means.reindex(design.names)


def summary_table(runs: pd.DataFrame, design: dsg.Design, targets: Targets | None) -> pd.DataFrame:
    """Per design point and indicator: n, mean, std, 95 % CI half-width, and for indicators
    with a target the target text and the share of runs meeting it (summary.csv)."""
    rows = []
    ok = _ok(runs)
    by_point = dict(list(ok.groupby("point", sort=False)))
    cols = indicator_columns(runs)
    for name, point in zip(design.names, design.points, strict=True):
        group = by_point.get(name)
        for ind in cols:
            values = group[ind].to_numpy(dtype=float) if group is not None else np.array([])
            d = stats.describe(values)
            row: dict[str, Any] = {"point": name}
            row.update({p: _param_value(point.get(p)) for p in design.params})
            row.update({"indicator": ind, **d, "target": "", "target_share": math.nan})
            t = targets.targets.get(ind) if targets is not None else None
            if t is not None:
                finite = values[~np.isnan(values)]
                row["target"] = t.describe()
                row["target_share"] = (
                    float(np.mean([t.passes(v) for v in finite])) if len(finite) else math.nan
                )
            rows.append(row)
    return pd.DataFrame(rows)


EFFECT_COLUMNS = ["variant", "indicator", "base_mean", "variant_mean", "diff", "ci_low", "ci_high", "n"]
# After the issue's eight raw columns (in the indicator's own unit, rates as fractions 0-1):
# the unit of those raw values, and for rates the difference and its CI in percentage points
# (empty for other kinds), so a spreadsheet user need not multiply by 100.
EFFECT_UNIT_COLUMNS = ["unit", "diff_pp", "ci_low_pp", "ci_high_pp"]


def effects_table(runs: pd.DataFrame, design: dsg.Design) -> pd.DataFrame:
    """Per variant and indicator, the mean paired difference (variant - base) over the seeds
    both ran successfully, with its 95 % t interval (effects.csv): EFFECT_COLUMNS in the
    indicator's unit, then EFFECT_UNIT_COLUMNS (the unit's name; rates' differences in pp)."""
    ok = _ok(runs)
    base = ok[ok["point"] == "base"].set_index("seed")
    rows = []
    for name in design.names[1:]:
        var = ok[ok["point"] == name].set_index("seed")
        for ind in indicator_columns(runs):
            d = stats.paired_difference(base[ind], var[ind])
            unit = unit_of(ind)
            pp = {f"{k}_pp": (d[k] * 100 if unit == "fraction" else math.nan)
                  for k in ("diff", "ci_low", "ci_high")}
            rows.append({"variant": name, "indicator": ind, **d, "unit": unit, **pp})
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS + EFFECT_UNIT_COLUMNS)


def write_outputs(result: StudyResult) -> None:
    """Write runs.parquet, summary.csv, effects.csv (+ effects_readable.csv, the same as text
    for people, rate differences in pp; + ablation.csv, the mechanism x indicator table, when
    every variant is an ablation one), sensitivity.csv and manifest.json (last,
    each atomically): a folder with a manifest is a finished study."""
    import io

    out = result.out
    assert out is not None
    buf = io.BytesIO()
    result.runs.to_parquet(buf, index=False)
    write_atomic(out / "runs.parquet", buf.getvalue())
    write_atomic(out / "summary.csv", result.summary.to_csv(index=False).encode(BOM))
    if result.effects is not None:
        write_atomic(out / "effects.csv", result.effects.to_csv(index=False).encode(BOM))
        readable = effects_for_people(result.effects, chinese=True)
        write_atomic(out / "effects_readable.csv", readable.to_csv(index=False).encode(BOM))
        if is_ablation(result.effects["variant"]):
            table = ablation_table(result.effects)
            write_atomic(out / "ablation.csv", table.to_csv(index=False).encode(BOM))
    if result.sensitivity is not None:
        write_atomic(out / "sensitivity.csv", result.sensitivity.to_csv(index=False).encode(BOM))
    text = json.dumps(result.manifest, indent=2, ensure_ascii=False, default=str)
    write_atomic(out / "manifest.json", text.encode("utf-8"))


__all__ = ["sweep", "compare", "run_study", "StudyResult", "ablation_variants", "SIX",
           "ScenarioError", "StudyError"]
