"""Indicators (DESIGN §4), computed only from an event log.

Inputs are the events table, the case attributes and the scenario (for its calendar, horizon,
units and satisfaction weight): the same stored log gives the same numbers anywhere.  Counts
are of orders in their final state at the horizon; monthly rates are by arrival month.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.activities import BASIC, DISSATISFIED, SATISFIED, Act
from sim.calendar import WorkCalendar, vectorised_add_working_hours, vectorised_working_clock
from sim.scenario import CATEGORIES, CATEGORY_CHINESE, Scenario, build_calendar

STATUSES = ["closed", "open", "unsigned"]  # an order's state at the horizon
MAIN_ACTS = [a for a in Act if a not in (Act.EXTEND, Act.WARN, Act.REMIND, Act.CRITICISE, Act.WORK) and a < 20]

# first-reply time groups: (key suffix, Chinese, English, categories); the targets judge
# complaints and suggestions together (the message-board figures, VALIDATION.md)
FIRST_REPLY_GROUPS_CATEGORIES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    *((c, CATEGORY_CHINESE[c], c, (c,)) for c in CATEGORIES),
    ("complaint_suggestion", "投诉建议", "complaints and suggestions", ("complaint", "suggestion")),
)
FIRST_REPLY_GROUPS = tuple((key, zh, en) for key, zh, en, _ in FIRST_REPLY_GROUPS_CATEGORIES)

# English key -> (Chinese label, English label, kind) ; kind drives formatting
INDICATORS: dict[str, tuple[str, str, str]] = {
    "dispatched": ("派单量", "orders dispatched", "count"),
    "received": ("签收量", "orders signed for", "count"),
    "unsigned": ("未签收", "not signed at horizon", "count"),
    "closed": ("办结量", "orders closed", "count"),
    "open": ("未办结", "open at horizon", "count"),
    "closure_rate": ("办结率", "closure rate", "rate"),
    "on_time_sign_rate": ("按时签收率", "on-time sign rate", "rate"),
    "on_time_reply_rate": ("按时办结率", "on-time reply rate", "rate"),
    "overdue_orders": ("超期工单", "overdue orders", "count"),
    "overdue_rate": ("超期率", "overdue rate", "rate"),
    "extension_rate": ("延期率", "extension rate", "rate"),
    "return_rate": ("退单率", "return rate", "rate"),
    "reopen_rate": ("重办率", "reopen rate", "rate"),
    "callback_rate": ("回访率", "callback rate", "rate"),
    "callback_reach": ("回访成功率", "callback reach", "rate"),
    "satisfaction": ("满意率", "satisfaction", "rate"),
    "satisfied_share": ("满意", "satisfied share of reached", "rate"),
    "basic_share": ("基本满意", "basically satisfied share", "rate"),
    "dissatisfied_share": ("不满意", "dissatisfied share", "rate"),
    "resolution_rate": ("解决率", "resolution rate", "rate"),
    "ttc_mean_wd": ("平均办结时长", "time to close, mean (working days)", "days"),
    "ttc_median_wd": ("办结时长中位数", "time to close, median (working days)", "days"),
    "ttc_p90_wd": ("办结时长P90", "time to close, p90 (working days)", "days"),
    "ttc_km_median_wd": ("办结时长KM中位数", "time to close, Kaplan-Meier median (working days)", "days"),
    **{
        f"first_reply_{stat}_wd_{key}": (f"首次答复时长{zh_stat}（{zh}）", f"first reply, {stat} (working days): {en}", "days")
        for key, zh, en in FIRST_REPLY_GROUPS
        for stat, zh_stat in (("median", "中位数"), ("p90", "P90"))
    },
    "open_age_mean_wd": ("未办结平均时长", "open orders' mean age (working days)", "days"),
    "open_age_p90_wd": ("未办结时长P90", "open orders' age p90 (working days)", "days"),
    "littles_law_open": ("利特尔定律估计", "Little's law open estimate", "count"),
    "littles_law_ratio": ("利特尔比", "open / Little's law estimate", "ratio"),
    "handler_hours": ("办理工时", "handler-hours used in office hours", "hours"),
    "on_call_hours": ("值班工时", "urgent handler-hours outside office hours (on call)", "hours"),
    "staffed_hours": ("在岗工时", "handler office hours staffed (handlers x office hours, loans included)", "hours"),
    "utilisation": ("人员利用率", "handler utilisation (office hours)", "rate"),
    "warnings": ("预警数", "supervision warnings", "count"),
    "reminders": ("催办数", "supervision reminders", "count"),
    "criticisms": ("通报数", "public criticisms", "count"),
    "supervision_actions": ("督办动作", "supervision actions (warnings + reminders + criticisms)", "count"),
    "capacity_moved": ("月调度调配", "handler-months lent by the monthly meeting", "count"),
    "capacity_months": ("月调度出借月数", "months in which the monthly meeting lent handlers", "count"),
    "plans": ("克难方案", "hard-case plans adopted", "count"),
    "assessment_pressure": ("考核加压", "extra pace the ranking demanded: sum over units of (speed factor - 1) x months in force", "months"),
    "backlog_mean": ("平均积压", "open orders, daily mean", "count"),
    "backlog_peak": ("积压峰值", "open orders, daily peak", "count"),
    "backlog_recovery_days": ("积压恢复天数", "days to recover after the last surge", "days"),
}


def events_frame(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """The events table from freshly built column arrays (not views of live buffers)."""
    return pd.DataFrame(columns, copy=False)


@dataclass
class Context:
    """What the indicators need besides the log: derived from the scenario only."""

    cal: WorkCalendar
    horizon: float
    scenario: Scenario

    @classmethod
    def of(cls, scn: Scenario, cal: WorkCalendar | None = None) -> Context:
        if cal is None:
            cal = build_calendar(scn)
        return cls(cal, scn.horizon_hours, scn)


class _PerOrder:
    """Per-order reductions of the event log with numpy index arithmetic: no copies of the
    (possibly 10-million-row) events table, only index arrays.  Rows of one order are in
    time order in the log, so "first" and "last" follow row order."""

    def __init__(self, events: pd.DataFrame, case_ids: np.ndarray) -> None:
        act = events["activity"].to_numpy()
        order = events["order"].to_numpy()
        rows = np.nonzero(order >= 0)[0].astype(np.int32 if len(order) < 2**31 else np.int64)
        self.ids = np.asarray(case_ids)
        if len(self.ids) and self.ids[0] == 0 and self.ids[-1] == len(self.ids) - 1:
            pos = order[rows].astype(np.int32)  # ids 0..n-1 (sorted, unique): row -> case
        else:
            pos = np.searchsorted(self.ids, order[rows]).astype(np.int32)
        # the order's rows grouped by order, in log (time) order within each: sorted once
        # here, so that each first/last below is one pass over a selection, not a sort
        by_case = np.argsort(pos, kind="stable")
        self.rows, self.pos = rows[by_case], pos[by_case]
        self.act = act[self.rows]
        self.events = events
        self.n = len(self.ids)

    def _select(self, acts: list[int], outcome: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        mask = self.act == acts[0] if len(acts) == 1 else np.isin(self.act, acts)
        if outcome is not None:
            mask &= self.events["outcome"].to_numpy()[self.rows] == outcome
        sel = np.nonzero(mask)[0]
        return self.rows[sel], self.pos[sel]

    def first(self, act: Act, col: str, fill: float = np.nan) -> np.ndarray:
        return self._pick([int(act)], col, fill, last=False)

    def last(self, acts: list[int], col: str, fill: float = np.nan) -> np.ndarray:
        return self._pick(acts, col, fill, last=True)

    def _pick(self, acts: list[int], col: str, fill: float, last: bool) -> np.ndarray:
        rows, pos = self._select(acts)
        values = self.events[col].to_numpy()
        out = np.full(self.n, fill, dtype=np.result_type(values.dtype, np.asarray(fill).dtype))
        if len(pos):
            # pos is grouped by order: an order's first (last) row is where its run begins (ends)
            change = pos[1:] != pos[:-1]
            edge = np.flatnonzero(np.r_[change, True] if last else np.r_[True, change])
            out[pos[edge]] = values[rows[edge]]
        return out

    def count(self, act: Act, outcome: int | None = None) -> np.ndarray:
        _, pos = self._select([int(act)], outcome)
        return np.bincount(pos, minlength=self.n).astype(np.int32)

    def count_where(self, act: Act, condition: np.ndarray) -> np.ndarray:
        rows, pos = self._select([int(act)])
        return np.bincount(pos[condition[rows]], minlength=self.n).astype(np.int32)


def month_labels(ctx: Context) -> list[str]:
    """Every year-month the run's window touches, in time order: '2021-07', ..., '2022-06'."""
    first = np.datetime64(ctx.scenario.run.start.isoformat(), "M")
    last_day = np.datetime64(ctx.scenario.run.start.isoformat(), "D") + ctx.scenario.run.horizon_days - 1
    return [str(m) for m in np.arange(first, last_day.astype("datetime64[M]") + 1)]


def _month_index(ctx: Context, hours: np.ndarray) -> np.ndarray:
    """Position in ``month_labels`` of each time (hours since the start; local clock); -1 for
    NaN or times outside the window."""
    hours = np.asarray(hours, dtype=float)
    ok = np.isfinite(hours) & (hours >= 0) & (hours < ctx.horizon)
    start = np.datetime64(ctx.scenario.run.start.isoformat(), "s")
    stamps = start + (np.where(ok, hours, 0.0) * 3600.0).astype("timedelta64[s]")
    idx = stamps.astype("datetime64[M]").astype(np.int64) - start.astype("datetime64[M]").astype(np.int64)
    return np.where(ok, idx, -1)


def _months(ctx: Context, hours: np.ndarray) -> pd.Categorical:
    """Year-month labels ('2022-01') of times, as an ordered categorical over the window."""
    return pd.Categorical.from_codes(_month_index(ctx, hours), month_labels(ctx), ordered=True)


def orders_table(events: pd.DataFrame, cases: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    """One row per dispatched order: attributes, milestones and final state at the horizon.

    ``final_unit`` is the unit that last held the order (-1 the centre, -2 never signed);
    ``status`` is closed, open or unsigned; ``ttc_wd`` / ``age_wd`` are working days from
    arrival to close (closed orders) or to the horizon (the others)."""
    out = cases.sort_values("order").set_index("order")
    per = _PerOrder(events, out.index.to_numpy())
    out["category"] = pd.Categorical.from_codes(out["category"].astype(int), CATEGORIES)
    out["arrive"] = per.first(Act.ARRIVE, "time")
    out["first_unit"] = per.first(Act.ARRIVE, "unit", fill=-1).astype(np.int16)
    out["sign_due"] = per.first(Act.ARRIVE, "due")
    out["first_sign"] = per.first(Act.SIGN, "time")
    last_activity = per.last([int(a) for a in MAIN_ACTS], "activity", fill=-1)
    out["last_activity"] = last_activity.astype(np.int8)
    holding = [int(Act.SIGN), int(Act.START), int(Act.REOPEN), int(Act.REPLY)]
    out["final_unit"] = per.last(holding, "unit", fill=-2).astype(np.int16)
    for name, act, oc in (
        ("returns", Act.RETURN, None),
        ("extensions", Act.EXTEND, 1),
        ("warnings", Act.WARN, None),
        ("reminders", Act.REMIND, None),
        ("criticisms", Act.CRITICISE, None),
        ("sendbacks", Act.SENDBACK, None),
        ("reopens", Act.REOPEN, None),
        ("replies", Act.REPLY, None),
    ):
        out[name] = per.count(act, oc)
    on_time = events["time"].to_numpy() <= events["due"].to_numpy()
    out["replies_on_time"] = per.count_where(Act.REPLY, on_time)
    out["last_reply"] = per.last([int(Act.REPLY)], "time")
    out["reply_due"] = per.last([int(Act.REPLY)], "due")
    out["final_callback"] = per.last([int(Act.CALLBACK)], "outcome", fill=-1).astype(np.int8)
    # the reached citizen's answer at the last callback: 1 resolved, 0 not, NaN none
    out["final_resolution"] = per.last([int(Act.CALLBACK)], "value")
    out["first_reply"] = per.first(Act.REPLY, "time")
    # the reply deadline last set (sign-for, reopen, extension): the one in force while
    # the order awaits its reply (a send-back keeps it)
    out["due_in_force"] = per.last([int(Act.SIGN), int(Act.REOPEN), int(Act.EXTEND)], "due")
    signed = ~np.isnan(out["first_sign"].to_numpy())
    closed = last_activity == Act.CLOSE
    # a categorical: the per-month and per-unit rates compare its codes, not strings
    out["status"] = pd.Categorical.from_codes(
        np.where(closed, 0, np.where(signed, 1, 2)).astype(np.int8), STATUSES
    )
    close_time = np.where(closed, per.last([int(Act.CLOSE)], "time"), np.nan)
    out["close_time"] = close_time
    out["on_time_sign"] = signed & (out["first_sign"].to_numpy() <= out["sign_due"].to_numpy())
    arrive = out["arrive"].to_numpy()
    wc_arrive = vectorised_working_clock(ctx.cal, arrive)
    wc_close = vectorised_working_clock(ctx.cal, np.where(closed, close_time, ctx.horizon))
    wc_horizon = ctx.cal.working_clock(ctx.horizon)
    hpd = ctx.cal.hours_per_day
    out["ttc_wd"] = np.where(closed, (wc_close - wc_arrive) / hpd, np.nan)
    out["age_wd"] = np.where(closed, np.nan, (wc_horizon - wc_arrive) / hpd)
    first_reply = out["first_reply"].to_numpy()
    replied = ~np.isnan(first_reply)
    wc_reply = vectorised_working_clock(ctx.cal, np.where(replied, first_reply, 0.0))
    out["first_reply_wd"] = np.where(replied, (wc_reply - wc_arrive) / hpd, np.nan)
    # overdue (超期): a reply after its deadline, or awaiting a reply at the horizon with the
    # deadline in force passed (replied and awaiting the callback is not overdue)
    late_reply = out["replies"].to_numpy() > out["replies_on_time"].to_numpy()
    replied_last = np.isin(last_activity, (int(Act.REPLY), int(Act.CALLBACK), int(Act.CLOSE)))
    awaiting = signed & ~closed & ~replied_last
    out["overdue"] = late_reply | (awaiting & (out["due_in_force"].to_numpy() < ctx.horizon))
    out["arrival_month"] = _months(ctx, arrive)
    out.index.name = "order"
    return out


KM_TOLERANCE = 1e-9  # a product of floats equal to 0.5 in exact arithmetic lands within 1e-15


def kaplan_meier_median(durations: np.ndarray, observed: np.ndarray) -> float:
    """Median of the Kaplan-Meier survival curve (right-censored where ``observed`` is False):
    the first time at which S(t) <= 0.5.  S is a product of floats, so "equal to 0.5" is
    judged with a tolerance: for [0,0,2,2,3,5,5,6,7,7] S(3) = 0.5 exactly and the median is
    3, where a plain ``<=`` would give 5.  inf when S never reaches 0.5."""
    if len(durations) == 0:
        return math.nan
    order = np.argsort(durations, kind="stable")
    d, e = durations[order], observed[order].astype(bool)
    times, idx = np.unique(d, return_index=True)
    events = np.add.reduceat(e.astype(np.int64), idx)
    at_risk = len(d) - idx
    surv = np.cumprod(1.0 - events / at_risk)
    below = np.nonzero(surv <= 0.5 + KM_TOLERANCE)[0]
    return float(times[below[0]]) if len(below) else math.inf


def _rate(num: float, den: float) -> float:
    return float(num) / float(den) if den else math.nan


def _order_rates(orders: pd.DataFrame, basic_weight: float, rows: np.ndarray | None = None) -> dict[str, float]:
    """Rates over a set of orders: the whole table (the year) or its ``rows`` (positions:
    a month's cohort, a unit's orders).

    Boolean masks over single columns, not filtered copies of the table: a city year's
    orders table is a few hundred MB."""

    def col(name: str) -> np.ndarray:
        values = orders[name].to_numpy()
        return values if rows is None else values[rows]

    codes = orders["status"].cat.codes.to_numpy()
    status = codes if rows is None else codes[rows]
    rec = status != STATUSES.index("unsigned")
    closed = status == STATUSES.index("closed")
    n_rec, n_closed = int(rec.sum()), int(closed.sum())
    final = col("final_callback")[closed]
    n_sat, n_basic = int((final == SATISFIED).sum()), int((final == BASIC).sum())
    n_dis = int((final == DISSATISFIED).sum())
    n_reached = n_sat + n_basic + n_dis
    n_called = int((final >= 0).sum())  # closed after a callback (not: closed unsampled)
    answer = col("final_resolution")[closed]
    n_answered = int((~np.isnan(answer)).sum())  # (NaN in logs written before the answer)
    n_overdue = int(col("overdue")[rec].sum())
    ttc = col("ttc_wd")[closed]

    def share(name: str) -> float:
        return _rate(int((col(name)[rec] > 0).sum()), n_rec)

    return {
        "dispatched": len(status),
        "received": n_rec,
        "unsigned": len(status) - n_rec,
        "closed": n_closed,
        "open": n_rec - n_closed,
        "closure_rate": _rate(n_closed, n_rec),
        "on_time_sign_rate": _rate(int(col("on_time_sign")[rec].sum()), n_rec),
        "on_time_reply_rate": _rate(int(col("replies_on_time")[rec].sum()), int(col("replies")[rec].sum())),
        "overdue_orders": n_overdue,
        "overdue_rate": _rate(n_overdue, n_rec),
        "extension_rate": share("extensions"),
        "return_rate": share("returns"),
        "reopen_rate": share("reopens"),
        "callback_rate": _rate(n_reached, n_closed),
        "callback_reach": _rate(n_reached, n_called),
        "satisfaction": _rate(n_sat + basic_weight * n_basic, n_reached),
        "satisfied_share": _rate(n_sat, n_reached),
        "basic_share": _rate(n_basic, n_reached),
        "dissatisfied_share": _rate(n_dis, n_reached),
        "resolution_rate": _rate(int((answer == 1.0).sum()), n_answered),
        "ttc_mean_wd": float(ttc.mean()) if len(ttc) else math.nan,
        "ttc_median_wd": float(np.median(ttc)) if len(ttc) else math.nan,
        "ttc_p90_wd": float(np.quantile(ttc, 0.9)) if len(ttc) else math.nan,
    }


def first_reply_quantiles(orders: pd.DataFrame) -> dict[str, float]:
    """Median and p90 of the working days from dispatch to the first reply (首次答复), per
    category and for complaints and suggestions together, over the orders replied to within
    the horizon (those not yet replied are left out: censored, as for time to close).  NaN
    for a group with no reply."""
    wd = orders["first_reply_wd"].to_numpy()
    cats = np.asarray(orders["category"].cat.codes)
    out = {}
    for key, _, _, members in FIRST_REPLY_GROUPS_CATEGORIES:
        codes = [CATEGORIES.index(c) for c in members]
        values = wd[np.isin(cats, codes) & ~np.isnan(wd)]
        empty = len(values) == 0
        out[f"first_reply_median_wd_{key}"] = math.nan if empty else float(np.median(values))
        out[f"first_reply_p90_wd_{key}"] = math.nan if empty else float(np.quantile(values, 0.9))
    return out


def capacity_months(events: pd.DataFrame, ctx: Context) -> int:
    """The calendar months of the window in which the monthly meeting (月调度) lent handlers:
    months with a CAPACITY system event of positive value (a loan; taking handlers back
    is negative)."""
    act = events["activity"].to_numpy()
    lends = (act == Act.CAPACITY) & (events["value"].to_numpy() > 0)
    idx = _month_index(ctx, events["time"].to_numpy()[lends])
    return int(len(np.unique(idx[idx >= 0])))


def assessment_pressure(events: pd.DataFrame, ctx: Context) -> float:
    """What the monthly ranking (一套指标) spends: the extra pace it demands of low-ranked units,
    in unit-months at +100 % (a unit working 15 % faster for two months counts 0.3).  Each
    ASSESS system event sets its unit's speed factor (value) from its time until the unit's
    next ASSESS or the end of the window; a factor starts at 1.  A month is 365.25 x 24 / 12
    hours.  0 with the assessment off (no ASSESS events)."""
    act = events["activity"].to_numpy()
    sel = act == Act.ASSESS
    if not sel.any():
        return 0.0
    t = np.clip(events["time"].to_numpy()[sel], 0.0, ctx.horizon)
    unit = events["unit"].to_numpy()[sel]
    factor = events["value"].to_numpy()[sel]
    order = np.lexsort((t, unit))  # by unit, then time (a stable sort keeps same-time order)
    t, unit, factor = t[order], unit[order], factor[order]
    last = np.r_[unit[1:] != unit[:-1], True]  # the unit's last setting runs to the window end
    until = np.where(last, ctx.horizon, np.r_[t[1:], ctx.horizon])
    return float(np.sum((factor - 1.0) * (until - t)) / (365.25 * 24.0 / 12.0))


def _backlog_series(events: pd.DataFrame, ctx: Context) -> pd.Series:
    """Open (received, not closed) orders at the end of each day of the horizon."""
    act, order, time = (events[c].to_numpy() for c in ("activity", "order", "time"))
    signs = np.nonzero((act == Act.SIGN) & (order >= 0))[0]
    _, first = np.unique(order[signs], return_index=True)  # rows are in time order per order
    first_sign = time[signs[first]]
    closes = time[(act == Act.CLOSE) & (order >= 0)]
    reopens = time[(act == Act.REOPEN) & (order >= 0)]
    days = int(round(ctx.horizon / 24.0))
    ends = (np.arange(days) + 1) * 24.0
    count = (
        np.searchsorted(np.sort(first_sign), ends, side="left")
        - np.searchsorted(np.sort(closes), ends, side="left")
        + np.searchsorted(np.sort(reopens), ends, side="left")
    )
    dates = pd.date_range(ctx.scenario.run.start, periods=days, freq="D")
    return pd.Series(count, index=dates, name="open_orders")


def _recovery_days(backlog: pd.Series, scn: Scenario) -> float:
    """Days after the last surge ends until the backlog is back within 10 % of its level in
    the 30 days before the first surge; NaN without surges, inf if it never recovers."""
    if not scn.demand.surges or backlog.empty:
        return math.nan
    first = pd.Timestamp(min(s.start for s in scn.demand.surges))
    last = pd.Timestamp(max(s.end for s in scn.demand.surges))
    before = backlog[(backlog.index < first) & (backlog.index >= first - pd.Timedelta(days=30))]
    if before.empty:
        return math.nan
    level = before.mean() * 1.1
    after = backlog[backlog.index > last]
    ok = np.nonzero(after.to_numpy() <= level)[0]
    return float(ok[0] + 1) if len(ok) else math.inf


def _workload(events: pd.DataFrame, orders: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    """Per unit: handler-hours used within the horizon (in office hours, and on call) and
    office handler-hours available.

    Normal work runs in office hours; urgent work runs around the clock (on-call roster).
    Utilisation compares office-hour work with office hours; urgent work outside them is
    reported apart as on-call hours, so utilisation cannot exceed 1."""
    scn, cal = ctx.scenario, ctx.cal
    n_units = len(scn.units)
    # handler work: each handling round (START) and work a policy booked (WORK); rows, not a copy
    starts = np.nonzero(np.isin(events["activity"].to_numpy(), (Act.START, Act.WORK)))[0]

    def start_col(name: str) -> np.ndarray:
        return events[name].to_numpy()[starts]

    t = start_col("time")
    effort = start_col("value")
    urgent_ids = orders.index.to_numpy()[orders["urgent"].to_numpy().astype(bool)]
    urgent = np.isin(start_col("order"), urgent_ids)
    end = np.where(urgent, t + effort, vectorised_add_working_hours(cal, t, effort))
    end = np.minimum(end, ctx.horizon)
    office = vectorised_working_clock(cal, end) - vectorised_working_clock(cal, t)
    on_call = np.where(urgent, (end - t) - office, 0.0)
    unit = start_col("unit").astype(int)
    hours = np.bincount(unit, weights=office, minlength=n_units)
    on_call_hours = np.bincount(unit, weights=on_call, minlength=n_units)
    horizon_wh = cal.working_clock(ctx.horizon)
    available = np.array([n * horizon_wh for n in scn.unit_handlers()], dtype=float)
    cap = events[events["activity"] == Act.CAPACITY]
    lent = np.zeros(n_units)
    if len(cap):
        rest = horizon_wh - vectorised_working_clock(cal, cap["time"].to_numpy())
        np.add.at(lent, cap["unit"].to_numpy().astype(int), cap["value"].to_numpy() * rest)
    return pd.DataFrame(
        {
            "handler_hours": hours,
            "on_call_hours": on_call_hours,
            "available_hours": available + lent,
            "lent_hours": lent,
        }
    )


def year_kpis(events: pd.DataFrame, orders: pd.DataFrame, ctx: Context) -> pd.Series:
    """The annual indicators (one row of ``kpi_year``)."""
    scn = ctx.scenario
    k = _order_rates(orders, scn.indicators.basic_weight)
    status = np.asarray(orders["status"].astype(object))
    rec, closed = status != "unsigned", status == "closed"
    ttc, age = orders["ttc_wd"].to_numpy(), orders["age_wd"].to_numpy()
    durations = np.where(closed, ttc, age)[rec].astype(float)
    k["ttc_km_median_wd"] = kaplan_meier_median(durations, closed[rec])
    k.update(first_reply_quantiles(orders))
    open_age = pd.Series(age[status == "open"])
    k["open_age_mean_wd"] = float(open_age.mean()) if len(open_age) else math.nan
    k["open_age_p90_wd"] = float(open_age.quantile(0.9)) if len(open_age) else math.nan
    # Little's law at the horizon: arrival rate of the last 30 days x mean time to close
    last30 = rec & (orders["arrive"].to_numpy() >= ctx.horizon - 30 * 24.0)
    wd30 = ctx.cal.working_days_between(ctx.horizon - 30 * 24.0, ctx.horizon)
    rate = last30.sum() / wd30 if wd30 > 0 else math.nan
    k["littles_law_open"] = rate * k["ttc_mean_wd"]
    k["littles_law_ratio"] = _rate(k["open"], k["littles_law_open"])
    wl = _workload(events, orders, ctx)
    k["handler_hours"] = float(wl["handler_hours"].sum())
    k["on_call_hours"] = float(wl["on_call_hours"].sum())
    k["staffed_hours"] = float(wl["available_hours"].sum())  # the staffing's cost (utilisation's denominator)
    k["utilisation"] = _rate(wl["handler_hours"].sum(), wl["available_hours"].sum())
    acts = events["activity"]
    k["warnings"] = int((acts == Act.WARN).sum())
    k["reminders"] = int((acts == Act.REMIND).sum())
    k["criticisms"] = int((acts == Act.CRITICISE).sum())
    # the supervision team's spend (一支队伍): every action it logged, whatever its kind
    k["supervision_actions"] = k["warnings"] + k["reminders"] + k["criticisms"]
    cap = events.loc[acts == Act.CAPACITY, "value"]
    k["capacity_moved"] = float(cap[cap > 0].sum())
    k["capacity_months"] = capacity_months(events, ctx)
    k["plans"] = int((acts == Act.PLAN).sum())
    k["assessment_pressure"] = assessment_pressure(events, ctx)
    backlog = _backlog_series(events, ctx)
    k["backlog_mean"] = float(backlog.mean())
    k["backlog_peak"] = int(backlog.max()) if len(backlog) else 0
    k["backlog_recovery_days"] = _recovery_days(backlog, scn)
    return pd.Series(k, name="value")


def month_kpis(orders: pd.DataFrame, ctx: Context, events: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per year-month of the window, in time order, with a ``month`` column
    ('2022-01').  The indicators are by arrival month (cohorts: the orders dispatched in the
    month, in their final state at the horizon), so December is not penalised for late
    arrivals.  With ``events``, the bulletin's event-month counts are added beside them,
    prefixed ``event_month_``: orders dispatched, first signed for (received) and closed
    (close events) in the month, whenever they arrived."""
    w = ctx.scenario.indicators.basic_weight
    labels = month_labels(ctx)
    codes = np.asarray(pd.Categorical(orders["arrival_month"], categories=labels).codes)
    none = np.zeros(0, dtype=np.int64)
    groups = pd.Series(np.arange(len(codes))).groupby(codes).indices
    rows = [_order_rates(orders, w, groups.get(i, none)) for i in range(len(labels))]
    df = pd.DataFrame(rows)
    df.insert(0, "month", labels)
    if events is not None:
        n = len(labels)

        def per_month(hours: np.ndarray) -> np.ndarray:
            idx = _month_index(ctx, hours)
            return np.bincount(idx[idx >= 0], minlength=n)[:n]

        act, order = events["activity"].to_numpy(), events["order"].to_numpy()
        time = events["time"].to_numpy()
        case = order >= 0
        df["event_month_dispatched"] = per_month(orders["arrive"].to_numpy())
        df["event_month_received"] = per_month(orders["first_sign"].to_numpy())
        df["event_month_closed"] = per_month(time[case & (act == Act.CLOSE)])
    return df


def unit_kpis(events: pd.DataFrame, orders: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    """Indicators per handling unit (the unit that last held the order) plus workload."""
    scn = ctx.scenario
    w = scn.indicators.basic_weight
    # unsigned orders have final_unit -2 and centre-answered ones -1: no unit row counts them
    groups = orders.groupby("final_unit", sort=True).indices  # unit -> row positions
    none = np.zeros(0, dtype=np.int64)
    rows = []
    handlers = scn.unit_handlers()
    for i, unit in enumerate(scn.units):
        r = _order_rates(orders, w, groups.get(i, none))
        rows.append({"unit": unit.name, "kind": unit.kind, "handlers": handlers[i], **r})
    df = pd.DataFrame(rows)
    wl = _workload(events, orders, ctx)
    df["handler_hours"] = wl["handler_hours"]
    df["on_call_hours"] = wl["on_call_hours"]
    df["utilisation"] = wl["handler_hours"] / wl["available_hours"].where(wl["available_hours"] > 0)
    df["lent_handler_hours"] = wl["lent_hours"]
    acts = events["activity"]
    for col, act in (("returns_made", Act.RETURN), ("reminders", Act.REMIND), ("criticisms", Act.CRITICISE)):
        counts = events.loc[acts == act, "unit"].value_counts()
        df[col] = [int(counts.get(i, 0)) for i in range(len(scn.units))]
    for col in ("dispatched", "unsigned"):
        del df[col]
    df.index.name = "unit_index"
    return df


def open_age_table(orders: pd.DataFrame) -> pd.DataFrame:
    """Open orders at the horizon by age band (working days)."""
    open_ = orders[orders["status"] == "open"]
    bands = [0, 1, 5, 15, 30, math.inf]
    labels = ["<1", "1-5", "5-15", "15-30", ">30"]
    cut = pd.cut(open_["age_wd"], bands, labels=labels, right=False)
    return cut.value_counts().reindex(labels).rename("open_orders").to_frame()
