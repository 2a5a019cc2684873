"""Writing what ``fit`` found: the scenario (TOML through tomlkit, every parameter with a
comment naming its source and method), the targets file and fit_report.md."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import tomlkit

from sim.fit import estimate as est
from sim.fit.read import MAX_LISTED, Export

ORDER = ("schema_version", "name", "description", "run", "calendar", "demand", "routing",
         "signing", "handling", "review", "callback", "time_limits", "mechanisms", "indicators",
         "units", "topics")
HEADER = """\
Fitted by `hotline fit` from a work-order export.  Every parameter says where it comes from:
  "fitted"   estimated from the export (the comment names the method)
  "inferred" derived from the export through a model assumption (named)
  "assumed"  not identifiable from an export: the Yuelu 2021 baseline's value or a stated rule
  "DESIGN"   the design card (shared/DESIGN.md): the unified standard's limits
  "mapping"  the --mapping file
Personal data (names, phone numbers, addresses, free text) was never read into this file."""


def _item(value: Any) -> Any:
    if isinstance(value, dict):
        t = tomlkit.inline_table()
        for k, v in value.items():
            t.append(k, _item(v))
        return t
    if isinstance(value, list) and value and isinstance(value[0], dict):
        arr = tomlkit.array()
        arr.multiline(True)
        for v in value:
            arr.append(_item(v))
        return arr
    return tomlkit.item(value)


def _table(data: dict[str, Any], comments: dict[str, str], prefix: str, super_: bool = False) -> Any:
    tab = tomlkit.table(is_super_table=super_)
    for key, value in data.items():
        path = f"{prefix}.{key}"
        if isinstance(value, dict) and any(isinstance(v, dict) for v in value.values()) or (
                isinstance(value, dict) and prefix == "mechanisms"):
            sub = _table(value, comments, path)
            if path in comments:
                sub.comment(comments[path])
            tab.append(key, sub)
            continue
        it = _item(value)
        if path in comments and not (isinstance(value, list) and value and isinstance(value[0], dict)):
            it.comment(comments[path])
        elif path in comments:
            tab.add(tomlkit.comment(comments[path]))
        tab.append(key, it)
    return tab


def scenario_document(f: est.Fitted) -> tomlkit.TOMLDocument:
    doc = tomlkit.document()
    for line in HEADER.splitlines():
        doc.add(tomlkit.comment(line))
    doc.add(tomlkit.nl())
    s = f.scenario
    for key in ORDER:
        if key not in s:
            continue
        value = s[key]
        if key in ("units", "topics"):
            doc.add(tomlkit.nl())
            doc.add(tomlkit.comment(f.comments.get(key, "")))
            aot = tomlkit.aot()
            for i, row in enumerate(value):
                t = tomlkit.table()
                for k, v in row.items():
                    it = _item(v)
                    if f"{key}[{i}].{k}" in f.comments:  # e.g. each unit's handlers: their source
                        it.comment(f.comments[f"{key}[{i}].{k}"])
                    t.append(k, it)
                aot.append(t)
            doc.append(key, aot)
        elif isinstance(value, dict):
            doc.append(key, _table(value, f.comments, key, super_=key == "mechanisms"))
        else:
            it = _item(value)
            if key in f.comments:
                it.comment(f.comments[key])
            doc.append(key, it)
    return doc


def targets_document(f: est.Fitted, scenario_name: str) -> tomlkit.TOMLDocument:
    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"Targets for {scenario_name}: the export's own indicators, written by "
                            f"`hotline fit`; `hotline check` compares the fitted scenario with them."))
    doc.add(tomlkit.comment("Tolerance: three standard errors of the export's figure (binomial or "
                            "Poisson), at least 2 % (received), 1 pp (closure, satisfaction), 2 pp "
                            "(on-time reply), 10 % / 15 % (time-to-close median / p90)."))
    doc.append("scenario", scenario_name)
    targets = tomlkit.table(is_super_table=True)
    for key, t in f.targets.items():
        tab = tomlkit.table()
        for k, v in t.items():
            tab.append(k, v)
        targets.append(key, tab)
    doc.append("targets", targets)
    return doc


def render_report(f: est.Fitted, exp: Export) -> str:
    """fit_report.md: what was read, what was wrong with it, what was estimated and how."""
    t = exp.table
    s = f.summary
    lines = [f"# Fit report: {Path(exp.path).name}", ""]
    lines += ["## Input", "",
              f"- file: `{Path(exp.path).name}` ({exp.encoding}); mapping: `{exp.mapping.path}`",
              f"- rows read: {exp.rows_read:,}; rows fitted: {len(t):,}",
              f"- creation dates: {t['created'].min():%Y-%m-%d} to {t['created'].max():%Y-%m-%d}; "
              f"export date (censoring): {s['as_of']:%Y-%m-%d %H:%M}; window: {s['start']} + {s['days']} days",
              f"- units: {t['unit'].nunique() if 'unit' in t else 1}; categories: "
              + ", ".join(f"{k} {v:,}" for k, v in t["category"].value_counts().items()),
              "- columns used: " + ", ".join(f"{k} ← `{v}`" for k, v in exp.columns.items()),
              f"- columns not read: {len(exp.dropped_columns)} unrecognised, "
              f"{len(exp.personal_columns)} personal data or free text "
              f"({', '.join(f'`{c}`' for c in exp.personal_columns[:12])}); none of their "
              f"contents is copied into any output", ""]
    lines += ["## Data quality", ""]
    if not exp.problems and not exp.notes:
        lines.append("No problems found.")
    for note in exp.notes:
        lines.append(f"- {note}")
    if exp.problems:
        lines += ["", "| problem | rows | what was done | file lines (first 20) |", "| --- | --- | --- | --- |"]
        for p in exp.problems:
            shown = ", ".join(map(str, p.rows[:MAX_LISTED])) + (" …" if len(p.rows) > MAX_LISTED else "")
            lines.append(f"| {p.what} | {len(p.rows)} | {p.action} | {shown} |")
    open_orders = int((~s["replied"]).sum())
    lines += ["", f"Orders without a reply at the export date: {open_orders:,} (kept: right-censored "
              f"in the time-to-reply fits, never dropped).", ""]
    lines += ["## Estimates", "", "<!-- chart -->",
              "Time to reply (sign-for to reply, working days), first-round non-urgent non-hard "
              "orders; censored lognormal (scipy.stats.CensoredData). The fitted time is the whole "
              "time to reply including the queue for a handler and the handler's effort; the "
              "outside wait (`handling.lead_median_working_days`) is that less the assumed effort, "
              "then refined by simulation.", "",
              "| category | orders | open (censored) | median wd | sigma | outside wait median wd | |",
              "| --- | --- | --- | --- | --- | --- | --- |", *s.get("handling_lines", []), ""]
    if s.get("unit_lines"):
        lines += ["", f"Per unit (`units.lead_factor`, units with {est.MIN_UNIT_REPLIES} or more such "
                  "orders, the others pooled): the unit's median time to reply over its categories' "
                  "(censored lognormal of the ratio), turned into a multiplier on the outside wait, "
                  "then refined by simulation.", "",
                  "| unit | orders | time to reply / category median | lead_factor |",
                  "| --- | --- | --- | --- |", *s["unit_lines"], ""]
    lines += f.report
    lines += ["", "## Handlers per unit", "", s.get("handlers_source", ""), "",
              "| unit | kind | handlers | source |", "| --- | --- | --- | --- |",
              *s.get("handler_lines", [])]
    lines += ["", "## The export's own indicators (targets file)", "", "| indicator | value | tolerance |",
              "| --- | --- | --- |"]
    for k, v in f.targets.items():
        tol = v.get("tolerance", v.get("tolerance_relative"))
        rel = " (relative)" if "tolerance_relative" in v else ""
        lines.append(f"| {k} | {v['value']:g} | {tol:g}{rel} |")
    lines += ["", "Every parameter's source and method is in the scenario's comments "
              "(`fitted`, `inferred`, `assumed`, `DESIGN`, `mapping`).", ""]
    return "\n".join(lines)


def write_all(f: est.Fitted, exp: Export, out: str | Path, report: str) -> tuple[Path, Path, Path]:
    """The scenario at ``out``, ``<stem>.targets.toml`` and ``fit_report.md`` beside it."""
    from sim.targets import default_targets_path

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    targets_path = default_targets_path(out)
    report_path = out.with_name("fit_report.md") if out.parent != Path("") else Path("fit_report.md")
    from sim.fit.charts import fit_chart

    chart = report_path.with_name("fit_charts.png")
    try:
        fit_chart(f, exp, chart)
        report = report.replace("<!-- chart -->", "![export against the fitted scenario](fit_charts.png)\n")
    except Exception as e:  # a chart must not lose the fit: say so in the report
        report = report.replace("<!-- chart -->", f"(chart not drawn: {type(e).__name__}: {e})\n")
    for path, text in ((out, tomlkit.dumps(scenario_document(f))),
                       (targets_path, tomlkit.dumps(targets_document(f, f.scenario["name"]))),
                       (report_path, report)):
        tmp = path.with_name(f".{path.name}.partial")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return out, targets_path, report_path


__all__ = ["render_report", "scenario_document", "targets_document", "write_all", "dt"]
