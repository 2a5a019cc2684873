"""Chart 6: daily arrivals and open backlog over the run, with holidays and surges."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.figure import Figure

from sim.plots import data
from sim.plots.style import COLOURS, Source, new_figure, resolve_lang, source_of, title, tr
from sim.result import Result

if TYPE_CHECKING:
    from sim.plots.band import Band


def figure(
    table: pd.DataFrame,
    holidays: list[tuple[pd.Timestamp, pd.Timestamp]],
    surges: list[tuple[pd.Timestamp, pd.Timestamp, float]],
    source: Source,
    lang: str = "both",
    band: Band | None = None,
    note: str | None = None,
) -> Figure:
    """Two panels sharing the date axis: orders arriving per day (with a 7-day mean) and orders
    open at each day's end; public holidays shaded grey, demand surges shaded orange.

    ``table``: index dates, columns arrivals (orders/day) and open_orders (orders), as from
    ``data.daily_table``.  ``band`` (replications, ``sim.plots.band``): ``table`` is
    then their mean, with column arrivals_7d (the mean of the runs' 7-day means); the 7-day
    mean and the backlog get 95 % bands.  ``note``: a subtitle."""
    lang = resolve_lang(lang)
    fig = new_figure(10, 6.6, source, lang)
    top, bottom = fig.subplots(2, 1, sharex=True)
    # one stairs path for the year, not 365 bar patches (same look, a fraction of the cost)
    edges = table.index.append(pd.DatetimeIndex([table.index[-1] + pd.Timedelta(days=1)]))
    mean = tr(lang, "（均值）", " (mean)", sep="") if band is not None else ""
    top.stairs(table["arrivals"].to_numpy(), edges, fill=True, color=COLOURS[4], alpha=0.7,
               label=tr(lang, "每日派单", "arrivals per day") + mean)
    smooth = (table["arrivals_7d"] if "arrivals_7d" in table
              else table["arrivals"].rolling(7, center=True, min_periods=1).mean())
    top.plot(table.index, smooth, color=COLOURS[0], lw=1.4, label=tr(lang, "7日平均", "7-day mean") + mean)
    bottom.plot(table.index, table["open_orders"], color=COLOURS[5], lw=1.4,
                label=tr(lang, "日末未办结", "open at day end") + mean)
    if band is not None:
        ci = tr(lang, "95%置信区间", "95 % CI of the mean")
        top.fill_between(table.index, band.low["arrivals_7d"], band.high["arrivals_7d"],
                         color=COLOURS[0], alpha=0.25, lw=0, label=ci)
        bottom.fill_between(table.index, band.low["open_orders"], band.high["open_orders"],
                            color=COLOURS[5], alpha=0.2, lw=0, label=ci)
    for ax in (top, bottom):
        for i, (a, b) in enumerate(holidays):
            ax.axvspan(a, b, color="0.6", alpha=0.25, lw=0,
                       label=tr(lang, "法定节假日", "public holidays") if i == 0 else None)
        for i, (a, b, factor) in enumerate(surges):
            ax.axvspan(a, b, color="#E69F00", alpha=0.2, lw=0,
                       label=tr(lang, f"需求激增 ×{factor:g}", f"demand surge ×{factor:g}") if i == 0 else None)
        ax.grid(alpha=0.3)
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    top.set_ylabel(tr(lang, "派单（件/日）", "orders per day", sep="\n"))
    bottom.set_ylabel(tr(lang, "未办结（件）", "open orders", sep="\n"))
    bottom.set_xlim(table.index[0], table.index[-1] + pd.Timedelta(days=1))
    bottom.xaxis.set_major_locator(mdates.MonthLocator())
    bottom.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    for label in bottom.get_xticklabels():
        label.set_rotation(45)
        label.set_ha("right")
    bottom.set_xlabel(tr(lang, "日期", "date"))
    title(fig, lang, "每日派单与积压", "Daily arrivals and open backlog", sub=note)
    return fig


def daily(res: Result, lang: str = "both", source: Source | None = None) -> Figure:
    """Chart 6 for a run (see ``figure``)."""
    return figure(data.daily_table(res), data.holiday_spans(res), data.surge_spans(res),
                  source or source_of(res), lang)
