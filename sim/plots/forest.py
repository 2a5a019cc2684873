"""Comparison chart: a forest plot of the paired differences to the base, with 95 % CIs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.kpi import INDICATORS
from sim.plots import study
from sim.plots.response import UNITS
from sim.plots.style import COLOURS, Source, new_figure, resolve_lang, safe_text, title, tr


def figure(effects: pd.DataFrame, source: Source, lang: str = "both",
           indicators: list[str] | None = None) -> Figure:
    """One panel per indicator: each variant's mean difference to the base (variant − base,
    paired over common seeds) with its 95 % CI; a filled marker where the CI excludes zero.
    Rates are drawn in percentage points.

    ``effects``: ``effects.csv`` (variant, indicator, base_mean, variant_mean, diff, ci_low,
    ci_high, n).  Raises ValueError if a column is missing."""
    lang = resolve_lang(lang)
    effects = study.check_effects(effects)
    keys = study.headline(list(effects["indicator"].unique()), indicators, limit=6) or list(
        effects["indicator"].unique()[:6])
    variants = list(dict.fromkeys(effects["variant"]))
    n = len(keys)
    cols = 2 if n > 1 else 1
    rows = math.ceil(n / cols)
    fig = new_figure(10, 1.4 + rows * (0.9 + 0.35 * len(variants)), source, lang)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False, sharey=True)).ravel()
    y_of = {v: i for i, v in enumerate(variants)}
    for ax, key in zip(axes, keys, strict=False):
        part = effects[effects["indicator"] == key]
        rate = INDICATORS.get(key, ("", "", ""))[2] == "rate"
        scale = 100.0 if rate else 1.0
        for j, (_, row) in enumerate(part.iterrows()):
            y = y_of[row["variant"]]
            lo, hi, d = row["ci_low"] * scale, row["ci_high"] * scale, row["diff"] * scale
            excludes = lo > 0 or hi < 0
            colour = COLOURS[j % len(COLOURS)]
            ax.plot([lo, hi], [y, y], color=colour, lw=2)
            ax.plot([d], [y], "o", color=colour, mfc=colour if excludes else "white", ms=7)
        ax.axvline(0, color="0.3", lw=0.9, ls="--")
        ax.set_yticks(range(len(variants)), [safe_text(str(v)) for v in variants], fontsize=8)
        ax.set_ylim(len(variants) - 0.5, -0.5)
        zh, en, _ = INDICATORS.get(key, (key, key, ""))
        ax.set_title(tr(lang, zh, en), fontsize=9)
        unit = UNITS.get(INDICATORS.get(key, ("", "", "ratio"))[2], UNITS["ratio"])
        ax.set_xlabel(tr(lang, "差值（百分点）", "difference (percentage points)") if rate else
                      tr(lang, f"差值（{unit[0]}）", f"difference ({unit[1]})"), fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    for ax in axes[n:]:
        fig.delaxes(ax)
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], marker="o", color="0.3", mfc="0.3", ls="-", label=tr(lang, "置信区间不含 0", "CI excludes 0")),
        Line2D([], [], marker="o", color="0.3", mfc="white", ls="-", label=tr(lang, "置信区间含 0", "CI includes 0")),
    ]
    fig.legend(handles=handles, loc="outside lower right", fontsize=8, ncols=2, frameon=False)
    n_seeds = int(effects["n"].max()) if len(effects) else 0
    title(fig, lang, "方案对比：与基准的配对差值", "Comparison: paired differences to the base",
          sub=tr(lang, f"变体 − 基准，{n_seeds} 个共同种子，线段为 95% 置信区间",
                 f"variant − base over {n_seeds} common seeds; lines: 95 % confidence intervals"))
    return fig
