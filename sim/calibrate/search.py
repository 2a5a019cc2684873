"""The search behind ``hotline calibrate`` and ``hotline optimise``: Optuna over the free fields,
each candidate run on the same seeds (common random numbers) by the batch layer's executors
and runner, with a journal that lets the same command resume after a crash.

Output folder (``--out``)::

    journal.log        Optuna's journal (JournalFileBackend): every trial asked and told
    .study.json        what defines the search (scenario hash, free fields, targets, seeds, cost)
    .runs/<key>.json   one record per finished run (the batch run store: a candidate killed
                       half-way keeps its finished runs)

A trial killed while running is marked failed on resume and its parameters are asked again;
finished trials are never re-evaluated.  The budget counts finished trials, so re-running
with a larger ``--budget`` continues the same search.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.batch import stats
from sim.batch.executors import make_executor
from sim.batch.runner import RunJob, lost_run, run_one
from sim.batch.store import RunStore, StudyError, run_key, scenario_hash
from sim.calibrate.objective import Scaled, objective, scaled_targets
from sim.calibrate.space import DERIVED, CostTerm, FreeParam, parse_cost, parse_free
from sim.kpi import INDICATORS
from sim.scenario import Scenario, ScenarioError, apply_override, from_dict, load_scenario
from sim.targets import Targets, default_targets_path, load_targets

JOURNAL = "journal.log"
STARTUP_TRIALS = 10
REPEAT_CAP = 5  # at most this many trials asked per budgeted candidate in one pass  # TPE's random start (Optuna's default), after the enqueued current values


@dataclass
class Problem:
    """Everything a search needs, validated before any run (see ``prepare``)."""

    mode: str  # "calibrate" or "optimise"
    base: Scenario
    data: dict[str, Any]
    scenario_path: str | None
    targets_path: str | None
    free: list[FreeParam]
    targets: Targets
    scaled: list[Scaled]
    weights: dict[str, float]
    seeds: list[int]
    holdout: list[int]
    budget: int
    out: Path
    cost: list[CostTerm] = field(default_factory=list)
    sampler_seed: int = 1

    def definition(self) -> dict[str, Any]:
        """What identifies the search (a resumed search must match it); not the budget."""
        return {
            "kind": self.mode,
            "scenario_sha256": scenario_hash(self.base),
            "free": [[p.path, p.lo, p.hi, p.integer] for p in self.free],
            "targets": self.targets.model_dump(),
            "weights": self.weights,
            "seeds": self.seeds,
            "cost": [[t.weight, t.name] for t in self.cost],
            "sampler_seed": self.sampler_seed,
        }

    def scenario(self, params: dict[str, float]) -> Scenario:
        data = copy.deepcopy(self.data)
        for path, value in params.items():
            apply_override(data, path, value, f"--free {path}")
        return from_dict(data, f"{self.mode} candidate ({_describe(params)})")

    def indicator_keys(self) -> list[str]:
        """The indicators a trial records: its targets, then the cost's indicators."""
        keys = list(self.targets.targets)
        for t in self.cost:
            if t.name in DERIVED:
                keys += [*DERIVED[t.name], t.name]
            elif t.name in INDICATORS:
                keys.append(t.name)
        return list(dict.fromkeys(keys))


def _describe(params: dict[str, float]) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in params.items())


def _fmt(v: float) -> str:
    return str(v) if isinstance(v, int) else f"{v:.4g}"


def _seed_list(seeds: Sequence[int] | int, flag: str) -> list[int]:
    out = list(range(1, seeds + 1)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not out:
        raise StudyError(f"{flag}: give at least one seed")
    if any(s < 0 for s in out):
        raise StudyError(f"{flag}: seeds must be non-negative")
    if len(set(out)) != len(out):
        raise StudyError(f"{flag}: a seed is given twice")
    return out


def prepare(
    mode: str,
    scenario: str | Path | Scenario,
    targets: str | Path | Targets | None,
    free: Sequence[str] | dict[str, tuple[float, float]],
    seeds: Sequence[int] | int,
    budget: int,
    out: str | Path | None,
    *,
    minimise: str | None = None,
    holdout_seeds: Sequence[int] | int | None = None,
    weights: dict[str, float] | None = None,
    sampler_seed: int = 1,
) -> Problem:
    """Validate every input of a search; raises ScenarioError/StudyError (one line) on the first
    problem, before any run.  ``holdout_seeds`` default: as many seeds as ``seeds``, after the
    largest of them (never one of the search's)."""
    for module in ("optuna", "tomlkit"):
        try:
            __import__(module)
        except ImportError:
            raise StudyError(f"hotline {mode}: {module} is not installed; install the extra: "
                             f"pip install -e '.[calibrate]'") from None
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise StudyError(f"--budget {budget}: give a number of candidates >= 1")
    if out is None:
        raise StudyError("--out: a search needs an output folder (its journal makes it resumable)")
    if isinstance(scenario, Scenario):
        base, path = scenario, None
    else:
        base, path = load_scenario(scenario), str(scenario)
    data = base.model_dump(mode="python")
    if isinstance(targets, Targets):
        tg, tpath = targets, None
    else:
        if targets is None:
            if path is None or not default_targets_path(path).exists():
                raise StudyError("--targets: give the targets file (no <scenario>.targets.toml beside it)")
            targets = default_targets_path(path)
        tg, tpath = load_targets(targets), str(targets)
    if not tg.targets:
        raise StudyError(f"--targets {tpath}: the file has no targets")
    items = [f"{k}={lo}:{hi}" for k, (lo, hi) in free.items()] if isinstance(free, dict) else list(free)
    params = parse_free(items, data, path or "scenario")
    seed_list = _seed_list(seeds, "--seeds")
    if holdout_seeds is None:
        start = max(seed_list) + 1
        hold = list(range(start, start + len(seed_list)))
    else:
        hold = _seed_list(holdout_seeds, "--holdout-seeds")
        if set(hold) & set(seed_list):
            raise StudyError("--holdout-seeds: must be fresh seeds, not used in the search (--seeds)")
    w = dict(weights or {})
    for k, v in w.items():
        if k not in tg.targets:
            raise StudyError(f"--weight {k}: not a target of {tpath or 'the targets'} "
                             f"(targets: {', '.join(tg.targets)})")
        if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
            raise StudyError(f"--weight {k}={v}: give a finite weight >= 0")
    cost: list[CostTerm] = []
    if mode == "optimise":
        if not minimise:
            raise StudyError("--minimise: give the cost, e.g. handler_hours+supervision_actions")
        cost = parse_cost(minimise, params)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise StudyError(f"--out {out}: exists and is a file")
    return Problem(mode, base, data, path, tpath, params, tg, scaled_targets(tg), w, seed_list,
                   hold, budget, out, cost, sampler_seed)


# -- evaluating candidates --------------------------------------------------------------------------
class Evaluator:
    """Runs candidates on the problem's seeds through one executor and the run store."""

    def __init__(self, problem: Problem, executor: Any, store: RunStore) -> None:
        self.p = problem
        self.ex = executor
        self.store = store
        self.done = store.finished()
        self.computed = 0
        self.reused = 0

    def runs(self, scn: Scenario, seeds: list[int], label: str) -> pd.DataFrame:
        """Indicators of ``scn`` on ``seeds``: one row per seed (index), a column per indicator
        and the derived cost indicators.  Raises StudyError if a run fails."""
        sha = scenario_hash(scn)
        keys = {s: run_key(sha, s) for s in seeds}
        todo = [RunJob.of(keys[s], label, s, scn) for s in seeds if keys[s] not in self.done]
        self.reused += len(seeds) - len(todo)
        for rec in self.ex.map_unordered(run_one, todo, on_error=lost_run):
            self.store.put(rec)
            if rec["status"] == "ok":
                self.done[rec["key"]] = rec
                self.computed += 1
            else:
                raise StudyError(f"{label} seed {rec['seed']}: the run failed: {rec['error']}")
        frame = pd.DataFrame({s: self.done[keys[s]]["indicators"] for s in seeds}).T.astype(float)
        frame.index.name = "seed"
        for name, parts in DERIVED.items():
            if name not in frame.columns and all(c in frame.columns for c in parts):
                frame[name] = frame[list(parts)].sum(axis=1)
        return frame

    def assess(self, frame: pd.DataFrame, params: dict[str, float]) -> dict[str, Any]:
        """Means, CIs, objective, cost and margins of one candidate's runs (JSON-able)."""
        p = self.p
        means: dict[str, float] = {}
        ci: dict[str, list[float]] = {}
        for key in p.indicator_keys():
            values = frame[key].to_numpy() if key in frame.columns else np.array([math.nan])
            m, lo, hi = stats.mean_ci(values)
            means[key], ci[key] = m, [lo, hi]
        margins = {s.key: s.margin(means[s.key]) for s in p.scaled}
        passes = {s.key: s.target.passes(means[s.key]) if not math.isnan(means[s.key]) else False
                  for s in p.scaled}
        uncertain = [s.key for s in p.scaled if s.straddles(*ci[s.key])]
        rec: dict[str, Any] = {
            "means": means,
            "ci": ci,
            "objective": objective(means, p.scaled, p.weights),
            "margins": margins,
            "weakest_margin": min(margins.values()),
            "feasible": all(passes.values()),
            "failing": [k for k, ok in passes.items() if not ok],
            "uncertain": uncertain,
        }
        if p.cost:
            rec["cost"] = sum(t.value(means, params) for t in p.cost)
        return rec


# -- the Optuna study -----------------------------------------------------------------------------
def _suggest(trial: Any, free: list[FreeParam]) -> dict[str, float]:
    out: dict[str, float] = {}
    for f in free:
        if f.integer:
            out[f.path] = trial.suggest_int(f.path, int(f.lo), int(f.hi))
        else:
            out[f.path] = trial.suggest_float(f.path, f.lo, f.hi)
    return out


@dataclass
class SearchRun:
    """What ``search`` did: the Optuna study, the evaluator and counts of this pass."""

    study: Any
    evaluator: Evaluator
    evaluated: int
    finished_before: int
    wall_seconds: float


def _open_study(p: Problem) -> tuple[Any, Any]:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(p.out / JOURNAL)))
    study = optuna.create_study(study_name=p.mode, storage=storage, direction="minimize",
                                load_if_exists=True)
    # the sampler's seed moves on with the trials already in the journal: a resumed search
    # must not draw the same random start points again (same history, same proposals)
    study.sampler = _sampler(optuna, p, len(study.get_trials(deepcopy=False)))
    return study, storage


def _sampler(optuna: Any, p: Problem, n_trials: int) -> Any:
    return optuna.samplers.TPESampler(
        seed=p.sampler_seed + 7919 * n_trials,
        n_startup_trials=STARTUP_TRIALS,
        multivariate=True,  # models the fields jointly: fitted fields trade off (scale vs base)
    )


def finished_trials(study: Any) -> list[Any]:
    """Trials that count against the budget: complete, or failed other than by interruption,
    one per distinct candidate (a candidate proposed again is answered from its runs, which
    the store holds, and does not use up the budget)."""
    from optuna.trial import TrialState

    seen: dict[tuple, Any] = {}
    for t in study.get_trials(deepcopy=False):
        if t.state == TrialState.COMPLETE or (
                t.state == TrialState.FAIL and not t.user_attrs.get("interrupted")):
            seen.setdefault(tuple(sorted(t.params.items())), t)
    return list(seen.values())


def space_size(free: list[FreeParam]) -> float:
    """Number of distinct candidates: finite only when every free field is an integer."""
    if not all(f.integer for f in free):
        return math.inf
    return float(np.prod([int(f.hi) - int(f.lo) + 1 for f in free]))


def search(p: Problem, executor: str = "processes", jobs: int | None = None,
           scheduler: str | None = None, progress: bool = True, overwrite: bool = False,
           on_trial: Callable[[int], None] | None = None) -> tuple[SearchRun, Evaluator]:
    """Run (or resume) the search until ``p.budget`` trials are finished.

    Returns the SearchRun and the evaluator (still usable for the hold-out check; the caller
    closes ``evaluator.ex``).  Raises StudyError when ``p.out`` holds another search."""
    from optuna.trial import TrialState

    store = RunStore(p.out)
    store.open(p.definition(), overwrite=overwrite)
    if overwrite:
        (p.out / JOURNAL).unlink(missing_ok=True)
    ex = make_executor(executor, jobs, scheduler)
    started = time.perf_counter()
    ev = Evaluator(p, ex, store)
    try:
        study, storage = _open_study(p)
        # a trial left running by a crash: failed (not counted), and its parameters asked again
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            storage.set_trial_user_attr(t._trial_id, "interrupted", True)
            storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            if len(t.params) == len(p.free):
                study.enqueue_trial(t.params)
        if not study.get_trials(deepcopy=False):
            study.enqueue_trial({f.path: f.clip(f.current) for f in p.free})
        before = len(finished_trials(study))
        bar = _bar(p.budget, min(before, p.budget), f"{p.mode} ({ex.workers} workers, "
                   f"{len(p.seeds)} seeds)", progress)
        evaluated = 0
        try:
            # repeats of known candidates cost no runs; the cap stops a sampler that proposes
            # nothing new (a small integer space whose every point has been tried)
            goal = min(p.budget, space_size(p.free))
            asked = 0
            while len(finished_trials(study)) < goal and asked < REPEAT_CAP * p.budget:
                asked += 1
                trial = study.ask()
                params = _suggest(trial, p.free)
                try:
                    frame = ev.runs(p.scenario(params), p.seeds, f"trial {trial.number}")
                except (StudyError, ScenarioError) as e:
                    trial.set_user_attr("error", str(e))
                    study.tell(trial, state=TrialState.FAIL)
                    evaluated += 1
                    bar.update(1)
                    continue
                rec = ev.assess(frame, params)
                for k, v in rec.items():
                    trial.set_user_attr(k, v)
                # Optuna's convention: a constraint holds when its value is <= 0
                for key, m in rec["margins"].items():
                    trial.set_constraint(key, -m if math.isfinite(m) else 1e9)
                study.tell(trial, rec["cost"] if p.mode == "optimise" else rec["objective"])
                evaluated += 1
                bar.update(1)
                if on_trial is not None:
                    on_trial(trial.number)
        finally:
            bar.close()
    except BaseException:
        ex.close()
        raise
    return SearchRun(study, ev, evaluated, before, time.perf_counter() - started), ev


def _bar(total: int, initial: int, desc: str, enabled: bool):
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread in a driver that forks workers (as sim.batch)
    return tqdm(total=total, initial=initial, desc=desc, unit="trial", file=sys.stderr,
                disable=not (enabled and sys.stderr.isatty()))


# -- tables ---------------------------------------------------------------------------------------
def trials_table(p: Problem, study: Any) -> pd.DataFrame:
    """One row per trial: number, state, each free field (by path), objective, cost, weakest
    margin, feasible, uncertain (targets whose CI straddles a bound), per target indicator the
    mean and CI, error; ordered by trial number."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        a = t.user_attrs
        row: dict[str, Any] = {"trial": t.number, "state": t.state.name}
        for f in p.free:
            row[f.path] = t.params.get(f.path, math.nan)
        row["objective"] = a.get("objective", math.nan)
        if p.cost:
            row["cost"] = a.get("cost", math.nan)
        row["weakest_margin"] = a.get("weakest_margin", math.nan)
        row["feasible"] = a.get("feasible", False)
        row["uncertain"] = ",".join(a.get("uncertain", []))
        row["failing"] = ",".join(a.get("failing", []))
        for k in p.indicator_keys():
            row[f"mean_{k}"] = a.get("means", {}).get(k, math.nan)
            lo, hi = a.get("ci", {}).get(k, [math.nan, math.nan])
            row[f"ci_low_{k}"], row[f"ci_high_{k}"] = lo, hi
        row["interrupted"] = bool(a.get("interrupted", False))
        row["error"] = a.get("error", "")
        row["started"] = t.datetime_start
        row["seconds"] = t.duration.total_seconds() if t.duration is not None else math.nan
        rows.append(row)
    df = pd.DataFrame(rows)
    for c in ("objective", "weakest_margin", *(["cost"] if p.cost else [])):
        df[c] = df[c].astype(float)
    return df


def complete(trials: pd.DataFrame) -> pd.DataFrame:
    return trials[trials["state"] == "COMPLETE"]


def check_table(p: Problem, frame: pd.DataFrame) -> pd.DataFrame:
    """``hotline check``'s table on ``frame`` (one row per seed): per target the mean, its 95 %
    CI and PASS/FAIL."""
    rows = []
    for s in p.scaled:
        values = frame[s.key].to_numpy() if s.key in frame.columns else np.array([math.nan])
        m, lo, hi = stats.mean_ci(values)
        ok = (not math.isnan(m)) and s.target.passes(m)
        rows.append({"indicator": s.key, "kind": s.target.kind, "target": s.target.describe(),
                     "mean": m, "ci_low": lo, "ci_high": hi, "margin": s.margin(m),
                     "result": "PASS" if ok else "FAIL"})
    return pd.DataFrame(rows)
