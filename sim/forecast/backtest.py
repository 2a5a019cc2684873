"""The backtest of the warm start (docs/forecast.md): simulate a truth, snapshot it at dates,
forecast from each snapshot on other seeds, and compare with what the truth did next; beside
it the naive forecast, a cold start ``warmup_days`` before the date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.model.engine import Model
from sim.scenario import Scenario

from .run import BAND, SeedOutcome, forecast_scenario, indicators, prepare, run_one
from .snapshot import from_events


def _cold(scn: Scenario, seed: int) -> tuple[dict[str, np.ndarray], Model]:
    model = Model(scn, seed)
    log = model.run()
    return log.columns(), model


def backtest(scn: Scenario, truth_seeds: Sequence[int], dates: Sequence[dt.date], days: int,
             seeds: Sequence[int], warmup_days: int | None = None) -> pd.DataFrame:
    """One row per (truth seed, date): the truth's backlog at the window's end, replies and
    missed deadlines in the window, and the warm start's (and, with ``warmup_days``, the
    naive cold start's) mean and 90 % band over ``seeds``.  ``scn`` must run past the last
    date plus ``days``."""
    rows = []
    for truth_seed in truth_seeds:
        cols, model = _cold(scn, truth_seed)
        cases = pd.DataFrame(model._case_table())
        events = pd.DataFrame(cols)
        for day in dates:
            at = model.cal.to_hours(day)
            truth = indicators(cols, 2**62, 0, days, len(scn.units), origin=at)
            table = from_events(events, cases, at)
            scn_f = forecast_scenario(scn, day, days)
            prep = prepare(scn_f, table)
            warm = [run_one(scn_f, table, prep, s) for s in seeds]
            row = {"truth_seed": truth_seed, "date": day, "carried_in": len(table),
                   **_row("truth", [truth]), **_row("warm", warm)}
            if warmup_days:
                cold_scn = forecast_scenario(scn, day - dt.timedelta(days=warmup_days), warmup_days + days)
                naive = []
                for s in seeds:
                    c, _ = _cold(cold_scn, s)
                    naive.append(indicators(c, 2**62, 0, days, len(scn.units), origin=warmup_days * 24.0))
                row.update(_row("naive", naive))
            rows.append(row)
    return pd.DataFrame(rows)


def _row(prefix: str, outs: list[SeedOutcome]) -> dict[str, float]:
    backlog = np.array([o.backlog[-1, 0] for o in outs], dtype=float)
    replies = np.array([o.replies for o in outs], dtype=float)
    missed = np.array([o.missed.sum() for o in outs], dtype=float)
    out = {f"{prefix}_backlog": backlog.mean(), f"{prefix}_replies": replies.mean(),
           f"{prefix}_missed": missed.mean()}
    if len(outs) > 1:
        out[f"{prefix}_backlog_sd"] = backlog.std(ddof=1)
        out[f"{prefix}_backlog_p05"], out[f"{prefix}_backlog_p95"] = np.quantile(backlog, BAND)
        out[f"{prefix}_replies_sd"] = replies.std(ddof=1)
        for u in range(len(outs[0].missed)):
            out[f"{prefix}_missed_u{u}"] = float(np.mean([o.missed[u] for o in outs]))
    else:
        for u in range(len(outs[0].missed)):
            out[f"{prefix}_missed_u{u}"] = float(outs[0].missed[u])
    return out


def summarise(df: pd.DataFrame, units: int) -> pd.DataFrame:
    """Pooled figures of a backtest: the 90 % band's coverage of the truth's backlog at the
    window's end, and the mean absolute error of the backlog and of the per-unit missed
    deadlines, for the warm start and (if run) the naive cold start."""
    rows = []
    for method in ("warm", "naive"):
        if f"{method}_backlog" not in df:
            continue
        cover = ((df["truth_backlog"] >= df[f"{method}_backlog_p05"])
                 & (df["truth_backlog"] <= df[f"{method}_backlog_p95"])).mean()
        missed = np.mean([(df[f"truth_missed_u{u}"] - df[f"{method}_missed_u{u}"]).abs().mean()
                          for u in range(units)])
        rows.append({"method": method, "band_coverage_backlog": cover,
                     "mae_backlog": (df["truth_backlog"] - df[f"{method}_backlog"]).abs().mean(),
                     "bias_backlog": (df[f"{method}_backlog"] - df["truth_backlog"]).mean(),
                     "mae_replies": (df["truth_replies"] - df[f"{method}_replies"]).abs().mean(),
                     "mae_missed_per_unit": missed})
    return pd.DataFrame(rows)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m sim.forecast.backtest SCENARIO --truths 101-110 --dates 2021-03-01,...``"""
    import argparse

    import sim

    p = argparse.ArgumentParser(prog="python -m sim.forecast.backtest", description=__doc__)
    p.add_argument("scenario")
    p.add_argument("--truths", default="101-110", help="truth seeds, a range A-B")
    p.add_argument("--dates", required=True, help="snapshot dates, comma-separated YYYY-MM-DD")
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--seeds", default="1-10", help="forecast seeds, a range A-B")
    p.add_argument("--warmup", type=int, default=60, help="naive cold start: days of warm-up (0: none)")
    p.add_argument("--horizon", type=int, help="run.horizon_days of the truth (default: the scenario's)")
    p.add_argument("--out", help="CSV of the rows")
    a = p.parse_args(argv)

    def seeds(text: str) -> list[int]:
        lo, _, hi = text.partition("-")
        return list(range(int(lo), int(hi or lo) + 1))

    over = {"run.horizon_days": a.horizon} if a.horizon else {}
    scn = sim.load_scenario(a.scenario, overrides=over)
    dates = [dt.date.fromisoformat(d) for d in a.dates.split(",")]
    df = backtest(scn, seeds(a.truths), dates, a.days, seeds(a.seeds), a.warmup or None)
    if a.out:
        df.to_csv(a.out, index=False)
    pd.set_option("display.width", 200)
    print(f"# backtest {scn.name}: truths {a.truths}, {len(dates)} dates, {a.days} days, seeds {a.seeds}, "
          f"naive warm-up {a.warmup} days; {len(df)} (truth, date) pairs")
    print(summarise(df, len(scn.units)).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":  # pragma: no cover
    main()
