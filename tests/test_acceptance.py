"""Acceptance: the calibrated baseline reaches every target over the default seeds 1-20.

This is the model issue's acceptance criterion, run exactly as a user would run it
(`hotline check scenarios/yuelu_2021.toml`): the replication mean of every indicator lies
within its target's tolerance or range.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.cli import main

BASELINE = Path(__file__).resolve().parent.parent / "scenarios" / "yuelu_2021.toml"


@pytest.mark.slow
def test_baseline_meets_every_target_over_seeds_1_to_20(capsys):
    code = main(["check", str(BASELINE), "--seeds", "1-20", "--workers", "2"])
    out = capsys.readouterr().out
    print(out)
    assert "FAIL" not in out, out
    assert code == 0
    assert "0 failed" in out
    # the README quotes these means: they must be the check's own (they went stale once)
    readme = (BASELINE.parent.parent / "README.md").read_text(encoding="utf-8")
    quoted = re.search(r"`hotline check` gives ([\d,]+) received, ([\d.]+) % closed, "
                       r"([\d.]+) % satisfied", readme)
    assert quoted, "README: the 20-seed sentence is missing"
    received, closure, satisfaction = quoted.groups()
    row = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert f" {received} " in row["received"], (quoted.group(0), row["received"])
    assert f" {closure}% " in row["closure_rate"], (quoted.group(0), row["closure_rate"])
    assert f" {satisfaction}% " in row["satisfaction"], (quoted.group(0), row["satisfaction"])


def test_readme_baseline_output_is_the_runs(capsys, tmp_path):
    """The README's first command prints the seed-1 summary it quotes, word for word."""
    readme = (BASELINE.parent.parent / "README.md").read_text(encoding="utf-8")
    quoted = [line for line in readme.splitlines()
              if line.startswith(("全年共计签收热线工单", "In the year "))][:2]
    assert len(quoted) == 2, "README: the baseline's two summary lines are missing"
    assert main(["run", str(BASELINE), "--seed", "1", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out.splitlines()
    for line in quoted:
        assert line in out, (line, out[:4])
