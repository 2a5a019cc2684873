"""``hotline report FOLDER``: one self-contained ``report.html`` for a run, sweep or comparison
folder, in the style of the district's annual report (年总结).

Rendered from a Jinja2 template; the charts are PNG data URIs, so the file opens anywhere with
no network access.  The charts come from ``FOLDER/charts/`` when ``hotline plot`` drew them
from the same data in the same language, and are drawn here otherwise.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from sim.kpi import INDICATORS
from sim.plots.folder import (
    current_pngs,
    figures,
    find_targets,
    folder_kind,
    read_manifest,
)
from sim.plots.style import resolve_lang, tr
from sim.summary import annual_sentence, effects_for_people, format_value

REPORT = "report.html"

CHART_TITLES = {
    "monthly": ("按月签收、办结与积压", "Orders by month"),
    "time_to_close": ("各类工单办结时长", "Time to close by category"),
    "cohorts": ("按派单月的办结率、按时办结率与满意率", "Closure, on-time reply and satisfaction by arrival month"),
    "league": ("一套指标：单位月度考核", "League table by unit and month"),
    "flow": ("工单流转", "Lifecycle flow"),
    "daily": ("每日派单与积压", "Daily arrivals and backlog"),
    "utilisation": ("各单位人员利用率", "Handler utilisation by unit"),
    "response": ("参数扫描响应曲线", "Sweep response curves"),
    "sensitivity": ("敏感性指数", "Sensitivity indices"),
    "forest": ("配对差值森林图", "Forest plot of paired differences"),
}


def _env():
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(loader=PackageLoader("sim.report", "templates"),
                       autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)


def _png_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def chart_images(folder: Path, lang: str, targets: str | Path | None, res=None,
                 pngs: dict[str, bytes] | None = None) -> list[dict[str, str]]:
    """[{name, title, uri}] for every chart of the folder: ``pngs`` (or those in charts/ when
    current), else drawn now."""
    pngs = pngs if pngs is not None else current_pngs(folder, lang, targets)
    if pngs is None:
        pngs = {}
        for name, fig in figures(folder, lang, targets, res):
            buf = io.BytesIO()
            fig.savefig(buf, format="png", pil_kwargs={"compress_level": 1})
            pngs[name] = buf.getvalue()
    return [{"name": name, "title": chart_title(name, lang), "uri": _png_uri(png)}
            for name, png in pngs.items()]


def chart_title(name: str, lang: str) -> str:
    """A chart's caption; ``monthly-p0000`` (a design point's replications, see
    ``sim.plots.replications``) reads as the monthly chart of p0000, mean of its seeds."""
    if name in CHART_TITLES:
        return tr(lang, *CHART_TITLES[name])
    chart, _, point = name.partition("-")
    if chart in CHART_TITLES and point:
        zh, en = CHART_TITLES[chart]
        return tr(lang, f"{zh}：{point}（各种子均值与95%置信区间）", f"{en}: {point} (mean over seeds, 95 % CI)")
    return name


def _fmt(key: str, value: Any) -> str:
    try:
        return format_value(key, float(value))
    except (TypeError, ValueError):
        return str(value)


def _indicator_rows(k: pd.Series, targets) -> list[dict[str, str]]:
    rows = []
    for key, (zh, en, _) in INDICATORS.items():
        if key not in k:
            continue
        row = {"key": key, "zh": zh, "en": en, "value": _fmt(key, k[key]), "target": "", "result": ""}
        if targets is not None and key in targets.targets:
            t = targets.targets[key]
            v = float(k[key])
            row["target"] = t.describe()
            row["result"] = "PASS" if (not math.isnan(v) and t.passes(v)) else "FAIL"
        rows.append(row)
    return rows


def _scenario_rows(scn) -> list[tuple[str, str]]:
    limits = scn.time_limits.reply_working_days.model_dump()
    mech = scn.mechanisms.model_dump()
    on = [name for name, m in mech.items() if isinstance(m, dict) and m.get("enabled")]
    off = [name for name, m in mech.items() if isinstance(m, dict) and not m.get("enabled", True)]
    return [
        ("场景 scenario", f"{scn.name}: {scn.description}"),
        ("起始日期 start", str(scn.run.start)),
        ("时长 horizon", f"{scn.run.horizon_days} 天 days"),
        ("年工单量 annual orders", f"{scn.demand.annual_orders:,.0f}"),
        ("承办单位 handling units", f"{len(scn.units)}（办理人员 {sum(scn.unit_handlers())} handlers）"),
        ("答复时限 reply limits (working days)", ", ".join(f"{k} {v:g}" for k, v in limits.items())),
        ("办理时间倍数 handling.scale", f"{scn.handling.scale:g}"),
        ("启用的机制 mechanisms on", ", ".join(on) or "—"),
        ("关闭的机制 mechanisms off", ", ".join(off) or "—"),
    ]


def _league_rows(table: pd.DataFrame, n: int = 5) -> dict[str, list[dict[str, str]]]:
    """The top and bottom ``n`` units by annual score, from ``data.league_table``'s table."""
    if table.empty:
        return {"top": [], "bottom": []}
    year = table.groupby(["unit", "kind"], sort=False).agg(
        annual_score=("annual_score", "first"), replies=("replies", "sum"), late=("late_replies", "sum"),
        callbacks=("callbacks", "sum"), dissatisfied=("dissatisfied", "sum"), criticisms=("criticisms", "sum"),
    ).reset_index().sort_values("annual_score", ascending=False)

    def rows(part: pd.DataFrame) -> list[dict[str, str]]:
        return [{
            "unit": r.unit, "score": f"{r.annual_score:.3f}",
            "on_time": f"{1 - r.late / r.replies:.2%}" if r.replies else "n/a",
            "dissatisfied": f"{r.dissatisfied / r.callbacks:.2%}" if r.callbacks else "n/a",
            "criticisms": f"{r.criticisms:,}", "replies": f"{r.replies:,}",
        } for r in part.itertuples()]

    return {"top": rows(year.head(n)), "bottom": rows(year.tail(n).iloc[::-1])}


def _table_html(df: pd.DataFrame, digits: int = 4) -> str:
    shown = df.copy()
    for col in shown.columns:
        if pd.api.types.is_float_dtype(shown[col]):
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else f"{v:.{digits}g}")
    return shown.to_html(index=False, classes="data", border=0, na_rep="")


def run_context(folder: Path, lang: str, targets_path: str | Path | None) -> dict[str, Any]:
    from sim.plots.data import assessment_weights, league_table, score_formula
    from sim.plots.folder import CHARTS
    from sim.result import Result
    from sim.scenario import from_dict, read_toml

    pngs = current_pngs(folder, lang, targets_path)
    stored_league = folder / CHARTS / "league_table.csv"
    if pngs is not None and stored_league.is_file():
        # hotline plot drew everything from this folder's data: no need to load the event log
        res = None
        scenario = from_dict(read_toml(folder / "scenario.toml"), str(folder / "scenario.toml"))
        league = pd.read_csv(stored_league, encoding="utf-8-sig")
    else:
        res = Result.load(folder)
        scenario = res.scenario
        league = league_table(res)
    targets, found = find_targets(folder, scenario.name, targets_path)
    k = pd.read_csv(folder / "kpi_year.csv", encoding="utf-8-sig", index_col=0).iloc[0]
    sentence_zh, sentence_en = annual_sentence(k).split("\n")
    manifest = read_manifest(folder)
    return {
        "kind": "run",
        "heading": tr(lang, f"{scenario.name} 年度总结", f"{scenario.name}: annual report"),
        "sentence_zh": sentence_zh if lang != "en" else "",
        "sentence_en": sentence_en if lang != "zh" else "",
        "indicators": _indicator_rows(k, targets),
        "targets_file": str(found) if found else "",
        "charts": chart_images(folder, lang, targets_path, res, pngs),
        "league": _league_rows(league),
        "assessed": bool(scenario.mechanisms.one_set.enabled),
        "score_recorded": bool("score_source" in league and (league["score_source"] == "recorded").any()),
        "score_formula": score_formula(assessment_weights(scenario), lang).replace("\n", " "),
        "scenario": _scenario_rows(scenario),
        "manifest": manifest,
        "seed": manifest.get("seed", ""),
    }


def study_context(folder: Path, kind: str, lang: str) -> dict[str, Any]:
    manifest = read_manifest(folder)
    tables = []
    if kind == "compare":
        effects = pd.read_csv(folder / "effects.csv", encoding="utf-8-sig")
        # as people read it: means as printed, rate differences in percentage points (pp)
        readable = effects_for_people(effects.dropna(subset=["diff"]), chinese=lang != "en")
        tables.append((tr(lang, "与基准的配对差值（比率差值以百分点计）",
                          "Paired differences to the base (rate differences in percentage points)"),
                       _table_html(readable)))
    if (folder / "summary.csv").is_file():
        summary = pd.read_csv(folder / "summary.csv", encoding="utf-8-sig")
        tables.append((tr(lang, "各设计点汇总", "Summary per design point"), _table_html(summary)))
    if (folder / "sensitivity.csv").is_file():
        sens = pd.read_csv(folder / "sensitivity.csv", encoding="utf-8-sig")
        tables.append((tr(lang, "敏感性指数", "Sensitivity indices"), _table_html(sens)))
    runs_note = ""
    if (folder / "runs.parquet").is_file():
        runs = pd.read_parquet(folder / "runs.parquet")
        from sim.plots.study import ok_runs

        runs_note = tr(lang, f"共 {len(runs)} 次运行，成功 {len(ok_runs(runs))} 次",
                       f"{len(runs)} runs, {len(ok_runs(runs))} finished")
    title = tr(lang, "方案对比报告", "Comparison report") if kind == "compare" else tr(lang, "参数扫描报告", "Sweep report")
    return {
        "kind": kind,
        "heading": f"{folder.name}: {title}",
        "runs_note": runs_note,
        "tables": tables,
        "charts": chart_images(folder, lang, None),
        "manifest": manifest,
    }


def build_report(folder: str | Path, lang: str = "both", targets: str | Path | None = None) -> Path:
    """Write ``FOLDER/report.html`` (through a temporary file) and return its path.

    Raises sim.plots.FolderError for a folder of no known kind."""
    folder = Path(folder)
    kind = folder_kind(folder)
    lang = resolve_lang(lang)
    ctx = run_context(folder, lang, targets) if kind == "run" else study_context(folder, kind, lang)
    ctx["lang"] = lang
    ctx["html_lang"] = "en" if lang == "en" else "zh-CN"
    ctx["manifest_json"] = json.dumps(ctx["manifest"], ensure_ascii=False, indent=2)
    html = _env().get_template("report.html.j2").render(**ctx, tr=lambda zh, en: tr(lang, zh, en))
    path = folder / REPORT
    tmp = path.with_name(f".{REPORT}.partial")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)
    return path
