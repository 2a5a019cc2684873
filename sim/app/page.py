"""The what-if page (Streamlit script): draws the controls and the results, nothing else.

Started by ``hotline app SCENARIO`` (sim.app.launch), as
``streamlit run page.py -- --scenario FILE --cache DIR --jobs N``.  Everything that is not
drawing is in plain functions: the levers and the schema check (sim.app.controls), the jobs
and the cache (sim.app.jobs), the tables (sim.app.tables), the words (sim.app.text).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import streamlit as st

from sim.app import controls, jobs, tables
from sim.app.text import LANGS, category, duration, t
from sim.batch.ablation import MECHANISM_NAMES
from sim.scenario import CATEGORIES, SIX, load_scenario

SEEDS = (2, 10, 5)  # seeds slider: min, max, default (a CI needs 2; the issue asks 5-10)


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="sim.app.page")
    p.add_argument("--scenario", required=True)
    p.add_argument("--cache", default="results/app")
    p.add_argument("--jobs", type=int, default=jobs.DEFAULT_JOBS)
    return p.parse_args(sys.argv[1:])


@st.cache_resource
def _scenario(path: str):
    return load_scenario(path)


@st.cache_resource
def _warm_up() -> bool:
    """Start the jobs' forkserver once per page process (its imports take about 2 s)."""
    jobs.warm_up()
    return True


def _levers(scn, lang: str) -> controls.Levers:
    """The controls in the sidebar; returns their setting."""
    base = controls.baseline(scn)
    b = controls.bounds(scn)
    sb = st.sidebar
    sb.subheader(t("staff", lang))
    handlers = {}
    for kind in controls.kinds_present(scn):
        bd = b[f"handlers.{kind}"]
        handlers[kind] = sb.slider(
            f"{t('handlers', lang, kind=t(kind, lang))} · {t('base', lang)} {base.handlers[kind]}",
            int(bd.lo), int(bd.hi), base.handlers[kind], 1, key=f"handlers_{kind}")
    bd = b["inspectors"]
    inspectors = sb.slider(f"{t('inspectors', lang)} · {t('base', lang)} {base.inspectors}",
                           int(bd.lo), int(bd.hi), base.inspectors, 1, key="inspectors")
    sb.subheader(t("limits", lang))
    limits = {}
    for c in CATEGORIES:
        bd = b[f"limits.{c}"]
        v = base.limits[c]
        limits[c] = sb.slider(f"{t('limit', lang, cat=category(c, lang))} · {t('base', lang)} {v:g}",
                              float(bd.lo), float(bd.hi), float(v), float(bd.step), key=f"limit_{c}")
    sb.subheader(t("mechanisms", lang))
    mech = {}
    for m in SIX:
        zh, en = MECHANISM_NAMES[m]
        label = f"{zh} {m}" if lang == "zh" else f"{m} ({zh}): {en.split(':')[0]}"
        mech[m] = sb.checkbox(f"{label} · {t('base', lang)} {'开' if base.mechanisms[m] else '关'}"
                              if lang == "zh" else
                              f"{label} · {t('base', lang)} {'on' if base.mechanisms[m] else 'off'}",
                              value=base.mechanisms[m], key=f"mech_{m}")
    sb.subheader(t("surge", lang))
    surge = None
    if sb.checkbox(t("surge_on", lang), value=False, key="surge_on"):
        months = controls.run_months(scn)
        month = sb.selectbox(t("surge_month", lang), months, index=min(7, len(months) - 1),
                             key="surge_month")
        bd = b["surge.percent"]
        pct = sb.slider(t("surge_percent", lang), float(bd.lo), float(bd.hi), 40.0, float(bd.step),
                        key="surge_percent")
        topics = ["", *(tp.name for tp in scn.topics)]
        topic = sb.selectbox(t("surge_topic", lang), topics, key="surge_topic",
                             format_func=lambda x: x or t("all_topics", lang))
        surge = controls.SurgeLever(month, pct, topic or None)
    methods = controls.callback_methods()
    callback = sb.selectbox(f"{t('callback', lang)} · {t('base', lang)} {t(base.callback, lang)}",
                            methods, index=methods.index(base.callback),
                            format_func=lambda x: t(x, lang), key="callback")
    return controls.Levers(handlers=handlers, inspectors=inspectors, limits=limits,
                           mechanisms=mech, surge=surge, callback=callback)


def _phase(phase: str, lang: str) -> str:
    key = f"phase_{phase}"
    try:
        return t(key, lang)
    except KeyError:
        return phase


def _show_tables(effects, n_seeds: int, lang: str) -> None:
    st.subheader(t("results", lang))
    st.markdown(f"**{t('indicators', lang, n=n_seeds)}**")
    table = tables.outcome_table(effects, lang)
    st.table(table.set_index(table.columns[0]))
    st.markdown(f"**{t('costs', lang)}**")
    costs = tables.cost_table(effects, lang)
    st.table(costs.set_index(costs.columns[0]))


def _show_outcome(out: jobs.Outcome, n_seeds: int, lang: str) -> None:
    _show_tables(out.effects, n_seeds, lang)
    st.caption(t("note_pp", lang) + " " + t("took", lang, s=out.seconds))
    for chart in jobs.CHARTS:
        st.markdown(f"**{t(chart, lang)}**")
        left, right = st.columns(2)
        for col, who in ((left, "base"), (right, "variant")):
            png = out.charts[who].get(chart)
            if png is not None:
                col.image(png, caption=t("base", lang) if who == "base" else "what-if",
                          width="stretch")
    c1, c2 = st.columns(2)
    c1.download_button(t("download_toml", lang), out.scenario_toml, file_name="whatif.toml",
                       mime="application/toml", key="dl_toml", on_click="ignore")
    if out.report is not None:
        c2.download_button(t("download_report", lang, seed=out.report_seed),
                           out.report.read_bytes(), file_name="whatif-report.html",
                           mime="text/html", key="dl_report", on_click="ignore")
    elif c2.button(t("make_report", lang), key="make_report"):
        with st.spinner("..."):
            try:
                jobs.make_report(out)
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                st.error(str(e))
        st.rerun()


def main() -> None:
    args = _args()
    cache = Path(args.cache)
    _warm_up()
    st.set_page_config(page_title="12345 what-if", layout="wide")
    lang = st.sidebar.radio(t("language", "zh"), list(LANGS), format_func=LANGS.get,
                            horizontal=True, key="lang")
    scn = _scenario(args.scenario)
    st.title(t("title", lang))
    st.caption(f"{scn.name}: {scn.description}")
    st.write(t("intro", lang))
    n_seeds = st.sidebar.slider(t("seeds", lang), SEEDS[0], SEEDS[1], SEEDS[2], 1, key="seeds")
    seeds = list(range(1, n_seeds + 1))
    levers = _levers(scn, lang)
    checked = controls.check(scn, levers)
    per_order = jobs.seconds_per_order(cache)
    state = st.session_state

    # the baseline on these seeds, in the background, when it is quick (a city-scale one
    # waits for the Run button, after its estimate)
    base_spec = jobs.Spec.of(scn, {}, seeds, cache, args.jobs)
    bfolder, _ = base_spec.folders()
    base_job = state.get("base_job")
    mine = base_job is not None and base_job.base == bfolder
    if not jobs.is_done(bfolder):
        if mine and base_job.running():
            done, total, _ = base_job.progress()
            st.caption(t("baseline_running", lang, d=done, n=total))
        elif mine and base_job.error():
            st.error(t("failed", lang) + str(base_job.error()))  # not started again by itself
        elif "job" not in state:
            est = jobs.estimate_seconds(scn, jobs.runs_to_make(base_spec), base_spec.jobs, per_order)
            if est <= jobs.CITY_SECONDS:
                state["base_job"] = jobs.start(base_spec)

    if checked.error:
        st.error(t("invalid", lang) + checked.error)
        return
    if not checked.overrides:
        st.info(t("same", lang))
        return
    gone = controls.unstaffed_units(scn, checked.scenario)
    if gone:
        sep, more = ("、", "……") if lang == "zh" else (", ", ", ...")
        names = sep.join(gone[:5]) + (more if len(gone) > 5 else "")
        st.warning(t("unstaffed", lang, n=len(gone), names=names))
    with st.expander(t("changes", lang), expanded=False):
        st.code("\n".join(f"{k} = {v}" for k, v in checked.overrides.items()), language="toml")
    spec = jobs.Spec.of(scn, checked.overrides, seeds, cache, args.jobs)
    bfolder, wfolder = spec.folders()
    assert wfolder is not None
    if jobs.is_done(bfolder) and jobs.is_done(wfolder):
        _show_outcome(jobs.outcome(bfolder, wfolder), n_seeds, lang)
        return

    job = state.get("job")
    if job is not None and job.whatif == wfolder and job.running():
        _progress(job, lang)
        early = jobs.effects_ready(wfolder)  # the table before the charts
        if early is not None:
            _show_tables(early, n_seeds, lang)
        return
    if job is not None and job.whatif == wfolder and job.error():
        st.error(t("failed", lang) + str(job.error()))
    if state.pop("cancelled", False):
        st.warning(t("cancelled", lang))
    todo = jobs.runs_to_make(spec)
    busy = jobs.busy_processes()
    est = jobs.estimate_seconds(scn, todo, spec.jobs, per_order, busy=busy)
    st.write(t("estimate", lang, t=duration(est, lang), n=todo, w=spec.jobs,
               o=scn.expected_orders()) + (t("loaded", lang, load=busy) if busy >= 1 else ""))
    ok = True
    if est > jobs.CITY_SECONDS:
        ok = st.checkbox(t("confirm", lang, t=duration(est, lang)), key=f"confirm_{wfolder.name}")
    if st.button(t("run", lang), type="primary", disabled=not ok, key="run"):
        if job is not None and job.running():
            job.cancel()  # the user's earlier what-if: only the latest one runs
        state["job"] = jobs.start(spec)
        st.rerun()


@st.fragment(run_every=0.5)
def _progress(job: jobs.Job, lang: str) -> None:
    done, total, phase = job.progress()
    st.progress(done / total if total else 0.0,
                text=t("progress", lang, d=done, n=total, phase=_phase(phase, lang)))
    if st.button(t("cancel", lang), key="cancel"):
        job.cancel()
        st.session_state["cancelled"] = True
        st.rerun(scope="app")
    # the whole page again when the job ends, or when its tables are ready (before the charts)
    if not job.running() or (phase != "runs" and st.session_state.get("phase") == "runs"):
        st.session_state["phase"] = phase
        st.rerun(scope="app")
    st.session_state["phase"] = phase


main()
