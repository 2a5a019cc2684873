"""``hotline fit`` (issue 15): round trip, a messy export, a real Boston 311 slice, bad input.

Budget: about 60 s on 2 cores (the round trip's 9 runs of ~11,000 orders dominate)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.export import export
from sim.fit import fit
from sim.fit.roundtrip import round_trip_figures
from sim.scenario import CATEGORIES

HERE = Path(__file__).parent
DISTRICT = HERE / "scenarios" / "fit_district.toml"
SMALL = HERE / "scenarios" / "small.toml"
BOSTON = HERE / "fixtures" / "fit" / "boston311_2022-01_100.csv"
ROOT = HERE.parent
SEEDS = (1, 2, 3)


def _figures(scn, seeds=SEEDS) -> dict[str, float]:
    return round_trip_figures(scn, seeds)


@pytest.fixture(scope="module")
def district_export(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fit") / "run"
    scn = sim.load_scenario(DISTRICT)
    sim.simulate(scn, seed=1).save(folder)
    path, _ = export(folder, "orders-csv", folder.parent / "orders.csv")
    return path


def test_round_trip(district_export, tmp_path):
    """Simulate, export, fit, simulate the fitted scenario: the issue's fixed tolerances.

    Noise (derived from the variance): the export's ~11,100 orders carry Poisson noise of
    1/sqrt(11,100) = 0.95 % into annual_orders, and each side's mean over 3 seeds 0.55 %, so
    the received difference has sd ~1.2 %: 2 % is 1.7 sd (seeds fixed: the test is
    deterministic).  Closure and on-time reply rates have binomial sd ~0.1 pp over 3 x 11,000
    orders; their differences are the fit's bias, which the tolerances bound."""
    out = tmp_path / "fitted.toml"
    res = fit(district_export, out=out, refine=2)
    assert out.is_file() and res.targets_path.is_file() and res.report_path.is_file()
    assert (tmp_path / "fit_charts.png").stat().st_size > 10_000
    assert "fit_charts.png" in res.report_path.read_text(encoding="utf-8")
    original = _figures(sim.load_scenario(DISTRICT))
    fitted = _figures(sim.load_scenario(out))
    assert abs(fitted["received"] / original["received"] - 1) < 0.02
    assert abs(fitted["closure"] - original["closure"]) < 0.01
    assert abs(fitted["on_time"] - original["on_time"]) < 0.02
    assert abs(fitted["ttr_median"] / original["ttr_median"] - 1) < 0.10
    for c in CATEGORIES:
        assert abs(fitted[c] - original[c]) < 0.01, c
    text = out.read_text(encoding="utf-8")
    # every parameter line says where it comes from ([mechanisms.*]: on the table's header)
    table = ""
    for line in text.splitlines():
        if line.startswith("["):
            table = line
            assert not line.startswith("[mechanisms") or "#" in line, line
        if table.startswith("[mechanisms"):
            continue
        plain = ("#", "[", "name", "kind", "handlers", "population_share", "share", "unit",
                 "schema_version", "description", "enabled")
        if ("=" in line and not line.startswith(plain) and not line.startswith(" ")
                and line.split("=")[0].strip().isidentifier()):
            assert "#" in line or line.rstrip().endswith(("[", "{")), line


def _messy(tmp_path: Path) -> tuple[Path, int]:
    """The small district's export with shuffled columns, Chinese headers only, a title row
    above the header, 2 % bad rows, personal columns, GBK encoding, orders still open."""
    folder = tmp_path / "run"
    scn = sim.load_scenario(SMALL)
    sim.simulate(scn, seed=3).save(folder)
    path, n = export(folder, "orders-csv", tmp_path / "clean.csv")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df.columns = [c.split(" ")[0] for c in df.columns]  # Chinese headers only
    rng = np.random.default_rng(7)
    df["姓名"] = [f"张三{i}" for i in range(len(df))]
    df["联系电话"] = [f"1380000{i:04d}" for i in range(len(df))]
    df["诉求内容"] = "楼下噪音扰民秘密文本"
    df = df[list(rng.permutation(df.columns))]
    bad = rng.choice(len(df), size=max(4, len(df) // 50), replace=False)
    kinds = ["date", "before", "category", "dup"]
    for j, i in enumerate(bad):
        kind = kinds[j % 4]
        if kind == "date":
            df.loc[i, "派单时间"] = "not a date"
        elif kind == "before":  # a close (else a sign-for) before creation, whichever the row has
            col = "办结时间" if df.loc[i, "办结时间"] else "签收时间"
            if df.loc[i, col]:
                df.loc[i, col] = "2020-01-01 00:00:00"
        elif kind == "category":
            df.loc[i, "诉求类型"] = "其他未知"
        else:
            df.loc[i, "工单编号"] = df.loc[(i + 1) % len(df), "工单编号"]
    # a mess of time formats: an Excel serial, a Chinese date, trailing spaces
    df.loc[0, "派单时间"] = str((pd.Timestamp(df.loc[0, "派单时间"]) - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1)) if df.loc[0, "派单时间"] != "not a date" else df.loc[0, "派单时间"]
    ts = pd.Timestamp(df.loc[1, "派单时间"]) if df.loc[1, "派单时间"] != "not a date" else None
    if ts is not None:
        df.loc[1, "派单时间"] = f"{ts.year}年{ts.month}月{ts.day}日 {ts.hour}:{ts.minute:02d}  "
    out = tmp_path / "messy.csv"
    body = df.to_csv(index=False)
    out.write_bytes(("岳麓区12345热线工单导出,,,\n" + body).encode("gbk"))
    return out, len(df)


def test_messy_export(tmp_path):
    path, n = _messy(tmp_path)
    res = fit(path, out=tmp_path / "messy.toml", refine=0)
    exp = res.export
    assert exp.encoding.startswith("GBK")
    kinds = {p.what for p in exp.problems}
    assert {"unparseable creation time", "unknown category", "duplicate order number"} <= kinds
    assert any("before created" in k for k in kinds)
    assert n - len(exp.table) == sum(len(p.rows) for p in exp.problems if "skipped" in p.action)
    assert any("header on line 2" in note for note in exp.notes)
    report = res.report_path.read_text(encoding="utf-8")
    assert "unknown category" in report and "| file lines" in report
    assert (~res.export.table["closed"].notna()).sum() > 0  # open orders were kept
    # personal data never leaves the export
    for p in (res.scenario_path, res.targets_path, res.report_path):
        text = p.read_text(encoding="utf-8")
        assert "张三" not in text and "13800" not in text and "秘密文本" not in text
    scn = sim.load_scenario(res.scenario_path)
    assert sim.simulate(scn, seed=1).kpis().iloc[0]["received"] > 0


def test_boston_311_slice_end_to_end(tmp_path, capsys):
    """A real public file (Boston 311, 100 rows of January 2022, stored in a public
    repository; addresses, coordinates and free text dropped) with the shipped mapping."""
    out = tmp_path / "boston.toml"
    code = main([ "fit", str(BOSTON), "--mapping", str(ROOT / "mappings" / "boston311.toml"),
                  "--out", str(out), "--refine", "1"])
    assert code == 0
    scn = sim.load_scenario(out)
    assert scn.run.timezone == "America/New_York" and scn.calendar.holidays == "weekends"
    assert dt.date(2022, 1, 17) in {d.date for d in scn.calendar.special_days}  # MLK day
    # 311 closes without a callback: sampled callbacks with share 0, no review delay
    assert scn.callback.method == "sampled" and scn.callback.sampled.share == 0
    assert scn.review.delay_hours == 0
    k = sim.simulate(scn, seed=1).kpis().iloc[0]
    assert k["received"] > 0
    assert "fitted" in out.read_text(encoding="utf-8")


def test_nyc_mapping_reads_its_layout(tmp_path):
    """The NYC mapping on a file in NYC 311's layout (dates like 01/05/2021 09:12:00 AM)."""
    rng = np.random.default_rng(3)
    n = 120
    created = pd.Timestamp("2021-03-01") + pd.to_timedelta(rng.uniform(0, 60 * 24, n), unit="h")
    closed = created + pd.to_timedelta(rng.lognormal(3, 1, n), unit="h")
    df = pd.DataFrame({
        "Unique Key": np.arange(n) + 40000000,
        "Created Date": created.strftime("%m/%d/%Y %I:%M:%S %p"),
        "Closed Date": [c.strftime("%m/%d/%Y %I:%M:%S %p") if i % 10 else "" for i, c in enumerate(closed)],
        "Agency": rng.choice(["NYPD", "HPD", "DSNY"], n),
        "Complaint Type": rng.choice(["Noise - Residential", "HEAT/HOT WATER", "Question"], n),
        "Incident Address": "1 MAIN STREET",
        "Status": ["Closed" if i % 10 else "Open" for i in range(n)],
        "Latitude": 40.7,
    })
    path = tmp_path / "nyc.csv"
    df.to_csv(path, index=False)
    res = fit(path, mapping=ROOT / "mappings" / "nyc311.toml", year=2021,
              out=tmp_path / "nyc.toml", refine=0)
    assert set(res.export.table["category"]) == {"complaint", "help", "consult"}
    assert "MAIN STREET" not in res.scenario_path.read_text(encoding="utf-8")
    assert "Incident Address" in res.export.personal_columns


def test_xlsx_and_parquet(tmp_path):
    folder = tmp_path / "run"
    sim.simulate(sim.load_scenario(SMALL), seed=2).save(folder)
    xlsx, n = export(folder, "orders-xlsx", tmp_path / "orders.xlsx")
    a = fit(xlsx, refine=0)
    pd.read_excel(xlsx, dtype=str, keep_default_na=False).to_parquet(tmp_path / "orders.parquet")
    b = fit(tmp_path / "orders.parquet", refine=0)
    assert len(a.export.table) == len(b.export.table) == n
    assert a.scenario["demand"]["category_shares"] == b.scenario["demand"]["category_shares"]


def _bad(tmp_path: Path, name: str, content: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(content)
    return p


@pytest.mark.parametrize("name, content, args, expect", [
    ("empty.csv", b"", [], "is empty"),
    ("nocols.csv", "工单编号,诉求类型\n1,求助\n".encode(), [], "no creation time column"),
    ("binary.csv", b"\x00\x01\x02PK\x00\x00", [], "is not a table"),
    ("mixed.csv", "派单时间,办结时间,诉求类型\n2021-01-01 10:00:00,,求助\n".encode()
     + "2021-01-02 10:00:00,,投诉\n".encode("gbk"), [], "mixes encodings"),
    # a UTF-8 copy cut short inside a character is not a mix of encodings
    ("cut.csv", "派单时间,办结时间,诉求类型\n2021-01-01 10:00:00,,求助\n2021-01-02 10:00:00,,投诉".encode()[:-2],
     [], "the file looks cut short"),
    ("few.csv", "派单时间,办结时间,诉求类型\n2021-01-01 10:00:00,,求助\n".encode(), [],
     "at least 50 are needed"),
    ("baddates.csv", ("派单时间,办结时间,诉求类型\n" + "not a date,,求助\n" * 60).encode(), [],
     "unparseable"),
    ("year.csv", "派单时间,办结时间,诉求类型\n2021-01-01 10:00:00,,求助\n".encode(),
     ["--year", "2019"], "every row is outside it"),
    ("ragged.csv", "派单时间,办结时间,诉求类型\n1,2,3,4,5\n".encode(), [], "is not a table"),
])
def test_bad_input_one_line_exit_2(tmp_path, capsys, name, content, args, expect):
    path = _bad(tmp_path, name, content)
    code = main(["fit", str(path), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert expect in err and err.count("\n") == 1 and "Traceback" not in err


def test_bad_mapping(tmp_path, capsys):
    m = _bad(tmp_path, "m.toml", b'[columns]\ncreated = "open_dt"\n[categories]\nx = "other"\n')
    code = main(["fit", str(BOSTON), "--mapping", str(m)])
    err = capsys.readouterr().err
    assert code == 2 and "categories.x" in err and err.count("\n") == 1


def test_surge_and_year(tmp_path):
    """A five-day surge x 3 is found as one surge; --year keeps that year's orders only."""
    scn = sim.load_scenario(SMALL, overrides={
        "demand.surges": [{"start": dt.date(2021, 2, 22), "end": dt.date(2021, 2, 26), "factor": 3.0}]})
    folder = tmp_path / "run"
    sim.simulate(scn, seed=1).save(folder)
    path, n = export(folder, "orders-csv", tmp_path / "orders.csv")
    res = fit(path, year=2021, refine=0)
    surges = res.scenario["demand"]["surges"]
    assert len(surges) == 1
    s = surges[0]
    assert dt.date(2021, 2, 21) <= s["start"] <= dt.date(2021, 2, 23)
    assert dt.date(2021, 2, 25) <= s["end"] <= dt.date(2021, 2, 27)
    assert 2.0 < s["factor"] < 4.5
    with pytest.raises(Exception, match="every row is outside it"):
        fit(path, year=2020, refine=0)


def test_messy_xlsx(tmp_path):
    """An .xlsx with a merged title row, Excel serial dates beside text dates, a time with
    an offset, trailing spaces and English headers."""
    import openpyxl

    folder = tmp_path / "run"
    sim.simulate(sim.load_scenario(SMALL), seed=4).save(folder)
    path, n = export(folder, "orders-csv", tmp_path / "clean.csv")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df.columns = [c.split(" ")[1] for c in df.columns]  # English keys only
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Work orders export 工单导出"] + [None] * (len(df.columns) - 1))
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(df.columns))
    ws.append(list(df.columns))
    created = df.columns.get_loc("dispatched_at")
    for i, row in enumerate(df.itertuples(index=False)):
        cells = [f"{v} " if isinstance(v, str) else v for v in row]
        ts = pd.Timestamp(row[created])
        if i % 3 == 0:   # an Excel date cell (a serial number in the file)
            cells[created] = ts.to_pydatetime()
        elif i % 3 == 1:  # the same instant with an offset (UTC): converted to Asia/Shanghai
            cells[created] = (ts - pd.Timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        ws.append(cells)
    out = tmp_path / "messy.xlsx"
    wb.save(out)
    res = fit(out, refine=0)
    assert len(res.export.table) == n and not res.export.problems
    assert any("header on line 2" in note for note in res.export.notes)
    clean = fit(path, refine=0)
    pd.testing.assert_series_equal(res.export.table["created"], clean.export.table["created"])


def test_holiday_weight_and_topic_surge(tmp_path):
    """demand.holiday_weight and a topic surge (topics, topics_share) are found again.

    Noise: ~31 holidays x ~26 orders expected at weight 0.6 give ~480 orders, so the fitted
    weight's sd is ~0.6/sqrt(480) = 0.03 (tolerance 0.1: 3 sd); the surge's 10 days hold
    ~600 orders, so topics_share (0.5) has sd ~0.02 (tolerance 0.08)."""
    topic = "疫情防控与社区防疫"
    scn = sim.load_scenario(DISTRICT, overrides={
        "demand.holiday_weight": 0.6,
        "demand.surges": [{"start": dt.date(2021, 9, 6), "end": dt.date(2021, 9, 15), "factor": 2.0,
                           "topics": [topic], "topics_share": 0.5}]})
    folder = tmp_path / "run"
    sim.simulate(scn, seed=1).save(folder)
    path, _ = export(folder, "orders-csv", tmp_path / "orders.csv")
    res = fit(path, refine=0)
    d = res.scenario["demand"]
    assert abs(d["holiday_weight"] - 0.6) < 0.1
    (s,) = d["surges"]
    assert abs((s["start"] - dt.date(2021, 9, 6)).days) <= 1  # an edge day may look surged
    assert abs((s["end"] - dt.date(2021, 9, 15)).days) <= 1
    assert abs(s["factor"] - 2.0) < 0.3
    assert s["topics"] == [topic] and abs(s["topics_share"] - 0.5) < 0.08
    from sim.scenario import from_dict

    assert from_dict(res.scenario).demand.surges[0].topics == [topic]
