"""Chart data from a run: small aggregated tables, never raw rows of the event log.

Everything here is read from the run's event log and orders table (the one source of the
indicators), through ``sim.result.Result``.  Tables are at most days × series or units × months,
so a city run's 8 M events are reduced before anything is drawn.

The log's format is read through ``log_columns``, which accepts today's integer activity codes
and float hours and also named activities with timestamps, so the charts do not depend on how
the log is encoded.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import TypeVar

import numpy as np
import pandas as pd

from sim.activities import ACTIVITY_NAMES, DISSATISFIED, SATISFIED, Act
from sim.result import Result

# unit codes of the log's unit column that are not handling units
NOT_A_UNIT = -1

T = TypeVar("T")
_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def per_result(fn: Callable[[Result], T]) -> Callable[[Result], T]:
    """Compute a chart table once per Result (several charts and the report share it); the
    entry goes when the Result does.  Callers must not mutate what they get."""

    @wraps(fn)
    def wrapper(res: Result) -> T:
        entry = _cache.setdefault(res, {})
        if fn.__name__ not in entry:
            entry[fn.__name__] = fn(res)
        return entry[fn.__name__]

    return wrapper


@dataclass
class LogColumns:
    """The event log as plain numpy columns: activity codes (``Act``), time in hours from the
    run's start, unit index (-1 the centre), outcome, due time (hours) and value."""

    act: np.ndarray
    time: np.ndarray
    unit: np.ndarray
    outcome: np.ndarray
    due: np.ndarray
    order: np.ndarray


@per_result
def log_columns(res: Result) -> LogColumns:
    """The log's columns, whatever its encoding (codes or names, hours or timestamps)."""
    ev = res.events
    act = ev["activity"] if "activity" in ev else ev["concept:name"]
    if not pd.api.types.is_integer_dtype(act):
        codes = {name: int(a) for a, name in ACTIVITY_NAMES.items()}
        act = act.astype(str).map(codes)
    if "time" in ev:
        time = ev["time"].to_numpy(dtype=float)
    else:  # timestamps: hours since the run's start
        start = pd.Timestamp(res.scenario.run.start)
        stamps = pd.to_datetime(ev["time:timestamp"])
        if stamps.dt.tz is not None:
            stamps = stamps.dt.tz_localize(None)
        time = ((stamps - start) / pd.Timedelta(hours=1)).to_numpy(dtype=float)

    def col(name: str, fill: float) -> np.ndarray:
        return ev[name].to_numpy() if name in ev else np.full(len(ev), fill)

    return LogColumns(
        act=np.asarray(act, dtype=np.int16),
        time=time,
        unit=np.asarray(col("unit", NOT_A_UNIT), dtype=np.int32),
        outcome=np.asarray(col("outcome", -1)),
        due=np.asarray(col("due", np.nan), dtype=float),
        order=np.asarray(col("order", -1)),
    )


def run_start(res: Result) -> pd.Timestamp:
    return pd.Timestamp(res.scenario.run.start)


def horizon_days(res: Result) -> int:
    return int(round(res.scenario.horizon_hours / 24.0))


def month_index(start: pd.Timestamp, hours: np.ndarray) -> np.ndarray:
    """Month of each time (hours from ``start``) as 0 = the run's first month, 1 = the next..."""
    stamps = start.to_datetime64().astype("datetime64[s]") + (np.asarray(hours) * 3600.0).astype("timedelta64[s]")
    first = np.datetime64(start.to_datetime64(), "M")
    return (stamps.astype("datetime64[M]") - first).astype(np.int64)


def month_counts(start: pd.Timestamp, hours: np.ndarray, months: list[str]) -> np.ndarray:
    """How many of the times (hours from ``start``) fall in each of ``months``."""
    idx = month_index(start, hours)
    idx = idx[(idx >= 0) & (idx < len(months))]
    return np.bincount(idx, minlength=len(months))


def run_months(res: Result) -> list[str]:
    """The run's year-months, in time order."""
    start = run_start(res)
    end = start + pd.Timedelta(hours=res.scenario.horizon_hours - 1e-6)
    return [str(p) for p in pd.period_range(start, end, freq="M")]


def holiday_spans(res: Result) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Public holidays as (first day, day after the last) spans: runs of non-working days that
    include a weekday (plain weekends are not shaded)."""
    cal = res.context.cal
    start = run_start(res)
    spans: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    day = 0
    while day < cal.days:
        if cal.is_working[day]:
            day += 1
            continue
        first = day
        while day < cal.days and not cal.is_working[day]:
            day += 1
        dates = [start + pd.Timedelta(days=d) for d in range(first, day)]
        if any(d.weekday() < 5 for d in dates):
            spans.append((dates[0], dates[-1] + pd.Timedelta(days=1)))
    return spans


def surge_spans(res: Result) -> list[tuple[pd.Timestamp, pd.Timestamp, float]]:
    """The scenario's demand surges as (first day, day after the last, factor)."""
    return [
        (pd.Timestamp(s.start), pd.Timestamp(s.end) + pd.Timedelta(days=1), s.factor)
        for s in res.scenario.demand.surges
    ]


def event_month_table(res: Result) -> pd.DataFrame:
    """Orders by event month: received (first signed for) in the month, closed in the month
    (final close), and open at the month's end (the last day's backlog).

    Index: year-month labels "2021-01" in time order.  Columns: received, closed,
    open_at_month_end (orders).  The counts add up: received over the run = closed + open at
    the horizon, as in ``kpi_year``."""
    orders = res.orders
    start = run_start(res)
    months = run_months(res)
    signed = orders["first_sign"].to_numpy(dtype=float)
    signed = signed[~np.isnan(signed)]
    closed = orders.loc[orders["status"] == "closed", "close_time"].to_numpy(dtype=float)
    backlog = res.backlog()
    month_end = backlog.groupby(backlog.index.strftime("%Y-%m")).last()
    out = pd.DataFrame(
        {
            "received": month_counts(start, signed, months),
            "closed": month_counts(start, closed, months),
            "open_at_month_end": month_end.reindex(months).astype(float).to_numpy(),
        },
        index=pd.Index(months),
    )
    out.index.name = "month"
    return out


def daily_table(res: Result) -> pd.DataFrame:
    """Per calendar day: orders arriving (dispatched) and open at the day's end.

    Index: dates.  Columns: arrivals (orders/day), open_orders (orders)."""
    days = horizon_days(res)
    arrive = res.orders["arrive"].to_numpy(dtype=float)
    per_day = np.bincount((arrive // 24.0).astype(np.int64).clip(0, days - 1), minlength=days)
    dates = pd.date_range(run_start(res), periods=days, freq="D")
    backlog = res.backlog().reindex(dates)
    return pd.DataFrame({"arrivals": per_day[:days], "open_orders": backlog.to_numpy()}, index=dates)


def cohort_table(res: Result) -> pd.DataFrame:
    """``Result.monthly()`` (arrival-month cohorts) indexed by its year-month labels
    ("2022-01"), in time order: one row per month of the run, whatever its start and length."""
    table = res.monthly().set_index("month")
    table.index = table.index.astype(str)
    return table.sort_index()


def ttc_by_category(res: Result) -> dict[str, np.ndarray]:
    """Working days from arrival to close of each closed order, by category (sorted)."""
    orders = res.orders
    closed = orders[orders["status"] == "closed"]
    out = {}
    for cat in closed["category"].cat.categories if hasattr(closed["category"], "cat") else sorted(
        closed["category"].unique()
    ):
        values = closed.loc[closed["category"] == cat, "ttc_wd"].to_numpy(dtype=float)
        if len(values):
            out[str(cat)] = np.sort(values)
    return out


# -- the league table (一套指标) -------------------------------------------------------------
# The monthly assessment (sim/mechanisms/one_set.py) scores each unit on the month's declared
# indicators with the scenario's weights (mechanisms.one_set.weights) and records each score
# in the log (a SCORE system event, 考核得分, at the end of the month scored).  The league table
# shows those recorded scores; the indicators beside them, and the score of a run with the
# assessment off (or of a run folder written before the scores were recorded), are computed
# from the event log with the same indicators and weights.
# weight name -> (indicator column of the league table, Chinese, English)
SCORE_TERMS = {
    "on_time_reply_share": ("on_time_share", "按时答复率", "on-time reply share"),
    "late_sign_share": ("late_sign_share", "超时签收率", "late sign-for share"),
    "sendback_share": ("sendback_share", "退回重办率", "send-backs per reply"),
    "dissatisfied_share": ("dissatisfied_share", "不满意率", "dissatisfied share"),
    "criticisms": ("criticisms", "通报数", "criticisms"),
    "extension_share": ("extension_share", "延期申请率", "extensions asked per reply"),
}
DEFAULT_WEIGHTS = {"on_time_reply_share": 1.0, "late_sign_share": 0.0, "sendback_share": 0.0,
                   "dissatisfied_share": -2.0, "criticisms": -0.05, "extension_share": 0.0}


def assessment_weights(scenario) -> dict[str, float]:
    """The scenario's assessment weights (the model's historical ones if it declares none)."""
    weights = getattr(getattr(scenario.mechanisms, "one_set", None), "weights", None)
    if weights is None:
        return dict(DEFAULT_WEIGHTS)
    return {key: float(getattr(weights, key, DEFAULT_WEIGHTS[key])) for key in SCORE_TERMS}


def score_formula(weights: dict[str, float], lang: str) -> str:
    """'score = 1 × on-time reply share − 2 × dissatisfied share − ...' (non-zero terms)."""
    from sim.plots.style import tr

    parts = []
    for key, (_, zh, en) in SCORE_TERMS.items():
        w = weights[key]
        if w == 0:
            continue
        sign = "−" if w < 0 else "+"
        parts.append((sign, f"{abs(w):g}×{zh}", f"{abs(w):g} × {en}"))
    zh = " ".join(f"{s} {t}" for s, t, _ in parts).lstrip("+ ")
    en = " ".join(f"{s} {t}" for s, _, t in parts).lstrip("+ ")
    return tr(lang, f"得分 = {zh}", f"score = {en}", sep="\n")


def _late_signs(log: LogColumns) -> np.ndarray:
    """Rows of sign-fors after their sign-for deadline: a SIGN's deadline is the due time of
    the order's ARRIVE or REDISPATCH just before it (rows of an order are in time order)."""
    rows = np.nonzero(np.isin(log.act, [Act.ARRIVE, Act.REDISPATCH, Act.SIGN]) & (log.order >= 0))[0]
    rows = rows[np.argsort(log.order[rows], kind="stable")]
    prev, cur = rows[:-1], rows[1:]
    is_sign = (log.act[cur] == Act.SIGN) & (log.order[prev] == log.order[cur]) & (log.act[prev] != Act.SIGN)
    late = log.time[cur] > log.due[prev]
    return cur[is_sign & late]


def recorded_scores(res: Result) -> pd.DataFrame:
    """The monthly assessment scores the model recorded (SCORE events): one row per (unit
    index, month index of the month scored, i.e. the month before the event), column score.
    Empty when the assessment was off (or the log predates the recording)."""
    log = log_columns(res)
    rows = np.nonzero(log.act == Act.SCORE)[0]
    month = month_index(run_start(res), log.time[rows]) - 1  # recorded as the month ends
    score = res.events["value"].to_numpy(dtype=float)[rows]  # log_columns keeps the log's row order
    return pd.DataFrame({"unit": log.unit[rows].astype(np.int64), "month": month, "score": score})


@per_result
def league_table(res: Result) -> pd.DataFrame:
    """Per handling unit and event month: the indicators the monthly assessment ranks on, and
    its score.

    Long table, one row per (unit, month) with replies > 0: unit (name), kind, month
    ("2021-01"), replies, late_replies, on_time_share, signs, late_signs, late_sign_share,
    sendbacks, sendback_share, callbacks (reached), dissatisfied, dissatisfied_share,
    criticisms, extensions, extension_share (counted from the log by the month the event happened, as the mechanism counts
    them); score_recomputed (the scenario's weights applied to those, see
    ``assessment_weights``); score: the score the model recorded (``recorded_scores``) when it
    recorded any, NaN for a month it did not assess (the run's last month is assessed after
    the horizon), else score_recomputed; score_source ("recorded" or "recomputed");
    annual_score, for sorting: the mean of the unit's recorded scores, else the formula over
    the run (criticisms per month on average)."""
    log = log_columns(res)
    start = run_start(res)
    months = run_months(res)
    n_units = len(res.scenario.units)
    unit_ok = log.unit >= 0

    def tally(mask: np.ndarray) -> np.ndarray:
        rows = np.nonzero(mask & unit_ok)[0]
        return tally_rows(rows)

    def tally_rows(rows: np.ndarray) -> np.ndarray:
        rows = rows[log.unit[rows] >= 0]
        m = month_index(start, log.time[rows]).clip(0, len(months) - 1)
        flat = log.unit[rows].astype(np.int64) * len(months) + m
        return np.bincount(flat, minlength=n_units * len(months)).reshape(n_units, len(months))

    reply = log.act == Act.REPLY
    counts = {
        "replies": tally(reply),
        "late_replies": tally(reply & (log.time > log.due)),
        "signs": tally(log.act == Act.SIGN),
        "late_signs": tally_rows(_late_signs(log)),
        "sendbacks": tally(log.act == Act.SENDBACK),
        "callbacks": tally((log.act == Act.CALLBACK) & (log.outcome >= SATISFIED)),
        "dissatisfied": tally((log.act == Act.CALLBACK) & (log.outcome == DISSATISFIED)),
        "criticisms": tally(log.act == Act.CRITICISE),
        # extensions asked for (approved or refused), as the unit's month counts them
        "extensions": tally((log.act == Act.EXTEND) & (log.order >= 0)),
    }
    weights = assessment_weights(res.scenario)

    def indicators(c: dict[str, np.ndarray], criticisms: np.ndarray) -> dict[str, np.ndarray]:
        r = c["replies"]
        with np.errstate(invalid="ignore", divide="ignore"):
            out = {
                "on_time_share": np.where(r > 0, 1.0 - c["late_replies"] / np.maximum(r, 1), np.nan),
                "late_sign_share": np.where(c["signs"] > 0, c["late_signs"] / np.maximum(c["signs"], 1), 0.0),
                "sendback_share": np.where(r > 0, c["sendbacks"] / np.maximum(r, 1), 0.0),
                "dissatisfied_share": np.where(c["callbacks"] > 0, c["dissatisfied"] / np.maximum(c["callbacks"], 1), 0.0),
                "criticisms": criticisms,
                "extension_share": np.where(r > 0, c["extensions"] / np.maximum(r, 1), 0.0),
            }
        # terms added in the mechanism's order
        out["score"] = sum(weights[key] * out[col] for key, (col, _, _) in SCORE_TERMS.items())
        return out

    month = indicators(counts, counts["criticisms"])
    year_counts = {k: v.sum(axis=1) for k, v in counts.items()}
    year = indicators(year_counts, year_counts["criticisms"] / max(1, len(months)))
    recorded = recorded_scores(res)
    rec = np.full((n_units, len(months)), np.nan)
    inside = (recorded["month"] >= 0) & (recorded["month"] < len(months)) & (recorded["unit"] >= 0)
    rec[recorded.loc[inside, "unit"], recorded.loc[inside, "month"]] = recorded.loc[inside, "score"]
    from_log = len(recorded) > 0
    with np.errstate(invalid="ignore"):
        annual = np.nanmean(rec, axis=1) if from_log else year["score"]
    rows = []
    for u, unit in enumerate(res.scenario.units):
        for m, label in enumerate(months):
            if counts["replies"][u, m] == 0:
                continue
            row = {"unit": unit.name, "kind": unit.kind, "month": label}
            row |= {k: int(v[u, m]) for k, v in counts.items()}
            row |= {k: float(v[u, m]) for k, v in month.items() if k not in ("criticisms", "score")}
            row["score_recomputed"] = float(month["score"][u, m])
            row["score"] = float(rec[u, m]) if from_log else row["score_recomputed"]
            row["score_source"] = "recorded" if from_log else "recomputed"
            row["annual_score"] = float(annual[u])
            rows.append(row)
    return pd.DataFrame(rows)


def assessment_enabled(res: Result) -> bool:
    return bool(res.scenario.mechanisms.one_set.enabled)


# -- the lifecycle flow ------------------------------------------------------------------------
def flow_counts(res: Result) -> dict[str, int]:
    """Counts on the lifecycle's transitions, from the log: events of each activity, plus the
    orders the centre answered itself, the orders still open and the unsigned ones.

    Keys: arrive, sign, return, redispatch, start, reply, centre_reply, sendback, callback,
    callback_reached, close, reopen, escalate, extend, warn, remind, criticise, open, unsigned."""
    log = log_columns(res)
    case = log.order >= 0
    counts = np.bincount(log.act[case].astype(np.int64), minlength=32)
    out = {ACTIVITY_NAMES[a]: int(counts[int(a)]) for a in Act if int(a) < 20}
    out["extend"] = int(((log.act == Act.EXTEND) & (log.outcome == 1) & case).sum())
    out["centre_reply"] = int(((log.act == Act.REPLY) & (log.unit == NOT_A_UNIT) & case).sum())
    out["callback_reached"] = int(((log.act == Act.CALLBACK) & (log.outcome >= SATISFIED) & case).sum())
    status = res.orders["status"]
    out["open"] = int((status == "open").sum())
    out["unsigned"] = int((status == "unsigned").sum())
    out["closed_orders"] = int((status == "closed").sum())
    return out


def date_of(res: Result, hours: float) -> dt.datetime:
    return res.context.cal.to_datetime(hours)
