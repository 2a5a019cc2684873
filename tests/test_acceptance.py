"""Acceptance: the calibrated baseline reaches every target over the default seeds 1-20.

This is the model issue's acceptance criterion, run exactly as a user would run it
(`hotline check scenarios/yuelu_2021.toml`): the replication mean of every indicator lies
within its target's tolerance or range.
"""

from __future__ import annotations

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
