"""``calibrate`` and ``optimise``: the Python API behind ``hotline calibrate`` / ``hotline optimise``.

Both search the ``free`` fields with Optuna (TPE, starting from the scenario's own values),
evaluate every candidate on the same seeds, and then run the chosen scenario on fresh seeds
(the hold-out, ``hotline check``'s table): the result ``passed`` only if every target holds
there.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.batch.store import write_atomic
from sim.calibrate import charts, tables
from sim.calibrate.search import (
    Problem,
    check_table,
    complete,
    finished_trials,
    prepare,
    search,
    trials_table,
)
from sim.calibrate.space import describe_cost
from sim.calibrate.toml_out import today, write_scenario
from sim.scenario import Scenario
from sim.targets import Targets

BOM = "utf-8-sig"
HOLDOUT_TRIES = 3  # optimisation: candidates tried on fresh seeds, cheapest first


@dataclass
class SearchResult:
    """The tables of a calibration or optimisation (DataFrames) and where they were written.

    ``trials``: one row per trial (free fields, objective, cost, weakest margin, feasible,
    uncertain, target means and CIs); ``best``: {path: value} chosen; ``holdout``: the check on
    fresh seeds (indicator, target, mean, CI, PASS/FAIL); ``profile``/``identifiability``
    (calibration); ``pareto`` (optimisation); ``passed``: every target holds on the hold-out."""

    mode: str
    trials: pd.DataFrame
    best: dict[str, Any]
    holdout: pd.DataFrame
    passed: bool
    out: Path
    profile: pd.DataFrame | None = None
    identifiability: pd.DataFrame | None = None
    pareto: pd.DataFrame | None = None
    evaluated: int = 0
    finished_before: int = 0
    computed_runs: int = 0
    reused_runs: int = 0
    wall_seconds: float = 0.0
    holdout_seeds: list[int] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def _rounded(p: Problem, params: dict[str, Any]) -> dict[str, Any]:
    # 4 significant figures: the value written is the value checked on the hold-out seeds
    out = {}
    for f in p.free:
        v = params[f.path]
        out[f.path] = int(v) if f.integer else float(f"{float(v):.4g}")
    return out


def _seeds_text(seeds: list[int]) -> str:
    if seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))


def _write_table(df: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".parquet":
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        write_atomic(path, buf.getvalue())
    else:
        write_atomic(path, df.to_csv(index=False).encode(BOM))


def _header(p: Problem, best: dict[str, Any], achieved: pd.DataFrame, hold: pd.DataFrame,
            n_trials: int, tool: str) -> list[str]:
    lines = [
        f"{tool} result, written by `hotline {p.mode}` on {today()}",
        f"from {p.scenario_path or p.base.name}; targets {p.targets_path or '(given as data)'}",
        f"search: {n_trials} trials finished of budget {p.budget}; seeds {_seeds_text(p.seeds)} "
        f"(common to every candidate); hold-out seeds {_seeds_text(p.holdout)}",
    ]
    if p.cost:
        lines.append(f"cost minimised: {describe_cost(p.cost)}")
    lines.append("fitted fields (bounds searched -> value):")
    lines += [f"  {f.path} = {best[f.path]}   (searched {f.lo:g}..{f.hi:g}; was {f.current:g})"
              for f in p.free]
    lines.append("targets: search seeds mean -> hold-out mean [95 % CI] verdict")
    for (_, a), (_, h) in zip(achieved.iterrows(), hold.iterrows(), strict=True):
        lines.append(f"  {a['indicator']}: target {a['target']}; {a['mean']:.5g} -> "
                     f"{h['mean']:.5g} [{h['ci_low']:.5g}, {h['ci_high']:.5g}] {h['result']}")
    failed = int((hold["result"] != "PASS").sum())
    lines.append("hold-out: every target PASS" if not failed
                 else f"hold-out: {failed} target(s) FAIL: this scenario does NOT meet the targets")
    return lines


def _finish(p: Problem, run: Any, evaluator: Any, lang: str) -> tuple[pd.DataFrame, list[str]]:
    trials = trials_table(p, run.study)
    _write_table(trials, p.out / "trials.parquet")
    _write_table(trials, p.out / "trials.csv")
    files = ["trials.parquet", "trials.csv"]
    charts.trials_chart(p, trials, p.out / "charts", lang)
    return trials, files


def calibrate(
    scenario: str | Path | Scenario,
    targets: str | Path | Targets | None = None,
    free: Sequence[str] | dict[str, tuple[float, float]] = (),
    seeds: Sequence[int] | int = 10,
    *,
    budget: int = 200,
    out: str | Path | None = None,
    holdout_seeds: Sequence[int] | int | None = None,
    weights: dict[str, float] | None = None,
    executor: str = "processes",
    jobs: int | None = None,
    scheduler: str | None = None,
    overwrite: bool = False,
    sampler_seed: int = 1,
    progress: bool = True,
    lang: str = "both",
) -> SearchResult:
    """Fit the ``free`` fields (``["handling.scale=0.5:2", ...]`` or ``{path: (lo, hi)}``) so
    that the indicator means on ``seeds`` meet ``targets`` (default: the targets file beside
    the scenario).  The objective is the weighted mean squared tolerance-normalised distance
    (``sim.calibrate.objective``); ``weights``: {indicator: weight}, default 1.

    Writes into ``out``: calibrated.toml (the input's text and comments with the fitted values
    and a header), trials.parquet/.csv, profile.csv, identifiability.csv, holdout.csv,
    charts/ (trials, one profile per field).  Re-running the same call resumes from the
    journal.  Returns a SearchResult.  Raises ScenarioError/StudyError (one line) on bad input,
    before any run."""
    p = prepare("calibrate", scenario, targets, free, seeds, budget, out,
                holdout_seeds=holdout_seeds, weights=weights, sampler_seed=sampler_seed)
    run, ev = search(p, executor, jobs, scheduler, progress, overwrite)
    try:
        trials, files = _finish(p, run, ev, lang)
        done = complete(trials)
        if done.empty:
            raise_no_trial(trials)
        best_row = done.loc[done["objective"].idxmin()]
        best = _rounded(p, {f.path: best_row[f.path] for f in p.free})
        achieved = check_table(p, ev.runs(p.scenario(best), p.seeds, "best"))
        hold = check_table(p, ev.runs(p.scenario(best), p.holdout, "hold-out"))
        hold.insert(0, "seeds", _seeds_text(p.holdout))
    finally:
        ev.ex.close()
    profile = tables.profile_table(p, trials)
    ident = tables.identifiability_table(p, trials)
    for name, df in (("profile.csv", profile), ("identifiability.csv", ident), ("holdout.csv", hold)):
        _write_table(df, p.out / name)
        files.append(name)
    charts.profile_charts(p, trials, ident, p.out / "charts", lang)
    passed = bool((hold["result"] == "PASS").all())
    write_scenario(p.out / "calibrated.toml", p.scenario_path, p.data, best,
                   _header(p, best, achieved, hold, len(finished_trials(run.study)), "calibration"),
                   f"calibrated by hotline calibrate {today()[:10]}")
    files += ["calibrated.toml", "charts/"]
    result = SearchResult("calibrate", trials, best, hold, passed, p.out, profile=profile,
                          identifiability=ident, evaluated=run.evaluated,
                          finished_before=run.finished_before, computed_runs=ev.computed,
                          reused_runs=ev.reused, wall_seconds=run.wall_seconds,
                          holdout_seeds=p.holdout, files=files)
    _manifest(p, result)
    return result


def raise_no_trial(trials: pd.DataFrame) -> None:
    from sim.batch.store import StudyError

    errors = [e for e in trials.get("error", pd.Series(dtype=str)) if e]
    raise StudyError("no trial finished" + (f" (first error: {errors[0]})" if errors else ""))


def optimise(
    scenario: str | Path | Scenario,
    targets: str | Path | Targets | None = None,
    free: Sequence[str] | dict[str, tuple[float, float]] = (),
    minimise: str = "handler_hours+supervision_actions",
    seeds: Sequence[int] | int = 10,
    *,
    budget: int = 150,
    out: str | Path | None = None,
    holdout_seeds: Sequence[int] | int | None = None,
    executor: str = "processes",
    jobs: int | None = None,
    scheduler: str | None = None,
    overwrite: bool = False,
    sampler_seed: int = 1,
    progress: bool = True,
    lang: str = "both",
) -> SearchResult:
    """Find the cheapest ``free`` settings that meet every target on the mean over ``seeds``.

    ``minimise``: a sum of cost terms ``[W*]NAME`` (NAME an indicator, ``supervision_actions``
    or a --free field; see ``sim.calibrate.space``).  Optuna's TPE with the targets as
    constraints (margin > 0 holds).  A candidate whose 95 % CI straddles a target bound is
    "uncertain".  The answer is the cheapest feasible candidate (certain ones first) that also
    meets every target on fresh seeds; up to three are tried, cheapest first.

    Writes into ``out``: optimised.toml, trials.parquet/.csv, pareto.csv, holdout.csv,
    charts/ (trials, pareto).  Returns a SearchResult (``passed`` False when no candidate
    holds on the hold-out seeds, or none is feasible)."""
    p = prepare("optimise", scenario, targets, free, seeds, budget, out, minimise=minimise,
                holdout_seeds=holdout_seeds, sampler_seed=sampler_seed)
    run, ev = search(p, executor, jobs, scheduler, progress, overwrite)
    try:
        trials, files = _finish(p, run, ev, lang)
        done = complete(trials)
        if done.empty:
            raise_no_trial(trials)
        feas = done[done["feasible"].astype(bool)].assign(
            _unc=lambda d: d["uncertain"].astype(str).str.len() > 0)
        ranked = feas.sort_values(["_unc", "cost", "weakest_margin"], ascending=[True, True, False])
        tried: set[tuple] = set()
        hold = achieved = None
        best: dict[str, Any] = {}
        for _, row in ranked.iterrows():
            cand = _rounded(p, {f.path: row[f.path] for f in p.free})
            if tuple(cand.values()) in tried:
                continue
            tried.add(tuple(cand.values()))
            achieved = check_table(p, ev.runs(p.scenario(cand), p.seeds, "candidate"))
            hold = check_table(p, ev.runs(p.scenario(cand), p.holdout, "hold-out"))
            best = cand
            if (hold["result"] == "PASS").all() or len(tried) >= HOLDOUT_TRIES:
                break
        if hold is None:  # nothing feasible: report the candidate with the largest margin
            row = done.loc[done["weakest_margin"].idxmax()]
            best = _rounded(p, {f.path: row[f.path] for f in p.free})
            achieved = check_table(p, ev.runs(p.scenario(best), p.seeds, "candidate"))
            hold = check_table(p, ev.runs(p.scenario(best), p.holdout, "hold-out"))
            passed = False
        else:
            passed = bool((hold["result"] == "PASS").all())
        hold.insert(0, "seeds", _seeds_text(p.holdout))
    finally:
        ev.ex.close()
    front = tables.pareto_table(p, trials)
    for name, df in (("pareto.csv", front), ("holdout.csv", hold)):
        _write_table(df, p.out / name)
        files.append(name)
    charts.pareto_chart(p, trials, front, p.out / "charts", lang)
    write_scenario(p.out / "optimised.toml", p.scenario_path, p.data, best,
                   _header(p, best, achieved, hold, len(finished_trials(run.study)), "optimisation"),
                   f"optimised by hotline optimise {today()[:10]}")
    files += ["optimised.toml", "charts/"]
    result = SearchResult("optimise", trials, best, hold, passed, p.out, pareto=front,
                          evaluated=run.evaluated, finished_before=run.finished_before,
                          computed_runs=ev.computed, reused_runs=ev.reused,
                          wall_seconds=run.wall_seconds, holdout_seeds=p.holdout, files=files)
    _manifest(p, result)
    return result


def _manifest(p: Problem, r: SearchResult) -> None:
    from sim.batch.store import source_digest
    from sim.result import package_versions

    m = {
        **p.definition(),
        "scenario": p.scenario_path,
        "targets_file": p.targets_path,
        "budget": p.budget,
        "holdout_seeds": p.holdout,
        "best": r.best,
        "passed": r.passed,
        "trials_finished": int(len(r.trials[r.trials["state"].isin(["COMPLETE", "FAIL"])
                                             & ~r.trials["interrupted"]])),
        "evaluated_this_pass": r.evaluated,
        "runs_computed_this_pass": r.computed_runs,
        "runs_reused_this_pass": r.reused_runs,
        "wall_seconds_this_pass": r.wall_seconds,
        "source_digest": source_digest(),
        "versions": package_versions(),
    }
    text = json.dumps(m, indent=2, ensure_ascii=False, default=lambda v: None if
                      isinstance(v, float) and math.isnan(v) else str(v))
    write_atomic(p.out / "manifest.json", text.encode("utf-8"))
    r.files.append("manifest.json")
