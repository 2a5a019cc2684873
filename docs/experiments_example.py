"""Re-run the worked example of docs/experiments.md and paste its real output there.

    python docs/experiments_example.py [--jobs 2] [--seeds 1-20]

Runs the inspector sweep end to end as a user would (``hotline sweep`` in a fresh folder:
4 team sizes x 3 volumes x 20 seeds = 240 district-year runs; ``--seeds 1-3`` gives 36 runs
for a quicker refresh), times it, and replaces the text
between the ``<!-- example:begin -->`` and ``<!-- example:end -->`` markers of
docs/experiments.md with the command, its printed summary, the wall time and runs/s, and a
few rows of summary.csv, naming the exact command that made them.  At about 5 s of CPU per
run, 240 runs take about 10 minutes on 2 idle cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "experiments.md"
OUT = ROOT / "results" / "sweep-team"
HOTLINE = Path(sys.executable).with_name("hotline")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seeds", default="1-20", help="replication seeds, as hotline sweep --seeds")
    a = ap.parse_args()
    script = "python docs/experiments_example.py " + " ".join(
        f"--{k} {v}" for k, v in (("jobs", a.jobs), ("seeds", a.seeds)))
    args = ["sweep", "scenarios/yuelu_2021.toml",
            "--grid", "mechanisms.one_team.inspectors=0,2,4,8",
            "--grid", "demand.annual_orders=84420,100000,120000",
            "--seeds", a.seeds, "--jobs", str(a.jobs), "--out", "results/sweep-team"]
    shutil.rmtree(OUT, ignore_errors=True)
    load_before = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    t = time.perf_counter()
    proc = subprocess.run([str(HOTLINE), *args], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"the sweep failed ({proc.returncode}):\n{proc.stderr}")
    runs = pd.read_parquet(OUT / "runs.parquet")
    summary = pd.read_csv(OUT / "summary.csv", encoding="utf-8-sig")
    rows = summary[summary["indicator"].isin(["on_time_reply_rate", "satisfaction"])]
    rows = rows[rows["demand.annual_orders"] == 84420].round(5)
    text = "\n".join([
        "```console",
        "$ hotline " + " \\\n    ".join(_pairs(args)),
        proc.stdout.rstrip(),
        "```",
        "",
        f"Wall time {wall:.0f} s for {len(runs)} runs: {len(runs) / wall:.2f} runs/s with "
        f"`--jobs {a.jobs}` (measured {dt.date.today()}, Python {platform.python_version()}, "
        f"on this project's 2-core machine, shared with other work at the time; "
        f"load average before the run {load_before}). Made by `{script}`.",
        "",
        "A few rows of `summary.csv` (the baseline volume):",
        "",
        "```",
        rows.drop(columns=["target", "target_share"]).to_string(index=False),
        "```",
    ])
    doc = DOC.read_text(encoding="utf-8")
    new = re.sub(r"(<!-- example:begin -->\n).*?(\n<!-- example:end -->)",
                 lambda m: m.group(1) + text + m.group(2), doc, flags=re.S)
    DOC.write_text(new, encoding="utf-8")
    print(text)


def _pairs(args: list[str]) -> list[str]:
    """Command-line words grouped as flag + value, for a readable multi-line command."""
    out, i = [" ".join(args[:2])], 2
    while i < len(args):
        out.append(f"{args[i]} {args[i + 1]}")
        i += 2
    return out


if __name__ == "__main__":
    main()
