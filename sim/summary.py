"""Text for people: the annual summary in the report's own wording, and indicator tables."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

from sim.kpi import INDICATORS


def _period(scn: Any) -> tuple[str, str]:
    """How the sentence names the run's period: 全年 / in the year for one calendar year,
    else its dates."""
    if scn is None:
        return "全年", "In the year"
    start = scn.run.start
    end = start + dt.timedelta(days=scn.run.horizon_days - 1)
    if start.month == 1 and start.day == 1 and end == dt.date(start.year, 12, 31):
        return "全年", "In the year"  # the report's own wording
    return f"{start} 至 {end}，", f"From {start} to {end}"


def annual_sentence(k: pd.Series, scn: Any = None) -> str:
    """The seed report's sentence (一.(四).5), with the simulated figures, and in English;
    the period is named from ``scn`` (a year, or the run's dates).  A rate with no
    denominator (no callback reached anyone) reads n/a, never nan%."""
    zh_period, en_period = _period(scn)
    sat = format_value("satisfaction", k["satisfaction"])
    zh = (
        f"{zh_period}共计签收热线工单 {k['received']:,.0f} 件、办结热线工单 {k['closed']:,.0f} 件，"
        f"总体满意度 {sat}。"
    )
    en = (
        f"{en_period} {k['received']:,.0f} work orders were signed for and {k['closed']:,.0f} "
        f"closed; overall satisfaction {sat}."
    )
    return f"{zh}\n{en}"


def format_value(key: str, value: float) -> str:
    kind = INDICATORS.get(key, ("", "", "ratio"))[2]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float) and math.isinf(value):
        return "never"
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "rate":
        return f"{value:.2%}"
    if kind == "hours":
        return f"{value:,.0f} h"
    if kind == "days":
        return f"{value:.2f}"
    return f"{value:.3f}"


# The unit of an indicator's raw value, by its kind (sim.kpi.INDICATORS); rates are stored as
# fractions 0-1 and their differences shown in percentage points (pp).
UNIT_OF_KIND = {"rate": "fraction", "count": "count", "hours": "hours", "days": "days", "ratio": "ratio",
                "months": "unit-months"}


def unit_of(key: str) -> str:
    """The unit of indicator ``key``'s raw value: fraction, count, hours, days or ratio."""
    return UNIT_OF_KIND[INDICATORS.get(key, ("", "", "ratio"))[2]]


def format_difference(key: str, value: float) -> str:
    """A signed difference of indicator ``key`` for people: a rate's difference (two fractions
    0-1) in percentage points (``+1.23 pp``), other kinds in the unit of ``format_value``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float) and math.isinf(value):
        return "never" if value > 0 else "-never"
    kind = INDICATORS.get(key, ("", "", "ratio"))[2]
    if kind == "rate":
        return f"{value * 100:+.2f} pp"
    if kind in ("count", "hours"):
        # a difference of mean counts is fractional: whole numbers only from 100 up, so a
        # small difference and its CI keep their digits (+0.62, not +1)
        text = f"{value:+,.0f}" if abs(value) >= 100 else f"{value:+.3g}"
        return text + (" h" if kind == "hours" else "")
    if kind == "days":
        return f"{value:+.2f}"
    return f"{value:+.3f}"


def effects_for_people(effects: pd.DataFrame, chinese: bool = False) -> pd.DataFrame:
    """``effects.csv`` (variant, indicator, base_mean, variant_mean, diff, ci_low, ci_high, n:
    raw values, rates as fractions) as text for people: means as ``format_value`` prints them
    (rates in %), differences and their paired 95 % CI with ``format_difference`` (rates in
    percentage points, pp), and a ``*`` where the CI excludes zero.  ``chinese`` adds the
    indicator's Chinese name and bilingual column names (the ``effects_readable.csv`` file)."""
    ind, lo, hi = effects["indicator"], effects["ci_low"], effects["ci_high"]
    cols = {
        "variant": effects["variant"].to_numpy(),
        "indicator": ind.to_numpy(),
        "base": [format_value(i, v) for i, v in zip(ind, effects["base_mean"], strict=True)],
        "variant mean": [format_value(i, v) for i, v in zip(ind, effects["variant_mean"], strict=True)],
        "diff (rates in pp)": [format_difference(i, v) for i, v in zip(ind, effects["diff"], strict=True)],
        "95% CI (paired)": [f"[{format_difference(i, a)}, {format_difference(i, b)}]"
                            for i, a, b in zip(ind, lo, hi, strict=True)],
        "": ["*" if (a > 0 or b < 0) else "" for a, b in zip(lo, hi, strict=True)],
    }
    if not chinese:
        return pd.DataFrame(cols)
    return pd.DataFrame({
        "方案 variant": cols["variant"],
        "指标": [INDICATORS.get(i, (i, i, ""))[0] for i in ind],
        "indicator": cols["indicator"],
        "基准 base": cols["base"],
        "方案均值 variant mean": cols["variant mean"],
        "差值 diff (rates in pp)": cols["diff (rates in pp)"],
        "配对95%置信区间 95% CI (paired)": cols["95% CI (paired)"],
        "区间不含0 CI excludes 0": ["是 yes" if c else "否 no" for c in cols[""]],
        "n": effects["n"].to_numpy(),
    })


def indicator_table(k: pd.Series) -> pd.DataFrame:
    """Every annual indicator with its Chinese and English names, formatted."""
    rows = [
        {"指标": zh, "indicator": en, "value": format_value(key, k[key])}
        for key, (zh, en, _) in INDICATORS.items()
        if key in k
    ]
    return pd.DataFrame(rows)


def render(df: pd.DataFrame) -> str:
    return df.to_string(index=False)
