"""Chart 1: orders by month (received, closed, open at month end), public holidays shaded."""

from __future__ import annotations

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.figure import Figure

from sim.plots import data
from sim.plots.style import COLOURS, Source, new_figure, resolve_lang, source_of, title, tr
from sim.result import Result


def figure(
    table: pd.DataFrame,
    holidays: list[tuple[pd.Timestamp, pd.Timestamp]],
    source: Source,
    lang: str = "both",
) -> Figure:
    """Bars of orders received and closed in each month (by the month the event happened) and
    the open backlog at each month's end; public holidays shaded.

    ``table``: index year-month labels ("2021-01"), columns received, closed, open_at_month_end
    (orders), as from ``data.event_month_table``.  ``holidays``: (first day, day after) spans."""
    lang = resolve_lang(lang)
    fig = new_figure(10, 5.2, source, lang)
    ax = fig.add_subplot()
    starts = pd.to_datetime([f"{m}-01" for m in table.index])
    ends = starts + pd.offsets.MonthBegin(1)
    width = (ends - starts).days.to_numpy() * 0.38
    mid = starts + pd.to_timedelta((ends - starts).days.to_numpy() / 2.0, unit="D")
    ax.bar(
        mid - pd.to_timedelta(width / 2, unit="D"), table["received"], width=width,
        color=COLOURS[0], label=tr(lang, "签收（当月）", "received in the month"),
    )
    ax.bar(
        mid + pd.to_timedelta(width / 2, unit="D"), table["closed"], width=width,
        color=COLOURS[2], label=tr(lang, "办结（当月）", "closed in the month"),
    )
    ax.plot(
        ends - pd.Timedelta(hours=12), table["open_at_month_end"], marker="o", color=COLOURS[5],
        label=tr(lang, "月末未办结", "open at month end"),
    )
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
    title(fig, lang, "按月签收、办结与积压", "Orders by month: received, closed, open backlog")
    return fig


def monthly(res: Result, lang: str = "both", source: Source | None = None) -> Figure:
    """Chart 1 for a run (see ``figure``)."""
    return figure(data.event_month_table(res), data.holiday_spans(res), source or source_of(res), lang)

