"""Sweep chart: each indicator against a swept parameter, mean with a 95 % CI band, one line
per value of a second swept parameter."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.kpi import INDICATORS
from sim.plots import study
from sim.plots.style import COLOURS, Source, new_figure, resolve_lang, safe_text, title, tr

MAX_LINES = 8  # more values of the second parameter than this: one line over all of them
MAX_CATEGORIES = 15  # more x values than this (a Latin hypercube): points, no band


UNITS = {"rate": ("%", "%"), "days": ("工作日", "working days"), "count": ("件", "orders"),
         "hours": ("小时", "hours"), "ratio": ("比值", "ratio"), "months": ("单位·月", "unit-months")}


def indicator_label(key: str, lang: str) -> str:
    """An indicator's name with its unit (the English names of days indicators carry it)."""
    zh, en, kind = INDICATORS.get(key, (key, key, "ratio"))
    unit = UNITS.get(kind, UNITS["ratio"])
    en_unit = "" if unit[1] in en else f" ({unit[1]})"
    return tr(lang, f"{zh}（{unit[0]}）", f"{en}{en_unit}", sep="\n")


def figure(
    runs: pd.DataFrame,
    params: list[str],
    indicators: list[str],
    source: Source,
    lang: str = "both",
) -> Figure:
    """One panel per indicator: mean over seeds against ``params[0]`` with the 95 % CI band,
    one line per value of ``params[1]`` when there is a second parameter.

    ``runs``: the finished runs of ``runs.parquet`` (one row per run).  Raises ValueError when
    no parameter varies or no indicator is present."""
    lang = resolve_lang(lang)
    if not params:
        raise ValueError("runs.parquet: no swept parameter varies across the runs")
    if not indicators:
        raise ValueError("runs.parquet: none of the indicators to draw is present")
    x = params[0]
    group = params[1] if len(params) > 1 and runs[params[1]].nunique() <= MAX_LINES else None
    n = len(indicators)
    cols = 2 if n > 1 else 1
    rows = math.ceil(n / cols)
    fig = new_figure(10, 1.2 + 3.2 * rows, source, lang)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    scatter = runs[x].nunique() > MAX_CATEGORIES
    for ax, key in zip(axes, indicators, strict=False):
        table = study.response_table(runs, x, group, key)
        parts = [(None, table)] if group is None else list(table.groupby(group, sort=True))
        for i, (value, part) in enumerate(parts):
            colour = COLOURS[i % len(COLOURS)]
            if value is None:
                label = tr(lang, "均值", "mean")
            elif isinstance(value, (int, float, np.number)):
                label = f"{group} = {value:g}"
            else:
                label = safe_text(f"{group} = {value}")
            if scatter:
                ax.plot(part[x], part["mean"], "o", ms=3, color=colour, label=label)
                continue
            ax.plot(part[x], part["mean"], marker="o", color=colour, label=label)
            half = part["half"].fillna(0.0)
            ax.fill_between(part[x], part["mean"] - half, part["mean"] + half, color=colour, alpha=0.18, lw=0)
        if INDICATORS.get(key, ("", "", ""))[2] == "rate":
            ax.yaxis.set_major_formatter(lambda v, _: f"{v:.1%}")
        ax.set_ylabel(indicator_label(key, lang), fontsize=9)
        ax.set_xlabel(x, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes[n:]:
        fig.delaxes(ax)
    seeds = int(runs.groupby(params).size().median()) if len(runs) else 0
    title(fig, lang, "参数扫描：指标响应曲线", "Sweep: indicators against the swept parameters",
          sub=tr(lang, f"每点 {seeds} 个种子的均值，阴影为 95% 置信区间",
                 f"mean over {seeds} seeds per point; band: 95 % confidence interval"))
    return fig
