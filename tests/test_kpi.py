"""Indicators: definitions on a hand-built log, recomputation from a saved run folder,
ranges and table shapes, and the Kaplan-Meier median."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest
from conftest import RUN_FILES

import sim
from sim.activities import BASIC, DISSATISFIED, SATISFIED, UNREACHED, Act, check_path
from sim.kpi import INDICATORS, kaplan_meier_median
from sim.log import EventLog
from sim.result import Result

RATES = [key for key, (_, _, kind) in INDICATORS.items() if kind == "rate"]
NAN = float("nan")


# -- a saved run folder ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved(small_result, tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "run"
    small_result.save(folder)
    return folder


def test_saved_folder_contents(saved, small_result):
    for name in RUN_FILES:
        assert (saved / name).is_file(), name
    leftovers = [p.name for p in saved.parent.iterdir() if p.name.endswith(".partial")]
    assert leftovers == []
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest["seed"] == small_result.seed
    assert manifest["scenario"] == small_result.scenario.name
    versions = manifest["versions"]
    for pkg in ("python", "hotline-sim", "simpy", "numpy", "pandas"):
        assert pkg in versions
    assert versions["hotline-sim"] == sim.__version__
    assert manifest["events"] == len(small_result.events)
    assert manifest["orders"] == len(small_result.cases)


def test_saved_scenario_reloads_equal(saved, small_result):
    assert sim.load_scenario(saved / "scenario.toml") == small_result.scenario


def test_reloaded_indicators_equal_the_live_ones(saved, small_result):
    loaded = Result.load(saved)
    assert loaded.seed == small_result.seed
    assert loaded.scenario == small_result.scenario
    pdt.assert_frame_equal(loaded.events, small_result.events, check_exact=True)
    pdt.assert_frame_equal(loaded.cases, small_result.cases, check_exact=True)
    pdt.assert_frame_equal(loaded.orders, small_result.orders, check_exact=True)
    pdt.assert_frame_equal(loaded.kpis(), small_result.kpis(), check_exact=True)
    pdt.assert_frame_equal(loaded.monthly(), small_result.monthly(), check_exact=True)
    pdt.assert_frame_equal(loaded.by_unit(), small_result.by_unit(), check_exact=True)


def test_saved_csv_tables_match(saved, small_result):
    year = pd.read_csv(saved / "kpi_year.csv", index_col=0, encoding="utf-8-sig")
    live = small_result.kpis()
    assert list(year.columns) == list(live.columns)
    assert year.iloc[0]["received"] == live.iloc[0]["received"]
    month = pd.read_csv(saved / "kpi_month.csv", index_col=0, encoding="utf-8-sig")
    assert len(month) == 12
    unit = pd.read_csv(saved / "kpi_unit.csv", index_col=0, encoding="utf-8-sig")
    assert len(unit) == 50
    orders = pd.read_parquet(saved / "orders.parquet")
    assert len(orders) == len(small_result.orders)


def test_saving_over_an_existing_folder_replaces_it(small_result, tmp_path):
    target = tmp_path / "run"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    small_result.save(target)
    assert not (target / "stale.txt").exists()
    assert (target / "manifest.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no .partial or .old


# -- ranges and shapes ---------------------------------------------------------------------
def test_every_year_rate_lies_in_unit_interval(small_result):
    row = small_result.kpis().iloc[0]
    for key in RATES:
        assert 0.0 <= row[key] <= 1.0, (key, row[key])


def test_every_month_and_unit_rate_lies_in_unit_interval(small_result):
    for name, table in (("monthly", small_result.monthly()), ("by_unit", small_result.by_unit())):
        for key in RATES:
            if key not in table:
                continue
            values = table[key].dropna()
            assert ((values >= 0.0) & (values <= 1.0)).all(), (name, key, values.describe())


def test_rates_are_defined_wherever_their_denominator_is_positive(small_result):
    for table in (small_result.monthly(), small_result.by_unit()):
        has = table["received"] > 0
        for key in ("closure_rate", "on_time_sign_rate", "return_rate"):
            assert table.loc[has, key].notna().all()
            assert table.loc[~has, key].isna().all()


def test_table_shapes(small_result):
    monthly = small_result.monthly()
    assert len(monthly) == 12
    assert list(monthly["month"]) == [f"2021-{m:02d}" for m in range(1, 13)]
    by_unit = small_result.by_unit()
    assert len(by_unit) == 50
    assert list(by_unit["unit"]) == [u.name for u in small_result.scenario.units]
    assert len(small_result.kpis()) == 1
    assert set(INDICATORS) <= set(small_result.kpis().columns)


def test_monthly_and_unit_tables_add_up_to_the_year(small_result):
    year = small_result.kpis().iloc[0]
    monthly = small_result.monthly()
    for key in ("dispatched", "received", "closed", "open", "unsigned"):
        assert monthly[key].sum() == year[key], key
    # by unit: the 50 units plus the centre's own answers (一个模式, final unit -1)
    by_unit = small_result.by_unit()
    orders = small_result.orders
    centre = orders[(orders["final_unit"] == -1) & (orders["status"] != "unsigned")]
    assert len(centre) > 0
    for key, n_centre in (
        ("received", len(centre)),
        ("closed", int((centre["status"] == "closed").sum())),
        ("open", int((centre["status"] == "open").sum())),
    ):
        assert by_unit[key].sum() + n_centre == year[key], key
    assert by_unit["handler_hours"].sum() == pytest.approx(year["handler_hours"])
    assert by_unit["reminders"].sum() == year["reminders"]


def test_backlog_at_the_horizon_equals_open(small_result):
    backlog = small_result.backlog()
    assert len(backlog) == small_result.scenario.run.horizon_days
    assert backlog.iloc[-1] == small_result.kpis().iloc[0]["open"]
    assert (backlog >= 0).all()


# -- indicator definitions on a hand-built event log -----------------------------------------
M, T, W, TH, F = 72.0, 96.0, 120.0, 144.0, 168.0  # 00:00 of Mon 4 .. Fri 8 January 2021
SIGN_DUE = M + 17.0
REPLY_DUE = F + 100.0

HAND_EVENTS = [
    # order, activity, time, unit, due, value, outcome
    # 0: plain, on time, satisfied; closes after exactly 1 working day
    (0, Act.ARRIVE, M + 9, 0, SIGN_DUE, NAN, -1),
    (0, Act.SIGN, M + 10, 0, REPLY_DUE, NAN, -1),
    (0, Act.START, M + 10, 0, NAN, 1.0, -1),
    (0, Act.REPLY, M + 15, 0, REPLY_DUE, NAN, -1),
    (0, Act.CALLBACK, T + 9, 0, NAN, NAN, SATISFIED),
    (0, Act.CLOSE, T + 9, 0, NAN, NAN, -1),
    # 1: late reply, basically satisfied; 2 working days
    (1, Act.ARRIVE, M + 9, 0, SIGN_DUE, NAN, -1),
    (1, Act.SIGN, M + 9.5, 0, M + 15.5, NAN, -1),
    (1, Act.START, M + 9.5, 0, NAN, 2.0, -1),
    (1, Act.REPLY, M + 16, 0, M + 15.5, NAN, -1),
    (1, Act.CALLBACK, W + 9, 0, NAN, NAN, BASIC),
    (1, Act.CLOSE, W + 9, 0, NAN, NAN, -1),
    # 2: signed late, callback unreached; 3 working days
    (2, Act.ARRIVE, M + 9, 0, SIGN_DUE, NAN, -1),
    (2, Act.SIGN, T + 10, 0, REPLY_DUE, NAN, -1),
    (2, Act.START, T + 10, 0, NAN, 0.5, -1),
    (2, Act.REPLY, T + 11, 0, REPLY_DUE, NAN, -1),
    (2, Act.CALLBACK, TH + 9, 0, NAN, NAN, UNREACHED),
    (2, Act.CLOSE, TH + 9, 0, NAN, NAN, -1),
    # 3: still being handled at the horizon
    (3, Act.ARRIVE, M + 9, 0, SIGN_DUE, NAN, -1),
    (3, Act.SIGN, M + 10, 0, REPLY_DUE, NAN, -1),
    (3, Act.START, M + 10, 0, NAN, 1.5, -1),
    # 4: never signed for
    (4, Act.ARRIVE, M + 9, 3, SIGN_DUE, NAN, -1),
    # 5: returned by unit 1, redispatched to 0; dissatisfied, closed, reopened: open
    (5, Act.ARRIVE, M + 9, 1, SIGN_DUE, NAN, -1),
    (5, Act.SIGN, M + 10, 1, REPLY_DUE, NAN, -1),
    (5, Act.RETURN, M + 11, 1, NAN, NAN, -1),
    (5, Act.REDISPATCH, M + 12, 0, SIGN_DUE, NAN, -1),
    (5, Act.SIGN, M + 13, 0, REPLY_DUE, NAN, -1),
    (5, Act.START, M + 13, 0, NAN, 1.0, -1),
    (5, Act.REPLY, M + 15.5, 0, REPLY_DUE, NAN, -1),
    (5, Act.CALLBACK, T + 9, 0, NAN, NAN, DISSATISFIED),
    (5, Act.CLOSE, T + 9, 0, NAN, NAN, -1),
    (5, Act.REOPEN, T + 9, 0, REPLY_DUE, NAN, -1),
    (5, Act.START, T + 10, 0, NAN, 0.5, -1),
    # 6: unit 2, extended (approved), replied by the new deadline, satisfied; 4 working days
    (6, Act.ARRIVE, M + 9, 2, SIGN_DUE, NAN, -1),
    (6, Act.SIGN, M + 10, 2, M + 12, NAN, -1),
    (6, Act.START, M + 10, 2, NAN, 1.0, -1),
    (6, Act.EXTEND, M + 11, 2, REPLY_DUE, NAN, 1),
    (6, Act.REPLY, M + 16, 2, REPLY_DUE, NAN, -1),
    (6, Act.CALLBACK, F + 9, 2, NAN, NAN, SATISFIED),
    (6, Act.CLOSE, F + 9, 2, NAN, NAN, -1),
]


def hand_result(scenario) -> Result:
    log = EventLog()
    for row in sorted(HAND_EVENTS, key=lambda r: r[2]):  # stable: keeps each order's order
        order, act, time, unit, due, value, outcome = row
        log.record(order, int(act), time, unit, due, value, outcome)
    n = 7
    log.cases = {
        "order": np.arange(n, dtype=np.int32),
        "category": np.zeros(n, dtype=np.int8),
        "urgent": np.zeros(n, dtype=bool),
        "topic": np.zeros(n, dtype=np.int16),
        "channel": np.zeros(n, dtype=np.int8),
        "hard": np.zeros(n, dtype=bool),
        "responsible": np.array([0, 0, 0, 0, 3, 0, 2], dtype=np.int16),
    }
    log.meta = {"seed": 0}
    return Result.from_log(scenario, 0, log)


def test_hand_built_paths_are_legal():
    for oid in range(7):
        acts = [int(r[1]) for r in HAND_EVENTS if r[0] == oid]
        assert check_path(acts) is None, oid


def test_hand_built_log_counts(small_scenario):
    res = hand_result(small_scenario)
    k = res.kpis().iloc[0]
    assert k["dispatched"] == 7
    assert k["received"] == 6
    assert k["unsigned"] == 1
    assert k["closed"] == 4
    assert k["open"] == 2
    status = res.orders["status"]
    assert list(status) == ["closed", "closed", "closed", "open", "unsigned", "open", "closed"]


def test_hand_built_log_rates(small_scenario):
    k = hand_result(small_scenario).kpis().iloc[0]
    assert k["closure_rate"] == pytest.approx(4 / 6)
    assert k["on_time_sign_rate"] == pytest.approx(5 / 6)  # order 2 signed late
    assert k["on_time_reply_rate"] == pytest.approx(4 / 5)  # order 1 replied late
    assert k["extension_rate"] == pytest.approx(1 / 6)
    assert k["return_rate"] == pytest.approx(1 / 6)
    assert k["reopen_rate"] == pytest.approx(1 / 6)
    # final callbacks of closed orders: satisfied, basic, unreached, satisfied
    # (order 5's dissatisfied callback does not count: the order is open again)
    assert k["callback_rate"] == pytest.approx(3 / 4)
    assert k["satisfaction"] == pytest.approx(1.0)
    assert k["satisfied_share"] == pytest.approx(2 / 3)
    assert k["basic_share"] == pytest.approx(1 / 3)
    assert k["dissatisfied_share"] == 0.0
    assert k["warnings"] == k["reminders"] == k["criticisms"] == k["plans"] == 0
    assert k["capacity_moved"] == 0.0
    assert k["handler_hours"] == pytest.approx(7.5)


def test_hand_built_log_basic_weight(small_scenario):
    scn = sim.with_overrides(small_scenario, {"indicators.basic_weight": 0.9})
    k = hand_result(scn).kpis().iloc[0]
    assert k["satisfaction"] == pytest.approx((2 + 0.9) / 3)


def test_hand_built_log_times_to_close(small_scenario):
    res = hand_result(small_scenario)
    k = res.kpis().iloc[0]
    ttc = res.orders["ttc_wd"]
    assert list(ttc.dropna()) == pytest.approx([1.0, 2.0, 3.0, 4.0])
    assert k["ttc_mean_wd"] == pytest.approx(2.5)
    assert k["ttc_median_wd"] == pytest.approx(2.5)
    assert k["ttc_p90_wd"] == pytest.approx(3.7)
    # KM over all six received orders, two censored long after: S(3) = 5/6 * 4/5 * 3/4 = 1/2
    assert k["ttc_km_median_wd"] == pytest.approx(3.0)
    cal = res.context.cal
    age = cal.working_days_between(M + 9, small_scenario.horizon_hours)
    assert k["open_age_mean_wd"] == pytest.approx(age)
    open_ = res.orders[res.orders["status"] == "open"]
    assert list(open_["age_wd"]) == pytest.approx([age, age])


def test_hand_built_log_tables(small_scenario):
    res = hand_result(small_scenario)
    monthly = res.monthly().set_index("month")
    assert monthly.index[0] == "2021-01"  # then the other months of the window, empty
    assert monthly.loc["2021-01", "dispatched"] == 7
    assert monthly.loc["2021-01", "received"] == 6
    assert (monthly["dispatched"].iloc[1:] == 0).all()
    by_unit = res.by_unit()
    assert len(by_unit) == len(small_scenario.units)
    assert by_unit.loc[0, "received"] == 5  # orders 0, 1, 2, 3, 5 (5 ended with unit 0)
    assert by_unit.loc[2, "received"] == 1
    assert by_unit.loc[2, "closed"] == 1
    assert by_unit.loc[1, "received"] == 0
    assert by_unit.loc[1, "returns_made"] == 1
    assert by_unit.loc[0, "handler_hours"] == pytest.approx(6.5)
    backlog = res.backlog()
    assert backlog.iloc[3] == 5  # end of Monday 4 January: 0, 1, 3, 5, 6 signed
    assert backlog.iloc[4] == 6 - 2 + 1  # Tuesday: 2 signed; 0 and 5 closed; 5 reopened
    assert backlog.iloc[-1] == 2


# -- the callback-as-practised indicators on a second hand-built log ---------------------------
H = 365 * 24.0  # the small scenario's horizon (the year 2021)
FEB, MAR, APR = 744.0, 1416.0, 2160.0  # 00:00 of 1 February, 1 March, 1 April 2021
HELP, CONSULT, COMPLAINT, SUGGESTION = range(4)

HAND_CALLBACK_EVENTS = [
    # order, activity, time, unit, due, value, outcome
    # 0 help: first reply after 1 working day; not sampled for a callback: closed at once
    (0, Act.ARRIVE, M + 9, 0, SIGN_DUE, NAN, -1),
    (0, Act.SIGN, M + 10, 0, REPLY_DUE, NAN, -1),
    (0, Act.START, M + 10, 0, NAN, 1.0, -1),
    (0, Act.REPLY, T + 9, 0, REPLY_DUE, NAN, -1),
    (0, Act.CLOSE, T + 11, 0, NAN, NAN, -1),
    # 1 consult: 2 working days; reached, satisfied, says resolved
    (1, Act.ARRIVE, M + 9, 0, SIGN_DUE, NAN, -1),
    (1, Act.SIGN, M + 10, 0, REPLY_DUE, NAN, -1),
    (1, Act.START, M + 10, 0, NAN, 1.0, -1),
    (1, Act.REPLY, W + 9, 0, REPLY_DUE, NAN, -1),
    (1, Act.CALLBACK, TH + 9, 0, NAN, 1.0, SATISFIED),
    (1, Act.CLOSE, TH + 9, 0, NAN, NAN, -1),
    # 2 complaint: 3 working days, after its deadline (W + 9): overdue; callback unreached
    (2, Act.ARRIVE, M + 9, 0, SIGN_DUE, NAN, -1),
    (2, Act.SIGN, M + 10, 0, W + 9, NAN, -1),
    (2, Act.START, M + 10, 0, NAN, 1.0, -1),
    (2, Act.REPLY, TH + 9, 0, W + 9, NAN, -1),
    (2, Act.CALLBACK, F + 9, 0, NAN, NAN, UNREACHED),
    (2, Act.CLOSE, F + 9, 0, NAN, NAN, -1),
    # 3 suggestion: 4 working days; dissatisfied, unresolved; reopened and escalated, its new
    # deadline after the horizon: open, not overdue
    (3, Act.ARRIVE, M + 9, 0, SIGN_DUE, NAN, -1),
    (3, Act.SIGN, M + 10, 0, REPLY_DUE, NAN, -1),
    (3, Act.START, M + 10, 0, NAN, 1.0, -1),
    (3, Act.REPLY, F + 9, 0, REPLY_DUE, NAN, -1),
    (3, Act.CALLBACK, F + 10, 0, NAN, 0.0, DISSATISFIED),
    (3, Act.CLOSE, F + 10, 0, NAN, NAN, -1),
    (3, Act.REOPEN, F + 10, 0, H + 100, NAN, -1),
    (3, Act.ESCALATE, F + 10, 0, H + 100, NAN, -1),
    (3, Act.START, F + 11, 0, NAN, 1.0, -1),
    # 4 complaint: in hand at the horizon, its deadline long past: overdue
    (4, Act.ARRIVE, M + 9, 0, SIGN_DUE, NAN, -1),
    (4, Act.SIGN, M + 10, 0, M + 20, NAN, -1),
    (4, Act.START, M + 10, 0, NAN, 1.0, -1),
    # 5 help: 1 working day; basically satisfied, says unresolved
    (5, Act.ARRIVE, M + 9, 0, SIGN_DUE, NAN, -1),
    (5, Act.SIGN, M + 10, 0, REPLY_DUE, NAN, -1),
    (5, Act.START, M + 10, 0, NAN, 1.0, -1),
    (5, Act.REPLY, T + 9, 0, REPLY_DUE, NAN, -1),
    (5, Act.CALLBACK, W + 9, 0, NAN, 0.0, BASIC),
    (5, Act.CLOSE, W + 9, 0, NAN, NAN, -1),
    # the monthly meeting (system events): lends in February and March, takes back in April
    (-1, Act.CAPACITY, FEB, 0, NAN, 2.0, -1),
    (-1, Act.CAPACITY, MAR, 0, NAN, -2.0, -1),
    (-1, Act.CAPACITY, MAR, 1, NAN, 1.0, -1),
    (-1, Act.CAPACITY, MAR, 2, NAN, 1.0, -1),
    (-1, Act.CAPACITY, APR, 1, NAN, -1.0, -1),
    (-1, Act.CAPACITY, APR, 2, NAN, -1.0, -1),
]
HAND_CALLBACK_CATEGORIES = [HELP, CONSULT, COMPLAINT, SUGGESTION, COMPLAINT, HELP]


def hand_callback_result(scenario) -> Result:
    log = EventLog()
    for row in sorted(HAND_CALLBACK_EVENTS, key=lambda r: r[2]):
        order, act, time, unit, due, value, outcome = row
        log.record(order, int(act), time, unit, due, value, outcome)
    n = len(HAND_CALLBACK_CATEGORIES)
    log.cases = {
        "order": np.arange(n, dtype=np.int32),
        "category": np.array(HAND_CALLBACK_CATEGORIES, dtype=np.int8),
        "urgent": np.zeros(n, dtype=bool),
        "topic": np.zeros(n, dtype=np.int16),
        "channel": np.zeros(n, dtype=np.int8),
        "hard": np.array([0, 0, 0, 1, 0, 1], dtype=bool),
        "responsible": np.zeros(n, dtype=np.int16),
    }
    log.meta = {"seed": 0}
    return Result.from_log(scenario, 0, log)


def test_hand_built_callback_paths_are_legal():
    """A reply closed without a callback (sampled) and an escalation after a reopen are
    legal paths."""
    for oid in range(len(HAND_CALLBACK_CATEGORIES)):
        acts = [int(r[1]) for r in HAND_CALLBACK_EVENTS if r[0] == oid]
        assert check_path(acts) is None, oid
    assert check_path([Act.ARRIVE, Act.SIGN, Act.START, Act.REPLY, Act.CALLBACK, Act.CLOSE,
                       Act.ESCALATE]) is not None  # only a reopen escalates


def test_hand_built_callback_indicators(small_scenario):
    res = hand_callback_result(small_scenario)
    k = res.kpis().iloc[0]
    assert (k["received"], k["closed"], k["open"]) == (6, 4, 2)
    # closed 0, 1, 2, 5: final callbacks none (not sampled), satisfied, unreached, basic
    assert k["callback_rate"] == pytest.approx(2 / 4)
    assert k["callback_reach"] == pytest.approx(2 / 3)  # of the three called back
    # answers of the reached: 1 resolved, 5 unresolved (3's answer is not final: reopened)
    assert k["resolution_rate"] == pytest.approx(1 / 2)
    # overdue: 2 (replied after its deadline) and 4 (in hand past its deadline); not 3,
    # whose reopened round is due after the horizon
    assert list(res.orders["overdue"]) == [False, False, True, False, True, False]
    assert k["overdue_orders"] == 2
    assert k["overdue_rate"] == pytest.approx(2 / 6)
    # first reply, working days: help 1, 1; consult 2; complaint 3 (4 not replied); suggestion 4
    assert list(res.orders["first_reply_wd"].fillna(-1)) == pytest.approx([1, 2, 3, 4, -1, 1])
    expected = {"help": (1.0, 1.0), "consult": (2.0, 2.0), "complaint": (3.0, 3.0),
                "suggestion": (4.0, 4.0), "complaint_suggestion": (3.5, 3.9)}
    for key, (median, p90) in expected.items():
        assert k[f"first_reply_median_wd_{key}"] == pytest.approx(median), key
        assert k[f"first_reply_p90_wd_{key}"] == pytest.approx(p90), key
    # the monthly meeting lent in February and March (April's events take handlers back)
    assert k["capacity_months"] == 2
    assert k["capacity_moved"] == pytest.approx(4.0)


def test_callback_indicators_without_answers_or_replies(small_scenario):
    """A log written before the resolution answer (callback values NaN) has no resolution
    rate (n/a, not 0); a category no order has has no first-reply time."""
    res = hand_result(small_scenario)  # the first hand-built log: callbacks carry no answer
    k = res.kpis().iloc[0]
    assert math.isnan(k["resolution_rate"])
    assert math.isnan(k["first_reply_median_wd_consult"])  # all its orders are help requests
    assert k["first_reply_median_wd_help"] == pytest.approx(res.orders["first_reply_wd"].median())
    assert k["capacity_months"] == 0


def test_callback_indicators_per_month_and_unit(small_scenario):
    """The per-order ones are also in the monthly and unit tables, and add up to the year."""
    res = hand_callback_result(small_scenario)
    monthly, by_unit = res.monthly().set_index("month"), res.by_unit()
    for key in ("overdue_orders",):
        assert monthly[key].sum() == res.kpis().iloc[0][key]
        assert by_unit[key].sum() == res.kpis().iloc[0][key]
    assert monthly.loc["2021-01", "resolution_rate"] == pytest.approx(1 / 2)
    assert by_unit.loc[0, "callback_reach"] == pytest.approx(2 / 3)


def test_resolution_answers_are_named_in_the_orders_file(small_scenario):
    named = hand_callback_result(small_scenario).named_orders()
    assert list(named["final_resolution"].astype(object).fillna("")) == [
        "", "resolved", "", "unresolved", "", "unresolved"]
    assert str(named["first_reply"].dt.tz) == "Asia/Shanghai"


# -- Kaplan-Meier ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("durations", "observed", "median"),
    [
        ([1, 2, 3, 4, 5], [1, 1, 1, 1, 1], 3.0),  # S: .8 .6 .4
        ([5, 4, 3, 2, 1], [1, 1, 1, 1, 1], 3.0),  # order does not matter
        ([1, 2, 3, 4], [1, 1, 1, 1], 2.0),  # S(2) = 0.5 exactly
        ([1, 2, 3, 4], [1, 1, 0, 0], 2.0),
        ([1, 2, 2, 3, 4, 5], [1, 0, 1, 1, 0, 1], 3.0),  # S: 5/6, 2/3, 4/9
        ([1, 1.5, 2, 3, 4], [0, 0, 1, 1, 1], 3.0),  # early censoring: S: 2/3, 1/3
        ([1, 2, 3, 4], [1, 0, 0, 0], math.inf),  # never reaches one half
    ],
)
def test_kaplan_meier_median(durations, observed, median):
    got = kaplan_meier_median(np.array(durations, dtype=float), np.array(observed, dtype=bool))
    assert got == median


def test_kaplan_meier_median_empty_is_nan():
    assert math.isnan(kaplan_meier_median(np.array([]), np.array([], dtype=bool)))


def test_kaplan_meier_without_censoring_is_the_lower_median():
    rng = np.random.default_rng(0)
    d = rng.exponential(3.0, 101)
    assert kaplan_meier_median(d, np.ones(101, dtype=bool)) == pytest.approx(np.median(d))


def test_round_trip_with_a_surge_and_a_backlog(small_scenario, tmp_path):
    """Dates inside lists (surges), a backlog and non-default settings survive the folder."""
    over = {
        "demand.surges": [{"start": "2021-08-01", "end": "2021-08-31", "factor": 2.0}],
        "initial_backlog.orders": 30,
        "indicators.basic_weight": 0.9,
        "calendar.office_hours": [[9.0, 12.0], [13.5, 18.0]],
    }
    res = sim.simulate(small_scenario, seed=11, overrides=over)
    loaded = Result.load(res.save(tmp_path / "surge"))
    assert loaded.scenario == res.scenario
    # the backlog is carried in by the warm start: its case attribute survives the folder
    assert int(loaded.cases["carried_in"].sum()) == int(res.cases["carried_in"].sum()) == 30
    assert len(loaded.scenario.demand.surges) == 1
    pdt.assert_frame_equal(loaded.kpis(), res.kpis(), check_exact=True)
    pdt.assert_frame_equal(loaded.monthly(), res.monthly(), check_exact=True)
    pdt.assert_frame_equal(loaded.by_unit(), res.by_unit(), check_exact=True)
    recovery = res.kpis().iloc[0]["backlog_recovery_days"]
    assert not math.isnan(recovery)
    assert recovery > 0


def test_readable_events(small_result):
    readable = small_result.readable_events()
    system = small_result.system_events()
    assert len(readable) == int((small_result.events["order"] >= 0).sum())
    assert len(readable) + len(system) == len(small_result.events)
    for col in ("case:concept:name", "concept:name", "time:timestamp", "org:resource"):
        assert readable[col].notna().all(), col
    assert readable["time:timestamp"].min() >= pd.Timestamp("2021-01-01", tz="Asia/Shanghai")
    assert readable["time:timestamp"].max() <= pd.Timestamp("2022-01-01", tz="Asia/Shanghai")
    callbacks = readable.loc[readable["concept:name"] == "callback", "outcome"]
    assert set(callbacks) <= {"unreached", "satisfied", "basically_satisfied", "dissatisfied"}


def test_assessment_pressure_integrates_speed_factors(small_scenario):
    """考核加压: each ASSESS sets its unit's factor until the unit's next ASSESS or the window
    end; the indicator is the sum of (factor - 1) x months.  Unit 0 runs at 1.15 from month 1
    to month 2 and at 1.075 from then to the end; unit 1 at 1.3 for its last month."""
    from sim.kpi import Context, assessment_pressure

    ctx = Context.of(small_scenario)
    month = 365.25 * 24.0 / 12.0
    h = ctx.horizon
    events = pd.DataFrame({
        "order": [-1, -1, -1], "activity": [int(Act.ASSESS)] * 3,
        "time": [h - 2 * month, h - month, h - month], "unit": [0, 0, 1],
        "due": [math.nan] * 3, "value": [1.15, 1.075, 1.3], "outcome": [-1] * 3,
    })
    assert assessment_pressure(events, ctx) == pytest.approx(0.15 + 0.075 + 0.3)
    assert assessment_pressure(events.iloc[:0], ctx) == 0.0


def test_staffed_hours_are_handlers_times_office_hours():
    """在岗工时: with no loans (monthly meeting off), every handler of every unit for every
    office hour of the window; two more street handlers add exactly their office hours."""
    from pathlib import Path

    from sim.scenario import build_calendar

    path = Path(__file__).parent / "scenarios" / "load.toml"
    off = {"mechanisms.one_model.enabled": False}
    base = sim.load_scenario(path, overrides=off)
    more = sim.load_scenario(path, overrides=off | {"handling.extra_handlers.street": 2})
    office = build_calendar(base).working_clock(base.horizon_hours)
    for scn in (base, more):
        k = sim.simulate(scn, seed=1).kpis().iloc[0]
        assert k["staffed_hours"] == pytest.approx(sum(scn.unit_handlers()) * office)
        assert k["utilisation"] == pytest.approx(k["handler_hours"] / k["staffed_hours"])
