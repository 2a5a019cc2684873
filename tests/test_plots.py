"""Charts and the report: each plot function on a small run, asserting on the figure's artists
and data (series, labels, number of bars or lines), checked against the event log and the
indicator tables; the folder commands; the CJK font and its English fallback.

Missing glyphs are errors here (pyproject's filterwarnings): a chart with boxes for characters
fails.
"""

from __future__ import annotations

import html as html_module
import importlib
import json
import re
import warnings

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
from conftest import SMALL_SEED
from matplotlib.collections import PolyCollection
from matplotlib.container import BarContainer
from matplotlib.image import AxesImage
from study_folders import SMALL as SMALL_TOML
from study_folders import SWEEP_GRID, VARIANTS, make_compare, make_sweep

import sim
import sim.plots
from sim import cli
from sim.activities import Act
from sim.plots import data, style
from sim.result import Result
from sim.targets import load_targets

CJK = re.compile(r"[\u4e00-\u9fff]")
RUN_CHARTS = ["monthly", "time_to_close", "cohorts", "league", "flow", "daily", "utilisation"]


@pytest.fixture(scope="module")
def res(small_result):
    return small_result


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A saved run of the two-unit, 60-day scenario: the folder commands' input (quick to
    draw; the chart tests above use the full-year district)."""
    res = sim.simulate(sim.load_scenario(SMALL_TOML), seed=1)
    return res.save(tmp_path_factory.mktemp("plots") / "run")


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study") / "sweep"
    make_sweep(folder)
    return folder


@pytest.fixture(scope="module")
def compare_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study") / "compare"
    make_compare(folder)
    return folder


def texts(fig) -> str:
    """Every text of a figure (titles, labels, tick labels, legends, annotations)."""
    out = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    return "\n".join(out)


def check_common(fig, seed: str) -> None:
    """Title, labelled axes with data, and the source line with the seed and the version."""
    assert fig._suptitle is not None and fig._suptitle.get_text()
    source = [t.get_text() for t in fig.texts if t.get_text().startswith("来源")]
    assert source and f"种子 {seed}" in source[0] and f"hotline-sim {sim.__version__}" in source[0]
    drawn = [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.axison]
    assert not drawn or any(ax.get_xlabel() for ax in drawn), "no x-axis label"  # (panels may share one)
    for ax in drawn:
        assert ax.get_ylabel() or ax.get_yticklabels(), "an axis without a label"
        assert ax.has_data(), "empty axes"
    fig.savefig(__import__("io").BytesIO(), format="png")  # draws: glyph warnings are errors


# -- run charts ---------------------------------------------------------------------------------
def test_monthly_counts_add_up_to_the_year(res):
    fig = sim.plots.monthly(res)
    check_common(fig, str(SMALL_SEED))
    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars) == 2 and all(len(b) == 12 for b in bars)
    k = res.kpis().iloc[0]
    received = sum(p.get_height() for p in bars[0])
    closed = sum(p.get_height() for p in bars[1])
    assert received == k["received"]  # every signed order in its month
    # closed in the run = closed orders (their final close), as in kpi_year
    assert closed == k["closed"]
    line = ax.get_lines()[0]
    backlog = res.backlog()
    month_end = backlog.groupby(backlog.index.strftime("%Y-%m")).last().to_numpy()
    assert np.array_equal(line.get_ydata(), month_end)
    assert line.get_ydata()[-1] == k["open"]
    # holidays shaded: the Spring Festival week 2021-02-11..17 is inside a shaded span
    spans = data.holiday_spans(res)
    assert any(a <= pd.Timestamp("2021-02-12") < b for a, b in spans)
    assert not any(a <= pd.Timestamp("2021-03-06") < b for a, b in spans)  # a plain weekend
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(labels) == 4 and any("holiday" in t for t in labels)
    assert "orders" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_xticklabels()][:2] == ["2021-01", "2021-02"]


def test_time_to_close_ecdf_per_category_with_limits(res):
    fig = sim.plots.time_to_close(res)
    check_common(fig, str(SMALL_SEED))
    ax = fig.axes[0]
    lines = ax.get_lines()
    steps = [ln for ln in lines if ln.get_linestyle() == "-"]
    limits = [ln for ln in lines if ln.get_linestyle() == "--"]
    orders = res.orders
    closed = orders[orders["status"] == "closed"]
    cats = [c for c in closed["category"].cat.categories if (closed["category"] == c).any()]
    assert len(steps) == len(cats) == len(limits)
    reply_limits = res.scenario.time_limits.reply_working_days.model_dump()
    assert sorted(ln.get_xdata()[0] for ln in limits) == sorted(reply_limits[c] for c in cats)
    for ln, cat in zip(steps, cats, strict=True):
        x = ln.get_xdata()
        values = np.sort(closed.loc[closed["category"] == cat, "ttc_wd"].to_numpy())
        assert x[0] == values[0] and ln.get_ydata()[-1] <= 1.0
    assert "working days" in ax.get_xlabel()


def test_cohorts_match_monthly_table_and_draw_targets(res, baseline_path):
    targets = load_targets(baseline_path.with_name("yuelu_2021.targets.toml"))
    fig = sim.plots.cohorts(res, targets=targets)
    check_common(fig, str(SMALL_SEED))
    assert len(fig.axes) == 4
    monthly = res.monthly()
    k = res.kpis().iloc[0]
    keys = ["closure_rate", "on_time_reply_rate", "satisfaction", "resolution_rate"]
    for ax, key in zip(fig.axes, keys, strict=True):
        series, annual = ax.get_lines()[0], ax.get_lines()[1]
        assert np.allclose(series.get_ydata(), monthly[key].to_numpy(), equal_nan=True)
        assert annual.get_ydata()[0] == pytest.approx(k[key])
        bounds = targets.targets[key].bounds() if key in targets.targets else ()
        drawn = sorted(ln.get_ydata()[0] for ln in ax.get_lines()[2:])
        assert drawn == sorted(v for v in bounds if np.isfinite(v))
    assert "censor" in fig._suptitle.get_text()


def test_cohort_table_is_by_year_month(res):
    """The cohorts are the run folder's monthly table, by year-month label, in time order."""
    got = data.cohort_table(res)
    assert list(got.index) == list(res.monthly()["month"]) == sorted(got.index)


@pytest.mark.parametrize(
    ("overrides", "labels"),
    [
        ({"run.start": "2021-07-01"}, ["2021-07", "2021-08"]),  # a run not starting in January
        # longer than a year: one row per year-month, never two years merged (cases r1)
        ({"run.horizon_days": 400}, [f"2021-{m:02d}" for m in range(1, 13)] + ["2022-01", "2022-02"]),
    ],
)
def test_cohort_months_for_other_periods(overrides, labels):
    res = sim.simulate(sim.load_scenario(SMALL_TOML, overrides=overrides), seed=1)
    assert list(data.cohort_table(res).index) == labels
    fig = sim.plots.cohorts(res)
    assert [t.get_text() for t in fig.axes[-1].get_xticklabels()] == labels
    table = data.event_month_table(res)  # by event month: always year-month, in time order
    assert list(table.index) == data.run_months(res) and table["received"].sum() == res.kpis().iloc[0]["received"]


def league_by_hand(res) -> pd.DataFrame:
    """The indicators straight from the event log with pandas (an independent count)."""
    ev = res.events
    start = pd.Timestamp(res.scenario.run.start)
    ev = ev[ev["unit"] >= 0].assign(month=(start + pd.to_timedelta(ev["time"], unit="h")).dt.strftime("%Y-%m"))
    rep = ev[ev["activity"] == Act.REPLY]
    g = rep.groupby(["unit", "month"])
    out = pd.DataFrame({"replies": g.size(), "late": g.apply(lambda d: int((d["time"] > d["due"]).sum()))})
    cb = ev[(ev["activity"] == Act.CALLBACK) & (ev["outcome"] >= 1)]
    out["callbacks"] = cb.groupby(["unit", "month"]).size()
    out["dissatisfied"] = cb[cb["outcome"] == 3].groupby(["unit", "month"]).size()
    out["criticisms"] = ev[ev["activity"] == Act.CRITICISE].groupby(["unit", "month"]).size()
    out["sendbacks"] = ev[ev["activity"] == Act.SENDBACK].groupby(["unit", "month"]).size()
    out["signs"] = ev[ev["activity"] == Act.SIGN].groupby(["unit", "month"]).size()
    out["extensions"] = ev[ev["activity"] == Act.EXTEND].groupby(["unit", "month"]).size()
    return out.fillna(0)


def test_league_heatmap_is_the_assessment_score_from_the_log(small_scenario):
    # non-zero weights on every declared indicator, so each term is checked
    weights = {"late_sign_share": -1.0, "sendback_share": -3.0, "extension_share": -0.5}
    res = sim.simulate(sim.with_overrides(small_scenario, {f"mechanisms.one_set.weights.{k}": v
                                                         for k, v in weights.items()}), seed=1)
    table = data.league_table(res)
    hand = league_by_hand(res)
    names = {i: u.name for i, u in enumerate(res.scenario.units)}
    hand = hand.rename(index=names, level=0)
    got = table.set_index(["unit", "month"])
    assert len(got) == len(hand)
    for col, want in (("replies", "replies"), ("late_replies", "late"), ("callbacks", "callbacks"),
                      ("dissatisfied", "dissatisfied"), ("criticisms", "criticisms"),
                      ("sendbacks", "sendbacks"), ("signs", "signs"), ("extensions", "extensions")):
        assert np.array_equal(got.loc[hand.index, col].to_numpy(), hand[want].to_numpy()), col
    # late sign-fors: for orders signed once, the orders table's on-time flag says the same
    log = data.log_columns(res)
    late_orders = set(log.order[data._late_signs(log)])
    once = res.orders[(res.orders["returns"] == 0) & res.orders["first_sign"].notna()]
    assert {o for o in once.index if not once.at[o, "on_time_sign"]} == late_orders & set(once.index)
    w = data.assessment_weights(res.scenario)
    assert w["late_sign_share"] == -1.0 and w["sendback_share"] == -3.0 and w["dissatisfied_share"] == -2.0
    score = (w["on_time_reply_share"] * (1 - got["late_replies"] / got["replies"])
             + w["late_sign_share"] * (got["late_signs"] / got["signs"].where(got["signs"] > 0)).fillna(0)
             + w["sendback_share"] * got["sendbacks"] / got["replies"]
             + w["dissatisfied_share"] * (got["dissatisfied"] / got["callbacks"].where(got["callbacks"] > 0)).fillna(0)
             + w["criticisms"] * got["criticisms"]
             + w["extension_share"] * got["extensions"] / got["replies"])
    assert got["extensions"].sum() > 0, "the extension term is exercised"
    assert np.allclose(got["score_recomputed"], score, equal_nan=True)  # NaN: a month with no replies is not ranked
    # the heatmap's scores are those the model recorded as it ranked (SCORE events); they agree
    # with the formula applied to the log's counts, and the last month (assessed after the
    # horizon) has none
    assert (got["score_source"] == "recorded").all()
    scored = got["score"].notna()
    assert set(got.index[~scored].get_level_values("month")) == {data.run_months(res)[-1]}
    assert np.allclose(got.loc[scored, "score"], score[scored], rtol=0, atol=1e-12)
    recorded = res.events[res.events["activity"] == Act.SCORE]
    assert len(recorded) == scored.sum() and (recorded["order"] == -1).all()
    annual = got.groupby(level="unit")["score"].mean()
    assert np.allclose(got.groupby(level="unit")["annual_score"].first().loc[annual.index], annual)
    fig = sim.plots.league(res)
    check_common(fig, "1")
    ax = fig.axes[0]
    image = [a for a in ax.get_children() if isinstance(a, AxesImage)][0]
    grid = image.get_array()
    n_units = table["unit"].nunique()
    assert grid.shape == (n_units, 12)
    rows = [t.get_text() for t in ax.get_yticklabels()]
    annual = table.groupby("unit")["annual_score"].first()
    assert list(annual.loc[rows]) == sorted(annual, reverse=True)  # best on top
    first = table[table["unit"] == rows[0]].set_index("month")["score"]
    assert np.allclose(np.ma.filled(grid[0], np.nan)[[int(m[5:]) - 1 for m in first.index]], first.to_numpy(), equal_nan=True)
    subtitle = fig._suptitle.get_text()
    assert "scores recorded by the model" in subtitle and "3 × send-backs per reply" in subtitle
    assert "assessment off" not in subtitle and "recomputed" not in subtitle


def test_league_of_many_units_draws_the_top_and_bottom(res):
    league = importlib.import_module("sim.plots.league")  # (sim.plots.league is the function)

    table = data.league_table(res)
    many = pd.concat([table.assign(unit=table["unit"] + f" {i}") for i in range(2)])  # 100 units
    fig = league.figure(many, True, style.Source("x", "1", sim.__version__))
    rows = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(rows) == league.MAX_ROWS
    annual = many.groupby("unit")["annual_score"].first().sort_values(ascending=False)
    assert rows == list(annual.index[:30]) + list(annual.index[-30:])
    assert "40 units in between not drawn" in texts(fig)


def test_league_says_when_the_assessment_is_off(small_scenario):
    off = sim.simulate(sim.with_overrides(small_scenario, {"mechanisms.one_set.enabled": False}), seed=1)
    fig = sim.plots.league(off)
    assert "assessment off" in fig._suptitle.get_text() and "考核未启用" in fig._suptitle.get_text()
    # nothing ranked, nothing recorded: the indicators' score by the formula, and it says so
    assert not (off.events["activity"] == Act.SCORE).any()
    table = data.league_table(off)
    assert (table["score_source"] == "recomputed").all() and table["score"].equals(table["score_recomputed"])
    assert table["score"].notna().all() and "recomputed from the event log" in fig._suptitle.get_text()


def test_flow_counts_are_the_log_counts(res):
    counts = data.flow_counts(res)
    ev = res.events
    case = ev["order"] >= 0
    for key, act in (("return", Act.RETURN), ("sendback", Act.SENDBACK), ("reopen", Act.REOPEN),
                     ("arrive", Act.ARRIVE), ("close", Act.CLOSE), ("criticise", Act.CRITICISE)):
        assert counts[key] == int(((ev["activity"] == act) & case).sum())
    k = res.kpis().iloc[0]
    assert counts["closed_orders"] == k["closed"] and counts["open"] == k["open"]
    fig = sim.plots.flow(res)
    check_common(fig, str(SMALL_SEED))
    shown = texts(fig)
    for key in ("arrive", "return", "sendback", "reopen", "extend", "centre_reply", "open", "unsigned"):
        assert f"{counts[key]:,}" in shown, key


def test_daily_arrivals_and_backlog(res):
    fig = sim.plots.daily(res)
    check_common(fig, str(SMALL_SEED))
    top, bottom = fig.axes[:2]
    stairs = [p for p in top.patches if p.__class__.__name__ == "StepPatch"][0]
    assert stairs.get_data().values.sum() == len(res.orders)  # every dispatched order, by day
    assert len(stairs.get_data().values) == 365
    assert np.array_equal(bottom.get_lines()[0].get_ydata(), res.backlog().to_numpy())


def test_utilisation_bars_are_the_unit_table(res):
    fig = sim.plots.utilisation(res)
    check_common(fig, str(SMALL_SEED))
    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)][0]
    units = res.by_unit().sort_values("utilisation")
    assert len(bars) == len(res.scenario.units)
    assert np.allclose([b.get_width() for b in bars], units["utilisation"].to_numpy())
    assert "office hours" in ax.get_xlabel()
    assert ax.get_lines()[0].get_xdata()[0] == pytest.approx(res.kpis().iloc[0]["utilisation"])


# -- languages and the font -----------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["zh", "en", "both"])
def test_labels_follow_the_language(res, lang):
    fig = sim.plots.monthly(res, lang=lang)
    title = fig._suptitle.get_text()
    has_cjk, has_latin = bool(CJK.search(title)), bool(re.search(r"[A-Za-z]", title))
    assert (has_cjk, has_latin) == {"zh": (True, False), "en": (False, True), "both": (True, True)}[lang]
    fig.savefig(__import__("io").BytesIO(), format="png")


def test_bad_lang_is_refused(res):
    with pytest.raises(ValueError, match="lang 'fr'"):
        sim.plots.monthly(res, lang="fr")


def test_cjk_font_comes_from_the_package_not_matplotlibs_folder():
    import matplotlib
    from matplotlib import font_manager

    path = style.cjk_font_path()
    assert path is not None and path.name == "NotoSansCJKsc-Regular.otf"
    assert matplotlib.get_data_path() not in str(path)
    assert style.ensure_cjk_font()
    assert any(f.name == style.CJK_FAMILY for f in font_manager.fontManager.ttflist)


def test_without_the_font_charts_fall_back_to_english_with_one_warning(res, monkeypatch):
    monkeypatch.setattr(style, "_font_state", {"checked": True, "path": None, "warned": False})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("error", message="Glyph")  # still: never a missing glyph
        figs = [fn(res, lang="both") for fn in (sim.plots.monthly, sim.plots.league, sim.plots.utilisation)]
        for fig in figs:
            fig.savefig(__import__("io").BytesIO(), format="png")
    font_warnings = [w for w in caught if "CJK font" in str(w.message)]
    assert len(font_warnings) == 1
    for fig in figs:
        assert not CJK.search(texts(fig))
    assert "unit 1" in texts(figs[1])


# -- sweep and comparison charts -------------------------------------------------------------------
def test_response_curves_are_means_over_seeds_with_bands(sweep_folder):
    from sim.plots import response, study

    runs = study.ok_runs(pd.read_parquet(sweep_folder / "runs.parquet"))
    params = study.swept_parameters(runs)
    assert params == list(SWEEP_GRID)
    keys = study.headline(runs.columns)
    fig = response.figure(runs, params, keys, style.Source("base", "1-3", sim.__version__))
    panels = [ax for ax in fig.axes if ax.has_data()]
    assert len(panels) == len(keys)
    inspectors = SWEEP_GRID["mechanisms.one_team.inspectors"]
    for ax, key in zip(panels, keys, strict=True):
        lines = ax.get_lines()
        assert len(lines) == len(inspectors)  # one line per value of the second parameter
        bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
        assert len(bands) == len(inspectors)
        for line, value in zip(lines, inspectors, strict=True):
            want = runs[runs["mechanisms.one_team.inspectors"] == value].groupby("handling.scale")[key].mean()
            assert np.allclose(line.get_xdata(), want.index) and np.allclose(line.get_ydata(), want.to_numpy())
        assert ax.get_xlabel() == "handling.scale" and ax.get_ylabel()


def test_sensitivity_bars_with_confidence_intervals():
    from sim.plots import sensitivity

    table = pd.DataFrame({
        "indicator": ["satisfaction"] * 3 + ["closure_rate"] * 3,
        "parameter": ["handling.scale", "mechanisms.one_team.inspectors", "demand.annual_orders"] * 2,
        "S1": [0.5, 0.2, 0.1, 0.3, 0.3, 0.2], "S1_conf": [0.05] * 6,
        "ST": [0.6, 0.25, 0.1, 0.4, 0.35, 0.2], "ST_conf": [0.04] * 6,
    })
    fig = sensitivity.figure(table, style.Source("base", "1-3", sim.__version__))
    panels = [ax for ax in fig.axes if ax.has_data()]
    assert len(panels) == 2
    for ax in panels:
        bars = [c for c in ax.containers if isinstance(c, BarContainer)]
        assert len(bars) == 2 and all(len(b) == 3 for b in bars)  # S1 and ST for 3 parameters
        assert all(b.errorbar is not None for b in bars)
    with pytest.raises(ValueError, match="sensitivity.csv"):
        sensitivity.figure(table.drop(columns=["S1", "S1_conf", "ST", "ST_conf"]), style.Source("b", "1", "0"))


def test_forest_plot_of_paired_differences(compare_folder):
    from sim.plots import forest

    effects = pd.read_csv(compare_folder / "effects.csv", encoding="utf-8-sig")
    fig = forest.figure(effects, style.Source("base", "1-4", sim.__version__))
    panels = [ax for ax in fig.axes if ax.has_data()]
    assert len(panels) == effects["indicator"].nunique()
    assert [t.get_text() for t in panels[0].get_yticklabels()] == list(VARIANTS)
    for ax in panels:
        lines = ax.get_lines()
        ci_lines = [ln for ln in lines if len(ln.get_xdata()) == 2 and ln.get_linestyle() == "-"]
        points = [ln for ln in lines if len(ln.get_xdata()) == 1]
        assert len(ci_lines) == len(points) == len(VARIANTS)
    # the closure panel: points are the differences (percentage points), filled where the CI excludes 0
    closure = effects[effects["indicator"] == "closure_rate"].set_index("variant")
    ax = panels[0]
    points = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == 1]
    for point, variant in zip(points, VARIANTS, strict=True):
        row = closure.loc[variant]
        assert point.get_xdata()[0] == pytest.approx(100 * row["diff"])
        excludes = row["ci_low"] > 0 or row["ci_high"] < 0
        assert (mcolors.to_hex(point.get_markerfacecolor()) != "#ffffff") == excludes
    assert "percentage points" in ax.get_xlabel()
    with pytest.raises(ValueError, match="missing columns ci_low"):
        forest.figure(effects.drop(columns=["ci_low"]), style.Source("b", "1", "0"))


# -- folders, the command line and the report ------------------------------------------------------
def test_hotline_plot_run_folder(run_folder, capsys):
    assert cli.main(["plot", str(run_folder)]) == 0
    charts = run_folder / "charts"
    for name in RUN_CHARTS:
        assert (charts / f"{name}.png").stat().st_size > 10_000
        svg = (charts / f"{name}.svg").read_text(encoding="utf-8")
        assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    league = pd.read_csv(charts / "league_table.csv", encoding="utf-8-sig")
    assert {"unit", "month", "score", "on_time_share"} <= set(league.columns)
    assert not list(charts.glob(".*partial"))
    assert "wrote" in capsys.readouterr().out
    # the report then embeds these charts rather than drawing them again
    from sim.plots.folder import current_pngs
    from sim.report import build_report

    def no_drawing(*a, **k):
        raise AssertionError("the report drew charts that hotline plot had just drawn")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sim.report.figures", no_drawing)
        mp.setattr(Result, "load", no_drawing)  # nor loads the event log again
        html = build_report(run_folder).read_text(encoding="utf-8")
    assert "前五名" in html and "区城管局" in html  # the league table, from charts/league_table.csv
    assert html.count('src="data:image/png;base64,') == len(RUN_CHARTS)
    assert current_pngs(run_folder, "en") is None  # another language: drawn afresh


def test_charts_drawn_in_worker_processes_are_the_serial_ones(run_folder, tmp_path):
    """``--jobs 2`` draws a run's charts in two forked processes: the same files, byte for
    byte (PNG), listed in the same reading order; ``--jobs 0`` is refused in one line."""
    import shutil

    from sim.plots.folder import chart_workers, plot_folder

    assert chart_workers(2, 7) in (1, 2)  # 1 only where fork is unsafe or missing
    assert chart_workers(8, 3) <= 3
    copies = {}
    for jobs in (1, 2):
        folder = tmp_path / f"jobs{jobs}"
        shutil.copytree(run_folder, folder, ignore=shutil.ignore_patterns("charts"))
        written = plot_folder(folder, lang="en", formats=("png",), jobs=jobs)
        copies[jobs] = [(p.name, p.read_bytes()) for p in written if p.suffix == ".png"]
    assert [n for n, _ in copies[1]] == [f"{c}.png" for c in RUN_CHARTS]
    assert copies[1] == copies[2]
    with pytest.raises(ValueError, match="--jobs 0"):
        plot_folder(tmp_path / "jobs1", jobs=0)


def test_hotline_plot_study_folders(sweep_folder, compare_folder):
    assert cli.main(["plot", str(sweep_folder), "--lang", "en"]) == 0
    assert (sweep_folder / "charts" / "response.png").is_file()
    assert cli.main(["plot", str(compare_folder)]) == 0
    assert (compare_folder / "charts" / "forest.svg").is_file()


# -- replications: the mean with a 95 % band ----------------------------------------------------
def test_mean_band_is_the_t_interval_of_the_mean():
    from scipy import stats as sps

    from sim.plots.band import mean_band

    idx = pd.Index(["2021-01", "2021-02"])
    tables = [pd.DataFrame({"a": [1.0, 10.0], "b": [0.5, np.nan]}, index=idx),
              pd.DataFrame({"a": [2.0, 12.0], "b": [0.7, 0.9]}, index=idx),
              pd.DataFrame({"a": [4.0, 11.0], "b": [0.9, 0.95]}, index=idx)]
    band = mean_band(tables)
    assert band.n == 3
    for row, values in ((0, [1.0, 2.0, 4.0]), (1, [10.0, 12.0, 11.0])):
        lo, hi = sps.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=sps.sem(values))
        assert np.isclose(band.mean["a"].iloc[row], np.mean(values))
        assert np.isclose(band.low["a"].iloc[row], lo) and np.isclose(band.high["a"].iloc[row], hi)
    # a missing value is left out (two values in February), and the interval cut to [0, 1]
    assert np.isclose(band.mean["b"].iloc[1], 0.925)
    cut = mean_band(tables, floor=0.0, ceiling=1.0)
    assert cut.high["b"].max() <= 1.0 and cut.low["a"].min() >= 0.0 and cut.high["b"].iloc[1] == 1.0
    with pytest.raises(ValueError):
        mean_band([])


@pytest.fixture(scope="module")
def kept_sweep(tmp_path_factory):
    """A sweep that kept its runs' logs: 2 design points x 3 seeds of the small scenario."""
    folder = tmp_path_factory.mktemp("replications") / "sweep"
    sim.sweep(SMALL_TOML, grid={"mechanisms.one_team.inspectors": [0, 4]}, seeds=[1, 2, 3],
              executor="serial", out=folder, keep_logs=True)
    return folder


def test_replication_charts_are_means_with_bands(kept_sweep):
    from sim.plots import replications

    sets = replications.replication_sets(kept_sweep)
    assert list(sets) == ["p0000", "p0001"] and [p.name for p in sets["p0000"]] == [
        "p0000-s1", "p0000-s2", "p0000-s3"]
    runs = [Result.load(p) for p in sets["p0001"]]
    src = style.Source("small", "1,2,3", sim.__version__)
    # monthly: mean bars with error bars, mean backlog line with its band
    fig = replications.monthly_figure(runs, src, what="p0001")
    check_common(fig, "1,2,3")
    ax = fig.axes[0]
    months = [data.event_month_table(r) for r in runs]
    mean = sum(months) / 3
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [p.get_height() for p in bars[0]] == pytest.approx(mean["received"].to_list())
    assert len([c for c in ax.containers if type(c).__name__ == "ErrorbarContainer"]) == 2
    (line,) = [ln for ln in ax.get_lines() if "open at month end" in ln.get_label()]
    assert line.get_ydata() == pytest.approx(mean["open_at_month_end"].to_list())
    fills = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(fills) == 1
    spread = np.vstack([m["open_at_month_end"] for m in months])
    half = 4.302653 * spread.std(axis=0, ddof=1) / np.sqrt(3)  # t(0.975, 2 df)
    top = fills[0].get_paths()[0].vertices[:, 1].max()
    assert np.isclose(top, (spread.mean(axis=0) + half).max())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("95 % CI of the mean" in t for t in legend) and any("(mean)" in t for t in legend)
    assert "mean of 3 replications" in fig._suptitle.get_text() and "3 次重复运行" in fig._suptitle.get_text()
    # cohorts: every panel has its band, inside [0, 1]; the annual line is the runs' mean
    fig = replications.cohorts_figure(runs, src)
    check_common(fig, "1,2,3")
    cohort = sum(data.cohort_table(r)["closure_rate"] for r in runs) / 3
    assert fig.axes[0].get_lines()[0].get_ydata() == pytest.approx(cohort.to_list())
    for ax in fig.axes:
        (poly,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
        y = poly.get_paths()[0].vertices[:, 1]
        assert y.min() >= 0.0 and y.max() <= 1.0
    annual = np.mean([r.kpis().iloc[0]["closure_rate"] for r in runs])
    assert any(np.allclose(line.get_ydata(), annual) for line in fig.axes[0].get_lines()[1:])
    # daily: bands on the 7-day mean of arrivals and on the backlog
    fig = replications.daily_figure(runs, src)
    check_common(fig, "1,2,3")
    top_ax, bottom_ax = fig.axes[:2]
    assert all(len([c for c in a.collections if isinstance(c, PolyCollection)]) == 1 for a in (top_ax, bottom_ax))
    backlog = sum(data.daily_table(r)["open_orders"] for r in runs) / 3
    assert bottom_ax.get_lines()[0].get_ydata() == pytest.approx(backlog.to_list())


def test_hotline_plot_draws_replication_charts_of_a_kept_study(kept_sweep, capsys):
    assert cli.main(["plot", str(kept_sweep), "--lang", "both"]) == 0
    charts = kept_sweep / "charts"
    for point in ("p0000", "p0001"):
        for chart in ("monthly", "cohorts", "daily"):
            assert (charts / f"{chart}-{point}.png").is_file() and (charts / f"{chart}-{point}.svg").is_file()
    assert (charts / "response.png").is_file()
    from sim.report import chart_title

    assert chart_title("monthly-p0001", "en") == "Orders by month: p0001 (mean over seeds, 95 % CI)"


def test_hotline_plot_bad_folder_is_one_line(tmp_path, capsys):
    assert cli.main(["plot", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not a run folder" in err and str(tmp_path) in err
    assert cli.main(["report", str(tmp_path / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_report_holds_every_chart_and_the_year_figures(run_folder, baseline_path):
    from sim.report import build_report

    targets = baseline_path.with_name("yuelu_2021.targets.toml")
    path = build_report(run_folder, targets=targets)  # draws the charts: none stored for these targets
    html = path.read_text(encoding="utf-8")
    for name in RUN_CHARTS:
        assert f'id="chart-{name}"' in html
    assert html.count('src="data:image/png;base64,') == len(RUN_CHARTS)
    assert "http://" not in html and "https://" not in html  # self-contained: no network
    k = pd.read_csv(run_folder / "kpi_year.csv", encoding="utf-8-sig", index_col=0).iloc[0]
    assert f"全年共计签收热线工单 {k['received']:,.0f} 件、办结热线工单 {k['closed']:,.0f} 件" in html
    assert f"总体满意度 {k['satisfaction']:.2%}" in html
    for key in ("received", "closure_rate", "satisfaction", "ttc_median_wd", "utilisation"):
        assert f'data-key="{key}"' in html
    verdicts = re.findall(r'data-key="(\w+)">.*?<td class="(PASS|FAIL)?">', html)
    judged = {key for key, v in verdicts if v}
    assert judged == set(load_targets(targets).targets)  # a verdict for each target, none else
    manifest = json.loads((run_folder / "manifest.json").read_text())
    assert f'"seed": {manifest["seed"]}' in html_module.unescape(html)
    assert "模型月度考核时记录的得分" in html and "Recomputed" not in html  # the league's scores


def test_report_of_study_folders(sweep_folder, compare_folder):
    from sim.report import build_report

    html = build_report(compare_folder).read_text(encoding="utf-8")
    assert 'id="chart-forest"' in html and "no_team" in html
    # the effects as people read them: rate differences in percentage points, means in %
    assert "95% CI (paired)" in html and " pp, " in html and "rate differences in percentage points" in html
    html = build_report(sweep_folder).read_text(encoding="utf-8")
    assert 'id="chart-response"' in html and "closure_rate_mean" in html and "18 runs" in html
