"""Self-describing run files (issue 9 §1, §4): pm4py, pandas and Excel read them without this
package; a saved folder loads back to identical indicators; older run folders still load."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import sim
from sim.activities import SYSTEM_ACTS
from sim.cli import main
from sim.export import ORDER_COLUMNS, export, header, read_orders_export
from sim.result import Result, excel_safe

HERE = Path(__file__).resolve().parent
SMALL = HERE / "scenarios" / "small.toml"
FIXTURES = HERE / "fixtures"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The baseline shrunk to ~6,000 orders over 90 days (mechanisms on: system events)."""
    scn = sim.load_scenario(
        HERE.parent / "scenarios" / "yuelu_2021.toml",
        overrides={"demand.annual_orders": 6000, "run.horizon_days": 90},
    )
    res = sim.simulate(scn, seed=2)
    folder = tmp_path_factory.mktemp("out") / "run"
    res.save(folder)
    return res, folder


def test_events_file_has_names_and_zoned_timestamps(run):
    res, folder = run
    ev = pd.read_parquet(folder / "events.parquet")
    assert {"case:concept:name", "concept:name", "time:timestamp", "org:resource",
            "activity_zh", "outcome"} <= set(ev.columns)
    assert str(ev["time:timestamp"].dt.tz) == "Asia/Shanghai"
    assert ev["time:timestamp"].min() >= pd.Timestamp("2021-01-01", tz="Asia/Shanghai")
    assert isinstance(ev["org:resource"].dtype, pd.CategoricalDtype)  # dictionary-encoded
    # the first event, at its hour, is the same wall-clock time in the zone (to 1 µs: pandas'
    # to_timedelta of float hours can miss the exact product hours x 3.6e12 ns, which the
    # writer rounds, by a few ns, e.g. 2 ns for this run's first arrival)
    first = ev.iloc[0]
    expected = pd.Timestamp("2021-01-01") + pd.to_timedelta(first["time_h"], unit="h")
    assert abs(first["time:timestamp"].tz_localize(None) - expected) <= pd.Timedelta(1, "us")
    assert set(ev.loc[ev["concept:name"] == "callback", "outcome"].dropna()) <= {
        "unreached", "satisfied", "basically_satisfied", "dissatisfied"}
    assert set(ev.loc[ev["concept:name"] == "extend", "outcome"].dropna()) <= {"approved", "refused"}
    assert ev["activity_zh"].iloc[0] == "派单"
    # no fake case -1: the mechanisms' events are in their own file
    assert "-1" not in set(ev["case:concept:name"])
    sys_ev = pd.read_parquet(folder / "system_events.parquet")
    n_system = int(np.isin(res.events["activity"], [int(a) for a in SYSTEM_ACTS]).sum())
    assert n_system > 0 and len(sys_ev) == n_system
    assert len(ev) + len(sys_ev) == len(res.events)
    assert set(sys_ev["concept:name"]) <= {"capacity", "assess", "plan", "score"}


def test_cases_and_orders_files_carry_names_and_timestamps(run):
    res, folder = run
    cases = pd.read_parquet(folder / "cases.parquet")
    units = {u.name for u in res.scenario.units}
    assert set(cases["responsible"].astype(str)) <= units
    assert set(cases["topic"].astype(str)) <= {t.name for t in res.scenario.topics}
    assert set(cases["category"].astype(str)) <= {"求助 help", "咨询 consult", "投诉 complaint", "建议 suggestion"}
    orders = pd.read_parquet(folder / "orders.parquet")
    for col in ("arrive", "first_sign", "close_time", "last_reply", "reply_due"):
        assert str(orders[col].dt.tz) == "Asia/Shanghai", col
    assert orders["arrive_h"].equals(res.orders["arrive"].rename("arrive_h"))
    assert set(orders["final_unit"].dropna().astype(str)) <= units | {"热线中心 centre"}
    assert set(orders["status"].astype(str)) <= {"closed", "open", "unsigned"}
    assert orders["arrival_month"].astype(str).iloc[0] == "2021-01"


def test_load_round_trip_gives_identical_indicators(run):
    res, folder = run
    loaded = Result.load(folder)
    for table in ("kpis", "monthly", "by_unit", "open_ages"):
        pdt.assert_frame_equal(getattr(loaded, table)(), getattr(res, table)(), check_exact=True)
    pdt.assert_frame_equal(loaded.orders, res.orders, check_exact=True)
    pdt.assert_frame_equal(loaded.cases, res.cases, check_exact=True)


@pytest.mark.filterwarnings("ignore:Install the optional requirement")
def test_pm4py_discovers_arrive_as_the_single_start(run, tmp_path):
    pm4py = pytest.importorskip("pm4py")  # the test extra installs it; CI never skips
    res, folder = run
    ev = pd.read_parquet(folder / "events.parquet")
    _, start, _ = pm4py.discover_dfg(ev)
    assert list(start) == ["arrive"]
    assert start["arrive"] == ev["case:concept:name"].nunique()
    path, n = export(folder, "xes", tmp_path / "log.xes")
    assert n == len(ev)
    log = pm4py.read_xes(str(path))
    _, start_xes, _ = pm4py.discover_dfg(log)
    assert list(start_xes) == ["arrive"]
    log = pm4py.convert_to_dataframe(log)  # (pm4py 2.7 already reads a DataFrame)
    assert log["case:concept:name"].nunique() == ev["case:concept:name"].nunique()
    assert log["concept:name"].value_counts().to_dict() == ev["concept:name"].value_counts().to_dict()


def test_events_csv_has_bom_and_standard_headers(run, tmp_path):
    res, folder = run
    path, n = export(folder, "csv", tmp_path / "events.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(path, encoding="utf-8-sig", parse_dates=["time:timestamp"])
    assert list(back.columns[:4]) == ["case:concept:name", "concept:name", "activity_zh", "time:timestamp"]
    assert len(back) == n
    assert back["time:timestamp"].dtype.kind == "M"


@pytest.mark.parametrize("fmt", ["orders-csv", "orders-xlsx"])
def test_orders_export_round_trip(run, tmp_path, fmt):
    res, folder = run
    suffix = ".xlsx" if fmt == "orders-xlsx" else ".csv"
    path, n = export(folder, fmt, tmp_path / f"orders{suffix}")
    assert n == len(res.orders)
    back = read_orders_export(path)
    # every column of the format, then the optional ones a run folder has (开始办理时间 started_at)
    assert list(back.columns) == [en for _, en, _ in ORDER_COLUMNS] + ["started_at"]
    o = res.orders
    assert back["order_id"].tolist() == o.index.tolist()
    assert back["returns"].tolist() == o["returns"].tolist()
    closed = back["status"] == "已办结 closed"
    assert closed.sum() == (o["status"] == "closed").sum()
    # times to the second, local wall clock
    start = pd.Timestamp(res.scenario.run.start)
    expected = (start + pd.to_timedelta(o["arrive"].to_numpy(), unit="h")).floor("s")
    assert (back["dispatched_at"].to_numpy() == expected.to_numpy()).all()
    assert back.loc[~closed, "closed_at"].isna().all()


def test_orders_export_reads_chinese_or_english_headers(run, tmp_path):
    _, folder = run
    path, _ = export(folder, "orders-csv", tmp_path / "o.csv")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    zh = df.rename(columns={header(z, e): z for z, e, _ in ORDER_COLUMNS})
    zh.to_csv(tmp_path / "zh.csv", index=False, encoding="utf-8-sig")
    assert read_orders_export(tmp_path / "zh.csv")["order_id"].tolist() == df[header("工单编号", "order_id")].astype(int).tolist()
    zh.drop(columns=["工单状态"]).to_csv(tmp_path / "bad.csv", index=False, encoding="utf-8-sig")
    with pytest.raises(ValueError, match="status"):
        read_orders_export(tmp_path / "bad.csv")


def test_export_cli(run, tmp_path, capsys):
    _, folder = run
    assert main(["export", str(folder), "--format", "xes", "--out", str(tmp_path / "x.xes")]) == 0
    assert "rows" in capsys.readouterr().out
    assert main(["export", str(tmp_path / "nope"), "--format", "csv"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope" in err


def test_version_1_run_folder_loads_to_its_indicators():
    """A folder saved by the code before issue 9 (numeric files; kept as a fixture)."""
    loaded = Result.load(FIXTURES / "run_v1")
    expected = pd.read_csv(FIXTURES / "run_v1_kpis_expected.csv", index_col=0)
    row = loaded.kpis().iloc[0]
    for key in ("received", "closed", "open", "closure_rate", "satisfaction", "ttc_km_median_wd"):
        assert row[key] == pytest.approx(expected.iloc[0][key], rel=1e-12, nan_ok=True), key
    # and it saves again in the new layout
    assert loaded.readable_events()["concept:name"].iloc[0] == "arrive"


def test_schema_1_baseline_fixture_loads():
    assert sim.load_scenario(FIXTURES / "yuelu_2021_schema1.toml").schema_version == 1


def test_newer_run_folder_is_refused(tmp_path):
    import json
    import shutil

    shutil.copytree(FIXTURES / "run_v1", tmp_path / "r")
    m = json.loads((tmp_path / "r" / "manifest.json").read_text(encoding="utf-8"))
    m["run_folder_version"] = 99
    (tmp_path / "r" / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(ValueError, match="upgrade"):
        Result.load(tmp_path / "r")


# -- values Excel mangles --------------------------------------------------------------------
def test_excel_safe_keeps_big_seeds_and_infinities():
    table = pd.DataFrame({"x": [1.0, math.inf], "n": [3, 4]}, index=pd.Index([2**62, 7], name="seed"))
    out = excel_safe(table)
    assert out.index[0] == f'="{2**62}"'  # all 19 digits, shown by Excel as text
    assert out.index[1] == 7
    assert out["x"].tolist() == [1.0, "inf"]
    assert excel_safe(pd.DataFrame({"x": [-math.inf]}))["x"][0] == "−inf"  # never '-inf' (a formula)
    assert excel_safe(pd.DataFrame({"x": [1.5]}))["x"].dtype == float


def test_big_seed_reaches_the_csv_intact(tmp_path):
    scn = sim.load_scenario(SMALL, overrides={"run.horizon_days": 10})
    seed = 2**62 + 12345
    res = sim.simulate(scn, seed=seed)
    res.save(tmp_path / "r")
    text = (tmp_path / "r" / "kpi_year.csv").read_text(encoding="utf-8-sig")
    assert f'"=""{seed}"""' in text or f'="{seed}"' in text


# -- r5: encoding, and the folder saved before anything is printed ----------------------------
def test_chinese_name_under_c_locale_and_closed_pipe(tmp_path):
    scn = tmp_path / "r5.toml"
    scn.write_text(SMALL.read_text(encoding="utf-8").replace('name = "base"', 'name = "岳麓区测试"'),
                   encoding="utf-8")
    env = {"LC_ALL": "C", "PYTHONIOENCODING": "ascii", "PATH": "/usr/bin:/bin"}
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(scn), "--out", str(out)],
                          capture_output=True, text=True, env=env, encoding="utf-8")
    assert (out / "manifest.json").is_file()  # saved before the summary could not print
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    # a pipe closed by `head`
    out2 = tmp_path / "out2"
    p = subprocess.Popen([sys.executable, "-m", "sim.cli", "run", str(scn), "--out", str(out2)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env | {"LC_ALL": "C.UTF-8"})
    p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read().decode()
    p.wait()
    assert (out2 / "manifest.json").is_file()
    assert "Traceback" not in err
    manifest = (out2 / "manifest.json").read_text(encoding="utf-8")
    assert "岳麓区测试" in manifest
