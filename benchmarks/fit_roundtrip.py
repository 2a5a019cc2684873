"""Round trip of `hotline fit` on a whole scenario (issue 15), for stable figures on the
84,000-order baseline; CI runs the same check on tests/scenarios/fit_district.toml.

    python benchmarks/fit_roundtrip.py [SCENARIO] [--seeds 1-3] [--refine 2] [--format orders-xlsx]

Simulates SCENARIO (default scenarios/yuelu_2021.toml) on the first seed, exports its orders
in the orders export format, fits them (``sim.fit.fit``, timed), simulates the fitted scenario
and the original on every seed, and prints the issue's figures with their fixed tolerances:
received within 2 %, closure within 1 pp, on-time reply within 2 pp, median time to reply
(working days from dispatch to the last reply) within 10 %, category shares within 1 pp.
About 10 runs of the scenario: several minutes for the baseline.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import sim
from sim.cli import parse_seeds
from sim.export import export
from sim.fit import fit
from sim.fit.roundtrip import TOLERANCES, round_trip_figures, within


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="scenarios/yuelu_2021.toml")
    ap.add_argument("--seeds", default="1-3")
    ap.add_argument("--refine", type=int, default=2)
    ap.add_argument("--format", default="orders-xlsx", choices=("orders-csv", "orders-xlsx"))
    args = ap.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    scn = sim.load_scenario(args.scenario)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "run"
        sim.simulate(scn, seed=seeds[0]).save(folder)
        path, n = export(folder, args.format, Path(tmp) / ("orders.xlsx" if args.format == "orders-xlsx" else "orders.csv"))
        t0 = time.perf_counter()
        res = fit(path, out=Path(tmp) / "fitted.toml", refine=args.refine, seed=seeds[0])
        fit_s = time.perf_counter() - t0
        fitted = sim.load_scenario(res.scenario_path)
    print(f"# fit round trip of {args.scenario}: {n:,} orders exported ({args.format}), fitted in "
          f"{fit_s:.1f} s with {args.refine} refinement round(s); seeds {args.seeds}")
    a, b = round_trip_figures(scn, seeds), round_trip_figures(fitted, seeds)
    failed = 0
    print(f"{'figure':12s} {'original':>10s} {'fitted':>10s} {'difference':>11s} {'tolerance':>10s}")
    for key, (kind, tol) in TOLERANCES.items():
        diff, ok = within(key, a[key], b[key])
        failed += not ok
        unit = "%" if kind == "relative" else "pp"
        print(f"{key:12s} {a[key]:10.4f} {b[key]:10.4f} {diff * 100:+10.2f}{unit:2s} {tol * 100:8.1f}{unit:2s} "
              f"{'PASS' if ok else 'FAIL'}")
    print(f"{len(TOLERANCES) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
