"""Chart 1: orders by month (received, closed, open at month end), public holidays shaded."""

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
    source: Source,
    lang: str = "both",
    band: Band | None = None,
    note: str | None = None,
) -> Figure:
    """Bars of orders received and closed in each month (by the month the event happened) and
    the open backlog at each month's end; public holidays shaded.

    ``table``: index year-month labels ("2021-01"), columns received, closed, open_at_month_end
    (orders), as from ``data.event_month_table``.  ``holidays``: (first day, day after) spans.
    ``band`` (replications, ``sim.plots.band``): ``table`` is then their mean; the
    bars get 95 % error bars and the backlog line a 95 % band.  ``note``: a subtitle."""
    lang = resolve_lang(lang)
    fig = new_figure(10, 5.2, source, lang)
    ax = fig.add_subplot()
    starts = pd.to_datetime([f"{m}-01" for m in table.index])
    ends = starts + pd.offsets.MonthBegin(1)
    width = (ends - starts).days.to_numpy() * 0.38
    mid = starts + pd.to_timedelta((ends - starts).days.to_numpy() / 2.0, unit="D")
    def err(col: str):  # asymmetric error bars from the band (None for one run)
        if band is None:
            return None
        return [table[col] - band.low[col], band.high[col] - table[col]]

    mean = tr(lang, "（均值）", " (mean)", sep="") if band is not None else ""
    ax.bar(
        mid - pd.to_timedelta(width / 2, unit="D"), table["received"], width=width, yerr=err("received"),
        color=COLOURS[0], label=tr(lang, "签收（当月）", "received in the month") + mean,
        error_kw={"ecolor": "0.2", "capsize": 2, "lw": 0.8},
    )
    ax.bar(
        mid + pd.to_timedelta(width / 2, unit="D"), table["closed"], width=width, yerr=err("closed"),
        color=COLOURS[2], label=tr(lang, "办结（当月）", "closed in the month") + mean,
        error_kw={"ecolor": "0.2", "capsize": 2, "lw": 0.8},
    )
    ax.plot(
        ends - pd.Timedelta(hours=12), table["open_at_month_end"], marker="o", color=COLOURS[5],
        label=tr(lang, "月末未办结", "open at month end") + mean,
    )
    if band is not None:
        ax.fill_between(ends - pd.Timedelta(hours=12), band.low["open_at_month_end"],
                        band.high["open_at_month_end"], color=COLOURS[5], alpha=0.2, lw=0,
                        label=tr(lang, "95%置信区间", "95 % CI of the mean"))
    for i, (a, b) in enumerate(holidays):
        ax.axvspan(a, b, color="0.6", alpha=0.25, lw=0,
                   label=tr(lang, "法定节假日", "public holidays") if i == 0 else None)
    ax.set_xlim(starts[0], ends[-1])
    ax.xaxis.set_major_locator(mdates.MonthLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    for label in ax.get_xticklabels():
        label.set_rotation(45)
        label.set_ha("right")
    ax.set_xlabel(tr(lang, "月份（事件发生月）", "month (of the event)"))
    ax.set_ylabel(tr(lang, "工单数（件）", "orders"))
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    title(fig, lang, "按月签收、办结与积压", "Orders by month: received, closed, open backlog", sub=note)
    return fig


def monthly(res: Result, lang: str = "both", source: Source | None = None) -> Figure:
    """Chart 1 for a run (see ``figure``)."""
    return figure(data.event_month_table(res), data.holiday_spans(res), source or source_of(res), lang)

