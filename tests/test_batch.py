"""Batch studies (issue 10): executors agree, a killed sweep resumes, paired statistics, designs.

Every study here runs tests/scenarios/small.toml (a two-unit district, 60 days, ~320 orders;
about 0.2 s a run), so the file keeps to its ~90 s budget on two cores.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import sim
from sim.batch import design as dsg
from sim.batch import stats
from sim.batch.store import RUNS_DIR, StudyError, run_key, scenario_hash
from sim.batch.study import SIX, TIMING, ablation_variants

REPO = Path(__file__).resolve().parent.parent
SMALL = REPO / "tests" / "scenarios" / "small.toml"
HOTLINE = Path(sys.executable).with_name("hotline")
TEAM_GRID = {"mechanisms.one_team.inspectors": [0, 4], "demand.annual_orders": [1500, 2500]}


def comparable(runs: pd.DataFrame) -> pd.DataFrame:
    """A runs table without its timing columns, in (point, seed) order."""
    return runs.drop(columns=list(TIMING)).sort_values(["point", "seed"]).reset_index(drop=True)


# -- executors -----------------------------------------------------------------------------------
def test_same_table_under_every_executor(tmp_path):
    """serial, 2 local processes and a real local Dask cluster (2 worker processes) give the same
    runs table, and the run store's files are the same records."""
    from distributed import LocalCluster

    seeds = [1, 2, 3]
    serial = sim.sweep(SMALL, grid=TEAM_GRID, seeds=seeds, executor="serial", out=tmp_path / "s")
    procs = sim.sweep(SMALL, grid=TEAM_GRID, seeds=seeds, executor="processes", jobs=2,
                      out=tmp_path / "p")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        dask = sim.sweep(SMALL, grid=TEAM_GRID, seeds=seeds, executor="dask",
                         scheduler=cluster.scheduler_address, out=tmp_path / "d")
    assert len(serial.runs) == 4 * 3 and serial.failed == 0
    pd.testing.assert_frame_equal(comparable(serial.runs), comparable(procs.runs))
    pd.testing.assert_frame_equal(comparable(serial.runs), comparable(dask.runs))
    pd.testing.assert_frame_equal(serial.summary, dask.summary)
    from_disk = pd.read_parquet(tmp_path / "p" / "runs.parquet")
    pd.testing.assert_frame_equal(comparable(from_disk), comparable(serial.runs))
    # the swept parameters are columns named by their dotted paths, with the values run
    assert list(serial.runs.columns[:4]) == ["point", *TEAM_GRID, "seed"]
    assert sorted(set(serial.runs["mechanisms.one_team.inspectors"])) == [0, 4]


def test_local_dask_workers_are_set_up_for_runs():
    """The executor's own local cluster: its workers run without Dask's 10-ms statistical
    profiler (it takes the GIL from a run) and have the run function imported at start-up."""
    import sys

    import dask
    from distributed import Client

    from sim.batch.executors.dask_cluster import local_cluster

    with local_cluster(1) as cluster, Client(cluster) as client:
        profiles = client.run(lambda: dask.config.get("distributed.worker.profile.enabled"))
        preloaded = client.run(lambda: "sim.batch.runner" in sys.modules)
    assert list(profiles.values()) == [False]
    assert list(preloaded.values()) == [True]
    assert dask.config.get("distributed.worker.profile.enabled") is True  # the driver's is untouched


def test_processes_do_not_fork_a_threaded_driver(monkeypatch):
    """Forking copies every thread's memory but runs one thread, so a lock held by another thread
    (a Dask client's IO loop) stays held in the child for ever.  With a Dask client open in this
    process the pool starts its workers from a forkserver instead, and the runs are the same."""
    import threading

    from distributed import Client, LocalCluster

    from sim.batch import study as study_mod
    from sim.batch.executors import processes

    stop = threading.Event()
    t = threading.Thread(target=stop.wait, daemon=True)
    t.start()
    try:
        assert processes.start_method() == "forkserver"
    finally:
        stop.set()
        t.join()
    made = []

    def spy(*args, **kwargs):
        made.append(study_mod_make(*args, **kwargs))
        return made[-1]

    study_mod_make = study_mod.make_executor
    monkeypatch.setattr(study_mod, "make_executor", spy)
    grid = {"mechanisms.one_team.inspectors": [0, 4]}
    # a thread-only cluster: cheap, and its IO loop thread is the hazard
    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster, Client(cluster):
        assert threading.active_count() > 1
        procs = sim.sweep(SMALL, grid=grid, seeds=[1], executor="processes", jobs=2)
    assert made[-1].start_method == "forkserver"
    ref = sim.sweep(SMALL, grid=grid, seeds=[1], executor="serial")
    pd.testing.assert_frame_equal(comparable(procs.runs), comparable(ref.runs))


def test_local_dask_cluster_started_by_the_executor(tmp_path):
    """Without --scheduler the Dask executor starts (and stops) its own local cluster."""
    res = sim.sweep(SMALL, grid={"mechanisms.one_team.inspectors": [0]}, seeds=[1, 2],
                    executor="dask", jobs=1)
    ref = sim.sweep(SMALL, grid={"mechanisms.one_team.inspectors": [0]}, seeds=[1, 2],
                    executor="serial")
    pd.testing.assert_frame_equal(comparable(res.runs), comparable(ref.runs))


def test_unreachable_scheduler_is_a_one_line_error(tmp_path):
    with pytest.raises(StudyError, match=r"^--scheduler tcp://127.0.0.1:9: cannot reach"):
        sim.sweep(SMALL, grid={"mechanisms.one_team.inspectors": [0]}, executor="dask",
                  scheduler="tcp://127.0.0.1:9", out=tmp_path / "x")
    assert not (tmp_path / "x").exists(), "no run may start"


# -- the run store ---------------------------------------------------------------------------------
def _sweep_cmd(out: Path) -> list[str]:
    exe = [str(HOTLINE)] if HOTLINE.exists() else [sys.executable, "-m", "sim.cli"]
    return [*exe, "sweep", str(SMALL), "--grid", "mechanisms.one_team.inspectors=0,2,4,8",
            "--seeds", "1-6", "--jobs", "2", "--out", str(out)]


def test_resume_after_sigkill(tmp_path):
    """Kill a sweep (driver and workers, SIGKILL) part-way, run the same command again: the final
    table equals an uninterrupted run's, and the runs finished before the kill are not redone."""
    out = tmp_path / "study"
    proc = subprocess.Popen(_sweep_cmd(out), cwd=REPO, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runs_dir = out / RUNS_DIR
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if runs_dir.exists() and len(list(runs_dir.glob("*.json"))) >= 5:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the sweep ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {p.name: p.stat().st_mtime_ns for p in runs_dir.glob("*.json")}
    assert 5 <= len(before) < 24
    assert not (out / "runs.parquet").exists() and not (out / "manifest.json").exists(), (
        "a killed study must not leave tables that look complete"
    )
    again = subprocess.run(_sweep_cmd(out), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["reused"] == len(before)
    assert manifest["computed"] == 24 - len(before)
    after = {p.name: p.stat().st_mtime_ns for p in runs_dir.glob("*.json")}
    assert len(after) == 24
    assert {k: after[k] for k in before} == before, "finished runs were rewritten"
    resumed = pd.read_parquet(out / "runs.parquet")
    assert not resumed.duplicated(["point", "seed"]).any()
    whole = sim.sweep(SMALL, grid={"mechanisms.one_team.inspectors": [0, 2, 4, 8]},
                      seeds=range(1, 7), executor="processes", jobs=2)
    pd.testing.assert_frame_equal(comparable(resumed), comparable(whole.runs))


def test_other_study_in_folder_refused_unless_overwrite(tmp_path, capsys):
    from sim import cli

    out = tmp_path / "study"
    args = ["sweep", str(SMALL), "--grid", "mechanisms.one_team.inspectors=0", "--seeds", "1",
            "--executor", "serial", "--out", str(out)]
    assert cli.main(args) == 0
    capsys.readouterr()
    other = [*args[:3], "mechanisms.one_team.inspectors=2", *args[4:]]
    assert cli.main(other) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err and "--overwrite" in err
    assert cli.main([*other, "--overwrite"]) == 0
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(runs["mechanisms.one_team.inspectors"]) == [2]
    assert len(list((out / RUNS_DIR).glob("*.json"))) == 1, "the replaced study's runs are gone"


def test_run_key_changes_with_scenario_seed_and_source(monkeypatch):
    from sim.batch import store

    a = sim.load_scenario(SMALL)
    b = sim.with_overrides(a, {"mechanisms.one_team.inspectors": 2})
    ka = run_key(scenario_hash(a), 1)
    assert ka == run_key(scenario_hash(sim.load_scenario(SMALL)), 1)
    assert ka != run_key(scenario_hash(b), 1)
    assert ka != run_key(scenario_hash(a), 2)
    monkeypatch.setattr(store, "source_digest", lambda: "edited source")
    assert ka != run_key(scenario_hash(a), 1), "results of other code must not be reused"


def test_failed_run_is_recorded_and_others_finish(tmp_path, capsys, monkeypatch):
    """A run that raises is recorded with its error and traceback; the others finish; the exit
    code says some failed; a re-run retries only the failed one."""
    from sim import cli

    real = sim.simulate

    def flaky(scn, seed=1, **kw):
        if seed == 2:
            raise RuntimeError("boom in seed 2")
        return real(scn, seed=seed, **kw)

    monkeypatch.setattr(sim, "simulate", flaky)
    out = tmp_path / "study"
    args = ["sweep", str(SMALL), "--grid", "mechanisms.one_team.inspectors=0,4", "--seeds", "1-3",
            "--executor", "serial", "--out", str(out)]
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert "2 of 6 runs failed" in err and "boom in seed 2" in err
    runs = pd.read_parquet(out / "runs.parquet")
    bad = runs[runs["status"] == "failed"]
    assert list(bad["seed"]) == [2, 2]
    assert bad["error"].str.contains("RuntimeError: boom in seed 2").all()
    assert bad["traceback"].str.contains("Traceback").all()
    assert runs.loc[runs["status"] == "ok", "closure_rate"].notna().all()
    monkeypatch.setattr(sim, "simulate", real)
    assert cli.main(args) == 0
    assert json.loads((out / "manifest.json").read_text())["computed"] == 2


def test_keep_logs_saves_run_folders(tmp_path):
    res = sim.sweep(SMALL, grid={"mechanisms.one_team.inspectors": [4]}, seeds=[1],
                    executor="serial", out=tmp_path, keep_logs=True)
    folder = tmp_path / "logs" / "p0000-s1"
    assert (folder / "events.parquet").exists()
    again = sim.Result.load(folder).kpis().iloc[0]
    assert again["closed"] == res.runs.iloc[0]["closed"]


def _save_closed(folder: str, res, point: str, seed: int) -> None:
    """A study's ``after`` hook (module level: pickled by name): the run's closed count."""
    (Path(folder) / f"{point}-s{seed}.txt").write_text(str(int(res.kpis().iloc[0]["closed"])))


def test_after_hook_runs_in_the_worker_on_each_new_run(tmp_path):
    """``after(result, point, seed)`` is called once per run made, in the worker, with the
    run's Result; a resumed study does not call it for the runs it finds done."""
    from functools import partial

    hook = tmp_path / "hook"
    hook.mkdir()
    kw = dict(seeds=[1, 2], executor="processes", jobs=2, out=tmp_path / "s", progress=False,
              after=partial(_save_closed, str(hook)))
    res = sim.compare(SMALL, {"team2": {"mechanisms.one_team.inspectors": 2}}, **kw)
    written = {p.name: int(p.read_text()) for p in hook.iterdir()}
    runs = res.runs.set_index(["point", "seed"])
    assert written == {f"{p}-s{s}.txt": int(runs.loc[(p, s), "closed"])
                       for p in ("base", "team2") for s in (1, 2)}
    for p in hook.iterdir():
        p.unlink()
    again = sim.compare(SMALL, {"team2": {"mechanisms.one_team.inspectors": 2}}, **kw)
    assert again.computed == 0 and not any(hook.iterdir())


# -- outputs ---------------------------------------------------------------------------------------
def test_summary_and_manifest(tmp_path):
    targets = tmp_path / "t.toml"
    targets.write_text("[targets.closure_rate]\nkind = \"range\"\nmin = 0.82\n")
    res = sim.sweep(SMALL, grid={"mechanisms.one_team.inspectors": [0, 4]}, seeds=[1, 2, 3, 4],
                    executor="serial", out=tmp_path / "o", targets=targets)
    raw = (tmp_path / "o" / "summary.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM for Excel"
    summary = pd.read_csv(tmp_path / "o" / "summary.csv", encoding="utf-8-sig")
    row = summary[(summary["point"] == "p0001") & (summary["indicator"] == "closure_rate")].iloc[0]
    values = res.runs.loc[res.runs["point"] == "p0001", "closure_rate"].to_numpy()
    assert row["n"] == 4
    assert row["mean"] == pytest.approx(values.mean())
    assert row["std"] == pytest.approx(values.std(ddof=1))
    assert row["ci_half"] == pytest.approx(sps.t.ppf(0.975, 3) * values.std(ddof=1) / 2)
    assert row["target_share"] == pytest.approx(np.mean(values >= 0.82))
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["seeds"] == [1, 2, 3, 4] and manifest["runs"] == 8
    assert manifest["versions"]["hotline-sim"] and len(manifest["source_digest"]) == 64


# -- paired statistics -------------------------------------------------------------------------------
def test_paired_ci_matches_hand_computation():
    """d = [1, 2, 0, 3]: mean 1.5, s = sqrt(5/3) = 1.290994, se = 0.645497,
    t(0.975, 3) = 3.182446 (tables), half-width 2.054264."""
    base = pd.Series([1.0, 2.0, 3.0, 4.0], index=[1, 2, 3, 4])
    variant = pd.Series([2.0, 4.0, 3.0, 7.0], index=[1, 2, 3, 4])
    d = stats.paired_difference(base, variant)
    assert d["n"] == 4 and d["diff"] == pytest.approx(1.5)
    assert d["base_mean"] == pytest.approx(2.5) and d["variant_mean"] == pytest.approx(4.0)
    assert d["ci_low"] == pytest.approx(1.5 - 2.054264, abs=1e-5)
    assert d["ci_high"] == pytest.approx(1.5 + 2.054264, abs=1e-5)
    # pairing is by seed, not by position; a seed missing on one side is left out
    shuffled = variant.iloc[::-1]
    assert stats.paired_difference(base, shuffled)["diff"] == pytest.approx(1.5)
    assert stats.paired_difference(base, variant.drop(4))["n"] == 3
    assert stats.t_quantile(40) == pytest.approx(2.021075, abs=1e-6), "t, not 1.96, above 30 df"


def test_common_random_numbers_shrink_the_variance(tmp_path):
    """Switching the supervision team off: the paired differences (same seeds) vary much less
    than differences of independent runs (variant on seeds 1-10, base on seeds 11-20).  A
    one-sided F test at the 1 % level says the paired variance is the smaller."""
    res = sim.compare(SMALL, variants={"no_team": {"mechanisms.one_team.enabled": False}},
                      seeds=range(1, 21), jobs=2)
    runs = res.runs.set_index(["point", "seed"])
    for ind in ("closure_rate", "ttc_mean_wd", "backlog_mean"):
        base, var = runs.loc["base", ind], runs.loc["no_team", ind]
        paired = (var.loc[1:10] - base.loc[1:10]).to_numpy()
        unpaired = var.loc[1:10].to_numpy() - base.loc[11:20].to_numpy()
        f = np.var(unpaired, ddof=1) / np.var(paired, ddof=1)
        assert sps.f.sf(f, 9, 9) < 0.01, (ind, f)
    eff = res.effects.set_index(["variant", "indicator"]).loc[("no_team", "closure_rate")]
    assert eff["n"] == 20
    d = (runs.loc["no_team", "closure_rate"] - runs.loc["base", "closure_rate"]).to_numpy()
    half = sps.t.ppf(0.975, 19) * d.std(ddof=1) / np.sqrt(20)
    assert eff["diff"] == pytest.approx(d.mean())
    assert (eff["ci_low"], eff["ci_high"]) == pytest.approx((d.mean() - half, d.mean() + half))


def test_ablate_all_is_each_enabled_mechanism_then_all_off():
    base = sim.load_scenario(SMALL)
    v = ablation_variants(base, "all")
    assert list(v) == [f"no_{m}" for m in SIX] + ["all_off"]
    assert v["no_one_team"] == {"mechanisms.one_team.enabled": False}
    assert v["all_off"] == {f"mechanisms.{m}.enabled": False for m in SIX}
    partial = sim.with_overrides(base, {"mechanisms.one_set.enabled": False})
    assert "no_one_set" not in ablation_variants(partial, "all")
    assert list(ablation_variants(base, ["one_team"])) == ["no_one_team"]
    # a policy outside the 六个一 (first contact) is never ablated, even when switched on
    with_fc = sim.with_overrides(base, {"mechanisms.first_contact.enabled": True})
    assert ablation_variants(with_fc, "all") == v
    with pytest.raises(StudyError, match="--ablate first_contact: unknown mechanism"):
        ablation_variants(base, ["first_contact"])


def test_differences_are_printed_in_their_units():
    """Rate differences in percentage points beside means in %; counts keep their digits when
    small (a fractional difference of mean counts is not rounded to a whole number)."""
    from sim.summary import format_difference, format_value

    assert format_value("closure_rate", 0.8245) == "82.45%"
    assert format_difference("closure_rate", -0.0512) == "-5.12 pp"
    assert format_difference("backlog_mean", 0.625) == "+0.625"
    assert format_difference("backlog_mean", -1234.4) == "-1,234"
    assert format_difference("handler_hours", 12.34) == "+12.3 h"
    assert format_difference("ttc_mean_wd", -0.041) == "-0.04"
    assert format_difference("closure_rate", float("nan")) == "n/a"


def test_compare_cli_writes_effects(tmp_path, capsys):
    from sim import cli

    out = tmp_path / "cmp"
    code = cli.main(["compare", str(SMALL), "--variant", "no_team=mechanisms.one_team.enabled=false",
                     "--variant", "small_team=mechanisms.one_team.inspectors=1",
                     "--against", str(REPO / "tests" / "scenarios" / "small.toml"),
                     "--seeds", "1-3", "--executor", "serial", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    eff = pd.read_csv(out / "effects.csv", encoding="utf-8-sig")
    assert list(eff.columns) == ["variant", "indicator", "base_mean", "variant_mean", "diff",
                                 "ci_low", "ci_high", "n", "unit", "diff_pp", "ci_low_pp", "ci_high_pp"]
    # raw columns in the indicator's unit (rates as fractions); the _pp columns only for rates
    rate = eff[eff["indicator"] == "closure_rate"]
    assert (rate["unit"] == "fraction").all()
    assert np.allclose(rate["diff_pp"], rate["diff"] * 100) and np.allclose(rate["ci_high_pp"], rate["ci_high"] * 100)
    assert (eff.loc[eff["indicator"] == "closed", "unit"] == "count").all()
    assert eff.loc[eff["indicator"] == "closed", "diff_pp"].isna().all()
    # the human-readable table: rate differences in percentage points, beside means in %
    readable = pd.read_csv(out / "effects_readable.csv", encoding="utf-8-sig")
    row = readable[(readable["indicator"] == "closure_rate") & (readable["方案 variant"] == "no_team")].iloc[0]
    d = rate[rate["variant"] == "no_team"].iloc[0]
    assert row["差值 diff (rates in pp)"] == f"{d['diff'] * 100:+.2f} pp"
    assert row["基准 base"] == f"{d['base_mean']:.2%}"
    assert row["配对95%置信区间 95% CI (paired)"] == f"[{d['ci_low'] * 100:+.2f} pp, {d['ci_high'] * 100:+.2f} pp]"
    line = next(ln for ln in printed.splitlines() if "no_team" in ln and "closure_rate" in ln)
    assert f"{d['diff'] * 100:+.2f} pp" in line and f"{d['base_mean']:.2%}" in line
    assert list(dict.fromkeys(eff["variant"])) == ["no_team", "small_team", "small"]
    same = eff[eff["variant"] == "small"]
    defined = same.dropna(subset=["diff"])  # an indicator undefined in every run (no surge) has n 0
    assert (defined["diff"] == 0).all(), "the same file against itself differs by nothing"
    assert len(defined) > 30 and (same.loc[same["diff"].isna(), "n"] == 0).all()
    assert "95% CI (paired)" in printed and "no_team" in printed
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(runs["variant"].unique()) == ["base", "no_team", "small_team", "small"]


# -- designs and sensitivity --------------------------------------------------------------------------
def test_grid_values_split_at_top_level_commas():
    assert dsg.split_top_level('[1,2],{a=1,b="x,y"},3') == ["[1,2]", '{a=1,b="x,y"}', "3"]
    grid = dsg.parse_grid(["a.b=1,2.5,true", "c=[1,2],[3,4]"])
    assert grid == {"a.b": [1, 2.5, True], "c": [[1, 2], [3, 4]]}


def test_integer_ranges_are_floored_evenly():
    r = dsg.Range("mechanisms.one_team.inspectors", 0, 8, integer=True)
    assert r.bounds() == (0, 9)
    assert [r.value(u) for u in (0.0, 0.99, 8.5, 9.0)] == [0, 0, 8, 8]
    d = dsg.lhs_design(90, [r], {}, seed=3)
    values = [p[r.path] for p in d.points]
    assert all(isinstance(v, int) for v in values)
    assert np.bincount(values).tolist() == [10] * 9, "a Latin hypercube stratifies each integer"


def test_sobol_pipeline_recovers_ishigami():
    """Saltelli design + SALib analysis on the Ishigami function (a=7, b=0.1), N = 2^12,
    seed 1: first- and total-order indices within 0.03 of the analytic values (Sobol' &
    Levitan 1999; Saltelli et al. 2008, Global Sensitivity Analysis, Table 4.3)."""
    from SALib.test_functions import Ishigami

    from sim.batch.sensitivity import sobol_indices

    ranges = [dsg.Range(f"x{i}", -np.pi, np.pi) for i in range(1, 4)]
    d = dsg.sobol_design(2**12, ranges, {}, seed=1)
    assert d.unit_x.shape == (2**12 * 5, 3)
    si = sobol_indices(d.problem(), Ishigami.evaluate(d.unit_x), seed=1).set_index("parameter")
    assert si["S1"].to_numpy() == pytest.approx([0.3139, 0.4424, 0.0], abs=0.03)
    assert si["ST"].to_numpy() == pytest.approx([0.5576, 0.4424, 0.2437], abs=0.03)


def test_model_through_sobol_and_morris(tmp_path, capsys):
    """Smoke study: the model itself through the Sobol and Morris pipelines, from the CLI."""
    from sim import cli

    common = ["--range", "handling.scale=0.8:1.3", "--range", "mechanisms.one_team.inspectors=0:4",
              "--seeds", "1", "--jobs", "2"]
    assert cli.main(["sweep", str(SMALL), "--sobol", "4", *common, "--out", str(tmp_path / "s")]) == 0
    sens = pd.read_csv(tmp_path / "s" / "sensitivity.csv", encoding="utf-8-sig")
    runs = pd.read_parquet(tmp_path / "s" / "runs.parquet")
    assert len(runs) == 4 * (2 + 2)
    assert set(runs["mechanisms.one_team.inspectors"]) <= set(range(5))
    ttc = sens[sens["indicator"] == "ttc_mean_wd"].set_index("parameter")
    assert list(ttc.index) == ["handling.scale", "mechanisms.one_team.inspectors"]
    assert ttc[["S1", "ST", "S1_conf", "ST_conf"]].notna().all().all()
    assert cli.main(["sweep", str(SMALL), "--morris", "3", *common, "--out", str(tmp_path / "m")]) == 0
    sens = pd.read_csv(tmp_path / "m" / "sensitivity.csv", encoding="utf-8-sig")
    ttc = sens[sens["indicator"] == "ttc_mean_wd"].set_index("parameter")
    assert (ttc["mu_star"] >= 0).all() and ttc["sigma"].notna().all()
    # a slower handling scale lengthens time to close: its mu* dominates
    assert ttc.loc["handling.scale", "mu_star"] > 0
    assert "mu_star" in capsys.readouterr().out
    assert cli.main(["sweep", str(SMALL), "--lhs", "3", *common, "--out", str(tmp_path / "l")]) == 0
    assert len(pd.read_parquet(tmp_path / "l" / "runs.parquet")) == 3


# -- bad input: one line naming the flag, exit 2, before any run ----------------------------------------
BAD = [
    (["--grid", "mechanisms.one_team.bogus=1,2"], "--grid mechanisms.one_team.bogus=1"),
    (["--grid", "mechanisms.one_team.inspectors=-1,2"], "mechanisms.one_team.inspectors"),
    (["--grid", "mechanisms.one_team.inspectors=two"], "--grid mechanisms.one_team.inspectors"),
    (["--grid", "mechanisms.one_team.inspectors="], "empty grid"),
    (["--grid", "inspectors"], "--grid inspectors"),
    (["--grid", "handling.scale=1", "--set", "handling.bogus=3"], "--set"),
    (["--range", "handling.scale=1.3:0.8", "--lhs", "4"], "lo > hi"),
    (["--range", "handling.scale=a:b", "--lhs", "4"], "--range"),
    (["--range", "handling.bogus=0:1", "--lhs", "4"], "--range handling.bogus"),
    (["--range", "handling.scale=-1:1", "--lhs", "4"], "--range handling.scale"),
    (["--range", "mechanisms.one_team.inspectors=0:2.5", "--lhs", "4"], "integer"),
    (["--range", "handling.scale=0.8:1.3", "--sobol", "6"], "power of two"),
    (["--range", "handling.scale=0.8:1.3"], "--range"),
    ([], "--grid"),
    (["--grid", "handling.scale=1", "--executor", "serial", "--scheduler", "tcp://x:1"], "--scheduler"),
    (["--grid", "handling.scale=1", "--jobs", "0"], "--jobs"),
]


@pytest.mark.parametrize("extra, must_name", BAD)
def test_bad_sweep_input(extra, must_name, tmp_path, capsys):
    from sim import cli

    out = tmp_path / "o"
    code = cli.main(["sweep", str(SMALL), *extra, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("hotline: error: ") and "Traceback" not in err
    assert must_name in err, err
    assert not out.exists(), "nothing may run or be written"


@pytest.mark.parametrize(
    "extra, must_name",
    [
        (["--ablate", "one_teem"], "--ablate one_teem"),
        (["--variant", "no_team"], "--variant no_team"),
        (["--variant", "x=mechanisms.one_team.enabled=maybe"], "--variant x="),
        (["--against", "nowhere.toml"], "nowhere.toml"),
        ([], "--variant"),
    ],
)
def test_bad_compare_input(extra, must_name, tmp_path, capsys):
    from sim import cli

    code = cli.main(["compare", str(SMALL), *extra, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and must_name in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_check_jobs_and_workers_alias(capsys):
    from sim import cli

    base = ["check", str(REPO / "scenarios" / "yuelu_2021.toml"), "--seeds", "1-2",
            "--set", "demand.annual_orders=2000"]
    outs = []
    for flag in ("--jobs", "--workers"):
        code = cli.main([*base, flag, "2"])
        outs.append(capsys.readouterr().out)
        assert code in (0, 1)
    assert outs[0] == outs[1]
    assert "passed" in outs[0].splitlines()[-1]


def test_a_never_in_the_runs_gives_an_infinite_mean_and_no_interval():
    """An indicator's "never" (inf, e.g. a backlog that does not recover in a run) makes the
    mean infinite and the interval undefined (NaN, shown n/a), without numpy's warnings."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m, lo, hi = stats.mean_ci(np.array([3.0, np.inf, 5.0]))
        assert m == np.inf and np.isnan(lo) and np.isnan(hi)
        assert np.isnan(stats.mean_ci(np.array([np.inf, -np.inf]))[0])
        d = stats.paired_difference(pd.Series([50.0, 60.0, 70.0]), pd.Series([55.0, np.inf, 72.0]))
        assert d["diff"] == np.inf and np.isnan(d["ci_low"]) and d["n"] == 3
        assert stats.describe(np.array([1.0, np.inf]))["mean"] == np.inf
    assert stats.mean_ci(np.array([1.0, 2.0, 3.0]))[1] < 2.0  # finite values: the t interval


def test_compare_reuses_another_studys_finished_runs(tmp_path):
    """``reuse=``: a run whose key (scenario as run, seed, source digest) is finished in
    another study folder is taken from it, not run again; the tables are the same as when
    everything runs (the what-if page reuses its cached baseline this way)."""
    seeds = [1, 2]
    variant = {"v": {"mechanisms.one_team.inspectors": 1}}
    sim.compare(SMALL, {"same": {}}, seeds, executor="serial", out=tmp_path / "base", progress=False)
    reused = sim.compare(SMALL, variant, seeds, executor="serial", out=tmp_path / "whatif",
                         reuse=[tmp_path / "base"], progress=False)
    assert reused.computed == 2 and reused.reused == 2
    assert len(list((tmp_path / "whatif" / RUNS_DIR).glob("*.json"))) == 2  # the variant's only
    fresh = sim.compare(SMALL, variant, seeds, executor="serial", progress=False)
    assert fresh.computed == 4
    cols = ["variant", "indicator", "base_mean", "variant_mean", "diff", "ci_low", "ci_high"]
    pd.testing.assert_frame_equal(reused.effects[cols], fresh.effects[cols])
