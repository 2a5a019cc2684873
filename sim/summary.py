"""Text for people: the annual summary in the report's own wording, and indicator tables."""

from __future__ import annotations

import math

import pandas as pd

from sim.kpi import INDICATORS


def annual_sentence(k: pd.Series) -> str:
    """The seed report's sentence (一.(四).5), with the simulated figures, and in English."""
    zh = (
        f"全年共计签收热线工单 {k['received']:,.0f} 件、办结热线工单 {k['closed']:,.0f} 件，"
        f"总体满意度 {k['satisfaction']:.2%}。"
    )
    en = (
        f"In the year {k['received']:,.0f} work orders were signed for and {k['closed']:,.0f} "
        f"closed; overall satisfaction {k['satisfaction']:.2%}."
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
