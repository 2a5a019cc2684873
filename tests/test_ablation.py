"""Issue 13, the ablation machinery on the four-unit district (tests/scenarios/load.toml):
``compare --ablate all`` gives the mechanism x indicator table (paired differences with
their 95 % CI, marked where the CI excludes zero, plus the cost columns), and switching all six
off leaves the orders' own draws unchanged (common random numbers).

The full tables (district year, 30 seeds) are made by docs/mechanisms_worth.py, not here."""

from __future__ import annotations

import re

import pandas as pd
import pandas.testing as pdt
import pytest

import sim
from sim.batch.ablation import COLUMNS, ablation_table, column_label, is_ablation, variant_label
from sim.batch.study import SIX, compare
from sim.scenario import load_scenario

LOAD = "tests/scenarios/load.toml"
SEEDS = [1, 2]  # two seeds: the machinery, not the effects' sizes, is under test here


@pytest.fixture(scope="module")
def ablation(tmp_path_factory):
    out = tmp_path_factory.mktemp("ablation") / "study"
    return compare(LOAD, ablate="all", seeds=SEEDS, jobs=2, out=out, progress=False)


def test_ablate_all_is_six_alone_then_all_off(ablation):
    variants = list(dict.fromkeys(ablation.effects["variant"]))
    assert variants == [f"no_{n}" for n in SIX] + ["all_off"]
    assert is_ablation(variants) and not is_ablation(["no_one_team", "bigger_team"])
    # other policies keep their scenario setting: first contact is never among the variants
    assert not any("first_contact" in v for v in variants)


def test_table_cells_are_paired_differences_with_marked_cis(ablation):
    table = pd.read_csv(ablation.out / "ablation.csv", encoding="utf-8-sig", dtype=str)
    assert list(table.columns) == ["机制 mechanism", *(column_label(c) for c in COLUMNS)]
    assert table["机制 mechanism"].tolist() == (
        ["基准 baseline (mean)"] + [variant_label(f"no_{n}") for n in SIX] + [variant_label("all_off")])
    assert table["机制 mechanism"].iloc[4] == "无一支队伍 no one_team"
    cell = re.compile(r"^([+-][\d,.]+) \[([+-][\d,.]+), ([+-][\d,.]+)\](\*?)$")
    e = ablation.effects.set_index(["variant", "indicator"])
    for i, variant in enumerate([f"no_{n}" for n in SIX] + ["all_off"], start=1):
        for col in COLUMNS:
            m = cell.match(table.loc[i, column_label(col)])
            assert m, (variant, col, table.loc[i, column_label(col)])
            lo, hi = e.loc[(variant, col), "ci_low"], e.loc[(variant, col), "ci_high"]
            assert (m.group(4) == "*") == bool(lo > 0 or hi < 0), (variant, col)
    # the same table is what the command prints
    assert ablation_table(ablation.effects).shape == table.shape


def test_cost_columns_come_from_the_log(ablation):
    runs = ablation.runs[ablation.runs["status"] == "ok"]
    assert (runs["supervision_actions"]
            == runs["warnings"] + runs["reminders"] + runs["criticisms"]).all()
    base = runs[runs["point"] == "base"]
    assert (base["supervision_actions"] > 0).all()
    e = ablation.effects.set_index(["variant", "indicator"])
    # without the team no action is logged: the difference is minus the base's spend, every seed
    no_team = e.loc[("no_one_team", "supervision_actions")]
    assert no_team["variant_mean"] == 0 and no_team["ci_high"] < 0


def test_all_off_keeps_the_orders_own_draws():
    """Common random numbers: with all six off the same orders arrive at the same times with
    the same categories, topics and channels."""
    scn = load_scenario(LOAD)
    base = sim.simulate(scn, seed=3)
    off = sim.simulate(scn, seed=3, overrides={f"mechanisms.{n}.enabled": False for n in SIX})
    cols = ["arrive", "category", "topic", "channel", "urgent", "hard", "responsible"]
    pdt.assert_frame_equal(off.orders[cols], base.orders[cols])
    assert not off.events.equals(base.events)
