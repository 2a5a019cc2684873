"""Chart 3: closure, on-time reply, satisfaction and resolution by arrival month (cohorts),
with the annual values and the targets as reference lines."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd
from matplotlib.figure import Figure

from sim.plots import data
from sim.plots.style import COLOURS, Source, new_figure, resolve_lang, source_of, title, tr
from sim.result import Result

if TYPE_CHECKING:
    from sim.plots.band import Band

# indicator -> (Chinese, English)
COHORT_INDICATORS = {
    "closure_rate": ("办结率", "closure rate"),
    "on_time_reply_rate": ("按时办结率", "on-time reply rate"),
    "satisfaction": ("满意率", "satisfaction"),
    # the callback's resolution answer (解决率, issue 11): satisfied is not the same as solved
    "resolution_rate": ("解决率", "resolution rate"),
}


def figure(
    cohorts: pd.DataFrame,
    annual: pd.Series,
    targets: dict[str, tuple[float, float]],
    source: Source,
    lang: str = "both",
    band: Band | None = None,
    note: str | None = None,
) -> Figure:
    """One panel per indicator: its value for the orders that arrived in each month, the
    annual value (dotted) and the target's bounds (dashed, shaded between).  ``band``
    (replications, ``sim.plots.band``): ``cohorts`` and ``annual`` are then means over
    the runs, each cohort's value drawn with its 95 % band; ``note`` adds to the subtitle.

    ``cohorts``: index year-month labels, columns closure_rate, on_time_reply_rate,
    satisfaction, resolution_rate (shares 0-1; a month with no answer is NaN, not drawn).  ``annual``: the same keys for the run.  ``targets``:
    indicator -> (low, high) bounds (±inf for an open side); indicators without a target are
    drawn without one."""
    lang = resolve_lang(lang)
    fig = new_figure(10, 10.4, source, lang)
    axes = fig.subplots(len(COHORT_INDICATORS), 1, sharex=True)
    x = list(range(len(cohorts)))
    for ax, (key, (zh, en)), colour in zip(axes, COHORT_INDICATORS.items(), COLOURS, strict=False):
        mean = tr(lang, "（均值）", " (mean)", sep="") if band is not None else ""
        ax.plot(x, cohorts[key].to_numpy(), marker="o", color=colour,
                label=tr(lang, "按派单月", "by arrival month") + mean)
        if band is not None:
            ax.fill_between(x, band.low[key].to_numpy(), band.high[key].to_numpy(), color=colour,
                            alpha=0.2, lw=0, label=tr(lang, "95%置信区间", "95 % CI of the mean"))
        if key in annual and not math.isnan(annual[key]):
            ax.axhline(annual[key], color="0.25", ls=":", lw=1.2,
                       label=tr(lang, f"全年 {annual[key]:.2%}", f"year {annual[key]:.2%}"))
        if key in targets:
            lo, hi = targets[key]
            finite = [v for v in (lo, hi) if math.isfinite(v)]
            for i, v in enumerate(finite):
                ax.axhline(v, color="#D55E00", ls="--", lw=1,
                           label=tr(lang, "目标范围", "target bounds") if i == 0 else None)
            if len(finite) == 2:
                ax.axhspan(lo, hi, color="#D55E00", alpha=0.07, lw=0)
        ax.set_ylabel(tr(lang, f"{zh}（%）", f"{en} (%)", sep="\n"))
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:.1%}")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    axes[-1].set_xticks(x, list(cohorts.index), rotation=45, ha="right")
    axes[-1].set_xlabel(tr(lang, "派单月份（同月派单的工单为一组）", "arrival month (cohort of orders)"))
    title(fig, lang, "按派单月的办结率、按时办结率、满意率与解决率",
          "Closure, on-time reply, satisfaction and resolution by arrival month",
          sub=tr(lang, "末期派单的工单到期末尚未办完（截尾），故办结率较低",
                 "late cohorts close less: their orders had less time before the horizon (censored)")
          + (f"\n{note}" if note else ""))
    return fig


def target_bounds(targets) -> dict[str, tuple[float, float]]:
    """indicator -> (low, high) from a ``sim.targets.Targets`` (or None: no targets)."""
    if targets is None:
        return {}
    return {key: t.bounds() for key, t in targets.targets.items()}


def cohorts(res: Result, lang: str = "both", source: Source | None = None, targets=None,
            annual: pd.Series | None = None) -> Figure:
    """Chart 3 for a run (see ``figure``); ``targets`` a ``sim.targets.Targets`` or None;
    ``annual`` the year's indicators when at hand (a run folder's kpi_year.csv)."""
    annual = res.kpis().iloc[0] if annual is None else annual
    return figure(data.cohort_table(res), annual, target_bounds(targets), source or source_of(res), lang)
