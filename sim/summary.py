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
