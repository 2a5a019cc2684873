"""Forecast from open orders: warm-started runs over seeds, their indicators from the event
log, bands over seeds and paired differences of ``--set`` variants (docs/forecast.md)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.activities import Act
from sim.model.openorders import STAGES, Prepared, prepare
from sim.model.warm import MechanismState, WarmModel
from sim.scenario import Scenario, apply_override, from_dict

LEVEL = 0.90  # the bands are 90 % prediction intervals for the next realisation


def prediction_ranks(k: int, level: float = LEVEL) -> tuple[int, int]:
    """0-based ranks (low, high) of the order statistics of ``k`` seeds that bound a
    distribution-free prediction interval for one more realisation: it covers it with
    probability (k + 1 - 2j) / (k + 1), j = max(1, floor((1 - level) / 2 (k + 1))) the 1-based
    rank from each end (exchangeable draws; Wilks 1941).  At k = 20 that is min..max and
    covers 19/21 = 0.905; at least ``level`` from k = 19 on; below, min..max with
    (k - 1)/(k + 1).  A 5 %-95 % quantile band of k seeds would cover only about
    0.9 (k - 1)/(k + 1) (0.81 at k = 20): it describes the seeds, not the next year.
    Raises ValueError for k < 2."""
    if k < 2:
        raise ValueError(f"a prediction band needs at least 2 seeds, got {k}")
    j = max(1, int(math.floor((1.0 - level) / 2.0 * (k + 1))))
    return j - 1, k - j


def prediction_coverage(k: int, level: float = LEVEL) -> float:
    """The probability that the band of ``prediction_ranks(k)`` covers the next realisation:
    (k + 1 - 2j) / (k + 1); 0 for k < 2 (one seed gives no band)."""
    if k < 2:
        return 0.0
    lo, hi = prediction_ranks(k, level)
    return (hi - lo) / (k + 1)


class ForecastInputError(ValueError):
    """Input the user can fix (a bad --open, --from); the CLI prints it as one line."""


def forecast_scenario(scn: Scenario, start: dt.date, days: int,
                      overrides: dict[str, Any] | None = None) -> Scenario:
    """``scn`` running ``days`` calendar days from ``start`` (its demand, calendar, month
    profile from there on); surges are clipped to that window, those outside it dropped;
    then ``overrides`` (dotted paths, like ``--set``).  The scenario's ``initial_backlog`` is
    dropped: the open orders are the forecast's start (the same warm start)."""
    data = scn.model_dump(mode="python")
    data["run"]["start"], data["run"]["horizon_days"] = start, days
    data["initial_backlog"] = {"orders": 0}
    end = start + dt.timedelta(days=days - 1)
    surges = []
    for s in data["demand"].get("surges") or []:
        if s["end"] < start or s["start"] > end:
            continue
        s["start"], s["end"] = max(s["start"], start), min(s["end"], end)
        surges.append(s)
    data["demand"]["surges"] = surges
    for dotted, value in (overrides or {}).items():
        apply_override(data, dotted, value)
    return from_dict(data, f"{scn.name} from {start}")


def check_open_orders(table: pd.DataFrame, scn: Scenario) -> tuple[pd.DataFrame, list[str]]:
    """Drop rows the model cannot resume; returns the rest and one line per dropped row
    (the issue's report of bad rows; the forecast runs on the rest)."""
    problems: list[str] = []
    keep = np.ones(len(table), dtype=bool)
    n_units = len(scn.units)
    for i, row in enumerate(table.itertuples(index=False)):
        why = None
        if row.stage not in STAGES:
            why = f"stage {row.stage!r} is not one of {', '.join(STAGES)}"
        elif not (0 <= row.responsible < n_units) or not (-1 <= row.unit < n_units):
            why = "unknown unit"
        elif not row.arrival <= 0:
            why = "arrived after the forecast start (--from)"
        elif row.stage not in ("unsigned", "centre") and not math.isfinite(row.due):
            why = "no deadline in force"
        if why:
            keep[i] = False
            problems.append(f"order {row.order}: {why}")
    return table[keep].reset_index(drop=True), problems


@dataclass
class SeedOutcome:
    """What one warm-started run did in the window, from its event log."""

    backlog: np.ndarray  # (days, 3): open orders at the end of each day: all, carried-in, new
    replies: int
    on_time_replies: int
    closes: int
    carried_closed: int
    missed: np.ndarray  # per unit: orders that missed their deadline in the window
    missed_carried: np.ndarray
    orders: int  # carried-in + new arrivals in the window


def indicators(cols: dict[str, np.ndarray], first_carried: int, n_carried: int, days: int,
               n_units: int, origin: float = 0.0) -> SeedOutcome:
    """The window's indicators from a warm-started run's event log (columns of ``EventLog``).

    Backlog at the end of day d: carried-in + arrivals - closes + reopens before 24 d.
    Missed deadline: a reply in the window after its deadline, or an order replied-to not at
    all whose deadline in force (SNAPSHOT, SIGN by the responsible unit, REOPEN, approved
    EXTEND) passed before the window's end; counted for the unit holding it.

    ``origin``: the window's start in the log's hours (a cold run's log read as the truth of
    a backtest; a warm-started run's window starts at 0)."""
    order, act, time = cols["order"], cols["activity"], cols["time"] - origin
    unit, due, outcome = cols["unit"], cols["due"] - origin, cols["outcome"]
    horizon = days * 24.0
    before_end = time < horizon
    inw = before_end & (time >= 0.0)
    ends = 24.0 * np.arange(1, days + 1)
    carried = order >= first_carried

    def cum(mask: np.ndarray) -> np.ndarray:
        return np.searchsorted(np.sort(time[mask]), ends, side="left")

    arrive, close, reopen = act == Act.ARRIVE, act == Act.CLOSE, act == Act.REOPEN
    new_open = cum(arrive & ~carried) - cum(close & ~carried) + cum(reopen & ~carried)
    carried_open = n_carried - cum(close & carried) + cum(reopen & carried)
    backlog = np.stack([new_open + carried_open, carried_open, new_open], axis=1)
    reply = (act == Act.REPLY) & inw
    on_time = reply & ~(time > due)
    missed = np.zeros(n_units)
    missed_carried = np.zeros(n_units)
    late = reply & (time > due) & (unit >= 0)
    np.add.at(missed, unit[late], 1)
    np.add.at(missed_carried, unit[late & carried], 1)
    # unreplied at the end with a deadline passed: the last lifecycle event per order
    ev = pd.DataFrame({"order": order, "act": act, "time": time, "unit": unit, "due": due, "outcome": outcome})
    ev = ev[before_end & (order >= 0) & ~np.isin(act, [Act.WARN, Act.REMIND, Act.CRITICISE, Act.WORK])]
    last = ev.groupby("order", sort=False).tail(1)
    pending = last[last["act"].isin([Act.SNAPSHOT, Act.SIGN, Act.START, Act.EXTEND, Act.SENDBACK,
                                     Act.REOPEN, Act.ESCALATE])]
    snap_replied = (pending["act"] == Act.SNAPSHOT) & (pending["outcome"].isin(
        [STAGES.index("replied"), STAGES.index("unsigned"), STAGES.index("centre")]))
    pending = pending[~snap_replied & (pending["unit"] >= 0)]
    deadline = ev[ev["order"].isin(pending["order"]) & (
        ev["act"].isin([Act.SNAPSHOT, Act.SIGN, Act.REOPEN, Act.ESCALATE])
        | ((ev["act"] == Act.EXTEND) & (ev["outcome"] == 1)))]
    in_force = deadline.groupby("order", sort=False)["due"].last()
    overdue = pending.set_index("order")["unit"][in_force.reindex(pending["order"]).to_numpy() < horizon]
    np.add.at(missed, overdue.to_numpy(), 1)
    np.add.at(missed_carried, overdue[overdue.index >= first_carried].to_numpy(), 1)
    closes = close & inw
    early = (time < 0.0) & ~carried  # (a cold run's orders open at the origin, read as the truth)
    open_at_origin = int((arrive & early).sum() - (close & early).sum() + (reopen & early).sum())
    return SeedOutcome(
        backlog=backlog, replies=int(reply.sum()), on_time_replies=int(on_time.sum()),
        closes=int(closes.sum()), carried_closed=int((closes & carried).sum()),
        missed=missed, missed_carried=missed_carried,
        orders=int(n_carried + open_at_origin + (arrive & inw & ~carried).sum()),
    )


def run_one(scn_f: Scenario, table: pd.DataFrame, prep: Prepared, seed: int,
            state: MechanismState | None = None) -> SeedOutcome:
    """One warm-started run of the forecast scenario with ``seed`` (and the mechanisms'
    ``state`` at the start, if known)."""
    model = WarmModel(scn_f, seed, table, prep.ages, prep.before, state=state)
    log = model.run()
    cols = log.columns()
    return indicators(cols, model.first_carried, len(table), scn_f.run.horizon_days, len(scn_f.units))


def run_forecast(scn: Scenario, table: pd.DataFrame, start: dt.date, days: int, seeds: Sequence[int],
                 variants: dict[str, dict[str, Any]] | None = None,
                 state: MechanismState | None = None) -> dict[str, list[SeedOutcome]]:
    """Per variant (``base`` first: no overrides), the outcome of each seed (same seeds:
    paired); ``state``: the mechanisms' state at ``start`` (None: fresh)."""
    out: dict[str, list[SeedOutcome]] = {}
    for name, overrides in {"base": {}, **(variants or {})}.items():
        scn_f = forecast_scenario(scn, start, days, overrides)
        prep = prepare(scn_f, table)
        out[name] = [run_one(scn_f, table, prep, s, state) for s in seeds]
    return out


# -- tables ---------------------------------------------------------------------------------------
def _band(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over seeds (``axis``) and the 90 % prediction band (``prediction_ranks``); with
    one seed the band is that seed's value."""
    k = values.shape[axis]
    if k < 2:
        return values.mean(axis=axis), values.min(axis=axis), values.max(axis=axis)
    lo, hi = prediction_ranks(k)
    ordered = np.sort(values, axis=axis)
    return values.mean(axis=axis), np.take(ordered, lo, axis=axis), np.take(ordered, hi, axis=axis)


def daily_table(results: dict[str, list[SeedOutcome]], start: dt.date) -> pd.DataFrame:
    """Daily backlog (end of day) per variant: mean and 90 % band over seeds, carried-in and new."""
    rows = []
    for name, outs in results.items():
        b = np.stack([o.backlog for o in outs])  # seeds x days x 3
        mean, lo, hi = _band(b[:, :, 0])
        for d in range(b.shape[1]):
            rows.append({"variant": name, "date": start + dt.timedelta(days=d), "day": d + 1,
                         "backlog_mean": mean[d], "backlog_lo90": lo[d], "backlog_hi90": hi[d],
                         "carried_in_mean": b[:, d, 1].mean(), "new_mean": b[:, d, 2].mean()})
    return pd.DataFrame(rows)


def units_table(results: dict[str, list[SeedOutcome]], unit_names: Sequence[str]) -> pd.DataFrame:
    """Per unit and variant, the orders expected to miss their deadline in the window."""
    rows = []
    for name, outs in results.items():
        m = np.stack([o.missed for o in outs])
        c = np.stack([o.missed_carried for o in outs])
        mean, lo, hi = _band(m)
        for u, unit in enumerate(unit_names):
            rows.append({"variant": name, "unit": unit, "missed_mean": mean[u], "missed_lo90": lo[u],
                         "missed_hi90": hi[u], "missed_carried_in_mean": c[:, u].mean()})
    return pd.DataFrame(rows)


def summary_table(results: dict[str, list[SeedOutcome]]) -> pd.DataFrame:
    """Per variant: on-time reply (share of the window's replies on time), closure (share of
    carried-in + new orders closed in the window), backlog at the end, missed deadlines."""
    rows = []
    for name, outs in results.items():
        metrics = _seed_metrics(outs)
        for key, values in metrics.items():
            mean, lo, hi = _band(values)
            rows.append({"variant": name, "indicator": key, "mean": float(mean), "lo90": float(lo),
                         "hi90": float(hi)})
    return pd.DataFrame(rows)


def _seed_metrics(outs: list[SeedOutcome]) -> dict[str, np.ndarray]:
    return {
        "on_time_reply": np.array([o.on_time_replies / o.replies if o.replies else np.nan for o in outs]),
        "closure": np.array([o.closes / o.orders if o.orders else np.nan for o in outs]),
        "carried_in_closed": np.array([o.carried_closed for o in outs], dtype=float),
        "replies": np.array([o.replies for o in outs], dtype=float),
        "backlog_end": np.array([o.backlog[-1, 0] for o in outs], dtype=float),
        "missed_deadlines": np.array([o.missed.sum() for o in outs]),
    }


def paired_table(results: dict[str, list[SeedOutcome]]) -> pd.DataFrame:
    """Each variant minus the base on the same seeds: mean difference and its 95 % CI (t)."""
    from scipy import stats

    base = _seed_metrics(results["base"])
    rows = []
    for name, outs in results.items():
        if name == "base":
            continue
        other = _seed_metrics(outs)
        for key in base:
            d = other[key] - base[key]
            d = d[np.isfinite(d)]
            n = len(d)
            half = float(stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
            rows.append({"variant": name, "indicator": key, "difference": float(d.mean()) if n else math.nan,
                         "ci95_low": float(d.mean()) - half if n else math.nan,
                         "ci95_high": float(d.mean()) + half if n else math.nan, "seeds": n})
    return pd.DataFrame(rows)
