"""The ablation table (issue 13): mechanism x indicator, each cell the paired difference to
the baseline with its 95 % CI, marked where the CI excludes zero.

Made from a comparison's ``effects`` (sim.batch.study.effects_table: one row per variant and
indicator, raw values, rates as fractions 0-1), so the table of a finished study can be re-made
from its ``effects.csv`` without running anything.  Rows: each of the six 六个一 mechanisms
switched off alone (``no_<name>``), then all six off (``all_off``); columns: the outcomes, then
the costs (what the mechanism spends).
"""

from __future__ import annotations

import math

import pandas as pd

from sim.kpi import INDICATORS
from sim.scenario import SIX
from sim.summary import format_difference, format_value

# The outcome indicators, then its cost columns, in the order printed.
OUTCOMES = ("closure_rate", "on_time_reply_rate", "on_time_sign_rate", "return_rate",
            "satisfaction", "resolution_rate", "ttc_median_wd", "ttc_p90_wd", "overdue_orders")
COSTS = ("handler_hours", "supervision_actions", "capacity_moved", "plans", "assessment_pressure")
COLUMNS = OUTCOMES + COSTS

# The mechanisms' names as users know them (DESIGN §3), Chinese first.
MECHANISM_NAMES: dict[str, tuple[str, str]] = {
    "one_model": ("一个模式", "one model: answer on the call + monthly dispatch meeting"),
    "one_list": ("一张清单", "one list: responsibility list for dispatch"),
    "one_standard": ("一个标准", "one standard: unified working-day limits"),
    "one_team": ("一支队伍", "one team: supervision team"),
    "one_set": ("一套指标", "one set: monthly ranking on published criteria"),
    "one_plan": ("一个方案", "one plan: quarterly analysis and joint plans"),
}

# short English headings with the difference's unit (the Chinese name is sim.kpi.INDICATORS')
HEADINGS = {
    "closure_rate": "closure (pp)", "on_time_reply_rate": "on-time reply (pp)",
    "on_time_sign_rate": "on-time sign (pp)", "return_rate": "return rate (pp)",
    "satisfaction": "satisfaction (pp)", "resolution_rate": "resolution (pp)",
    "ttc_median_wd": "days to close, median (working days)",
    "ttc_p90_wd": "days to close, p90 (working days)", "overdue_orders": "overdue orders",
    "handler_hours": "handler-hours (h)",
    "supervision_actions": "supervision actions (warnings+reminders+criticisms)",
    "capacity_moved": "temporary handler-months lent", "plans": "plans adopted",
    "assessment_pressure": "ranking pressure (unit-months of extra pace)",
}
_UNIT = {"rate": "pp", "days": "working days", "count": "", "hours": "h", "ratio": "", "months": "unit-months"}


def variant_label(variant: str) -> str:
    """``no_one_team`` -> ``无一支队伍 no one_team``; ``all_off`` -> ``六个一全关 all six off``;
    any other variant name is returned as it is."""
    if variant == "all_off":
        return "六个一全关 all six off"
    name = variant.removeprefix("no_")
    if variant.startswith("no_") and name in MECHANISM_NAMES:
        return f"无{MECHANISM_NAMES[name][0]} no {name}"
    return variant


def column_label(indicator: str) -> str:
    """An indicator's column heading: Chinese name, English name, and the difference's unit,
    e.g. ``按时办结率 on-time reply (pp)``."""
    zh, en, kind = INDICATORS.get(indicator, (indicator, indicator, "ratio"))
    if indicator in HEADINGS:
        return f"{zh} {HEADINGS[indicator]}"
    unit = _UNIT.get(kind, "")
    return f"{zh} {en}" + (f" ({unit})" if unit and f"({unit})" not in en else "")


def is_ablation(variants: list[str] | pd.Series) -> bool:
    """True when every variant is an ablation one (``no_<one of the six>`` or ``all_off``)."""
    names = {f"no_{n}" for n in SIX} | {"all_off"}
    v = set(variants)
    return bool(v) and v <= names


def _cell(indicator: str, diff: float, lo: float, hi: float) -> str:
    if diff is None or (isinstance(diff, float) and math.isnan(diff)):
        return "n/a"
    def strip(s: str) -> str:  # the unit is in the column heading
        return s.removesuffix(" pp").removesuffix(" h")

    mark = "*" if (lo > 0 or hi < 0) else ""
    return (f"{strip(format_difference(indicator, diff))} "
            f"[{strip(format_difference(indicator, lo))}, {strip(format_difference(indicator, hi))}]{mark}")


def ablation_table(effects: pd.DataFrame, columns: tuple[str, ...] = COLUMNS) -> pd.DataFrame:
    """The wide ablation table for people (``ablation.csv``, and what ``compare --ablate``
    prints): a first row ``基准 baseline`` with the base means, then one row per variant in
    the order of ``effects``, one column per indicator of ``columns`` present in ``effects``.
    A variant's cell is ``diff [ci_low, ci_high]`` (rates in percentage points, days in
    working days, hours in handler-hours), with ``*`` where the paired 95 % CI excludes zero;
    ``n/a`` where the difference is undefined (e.g. no run of a variant succeeded).

    ``effects``: the columns variant, indicator, base_mean, diff, ci_low, ci_high."""
    present = [c for c in columns if c in set(effects["indicator"])]
    by = effects.set_index(["variant", "indicator"])
    variants = list(dict.fromkeys(effects["variant"]))
    rows = []
    if variants:
        first = variants[0]
        rows.append({"机制 mechanism": "基准 baseline (mean)",
                     **{column_label(i): format_value(i, float(by.loc[(first, i), "base_mean"]))
                        for i in present}})
    for v in variants:
        row = {"机制 mechanism": variant_label(v)}
        for i in present:
            r = by.loc[(v, i)]
            row[column_label(i)] = _cell(i, float(r["diff"]), float(r["ci_low"]), float(r["ci_high"]))
        rows.append(row)
    return pd.DataFrame(rows, columns=["机制 mechanism", *(column_label(i) for i in present)])


def ablation_markdown(effects: pd.DataFrame) -> str:
    """The ablation table as two Markdown tables (outcomes, then costs), for docs."""
    parts = []
    for title, cols in (("Outcomes", OUTCOMES), ("Costs", COSTS)):
        t = ablation_table(effects, cols)
        head = "| " + " | ".join(t.columns) + " |"
        sep = "|" + "|".join("---" for _ in t.columns) + "|"
        body = ["| " + " | ".join(str(x) for x in row) + " |" for row in t.itertuples(index=False)]
        parts.append(f"**{title}**\n\n" + "\n".join([head, sep, *body]))
    return "\n\n".join(parts)


__all__ = ["ablation_table", "ablation_markdown", "is_ablation", "variant_label", "column_label",
           "OUTCOMES", "COSTS", "COLUMNS", "MECHANISM_NAMES"]
