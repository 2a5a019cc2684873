"""Chart 2: time to close in working days by category (ECDF), with the reply time limits."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from sim.plots import data
from sim.plots.style import (
    CATEGORY_LABELS,
    COLOURS,
    Source,
    new_figure,
    resolve_lang,
    source_of,
    title,
    tr,
)
from sim.result import Result


def figure(
    ttc: dict[str, np.ndarray],
    limits: dict[str, float],
    source: Source,
    lang: str = "both",
) -> Figure:
    """Empirical CDF of working days from arrival to close per category (closed orders), each
    with its reply time limit drawn as a dashed line of the same colour.

    ``ttc``: category -> sorted durations (working days); ``limits``: category -> reply limit
    (working days, the scenario's ``time_limits.reply_working_days``)."""
    lang = resolve_lang(lang)
    fig = new_figure(10, 5.2, source, lang)
    ax = fig.add_subplot()
    top = 0.0
    for i, (cat, values) in enumerate(ttc.items()):
        zh, en = CATEGORY_LABELS.get(cat, (cat, cat))
        colour = COLOURS[i % len(COLOURS)]
        y = np.arange(1, len(values) + 1) / len(values)
        # one point per distinct quantile is enough to draw: thin a big log to <= 2,000 steps
        step = max(1, len(values) // 2000)
        ax.step(values[::step], y[::step], where="post", color=colour,
                label=tr(lang, f"{zh}（{len(values):,} 件）", f"{en} ({len(values):,} orders)"))
        top = max(top, float(np.quantile(values, 0.99)))
        if cat in limits:
            ax.axvline(limits[cat], color=colour, ls="--", lw=1.2,
                       label=tr(lang, f"{zh}时限 {limits[cat]:g} 个工作日", f"{en} limit {limits[cat]:g} wd"))
    ax.set_xlim(0, max(top, *limits.values()) * 1.05 if limits else top * 1.05)
    ax.set_ylim(0, 1.01)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_xlabel(tr(lang, "派单至办结（工作日）", "arrival to close (working days)"))
    ax.set_ylabel(tr(lang, "已办结工单累计占比（%）", "share of closed orders (%)"))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    title(fig, lang, "各类工单办结时长", "Time to close by category",
          sub=tr(lang, "虚线为答复时限（办结含回访，可晚于答复）",
                 "dashed: reply time limit (closing includes the callback, after the reply)"))
    return fig


def time_to_close(res: Result, lang: str = "both", source: Source | None = None) -> Figure:
    """Chart 2 for a run (see ``figure``)."""
    limits = res.scenario.time_limits.reply_working_days.model_dump()
    ttc = data.ttc_by_category(res)
    return figure(ttc, {k: v for k, v in limits.items() if k in ttc}, source or source_of(res), lang)
