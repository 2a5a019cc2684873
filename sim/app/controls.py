"""The what-if page's levers: their bounds (from the scenario schema), their baseline values,
and the overrides a setting of them makes.

A setting of the levers (``Levers``) becomes a dict of dotted-path overrides
(``overrides``), exactly what ``hotline compare --variant`` takes, holding only what differs
from the baseline.  ``check`` validates the variant with the scenario schema before anything
runs: an invalid combination comes back as the schema's one-line message, for the page to
show, and never reaches the model.

Bounds come from the schema's own constraints (pydantic ``ge``/``gt`` of the field); where the
schema has no upper bound, the page offers a range around the baseline (``UI_SPAN``), which is
a choice of the page, not of the model.
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import typing
from dataclasses import dataclass, field, replace
from typing import Any

import annotated_types as at

from sim.scenario import (
    CATEGORIES,
    SIX,
    Callback,
    CategoryLimits,
    KindCounts,
    Scenario,
    ScenarioError,
    Surge,
    Unit,
    apply_override,
    from_dict,
)

KINDS = ("department", "street")
# page ranges where the schema has no upper bound (choices of the page, not of the model)
UI_SPAN = {
    "handlers_per_unit": 10,     # at most this many handlers added per unit (above the baseline's)
    "inspectors_min_max": 12,    # the team slider goes to max(this, 2 x baseline)
    "limit_min_max": 30.0,       # limits go to max(this, 2 x baseline) working days
    "surge_percent": (-50.0, 100.0),  # surge size, % change of the arrival rate
}
LIMIT_STEP = 0.5  # working days
SURGE_STEP = 5.0  # percent
SOURCE = "app controls"  # how a validation message names the page's input


@dataclass(frozen=True)
class Bounds:
    """A lever's range on the page: ``lo``..``hi`` in steps of ``step``, in ``unit``."""

    lo: float
    hi: float
    step: float
    unit: str


@dataclass(frozen=True)
class SurgeLever:
    """An added surge: calendar month ``month`` ("2021-08") of the run, arrivals ``percent``
    % above (or below) the rate, for all orders (``topic`` None) or for one topic of the
    responsibility list (the named topic takes all the extra orders, as the schema's
    ``demand.surges.topics`` with no ``topics_share``)."""

    month: str
    percent: float
    topic: str | None = None


@dataclass(frozen=True)
class Levers:
    """One setting of the page's levers.

    ``handlers``: handlers added to each unit of a kind (department 部门, street 街镇),
    negative to remove (handlers per unit: ``handling.extra_handlers``); ``inspectors``: supervision team size (people);
    ``limits``: reply limit by category (working days); ``mechanisms``: each 六个一
    mechanism on/off; ``surge``: an added surge or None; ``callback``: the callback method
    (回访方式)."""

    handlers: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    inspectors: int = 0
    limits: dict[str, float] = field(default_factory=dict)
    mechanisms: dict[str, bool] = field(default_factory=dict)
    surge: SurgeLever | None = None
    callback: str = "manual"

    def with_(self, **changes: Any) -> Levers:
        """A copy with ``changes`` (dict levers are replaced whole)."""
        return replace(self, **changes)


def _schema_lower(model: type, name: str) -> tuple[float, bool]:
    """The lower bound of field ``name`` of pydantic ``model`` and whether it is strict (gt)."""
    for m in model.model_fields[name].metadata:
        if isinstance(m, at.Ge):
            return float(m.ge), False
        if isinstance(m, at.Gt):
            return float(m.gt), True
    return float("-inf"), False


def _schema_upper(model: type, name: str) -> float:
    """The upper bound (le/lt) of field ``name`` of pydantic ``model``, or inf."""
    for m in model.model_fields[name].metadata:
        if isinstance(m, at.Le):
            return float(m.le)
        if isinstance(m, at.Lt):
            return float(m.lt)
    return float("inf")


def choices(model: type, name: str) -> tuple[str, ...]:
    """The allowed values of a Literal field of the schema (e.g. the callback methods)."""
    return tuple(typing.get_args(model.model_fields[name].annotation))


def baseline(scn: Scenario) -> Levers:
    """The levers as the scenario sets them (nothing changed, no surge added)."""
    return Levers(
        handlers={k: int(getattr(scn.handling.extra_handlers, k)) for k in KINDS},
        inspectors=int(scn.mechanisms.one_team.inspectors),
        limits={c: float(scn.time_limits.reply_working_days.get(c)) for c in CATEGORIES},
        mechanisms={m: bool(getattr(scn.mechanisms, m).enabled) for m in SIX},
        surge=None,
        callback=scn.callback.method,
    )


def kinds_present(scn: Scenario) -> list[str]:
    """The unit kinds the scenario has (a lever per kind)."""
    return [k for k in KINDS if any(u.kind == k for u in scn.units)]


def bounds(scn: Scenario) -> dict[str, Bounds]:
    """Each numeric lever's range: ``handlers.<kind>``, ``inspectors``, ``limits.<category>``,
    ``surge.percent``.  Lower bounds from the schema: no unit below ``units.*.handlers``'s
    minimum (0), a team of at least ``inspectors``' minimum (0), limits above 0, a surge
    factor above 0; upper bounds from ``UI_SPAN``."""
    out: dict[str, Bounds] = {}
    unit_lo, _ = _schema_lower(Unit, "handlers")
    for kind in kinds_present(scn):
        # handling.extra_handlers.<kind>: its own range, and no unit below units.*.handlers' minimum
        own_lo, _ = _schema_lower(KindCounts, kind)
        own_hi = _schema_upper(KindCounts, kind)
        fewest = min(u.handlers for u in scn.units if u.kind == kind)
        base = getattr(scn.handling.extra_handlers, kind)
        out[f"handlers.{kind}"] = Bounds(max(own_lo, unit_lo - fewest),
                                         min(own_hi, base + UI_SPAN["handlers_per_unit"]), 1,
                                         "handlers per unit")
    team = type(scn.mechanisms.one_team)
    lo, _ = _schema_lower(team, "inspectors")
    base = scn.mechanisms.one_team.inspectors
    out["inspectors"] = Bounds(lo, max(UI_SPAN["inspectors_min_max"], 2 * base), 1, "inspectors")
    lo, strict = _schema_lower(CategoryLimits, "help")
    for c in CATEGORIES:
        v = scn.time_limits.reply_working_days.get(c)
        first = lo + LIMIT_STEP if strict else lo  # the schema's gt 0: the first step above 0
        out[f"limits.{c}"] = Bounds(first, max(UI_SPAN["limit_min_max"], 2 * v), LIMIT_STEP,
                                    "working days")
    lo, strict = _schema_lower(Surge, "factor")  # factor > 0: percent > -100
    p_lo, p_hi = UI_SPAN["surge_percent"]
    out["surge.percent"] = Bounds(max(p_lo, (lo - 1) * 100 + (SURGE_STEP if strict else 0)), p_hi,
                                  SURGE_STEP, "%")
    return out


def run_months(scn: Scenario) -> list[str]:
    """The calendar months the run covers ("2021-01" ...), where a surge can be placed."""
    start = scn.run.start
    end = start + dt.timedelta(days=scn.run.horizon_days - 1)
    months, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        months.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


def surge_window(scn: Scenario, month: str) -> tuple[dt.date, dt.date]:
    """The first and last day of ``month`` inside the run window."""
    y, m = (int(x) for x in month.split("-"))
    first = dt.date(y, m, 1)
    last = dt.date(y, m, calendar.monthrange(y, m)[1])
    run_end = scn.run.start + dt.timedelta(days=scn.run.horizon_days - 1)
    return max(first, scn.run.start), min(last, run_end)


def overrides(scn: Scenario, levers: Levers) -> dict[str, Any]:
    """The dotted-path overrides (as ``hotline compare --variant`` takes) that ``levers``
    make of ``scn``: only what differs from the scenario, in a fixed order.  JSON-able (dates
    as ISO text)."""
    out: dict[str, Any] = {}
    for kind in KINDS:
        v = levers.handlers.get(kind)
        if v is not None and int(v) != getattr(scn.handling.extra_handlers, kind):
            out[f"handling.extra_handlers.{kind}"] = int(v)
    if levers.inspectors != scn.mechanisms.one_team.inspectors:
        out["mechanisms.one_team.inspectors"] = int(levers.inspectors)
    for c in CATEGORIES:
        v = levers.limits.get(c)
        if v is not None and float(v) != float(scn.time_limits.reply_working_days.get(c)):
            out[f"time_limits.reply_working_days.{c}"] = float(v)
    for m in SIX:
        on = levers.mechanisms.get(m)
        if on is not None and bool(on) != bool(getattr(scn.mechanisms, m).enabled):
            out[f"mechanisms.{m}.enabled"] = bool(on)
    if levers.surge is not None and levers.surge.percent != 0:
        first, last = surge_window(scn, levers.surge.month)
        added: dict[str, Any] = {"start": first.isoformat(), "end": last.isoformat(),
                                 "factor": round(1 + levers.surge.percent / 100, 6)}
        if levers.surge.topic:
            added["topics"] = [levers.surge.topic]
        kept = [s.model_dump(mode="json", exclude_none=True) for s in scn.demand.surges]
        out["demand.surges"] = [*kept, added]
    if levers.callback != scn.callback.method:
        out["callback.method"] = levers.callback
    return out


def variant(scn: Scenario, ov: dict[str, Any]) -> Scenario:
    """The scenario with overrides ``ov``, validated by the schema.

    Raises ScenarioError with the schema's one-line message (naming the field) when the
    combination is invalid."""
    data = copy.deepcopy(scn.model_dump(mode="python"))
    for dotted, value in ov.items():
        apply_override(data, dotted, value, SOURCE)
    return from_dict(data, SOURCE)


@dataclass(frozen=True)
class Checked:
    """A setting checked by the schema: its overrides, and either the variant scenario or
    the schema's message (``error``)."""

    overrides: dict[str, Any]
    scenario: Scenario | None
    error: str | None


def check(scn: Scenario, levers: Levers) -> Checked:
    """Overrides of ``levers`` and the validated variant, or the schema's message."""
    ov = overrides(scn, levers)
    try:
        return Checked(ov, variant(scn, ov), None)
    except ScenarioError as e:
        return Checked(ov, None, str(e))


def unstaffed_units(base: Scenario, variant_scn: Scenario) -> list[str]:
    """Units with handlers in ``base`` and none in ``variant_scn`` (a staff cut the schema
    allows, since 0 is a valid headcount, but that leaves the unit's orders unworked): the
    page warns before running."""
    before, after = base.unit_handlers(), variant_scn.unit_handlers()
    return [u.name for u, b, a in zip(base.units, before, after, strict=True) if b > 0 and a == 0]


def callback_methods() -> tuple[str, ...]:
    """The callback methods the schema allows (manual 人工, sms 短信, sampled 抽样)."""
    return choices(Callback, "method")


__all__ = ["Levers", "SurgeLever", "Bounds", "Checked", "baseline", "bounds", "overrides",
           "variant", "check", "unstaffed_units", "run_months", "surge_window", "kinds_present",
           "callback_methods", "KINDS"]
