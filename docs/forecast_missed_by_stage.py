"""Missed deadlines of the carried-in orders in a 30-day forecast window, truth vs warm start,
split by the stage each order was at the snapshot (and overdue / due within 3 days / later).

The check behind docs/forecast.md, "Bias left" (about 40 s):

    .venv/bin/python docs/forecast_missed_by_stage.py [events|export]

One truth (seed 101) of the baseline year, snapshots on 2021-06-01 and every 30 days after
(4 dates), 5 forecast seeds with the mechanisms' state carried in; the truth's missed
deadlines are those of the orders open at the snapshot, counted by the forecast's own rule
(``sim.forecast.run.indicators``)."""

from __future__ import annotations

import collections
import datetime as dt
import sys

import numpy as np

import sim
from sim.forecast.backtest import snapshot_table
from sim.forecast.run import forecast_scenario, indicators, prepare
from sim.forecast.state import state_at
from sim.model import new_model
from sim.model.warm import WarmModel
from sim.result import Result


def main(source: str = "events") -> None:
    scn = sim.load_scenario("scenarios/yuelu_2021.toml")
    dates = [dt.date(2021, 6, 1) + dt.timedelta(days=30 * i) for i in range(4)]
    seeds = range(1, 6)
    res = Result.from_log(scn, 101, new_model(scn, 101).run())
    ev = res.events
    cols = {c: ev[c].to_numpy() for c in ("order", "activity", "time", "unit", "due", "outcome")}
    n_units = len(scn.units)
    truth, warm, count = collections.Counter(), collections.Counter(), collections.Counter()
    for day in dates:
        at = res.context.cal.to_hours(day)
        table = snapshot_table(res, day, source)
        when = np.where(table["due"] < 0, "overdue", np.where(table["due"] < 24 * 3, "due<3d", "later"))
        key = table["stage"] + ":" + when
        scn_f = forecast_scenario(scn, day, 30)
        prep = prepare(scn_f, table)
        runs = []
        for s in seeds:
            model = WarmModel(scn_f, s, table, prep.ages, prep.before, state=state_at(ev, at, n_units))
            runs.append((model.first_carried, model.run().columns()))
        for group in sorted(set(key)):
            rows = np.nonzero((key == group).to_numpy())[0]
            count[group] += len(rows)
            sel = np.isin(cols["order"], table["order"].to_numpy()[rows])
            truth[group] += indicators({c: v[sel] for c, v in cols.items()}, 2**62, 0, 30, n_units,
                                       origin=at).missed.sum()
            for first, c in runs:
                sel = np.isin(c["order"], first + rows)
                warm[group] += indicators({k: v[sel] for k, v in c.items()}, 2**62, 0, 30,
                                          n_units).missed.sum() / len(seeds)
    for group in sorted(count):
        print(f"{group:20s} n={count[group]:5d} truth={truth[group]:6.0f} warm={warm[group]:7.1f} "
              f"diff={warm[group] - truth[group]:+6.1f}")
    print("total truth", int(sum(truth.values())), "warm", round(sum(warm.values()), 1))


if __name__ == "__main__":
    main(*sys.argv[1:2])
