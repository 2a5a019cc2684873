"""Charts of a forecast folder (``hotline forecast``, docs/forecast.md): the daily backlog
with its 90 % band over seeds, and the missed deadlines by unit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd


def forecast_charts(daily: pd.DataFrame, units: pd.DataFrame, folder: Path, manifest: dict[str, Any],
                    lang: str = "both") -> list[Path]:
    """Draw ``charts/backlog.png`` and ``charts/missed.png`` into ``folder``."""
    from sim.plots.style import resolve_lang

    lang = resolve_lang(lang)
    paths = [folder / "charts" / "backlog.png", folder / "charts" / "missed.png"]
    backlog_chart(daily, paths[0], manifest, lang)
    missed_chart(units, paths[1], manifest, lang)
    return paths


def backlog_chart(daily: pd.DataFrame, path: Path, manifest: dict[str, Any], lang: str) -> None:
    """Daily backlog per variant: the mean over seeds and its 90 % band, carried-in dashed."""
    from sim.plots.style import COLOURS, new_figure, source_of_manifest, title, tr

    path.parent.mkdir(parents=True, exist_ok=True)
    fig = new_figure(8, 4.5, source_of_manifest(manifest), lang)
    ax = fig.add_subplot()
    for i, (name, g) in enumerate(daily.groupby("variant", sort=False)):
        c = COLOURS[i % len(COLOURS)]
        ax.fill_between(g["date"], g["backlog_lo90"], g["backlog_hi90"], color=c, alpha=0.2, linewidth=0)
        ax.plot(g["date"], g["backlog_mean"], color=c, label=name)
        ax.plot(g["date"], g["carried_in_mean"], color=c, linestyle="--", linewidth=1,
                label=f"{name}: " + tr(lang, "结转工单", "carried-in"))
    ax.set_ylabel(tr(lang, "未办结工单（日末）", "open orders (end of day)"))
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    title(fig, lang, "未办结工单预测（90% 区间）", "Backlog forecast (90 % band over seeds)")
    fig.savefig(path)


def missed_chart(units: pd.DataFrame, path: Path, manifest: dict[str, Any], lang: str) -> None:
    """Per unit (base variant), orders expected to miss their deadline, with the 90 % band."""
    from sim.plots.style import COLOURS, new_figure, safe_text, source_of_manifest, title, tr

    base = units[units["variant"] == "base"].sort_values("missed_mean")
    fig = new_figure(8, max(2.5, 0.3 * len(base) + 1.5), source_of_manifest(manifest), lang)
    ax = fig.add_subplot()
    y = range(len(base))
    ax.barh(list(y), base["missed_mean"], color=COLOURS[0])
    ax.errorbar(base["missed_mean"], list(y),
                xerr=[base["missed_mean"] - base["missed_lo90"], base["missed_hi90"] - base["missed_mean"]],
                fmt="none", ecolor="0.3", capsize=2)
    ax.set_yticks(list(y), [safe_text(u) for u in base["unit"]], fontsize=8)
    ax.set_xlabel(tr(lang, "预计超期工单", "orders expected to miss their deadline"))
    title(fig, lang, "各单位预计超期（90% 区间）", "Missed deadlines by unit (90 % band)")
    fig.savefig(path)
