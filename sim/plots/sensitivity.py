"""Sweep chart: Sobol or Morris sensitivity indices, a bar per parameter with its CI."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.plots import study
from sim.plots.response import indicator_label
from sim.plots.style import COLOURS, Source, new_figure, resolve_lang, safe_text, title, tr

INDEX_LABELS = {
    "S1": ("一阶指数 S1", "first-order S1"),
    "ST": ("总效应指数 ST", "total-order ST"),
    "mu_star": ("μ*", "μ*"),
    "sigma": ("σ", "σ"),
}


def figure(table: pd.DataFrame, source: Source, lang: str = "both", limit: int = 4) -> Figure:
    """One panel per indicator (at most ``limit``): horizontal bars of each index per
    parameter, with its 95 % CI as an error bar where the table gives one.

    ``table``: ``sensitivity.csv`` in long form (parameter, indicator, S1, S1_conf, ST, ST_conf
    or mu_star, mu_star_conf, sigma).  Raises ValueError if its columns are not recognised."""
    lang = resolve_lang(lang)
    param, ind_col, indices = study.sensitivity_columns(table)
    indicators = study.headline(list(table[ind_col].unique()), limit=limit) or list(
        table[ind_col].unique()[:limit])
    n = len(indicators)
    cols = 2 if n > 1 else 1
    rows = math.ceil(n / cols)
    n_params = table[param].nunique()
    fig = new_figure(10, 1.4 + rows * (1.0 + 0.45 * n_params * len(indices) ** 0.5), source, lang)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    height = 0.8 / len(indices)
    for ax, key in zip(axes, indicators, strict=False):
        part = table[table[ind_col] == key].reset_index(drop=True)
        y = np.arange(len(part))
        for i, (name, conf) in enumerate(indices):
            err = part[conf].to_numpy(dtype=float) if conf else None
            ax.barh(y + (i - (len(indices) - 1) / 2) * height, part[name], height=height, xerr=err,
                    color=COLOURS[i % len(COLOURS)], capsize=2, label=tr(lang, *INDEX_LABELS[name]))
        ax.set_yticks(y, [safe_text(str(p)) for p in part[param]], fontsize=8)
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_title(indicator_label(key, lang).replace("\n", " "), fontsize=9)
        ax.set_xlabel(tr(lang, "指数（无量纲）", "index (dimensionless)") if "S1" in dict(indices) else
                      tr(lang, "指标单位的变化", "change in the indicator's unit"), fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes[n:]:
        fig.delaxes(ax)
    kind = "Sobol" if "S1" in dict(indices) else "Morris"
    title(fig, lang, f"敏感性分析（{kind}）", f"Sensitivity indices ({kind})",
          sub=tr(lang, "误差线为 95% 置信区间", "error bars: 95 % confidence intervals"))
    return fig
