"""The backtest of the warm start (docs/forecast.md, issue 16's acceptance): simulate a truth,
export its open orders at each snapshot date in the orders export format and read them back
as ``--open FILE`` does, forecast from each export on other seeds, and compare with what the
truth did next; beside it the naive forecast, a cold start ``warmup_days`` before the date.

The snapshot goes through the export format by default (``source="export"``): the forecast
sees what a centre's export at that moment shows (no START time, no hidden hard-case flag,
no pre-drawn fate); ``source="events"`` reads the truth's event log instead
(``sim.forecast.snapshot.from_events``: the stages an export cannot tell apart, such as
waiting for a handler, are known).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sim import kpi, logfile
from sim.activities import Act
from sim.export import orders_export_table
from sim.model import new_model
from sim.result import Result
from sim.scenario import Scenario

from .openfile import read_open_orders
from .run import LEVEL, SeedOutcome, _band, forecast_scenario, indicators, prepare, run_one
from .snapshot import from_events
from .state import MechanismState, state_at

SOURCES = ("export", "events")


def export_at(res: Result, at: float) -> pd.DataFrame:
    """The orders open at hour ``at`` of the run ``res`` as a centre's export taken at that
    moment shows them, in the orders export format: computed from the events before ``at``
    only (the state at ``at``; a time after it is not yet known), one row per order
    dispatched before ``at`` and not closed by then."""
    ev = res.events
    ev = ev[ev["time"].to_numpy() < at]
    arrived = ev.loc[ev["activity"] == int(Act.ARRIVE), "order"].unique()
    cases = res.cases[res.cases["order"].isin(arrived)]
    orders = kpi.orders_table(ev, cases, res.context)
    orders = orders[orders["status"] != "closed"].reset_index()
    return orders_export_table(logfile.named_orders(orders, res.scenario))


def snapshot_table(res: Result, day: dt.date, source: str = "export",
                   folder: Path | None = None) -> pd.DataFrame:
    """The open orders at 00:00 on ``day`` as the warm start reads them: through an export
    file (CSV, UTF-8 with BOM, written to ``folder`` and read back with
    ``sim.forecast.openfile.read_open_orders``) or from the event log (``source="events"``)."""
    at = res.context.cal.to_hours(day)
    if source == "events":
        return from_events(res.events, res.cases, at)
    if source != "export":
        raise ValueError(f"source {source!r}: allowed {', '.join(SOURCES)}")
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        path = Path(tmp) / f"open_orders_{day}.csv"
        export_at(res, at).to_csv(path, index=False, encoding="utf-8-sig")
        table, problems = read_open_orders(path, day, res.scenario)
    if problems:  # an export of the model's own run names only its units and topics
        raise ValueError(f"export of seed {res.seed} at {day}: {problems[0]}")
    return table


class _Done:
    """A result computed in this process, read like a future's."""

    def __init__(self, value: list[SeedOutcome]) -> None:
        self.value = value

    def result(self) -> list[SeedOutcome]:
        return self.value


def _warm_task(scn: Scenario, day: dt.date, days: int, table: pd.DataFrame,
               seeds: Sequence[int], state: MechanismState | None) -> list[SeedOutcome]:
    scn_f = forecast_scenario(scn, day, days)
    prep = prepare(scn_f, table)
    return [run_one(scn_f, table, prep, s, state) for s in seeds]


def _naive_task(scn: Scenario, day: dt.date, days: int, warmup_days: int,
                seeds: Sequence[int]) -> list[SeedOutcome]:
    cold_scn = forecast_scenario(scn, day - dt.timedelta(days=warmup_days), warmup_days + days)
    out = []
    for s in seeds:
        cols = new_model(cold_scn, s).run().columns()
        out.append(indicators(cols, 2**62, 0, days, len(scn.units), origin=warmup_days * 24.0))
    return out


def backtest(scn: Scenario, truth_seeds: Sequence[int], dates: Sequence[dt.date], days: int,
             seeds: Sequence[int], warmup_days: int | None = None, source: str = "export",
             carry_state: bool = True, jobs: int = 1) -> pd.DataFrame:
    """One row per (truth seed, date): the truth's backlog at the window's end, replies and
    missed deadlines in the window (in total and per unit, ``truth_missed_u{i}``), and the
    warm start's (and, with ``warmup_days``, the naive cold start's) mean and 90 % band over
    ``seeds``.  ``scn`` must run past the last date plus ``days``.  ``source``: how the
    snapshot reaches the warm start (module docstring).  ``carry_state``: the warm start
    takes the mechanisms' state at the date from the truth's system events
    (``sim.forecast.state``; False: their fresh state).  ``jobs`` > 1 runs the forecasts in
    that many processes; the rows are the same whatever ``jobs``.

    The naive forecast does not depend on the truth: it is run once per date and compared
    with every truth."""
    if source not in SOURCES:
        raise ValueError(f"source {source!r}: allowed {', '.join(SOURCES)}")
    n_units = len(scn.units)
    pool = ProcessPoolExecutor(jobs) if jobs > 1 else None

    def submit(fn, *args):
        return pool.submit(fn, *args) if pool is not None else _Done(fn(*args))

    try:
        naive = {day: submit(_naive_task, scn, day, days, warmup_days, list(seeds))
                 for day in dates} if warmup_days else {}
        pending = []
        for truth_seed in truth_seeds:
            res = Result.from_log(scn, truth_seed, new_model(scn, truth_seed).run())
            cols = {c: res.events[c].to_numpy() for c in ("order", "activity", "time", "unit", "due", "outcome")}
            for day in dates:
                at = res.context.cal.to_hours(day)
                truth = indicators(cols, 2**62, 0, days, n_units, origin=at)
                table = snapshot_table(res, day, source)
                state = state_at(res.events, at, n_units) if carry_state else None
                pending.append((truth_seed, day, len(table), truth,
                                submit(_warm_task, scn, day, days, table, list(seeds), state)))
            del res, cols
        rows = []
        for truth_seed, day, carried, truth, warm in pending:
            row = {"truth_seed": truth_seed, "date": day, "carried_in": carried,
                   **_row("truth", [truth]), **_row("warm", warm.result())}
            if warmup_days:
                row.update(_row("naive", naive[day].result()))
            rows.append(row)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return pd.DataFrame(rows)


def _row(prefix: str, outs: list[SeedOutcome]) -> dict[str, float]:
    backlog = np.array([o.backlog[-1, 0] for o in outs], dtype=float)
    replies = np.array([o.replies for o in outs], dtype=float)
    missed = np.array([o.missed.sum() for o in outs], dtype=float)
    out = {f"{prefix}_backlog": backlog.mean(), f"{prefix}_replies": replies.mean(),
           f"{prefix}_missed": missed.mean()}
    if len(outs) > 1:
        out[f"{prefix}_backlog_sd"] = backlog.std(ddof=1)
        # the band the forecast writes (run._band: order statistics, distribution-free)
        _, out[f"{prefix}_backlog_lo90"], out[f"{prefix}_backlog_hi90"] = _band(backlog)
        # beside it, the normal-theory 90 % prediction interval of one more draw from K
        # seeds: mean -/+ t(0.95, K-1) sd sqrt(1 + 1/K)
        half = (stats.t.ppf(0.5 + LEVEL / 2, len(outs) - 1) * backlog.std(ddof=1)
                * np.sqrt(1 + 1 / len(outs)))
        out[f"{prefix}_backlog_pi_lo"], out[f"{prefix}_backlog_pi_hi"] = backlog.mean() - half, backlog.mean() + half
        out[f"{prefix}_replies_sd"] = replies.std(ddof=1)
        out[f"{prefix}_missed_sd"] = missed.std(ddof=1)
    for u in range(len(outs[0].missed)):
        out[f"{prefix}_missed_u{u}"] = float(np.mean([o.missed[u] for o in outs]))
    return out


def summarise(df: pd.DataFrame, units: int) -> pd.DataFrame:
    """Pooled figures of a backtest, one row per method (warm, and naive if run): the 90 %
    band's coverage of the truth's backlog at the window's end (the band of the forecast's
    output: the order-statistic prediction interval of ``run.prediction_ranks``; and the
    normal-theory 90 % prediction interval from the seeds' mean and sd, ``_row``), the mean
    absolute error and
    bias (forecast mean - truth) of that backlog, the mean absolute error of the replies in
    the window, of the missed deadlines in total, and of the per-unit missed deadlines (mean
    over units and (truth, date) pairs of |forecast mean - truth|)."""
    rows = []
    per_unit = [f"missed_u{u}" for u in range(units)]
    for method in ("warm", "naive"):
        if f"{method}_backlog" not in df:
            continue
        cover = ((df["truth_backlog"] >= df[f"{method}_backlog_lo90"])
                 & (df["truth_backlog"] <= df[f"{method}_backlog_hi90"])).mean()
        cover_pi = ((df["truth_backlog"] >= df[f"{method}_backlog_pi_lo"])
                    & (df["truth_backlog"] <= df[f"{method}_backlog_pi_hi"])).mean()
        unit_err = np.abs(df[[f"{method}_{c}" for c in per_unit]].to_numpy()
                          - df[[f"truth_{c}" for c in per_unit]].to_numpy())
        rows.append({"method": method, "pairs": len(df), "band_coverage_backlog": cover,
                     "interval_coverage_backlog": cover_pi,
                     "mae_backlog": (df["truth_backlog"] - df[f"{method}_backlog"]).abs().mean(),
                     "bias_backlog": (df[f"{method}_backlog"] - df["truth_backlog"]).mean(),
                     "mae_replies": (df["truth_replies"] - df[f"{method}_replies"]).abs().mean(),
                     "mae_missed": (df["truth_missed"] - df[f"{method}_missed"]).abs().mean(),
                     "bias_missed": (df[f"{method}_missed"] - df["truth_missed"]).mean(),
                     "mae_missed_per_unit": float(unit_err.mean())})
    return pd.DataFrame(rows)


def paired_errors(df: pd.DataFrame, units: int) -> pd.DataFrame:
    """Warm minus naive absolute error per (truth, date) pair, for the backlog at the
    window's end and the per-unit missed deadlines (mean over units): mean and 95 % CI
    (Student t over pairs; the pairs of one date share the naive forecast, so the CI is
    a little narrow)."""
    per_unit = [f"missed_u{u}" for u in range(units)]

    def unit_err(method: str) -> np.ndarray:
        return np.abs(df[[f"{method}_{c}" for c in per_unit]].to_numpy()
                      - df[[f"truth_{c}" for c in per_unit]].to_numpy()).mean(axis=1)

    diffs = {
        "abs_error_backlog": ((df["warm_backlog"] - df["truth_backlog"]).abs()
                              - (df["naive_backlog"] - df["truth_backlog"]).abs()).to_numpy(),
        "abs_error_missed_per_unit": unit_err("warm") - unit_err("naive"),
    }
    rows = []
    for key, d in diffs.items():
        n = len(d)
        half = float(stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
        rows.append({"warm_minus_naive": key, "mean": float(d.mean()), "ci95_low": float(d.mean()) - half,
                     "ci95_high": float(d.mean()) + half, "warm_better_share": float((d < 0).mean())})
    return pd.DataFrame(rows)


def _seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def _dates(text: str) -> list[dt.date]:
    """``2021-02-01,2021-03-01`` or ``2021-02-01..2021-11-15/14`` (every 14 days)."""
    if ".." in text:
        span, _, step = text.partition("/")
        first, _, last = span.partition("..")
        a, b, k = dt.date.fromisoformat(first), dt.date.fromisoformat(last), int(step or 7)
        return [a + dt.timedelta(days=i) for i in range(0, (b - a).days + 1, k)]
    return [dt.date.fromisoformat(d) for d in text.split(",")]


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m sim.forecast.backtest SCENARIO --truths 101-103 --dates 2021-02-01..2021-11-15/14``"""
    import argparse

    import sim

    p = argparse.ArgumentParser(prog="python -m sim.forecast.backtest", description=__doc__)
    p.add_argument("scenario")
    p.add_argument("--truths", default="101-103", help="truth seeds, a range A-B")
    p.add_argument("--dates", required=True,
                   help="snapshot dates: comma-separated YYYY-MM-DD, or FIRST..LAST/STEP_DAYS")
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--seeds", default="1-20", help="forecast seeds, a range A-B")
    p.add_argument("--warmup", type=int, default=60, help="naive cold start: days of warm-up (0: none)")
    p.add_argument("--horizon", type=int, help="run.horizon_days of the truth (default: the scenario's)")
    p.add_argument("--source", choices=SOURCES, default="export",
                   help="how the snapshot reaches the warm start (default: an orders export file)")
    p.add_argument("--fresh-state", action="store_true",
                   help="warm start with the mechanisms' fresh state (default: the truth's at the date)")
    p.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1), help="processes")
    p.add_argument("--out", help="CSV of the rows")
    a = p.parse_args(argv)
    over = {"run.horizon_days": a.horizon} if a.horizon else {}
    scn = sim.load_scenario(a.scenario, overrides=over)
    dates = _dates(a.dates)
    t0 = time.perf_counter()
    df = backtest(scn, _seeds(a.truths), dates, a.days, _seeds(a.seeds), a.warmup or None, a.source,
                  not a.fresh_state, a.jobs)
    wall = time.perf_counter() - t0
    if a.out:
        df.to_csv(a.out, index=False)
    pd.set_option("display.width", 200)
    print(f"# backtest {scn.name}: truths {a.truths}, {len(dates)} dates {dates[0]}..{dates[-1]}, "
          f"{a.days} days, seeds {a.seeds}, snapshot via {a.source}, "
          f"mechanism state {'fresh' if a.fresh_state else 'carried in'}, naive warm-up {a.warmup} days; "
          f"{len(df)} (truth, date) pairs; {wall:.0f} s wall, {a.jobs} jobs")
    print(summarise(df, len(scn.units)).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if a.warmup:
        print("\npaired, per (truth, date) pair: |warm error| - |naive error|")
        print(paired_errors(df, len(scn.units)).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    means = df[["carried_in", "truth_backlog", "warm_backlog", "truth_missed", "warm_missed"]
               + (["naive_backlog", "naive_missed"] if a.warmup else [])].mean()
    print("\nmeans over pairs: " + ", ".join(f"{k} {v:.1f}" for k, v in means.items()))


if __name__ == "__main__":  # pragma: no cover
    main()
