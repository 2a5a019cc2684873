"""The what-if page's tables: the indicators and the costs, each with the baseline, the
variant, the paired difference and its 95 % CI, formatted as everywhere else in the project
(``sim.summary``: rates in %, their differences in percentage points, pp)."""

from __future__ import annotations

import math

import pandas as pd

from sim.batch.ablation import COSTS
from sim.kpi import INDICATORS
from sim.summary import format_difference, format_value

# the outcomes a manager asks about (issue 17: closure, on-time reply, satisfaction, backlog)
OUTCOMES = ("closure_rate", "on_time_reply_rate", "on_time_sign_rate", "satisfaction",
            "return_rate", "reopen_rate", "ttc_median_wd", "ttc_p90_wd", "overdue_orders",
            "backlog_mean", "backlog_peak")

HEADERS = {
    "zh": ("指标", "基准", "方案", "差值", "95%置信区间（配对）", "显著"),
    "en": ("indicator", "baseline", "what-if", "difference", "95 % CI (paired)", "CI excludes 0"),
}


def indicator_name(key: str, lang: str) -> str:
    """An indicator's name in ``lang`` ("zh" or "en"), from sim.kpi.INDICATORS."""
    zh, en, _ = INDICATORS.get(key, (key, key, ""))
    return zh if lang == "zh" else en


def effect_rows(effects: pd.DataFrame, keys: tuple[str, ...], lang: str) -> pd.DataFrame:
    """One row per indicator of ``keys`` present in ``effects`` (sim.batch.study
    effects_table: variant, indicator, base_mean, variant_mean, diff, ci_low, ci_high; one
    variant): its name, the baseline and variant means (``format_value``), the difference
    and its paired 95 % CI (``format_difference``: rates in pp), and a mark where the CI
    excludes 0.  Column headings in ``lang``."""
    by = effects.set_index("indicator")
    head = HEADERS["zh" if lang == "zh" else "en"]
    rows = []
    for key in keys:
        if key not in by.index:
            continue
        r = by.loc[key]
        lo, hi = float(r["ci_low"]), float(r["ci_high"])
        sig = (lo > 0 or hi < 0) and not (math.isnan(lo) or math.isnan(hi))
        rows.append({
            head[0]: indicator_name(key, lang),
            head[1]: format_value(key, float(r["base_mean"])),
            head[2]: format_value(key, float(r["variant_mean"])),
            head[3]: format_difference(key, float(r["diff"])),
            head[4]: f"[{format_difference(key, lo)}, {format_difference(key, hi)}]",
            head[5]: ("是" if lang == "zh" else "yes") if sig else "",
        })
    return pd.DataFrame(rows, columns=list(head))


def outcome_table(effects: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The indicator table of the page (OUTCOMES)."""
    return effect_rows(effects, OUTCOMES, lang)


# the staffing's own cost (handlers x office hours: what a staffing lever spends), then the
# cost columns of the ablation table (sim.batch.ablation.COSTS)
COST_ROWS = ("staffed_hours", *COSTS)


def cost_table(effects: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The costs as rows: staffed handler-hours, then the ablation table's cost columns
    (sim.batch.ablation.COSTS: handler-hours used, supervision actions, handler-months lent,
    plans adopted, assessment pressure)."""
    return effect_rows(effects, COST_ROWS, lang)


__all__ = ["OUTCOMES", "COSTS", "COST_ROWS", "effect_rows", "outcome_table", "cost_table", "indicator_name"]
