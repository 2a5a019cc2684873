"""Recovery benchmark (issue 12's acceptance): put four parameters of the baseline off, calibrate
them back against the baseline's targets, and check the result on fresh seeds.

    .venv/bin/python benchmarks/calibration_recovery.py                 # 200 candidates x 10 seeds
    .venv/bin/python benchmarks/calibration_recovery.py --budget 40 --seeds 1-3 --out results/recovery

The start scenario (``OUT/start.toml``) is ``scenarios/yuelu_2021.toml`` with every comment
kept and the four fields changed: handling times x 1.5 (``handling.scale``), satisfaction base
-1.5, extension approval 0.9 -> 0.5 and the listed misroute (dispatch accuracy) 0.02 -> 0.10.
Prints the wall time, the fitted values against the baseline's, the identifiability table and
the hold-out check; exits 1 when a target fails on the hold-out seeds.  Re-running the same
command resumes the search from ``OUT/calibration/journal.log``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import tomlkit

REPO = Path(__file__).resolve().parent.parent
BASE = REPO / "scenarios" / "yuelu_2021.toml"
TARGETS = REPO / "scenarios" / "yuelu_2021.targets.toml"
OFF = {  # field: (value in the start scenario, search bounds)
    "handling.scale": (1.5, (0.5, 2.0)),
    "callback.satisfaction.base": (4.1, (3.0, 8.0)),  # baseline 5.6 - 1.5
    "handling.extension_approval_probability": (0.5, (0.3, 1.0)),
    "mechanisms.one_list.misroute_probability_listed": (0.10, (0.0, 0.2)),
}


def start_scenario(out: Path) -> Path:
    """The baseline with the OFF values, comments kept."""
    doc = tomlkit.parse(BASE.read_text(encoding="utf-8"))
    for path, (value, _) in OFF.items():
        node = doc
        *parents, key = path.split(".")
        for part in parents:
            node = node[part]
        node[key] = value
    out.mkdir(parents=True, exist_ok=True)
    target = out / "start.toml"
    text = f"# recovery benchmark: {BASE.name} with {', '.join(OFF)} put off\n" + tomlkit.dumps(doc)
    target.write_text(text, encoding="utf-8")
    return target


def main() -> int:
    import sim
    from sim.cli import parse_seeds

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=200)
    ap.add_argument("--seeds", default="1-10")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default="results/recovery")
    args = ap.parse_args()
    out = Path(args.out)
    start = start_scenario(out)
    truth = sim.load_scenario(BASE)
    t0 = time.perf_counter()
    r = sim.calibrate(start, TARGETS, [f"{k}={lo}:{hi}" for k, (_, (lo, hi)) in OFF.items()],
                      parse_seeds(args.seeds), budget=args.budget, out=out / "calibration",
                      jobs=args.jobs)
    wall = time.perf_counter() - t0
    print(f"wall time {wall:.0f} s ({wall / 60:.1f} min) for {r.evaluated} candidates evaluated now, "
          f"{r.computed_runs} runs computed, {r.reused_runs} reused, budget {args.budget}, "
          f"seeds {args.seeds}, {args.jobs} workers")
    dump = truth.model_dump()
    for path, (off, _) in OFF.items():
        node = dump
        for part in path.split("."):
            node = node[part]
        print(f"  {path}: start {off} -> fitted {r.best[path]} (baseline {node})")
    print(r.identifiability[["parameter", "best", "range_low", "range_high", "share_of_bounds",
                             "verdict"]].to_string(index=False))
    print(r.holdout[["seeds", "indicator", "target", "mean", "ci_low", "ci_high", "result"]]
          .to_string(index=False))
    print("hold-out: " + ("every target PASS" if r.passed else "a target FAILS"))
    return 0 if r.passed else 1


if __name__ == "__main__":
    sys.exit(main())
