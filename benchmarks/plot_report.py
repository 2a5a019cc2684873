"""Time ``hotline plot`` + ``hotline report`` on a run folder (target: <= 10 s together on the
district baseline; <= 60 s on the city run).

Each repeat runs both commands as a user would, in fresh processes, from a folder without
charts (so ``plot`` draws everything and ``report`` reuses its PNGs); a second figure times
``report`` alone from a folder without charts (it draws the PNGs itself).  Prints medians.

    .venv/bin/python benchmarks/plot_report.py results/baseline [--repeats 5]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HOTLINE = Path(sys.executable).with_name("hotline")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


CPU: dict[str, list[float]] = {}


def timed(*argv: str, label: str = "") -> float:
    """Wall seconds of one command; its CPU seconds (user + system) are kept under ``label``:
    on a shared machine the CPU time is the steadier figure."""
    c, t = _cpu(), time.perf_counter()
    subprocess.run([str(HOTLINE), *argv], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    CPU.setdefault(label, []).append(_cpu() - c)
    return wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", help="a run folder, e.g. results/baseline")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    folder = Path(args.folder)
    plot, report, together, alone = [], [], [], []
    for _ in range(args.repeats):
        shutil.rmtree(folder / "charts", ignore_errors=True)
        p = timed("plot", str(folder), label="plot")
        r = timed("report", str(folder), label="report after plot")
        plot.append(p)
        report.append(r)
        together.append(p + r)
        shutil.rmtree(folder / "charts", ignore_errors=True)
        alone.append(timed("report", str(folder), label="report alone (draws its PNGs)"))
    med = statistics.median
    print(f"{folder}: {args.repeats} repeats, medians (min-max)")
    CPU["plot + report"] = [a + b for a, b in zip(CPU["plot"], CPU["report after plot"], strict=True)]
    print(f"  {'':32s} {'wall':>14s}  {'(min-max)':>13s}  {'CPU':>8s}")
    for name, xs in (("plot", plot), ("report after plot", report), ("plot + report", together),
                     ("report alone (draws its PNGs)", alone)):
        print(f"  {name:32s} {med(xs):12.2f} s  ({min(xs):5.2f}-{max(xs):5.2f})  {med(CPU[name]):6.2f} s")


if __name__ == "__main__":
    main()
