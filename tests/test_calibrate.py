"""Calibration and optimisation (issue 12): synthetic truth is recovered, the optimiser agrees
with a brute-force grid, a killed search resumes from its journal, bad input stops before any run.

Every search runs tests/scenarios/small.toml (two units, 60 days, ~320 orders, ~0.3 s a run)
on three seeds, so the file keeps to its ~90 s budget on two cores.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.targets import Target, Targets

REPO = Path(__file__).resolve().parent.parent
SMALL = REPO / "tests" / "scenarios" / "small.toml"
HOTLINE = Path(sys.executable).with_name("hotline")
SEEDS = [1, 2, 3]

# the synthetic truth: small.toml's own values; each free field is pinned by one indicator
# (utilisation by the handling scale, the 基本满意 share by the satisfaction base); the third
# target, callback rate, holds at the truth's reach probability, which is not freed
TRUTH = {"handling.scale": 1.0, "callback.satisfaction.base": 7.0}
BOUNDS = {"handling.scale": (0.5, 2.0), "callback.satisfaction.base": (3.0, 9.0)}
PINNED_BY = {"utilisation": "handling.scale", "basic_share": "callback.satisfaction.base",
             "callback_rate": "callback.reach_probability_per_attempt"}
START = {"handling.scale": 1.6, "callback.satisfaction.base": 4.5}


def synthetic_targets() -> Targets:
    """Targets made from the truth's runs on the search and hold-out seeds (1-6): each
    indicator's mean, with a tolerance of twice the standard deviation of the difference of
    two three-seed means (2 * sd * sqrt(2 / 3), sd over the six runs): a candidate within it
    cannot be told from the truth on three seeds, and the truth passes on fresh seeds."""
    scn = sim.load_scenario(SMALL)
    runs = pd.DataFrame([sim.simulate(scn, s).kpis().iloc[0] for s in range(1, 7)])
    out = {}
    for key in PINNED_BY:
        sd = float(runs[key].std(ddof=1))
        out[key] = Target(value=float(runs[key].mean()), tolerance=2 * sd * np.sqrt(2 / len(SEEDS)),
                          source="synthetic truth")
    return Targets(scenario="base", targets=out)


def test_synthetic_truth_is_recovered(tmp_path):
    """Calibrate from a perturbed start: both fields come out identified, each within 10 % of
    its bound width of the truth; the hold-out check reports every target; the written
    scenario loads and holds the fitted values."""
    targets = synthetic_targets()
    start = sim.load_scenario(SMALL, overrides=START)
    free = [f"{k}={lo}:{hi}" for k, (lo, hi) in BOUNDS.items()]
    r = sim.calibrate(start, targets, free, SEEDS, budget=30, out=tmp_path / "c", jobs=2,
                      progress=False)
    ident = r.identifiability.set_index("parameter")
    close = {k: abs(r.best[k] - TRUTH[k]) <= 0.1 * (BOUNDS[k][1] - BOUNDS[k][0]) for k in TRUTH}
    recovered = [k for k in TRUTH if ident.loc[k, "identified"] and close[k]]
    assert len(recovered) >= 2, (r.best, ident[["range_low", "range_high", "share_of_bounds"]])
    assert r.trials.loc[0, list(START)].to_dict() == START  # trial 0: the scenario's own values
    # the hold-out on fresh seeds 4-6 reports every target (it may fail: a 60-day district's
    # utilisation varies more between seeds than three seeds show); passed means all PASS
    assert set(r.holdout["indicator"]) == set(PINNED_BY) and r.holdout["seeds"].iloc[0] == "4-6"
    assert r.passed == (set(r.holdout["result"]) == {"PASS"})
    for name in ("trials.parquet", "profile.csv", "identifiability.csv", "holdout.csv",
                 "calibrated.toml", "charts/trials.png", "charts/profile_handling_scale.png"):
        assert (tmp_path / "c" / name).exists(), name
    fitted = sim.load_scenario(tmp_path / "c" / "calibrated.toml")
    assert fitted.handling.scale == r.best["handling.scale"]
    profile = pd.read_csv(tmp_path / "c" / "profile.csv", encoding="utf-8-sig")
    assert set(profile["parameter"]) == set(TRUTH)


def test_calibrated_toml_keeps_comments(tmp_path):
    """calibrated.toml is the input's text with every comment, the fitted value in place with a
    note, and a header naming targets, seeds and budget."""
    targets = Targets(targets={"utilisation": Target(kind="range", min=0.4, max=0.7)})
    src = tmp_path / "in.toml"
    src.write_text("# my district\n" + SMALL.read_text(encoding="utf-8").replace(
        "base = 7.0", "base = 7.0   # calibrated by hand"), encoding="utf-8")
    r = sim.calibrate(src, targets, ["callback.satisfaction.base=6:8"], [1], budget=2,
                      out=tmp_path / "c", executor="serial", progress=False)
    text = (tmp_path / "c" / "calibrated.toml").read_text(encoding="utf-8")
    assert "# my district" in text and "# a small two-unit district for quick checks" in text
    assert "calibrated by hand" in text and "(was 7.0)" in text
    for needed in ("targets", "seeds 1", "budget 2", "hold-out seeds 2"):
        assert needed in text, needed
    assert sim.load_scenario(tmp_path / "c" / "calibrated.toml").callback.satisfaction.base == \
        r.best["callback.satisfaction.base"]


# -- optimisation ------------------------------------------------------------------------------
ON_TIME = 0.95  # a target between what 5 and 6 inspectors reach on seeds 1-3 (grid below)


def test_optimiser_finds_the_grids_smallest_team(tmp_path):
    """On a small district whose inspectors can act only half an action a day, the smallest
    supervision team whose mean on-time reply over the seeds meets the target, found by a
    brute-force grid, is the cheapest feasible candidate the optimiser finds."""
    fixed = {"mechanisms.one_team.actions_per_inspector_day": 0.5}
    team = list(range(0, 13))
    grid = sim.sweep(SMALL, grid={"mechanisms.one_team.inspectors": team}, seeds=SEEDS,
                     overrides=fixed, jobs=2, progress=False)
    s = grid.summary[grid.summary["indicator"] == "on_time_reply_rate"]
    meets = s[s["mean"] >= ON_TIME]["mechanisms.one_team.inspectors"]
    smallest = int(meets.min())
    assert 0 < smallest < max(team)  # the target is not met by every team, nor by none

    targets = Targets(targets={"on_time_reply_rate": Target(kind="range", min=ON_TIME)})
    start = sim.load_scenario(SMALL, overrides=fixed)
    r = sim.optimise(start, targets, ["mechanisms.one_team.inspectors=0:12"],
                     minimise="mechanisms.one_team.inspectors", seeds=SEEDS, budget=10,
                     out=tmp_path / "o", jobs=2, progress=False)
    done = r.trials[(r.trials["state"] == "COMPLETE") & r.trials["feasible"]]
    assert int(done["mechanisms.one_team.inspectors"].min()) == smallest
    # the Pareto front starts at the cheapest trial and its margins grow with the cost
    front = r.pareto
    assert front["cost"].is_monotonic_increasing
    assert front["weakest_margin"].is_monotonic_increasing
    assert (tmp_path / "o" / "pareto.csv").exists() and (tmp_path / "o" / "charts" / "pareto.png").exists()
    # the answer was checked on fresh seeds (4-6) and passed only if every target held there
    assert r.holdout["seeds"].iloc[0] == "4-6"
    assert r.passed == bool((r.holdout["result"] == "PASS").all())


# -- resume --------------------------------------------------------------------------------------
def _complete_trials(journal: Path) -> int:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    if not journal.exists():
        return 0
    try:
        study = optuna.load_study(study_name="calibrate",
                                  storage=JournalStorage(JournalFileBackend(str(journal))))
    except KeyError:  # not created yet
        return 0
    return sum(t.state.name == "COMPLETE" for t in study.get_trials(deepcopy=False))


def test_killed_search_resumes_without_reevaluating(tmp_path):
    """SIGKILL a `hotline calibrate` after some trials finished; the same command resumes from
    the journal: finished trials keep their values and are not run again."""
    out = tmp_path / "c"
    targets = tmp_path / "t.toml"
    targets.write_text('[targets.satisfaction]\nvalue = 0.99\ntolerance = 0.01\n', encoding="utf-8")
    args = [str(SMALL), "--targets", str(targets), "--free", "callback.satisfaction.base=4:9",
            "--seeds", "1-2", "--budget", "8", "--out", str(out), "--executor", "serial"]
    proc = subprocess.Popen([str(HOTLINE), "calibrate", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while _complete_trials(out / "journal.log") < 3 and proc.poll() is None:
            assert time.monotonic() < deadline, "no trial finished in 120 s"
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    finished = _complete_trials(out / "journal.log")
    assert 3 <= finished < 8
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    study = optuna.load_study(study_name="calibrate",
                              storage=JournalStorage(JournalFileBackend(str(out / "journal.log"))))
    before = {t.number: (t.params, t.value) for t in study.get_trials() if t.state.name == "COMPLETE"}

    r = sim.calibrate(SMALL, targets, ["callback.satisfaction.base=4:9"], [1, 2], budget=8,
                      out=out, executor="serial", progress=False)
    assert r.finished_before == finished
    assert r.evaluated == 8 - finished  # only the missing trials ran
    done = r.trials[r.trials["state"] == "COMPLETE"].set_index("trial")
    assert len(done) == 8
    for number, (params, value) in before.items():
        assert done.loc[number, "callback.satisfaction.base"] == params["callback.satisfaction.base"]
        assert done.loc[number, "objective"] == value
    # a third pass with the same budget evaluates nothing
    again = sim.calibrate(SMALL, targets, ["callback.satisfaction.base=4:9"], [1, 2], budget=8,
                          out=out, executor="serial", progress=False)
    assert again.evaluated == 0 and again.finished_before == 8


# -- bad input ------------------------------------------------------------------------------------
@pytest.fixture()
def bad_targets(tmp_path):
    p = tmp_path / "bad.targets.toml"
    p.write_text('[targets.happiness]\nkind = "range"\nmin = 0.9\n', encoding="utf-8")
    return p


@pytest.mark.parametrize(("extra", "expected"), [
    (["--free", "handling.nosuch=0:1"], "--free handling.nosuch=0:1: handling.nosuch is not a field"),
    (["--free", "name=0:1"], "--free name=0:1: name is not a numeric field"),
    (["--free", "handling.scale=2:1"], "--free handling.scale=2:1: lo must be below hi"),
    (["--free", "handling.scale=1:1"], "--free handling.scale=1:1: lo must be below hi"),
    (["--free", "callback.reach_probability_per_attempt=0.5:1.5"],
     "--free callback.reach_probability_per_attempt=0.5:1.5: bound 1.5 is outside the field's own bounds"),
    (["--free", "mechanisms.one_team.inspectors=-1:3"],
     "--free mechanisms.one_team.inspectors=-1:3: bound -1 is outside the field's own bounds"),
    (["--free", "handling.scale=0.5:2", "--budget", "0"], "--budget 0: give a number of candidates >= 1"),
    (["--free", "handling.scale=0.5:2", "--targets", "BAD"], "targets.happiness: unknown indicator"),
    (["--free", "mechanisms.one_team.inspectors=0:4", "--minimise", "inspectors+happiness"],
     "--minimise inspectors: unknown indicator"),
])
def test_bad_input_one_line_exit_2_before_any_run(tmp_path, capsys, bad_targets, extra, expected):
    out = tmp_path / "out"
    extra = [str(bad_targets) if a == "BAD" else a for a in extra]
    command = "optimise" if "--minimise" in extra else "calibrate"
    if "--targets" not in extra:
        good = tmp_path / "good.targets.toml"
        good.write_text('[targets.utilisation]\nkind = "range"\nmin = 0.4\n', encoding="utf-8")
        extra = [*extra, "--targets", str(good)]
    code = main([command, str(SMALL), "--out", str(out), "--seeds", "1", *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and expected in err, err
    assert not out.exists()  # nothing was run or written


def test_another_search_in_the_same_folder_is_refused(tmp_path):
    targets = Targets(targets={"utilisation": Target(kind="range", min=0.4, max=0.7)})
    sim.calibrate(SMALL, targets, ["handling.scale=0.8:1.2"], [1], budget=1,
                  out=tmp_path / "c", executor="serial", progress=False)
    with pytest.raises(sim.ScenarioError, match="holds a different study"):
        sim.calibrate(SMALL, targets, ["handling.scale=0.8:1.3"], [1], budget=1,
                      out=tmp_path / "c", executor="serial", progress=False)
