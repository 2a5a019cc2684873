"""Charts of a search: the objective (or cost) over trials, one profile per free field, and the
Pareto front of cost against the weakest target margin.  PNG and SVG, bilingual labels."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibrate.search import Problem, complete
from sim.plots.style import COLOURS, Source, new_figure, package_version, resolve_lang, title, tr


def _source(p: Problem) -> Source:
    seeds = f"{p.seeds[0]}-{p.seeds[-1]}" if p.seeds == list(range(p.seeds[0], p.seeds[-1] + 1)) \
        else ",".join(map(str, p.seeds))
    return Source(p.base.name, seeds, package_version())


def _save(fig, folder: Path, stem: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for ext in ("png", "svg"):
        path = folder / f"{stem}.{ext}"
        fig.savefig(path)
        out.append(path)
    return out


def trials_chart(p: Problem, trials: pd.DataFrame, folder: Path, lang: str = "both") -> list[Path]:
    """Each trial's objective (calibration) or cost (optimisation, feasible trials filled) and
    the best so far."""
    lang = resolve_lang(lang)
    done = complete(trials)
    value = "cost" if p.mode == "optimise" else "objective"
    fig = new_figure(8, 4.5, _source(p), lang)
    ax = fig.subplots()
    x, y = done["trial"].to_numpy(), done[value].to_numpy(dtype=float)
    if p.mode == "optimise":
        feas = done["feasible"].astype(bool).to_numpy()
        ax.scatter(x[~feas], y[~feas], s=14, facecolors="none", edgecolors=COLOURS[1],
                   label=tr(lang, "未达标", "a target fails"))
        ax.scatter(x[feas], y[feas], s=14, color=COLOURS[0], label=tr(lang, "达标", "every target holds"))
        best = pd.Series(np.where(feas, y, np.inf)).cummin().replace(np.inf, np.nan)
        ax.step(x, best, where="post", color=COLOURS[2], label=tr(lang, "最优可行成本", "best feasible cost"))
        ax.set_ylabel(tr(lang, "成本", "cost") + f" ({' + '.join(t.name for t in p.cost)})")
    else:
        ax.scatter(x, y, s=14, color=COLOURS[0], label=tr(lang, "候选", "candidate"))
        ax.step(x, pd.Series(y).cummin(), where="post", color=COLOURS[2],
                label=tr(lang, "迄今最优", "best so far"))
        ax.axhline(1.0, color="0.5", lw=0.8, ls="--")
        ax.set_yscale("symlog", linthresh=0.1)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(tr(lang, "目标函数 (容差单位²)", "objective (tolerance units²)"))
    ax.set_xlabel(tr(lang, "试验编号", "trial"))
    ax.legend(fontsize=8)
    title(fig, lang, "校准过程" if p.mode == "calibrate" else "优化过程",
          "calibration trials" if p.mode == "calibrate" else "optimisation trials")
    return _save(fig, folder, "trials")


def profile_charts(p: Problem, trials: pd.DataFrame, ident: pd.DataFrame, folder: Path,
                   lang: str = "both") -> list[Path]:
    """One chart per free field: every trial's objective against the field's value, the lower
    envelope, the best value and the range where the targets hold (shaded)."""
    lang = resolve_lang(lang)
    done = complete(trials)
    out: list[Path] = []
    for f in p.free:
        fig = new_figure(7, 4.2, _source(p), lang)
        ax = fig.subplots()
        ax.scatter(done[f.path], done["objective"], s=12, color=COLOURS[0], alpha=0.6,
                   label=tr(lang, "试验", "trial"))
        row = ident[ident["parameter"] == f.path]
        if len(row):
            r = row.iloc[0]
            ax.axvspan(r["range_low"], r["range_high"], color=COLOURS[2], alpha=0.15,
                       label=tr(lang, "容差内范围 (目标函数≤1)", "range within tolerance (objective <= 1)"))
            ax.axvline(r["best"], color=COLOURS[5], lw=1.2, label=tr(lang, "最优值", "best"))
            verdict = tr(lang, "可识别" if r["identified"] else "不可识别",
                         "identified" if r["identified"] else "not identified by these targets")
        else:
            verdict = ""
        ax.axhline(1.0, color="0.5", lw=0.8, ls="--")
        ax.set_yscale("symlog", linthresh=0.1)
        ax.set_ylim(bottom=0)  # the objective is a mean of squares: never negative
        ax.set_xlim(f.lo, f.hi)
        ax.set_xlabel(f.path)
        ax.set_ylabel(tr(lang, "目标函数", "objective"))
        ax.legend(fontsize=8)
        title(fig, lang, "参数剖面", "profile", sub=f"{f.path}: {verdict}")
        out += _save(fig, folder, "profile_" + re.sub(r"[^A-Za-z0-9_]+", "_", f.path))
    return out


def pareto_chart(p: Problem, trials: pd.DataFrame, front: pd.DataFrame, folder: Path,
                 lang: str = "both") -> list[Path]:
    """Cost against the weakest target margin (> 0: every target holds) for every trial, with
    the Pareto front."""
    lang = resolve_lang(lang)
    done = complete(trials)
    fig = new_figure(8, 5, _source(p), lang)
    ax = fig.subplots()
    unc = done["uncertain"].astype(str).str.len() > 0
    ax.scatter(done.loc[~unc, "weakest_margin"], done.loc[~unc, "cost"], s=14, color=COLOURS[0],
               label=tr(lang, "试验", "trial"))
    ax.scatter(done.loc[unc, "weakest_margin"], done.loc[unc, "cost"], s=14, facecolors="none",
               edgecolors=COLOURS[1], label=tr(lang, "不确定 (CI跨越界限)", "uncertain (CI straddles a bound)"))
    ax.step(front["weakest_margin"], front["cost"], where="post", color=COLOURS[5],
            label=tr(lang, "帕累托前沿", "Pareto front"))
    ax.axvline(0.0, color="0.4", lw=0.8, ls="--")
    ax.set_xlabel(tr(lang, "最弱目标裕度 (容差单位, >0 达标)", "weakest target margin (tolerance units, > 0 holds)"))
    ax.set_ylabel(tr(lang, "成本", "cost") + f" ({' + '.join(t.name for t in p.cost)})")
    lo = max(float(done["weakest_margin"].replace(-np.inf, np.nan).min()), -10.0)
    ax.set_xlim(left=lo - 0.1)
    ax.legend(fontsize=8)
    title(fig, lang, "成本与目标的权衡", "cost-target trade-off")
    return _save(fig, folder, "pareto")
