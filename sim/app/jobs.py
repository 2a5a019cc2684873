"""What the what-if page runs, and its cache: study folders keyed by scenario hash.

A what-if is ``sim.batch.study.compare`` of one variant (the page's overrides) against the
scenario on common seeds.  Each worker, once a run's indicators are made, also makes the small
tables the two charts need (``chart_tables``) from the run's Result in memory and saves them
beside the study: no run folder is saved and read back (that was a third of a what-if's time).
The page never runs a job in its own process: each run is a **job**, a process started from
a forkserver that has the simulator imported (``start``: no 2-s import per what-if), in a
session of its own, whose ``compare`` runs one worker process per usable core by default.
(One process per seed, so that 5 seeds on 2 cores would end together at 2.5 run-times
instead of 3 waves of 2, was measured no faster: sharing a core costs each run about 20 %
more CPU time; benchmarks/app.py ``--jobs``.)  A Streamlit
session only starts a job, reads its progress from the study folder (each finished run is a
file in ``.runs/``), and can cancel it (the process group is ended; the finished runs stay,
so running again resumes).  One user's job never waits for another's, except for the same
folder: two jobs on one folder take turns on its lock file, and the second then finds the
result made.

The cache (a folder, ``results/app`` by default)::

    base-<key>/       the baseline on the page's seeds: run once per seed set, then reused
                      by every what-if (compare(..., reuse=[base folder]) runs only the
                      variant); key = hash of (scenario hash, seeds, source digest)
    whatif-<key>/     one what-if: key = hash of (baseline's scenario hash, variant's
                      scenario hash, seeds, source digest), so the same setting is the same
                      folder: going back to a setting reads it, nothing runs
    each folder: study/ (the study, sim.batch.store layout: .runs/, runs.parquet,
                 summary.csv, effects.csv, manifest.json; charts/<point>-s<seed>.pkl, the
                 chart tables of each run) and app/ (spec.json, status.json, monthly.png,
                 daily.png, scenario.toml, done.json last; report/ once a report is asked
                 for: the run folder of the variant's first seed and its report.html)
    timing.json       measured seconds per order (the run-time estimate)

``done.json`` is written last: a folder without it is unfinished (a cancelled or killed job)
and is resumed, never shown as a result.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import multiprocessing as mp
import os
import pickle
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from sim.batch.store import RUNS_DIR, scenario_hash, source_digest, write_atomic
from sim.scenario import Scenario, ScenarioError, from_dict

APP = "app"  # the app's own sub-folder of a cache folder
STUDY = "study"  # the study folder (sim.batch.store layout) inside a cache folder
DONE, STATUS, SPEC, LOCK = "done.json", "status.json", "spec.json", ".lock"
CHARTS = ("monthly", "daily")  # chart files app/<name>.png (the backlog is in both)
CHART_TABLES = "charts"  # study/charts/<point>-s<seed>.pkl: each run's chart tables
REPORT = "report"  # app/report/: the run folder the what-if's report is made of
DEFAULT_JOBS = 0  # worker processes per job: 0 = one per usable core, at most one per seed
# Seconds per order of one run, before any run was measured on this machine: the baseline
# year, 3.42 s for 84.6 k orders (40 us/order, benchmarks/year.py, quiet 2-core machine),
# x 1.2 assumed for the indicators and chart tables.  Replaced by the median measured in
# this cache (timing.json) once a job has run.
DEFAULT_SECONDS_PER_ORDER = 40e-6 * 1.2
START_SECONDS = 2.0  # assumed: job start, pool start, tables and charts of a small scenario
CITY_SECONDS = 60.0  # an estimate above this asks the user to confirm before starting


def default_workers(seeds: int) -> int:
    """Worker processes of a job by default: the usable cores, at most one per seed."""
    from sim.batch.executors import default_jobs

    return max(1, min(default_jobs(), seeds))


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
    baseline only), the seeds, the worker processes (``of``: 0 gives ``default_workers``), the
    cache folder, and the two cache
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
        jobs = int(jobs) if jobs else default_workers(len(seeds))
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
            after = partial(save_chart_tables, str(folder / STUDY / CHART_TABLES))
            common = dict(seeds=spec.seeds, executor="processes", jobs=spec.jobs, out=folder / STUDY,
                          progress=False, after=after)
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
            draw_charts(folder, point, reuse)
            _record_timing(Path(spec.cache), study.runs, scn)
            _write_json(folder / APP / DONE, {"seconds": time.perf_counter() - started,
                                              "computed": study.computed, "reused": study.reused})
            _set_status(folder, "done")
        except BaseException as e:
            _set_status(folder, "failed", f"{type(e).__name__}: {e}".splitlines()[0])
            raise


def chart_tables(res: Any) -> dict[str, Any]:
    """What the two charts need from one run (a Result; small tables): its seed, scenario
    name and version, ``data.event_month_table``, ``replications.daily_table_7d``, and the
    holiday and surge spans."""
    from sim.plots import data
    from sim.plots.replications import daily_table_7d

    return {"seed": res.seed, "name": res.scenario.name,
            "version": str((res.meta.get("versions") or {}).get("hotline-sim", "?")),
            "monthly": data.event_month_table(res), "daily": daily_table_7d(res),
            "holidays": data.holiday_spans(res), "surges": data.surge_spans(res)}


def save_chart_tables(folder: str, res: Any, point: str, seed: int) -> None:
    """Save ``chart_tables(res)`` as ``folder/<point>-s<seed>.pkl`` (atomically): a study's
    ``after`` (sim.batch.study.run_study), called in the worker on each run's Result.  A
    pickle: the cache is this code's own (its folder names carry the source digest)."""
    path = Path(folder) / f"{point}-s{seed}.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, pickle.dumps(chart_tables(res), protocol=pickle.HIGHEST_PROTOCOL))


def saved_chart_tables(folder: Path, point: str, seeds: list[int],
                       fallback: Path | None = None) -> list[dict[str, Any]]:
    """The chart tables of ``point`` on ``seeds`` saved in ``folder`` (seed order); when a
    what-if's runs were all reused (its scenario is the baseline's), the baseline's from
    ``fallback``.  [] when some are missing."""
    for where, who in ((folder, point), (fallback, "base")):
        if where is None:
            continue
        paths = [where / STUDY / CHART_TABLES / f"{who}-s{s}.pkl" for s in seeds]
        if all(p.is_file() for p in paths):
            return [pickle.loads(p.read_bytes()) for p in paths]
    return []


def draw_charts(folder: Path, point: str, fallback: Path | None = None) -> None:
    """The monthly chart and the daily arrivals-and-backlog chart of ``point`` over its seeds
    (mean with 95 % band; sim.plots.replications), as app/monthly.png and app/daily.png;
    labels in Chinese and English, from the runs' saved chart tables; drawn in two forked
    processes."""
    from sim.plots.folder import write_charts
    from sim.plots.replications import daily_figure_of, monthly_figure_of
    from sim.plots.style import Source

    seeds = json.loads((folder / APP / SPEC).read_text(encoding="utf-8"))["seeds"]
    parts = saved_chart_tables(folder, point, seeds, fallback)
    if not parts:
        return
    first = parts[0]
    source = Source(first["name"], ",".join(str(x["seed"]) for x in parts), first["version"])
    what = {"base": "基准 baseline", "variant": "方案 what-if"}.get(point, point)
    makers = [
        ("monthly", lambda: monthly_figure_of([x["monthly"] for x in parts], first["holidays"],
                                              source, "both", what)),
        ("daily", lambda: daily_figure_of([x["daily"] for x in parts], first["holidays"],
                                          first["surges"], source, "both", what)),
    ]
    # one forked process per chart (hotline plot's drawing; matplotlib's rendering is most
    # of the time), each PNG written atomically
    write_charts(makers, folder / APP, ("png",), jobs=len(makers))


def scenario_toml(scn: Scenario) -> str:
    """The scenario as TOML (as a run folder's scenario.toml): what the download link gives."""
    import tomli_w

    return tomli_w.dumps(scn.model_dump(mode="json", exclude_none=True))


# -- run-time estimate -------------------------------------------------------------------------
def _record_timing(cache: Path, runs: pd.DataFrame, scn: Scenario) -> None:
    """Add this study's measured CPU seconds per expected order (its successful runs) to the
    cache's timing.json (the last 50 values are kept).  CPU, not wall: with more worker
    processes than cores a run's wall time depends on how many ran beside it."""
    ok = runs[runs["status"] == "ok"]
    orders = scn.expected_orders()
    if ok.empty or orders <= 0:
        return
    path = cache / "timing.json"
    try:
        values = json.loads(path.read_text(encoding="utf-8")).get("cpu_seconds_per_order", [])
    except (OSError, ValueError):
        values = []
    values += [float(s) / orders for s in ok["cpu_seconds"] if math.isfinite(s)]
    _write_json(path, {"cpu_seconds_per_order": values[-50:]})


def seconds_per_order(cache: Path) -> float:
    """The median measured CPU seconds per order of one run in this cache (timing.json), or
    DEFAULT_SECONDS_PER_ORDER before anything was measured."""
    try:
        values = json.loads((Path(cache) / "timing.json").read_text(encoding="utf-8"))
        values = sorted(values["cpu_seconds_per_order"])
    except (OSError, ValueError, KeyError):
        values = []
    if not values:
        return DEFAULT_SECONDS_PER_ORDER
    return values[len(values) // 2]


def estimate_seconds(scn: Scenario, runs: int, workers: int, per_order: float,
                     cores: int | None = None, busy: float = 0.0) -> float:
    """Wall seconds to make ``runs`` runs of ``scn`` on ``workers`` processes and ``cores``
    cores (default: the usable cores, as the workers count them): START_SECONDS plus waves of at most ``workers`` runs,
    each run ``scn.expected_orders() x per_order`` CPU seconds.  The runnable processes share
    the cores: a wave of w runs beside ``busy`` other busy processes (``busy_processes()``)
    takes max(1, (w + busy) / cores) run-times."""
    if runs <= 0:
        return 0.0
    if not cores:
        from sim.batch.executors import default_jobs

        cores = default_jobs()
    one, total, left = scn.expected_orders() * per_order, 0.0, runs
    while left > 0:
        wave = min(max(1, workers), left)
        total += one * max(1.0, (wave + max(0.0, busy)) / cores)
        left -= wave
    return START_SECONDS + total


def busy_processes() -> float:
    """Processes running or ready to run on this machine now, besides the caller (Linux:
    /proc/loadavg's runnable count; 0 elsewhere): what a new job's runs would share the
    cores with."""
    try:
        running = Path("/proc/loadavg").read_text().split()[3].split("/")[0]
        return max(0.0, float(running) - 1.0)
    except (OSError, IndexError, ValueError):
        return 0.0


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
# what the forkserver that starts the jobs imports once: a job then starts in milliseconds
# instead of importing pandas, scipy and the simulator (about 2 s on the 2-core machine)
PRELOAD = ["sim.app.jobs", "sim.batch.study", "sim.model", "sim.plots.replications"]


class JobProcess:
    """A job's process (a ``multiprocessing`` process from the forkserver) with the
    ``subprocess.Popen`` methods the page uses: ``pid``, ``poll()`` (None while it runs, else
    its exit code, negative when a signal ended it) and ``wait()``."""

    def __init__(self, process: mp.process.BaseProcess) -> None:
        self._process = process

    @property
    def pid(self) -> int:
        return int(self._process.pid or 0)

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int | None:
        self._process.join(timeout)
        return self._process.exitcode


@dataclass
class Job:
    """A running job process (its own process group) and the folders it makes."""

    process: JobProcess
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
            os.kill(pgid, signal.SIGTERM)  # the job itself, even before its setsid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        start, killed = time.monotonic(), False
        while True:
            self.process.poll()  # reap the job process itself
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


def _context() -> mp.context.BaseContext:
    """The forkserver context the jobs start from (its server imports PRELOAD once; if this
    process already runs a forkserver with other modules, they are imported at the first job)."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def warm_up() -> None:
    """Start the jobs' forkserver now (the page calls it at start), so that the first
    what-if does not wait for its imports."""
    from multiprocessing import forkserver

    _context()
    forkserver.ensure_running()


def _job_main(spec_path: str, log: str) -> None:
    """A job process: a session of its own (cancel ends it and its workers as one process
    group), its output to the log file, then ``main``."""
    os.setsid()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.exit(main([spec_path]))


def start(spec: Spec) -> Job:
    """Start the job of ``spec`` as a process of its own, forked by the jobs' forkserver (a
    new session, so that cancel can end its worker processes with it).  Returns at once."""
    b, w = spec.folders()
    jobs_dir = Path(spec.cache) / "jobs"
    jobs_dir.mkdir(parents=True, exist_ok=True)
    key = (w or b).name
    spec_path = jobs_dir / f"{key}-{os.getpid()}-{time.time_ns()}.json"
    spec_path.write_text(spec.to_json(), encoding="utf-8")
    log = spec_path.with_suffix(".log")
    log.touch()
    proc = _context().Process(target=_job_main, args=(str(spec_path), str(log)), daemon=False)
    with _bare_main():
        proc.start()
    return Job(JobProcess(proc), spec, b, w, log)


@contextlib.contextmanager
def _bare_main():
    """While a job process is started, a bare ``__main__``: multiprocessing re-runs the
    parent's main script in the child (``init_main_from_path``), and under Streamlit that
    script is the page itself, which must not run in a job."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = type(sys)("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


# -- results (for the page) --------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """A finished what-if as the page shows it: the paired effects (sim.batch.study
    effects_table columns, one row per indicator), the charts (PNG bytes) of the baseline and
    of the variant, the variant's scenario TOML, the folder its report is made in (the run of
    the variant's first seed, made on demand: ``make_report``) and that seed."""

    effects: pd.DataFrame
    charts: dict[str, dict[str, bytes]]
    scenario_toml: str
    report_dir: Path
    report_seed: int
    seconds: float

    @property
    def report(self) -> Path | None:
        """The report's HTML file once made (``make_report``), else None."""
        html = self.report_dir / "report.html"
        return html if html.is_file() else None


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
    seeds = json.loads((whatif / APP / SPEC).read_text(encoding="utf-8"))["seeds"]
    result = Outcome(effects, charts, (whatif / APP / "scenario.toml").read_text(encoding="utf-8"),
                     whatif / APP / REPORT, int(min(seeds)), float(done.get("seconds", math.nan)))
    _outcomes[key] = result
    return result


def effects_ready(whatif: Path) -> pd.DataFrame | None:
    """The what-if's paired effects as soon as its study has finished (while its charts are
    being drawn), or None before: the page shows the indicator table first."""
    study = whatif / STUDY
    if not (study / "manifest.json").is_file():
        return None
    return pd.read_csv(study / "effects.csv", encoding="utf-8-sig")


def make_report(out: Outcome, timeout: float = 900) -> Path:
    """The HTML report (``hotline report``) of the variant's run on its first seed: the run
    is made again (``hotline run``: the same scenario and seed give the same run as the
    study's) into ``out.report_dir``, in processes of their own (the page's process stays
    free).  Returns report.html's path; raises RuntimeError with the command's message when
    either command fails."""
    if out.report is not None:
        return out.report
    folder = out.report_dir
    scenario = folder.parent / "scenario.toml"
    steps = ([] if (folder / "manifest.json").is_file() else
             [["run", str(scenario), "--seed", str(out.report_seed), "--out", str(folder)]])
    for args in steps + [["report", str(folder)]]:
        proc = subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True,
                              text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError((proc.stderr.strip().splitlines() or [f"hotline {args[0]} failed"])[-1])
    return folder / "report.html"


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
