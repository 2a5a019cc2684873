"""Chart 7: handler utilisation by unit over the run (time average over office hours)."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from sim.plots.style import (
    COLOURS,
    Source,
    new_figure,
    resolve_lang,
    safe_text,
    source_of,
    title,
    tr,
)
from sim.result import Result

MAX_ROWS = 60  # more units than this: the 30 least and 30 most used are drawn
KIND_LABELS = {"department": ("部门", "department"), "street": ("街镇", "street/town")}


def figure(units: pd.DataFrame, overall: float, source: Source, lang: str = "both") -> Figure:
    """Horizontal bars: each unit's handler-hours used in office hours over its handler-hours
    available (handlers × office hours of the run, plus hours lent by the monthly meeting),
    sorted; coloured by kind; the overall utilisation drawn as a line.

    ``units``: ``Result.by_unit()`` or the run folder's kpi_unit.csv (columns unit, kind,
    handlers, utilisation as 0-1).  More than ``MAX_ROWS`` units: the least and the most used
    ``MAX_ROWS // 2`` are drawn, the number left out is written between them."""
    lang = resolve_lang(lang)
    table = units.sort_values("utilisation")
    hidden = 0
    if len(table) > MAX_ROWS:  # a city's hundreds of units: the least and the most used
        hidden = len(table) - MAX_ROWS
        table = pd.concat([table.iloc[: MAX_ROWS // 2], table.iloc[-(MAX_ROWS // 2):]])
    n = len(table)
    fig = new_figure(10, max(4.5, 1.6 + 0.2 * n), source, lang)
    ax = fig.add_subplot()
    kinds = list(dict.fromkeys(table["kind"]))
    colour = {k: COLOURS[i % len(COLOURS)] for i, k in enumerate(kinds)}
    ax.barh(range(n), table["utilisation"], color=[colour[k] for k in table["kind"]])
    names = [f"{safe_text(str(u), f'unit {i + 1}')} ({h})"
             for i, u, h in zip(table.index, table["unit"], table["handlers"], strict=True)]
    ax.set_yticks(range(n), names, fontsize=7)
    ax.set_ylim(-0.6, n - 0.4)
    overall_line = ax.axvline(overall, color="0.2", ls="--", lw=1.2)
    if hidden:
        ax.axhline(MAX_ROWS // 2 - 0.5, color="0.5", lw=1, ls=":")
        ax.text(0.5, MAX_ROWS // 2 - 0.5, tr(lang, f"中间 {hidden} 个单位未画出（见 kpi_unit.csv）",
                f"{hidden} units in between not drawn (see kpi_unit.csv)"), transform=ax.get_yaxis_transform(),
                ha="center", va="center", fontsize=8, bbox={"fc": "white", "ec": "0.5"})
    handles = [Patch(color=colour[k], label=tr(lang, *KIND_LABELS.get(k, (k, k)))) for k in kinds]
    handles.append(overall_line)
    overall_line.set_label(tr(lang, f"全区 {overall:.1%}", f"all units {overall:.1%}"))
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_xlim(0, max(float(table["utilisation"].max()) * 1.1, overall * 1.3))
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel(tr(lang, "人员利用率（办公时间内的时间平均，%）", "handler utilisation (time average over office hours, %)"))
    ax.set_ylabel(tr(lang, "承办单位（办理人员数）", "handling unit (handlers)"))
    title(fig, lang, "各单位人员利用率（全年）", "Handler utilisation by unit over the run",
          sub=tr(lang, "办公时间内已用工时 ÷ 可用工时；夜间紧急值班另计",
                 "handler-hours used in office hours ÷ available; urgent on-call work outside them not counted",
                 sep="\n"))
    return fig


def utilisation(res: Result, lang: str = "both", source: Source | None = None,
                units: pd.DataFrame | None = None, annual: pd.Series | None = None) -> Figure:
    """Chart 7 for a run (see ``figure``).  ``units`` / ``annual``: the run's unit and year
    tables when already at hand (a run folder's kpi_unit.csv and kpi_year.csv, written from
    the same log), else computed from ``res``."""
    units = res.by_unit() if units is None else units
    annual = res.kpis().iloc[0] if annual is None else annual
    return figure(units, float(annual["utilisation"]), source or source_of(res), lang)
