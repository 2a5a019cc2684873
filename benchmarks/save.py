"""Benchmark: the time to write a run folder (``Result.save``), this code against another
checkout (e.g. the code before the self-describing files of issue 9).

    python benchmarks/save.py --other /path/to/other/checkout [--scenario FILE] [--pairs 3]

Each measurement is a fresh Python process that simulates the scenario once (seed 1) and then
times ``Result.save`` to a new folder ``--saves`` times; it reports the median save.  Processes
of this code and of the other alternate (interleaved pairs, as the README's method asks,
since these machines are noisy), and the figure is the median of the pairs' ratios
(this / other).  Default scenario: the Changsha city year (1.3 M orders, 8.4 M events).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITY = ROOT / "scenarios" / "changsha_2021.toml"

CHILD = r"""
import json, sys, tempfile, time, statistics, shutil
from pathlib import Path
import sim
scn = sim.load_scenario(sys.argv[1])
res = sim.simulate(scn, seed=1)
res.orders  # derived tables are part of both versions' save; built once, outside the timing
times = []
for i in range(int(sys.argv[2])):
    d = Path(tempfile.mkdtemp()) / "run"
    t = time.perf_counter(); res.save(d); times.append(time.perf_counter() - t)
    size = sum(p.stat().st_size for p in d.iterdir())
    shutil.rmtree(d.parent)
print(json.dumps({"save_s": statistics.median(times), "bytes": size}))
"""


def measure(src: Path, scenario: Path, saves: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    out = subprocess.run([sys.executable, "-c", CHILD, str(scenario), str(saves)],
                         capture_output=True, text=True, env=env, check=True, cwd=src)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--other", required=True, type=Path, help="checkout to compare with")
    p.add_argument("--scenario", type=Path, default=CITY)
    p.add_argument("--pairs", type=int, default=3)
    p.add_argument("--saves", type=int, default=3)
    a = p.parse_args()
    ratios, this, other = [], [], []
    for i in range(a.pairs):
        o = measure(a.other, a.scenario.resolve(), a.saves)
        t = measure(ROOT, a.scenario.resolve(), a.saves)
        this.append(t["save_s"])
        other.append(o["save_s"])
        ratios.append(t["save_s"] / o["save_s"])
        print(f"pair {i + 1}: this {t['save_s']:.2f} s ({t['bytes'] / 1e6:.0f} MB), "
              f"other {o['save_s']:.2f} s ({o['bytes'] / 1e6:.0f} MB), ratio {ratios[-1]:.3f}",
              flush=True)
    print(f"save median: this {statistics.median(this):.2f} s, other {statistics.median(other):.2f} s")
    print(f"ratio (median of paired ratios; pairs {min(ratios):.3f}-{max(ratios):.3f}) "
          f"{statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
