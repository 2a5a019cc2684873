"""Run charts over replications: the mean of several runs of one design point, with a 95 % band.

Replications are the run folders a study keeps with ``--keep-logs`` (``hotline sweep`` or
``hotline compare``): ``OUT/logs/<point>-s<seed>/``, one per design point and seed, each a whole
run folder (as ``hotline run --out`` writes).  For each design point with at least two of them,
the monthly, cohort and daily charts are drawn from the mean over the seeds, each value with
the 95 % confidence interval of that mean (Student's t over the seeds, as the sweep charts'
bands): the same charts as for one run, with a band and the number of seeds in the subtitle.

Each run's chart table is made first (months or days × a few series); the band is computed on
those small tables, never on raw rows of the logs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

# (the chart modules' figure functions by name: sim.plots.monthly etc. are the package's
# chart functions for one run)
from sim.plots import data
from sim.plots.band import Band, mean_band
from sim.plots.cohorts import COHORT_INDICATORS, target_bounds
from sim.plots.cohorts import figure as cohorts_chart
from sim.plots.daily import figure as daily_chart
from sim.plots.monthly import figure as monthly_chart
from sim.plots.style import Source, tr
from sim.result import Result

LOGS = "logs"  # the study folder's sub-folder of kept runs (sim.batch.study)
RUN_NAME = re.compile(r"^(?P<point>.+)-s(?P<seed>\d+)$")  # <point>-s<seed>
MIN_REPLICATIONS = 2  # a band needs at least two seeds


def replication_sets(folder: str | Path) -> dict[str, list[Path]]:
    """Design point -> its kept run folders (``FOLDER/logs/<point>-s<seed>/``, in seed order),
    for the points with at least two; empty when the study kept no logs."""
    logs = Path(folder) / LOGS
    if not logs.is_dir():
        return {}
    sets: dict[str, list[tuple[int, Path]]] = {}
    for run in logs.iterdir():
        m = RUN_NAME.match(run.name)
        if m and (run / "manifest.json").is_file() and (run / "events.parquet").is_file():
            sets.setdefault(m["point"], []).append((int(m["seed"]), run))
    return {point: [p for _, p in sorted(runs)] for point, runs in sorted(sets.items())
            if len(runs) >= MIN_REPLICATIONS}


def band_note(lang: str, band: Band, what: str | None = None) -> str:
    """The subtitle of a replication chart: what is drawn (mean over N seeds, 95 % band)."""
    zh = f"{band.n} 次重复运行（共同种子）的均值，阴影（及误差线）为均值的95%置信区间"
    en = f"mean of {band.n} replications (seeds); shading (and error bars): 95 % CI of the mean"
    if what:
        return tr(lang, f"{what}：{zh}", f"{what}: {en}", sep="\n")
    return tr(lang, zh, en, sep="\n")


def monthly_figure(results: list[Result], source: Source, lang: str = "both",
                   what: str | None = None) -> Figure:
    """Chart 1 over replications: mean orders received and closed by month (bars with 95 %
    error bars) and the mean open backlog at month end (line with its 95 % band)."""
    return monthly_figure_of([data.event_month_table(r) for r in results],
                             data.holiday_spans(results[0]), source, lang, what)


def monthly_figure_of(tables: list[pd.DataFrame], holidays: list, source: Source,
                      lang: str = "both", what: str | None = None) -> Figure:
    """``monthly_figure`` from the runs' ``data.event_month_table`` tables (one per seed),
    made elsewhere (e.g. in worker processes), and the first run's ``data.holiday_spans``."""
    band = mean_band(tables, floor=0.0)
    return monthly_chart(band.mean, holidays, source, lang, band=band,
                          note=band_note(lang, band, what))


def cohorts_figure(results: list[Result], source: Source, lang: str = "both", targets=None,
                   what: str | None = None) -> Figure:
    """Chart 3 over replications: mean cohort rates with their 95 % bands; the annual
    reference line is the mean of the runs' annual values."""
    band = mean_band([data.cohort_table(r)[list(COHORT_INDICATORS)] for r in results], floor=0.0, ceiling=1.0)
    annual = pd.concat([r.kpis() for r in results]).mean(numeric_only=True)
    return cohorts_chart(band.mean, annual, target_bounds(targets), source, lang, band=band,
                          note=band_note(lang, band, what))


def daily_table_7d(res: Result) -> pd.DataFrame:
    """``data.daily_table`` with the 7-day centred mean of arrivals (arrivals_7d), per run, so
    the band of the smoothed line is the band of the runs' smoothed lines."""
    table = data.daily_table(res)
    return table.assign(arrivals_7d=table["arrivals"].rolling(7, center=True, min_periods=1).mean())


def daily_figure(results: list[Result], source: Source, lang: str = "both",
                 what: str | None = None) -> Figure:
    """Chart 6 over replications: mean daily arrivals (and their 7-day mean, with its band)
    and the mean open backlog at each day's end with its 95 % band."""
    return daily_figure_of([daily_table_7d(r) for r in results], data.holiday_spans(results[0]),
                           data.surge_spans(results[0]), source, lang, what)


def daily_figure_of(tables: list[pd.DataFrame], holidays: list, surges: list, source: Source,
                    lang: str = "both", what: str | None = None) -> Figure:
    """``daily_figure`` from the runs' ``daily_table_7d`` tables (one per seed), made
    elsewhere, and the first run's ``data.holiday_spans`` and ``data.surge_spans``."""
    band = mean_band(tables, floor=0.0)
    return daily_chart(band.mean, holidays, surges, source, lang, band=band,
                       note=band_note(lang, band, what))


def figures(folder: str | Path, lang: str, runs: pd.DataFrame | None = None,
            targets=None) -> Iterator[tuple[str, Figure]]:
    """(name, figure) for each design point with kept replications: ``monthly-<point>``,
    ``cohorts-<point>``, ``daily-<point>``.  ``runs`` (runs.parquet) names each point's
    parameter values in the subtitle."""
    for point, folders in replication_sets(folder).items():
        results = [Result.load(f) for f in folders]
        seeds = ",".join(str(r.seed) for r in results)
        first = results[0]
        source = Source(first.scenario.name, seeds, str((first.meta.get("versions") or {}).get(
            "hotline-sim", "?")))
        what = f"{point}{point_values(runs, point)}"
        yield f"monthly-{point}", monthly_figure(results, source, lang, what)
        yield f"cohorts-{point}", cohorts_figure(results, source, lang, targets, what)
        yield f"daily-{point}", daily_figure(results, source, lang, what)


def point_values(runs: pd.DataFrame | None, point: str) -> str:
    """' (path=value, ...)' for a sweep's design point, '' when unknown or a variant."""
    if runs is None or "point" not in runs:
        return ""
    rows = runs[runs["point"] == point]
    params = [c for c in rows.columns if "." in c]
    if rows.empty or not params:
        return ""
    first = rows.iloc[0]
    return " (" + ", ".join(f"{c.rsplit('.', 1)[-1]}={first[c]}" for c in params) + ")"
