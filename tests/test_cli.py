"""The ``hotline`` command line: user errors, run folders, determinism, ``check`` and ``schema``.

Every user error (a bad scenario, a bad flag, an unwritable folder) must exit with status 2 and
print one line naming the file and the field -- never a traceback -- and must leave no output
folder behind.  tests/bad_scenarios/ holds the malformed scenarios; EXPECTED.toml there says
which field path each one's error must name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from conftest import RUN_FILES

import sim
from sim import cli
from sim.result import Result

REPO = Path(__file__).resolve().parent.parent
BASELINE = REPO / "scenarios" / "yuelu_2021.toml"
BAD_DIR = REPO / "tests" / "bad_scenarios"
EXPECTED_FILE = BAD_DIR / "EXPECTED.toml"
with EXPECTED_FILE.open("rb") as _fh:
    EXPECTED: dict[str, list[str]] = tomllib.load(_fh)
BAD_FILES = sorted(p.name for p in BAD_DIR.glob("*.toml") if p.name != EXPECTED_FILE.name)
HOTLINE = Path(sys.executable).with_name("hotline")
SMALL = "demand.annual_orders=3000"


# -- helpers ------------------------------------------------------------------------------------
def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    """``hotline ARGV`` in this process: (exit status, stdout, stderr)."""
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as e:  # argparse usage errors
        code = e.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_subprocess(*argv: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """``hotline ARGV`` as a real process, as a user's terminal would see it."""
    exe = [str(HOTLINE)] if HOTLINE.exists() else [sys.executable, "-m", "sim.cli"]
    return subprocess.run(
        [*exe, *map(str, argv)], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def assert_one_line_error(err: str, *must_name: str, prefix: str = "hotline: error: ") -> str:
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1, f"expected exactly one line on stderr, got {len(lines)}:\n{err}"
    line = lines[0]
    assert line.startswith(prefix), line
    for text in must_name:
        assert text in line, f"{text!r} not named in: {line}"
    return line


def leftovers(folder: Path) -> list[str]:
    """Everything in ``folder`` (hidden entries included): partial or stale run folders."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture(scope="module")
def small_result() -> Result:
    scn = sim.load_scenario(BASELINE, overrides={"demand.annual_orders": 2000})
    return sim.simulate(scn, seed=1)


# -- the bad scenario collection itself ---------------------------------------------------------
def test_bad_scenarios_are_listed_and_commented():
    assert len(BAD_FILES) >= 30
    assert sorted(EXPECTED) == BAD_FILES, "EXPECTED.toml and the *.toml files disagree"
    for name in BAD_FILES:
        first = (BAD_DIR / name).read_bytes().split(b"\n", 1)[0]
        assert first.startswith(b"# BAD: "), f"{name}: first line must say what is wrong"
        assert EXPECTED[name], name


def test_baseline_itself_is_valid():
    """Each bad file is a variation of the baseline, so the baseline must load."""
    assert sim.load_scenario(BASELINE).name


# -- every bad scenario: exit 2, one line naming file and field, no output -----------------------
@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_scenario_in_process(name, tmp_path, capsys):
    path = BAD_DIR / name
    out = tmp_path / "out"
    code, _, err = run_main(capsys, "run", path, "--out", out)
    assert code == 2, err
    assert_one_line_error(err, str(path), *EXPECTED[name])
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_scenario_check_command(name, tmp_path, capsys):
    """``hotline check`` validates the scenario the same way, before any replication."""
    path = BAD_DIR / name
    code, out, err = run_main(
        capsys, "check", path, "--targets", REPO / "scenarios" / "yuelu_2021.targets.toml",
        "--seeds", "1", "--workers", "1",
    )
    assert code == 2, err
    assert_one_line_error(err, str(path), *EXPECTED[name])
    assert "PASS" not in out and "FAIL" not in out


SUBPROCESS_CASES = [
    "syntax_unclosed_string.toml",
    "not_utf8.toml",
    "nan_satisfaction_base.toml",
    "unknown_key_deep.toml",
    "volume_over_max.toml",
    "horizon_past_calendar.toml",
    "year_9999.toml",
    "extends_cycle.toml",
]


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_bad_scenario_subprocess_no_traceback(name, tmp_path):
    rel = f"tests/bad_scenarios/{name}"
    proc = run_subprocess("run", rel, "--out", tmp_path / "out")
    assert proc.returncode == 2, proc.stderr
    assert_one_line_error(proc.stderr, rel, *EXPECTED[name])
    assert "Traceback" not in proc.stdout
    assert leftovers(tmp_path) == []


# -- command-line misuse --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, must_name",
    [
        (["run", "scenarios/yuelu_2021.toml", "--bogus"], "--bogus"),
        (["run", "scenarios/yuelu_2021.toml", "--seed", "x"], "--seed"),
        (["run", "scenarios/yuelu_2021.toml", "--seed", "1.5"], "--seed"),
        (["run", "scenarios/yuelu_2021.toml", "--seed", "-1"], "--seed"),
        (["run"], "scenario"),
        ([], "command"),
        (["simulate", "scenarios/yuelu_2021.toml"], "simulate"),
        (["check", "scenarios/yuelu_2021.toml", "--workers", "many"], "--workers"),
    ],
)
def test_argparse_misuse_exits_2_without_traceback(argv, must_name):
    proc = run_subprocess(*argv)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "error" in last and must_name in last, proc.stderr
    assert proc.stdout == ""


def test_missing_scenario_file(tmp_path, capsys):
    missing = tmp_path / "nope.toml"
    code, _, err = run_main(capsys, "run", missing, "--out", tmp_path / "out")
    assert code == 2
    assert_one_line_error(err, str(missing), "no such file")
    assert leftovers(tmp_path) == []


def test_folder_instead_of_file(tmp_path, capsys):
    code, _, err = run_main(capsys, "run", tmp_path, "--out", tmp_path / "out")
    assert code == 2
    assert_one_line_error(err, str(tmp_path), "folder")
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "setting, must_name",
    [
        ("demand.annual_orders", "demand.annual_orders"),  # no '='
        ("=3000", "--set"),  # no field path
        ("demand.annual_order=3000", "demand.annual_order"),  # misspelt field
        ("nosuch.field=1", "nosuch"),  # unknown section
        ("mechanisms.one_team.inspector=3", "mechanisms.one_team.inspector"),
        ("units.99.handlers=1", "units.99"),  # list index out of range
        ("units.x.handlers=1", "units.x"),
        ("run.start.year=2022", "run.start.year"),  # inside a value
        ("demand.annual_orders=lots", "demand.annual_orders"),  # wrong type
        ("demand.annual_orders=nan", "demand.annual_orders"),
        ("demand.urgent_share=1.5", "demand.urgent_share"),
        ("run.start=2031-01-01", "run.start"),
        ("run.start=9999-12-01", "run.start"),
    ],
)
def test_bad_set_override(setting, must_name, tmp_path, capsys):
    code, _, err = run_main(
        capsys, "run", BASELINE, "--out", tmp_path / "out", "--set", setting
    )
    assert code == 2, err
    assert_one_line_error(err, must_name)
    assert leftovers(tmp_path) == []


def test_bad_set_override_subprocess(tmp_path):
    proc = run_subprocess(
        "run", "scenarios/yuelu_2021.toml", "--out", tmp_path / "out",
        "--set", "handling.scael=1.2",
    )
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, "scenarios/yuelu_2021.toml", "handling.scael")
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("seeds", ["1-x", "3-1", "a,b", "", "1,,2", "-3", "1-2-3", "1.5"])
def test_check_malformed_seeds(seeds, capsys):
    code, out, err = run_main(capsys, "check", BASELINE, f"--seeds={seeds}", "--workers", "1")
    assert code == 2, err
    assert_one_line_error(err, "--seeds")
    assert "PASS" not in out


def test_stream_needs_out(capsys):
    code, _, err = run_main(capsys, "run", BASELINE, "--stream", "--set", SMALL)
    assert code == 2
    assert_one_line_error(err, "--stream", "--out")


# -- unwritable --out ----------------------------------------------------------------------------
def test_out_under_a_regular_file(tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    out = blocker / "sub" / "run"
    code, _, err = run_main(capsys, "run", BASELINE, "--out", out, "--set", SMALL)
    assert code == 2
    assert_one_line_error(err, "--out", str(out), str(blocker))
    assert leftovers(tmp_path) == ["afile"]
    assert blocker.read_text() == "not a folder"


def test_out_under_a_regular_file_subprocess(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    proc = run_subprocess("run", "scenarios/yuelu_2021.toml", "--out", blocker / "run")
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, "--out", str(blocker))
    assert proc.stdout == "", "must fail before running, not after"


def test_out_is_an_existing_file(tmp_path, capsys):
    target = tmp_path / "run"
    target.write_text("precious")
    code, _, err = run_main(capsys, "run", BASELINE, "--out", target, "--set", SMALL)
    assert code == 2
    assert_one_line_error(err, "--out", str(target))
    assert target.read_text() == "precious"
    assert leftovers(tmp_path) == ["run"]


def test_out_in_read_only_folder(tmp_path, capsys, monkeypatch):
    """A folder the user may not write to.  Root ignores chmod, so the permission check is
    made to answer 'not writable' for this folder (the check itself is what is tested)."""
    ro = tmp_path / "ro"
    ro.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode, **kw: False if Path(p) == ro else real_access(p, mode, **kw)
    )
    code, out, err = run_main(capsys, "run", BASELINE, "--out", ro / "run", "--set", SMALL)
    assert code == 2
    assert_one_line_error(err, "--out", "not writable")
    assert out == "", "must fail before running"
    assert leftovers(ro) == []


def test_save_failure_is_one_line(tmp_path, capsys, monkeypatch):
    """The folder passes the early check but writing fails (disk, permissions): one line, no
    leftovers."""

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    out = tmp_path / "run"
    code, _, err = run_main(capsys, "run", BASELINE, "--out", out, "--set", SMALL)
    assert code == 2
    assert_one_line_error(err, "--out", str(out))
    assert leftovers(tmp_path) == []


# -- a good run -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    base = tmp_path_factory.mktemp("good")
    proc = run_subprocess(
        "run", "scenarios/yuelu_2021.toml", "--seed", "1", "--out", base / "r", "--set", SMALL
    )
    return proc, base / "r"


def test_good_run_exits_0_and_writes_folder(good_run):
    proc, folder = good_run
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert any(line.startswith("全年共计签收热线工单") for line in proc.stdout.splitlines()), proc.stdout
    for name in RUN_FILES:
        assert (folder / name).is_file(), name
    assert [p.name for p in folder.parent.iterdir()] == ["r"], "no partial folders left"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["seed"] == 1
    assert manifest["scenario"] == "yuelu_2021"
    orders = pd.read_parquet(folder / "orders.parquet")
    assert 2500 < len(orders) < 3500
    assert manifest["orders"] == len(pd.read_parquet(folder / "cases.parquet"))
    year = pd.read_csv(folder / "kpi_year.csv", encoding="utf-8-sig")
    assert len(year) == 1
    # the run folder's scenario is the one that ran, override included
    with (folder / "scenario.toml").open("rb") as fh:
        assert tomllib.load(fh)["demand"]["annual_orders"] == 3000


@pytest.fixture(scope="module")
def snapshot_run(tmp_path_factory) -> tuple[Path, Path]:
    """A frozen copy of the baseline (it may be being tuned while the tests run) and one run of
    it in a separate process: (scenario copy, run folder)."""
    base = tmp_path_factory.mktemp("snapshot")
    scn = base / "yuelu_2021.toml"
    scn.write_bytes(BASELINE.read_bytes())
    proc = run_subprocess("run", scn, "--seed", "1", "--out", base / "r", "--set", SMALL)
    assert proc.returncode == 0, proc.stderr
    return scn, base / "r"


def test_same_seed_gives_identical_bytes(snapshot_run, tmp_path, capsys):
    """A second run (in this process, the first was a subprocess) with the same seed writes
    byte-identical tables."""
    scn, first = snapshot_run
    code, out, err = run_main(
        capsys, "run", scn, "--seed", "1", "--out", tmp_path / "r", "--set", SMALL
    )
    assert code == 0, err
    for name in ("orders.parquet", "events.parquet", "cases.parquet", "kpi_year.csv", "kpi_unit.csv"):
        assert (tmp_path / "r" / name).read_bytes() == (first / name).read_bytes(), name


def test_other_seed_gives_other_bytes(snapshot_run, tmp_path, capsys):
    scn, first = snapshot_run
    code, _, err = run_main(
        capsys, "run", scn, "--seed", "2", "--out", tmp_path / "r", "--set", SMALL
    )
    assert code == 0, err
    assert (tmp_path / "r" / "orders.parquet").read_bytes() != (first / "orders.parquet").read_bytes()


def test_stream_run_matches_and_leaves_no_partial(snapshot_run, tmp_path, capsys):
    scn, first = snapshot_run
    code, _, err = run_main(
        capsys, "run", scn, "--seed", "1", "--stream", "--out", tmp_path / "r", "--set", SMALL
    )
    assert code == 0, err
    assert leftovers(tmp_path) == ["r"]
    for name in ("orders.parquet", "events.parquet", "cases.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "r" / name), pd.read_parquet(first / name), obj=name
        )


# -- atomic output ---------------------------------------------------------------------------------
def _fail_on_call(n: int, exc: BaseException, real):
    """A replacement for ``real`` that raises ``exc`` on its n-th call (1-based)."""
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise exc
        return real(*args, **kwargs)

    return wrapper


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), RuntimeError("disk on fire")])
def test_interrupted_save_leaves_nothing(small_result, tmp_path, monkeypatch, exc):
    monkeypatch.setattr(
        pd.DataFrame, "to_parquet", _fail_on_call(2, exc, pd.DataFrame.to_parquet)
    )
    target = tmp_path / "run"
    with pytest.raises(type(exc)):
        small_result.save(target)
    assert leftovers(tmp_path) == []


def test_save_failing_on_orders_leaves_nothing(small_result, tmp_path, monkeypatch):
    def broken(self):
        raise RuntimeError("orders table failed")

    monkeypatch.setattr(Result, "orders", property(broken))
    with pytest.raises(RuntimeError):
        small_result.save(tmp_path / "run")
    assert leftovers(tmp_path) == []


def test_save_interrupted_at_the_last_file_leaves_nothing(small_result, tmp_path, monkeypatch):
    """Interrupted just before the manifest: every table is written, yet nothing may remain."""

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(Result, "manifest", interrupted)
    with pytest.raises(KeyboardInterrupt):
        small_result.save(tmp_path / "run")
    assert leftovers(tmp_path) == []


def test_interrupted_cli_run_exits_130_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(Result, "manifest", interrupted)
    code, _, err = run_main(capsys, "run", BASELINE, "--out", tmp_path / "run", "--set", SMALL)
    assert code == 130
    assert_one_line_error(err, "interrupted", "nothing was written", prefix="hotline: ")
    assert leftovers(tmp_path) == []


def test_interrupted_stream_run_leaves_nothing(tmp_path, capsys, monkeypatch):
    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(Result, "manifest", interrupted)
    code, _, err = run_main(
        capsys, "run", BASELINE, "--stream", "--out", tmp_path / "run", "--set", SMALL
    )
    assert code == 130, err
    assert_one_line_error(err, "interrupted", prefix="hotline: ")
    assert leftovers(tmp_path) == []


def test_resave_replaces_folder_whole(small_result, tmp_path):
    target = tmp_path / "run"
    small_result.save(target)
    (target / "stale.txt").write_text("from an older run")
    (target / "orders.parquet").write_bytes(b"corrupt")
    small_result.save(target)
    assert not (target / "stale.txt").exists()
    for name in RUN_FILES:
        assert (target / name).is_file(), name
    assert len(pd.read_parquet(target / "orders.parquet")) == len(small_result.orders)
    assert leftovers(tmp_path) == ["run"]


def test_interrupted_resave_keeps_old_folder_intact(small_result, tmp_path, monkeypatch):
    target = tmp_path / "run"
    small_result.save(target)
    (target / "marker.txt").write_text("old run")
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    monkeypatch.setattr(
        pd.DataFrame, "to_parquet",
        _fail_on_call(2, KeyboardInterrupt(), pd.DataFrame.to_parquet),  # orders.parquet
    )
    with pytest.raises(KeyboardInterrupt):
        small_result.save(target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert leftovers(tmp_path) == ["run"]


# -- hotline check ---------------------------------------------------------------------------------
CHECK_ARGS = ("--seeds", "1-2", "--workers", "1", "--set", "demand.annual_orders=2000")
PASSING = """
[targets.received]
kind = "range"
min = 100
max = 100000
"""
FAILING = """
[targets.closure_rate]
kind = "hard"
value = 0.1
tolerance = 0.01
"""


def test_check_one_pass_one_fail(tmp_path, capsys):
    targets = tmp_path / "t.toml"
    targets.write_text('scenario = "yuelu_2021"\n' + PASSING + FAILING)
    code, out, err = run_main(capsys, "check", BASELINE, "--targets", targets, *CHECK_ARGS)
    assert code == 1, err
    assert "Traceback" not in err
    assert "PASS" in out and "FAIL" in out
    assert out.strip().splitlines()[-1] == "1 passed, 1 failed"
    for line in out.splitlines():
        if line.lstrip().startswith("received"):
            assert line.rstrip().endswith("PASS"), line
        if line.lstrip().startswith("closure_rate"):
            assert line.rstrip().endswith("FAIL"), line


def test_check_all_pass(tmp_path, capsys):
    targets = tmp_path / "t.toml"
    targets.write_text(PASSING)
    code, out, err = run_main(capsys, "check", BASELINE, "--targets", targets, *CHECK_ARGS)
    assert code == 0, err
    assert "FAIL" not in out
    assert out.strip().splitlines()[-1] == "1 passed, 0 failed"


def test_check_subprocess_fails_with_status_1(tmp_path):
    targets = tmp_path / "t.toml"
    targets.write_text(PASSING + FAILING)
    proc = run_subprocess("check", "scenarios/yuelu_2021.toml", "--targets", targets, *CHECK_ARGS)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "1 passed, 1 failed"


@pytest.mark.parametrize(
    "text, must_name",
    [
        ('[targets.bogus_rate]\nvalue = 0.5\ntolerance = 0.1\n', "targets.bogus_rate"),
        ('[targets.received]\nvalue = 10\n', "targets.received"),  # no tolerance
        ('[targets.received]\nvalue = 10\ntolerance = 1\nmin = 0\n', "targets.received"),
        ('[targets.received]\nmin = 0\ncolour = "red"\n', "targets.received.colour"),
        ('[targets.received]\nkind = "soft"\nmin = 0\n', "targets.received.kind"),
        ('[targets.received]\nvalue = 10\ntolerance = -1\n', "targets.received.tolerance"),
        ('[targets.received\nmin = 0\n', "TOML syntax error"),
        ('targets = 5\n', "targets"),
    ],
)
def test_check_bad_targets_file(text, must_name, tmp_path, capsys):
    targets = tmp_path / "t.toml"
    targets.write_text(text)
    code, out, err = run_main(capsys, "check", BASELINE, "--targets", targets, *CHECK_ARGS)
    assert code == 2, err
    assert_one_line_error(err, str(targets), must_name)
    assert "PASS" not in out


def test_check_missing_targets_file(tmp_path, capsys):
    missing = tmp_path / "none.targets.toml"
    code, _, err = run_main(capsys, "check", BASELINE, "--targets", missing, *CHECK_ARGS)
    assert code == 2
    assert_one_line_error(err, str(missing))


def test_check_default_targets_missing(tmp_path, capsys):
    """Without --targets, the default <scenario>.targets.toml beside it must exist."""
    scn = tmp_path / "copy.toml"
    scn.write_bytes(BASELINE.read_bytes())
    code, _, err = run_main(capsys, "check", scn, "--seeds", "1", "--workers", "1")
    assert code == 2
    assert_one_line_error(err, "copy.targets.toml")


# -- hotline schema ----------------------------------------------------------------------------------
def test_schema_matches_docs(capsys):
    doc = REPO / "docs" / "scenario-reference.md"
    code, out, err = run_main(capsys, "schema")
    assert code == 0, err
    assert out.startswith("#"), "Markdown with a heading"
    assert doc.exists(), "generate it: hotline schema --out docs/scenario-reference.md"
    assert out == doc.read_text(encoding="utf-8"), (
        "docs/scenario-reference.md is stale: hotline schema --out docs/scenario-reference.md"
    )


def test_schema_out_writes_same_text(tmp_path, capsys):
    code, printed, _ = run_main(capsys, "schema")
    assert code == 0
    dest = tmp_path / "ref.md"
    code, _, err = run_main(capsys, "schema", "--out", dest)
    assert code == 0, err
    assert dest.read_text(encoding="utf-8") == printed
    for field in ("demand.annual_orders", "calendar.office_hours", "schema_version"):
        assert field.split(".")[-1] in printed


def test_schema_unwritable_out(tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    code, _, err = run_main(capsys, "schema", "--out", blocker / "ref.md")
    assert code == 2
    assert_one_line_error(err, str(blocker))


@pytest.mark.parametrize("argv, flag", [
    (["fit", "x.csv", "--year", "abc"], "--year"),
    (["run", "s.toml", "--seed", "abc"], "--seed"),
    (["run"], "scenario"),
    (["nosuch"], "command"),
    (["forecast", "s.toml", "--days", "1.5"], "--days"),
])
def test_argparse_errors_are_one_line(capsys, argv, flag):
    """A flag argparse rejects gets one line naming it (no usage block), exit code 2."""
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hotline") and flag in err[0], err
