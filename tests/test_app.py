"""The what-if page (issue 17): its plain functions (levers -> overrides, the schema's check,
the cache, the jobs, the estimate, ``hotline app``) and the page itself in a real browser
(Debian's chromium through Playwright's Python package; never ``playwright install``).

Small scenario only (tests/scenarios/small.toml: two units, 60 days, < 1 s a run).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from functools import partial
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.app import controls, jobs, tables
from sim.app.launch import streamlit_command
from sim.batch.study import compare
from sim.scenario import ScenarioError
from sim.summary import format_value

HERE = Path(__file__).resolve().parent
SMALL = HERE / "scenarios" / "small.toml"
YUELU = HERE.parent / "scenarios" / "yuelu_2021.toml"
CHROMIUM = Path("/usr/lib/chromium/chromium")  # the real binary (/usr/bin/chromium is a wrapper)


@pytest.fixture(scope="module")
def small():
    return sim.load_scenario(SMALL)


@pytest.fixture(scope="module")
def yuelu():
    return sim.load_scenario(YUELU)


# -- levers -> overrides, bounds, the schema's message ---------------------------------------------
def test_baseline_levers_make_no_overrides(small, yuelu):
    for scn in (small, yuelu):
        assert controls.overrides(scn, controls.baseline(scn)) == {}
        assert controls.check(scn, controls.baseline(scn)).error is None


def test_levers_become_the_variants_overrides(yuelu):
    scn = yuelu
    base = controls.baseline(scn)
    assert base.inspectors == 4 and base.callback == "manual"
    lv = base.with_(
        handlers={"department": 0, "street": 3},
        inspectors=2,
        limits=base.limits | {"complaint": 10.0},
        mechanisms=base.mechanisms | {"one_list": False},
        surge=controls.SurgeLever("2021-08", 40.0, None),
        callback="sms",
    )
    ov = controls.overrides(scn, lv)
    assert ov["handling.extra_handlers.street"] == 3  # three more at each street office
    assert "handling.extra_handlers.department" not in ov  # only what differs
    assert ov["mechanisms.one_team.inspectors"] == 2
    assert ov["time_limits.reply_working_days.complaint"] == 10.0
    assert "time_limits.reply_working_days.help" not in ov  # only what differs
    assert ov["mechanisms.one_list.enabled"] is False
    assert ov["demand.surges"] == [{"start": "2021-08-01", "end": "2021-08-31", "factor": 1.4}]
    assert ov["callback.method"] == "sms"
    checked = controls.check(scn, lv)
    assert checked.error is None
    v = checked.scenario
    assert v.unit_handlers() == [u.handlers + (3 if u.kind == "street" else 0) for u in scn.units]
    assert v.mechanisms.one_team.inspectors == 2 and v.callback.method == "sms"
    assert v.time_limits.reply_working_days.complaint == 10.0
    assert not v.mechanisms.one_list.enabled
    assert v.demand.surges[0].factor == 1.4 and v.demand.surges[0].topics == []
    # the same overrides through compare's own check give the same scenario (no second path)
    assert jobs.scenario_hash(v) == jobs.scenario_hash(
        sim.load_scenario(YUELU, overrides=ov))


def test_topic_surge_keeps_the_scenarios_own_surges():
    scn = sim.load_scenario(HERE.parent / "scenarios" / "yuelu_2021_surge.toml")
    lv = controls.baseline(scn).with_(surge=controls.SurgeLever("2021-12", 20.0, scn.topics[0].name))
    surges = controls.overrides(scn, lv)["demand.surges"]
    assert len(surges) == 2 and surges[0]["factor"] == 1.4  # the file's own surge stays
    assert surges[1] == {"start": "2021-12-01", "end": "2021-12-31", "factor": 1.2,
                         "topics": [scn.topics[0].name]}
    assert controls.check(scn, lv).error is None


def test_bounds_come_from_the_schema(small, yuelu):
    b = controls.bounds(yuelu)
    fewest_street = min(u.handlers for u in yuelu.units if u.kind == "street")
    assert b["handlers.street"].lo == -fewest_street  # units.*.handlers >= 0
    assert b["inspectors"].lo == 0  # mechanisms.one_team.inspectors >= 0
    assert all(b[f"limits.{c}"].lo > 0 for c in ("help", "consult", "complaint", "suggestion"))
    assert b["surge.percent"].lo > -100  # demand.surges.*.factor > 0
    assert controls.callback_methods() == ("manual", "sms", "sampled")
    # a setting at every lower bound is valid: the bounds never let a slider make a bad value
    low = controls.baseline(small).with_(
        handlers={k: int(b2.lo) for k, b2 in ((k, controls.bounds(small)[f"handlers.{k}"])
                                              for k in ("department", "street"))},
        inspectors=0, limits=dict.fromkeys(("help", "consult", "complaint", "suggestion"), 0.5))
    assert controls.check(small, low).error is None


def test_an_invalid_combination_gives_the_schemas_message_and_runs_nothing(yuelu, tmp_path):
    # a topic surge of -50 % on a topic holding a small share of orders: the named topic would
    # have to lose more than all its orders (each value is within its own bounds)
    topic = min(yuelu.topics, key=lambda t: t.share)
    lv = controls.baseline(yuelu).with_(surge=controls.SurgeLever("2021-08", -50.0, topic.name))
    checked = controls.check(yuelu, lv)
    assert checked.scenario is None
    assert checked.error.startswith("app controls: demand.surges.0.factor: 0.5 would need the named topics")
    assert "allowed >=" in checked.error and "\n" not in checked.error
    # the same message as the schema gives compare (which would refuse before any run)
    with pytest.raises(ScenarioError) as e:
        compare(yuelu, {"v": checked.overrides}, seeds=[1], executor="serial", progress=False)
    assert "demand.surges.0.factor: 0.5 would need the named topics" in str(e.value)
    # a staffing cut past the fewest-staffed unit: the schema's cross-check, in one line
    cut = controls.check(yuelu, controls.baseline(yuelu).with_(handlers={"department": -3, "street": 0}))
    assert cut.scenario is None and cut.error.startswith(
        "app controls: handling.extra_handlers.department: -3 leaves unit")
    # and the what-if cannot even be named as a job
    with pytest.raises(ScenarioError):
        jobs.Spec.of(yuelu, checked.overrides, [1], tmp_path).folders()
    assert not any(tmp_path.iterdir())


# -- jobs and the cache ------------------------------------------------------------------------------
def _runs(folder: Path) -> set[str]:
    return {p.name for p in (folder / jobs.STUDY / ".runs").glob("*.json")}


def test_what_if_runs_only_the_variant_and_a_revisit_is_a_cache_hit(small, tmp_path):
    seeds = [1, 2]
    lv = controls.baseline(small).with_(inspectors=2)
    spec = jobs.Spec.of(small, controls.overrides(small, lv), seeds, tmp_path, jobs=2)
    # the job process gets the spec as JSON, with the folders the page named
    import json

    assert jobs.Spec(**json.loads(spec.to_json())).folders() == spec.folders()
    b, w = jobs.run_job(spec)
    assert (b, w) == spec.folders() and jobs.is_done(b) and jobs.is_done(w)
    assert len(_runs(b)) == 2 and len(_runs(w)) == 2  # the baseline's runs are not in w

    manifest = json.loads((w / jobs.STUDY / "manifest.json").read_text())
    assert manifest["computed"] == 2 and manifest["reused"] == 2  # baseline reused
    out = jobs.outcome(b, w)
    assert set(out.charts["base"]) == set(out.charts["variant"]) == {"monthly", "daily"}
    assert all(png.startswith(b"\x89PNG") for c in out.charts.values() for png in c.values())
    assert "inspectors = 2" in out.scenario_toml and out.report_seed == 1 and out.report is None
    # each run's chart tables were made in its worker: no run folder was saved
    assert not (w / jobs.STUDY / "logs").exists()
    assert {p.name for p in (w / jobs.STUDY / jobs.CHART_TABLES).iterdir()} == {
        "variant-s1.pkl", "variant-s2.pkl"}
    row = out.effects.set_index("indicator").loc["supervision_actions"]
    assert row["n"] == 2
    # the table rows are sim.summary's formatting of the effects
    t = tables.outcome_table(out.effects, "en").set_index("indicator")
    r = out.effects.set_index("indicator").loc["on_time_reply_rate"]
    assert t.loc["on-time reply rate", "what-if"] == format_value("on_time_reply_rate", r["variant_mean"])

    costs = tables.cost_table(out.effects, "en")
    assert list(costs["indicator"])[:3] == [tables.indicator_name(k, "en") for k in
                                            ("staffed_hours", "handler_hours", "supervision_actions")]
    # a revisit: same setting, same folders, nothing runs, answered from memory
    stamp = (w / jobs.APP / jobs.DONE).stat().st_mtime_ns
    t0 = time.perf_counter()
    assert jobs.run_job(jobs.Spec.of(small, controls.overrides(small, lv), seeds, tmp_path)) == (b, w)
    again = jobs.outcome(b, w)
    assert time.perf_counter() - t0 < 1.0
    assert again is out and (w / jobs.APP / jobs.DONE).stat().st_mtime_ns == stamp
    assert jobs.runs_to_make(spec) == 0

    # another setting: a new what-if folder; the baseline is reused, not run again
    lv2 = controls.baseline(small).with_(callback="sms")
    b2, w2 = jobs.run_job(jobs.Spec.of(small, controls.overrides(small, lv2), seeds, tmp_path))
    assert b2 == b and w2 != w and len(_runs(b)) == 2
    assert json.loads((w2 / jobs.STUDY / "manifest.json").read_text())["reused"] == 2
    # the measured time per order now drives the estimate
    per = jobs.seconds_per_order(tmp_path)
    assert per != jobs.DEFAULT_SECONDS_PER_ORDER and per > 0
    # the report download: the variant's first seed run again (hotline run), then reported;
    # the same scenario and seed give the study's run: its indicators are the study's
    report = jobs.make_report(out)
    assert report == out.report_dir / "report.html" == out.report
    assert "全年共计签收热线工单" in report.read_text(encoding="utf-8")
    from sim.result import Result

    again_run = Result.load(out.report_dir).kpis().iloc[0]
    runs = pd.read_parquet(w / jobs.STUDY / "runs.parquet").set_index("seed")
    for k in ("received", "closed", "on_time_reply_rate", "satisfaction", "supervision_actions"):
        assert again_run[k] == pytest.approx(runs.loc[1, k], rel=1e-12, abs=1e-12)


def test_a_staff_cut_to_zero_is_named(small):
    """The schema allows 0 handlers; the page names the units a cut leaves without any."""
    lv = controls.baseline(small).with_(handlers={"department": -2, "street": 0})
    checked = controls.check(small, lv)
    assert checked.error is None
    gone = controls.unstaffed_units(small, checked.scenario)
    handlers = dict(zip([u.name for u in small.units], small.unit_handlers(), strict=True))
    assert gone == [u.name for u in small.units if u.kind == "department" and handlers[u.name] == 2]
    assert gone  # small.toml's department has 2 handlers
    assert controls.unstaffed_units(small, small) == []


def test_a_cancelled_job_leaves_no_result_and_resumes(small, tmp_path):
    seeds = [1, 2, 3]
    lv = controls.baseline(small).with_(inspectors=1)
    spec = jobs.Spec.of(small, controls.overrides(small, lv), seeds, tmp_path, jobs=1)
    job = jobs.start(spec)
    deadline = time.time() + 60
    while job.progress()[0] < 1 and time.time() < deadline:
        time.sleep(0.1)
    done_before = job.progress()[0]
    assert 1 <= done_before < 6, "the job should be part way"
    job.cancel()
    assert not job.running()
    with pytest.raises(ProcessLookupError):  # its process group (workers too) is gone
        os.killpg(job.process.pid, 0)
    assert job.whatif is not None and not jobs.is_done(job.whatif)
    finished = _runs(job.base) | (_runs(job.whatif) if job.whatif.exists() else set())
    # running again makes only what is missing
    b, w = jobs.run_job(spec)
    assert jobs.is_done(w)
    assert finished <= _runs(b) | _runs(w)
    assert len(_runs(b)) + len(_runs(w)) == 6


def test_estimate_counts_waves_of_runs_sharing_the_cores(small, tmp_path):
    per = 1e-4
    one = small.expected_orders() * per  # one run's CPU seconds
    est = partial(jobs.estimate_seconds, small, per_order=per, cores=2)
    assert est(1, 2) == est(2, 2) == pytest.approx(jobs.START_SECONDS + one)  # one wave
    assert est(3, 2) == pytest.approx(jobs.START_SECONDS + 2 * one)  # two waves
    # one process per run: 5 runs on 2 cores share them, 2.5 run-times, not 3 waves
    assert est(5, 5) == pytest.approx(jobs.START_SECONDS + 2.5 * one)
    assert est(5, 2) == pytest.approx(jobs.START_SECONDS + 3 * one)
    # two other busy processes on the 2 cores: each wave of 2 takes twice as long
    assert est(4, 2, busy=2) == pytest.approx(jobs.START_SECONDS + 2 * 2 * one)
    assert jobs.busy_processes() >= 0
    assert est(0, 2) == 0
    assert jobs.seconds_per_order(tmp_path) == jobs.DEFAULT_SECONDS_PER_ORDER
    city = sim.load_scenario(HERE.parent / "scenarios" / "changsha_2021.toml")
    spec = jobs.Spec.of(city, {"mechanisms.one_team.inspectors": 2}, [1, 2, 3, 4, 5], tmp_path)
    assert jobs.runs_to_make(spec) == 10
    est = jobs.estimate_seconds(city, 10, 2, jobs.DEFAULT_SECONDS_PER_ORDER)
    assert est > jobs.CITY_SECONDS  # the page asks before starting it


# -- hotline app -------------------------------------------------------------------------------------
def test_hotline_app_bad_input_is_one_line_and_exit_2(capsys, tmp_path):
    from sim.cli import main

    assert main(["app", str(tmp_path / "nosuch.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"hotline: error: {tmp_path / 'nosuch.toml'}: no such file"]
    assert main(["app", str(SMALL), "--port", "70000"]) == 2
    assert capsys.readouterr().err.strip() == "hotline: error: --port 70000: give a port number 1-65535"


def test_streamlit_command_binds_localhost_without_usage_statistics():
    cmd = streamlit_command("x.toml")
    flags = dict(zip(cmd, cmd[1:], strict=False))
    assert flags["--server.address"] == "127.0.0.1" and flags["--server.port"] == "8501"
    assert flags["--browser.gatherUsageStats"] == "false" and flags["--server.headless"] == "true"
    assert cmd[cmd.index("--") + 1:][:2] == ["--scenario", "x.toml"]
    assert streamlit_command("x.toml", host="0.0.0.0", port=9000)[5:9] == [
        "--server.address", "0.0.0.0", "--server.port", "9000"]


# -- the page in a real browser ----------------------------------------------------------------------
# Messages of the framework itself that the console may show (none seen with Streamlit 1.67 and
# Debian's chromium; listed here if a version brings one).  Anything else fails the test.
ALLOWED_CONSOLE: tuple[str, ...] = ()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "app", str(SMALL), "--port", str(port),
         "--cache", str(tmp_path / "cache"), "--jobs", "2"],
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError((tmp_path / "server.log").read_text()) from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()  # the server by its own pid (hotline app execs Streamlit)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _slider(page, key: str):
    return page.locator(f".st-key-{key}").get_by_role("slider")


def test_page_in_chromium_matches_compare(server, small):
    from playwright.sync_api import expect, sync_playwright

    assert CHROMIUM.is_file(), f"{CHROMIUM} missing: install Debian's chromium (tests/run.sh does)"
    expect.set_options(timeout=20_000)  # each rerun of the page waits for a loaded machine
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(20_000)
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(server, wait_until="domcontentloaded")
            # the language switch: English labels
            expect(page.get_by_role("heading", name="12345 热线推演：如果……会怎样？")).to_be_visible(timeout=60_000)
            page.get_by_text("English", exact=True).click()
            expect(page.get_by_role("heading", name="12345 hotline: what if ...?")).to_be_visible()
            # two controls: the supervision team 4 -> 2, one more handler per department unit
            team = _slider(page, "inspectors")
            expect(team).to_have_attribute("aria-valuetext", "4")
            team.focus()
            team.press("ArrowLeft")
            team.press("ArrowLeft")
            expect(team).to_have_attribute("aria-valuetext", "2")
            staff = _slider(page, "handlers_department")
            staff.focus()
            staff.press("ArrowRight")
            expect(staff).to_have_attribute("aria-valuetext", "1")
            expect(page.get_by_text("This will take about")).to_be_visible(timeout=60_000)
            page.get_by_role("button", name="Run").click()
            table = page.get_by_test_id("stTable").first
            # generous waits: the shared 2-core machine may be loaded many times over
            expect(table).to_be_visible(timeout=120_000)
            row = table.locator("tr", has_text="on-time reply rate")
            cells = [c.strip() for c in row.locator("th, td").all_inner_texts()]
            images = page.get_by_test_id("stImage").locator("img")
            expect(images).to_have_count(4, timeout=60_000)
            # the four charts (baseline and what-if, monthly and daily) loaded as images
            page.wait_for_function(
                """() => { const imgs = [...document.querySelectorAll('[data-testid="stImage"] img')];
                           return imgs.length === 4 && imgs.every(i => i.complete && i.naturalWidth > 0); }""",
                timeout=60_000)
            sizes = images.evaluate_all(
                "els => els.map(e => ({w: e.getBoundingClientRect().width,"
                " h: e.getBoundingClientRect().height, n: e.naturalWidth}))")
            downloads = page.get_by_test_id("stDownloadButton").count()
            # the report, made on demand (the variant's first seed run again, then reported)
            page.get_by_role("button", name="Make the what-if report (HTML)").click()
            expect(page.get_by_role("button", name="Download the what-if report (HTML, seed 1)")
                   ).to_be_visible(timeout=120_000)
        finally:
            browser.close()

    # the same what-if through sim.batch.study.compare, same settings and seeds
    lv = controls.baseline(small).with_(inspectors=2, handlers={"department": 1, "street": 0})
    ov = controls.overrides(small, lv)
    assert ov == {"handling.extra_handlers.department": 1, "mechanisms.one_team.inspectors": 2}
    study = compare(small, {"what-if": ov}, seeds=[1, 2, 3, 4, 5], jobs=2, progress=False)
    e = study.effects.set_index("indicator").loc["on_time_reply_rate"]
    assert cells[:4] == ["on-time reply rate", format_value("on_time_reply_rate", e["base_mean"]),
                         format_value("on_time_reply_rate", e["variant_mean"]),
                         f"{e['diff'] * 100:+.2f} pp"]
    assert len(sizes) == 4 and all(s["w"] > 0 and s["h"] > 0 and s["n"] > 0 for s in sizes), sizes
    assert downloads >= 1  # the what-if's scenario TOML
    unexpected = [m for m in problems if not any(a in m for a in ALLOWED_CONSOLE)]
    assert unexpected == []
