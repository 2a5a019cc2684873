"""What the what-if page runs, and its cache: study folders keyed by scenario hash.

A what-if is ``sim.batch.study.compare`` of one variant (the page's overrides) against the
scenario on common seeds, with the run folders kept (``keep_logs``) for the charts and the
report.  The page never runs it in its own process: each run is a **job**, a separate
process (``python -m sim.app.jobs SPEC``) in its own process group, whose ``compare`` uses a
pool of worker processes.  A Streamlit session only starts a job, reads its progress from
the study folder (each finished run is a file in ``.runs/``), and can cancel it (the process
group is ended; the finished runs stay, so running again resumes).  One user's job never
waits for another's, except for the same folder: two jobs on one folder take turns on its
lock file, and the second then finds the result made.

The cache (a folder, ``results/app`` by default)::

    base-<key>/       the baseline on the page's seeds: run once per seed set, then reused
                      by every what-if (compare(..., reuse=[base folder]) runs only the
                      variant); key = hash of (scenario hash, seeds, source digest)
    whatif-<key>/     one what-if: key = hash of (baseline's scenario hash, variant's
                      scenario hash, seeds, source digest), so the same setting is the same
                      folder: going back to a setting reads it, nothing runs
    each folder: study/ (the study, sim.batch.store layout: .runs/, logs/, runs.parquet,
                 summary.csv, effects.csv, manifest.json) and app/ (spec.json,
                 status.json, monthly.png, daily.png, scenario.toml, done.json last)
    timing.json       measured seconds per order (the run-time estimate)

``done.json`` is written last: a folder without it is unfinished (a cancelled or killed job)
and is resumed, never shown as a result.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.batch.store import RUNS_DIR, scenario_hash, source_digest, write_atomic
from sim.scenario import Scenario, ScenarioError, from_dict

APP = "app"  # the app's own sub-folder of a cache folder
STUDY = "study"  # the study folder (sim.batch.store layout) inside a cache folder
DONE, STATUS, SPEC, LOCK = "done.json", "status.json", "spec.json", ".lock"
CHARTS = ("monthly", "daily")  # chart files app/<name>.png (the backlog is in both)
DEFAULT_JOBS = 2
# Seconds per order of one run with its run folder kept, before any run was measured on this
# machine: the README's baseline year, 3.93 s for 84.6 k orders (46 us/order, quiet 2-core
# machine), x 1.5 assumed for the indicators and saving the run folder.  Replaced by the
# median measured in this cache (timing.json) once a job has run.
DEFAULT_SECONDS_PER_ORDER = 46e-6 * 1.5
START_SECONDS = 3.0  # assumed: job start, pool start, tables and charts of a small scenario
CITY_SECONDS = 60.0  # an estimate above this asks the user to confirm before starting


# -- keys and folders --------------------------------------------------------------------------
def _digest(*parts: Any) -> str:
    text = "\0".join(json.dumps(p, sort_keys=True, default=str) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def base_folder(cache: Path, base: Scenario, seeds: list[int]) -> Path:
    """The cache folder of the baseline on ``seeds``."""
    return Path(cache) / f"base-{_digest(scenario_hash(base), seeds, source_digest())}"


def whatif_folder(cache: Path, base: Scenario, variant: Scenario, seeds: list[int]) -> Path:
    """The cache folder of a what-if: the same setting (same variant scenario), the same folder."""
    key = _digest(scenario_hash(base), scenario_hash(variant), seeds, source_digest())
    return Path(cache) / f"whatif-{key}"


def is_done(folder: Path) -> bool:
    """True when the job of ``folder`` finished (its results are complete)."""
    return (Path(folder) / APP / DONE).is_file()


def status(folder: Path) -> dict[str, Any]:
    """The job's last status: {"phase": ..., "error": ...} ({} before it started)."""
    try:
        return json.loads((Path(folder) / APP / STATUS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(data, ensure_ascii=False, default=str, indent=1).encode())


def _set_status(folder: Path, phase: str, error: str = "") -> None:
    _write_json(folder / APP / STATUS, {"phase": phase, "error": error, "time": time.time()})


@contextlib.contextmanager
def _locked(folder: Path):
    """Hold ``folder``'s lock file (blocking): one job per folder at a time.  The lock goes
    with the process, so a killed job never leaves the folder locked."""
    (folder / APP).mkdir(parents=True, exist_ok=True)
    with open(folder / APP / LOCK, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# -- the job: runs and charts (in the job process) ---------------------------------------------
@dataclass(frozen=True)
class Spec:
    """A job: the baseline scenario (model_dump, JSON), the variant's overrides (empty: the
    baseline only), the seeds, the worker processes, the cache folder, and the two cache
    folders it fills (named when the spec is made, so that the job writes where the page
    reads even if the installed code changes in between)."""

    base: dict[str, Any]
    overrides: dict[str, Any]
    seeds: list[int]
    cache: str
    jobs: int = DEFAULT_JOBS
    base_dir: str = ""
    whatif_dir: str = ""

    @classmethod
    def of(cls, base: Scenario, overrides: dict[str, Any], seeds: list[int], cache: Path,
           jobs: int = DEFAULT_JOBS) -> Spec:
        """The spec of a what-if (or of the baseline alone, with no overrides).  Raises
        ScenarioError (the schema's message) when the overrides make an invalid scenario."""
        from sim.app.controls import variant

        seeds = [int(s) for s in seeds]
        b = base_folder(Path(cache), base, seeds)
        w = (whatif_folder(Path(cache), base, variant(base, dict(overrides)), seeds)
             if overrides else None)
        return cls(base.model_dump(mode="json"), dict(overrides), seeds, str(cache), int(jobs),
                   str(b), str(w) if w is not None else "")

    def scenario(self) -> Scenario:
        return from_dict(self.base, "app baseline")

    def folders(self) -> tuple[Path, Path | None]:
        """(baseline folder, what-if folder or None when there are no overrides)."""
        return Path(self.base_dir), (Path(self.whatif_dir) if self.whatif_dir else None)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False, default=str)


def run_job(spec: Spec) -> tuple[Path, Path | None]:
    """Make the baseline (if not cached), then the what-if (if not cached): the runs, the
    tables and the charts.  Returns (baseline folder, what-if folder or None)."""
    base = spec.scenario()
    b, w = spec.folders()
    _ensure(b, spec, base, None)
    if w is not None:
        _ensure(w, spec, base, b)
    return b, w


def _ensure(folder: Path, spec: Spec, base: Scenario, reuse: Path | None) -> None:
    from sim.batch import design as dsg
    from sim.batch.study import compare, run_study

    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder):
        if is_done(folder):
            return
        started = time.perf_counter()
        _write_json(folder / APP / SPEC, json.loads(spec.to_json()) | {
            "overrides": spec.overrides if reuse is not None else {}})
        try:
            _set_status(folder, "runs")
            common = dict(seeds=spec.seeds, executor="processes", jobs=spec.jobs, out=folder / STUDY,
                          keep_logs=True, progress=False)
            if reuse is None:
                study = run_study(base, dsg.variants_design({}, {}), kind="compare", **common)
                point, scn = "base", base
            else:
                from sim.app.controls import variant

                study = compare(base, {"variant": spec.overrides}, reuse=[reuse / STUDY], **common)
                point, scn = "variant", variant(base, spec.overrides)
            if study.failed:
                first = study.runs.loc[study.runs["status"] != "ok", "error"].iloc[0]
                raise RuntimeError(f"{study.failed} run(s) failed: {first}")
            _set_status(folder, "charts")
            write_atomic(folder / APP / "scenario.toml", scenario_toml(scn).encode("utf-8"))
            draw_charts(folder, point, reuse, spec.jobs)
            _record_timing(Path(spec.cache), study.runs, scn)
            _write_json(folder / APP / DONE, {"seconds": time.perf_counter() - started,
                                              "computed": study.computed, "reused": study.reused})
            _set_status(folder, "done")
        except BaseException as e:
            _set_status(folder, "failed", f"{type(e).__name__}: {e}".splitlines()[0])
            raise


def kept_runs(folder: Path, point: str, fallback: Path | None = None) -> list[Path]:
    """The kept run folders of ``point`` (``logs/<point>-s<seed>``), in seed order; when a
    what-if's runs were all reused (its scenario is the baseline's), the baseline's."""
    from sim.plots.replications import replication_sets

    sets = replication_sets(folder / STUDY)
    if point in sets:
        return sets[point]
    if fallback is not None:
        return replication_sets(fallback / STUDY).get("base", [])
    return []


def chart_tables(run: str) -> dict[str, Any]:
    """What the two charts need from one kept run folder (small tables, made in a worker
    process): its seed, scenario name and version, ``data.event_month_table``,
    ``replications.daily_table_7d``, and the holiday and surge spans."""
    from sim.plots import data
    from sim.plots.replications import daily_table_7d
    from sim.result import Result

    res = Result.load(run)
    return {"seed": res.seed, "name": res.scenario.name,
            "version": str((res.meta.get("versions") or {}).get("hotline-sim", "?")),
            "monthly": data.event_month_table(res), "daily": daily_table_7d(res),
            "holidays": data.holiday_spans(res), "surges": data.surge_spans(res)}


def draw_charts(folder: Path, point: str, fallback: Path | None = None, workers: int = 1) -> None:
    """The monthly chart and the daily arrivals-and-backlog chart of ``point`` over its seeds
    (mean with 95 % band; sim.plots.replications), as app/monthly.png and app/daily.png;
    labels in Chinese and English.  The runs' chart tables are made on ``workers``
    processes (reading a kept run folder is most of the time)."""
    from sim.batch.executors import make_executor
    from sim.plots.replications import daily_figure_of, monthly_figure_of
    from sim.plots.style import Source

    runs = kept_runs(folder, point, fallback)
    if not runs:
        return
    ex = make_executor("processes" if workers > 1 else "serial", workers)
    try:
        parts = sorted(ex.map_unordered(chart_tables, [str(r) for r in runs]),
                       key=lambda x: x["seed"])
    finally:
        ex.close()
    first = parts[0]
    source = Source(first["name"], ",".join(str(x["seed"]) for x in parts), first["version"])
    what = {"base": "基准 baseline", "variant": "方案 what-if"}.get(point, point)
    figures = {
        "monthly": monthly_figure_of([x["monthly"] for x in parts], first["holidays"], source,
                                     "both", what),
        "daily": daily_figure_of([x["daily"] for x in parts], first["holidays"], first["surges"],
                                 source, "both", what),
    }
    for name, fig in figures.items():
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        write_atomic(folder / APP / f"{name}.png", buf.getvalue())


def scenario_toml(scn: Scenario) -> str:
    """The scenario as TOML (as a run folder's scenario.toml): what the download link gives."""
    import tomli_w

    return tomli_w.dumps(scn.model_dump(mode="json", exclude_none=True))


# -- run-time estimate -------------------------------------------------------------------------
def _record_timing(cache: Path, runs: pd.DataFrame, scn: Scenario) -> None:
    """Add this study's measured wall seconds per expected order (its successful runs) to
    the cache's timing.json (the last 50 values are kept)."""
    ok = runs[runs["status"] == "ok"]
    orders = scn.expected_orders()
    if ok.empty or orders <= 0:
        return
    path = cache / "timing.json"
    try:
        values = json.loads(path.read_text(encoding="utf-8")).get("seconds_per_order", [])
    except (OSError, ValueError):
        values = []
    values += [float(s) / orders for s in ok["wall_seconds"] if math.isfinite(s)]
    _write_json(path, {"seconds_per_order": values[-50:]})


def seconds_per_order(cache: Path) -> float:
    """The median measured wall seconds per order of one run in this cache (timing.json), or
    DEFAULT_SECONDS_PER_ORDER before anything was measured."""
    try:
        values = json.loads((Path(cache) / "timing.json").read_text(encoding="utf-8"))
        values = sorted(values["seconds_per_order"])
    except (OSError, ValueError, KeyError):
        values = []
    if not values:
        return DEFAULT_SECONDS_PER_ORDER
    return values[len(values) // 2]


def estimate_seconds(scn: Scenario, runs: int, workers: int, per_order: float) -> float:
    """Wall seconds to make ``runs`` runs of ``scn`` on ``workers`` processes: whole waves of
    runs (each ``scn.expected_orders()`` orders x ``per_order`` seconds) plus START_SECONDS."""
    if runs <= 0:
        return 0.0
    waves = math.ceil(runs / max(1, workers))
    return START_SECONDS + waves * scn.expected_orders() * per_order


def runs_to_make(spec: Spec) -> int:
    """How many runs the job of ``spec`` still has to make (cached runs excluded)."""
    b, w = spec.folders()
    n = 0 if is_done(b) else len(spec.seeds) - _finished(b)
    if w is not None and not is_done(w):
        n += len(spec.seeds) - _finished(w)
    return n


def _finished(folder: Path | None) -> int:
    runs = None if folder is None else folder / STUDY / RUNS_DIR
    if runs is None or not runs.is_dir():
        return 0
    return sum(1 for _ in runs.glob("*.json"))


# -- the job as a process (from the page) ------------------------------------------------------
@dataclass
class Job:
    """A running job process (its own process group) and the folders it makes."""

    process: subprocess.Popen
    spec: Spec
    base: Path
    whatif: Path | None
    log: Path
    cancelled: bool = False

    def progress(self) -> tuple[int, int, str]:
        """(runs finished, runs in all, phase): the baseline's and the what-if's runs on the
        seeds; the phase is the folder's status ("runs", "charts", "done", "failed")."""
        n = len(self.spec.seeds)
        total = n if self.whatif is None else 2 * n
        done = n if is_done(self.base) else _finished(self.base)
        phase = status(self.base).get("phase", "starting")
        if self.whatif is not None:
            done += n if is_done(self.whatif) else _finished(self.whatif)
            if is_done(self.base):
                phase = status(self.whatif).get("phase", "starting")
        return min(done, total), total, phase

    def running(self) -> bool:
        return self.process.poll() is None

    def error(self) -> str | None:
        """The job's one-line error, or None (still running, finished well, or cancelled)."""
        code = self.process.poll()
        if code in (None, 0) or self.cancelled:
            return None
        for f in (self.whatif, self.base):
            if f is not None and status(f).get("error"):
                return status(f)["error"]
        tail = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return tail[-1] if tail else f"job ended with exit code {code}"

    def cancel(self, timeout: float = 10.0) -> None:
        """End the job and its worker processes (its process group: SIGTERM, SIGKILL after
        half of ``timeout`` seconds), and return when they are gone; finished runs stay."""
        pgid = self.process.pid
        self.cancelled = self.process.poll() is None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        start, killed = time.monotonic(), False
        while True:
            self.process.poll()  # reap the job process itself (our child)
            try:
                os.killpg(pgid, 0)  # anyone left in the group? (workers are reaped by init)
            except ProcessLookupError:
                break
            if not killed and time.monotonic() - start > timeout / 2:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
                killed = True
            if time.monotonic() - start > timeout:
                break
            time.sleep(0.05)
        if self.process.poll() is None:
            self.process.wait()


def start(spec: Spec) -> Job:
    """Start the job of ``spec`` as a process of its own (a new session, so that cancel can
    end its worker processes with it).  Returns at once."""
    b, w = spec.folders()
    jobs_dir = Path(spec.cache) / "jobs"
    jobs_dir.mkdir(parents=True, exist_ok=True)
    key = (w or b).name
    spec_path = jobs_dir / f"{key}-{os.getpid()}-{time.time_ns()}.json"
    spec_path.write_text(spec.to_json(), encoding="utf-8")
    log = spec_path.with_suffix(".log")
    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "sim.app.jobs", str(spec_path)],
                                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    return Job(proc, spec, b, w, log)


# -- results (for the page) --------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """A finished what-if as the page shows it: the paired effects (sim.batch.study
    effects_table columns, one row per indicator), the charts (PNG bytes) of the baseline and
    of the variant, the variant's scenario TOML, and the run folder the report is made of."""

    effects: pd.DataFrame
    charts: dict[str, dict[str, bytes]]
    scenario_toml: str
    report_run: Path | None
    seconds: float


_outcomes: dict[str, Outcome] = {}  # folder -> Outcome: this process's cache of finished results


def outcome(base: Path, whatif: Path) -> Outcome:
    """The finished what-if in ``whatif`` (with its baseline in ``base``), from the memory
    cache or the folder.  Raises FileNotFoundError when either is not finished."""
    key = str(whatif)
    if key in _outcomes:
        return _outcomes[key]
    if not (is_done(base) and is_done(whatif)):
        raise FileNotFoundError(f"{whatif}: not finished")
    effects = pd.read_csv(whatif / STUDY / "effects.csv", encoding="utf-8-sig")
    charts = {who: {c: (f / APP / f"{c}.png").read_bytes() for c in CHARTS
                    if (f / APP / f"{c}.png").is_file()}
              for who, f in (("base", base), ("variant", whatif))}
    done = json.loads((whatif / APP / DONE).read_text(encoding="utf-8"))
    result = Outcome(effects, charts, (whatif / APP / "scenario.toml").read_text(encoding="utf-8"),
                     report_run(base, whatif), float(done.get("seconds", math.nan)))
    _outcomes[key] = result
    return result


def effects_ready(whatif: Path) -> pd.DataFrame | None:
    """The what-if's paired effects as soon as its study has finished (while its charts are
    being drawn), or None before: the page shows the indicator table first."""
    study = whatif / STUDY
    if not (study / "manifest.json").is_file():
        return None
    return pd.read_csv(study / "effects.csv", encoding="utf-8-sig")


def report_run(base: Path, whatif: Path) -> Path | None:
    """The variant's kept run folder of its first seed (``logs/variant-s<seed>``; the
    baseline's when the what-if reused all its runs), the one the report is made of."""
    seeds = json.loads((whatif / APP / SPEC).read_text(encoding="utf-8"))["seeds"]
    for folder, point in ((whatif, "variant"), (base, "base")):
        run = folder / STUDY / "logs" / f"{point}-s{min(seeds)}"
        if (run / "manifest.json").is_file():
            return run
    return None


def make_report(run: Path, timeout: float = 600) -> Path:
    """The HTML report of one of the variant's runs (``hotline report``, in a process of its
    own: the page's process stays free).  Returns report.html's path; raises RuntimeError
    with the command's message when it fails."""
    if (run / "report.html").is_file():
        return run / "report.html"
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "report", str(run)], capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError((proc.stderr.strip().splitlines() or ["hotline report failed"])[-1])
    return run / "report.html"


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.app.jobs SPEC.json``: run the job of a spec file (the page starts it)."""
    argv = sys.argv[1:] if argv is None else argv
    spec = Spec(**json.loads(Path(argv[0]).read_text(encoding="utf-8")))
    try:
        run_job(spec)
    except ScenarioError as e:
        print(f"hotline app job: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
