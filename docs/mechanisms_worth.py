"""Make the measured-effect tables of docs/mechanisms.md: what each of the six 六个一
mechanisms is worth, in the baseline and under the surge.

    python docs/mechanisms_worth.py [--seeds 1-30] [--jobs 2] [--out results/worth]
    python docs/mechanisms_worth.py --from-studies results/worth   # re-render, no runs

For each of scenarios/yuelu_2021.toml and scenarios/yuelu_2021_surge.toml it runs
``hotline compare SCENARIO --ablate all --seeds SEEDS`` (each mechanism off alone, then all six
off, on the same seeds: common random numbers), stored and resumable under ``--out``, and
writes the ablation tables (sim.batch.ablation: paired differences to the baseline with 95 %
t intervals, * where the interval excludes zero) between the markers of docs/mechanisms.md,
with the command, seeds and wall time.  Every figure comes from the runs' event logs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.batch.ablation import ablation_markdown  # noqa: E402
from sim.batch.study import compare  # noqa: E402

SCENARIOS = {"baseline": "scenarios/yuelu_2021.toml", "surge": "scenarios/yuelu_2021_surge.toml"}
DOC = ROOT / "docs" / "mechanisms.md"
BEGIN, END = "<!-- worth:begin -->", "<!-- worth:end -->"


def parse_seeds(text: str) -> list[int]:
    """``1-30`` or ``1,2,5`` -> a list of seeds."""
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def _seeds_text(seeds: list[int]) -> str:
    """[1, 2, 3] -> ``1-3``; other lists comma-separated."""
    if seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))


def render(effects: dict[str, pd.DataFrame], notes: dict[str, str]) -> str:
    """The Markdown between the markers: per scenario its note and its two tables."""
    parts = []
    for name, e in effects.items():
        parts.append(f"### {name.capitalize()} (`{SCENARIOS[name]}`)\n\n{notes[name]}\n\n"
                     + ablation_markdown(e))
    legend = ("Each cell: the mean paired difference variant − baseline over the seeds "
              "[95 % t interval], `*` where the interval excludes zero; rates in percentage "
              "points, days are working days, handler-hours in hours. Baseline row: the base's "
              "mean. Costs: supervision actions = warnings + reminders + criticisms logged; "
              "handler-months lent = the monthly meeting's loans; plans = joint plans adopted; "
              "ranking pressure = unit-months of extra pace the monthly ranking demanded "
              "(考核加压: Σ (speed factor − 1) × months).")
    return "\n\n".join([legend, *parts])


def write_doc(block: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{DOC}: markers {BEGIN} ... {END} not found")
    DOC.write_text(pattern.sub(lambda _: f"{BEGIN}\n{block}\n{END}", text), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1-30", help="seeds, e.g. 1-30 (default) or 1-5")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--out", default="results/worth", help="study folders (resumable)")
    ap.add_argument("--from-studies", metavar="DIR",
                    help="re-render from finished studies DIR/{baseline,surge}/effects.csv")
    ap.add_argument("--only", choices=list(SCENARIOS), action="append",
                    help="make one scenario's table only (repeatable)")
    args = ap.parse_args(argv)
    names = args.only or list(SCENARIOS)
    effects, notes = {}, {}
    for name in names:
        folder = Path(args.from_studies or args.out) / name
        if args.from_studies:
            effects[name] = pd.read_csv(folder / "effects.csv", encoding="utf-8-sig")
            m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            seeds_text = _seeds_text(m["seeds"])
            notes[name] = (f"`hotline compare {SCENARIOS[name]} --ablate all --seeds {seeds_text} "
                           f"--jobs {m['workers']}`: {m['runs']} runs in {m['wall_seconds']:.0f} s "
                           f"wall (machine shared with other work; re-rendered from "
                           f"`{folder.name}/effects.csv`).")
            continue
        seeds = parse_seeds(args.seeds)
        t0 = time.perf_counter()
        study = compare(ROOT / SCENARIOS[name], ablate="all", seeds=seeds, jobs=args.jobs,
                        out=folder, progress=True)
        wall = time.perf_counter() - t0
        effects[name] = study.effects
        load = os.getloadavg()[0]
        notes[name] = (f"`hotline compare {SCENARIOS[name]} --ablate all --seeds {args.seeds} "
                       f"--jobs {args.jobs}`: {len(study.runs)} runs ({study.computed} run now, "
                       f"{study.reused} reused) in {wall:.0f} s wall on {dt.date.today()} "
                       f"(load average {load:.1f} at the end, machine shared).")
    write_doc(render(effects, notes))
    print(f"wrote {DOC} ({', '.join(names)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
