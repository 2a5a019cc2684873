"""Time the what-if page's answers (issue 17): a district what-if with 5 seeds when the
baseline is cached (target <= 10 s on 2 cores), and a cached what-if (target <= 1 s).

What is timed is what the page does, without the browser:

* **what-if, baseline cached**: the page's check of the levers (schema), then the job it
  starts (``sim.app.jobs.start``: a process forked by the jobs' forkserver, running
  ``compare`` of the variant against the cached baseline on one worker process per core, each
  worker making its run's chart tables, then the monthly and daily charts),
  polled as the page polls it, until its results are complete.  Also the time until the
  indicator table could be shown (the study's manifest written, before the charts).
  Each repeat is a new setting (the supervision team 0, 1, 2, 3, 5, ... inspectors), so
  nothing of it is cached.
* **cached what-if**: going back to a setting already run: the check, the cache folders'
  names (scenario hashes) and reading the results (tables and chart PNGs) from the cache
  folder, as a page freshly started would (the page's memory cache, used after that, is
  faster still).

Prints medians (min-max).  The baseline is made once first (timed, printed, not a target).

    .venv/bin/python benchmarks/app.py [scenarios/yuelu_2021.toml] [--seeds 5] [--repeats 5] [--jobs 0]

Also printed: the CPU seconds of one variant run (median; the study's ``cpu_seconds``), which
does not depend on the machine's load, and the machine's usable cores.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

import sim
from sim.app import controls, jobs
from sim.batch.executors import default_jobs


def _wait(job: jobs.Job, manifest: Path) -> tuple[float, float]:
    """Poll as the page does (every 0.5 s would add up to 0.5 s; 0.05 s here): seconds until
    the study's tables exist, and until the job has finished."""
    t0 = time.perf_counter()
    table = None
    while job.running():
        if table is None and manifest.is_file():
            table = time.perf_counter() - t0
        time.sleep(0.05)
    end = time.perf_counter() - t0
    if job.error():
        raise SystemExit(f"the job failed: {job.error()}")
    return (table if table is not None else end), end


def revisit(scn, levers: controls.Levers, seeds: list[int], cache: Path) -> float:
    """Seconds to answer a setting already in the cache, from the folder."""
    jobs._outcomes.clear()  # as a freshly started page: read from the cache folder
    t0 = time.perf_counter()
    checked = controls.check(scn, levers)
    b, w = jobs.Spec.of(scn, checked.overrides, seeds, cache).folders()
    assert jobs.is_done(b) and jobs.is_done(w)
    jobs.outcome(b, w)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", nargs="?", default="scenarios/yuelu_2021.toml")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=0, help="worker processes (0: one per usable core, the page's default)")
    ap.add_argument("--cache", help="cache folder (default: a temporary one, removed after)")
    args = ap.parse_args()
    cache = Path(args.cache) if args.cache else Path(tempfile.mkdtemp(prefix="app-bench-"))
    scn = sim.load_scenario(args.scenario)
    seeds = list(range(1, args.seeds + 1))
    try:
        base = jobs.Spec.of(scn, {}, seeds, cache, args.jobs)
        t0 = time.perf_counter()
        jobs.start(base).process.wait()
        print(f"baseline ({args.seeds} seeds, {base.jobs} workers, made once, forkserver started): "
              f"{time.perf_counter() - t0:.1f} s")
        team = [n for n in range(0, 40) if n != scn.mechanisms.one_team.inspectors]
        whatif, table, cached, cpu = [], [], [], []
        for r in range(args.repeats):
            lv = controls.baseline(scn).with_(inspectors=team[r])
            t0 = time.perf_counter()
            checked = controls.check(scn, lv)
            spec = jobs.Spec.of(scn, checked.overrides, seeds, cache, args.jobs)
            job = jobs.start(spec)
            before = time.perf_counter() - t0
            assert job.whatif is not None
            to_table, to_done = _wait(job, job.whatif / jobs.STUDY / "manifest.json")
            table.append(before + to_table)
            whatif.append(before + to_done)
            cached.append(revisit(scn, lv, seeds, cache))
            runs = pd.read_parquet(job.whatif / jobs.STUDY / "runs.parquet")
            cpu += list(runs.loc[runs["point"] == "variant", "cpu_seconds"])
        med = statistics.median

        def line(what: str, xs: list[float], target: str) -> str:
            return (f"{what}: {med(xs):.2f} s ({min(xs):.2f}-{max(xs):.2f}), "
                    f"median of {len(xs)}; target {target}")

        cores = default_jobs()
        print(f"{args.scenario}, {args.seeds} seeds, {base.jobs} worker processes, {cores} cores, "
              f"{args.repeats} repeats")
        print(line("what-if, baseline cached, to the indicator table", table, "-"))
        print(line("what-if, baseline cached, with the charts", whatif, "<= 10 s"))
        print(line("cached what-if (from the cache folder)", cached, "<= 1 s"))
        print(f"CPU seconds of one variant run (simulate, indicators, chart tables): "
              f"{med(cpu):.2f} s ({min(cpu):.2f}-{max(cpu):.2f}), median of {len(cpu)}")
    finally:
        if not args.cache:
            shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
