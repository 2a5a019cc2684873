"""Benchmark: one simulated baseline year versus a bare SimPy queue of the same volume.

    python benchmarks/year.py [--repeats 5] [--scenario scenarios/yuelu_2021.toml] [--scaling]

Each measurement runs in a fresh Python process (so peak memory is that run's own); the
figures are medians over the repeats after one warm-up, and model and bare-queue runs
alternate so that the ratio is the median of paired ratios.  Prints wall time, orders/s and peak
RSS of the full model (all lifecycle events, calendar, six mechanisms, event log), the bare
M/M/c queue's time, and the ratio on a line starting ``ratio``.  ``--scaling`` adds rows at
0.25x .. 4x the baseline volume (capacities and thresholds scaled alike).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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


def _child(kind: str, arg: str, scale: float) -> dict:
    import resource

    out = bare_queue(int(arg)) if kind == "bare" else model_year(arg, scale, seed=1)
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return out


def measure(kind: str, arg: str, scale: float = 1.0) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, arg, str(scale)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def medians(kind: str, arg: str, repeats: int, scale: float = 1.0) -> dict:
    measure(kind, arg, scale)  # warm-up (imports, file cache)
    runs = [measure(kind, arg, scale) for _ in range(repeats)]
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]} | {
        "walls": [round(r["wall"], 3) for r in runs]
    }


def paired(scenario: str, repeats: int) -> tuple[dict, dict, list[float]]:
    """Model and bare-queue runs alternated, so each pair shares the machine's state of the
    moment (these machines are noisy); the ratio is the median of the pairs' ratios."""
    first = measure("model", scenario)  # warm-up, and the volume for the bare queue
    n = str(int(first["orders"]))
    measure("bare", n)
    models, bares = [], []
    for _ in range(repeats):
        models.append(measure("model", scenario))
        bares.append(measure("bare", n))
    ratios = [m["wall"] / b["wall"] for m, b in zip(models, bares, strict=True)]

    def summary(runs: list[dict]) -> dict:
        return {k: statistics.median(r[k] for r in runs) for k in runs[0]} | {
            "walls": [round(r["wall"], 3) for r in runs]
        }

    return summary(models), summary(bares), ratios


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--scenario", default=str(ROOT / "scenarios" / "yuelu_2021.toml"))
    p.add_argument("--scaling", action="store_true", help="also time 0.25x..4x volumes")
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        print(json.dumps(_child(a.child[0], a.child[1], float(a.child[2]))))
        return
    model, bare, ratios = paired(a.scenario, a.repeats)
    print(f"baseline year   {model['wall']:.3f} s median of {a.repeats} {model['walls']}  "
          f"{model['orders']:,.0f} orders, {model['events']:,.0f} events, "
          f"{model['orders'] / model['wall']:,.0f} orders/s, peak {model['peak_mb']:.0f} MB")
    print(f"bare M/M/c      {bare['wall']:.3f} s median of {a.repeats} {bare['walls']}  "
          f"{bare['orders']:,.0f} customers, peak {bare['peak_mb']:.0f} MB")
    print(f"ratio           {statistics.median(ratios):.2f} (median of {len(ratios)} paired runs "
          f"{[round(r, 2) for r in ratios]}; baseline / bare queue)")
    if a.scaling:
        print("\nscale  orders     time_s  us_per_order  peak_MB")
        for scale in (0.25, 0.5, 1.0, 2.0, 4.0):
            m = medians("model", a.scenario, max(1, a.repeats // 2), scale)
            print(f"{scale:5.2f}  {m['orders']:9,.0f}  {m['wall']:7.3f}  "
                  f"{m['wall'] / m['orders'] * 1e6:12.1f}  {m['peak_mb']:7.0f}")


if __name__ == "__main__":
    main()
