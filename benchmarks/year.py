"""Benchmark: the cost of one simulated year, against SimPy's floor, at scale and for the city.

    python benchmarks/year.py [--repeats 5] [--quick]

Every measurement runs in a fresh Python process (so peak memory is that run's own) and the
figures are medians over ``--repeats`` runs after one warm-up.  These machines are noisy, so
runs that are compared are interleaved: model and bare-queue runs alternate (the ratio is the
median of the pairs' ratios), and the scaling rows are measured round-robin.  Prints:

* the startup: ``import sim`` and loading the scenario;
* the full baseline year (all lifecycle events, calendar, the six mechanisms, event log):
  wall time, orders/s, peak RSS; the bare SimPy M/M/c queue of the same volume; and the ratio,
  on a line starting ``ratio``;
* time per order and peak RSS at 0.25x .. 4x the baseline volume (capacities and thresholds
  scaled alike), and the growth of time per order from the smallest to the largest;
* the Changsha city year (``scenarios/changsha_2021.toml``): the model's run time, and the
  peak RSS of the whole ``hotline run`` command, with and without ``--stream``.

``--quick`` measures the startup, the baseline and the bare queue only (under a minute);
the whole benchmark takes about 15 minutes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "yuelu_2021.toml"
CITY = ROOT / "scenarios" / "changsha_2021.toml"
SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)


def bare_queue(n: int, horizon: float = 8760.0, servers: int = 12, rho: float = 0.85) -> dict:
    """The engine's floor: one generator starting one process per customer, which requests a
    simpy.Resource, times out for an exponential service and releases it."""
    import random
    import time

    import simpy

    lam = n / horizon
    mu = lam / (servers * rho)
    env = simpy.Environment()
    res = simpy.Resource(env, servers)
    rnd = random.Random(1)
    arrivals, starts, ends = [], [], []

    def customer(env):
        arrivals.append(env.now)
        with res.request() as req:
            yield req
            starts.append(env.now)
            yield env.timeout(rnd.expovariate(mu))
        ends.append(env.now)

    def source(env):
        for _ in range(n):
            yield env.timeout(rnd.expovariate(lam))
            env.process(customer(env))

    env.process(source(env))
    t = time.perf_counter()
    env.run()
    return {"wall": time.perf_counter() - t, "orders": n}


def scaled_overrides(scn, scale: float) -> dict:
    """The same district at ``scale`` times the volume: every capacity and count threshold
    scales with it (handlers, inspectors, the meeting's pool, the plan threshold), so the
    behaviour per order is the same and only the engine's cost per order is compared."""
    m = scn.mechanisms
    overrides = {
        "demand.annual_orders": scn.demand.annual_orders * scale,
        "mechanisms.one_team.inspectors": max(1, round(m.one_team.inspectors * scale)),
        "mechanisms.one_model.pool_handlers": max(1, round(m.one_model.pool_handlers * scale)),
        "mechanisms.one_plan.hard_cases_per_topic_quarter": max(
            1, round(m.one_plan.hard_cases_per_topic_quarter * scale)
        ),
    }
    for i, u in enumerate(scn.units):
        overrides[f"units.{i}.handlers"] = max(1, round(u.handlers * scale))
    return overrides


def model_year(scenario: str, scale: float, seed: int) -> dict:
    """One year of the model (building it and running it), timed."""
    import time

    import sim
    from sim.model import Model

    scn = sim.load_scenario(scenario)
    if scale != 1.0:
        scn = sim.with_overrides(scn, scaled_overrides(scn, scale))
    t = time.perf_counter()
    model = Model(scn, seed)
    log = model.run()
    wall = time.perf_counter() - t
    return {"wall": wall, "orders": int(len(log.cases["order"])), "events": len(log)}


def whole_run(scenario: str, stream: bool) -> dict:
    """The whole ``hotline run`` command (simulate, build the tables, save the run folder)."""
    import time

    from sim.cli import main as hotline

    with tempfile.TemporaryDirectory() as tmp:
        args = ["run", scenario, "--seed", "1", "--out", str(Path(tmp) / "run")]
        t = time.perf_counter()
        code = hotline([*args, "--stream"] if stream else args)
        wall = time.perf_counter() - t
    if code:
        raise SystemExit(f"hotline run failed with exit code {code}")
    return {"wall": wall}


def startup(scenario: str) -> dict:
    """``import sim`` and loading a scenario, in a fresh process."""
    import time

    t = time.perf_counter()
    import sim

    sim.load_scenario(scenario)
    return {"wall": time.perf_counter() - t}


def _child(kind: str, arg: str, scale: float) -> dict:
    import contextlib
    import io
    import resource

    if kind == "startup":
        out = startup(arg)
    elif kind == "bare":
        out = bare_queue(int(arg))
    elif kind == "model":
        out = model_year(arg, scale, seed=1)
    else:  # "run" / "run-stream": the CLI's own output is not the benchmark's
        with contextlib.redirect_stdout(io.StringIO()):
            out = whole_run(arg, stream=kind == "run-stream")
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return out


def measure(kind: str, arg: str, scale: float = 1.0) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, str(arg), str(scale)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def summary(runs: list[dict]) -> dict:
    """Medians of each figure, and the wall times themselves."""
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]} | {
        "walls": [round(r["wall"], 3) for r in runs]
    }


def paired(scenario: str, repeats: int) -> tuple[dict, dict, list[float]]:
    """Model and bare-queue runs alternated, so each pair shares the machine's state of the
    moment; the ratio is the median of the pairs' ratios."""
    first = measure("model", scenario)  # warm-up, and the volume for the bare queue
    n = str(int(first["orders"]))
    measure("bare", n)
    models, bares = [], []
    for _ in range(repeats):
        models.append(measure("model", scenario))
        bares.append(measure("bare", n))
    ratios = [m["wall"] / b["wall"] for m, b in zip(models, bares, strict=True)]
    return summary(models), summary(bares), ratios


def scaling(scenario: str, repeats: int) -> dict[float, dict]:
    """Time per order at each volume, measured round-robin (one run of every scale per
    round), so that a slow spell of the machine hits all scales alike."""
    measure("model", scenario, SCALES[0])  # warm-up
    runs: dict[float, list[dict]] = {s: [] for s in SCALES}
    for _ in range(repeats):
        for s in SCALES:
            r = measure("model", scenario, s)
            runs[s].append(r | {"us_per_order": r["wall"] / r["orders"] * 1e6})
    return {s: summary(r) for s, r in runs.items()}


def city(repeats: int) -> tuple[dict, dict, dict]:
    """The city year: the model's run time, and the whole command's peak memory with and
    without ``--stream``."""
    measure("model", str(CITY))  # warm-up
    model = summary([measure("model", str(CITY)) for _ in range(repeats)])
    whole = summary([measure("run", str(CITY)) for _ in range(repeats)])
    streamed = summary([measure("run-stream", str(CITY)) for _ in range(repeats)])
    return model, whole, streamed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5, help="runs per figure (median)")
    p.add_argument("--scenario", default=str(BASELINE))
    p.add_argument("--quick", action="store_true", help="startup, baseline and bare queue only")
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        print(json.dumps(_child(a.child[0], a.child[1], float(a.child[2]))))
        return
    measure("startup", a.scenario)  # warm-up (file cache)
    start = summary([measure("startup", a.scenario) for _ in range(a.repeats)])
    print(f"startup         {start['wall']:.3f} s median of {a.repeats} {start['walls']}  "
          "import sim + load the scenario (target <= 0.5 s)", flush=True)
    model, bare, ratios = paired(a.scenario, a.repeats)
    print(f"baseline year   {model['wall']:.3f} s median of {a.repeats} {model['walls']}  "
          f"{model['orders']:,.0f} orders, {model['events']:,.0f} events, "
          f"{model['orders'] / model['wall']:,.0f} orders/s, peak {model['peak_mb']:.0f} MB")
    print(f"bare M/M/c      {bare['wall']:.3f} s median of {a.repeats} {bare['walls']}  "
          f"{bare['orders']:,.0f} customers, peak {bare['peak_mb']:.0f} MB")
    print(f"ratio           {statistics.median(ratios):.2f} (median of {len(ratios)} paired runs "
          f"{[round(r, 2) for r in ratios]}; baseline / bare queue; target <= 2)", flush=True)
    if a.quick:
        return
    rows = scaling(a.scenario, a.repeats)
    print("\nscale  orders     time_s  us_per_order  peak_MB")
    for s, r in rows.items():
        print(f"{s:5.2f}  {r['orders']:9,.0f}  {r['wall']:7.3f}  {r['us_per_order']:12.1f}  "
              f"{r['peak_mb']:7.0f}")
    growth = rows[SCALES[-1]]["us_per_order"] / rows[SCALES[0]]["us_per_order"] - 1.0
    print(f"time per order  {growth:+.0%} from {SCALES[0]}x to {SCALES[-1]}x (target <= +20%)",
          flush=True)
    model, whole, streamed = city(a.repeats)
    print(f"\ncity year       {model['wall']:.1f} s model run, median of {a.repeats} "
          f"{model['walls']}  {model['orders']:,.0f} orders, {model['events']:,.0f} events "
          f"(target <= 60 s)")
    print(f"hotline run     peak {whole['peak_mb'] / 1024:.2f} GB, {whole['wall']:.1f} s "
          f"(target <= 2 GB)")
    print(f"  --stream      peak {streamed['peak_mb'] / 1024:.2f} GB, {streamed['wall']:.1f} s "
          f"(target < 1 GB)")


if __name__ == "__main__":
    main()
