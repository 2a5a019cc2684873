"""Chart 4: the league table (一套指标): units × months heatmap of the monthly assessment
score, units sorted by their annual score.

The scores are those the model recorded as it ranked the units (考核得分 SCORE events in the
log, see ``data.league_table``).  With the assessment off nothing is ranked: the chart shows
the score the assessment's formula would give the indicators in the log, and says so."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.plots import data
from sim.plots.style import Source, new_figure, resolve_lang, safe_text, source_of, title, tr
from sim.result import Result

MAX_ROWS = 60  # more units than this: the best and worst 30 are drawn


def figure(table: pd.DataFrame, assessed: bool, source: Source, lang: str = "both",
           weights: dict[str, float] | None = None) -> Figure:
    """Heatmap of ``score`` by unit (rows, best annual score on top) and month (columns).

    ``table``: long table from ``data.league_table`` (unit, month, score, annual_score, and
    score_source: "recorded" when the scores are the model's own, as the subtitle then says).
    More than ``MAX_ROWS`` units: the best and the worst ``MAX_ROWS // 2`` are drawn, the
    number left out is written between them.  ``assessed``: whether the monthly assessment (one_set) ran; without it the chart shows the
    indicators the ranking would use, and says so.  ``weights``: the assessment's weights
    (stated under the title).  Cells with no replies are blank."""
    lang = resolve_lang(lang)
    grid = table.pivot(index="unit", columns="month", values="score")
    order = table.groupby("unit")["annual_score"].first().sort_values(ascending=False)
    grid = grid.reindex(order.index)
    hidden = 0
    if len(grid) > MAX_ROWS:  # a city's hundreds of units: the top and bottom of the table
        hidden = len(grid) - MAX_ROWS
        grid = pd.concat([grid.iloc[: MAX_ROWS // 2], grid.iloc[-(MAX_ROWS // 2):]])
    n_units, n_months = grid.shape
    fig = new_figure(10, max(4.5, 1.6 + 0.2 * n_units), source, lang)
    ax = fig.add_subplot()
    values = grid.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    low = float(np.quantile(finite, 0.02)) if len(finite) else 0.0
    image = ax.imshow(np.ma.masked_invalid(values), aspect="auto", cmap="RdYlGn",
                      vmin=min(low, 0.99), vmax=1.0, interpolation="nearest")
    names = [safe_text(str(u), f"unit {i + 1}") for i, u in enumerate(grid.index)]
    ax.set_yticks(range(n_units), names, fontsize=7)
    ax.set_xticks(range(n_months), list(grid.columns), rotation=45, ha="right", fontsize=8)
    ax.set_xlabel(tr(lang, "月份（事件发生月）", "month (of the event)"))
    # the sort order in the label only when the axis is tall enough for it (a district's two
    # or three units leave about 2 inches: the long label was clipped at both ends)
    tall = n_units >= 15
    ax.set_ylabel(tr(lang, "承办单位（按全年得分排序）" if tall else "承办单位",
                     "handling unit (sorted by annual score)" if tall else "handling unit"))
    if hidden:
        ax.axhline(MAX_ROWS // 2 - 0.5, color="white", lw=4)
        ax.text(n_months / 2 - 0.5, MAX_ROWS // 2 - 0.5,
                tr(lang, f"中间 {hidden} 个单位未画出（见 league_table.csv）",
                   f"{hidden} units in between not drawn (see league_table.csv)"),
                ha="center", va="center", fontsize=8, bbox={"fc": "white", "ec": "0.5"})
    bar = fig.colorbar(image, ax=ax, shrink=0.6, pad=0.01)
    bar.set_label(tr(lang, "考核得分", "assessment score", sep="\n"))
    formula = data.score_formula(weights or data.DEFAULT_WEIGHTS, lang)
    recorded = "score_source" in table and (table["score_source"] == "recorded").any()
    if recorded:
        zh_how = "（模型考核时记录的得分；末月在期末之后考核，留空）"
        en_how = "scores recorded by the model; the last month, assessed after the horizon, is blank"
    else:
        zh_how = "（由事件日志按考核公式重算）"
        en_how = "recomputed from the event log"
    # the English note on a line of its own when it is long (a formula of several terms)
    en_sep = "\n" if recorded else " "
    if not tall:  # the sort order, said in the label of a tall chart, goes in the note
        zh_how = zh_how.replace("（", "（按全年得分排序，最好在上；", 1)
        en_how = f"units sorted by annual score, best on top; {en_how}"
    what = formula + tr(lang, zh_how, f"{en_sep}({en_how})", sep=" ")
    if lang == "both":
        zh, en = formula.split("\n")
        what = f"{zh}{zh_how}\n{en}{';' if not recorded else ''}{en_sep}{en_how}"
    if assessed:
        title(fig, lang, "一套指标：各单位月度考核排名", "League table: monthly assessment by unit", sub=what)
    else:
        title(fig, lang, "一套指标（考核未启用）：排名所用指标", "League table (assessment off): the indicators a ranking would use", sub=what)
    return fig


def league(res: Result, lang: str = "both", source: Source | None = None) -> Figure:
    """Chart 4 for a run (see ``figure``)."""
    return figure(data.league_table(res), data.assessment_enabled(res), source or source_of(res), lang,
                  data.assessment_weights(res.scenario))
