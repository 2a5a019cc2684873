"""fit_report.md's chart: the export against what was fitted to it.

Left: orders a day in the export and the fitted scenario's expected orders a day (annual
volume x month, weekday, hour profiles x holidays x surges; ``sim.rates.hourly_rates``).
Right: the time from sign-for to reply per category, the export's replied orders of the
fit's selection (first-round, non-urgent, not hard, not the centre's) as an empirical distribution and the fitted censored lognormal (the whole time to reply, before
the outside wait is taken from it), on a log axis.  Drawn with the project's chart style
(sim.plots.style: CJK font, bilingual labels, source line)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from sim.fit import estimate as est
from sim.fit.read import Export
from sim.scenario import CATEGORIES


def fit_chart(f: est.Fitted, exp: Export, path: Path, lang: str = "both") -> Path:
    """Draw the chart to ``path`` (PNG) and return it."""
    from scipy import stats

    from sim.plots.style import (
        CATEGORY_LABELS,
        COLOURS,
        Source,
        ensure_cjk_font,
        new_figure,
        package_version,
        resolve_lang,
        title,
        tr,
    )
    from sim.rates import hourly_rates
    from sim.scenario import from_dict

    ensure_cjk_font()
    lang = resolve_lang(lang)
    scn = from_dict(f.scenario, "fitted scenario")
    src = Source(f"{scn.name} ← {Path(exp.path).name}", "-", package_version())
    fig = new_figure(11.0, 4.2, src, lang)
    title(fig, lang, "拟合结果与导出数据对照", "fitted scenario against the export")
    ax1, ax2 = fig.subplots(1, 2)
    start, days = f.summary["start"], f.summary["days"]
    dates = pd.date_range(start, periods=days, freq="D")
    daily = exp.table["created"].dt.normalize().value_counts().reindex(dates, fill_value=0)
    expected = hourly_rates(scn).reshape(days, 24).sum(axis=1)
    ax1.plot(dates, daily.to_numpy(), color=COLOURS[4], lw=0.8, label=tr(lang, "导出", "export"))
    ax1.plot(dates, expected, color=COLOURS[5], lw=1.2, label=tr(lang, "拟合期望", "fitted expectation"))
    ax1.set_ylabel(tr(lang, "每日工单", "orders a day"))
    ax1.legend(loc="upper left", fontsize=8)
    ax1.tick_params(axis="x", labelrotation=30, labelsize=8)
    d = f.summary["to_reply_wd"]
    replied = f.summary["replied"]
    cats = exp.table["category"].to_numpy()
    fits = f.summary.get("reply_fits", {})
    for i, c in enumerate(CATEGORIES):
        sel = (cats == c) & replied & (d > 0) & f.summary["fit_selection"]
        if sel.sum() < 5 or c not in fits:
            continue
        x = np.sort(d[sel])
        y = np.arange(1, len(x) + 1) / len(x)
        zh, en = CATEGORY_LABELS[c]
        ax2.step(x, y, where="post", color=COLOURS[i], lw=1.0, label=tr(lang, zh, en))
        med, sig = fits[c]
        if math.isfinite(med) and math.isfinite(sig) and sig > 0:
            grid = np.geomspace(max(x[0], 1e-3), x[-1], 200)
            ax2.plot(grid, stats.lognorm.cdf(grid, sig, scale=med), color=COLOURS[i], ls="--", lw=1.0)
    ax2.set_xscale("log")
    ax2.set_xlabel(tr(lang, "签收至答复（工作日）", "sign-for to reply (working days)"))
    ax2.set_ylabel(tr(lang, "累计比例", "cumulative share"))
    ax2.legend(loc="upper left", fontsize=8,
               title=tr(lang, "实线：导出；虚线：拟合", "solid: export; dashed: fitted", sep="\n"),
               title_fontsize=7)
    fig.savefig(path)
    return path
