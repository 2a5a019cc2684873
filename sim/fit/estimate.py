"""Estimates of a scenario's parameters from a normalised export (sim.fit.read.Export).

Every estimate returns its value and a comment saying its method; the comment starts with
where the value comes from: ``fitted`` (estimated from the export), ``inferred`` (derived
from the export through a model assumption, e.g. hard cases from late replies),
``assumed`` (not identifiable from an export: the Yuelu 2021 baseline's value, or sized by a
stated rule) or ``DESIGN`` (the unified standard's limits).

Time units: working days and working hours are office time on the fitted scenario's
calendar (calendar.office_hours, holidays); clock hours are wall-clock.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.calendar import WorkCalendar, vectorised_working_clock
from sim.fit.read import Export
from sim.scenario import CATEGORIES

MIN_ROWS = 50            # fewer valid rows than this: too little to fit (FitError)
MIN_PER_CATEGORY = 20    # fewer replied orders in a category: its handling time is pooled
MIN_CALLBACKS = 30       # fewer reached callbacks in a category: its satisfaction effect is 0
UTILISATION = 0.70       # handlers sized to this office-hour utilisation when not inferred
BASE_VOLUME = 84817      # the Yuelu 2021 baseline's annual orders (supervision capacity scales)
MIN_CONGESTION = 200     # orders a unit needs before its handlers are inferred from congestion
MIN_WAITED = 30          # ... of which at least this many waited for a handler (> 1 minute) ...
MIN_ABOVE = 30           # ... and this many found the unit's hands full (above the hinge) ...
MAX_P_CONGESTION = 1e-3  # ... and the wait's slope above the hinge is > 0 at this one-sided p
MAX_TOPICS = 30          # topics kept by name; the rest pooled into "其他 other"


@dataclass
class Fitted:
    """The fitted scenario as a nested dict, a comment per dotted path, the targets and the
    report's lines."""

    scenario: dict[str, Any]
    comments: dict[str, str] = field(default_factory=dict)
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)
    report: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def set(self, dotted: str, value: Any, comment: str) -> None:
        node = self.scenario
        parts = dotted.split(".")
        for key in parts[:-1]:
            node = node.setdefault(key, {})
        node[parts[-1]] = value
        self.comments[dotted] = comment


def _r(x: float, digits: int = 3) -> float:
    """A float rounded to ``digits`` significant figures (for a readable scenario)."""
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(f"{x:.{digits}g}")


def _share_dict(counts: pd.Series, digits: int = 4) -> dict[str, float]:
    """Shares that sum to exactly 1 after rounding (the largest takes the remainder)."""
    total = float(counts.sum())
    shares = {str(k): round(float(v) / total, digits) for k, v in counts.items()}
    top = max(shares, key=shares.get)
    shares[top] = round(shares[top] + 1.0 - sum(shares.values()), digits)
    return shares


# -- calendar --------------------------------------------------------------------------------------
def calendar_section(exp: Export, start: dt.date, days: int) -> tuple[dict[str, Any], str]:
    """The scenario's [calendar]: Chinese official holidays, or weekends plus a country's
    public holidays (``holidays`` package) as special days."""
    m = exp.mapping
    office = m.office_hours or [[8.5, 12.0], [14.5, 17.5]]
    if m.calendar in ("chinese", "weekends", "none"):
        return ({"holidays": m.calendar, "office_hours": office},
                f"mapping: {m.calendar} calendar" if m.path != "(built in)" else
                "assumed: official Chinese holidays and adjusted working days (chinesecalendar)")
    import holidays as hol

    last = start + dt.timedelta(days=days + 14)  # inside the calendar margin of any scenario
    country = hol.country_holidays(m.calendar, years=range(start.year, last.year + 1))
    special = [{"date": d, "working": False} for d in sorted(country) if start <= d <= last
               and d.weekday() < 5]
    return ({"holidays": "weekends", "office_hours": office, "special_days": special},
            f"mapping: {m.calendar} public holidays (holidays package) on weekends off")


def work_calendar(cal: dict[str, Any], start: dt.date, days: int) -> WorkCalendar:
    from sim.calendar import OfficeHours

    office = OfficeHours(tuple((float(a), float(b)) for a, b in cal["office_hours"]))
    special = {d["date"]: d["working"] for d in cal.get("special_days", [])}
    return WorkCalendar(start, days, office, cal["holidays"], special)


# -- arrivals ----------------------------------------------------------------------------------------
def arrivals(f: Fitted, exp: Export, start: dt.date, days: int, cal: WorkCalendar) -> None:
    """Month, weekday and hour profiles (raked on non-surge days), surge days, holiday effect."""
    t = exp.table["created"]
    dates = pd.date_range(start, periods=days, freq="D")
    daily = t.dt.normalize().value_counts().reindex(dates, fill_value=0).to_numpy(dtype=float)
    months = dates.month.to_numpy() - 1
    wdays = dates.day_of_week.to_numpy()
    holiday = _holidays(f, start, days, cal, wdays)
    surge = np.zeros(days, dtype=bool)
    mw, ww, hw_ratio = np.ones(12), np.ones(7), 1.0
    for _ in range(3):
        use = ~surge
        for _ in range(4):  # raking: month x weekday
            for m in range(12):
                sel = use & (months == m) & ~holiday
                if sel.any():
                    mw[m] = daily[sel].sum() / max(ww[wdays[sel]].sum(), 1e-9)
            mw[np.isin(np.arange(12), months[use & ~holiday], invert=True)] = np.nan
            mean = np.nanmean(mw)
            mw = np.where(np.isnan(mw), mean, mw) / mean
            for w in range(7):
                sel = use & (wdays == w) & ~holiday
                if sel.any():
                    ww[w] = daily[sel].sum() / max(mw[months[sel]].sum(), 1e-9)
            ww = ww / ww.mean()
        level = daily[use & ~holiday].sum() / max((mw[months] * ww[wdays])[use & ~holiday].sum(), 1e-9)
        expected = level * mw[months] * ww[wdays]
        # a holiday is a holiday whatever its weekday: month weight x holiday weight x the
        # mean weekday weight (1 here), as demand.holiday_weight defines it
        plain = level * mw[months]
        hsel = use & holiday
        if hsel.sum() >= 3 and plain[hsel].sum() > 0:
            hw_ratio = daily[hsel].sum() / plain[hsel].sum()
        expected = np.where(holiday, plain * hw_ratio, expected)
        new = _surge_days(daily, expected)
        if (new == surge).all():
            break
        surge = new
    hours = t.dt.hour.value_counts().reindex(range(24), fill_value=0).to_numpy(dtype=float)
    hw = hours / hours.mean() if hours.sum() else np.ones(24)
    hw = np.where(hw > 0, hw, 0.01)
    f.set("demand.month_weights", [_r(x) for x in mw],
          "fitted: orders per day of each month on non-surge working days, raked with the "
          "weekday profile (months without data: 1)")
    f.set("demand.weekday_weights", [_r(x) for x in ww],
          "fitted: orders per weekday (Mon..Sun) on non-surge days, raked with the month profile")
    f.set("demand.hour_weights", [_r(x) for x in hw],
          "fitted: orders per hour of the day (creation time), relative to the mean hour")
    surges = []
    i = 0
    while i < days:
        if surge[i]:
            j = i
            while j + 1 < days and surge[j + 1]:
                j += 1
            factor = daily[i:j + 1].sum() / max(expected[i:j + 1].sum(), 1e-9)
            surges.append({"start": dates[i].date(), "end": dates[j].date(), "factor": _r(factor)})
            i = j + 1
        else:
            i += 1
    f.set("demand.surges", surges,
          f"fitted: {len(surges)} surge(s): runs of days each > 2 sd above the month x weekday "
          f"profile whose total is > 4 sd and 1.5 x above it (factor: observed / profile)")
    f.summary["holiday_ratio"] = hw_ratio
    f.summary["holiday_days"] = int(holiday.sum())
    f.report.append(f"- holiday effect: {int(holiday.sum())} public holidays in the window; orders "
                    f"on them = {hw_ratio:.2f} x an ordinary day of their month"
                    + ("" if holiday.sum() >= 3 else " (fewer than 3: not estimated)"))


def _surge_days(daily: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Days in a surge: runs of consecutive days each more than 2 Poisson standard
    deviations above the profile, whose total is more than 4 standard deviations and 1.5 x
    above it (a single day alone must pass the run test), widened by the neighbouring days
    still more than 1 sd and 1.2 x above it."""
    exp_ = np.maximum(expected, 1.0)
    z = (daily - exp_) / np.sqrt(exp_)
    cand = (z > 2) & (daily > 1.3 * exp_)
    out = np.zeros(len(daily), dtype=bool)
    i = 0
    while i < len(daily):
        if not cand[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(daily) and cand[j + 1]:
            j += 1
        obs, e = daily[i:j + 1].sum(), exp_[i:j + 1].sum()
        if (obs - e) / math.sqrt(e) > 4 and obs > 1.5 * e:
            # a surge's edges: neighbouring days still clearly above the profile (> 1 sd)
            while i > 0 and z[i - 1] > 1 and daily[i - 1] > 1.2 * exp_[i - 1]:
                i -= 1
            while j + 1 < len(daily) and z[j + 1] > 1 and daily[j + 1] > 1.2 * exp_[j + 1]:
                j += 1
            out[i:j + 1] = True
        i = j + 1
    return out


def _holidays(f: Fitted, start: dt.date, days: int, cal: WorkCalendar, wdays: np.ndarray) -> np.ndarray:
    """Official public holidays of the window: ``sim.calendar.holiday_flags`` (days off of a
    holiday period, weekends inside it included) where it exists, else weekdays off."""
    from sim import calendar as calmod

    flags = getattr(calmod, "holiday_flags", None)
    section = f.scenario["calendar"]
    if flags is not None:
        special = {d["date"]: d["working"] for d in section.get("special_days", [])}
        try:
            return np.array(flags(start, days, section["holidays"], special), dtype=bool)
        except calmod.CalendarRangeError:
            pass
    working = np.array([cal.is_working[d] for d in range(days)])
    return ~working & (wdays < 5)


def scale_volume(f: Fitted, n: int) -> None:
    """annual_orders such that the fitted scenario's expected volume over the window equals
    the export's orders (``Scenario.expected_orders`` with the fitted profiles, holidays and
    surges, at annual_orders = 1, scaled)."""
    import copy
    import warnings

    from sim.scenario import from_dict

    data = copy.deepcopy(f.scenario)
    data["demand"]["annual_orders"] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        per_unit = from_dict(data, "fitted scenario").expected_orders()
    annual = n / per_unit if per_unit > 0 else float(n)
    f.set("demand.annual_orders", round(annual, 1),
          f"fitted: {n:,} orders created in the window, scaled to a calendar year through the "
          f"fitted profiles and surges (so the window expects exactly {n:,})")


# -- mix ---------------------------------------------------------------------------------------------
def mix(f: Fitted, exp: Export, hard: pd.Series, hard_note: str) -> None:
    t = exp.table
    cats = t["category"].value_counts().reindex(list(CATEGORIES), fill_value=0)
    shares = _share_dict(cats)
    if any(v == 0 for v in shares.values()):
        # a category absent from the export keeps a token share (the schema needs all four)
        shares = _share_dict(cats.clip(lower=0.5))
    f.set("demand.category_shares", shares,
          f"fitted: shares of the export's {len(t):,} orders ({', '.join(f'{c} {int(cats[c])}' for c in CATEGORIES)})")
    f.set("demand.urgent_share", _r(float(t["urgent"].mean()), 3),
          "fitted: share of urgent (紧急) orders" if "urgency" in exp.columns
          else "assumed: 0 (the export has no urgency column)")
    if "channel" in t and t["channel"].notna().any():
        ch = t["channel"].fillna("unknown").astype(str).value_counts()
        f.set("demand.channel_shares", _share_dict(ch), "fitted: shares of the intake channels")
    else:
        f.set("demand.channel_shares", {"phone": 1.0}, "assumed: one channel (no channel column)")
    hs = {}
    for c in CATEGORIES:
        sel = t["category"] == c
        hs[c] = _r(float(hard[sel].mean()), 3) if sel.any() else 0.0
    f.set("demand.hard_share", hs, hard_note)


# -- units and topics -------------------------------------------------------------------------
def _kind(name: str, exp: Export) -> str:
    if exp.mapping.unit_kind:
        return exp.mapping.unit_kind
    return "street" if name.endswith(("街道", "镇", "乡")) else "department"


def units_topics(f: Fitted, exp: Export) -> tuple[list[dict[str, Any]], pd.Series]:
    """Units from the handling unit column (one unit when there is none), topics from the
    topic column (or one topic per unit), each topic's unit the one most of its orders went
    to, or '@street' when its orders spread over streets and towns."""
    t = exp.table
    unit = t["unit"] if "unit" in t else pd.Series("承办单位 unit", index=t.index)
    centre = unit.fillna("").astype(str).str.strip().str.lower().str.startswith(("热线中心", "centre", "hotline centre", "12345"))
    unit = unit.where(~centre, np.nan)  # the centre's own answers: not a handling unit
    resp = t.get("responsible_unit", unit)
    resp = resp.fillna(unit).fillna("未签收 unsigned")
    unit = unit.fillna(resp)
    names = sorted(resp.dropna().unique().tolist() + unit.dropna().unique().tolist())
    names = list(dict.fromkeys(names))
    kinds = {n: _kind(n, exp) for n in names}
    topic_col = "topic" if "topic" in t else ("source_category" if "source_category" in t else None)
    topic = t[topic_col].fillna("其他 other").astype(str) if topic_col else resp.map(lambda u: f"{u} 事项")
    counts = topic.value_counts()
    if len(counts) > MAX_TOPICS:
        keep = set(counts.index[:MAX_TOPICS - 1])
        topic = topic.where(topic.isin(keep), "其他 other")
        counts = topic.value_counts()
    shares = _share_dict(counts, 5)
    topics, street_orders = [], []
    for name in counts.index:
        sel = topic == name
        by_unit = resp[sel].value_counts()
        street_share = by_unit[[u for u in by_unit.index if kinds.get(u) == "street"]].sum() / by_unit.sum()
        n_streets = sum(1 for u in by_unit.index if kinds.get(u) == "street")
        if street_share >= 0.8 and n_streets > 1:
            target = "@street"
            street_orders.append(resp[sel])
        else:
            target = str(by_unit.index[0])
        topics.append({"name": str(name), "share": shares[str(name)], "unit": target})
    f.scenario["topics"] = topics
    f.comments["topics"] = (f"fitted: shares of the {'topic column' if topic_col == 'topic' else 'source categories' if topic_col else 'handling units'}"
                            f" ({len(topics)} topics); each topic's unit is the unit most of its "
                            f"orders went to, '@street' when 80 % or more went to several streets")
    units = [{"name": n, "kind": kinds[n], "handlers": 1} for n in names]
    if street_orders:
        s = pd.concat(street_orders)
        s = s[s.map(lambda u: kinds.get(u) == "street")].value_counts()
        pop = _share_dict(s.reindex([u["name"] for u in units if u["kind"] == "street"], fill_value=0), 4)
        for u in units:
            if u["kind"] == "street":
                u["population_share"] = pop.get(u["name"], 0.0)
    f.scenario["units"] = units
    f.summary["topic_of_order"] = topic
    return units, unit


def topic_surges(f: Fitted, exp: Export) -> None:
    """A surge whose extra orders are mostly about some topics becomes a topic surge
    (``demand.surges[].topics`` and ``topics_share``, where the schema has them): the topics
    whose share in the surge window is more than 4 binomial standard errors and 1.5 x above
    their share outside it; topics_share is their combined share in the window."""
    from sim.scenario import Surge

    surges = f.scenario["demand"].get("surges") or []
    topic = f.summary.get("topic_of_order")
    if not surges or topic is None or "topics" not in Surge.model_fields:
        return
    day = exp.table["created"].dt.date
    known = {tp["name"] for tp in f.scenario["topics"]}
    changed = 0
    for sg in surges:
        inside = ((day >= sg["start"]) & (day <= sg["end"])).to_numpy()
        if inside.sum() < 20 or (~inside).sum() < 20:
            continue
        n_in = int(inside.sum())
        named = []
        for name in known:
            is_t = (topic == name).to_numpy()
            p_out = max(float(is_t[~inside].mean()), 0.5 / (~inside).sum())
            p_in = float(is_t[inside].mean())
            se = math.sqrt(p_out * (1 - p_out) / n_in)
            if p_in > 1.5 * p_out and (p_in - p_out) / se > 4:
                named.append(name)
        if named:
            share = float(topic[inside].isin(named).mean())
            sg["topics"] = sorted(named)
            sg["topics_share"] = _r(share, 3)
            changed += 1
    if changed:
        f.comments["demand.surges"] += (f"; {changed} of them about topics (topics whose share in "
                                        f"the window is > 4 se and 1.5 x their share outside it; "
                                        f"topics_share: their share in the window)")


def congestion(sign: np.ndarray, reply: np.ndarray, hours: np.ndarray, use: np.ndarray,
               mean_effort: float) -> tuple[float, float, float, int]:
    """Handlers inferred from congestion at one unit: the slope of the time to reply
    (working hours) on the unit's open orders at sign-for.  With c handlers serving in
    order, each order ahead adds mean effort / c to the wait, so c = mean effort / slope.
    Returns (handlers or nan, slope, standard error, orders used)."""
    signs = np.sort(sign[~np.isnan(sign)])
    replies = np.sort(np.where(np.isnan(reply), np.inf, reply))
    backlog = (np.searchsorted(signs, sign, side="right")
               - np.searchsorted(replies, sign, side="right") - 1).astype(float)
    x, y = backlog[use], hours[use]
    n = len(x)
    if n < MIN_CONGESTION or np.ptp(x) == 0:
        return math.nan, math.nan, math.nan, n
    xm = x - x.mean()
    slope = float((xm * (y - y.mean())).sum() / (xm ** 2).sum())
    resid = y - y.mean() - slope * xm
    se = float(math.sqrt((resid ** 2).sum() / (n - 2) / (xm ** 2).sum()))
    if slope - 1.96 * se <= 0:
        return math.nan, slope, se, n
    c = mean_effort / slope
    return (c if 1 <= c <= 1000 else math.nan), slope, se, n


@dataclass
class HingeReading:
    """One unit's congestion reading from the start of handling (:func:`hinge_handlers`).

    ``hinge``: the in-hand count at which waits begin (the handlers), ``slope``: working hours
    of wait per order in hand beyond it (mean effort / handlers in a c-server queue),
    ``p``: one-sided p-value of that slope (scipy.stats.linregress), ``above``: orders whose
    sign-for found the hands full, ``waited``: orders that waited > 1 minute, ``n``: waits
    used, ``slope_handlers``: mean effort / slope (a check on the hinge), ``congested``: the
    criterion (module constants MIN_*) holds, so the hinge is used."""

    hinge: int
    slope: float
    p: float
    above: int
    waited: int
    n: int
    slope_handlers: float
    congested: bool

    @property
    def handlers(self) -> int:
        """The handlers read: the mean of the hinge and mean effort / slope, rounded.  Both
        read c from the same fit and their errors run opposite ways (a hinge placed low
        leaves more orders beyond it and a flatter slope), so their mean varies less than
        either: on tests/scenarios/fit_congested.toml with 2, 3, 5 and 8 handlers per unit
        (volume scaled, seeds 1-8, 64 unit readings) the hinge alone was exact in 29 (mostly
        one low), the mean in 61, and 3 read one low (docs/fit.md §3)."""
        return max(1, round((self.hinge + self.slope_handlers) / 2))

    def note(self) -> str:
        """The reading in words, for the scenario's comment and the report."""
        if not math.isfinite(self.slope):
            return (f"{self.n} waits, {self.waited} > 1 minute: no hinge with {MIN_ABOVE} orders "
                    f"above it")
        return (f"hinge at {self.hinge} in hand, {self.above} of {self.n} orders above it, wait "
                f"{self.slope:.2f} working h per order beyond it (p = {self.p:.1g}; mean effort / "
                f"slope = {self.slope_handlers:.1f}), {self.waited} waited > 1 minute")


def hinge_handlers(sign: np.ndarray, start: np.ndarray, queued: np.ndarray, use: np.ndarray,
                   mean_effort: float) -> HingeReading:
    """Handlers of one unit from congestion, where the export has the start of handling.

    All times are working clocks (office hours, ``sim.calendar.vectorised_working_clock``),
    one entry per order of the unit.  ``sign``: sign-for; ``start``: first start of handling
    (NaN: none by the export date; +inf: still waiting then); ``queued``: the order entered
    this unit's queue at ``sign`` (signed by this unit, not returned, not the centre's);
    ``use``: its wait ``start - sign`` enters the fit (queued, started, non-urgent: urgent
    orders jump the queue); ``mean_effort``: the assumed mean handler effort, working hours.
    The handlers read are :attr:`HingeReading.handlers`.

    The model's quantity: a handler holds an order for its effort only (office hours; the
    outside wait that follows holds no handler), so the orders *in hand* at a sign-for are
    those signed and not yet started (exact in the export) plus those in a handler's effort,
    taken as those started within the last mean effort (an export has no end of effort).  In
    a c-server queue the wait stays near zero while fewer than c are in hand and grows by
    about mean effort / c per order beyond (the order waits for its turn among those ahead).
    The hinge, fitted by least squares over whole numbers (a line through zero beyond it,
    each candidate needing MIN_ABOVE orders above it), is c.  The reading counts as
    congestion when MIN_CONGESTION waits, MIN_WAITED of them > 1 minute, MIN_ABOVE orders
    above the hinge and a slope > 0 at one-sided p < MAX_P_CONGESTION (scipy.stats.linregress)."""
    from scipy import stats

    sign_q = np.sort(sign[queued])
    start_q = np.sort(np.where(np.isnan(start[queued]), np.inf, start[queued]))
    started = np.sort(start[np.isfinite(start)])
    s = sign[use]
    y = start[use] - s
    waiting = np.searchsorted(sign_q, s, side="left") - np.searchsorted(start_q, s, side="right")
    # started before the sign-for (not the order itself, started at once) and within the effort
    in_effort = np.searchsorted(started, s, side="left") - np.searchsorted(started, s - mean_effort, side="right")
    in_hand = np.maximum(waiting, 0) + in_effort
    n, waited = len(y), int((y > 1 / 60).sum())
    best: tuple[float, int, float] | None = None
    for c in range(1, int(in_hand.max(initial=0)) + 1):
        x = np.maximum(0, in_hand - c + 1).astype(float)
        if (x > 0).sum() < MIN_ABOVE:
            break
        beta = float((x * y).sum() / (x * x).sum())
        sse = float(((y - beta * x) ** 2).sum())
        if best is None or sse < best[0]:
            best = (sse, c, beta)
    if best is None or n < 3:
        return HingeReading(0, math.nan, math.nan, 0, waited, n, math.nan, False)
    _, c, beta = best
    x = np.maximum(0, in_hand - c + 1).astype(float)
    p = float(stats.linregress(x, y, alternative="greater").pvalue) if np.ptp(x) > 0 else math.nan
    above = int((x > 0).sum())
    congested = (n >= MIN_CONGESTION and waited >= MIN_WAITED and above >= MIN_ABOVE
                 and beta > 0 and p < MAX_P_CONGESTION)
    return HingeReading(c, beta, p, above, waited, n, mean_effort / beta if beta > 0 else math.nan,
                        congested)


def handlers(f: Fitted, exp: Export, units: list[dict[str, Any]], unit_of: pd.Series,
             years: float, effort_median: float, effort_sigma: float,
             kind_factor: dict[str, float], hours_per_year: float,
             times: dict[str, np.ndarray] | None = None, flag: int | None = None,
             congestion_used: bool = False) -> None:
    """Handlers per unit (``n / years`` orders a year against ``hours_per_year`` office
    hours: the caller passes the export's orders and the office hours of its active months).
    Throughput cannot identify them (in a stable system throughput equals arrivals whatever
    the headcount), so, in this order: ``flag`` (--handlers, the user's choice); where the
    export has the start of handling (``times`` with ``start_wc``) and the unit shows
    congestion, the hinge of its waits (:func:`hinge_handlers`), ``inferred``; the export's
    headcount column; else sized so the unit's handler-hours run at UTILISATION in office
    hours.  Without a start of handling the report gives the older reading (:func:`congestion`:
    the slope of the time to reply on the unit's open orders, used only with
    ``congestion_used``, since open orders include those in an outside wait, which dilute the
    slope: on the round-trip district the reading is 3-5 x the true headcount).  Each unit's
    source and reading are in the report and in a comment on its ``handlers``."""
    t = exp.table
    mean_effort = effort_median * math.exp(effort_sigma ** 2 / 2)
    head = t.groupby(unit_of)["handlers"].median() if "handlers" in t else None
    has_start = times is not None and "start_wc" in times
    sources: list[str] = []
    for i, u in enumerate(units):
        mask = (unit_of == u["name"]).to_numpy()
        n = int(mask.sum())
        effort = mean_effort * kind_factor[u["kind"]]
        reading = None
        if has_start and flag is None:
            reading = hinge_handlers(times["sign_wc"][mask], times["start_wc"][mask],
                                     times["queued"][mask], times["wait_use"][mask], effort)
        if flag is not None:
            u["handlers"], why = int(flag), "assumed (--handlers)"
        elif reading is not None and reading.congested:
            u["handlers"], why = reading.handlers, f"inferred (congestion: {reading.note()})"
        elif head is not None and u["name"] in head.index and head[u["name"]] > 0:
            u["handlers"], why = int(head[u["name"]]), "assumed (headcount column, median)"
            if reading is not None:
                why += f"; no congestion shown ({reading.note()})"
        else:
            c = math.nan
            note = ""
            if reading is not None:
                note = f"no congestion shown: {reading.note()}"
            elif times is not None:
                c, slope, se, k = congestion(times["sign"][mask], times["reply"][mask],
                                             times["hours"][mask], times["use"][mask], effort)
                if math.isfinite(slope):
                    note = f"slope {slope:.3f} ± {1.96 * se:.3f} h per open order, {k} orders"
            load = n / years * effort
            u["handlers"] = max(1, int(math.ceil(load / (UTILISATION * hours_per_year))))
            if math.isfinite(c) and congestion_used:
                u["handlers"], why = max(1, round(c)), f"inferred (congestion: {note})"
            elif math.isfinite(c):
                why = (f"assumed (sized to {UTILISATION:.0%} busy); the congestion reading ({note}) would imply "
                       f"{c:.0f} if every open order waited for a handler: an upper reading, not "
                       f"used (open orders include outside waits; the export has no start of handling)")
            else:
                why = (f"assumed (sized to {UTILISATION:.0%} busy; "
                       + (note if reading is not None else "no significant congestion" + (f": {note}" if note else ""))
                       + ")")
        sources.append(why.split(" ")[0])
        f.comments[f"units[{i}].handlers"] = why
        f.summary.setdefault("handler_lines", []).append(f"| {u['name']} | {u['kind']} | {u['handlers']} | {why} |")
    kinds = sorted(set(sources))
    quantity = ("handlers: the unit's staff who each hold one order at a time for its handler "
                "effort (office hours; the outside wait after it holds no handler)")
    if has_start:
        rule = (f"inferred where the export shows congestion: the hinge of each order's wait from "
                f"sign-for to start of handling (开始办理时间) against the orders in the unit's hands "
                f"at its sign-for (waiting + started within the assumed mean effort), the wait "
                f"growing by mean effort / handlers per order beyond it; congestion = "
                f"{MIN_CONGESTION}+ waits, {MIN_WAITED}+ over 1 minute, {MIN_ABOVE}+ orders above "
                f"the hinge, slope > 0 at p < {MAX_P_CONGESTION:g} (scipy.stats.linregress); "
                f"assumed otherwise: --handlers, a headcount column, or sized so handlers are "
                f"~{UTILISATION:.0%} busy in office hours with the assumed effort")
    else:
        rule = (f"inferred: from congestion, the slope of the time to reply on the unit's open "
                f"orders; assumed: sized so handlers are ~{UTILISATION:.0%} busy in office hours "
                f"with the assumed effort, a headcount column, or --handlers (the export has no "
                f"start of handling, 开始办理时间, to read congestion from)")
    how = ("per unit: " + ", ".join(f"{sources.count(k)} {k}" for k in kinds)
           + f" ({rule}; each unit's source is on its handlers line and in fit_report.md)")
    f.comments["units"] = (f"fitted: the handling units of the export; kind from the name (ending "
                           f"街道/镇/乡: street); {quantity}; {how}")
    f.summary["handlers_source"] = how


# -- handling times ---------------------------------------------------------------------------------
def censored_lognormal(durations: np.ndarray, observed: np.ndarray) -> tuple[float, float, int]:
    """Median and sigma of a lognormal fitted by maximum likelihood with right censoring
    (scipy.stats.CensoredData): open orders count as 'at least this long', never dropped.
    Returns (median, sigma, n)."""
    from scipy import stats

    d = np.maximum(np.asarray(durations, dtype=float), 1e-3)
    obs = np.asarray(observed, dtype=bool)
    if obs.sum() < 2:
        return math.nan, math.nan, int(len(d))
    data = stats.CensoredData(uncensored=d[obs], right=d[~obs])
    shape, _, scale = stats.lognorm.fit(data, floc=0)
    return float(scale), float(shape), int(len(d))


MIN_UNIT_REPLIES = MIN_CONGESTION  # replied orders a unit needs for its own outside wait
LEAD_FACTOR_RANGE = (0.1, 10.0)  # a unit's outside wait within 1/10..10 x its categories'


def unit_lead_factors(unit_col: np.ndarray, cats: np.ndarray, to_reply: np.ndarray,
                      replied: np.ndarray, use: np.ndarray, category_median: dict[str, float],
                      outside_median: dict[str, float], effort_wd: float
                      ) -> dict[str, tuple[float, int, float]]:
    """Each unit's outside-wait multiplier (``units.lead_factor``), for units with at least
    MIN_UNIT_REPLIES replied orders among ``use``; the others keep 1 (the pooled value).

    Per order, the time to reply (working days) over its category's fitted median
    (``category_median``): the unit's median of that ratio, r, is fitted as a censored
    lognormal (open orders right-censored, never dropped).  The unit's orders would then reply
    at r x m_c, of which the assumed effort is not outside wait, so the multiplier is
    sum_c n_c max(0.1 r m_c, r m_c - effort) / sum_c n_c outside_c over the unit's categories
    (n_c its orders of category c, outside_c the category's outside-wait median), clipped to
    LEAD_FACTOR_RANGE.  Returns {unit: (multiplier, orders, r)}; the refinement by simulation
    (sim.fit.refine) then corrects it for the unit's queueing."""
    out: dict[str, tuple[float, int, float]] = {}
    ratio = to_reply / np.array([category_median.get(c, np.nan) for c in cats])
    for name in sorted(set(unit_col[use]) - {""}):
        sel = use & (unit_col == name) & np.isfinite(ratio)
        if replied[sel].sum() < MIN_UNIT_REPLIES:
            continue
        r, _, k = censored_lognormal(ratio[sel], replied[sel])
        if not math.isfinite(r):
            continue
        n = pd.Series(cats[sel]).value_counts()
        fitted = sum(n[c] * max(0.1 * r * category_median[c], r * category_median[c] - effort_wd) for c in n.index)
        pooled = sum(n[c] * outside_median[c] for c in n.index)
        factor = min(LEAD_FACTOR_RANGE[1], max(LEAD_FACTOR_RANGE[0], fitted / max(pooled, 1e-9)))
        out[name] = (factor, k, r)
    return out


def hours_since(ts: pd.Series, start: dt.date) -> np.ndarray:
    return ((ts - pd.Timestamp(start)) / pd.Timedelta(hours=1)).to_numpy(dtype=float)


def working_days(cal: WorkCalendar, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.full(len(a), np.nan)
    ok = ~np.isnan(a) & ~np.isnan(b)
    out[ok] = (vectorised_working_clock(cal, b[ok]) - vectorised_working_clock(cal, a[ok])) / cal.hours_per_day
    return out
