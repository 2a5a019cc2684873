"""Benchmark: the batch layer (issue 10): throughput, scaling, overhead, memory, Dask.

    python benchmarks/batch.py [--repeats 5] [--runs 40] [--short 1000] [--quick]

Every measurement runs in a fresh Python process; figures are medians over ``--repeats``
interleaved repeats (jobs 1, jobs 2 and Dask take turns, so the machine's load drifts evenly
over them; the speed-up is the median of each repeat's own ratio).  Prints:

* runs/s for ``--runs`` district-year runs (scenarios/yuelu_2021.toml, seeds 1..runs) with the
  processes executor at ``--jobs 1`` and ``--jobs 2``, and the speed-up (target >= 1.8x);
* local Dask throughput (2 single-threaded worker processes, cluster already started)
  against processes at 2 jobs (target >= 0.9x), and the cluster's start-up time apart;
* the batch layer's overhead per run: with the serial executor, the study's whole CPU time
  minus the CPU time of the runs themselves (simulate + indicators, timed inside each run),
  over the latter (target <= 5 %), for district-year runs and for short runs;
* driver and worker peak RSS after 100 and after ``--short`` short runs (the small district of
  tests/scenarios/small.toml, processes at 2 jobs, run store on disk); flat within 20 %.

``--quick``: 8 runs, 2 repeats, 200 short runs: a smoke test of the script (a few minutes).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "yuelu_2021.toml"
SMALL = ROOT / "tests" / "scenarios" / "small.toml"


# -- children (each in a fresh process) ----------------------------------------------------------
def child_throughput(executor: str, jobs: int, runs: int) -> dict:
    import sim
    from sim.batch import design as dsg
    from sim.batch.study import run_study

    scn = sim.load_scenario(BASELINE)
    d = dsg.variants_design({}, {})
    if executor == "dask":
        from sim.batch.executors.dask_cluster import local_cluster

        t = time.perf_counter()
        cluster = local_cluster(jobs)  # the executor's own local cluster, timed apart
        startup = time.perf_counter() - t
        try:
            t = time.perf_counter()
            res = run_study(scn, d, list(range(1, runs + 1)), executor="dask",
                            scheduler=cluster.scheduler_address, progress=False)
            wall = time.perf_counter() - t
        finally:
            cluster.close()
        return {"wall": wall, "runs_per_s": runs / wall, "startup": startup, "failed": res.failed}
    t = time.perf_counter()
    res = run_study(scn, d, list(range(1, runs + 1)), executor=executor, jobs=jobs, progress=False)
    wall = time.perf_counter() - t
    return {"wall": wall, "runs_per_s": runs / wall, "failed": res.failed}


def child_overhead(scenario: str, runs: int) -> dict:
    """Serial executor, in this process: total CPU of the study vs the runs' own CPU."""
    import sim
    from sim.batch import design as dsg
    from sim.batch.study import run_study

    scn = sim.load_scenario(scenario)
    sim.simulate(scn, seed=999).kpis()  # warm-up: imports, caches
    with tempfile.TemporaryDirectory() as tmp:
        cpu = time.process_time()
        res = run_study(scn, dsg.variants_design({}, {}), list(range(1, runs + 1)),
                        executor="serial", out=Path(tmp) / "study", progress=False)
        total = time.process_time() - cpu
    inside = float(res.runs["cpu_seconds"].sum())
    return {"total_cpu": total, "runs_cpu": inside, "overhead": (total - inside) / inside}


def child_memory(runs: int) -> dict:
    import sim
    from sim.batch import design as dsg
    from sim.batch.study import run_study

    scn = sim.load_scenario(SMALL)
    with tempfile.TemporaryDirectory() as tmp:
        res = run_study(scn, dsg.variants_design({}, {}), list(range(1, runs + 1)),
                        executor="processes", jobs=2, out=Path(tmp) / "study", progress=False)
    # ru_maxrss is in KiB on Linux; CHILDREN is the largest reaped worker (the pool is shut down)
    return {
        "driver_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "failed": res.failed,
    }


CHILDREN = {"throughput": child_throughput, "overhead": child_overhead, "memory": child_memory}


def spawn(kind: str, *args) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, *map(str, args)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _parse_child_args(kind: str, args: list[str]) -> list:
    if kind == "throughput":
        return [args[0], int(args[1]), int(args[2])]
    if kind == "overhead":
        return [args[0], int(args[1])]
    return [int(args[0])]


# -- driver ------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--short", type=int, default=1000)
    ap.add_argument("--memory-repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--child", nargs="+")
    a = ap.parse_args()
    if a.child:
        kind, rest = a.child[0], a.child[1:]
        print(json.dumps(CHILDREN[kind](*_parse_child_args(kind, rest))))
        return
    if a.quick:
        a.repeats, a.runs, a.short, a.memory_repeats = 2, 8, 200, 1
    med = statistics.median
    print(f"# batch benchmark: {a.runs} district-year runs x {a.repeats} interleaved repeats")
    one, two, dask, ratios, dask_ratios, startups = [], [], [], [], [], []
    for r in range(a.repeats):
        t1 = spawn("throughput", "processes", 1, a.runs)
        t2 = spawn("throughput", "processes", 2, a.runs)
        td = spawn("throughput", "dask", 2, a.runs)
        assert not (t1["failed"] or t2["failed"] or td["failed"]), "runs failed"
        one.append(t1["runs_per_s"])
        two.append(t2["runs_per_s"])
        dask.append(td["runs_per_s"])
        startups.append(td["startup"])
        ratios.append(t2["runs_per_s"] / t1["runs_per_s"])
        dask_ratios.append(td["runs_per_s"] / t2["runs_per_s"])
        print(f"  repeat {r + 1}: jobs1 {t1['runs_per_s']:.3f} runs/s, jobs2 {t2['runs_per_s']:.3f}, "
              f"dask2 {td['runs_per_s']:.3f}", flush=True)
    print(f"processes --jobs 1: {med(one):.3f} runs/s ({1 / med(one):.2f} s/run)")
    print(f"processes --jobs 2: {med(two):.3f} runs/s ({1 / med(two):.2f} s/run)")
    print(f"speed-up jobs 2 / jobs 1: {med(ratios):.2f}x (median of paired ratios; target >= 1.8x)")
    print(f"dask local 2 workers: {med(dask):.3f} runs/s; dask / processes: {med(dask_ratios):.2f}x "
          f"(target >= 0.9x); cluster start-up {med(startups):.1f} s, not counted")

    for label, scenario, n in (("district-year", BASELINE, min(a.runs, 10)), ("short", SMALL, 100)):
        ov = [spawn("overhead", scenario, n)["overhead"] for _ in range(a.repeats)]
        print(f"batch overhead per run ({label}, serial, {n} runs): {med(ov):.2%} of the runs' own "
              f"CPU (target <= 5 %)")

    peaks = {}
    for n in (100, a.short):
        m = [spawn("memory", n) for _ in range(a.memory_repeats)]
        peaks[n] = (med([x["driver_mb"] for x in m]), med([x["worker_mb"] for x in m]))
        print(f"peak RSS after {n} short runs (2 workers): driver {peaks[n][0]:.0f} MB, "
              f"worker {peaks[n][1]:.0f} MB (median of {a.memory_repeats})", flush=True)
    (d0, w0), (d1, w1) = peaks[100], peaks[a.short]
    print(f"memory growth {a.short} vs 100 runs: driver {d1 / d0 - 1:+.1%}, worker {w1 / w0 - 1:+.1%} "
          f"(target within 20 %)")


if __name__ == "__main__":
    main()
