"""The model on the small baseline: conservation, legal lifecycle paths, determinism,
each mechanism's effect, common random numbers and the start/end of a run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import sim
from sim.activities import Act, check_path
from sim.scenario import MECHANISMS

ORDER_ACTS = {int(a) for a in Act if a < 20}
SYSTEM_ACTS = {int(Act.CAPACITY), int(Act.ASSESS), int(Act.PLAN), int(Act.SCORE)}


def order_events(res) -> pd.DataFrame:
    ev = res.events[res.events["order"] >= 0]
    # stable sort by time within order (the log is already in time order)
    ev = ev.sort_values("time", kind="stable")
    return ev.sort_values("order", kind="stable")


def k(res) -> pd.Series:
    return res.kpis().iloc[0]


def assert_conserved_legal_and_ordered(res, row: pd.Series) -> None:
    """Counts add up, every order's path is legal, and the log is in time order."""
    assert row["dispatched"] == row["received"] + row["unsigned"]
    assert row["received"] == row["closed"] + row["open"]
    ev = order_events(res)
    bad = {o: e for o, a in ev.groupby("order")["activity"] if (e := check_path(a.tolist()))}
    assert not bad, f"{len(bad)} illegal paths, e.g. {list(bad.items())[:5]}"
    assert np.all(np.diff(res.events["time"].to_numpy()) >= 0)


@pytest.fixture(scope="module")
def variants(small_scenario, small_result):
    """The baseline run and one run per mechanism switched off (same seed)."""
    out = {"baseline": small_result}
    for name in MECHANISMS:
        over = {f"mechanisms.{name}.enabled": False}
        out[name] = sim.simulate(small_scenario, seed=small_result.seed, overrides=over)
    out["one_team_no_inspectors"] = sim.simulate(
        small_scenario, seed=small_result.seed, overrides={"mechanisms.one_team.inspectors": 0}
    )
    return out


# -- conservation --------------------------------------------------------------------------
def test_conservation(small_result):
    row = k(small_result)
    assert row["dispatched"] == row["received"] + row["unsigned"]
    assert row["received"] == row["closed"] + row["open"]
    assert row["dispatched"] == len(small_result.cases) == len(small_result.orders)
    assert row["dispatched"] > 0.9 * 6000
    assert row["closed"] > 0
    assert row["open"] > 0  # orders that arrived in late December are still open


def test_counts_agree_with_the_event_log(small_result):
    ev = small_result.events
    row = k(small_result)
    per = order_events(small_result).groupby("order", sort=True)
    arrived = ev.loc[ev["activity"] == Act.ARRIVE, "order"]
    assert arrived.is_unique
    assert len(arrived) == row["dispatched"]
    assert ev.loc[ev["activity"] == Act.SIGN, "order"].nunique() == row["received"]
    main = order_events(small_result)
    main = main[~main["activity"].isin([Act.EXTEND, Act.WARN, Act.REMIND, Act.CRITICISE])]
    last = main.groupby("order")["activity"].last()
    assert (last == Act.CLOSE).sum() == row["closed"]
    assert set(per.groups) == set(small_result.cases["order"])


def test_system_events_have_no_order(small_result):
    ev = small_result.events
    system = ev["activity"].isin(SYSTEM_ACTS)
    assert (ev.loc[system, "order"] == -1).all()
    assert (ev.loc[~system, "order"] >= 0).all()
    assert set(ev["activity"].unique()) <= ORDER_ACTS | SYSTEM_ACTS


# -- lifecycle paths -----------------------------------------------------------------------
def test_log_is_in_time_order(small_result):
    t = small_result.events["time"].to_numpy()
    assert np.all(np.diff(t) >= 0)


def test_every_order_follows_the_lifecycle(small_result):
    ev = order_events(small_result)
    bad = {}
    for oid, acts in ev.groupby("order", sort=True)["activity"]:
        err = check_path(acts.tolist())
        if err is not None:
            bad[oid] = err
    assert not bad, f"{len(bad)} illegal paths, e.g. {list(bad.items())[:5]}"


def test_timestamps_never_decrease_within_an_order(small_result):
    ev = small_result.events[small_result.events["order"] >= 0]
    d = ev.groupby("order", sort=False)["time"].diff().dropna()
    assert (d >= 0).all()


def test_events_lie_within_the_horizon(small_result):
    t = small_result.events["time"]
    assert t.min() >= 0.0
    assert t.max() <= small_result.scenario.horizon_hours


def test_check_path_rejects_illegal_paths():
    A = Act
    assert check_path([A.ARRIVE, A.SIGN, A.START, A.REPLY, A.CALLBACK, A.CLOSE]) is None
    assert check_path([A.ARRIVE, A.SIGN, A.WARN, A.START, A.EXTEND, A.REPLY]) is None
    assert check_path([A.SIGN]) is not None
    assert check_path([A.ARRIVE, A.START]) is not None
    # a reply closed without a callback is legal (sampled callbacks, 抽样回访); a reopen needs
    # a close first, an escalation a reopen (whether a close without a callback suits the
    # run's callback method: tests/test_properties.py::check_callbacks_and_escalation)
    assert check_path([A.ARRIVE, A.SIGN, A.START, A.REPLY, A.CLOSE]) is None
    assert check_path([A.ARRIVE, A.SIGN, A.START, A.REPLY, A.REOPEN]) is not None
    assert check_path([A.ARRIVE, A.SIGN, A.START, A.REPLY, A.CALLBACK, A.CLOSE, A.ESCALATE]) is not None
    assert check_path([A.ARRIVE, A.SIGN, A.START, A.REPLY, A.CALLBACK, A.CLOSE, A.REOPEN, A.ESCALATE,
                       A.WARN, A.START]) is None
    assert check_path([A.ARRIVE, A.WARN]) is not None
    assert check_path([A.ARRIVE, A.SIGN, A.START, A.REPLY, A.REMIND]) is not None


# -- determinism ---------------------------------------------------------------------------
def test_same_seed_same_result(small_scenario, small_result):
    again = sim.simulate(small_scenario, seed=small_result.seed)
    pdt.assert_frame_equal(again.events, small_result.events)
    pdt.assert_frame_equal(again.cases, small_result.cases)
    pdt.assert_frame_equal(again.kpis(), small_result.kpis())
    pdt.assert_frame_equal(again.monthly(), small_result.monthly())


def test_different_seed_different_result(small_scenario, small_result):
    other = sim.simulate(small_scenario, seed=small_result.seed + 1)
    assert not other.events.equals(small_result.events)
    assert not other.cases.equals(small_result.cases)
    assert (
        not other.kpis().reset_index(drop=True).equals(small_result.kpis().reset_index(drop=True))
    )


# -- mechanisms ----------------------------------------------------------------------------
def test_all_six_mechanisms_present_and_enabled(small_result):
    from sim.mechanisms import REGISTRY
    from sim.model.engine import Model

    assert set(MECHANISMS) <= set(REGISTRY)
    scn = small_result.scenario
    for name in MECHANISMS:
        assert getattr(scn.mechanisms, name).enabled, name
    model = Model(scn, seed=1)
    assert [p.name for p in model.port] == list(REGISTRY)
    assert all(model.port[name].enabled for name in MECHANISMS)


@pytest.mark.parametrize("name", [*MECHANISMS, "one_team_no_inspectors"])
def test_switching_a_mechanism_off_changes_the_log(variants, name):
    base, off = variants["baseline"], variants[name]
    if name != "one_team_no_inspectors":
        assert not getattr(off.scenario.mechanisms, name).enabled
    if name == "one_plan":  # a plan only changes anything once one is adopted
        assert (base.events["activity"] == Act.PLAN).any(), (
            "no hard-case plan adopted in the small baseline: the test scenario is too small"
        )
    assert not off.events.equals(base.events), f"{name} off: identical event log"


@pytest.mark.parametrize("name", [*MECHANISMS, "one_team_no_inspectors"])
def test_switching_a_mechanism_off_keeps_arrivals(variants, name):
    """Common random numbers: the same orders arrive at the same times with the same
    attributes whatever the policies do with them."""
    base, off = variants["baseline"], variants[name]
    pdt.assert_frame_equal(off.cases, base.cases)
    arr = lambda r: r.events[r.events["activity"] == Act.ARRIVE].set_index("order")["time"]  # noqa: E731
    pdt.assert_series_equal(arr(off), arr(base))


def test_mechanism_signatures(variants):
    """What each switched-off mechanism no longer does shows in the log."""

    def n(res, act):
        return int((res.events["activity"] == act).sum())

    base = variants["baseline"]
    centre = (base.events["unit"] == -1) & (base.events["activity"] == Act.ARRIVE)
    assert centre.any()  # 一个模式: the centre answers some consultations itself
    off = variants["one_model"].events
    assert not ((off["unit"] == -1) & (off["activity"] == Act.ARRIVE)).any()
    assert n(variants["one_model"], Act.CAPACITY) == 0

    assert n(variants["one_list"], Act.RETURN) > n(base, Act.RETURN)  # 一张清单

    for name in ("one_team", "one_team_no_inspectors"):  # 一支队伍
        for act in (Act.WARN, Act.REMIND, Act.CRITICISE):
            assert n(variants[name], act) == 0
    assert n(base, Act.WARN) > 0

    assert n(base, Act.ASSESS) > 0  # 一套指标
    assert n(variants["one_set"], Act.ASSESS) == 0

    assert n(variants["one_plan"], Act.PLAN) == 0  # 一个方案


def test_cadence_survives_switching_mechanisms_off(variants):
    """Turning one mechanism off never silences another (the engine owns the cadence)."""
    base = variants["baseline"]
    assert (variants["one_model"].events["activity"] == Act.ASSESS).any()
    assert (variants["one_set"].events["activity"] == Act.WARN).any()
    assert (variants["one_team"].events["activity"] == Act.ASSESS).any()
    if (base.events["activity"] == Act.PLAN).any():
        assert (variants["one_set"].events["activity"] == Act.PLAN).any()


# -- start and end of a run ------------------------------------------------------------------
def test_run_starts_empty(small_result):
    ev = small_result.events
    arrivals = ev.loc[ev["activity"] == Act.ARRIVE, "time"]
    assert arrivals.min() > 0.0
    assert not (ev["time"] == 0.0).any()
    first = ev.iloc[0]
    assert first["activity"] == Act.ARRIVE


def test_open_orders_are_counted_with_their_ages(small_result):
    orders = small_result.orders
    row = k(small_result)
    open_ = orders[orders["status"] == "open"]
    closed = orders[orders["status"] == "closed"]
    assert len(open_) == row["open"]
    assert len(closed) == row["closed"]
    assert open_["age_wd"].notna().all()
    assert (open_["age_wd"] >= 0).all()
    assert open_["ttc_wd"].isna().all()
    assert (closed["ttc_wd"] >= 0).all()
    assert closed["age_wd"].isna().all()
    assert closed["close_time"].notna().all()
    assert (closed["close_time"] >= closed["arrive"]).all()
    unsigned = orders[orders["status"] == "unsigned"]
    assert len(unsigned) == row["unsigned"]
    assert unsigned["first_sign"].isna().all()
    assert (row["open_age_mean_wd"] >= 0) and np.isfinite(row["open_age_mean_wd"])
    assert int(small_result.open_ages()["open_orders"].sum()) == row["open"]


def test_initial_backlog_adds_orders_at_time_zero(small_scenario, small_result):
    """The initial backlog is a thin form of the warm start (sim.model.warm): 40 orders
    dispatched at time 0 (ARRIVE at 0), carried in (SNAPSHOT at 0, carried_in = 1) with ids
    after every arrival; the arrivals keep every draw of the run without a backlog (the
    backlog draws from streams of its own), and the backlog is worked like any order."""
    res = sim.simulate(
        small_scenario, seed=small_result.seed, overrides={"initial_backlog.orders": 40}
    )
    ev = res.events
    first = len(small_result.cases)  # the arrivals keep their ids; the backlog's follow
    backlog_ids = list(range(first, first + 40))
    arr = ev[ev["activity"] == Act.ARRIVE]
    at_zero = arr[arr["time"] == 0.0]
    assert sorted(at_zero["order"]) == backlog_ids
    snap = ev[ev["activity"] == Act.SNAPSHOT]
    assert sorted(snap["order"]) == backlog_ids and (snap["time"] == 0.0).all()
    carried = res.cases.loc[res.cases["carried_in"] == 1, "order"]
    assert sorted(carried) == backlog_ids
    assert k(res)["dispatched"] == k(small_result)["dispatched"] + 40
    # the ordinary arrivals keep their ARRIVE rows (times, first units, sign-for deadlines) and
    # their attributes: common random numbers
    cols = ["order", "time", "unit", "due"]
    base = small_result.events[small_result.events["activity"] == Act.ARRIVE]
    pdt.assert_frame_equal(
        arr.loc[arr["order"] < first, cols].sort_values("order").reset_index(drop=True),
        base[cols].sort_values("order").reset_index(drop=True),
    )
    attrs = ["order", "category", "urgent", "topic", "channel", "hard", "responsible"]
    pdt.assert_frame_equal(
        res.cases.loc[res.cases["order"] < first, attrs].reset_index(drop=True),
        small_result.cases[attrs].reset_index(drop=True),
    )
    # the backlog is worked: its orders move on like any other
    backlog = ev[ev["order"] >= first]
    assert (backlog["activity"] == Act.SIGN).sum() >= 40
    assert (backlog["activity"] == Act.CLOSE).sum() > 0
    row = k(res)
    assert row["received"] == row["closed"] + row["open"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"units.0.handlers": 0},  # a unit that can only work with lent handlers
        {"demand.urgent_share": 0.5},
        {"handling.scale": 3.0, "handling.effort_median_hours": 20.0},  # overloaded units
        {"handling.effort_median_hours": 30.0, "mechanisms.one_standard.enabled": False},
        {"review.sendback_probability": 0.3, "callback.satisfaction.base": 1.0},  # rework
        {"calendar.holidays": "none"},
        {"time_limits.max_extensions": 3, "handling.extension_request_probability": 1.0},
    ],
    ids=[
        "no_handlers",
        "urgent",
        "overloaded",
        "no_standard_slow",
        "rework",
        "no_holidays",
        "extensions",
    ],
)
def test_stressed_variants_keep_paths_legal(small_scenario, overrides):
    res = sim.simulate(small_scenario, seed=5, overrides=overrides)
    row = k(res)
    assert_conserved_legal_and_ordered(res, row)


def test_overloaded_units_get_help_from_the_monthly_meeting(small_scenario):
    over = {"handling.scale": 3.0, "handling.effort_median_hours": 20.0}
    on = sim.simulate(small_scenario, seed=5, overrides=over)
    cap = on.events[on.events["activity"] == Act.CAPACITY]
    assert len(cap) > 0
    # what is lent is given back: per unit, net capacity never goes negative
    net = cap.groupby("unit")["value"].cumsum()
    assert (net >= 0).all()
    assert k(on)["capacity_moved"] > 0


@pytest.mark.slow
def test_full_baseline_year(baseline_path):
    """The full-size baseline (~85 k orders): legal paths, conservation, table shapes."""
    res = sim.simulate(sim.load_scenario(baseline_path), seed=1)
    row = k(res)
    assert_conserved_legal_and_ordered(res, row)
    assert len(res.monthly()) == 12
    assert len(res.by_unit()) == 50
    assert (res.events["activity"] == Act.CAPACITY).any() or row["utilisation"] < 0.5


def test_simulate_overrides_equal_with_overrides(small_scenario):
    over = {"handling.scale": 1.3}
    a = sim.simulate(small_scenario, seed=2, overrides=over)
    b = sim.simulate(sim.with_overrides(small_scenario, over), seed=2)
    pdt.assert_frame_equal(a.events, b.events)


_CHILD = """
import hashlib, sys
import sim
scn = sim.load_scenario(sys.argv[1], overrides={"demand.annual_orders": 3000})
res = sim.simulate(scn, seed=4)
print(hashlib.sha256(res.events.to_numpy().tobytes()).hexdigest())
"""


def test_same_seed_same_events_in_another_process(baseline_path):
    """No hidden state (hash randomisation, module counters) leaks into a run."""
    import hashlib
    import os
    import subprocess
    import sys

    scn = sim.load_scenario(baseline_path, overrides={"demand.annual_orders": 3000})
    sim.simulate(scn, seed=9)  # disturb this process's module-level state first
    here = hashlib.sha256(sim.simulate(scn, seed=4).events.to_numpy().tobytes()).hexdigest()
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(baseline_path)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert out.stdout.strip() == here


def test_the_engine_does_not_import_pandas():
    """A cold run needs neither pandas nor pyarrow (about 70 MB and 0.2 s of start-up,
    benchmarks/year.py): the warm start's tables are imported only for a run with open
    orders.  Checked in a fresh interpreter, as ``import sim`` and the engine leave it."""
    import subprocess
    import sys

    code = ("import sys, sim; from sim.model import Model, new_model, run_model; "
            "print(sorted(m for m in ('pandas', 'pyarrow', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
