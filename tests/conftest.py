"""Shared fixtures: the baseline scenario, a small fast variant of it and one run of that."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import sim

REPO = Path(__file__).resolve().parent.parent
BASELINE = REPO / "scenarios" / "yuelu_2021.toml"
SMALL = {"demand.annual_orders": 6000}
SMALL_SEED = 3
# what every run folder must hold (Result.save)
RUN_FILES = (
    "manifest.json",
    "events.parquet",
    "orders.parquet",
    "kpi_year.csv",
    "kpi_month.csv",
    "kpi_unit.csv",
    "scenario.toml",
)


@pytest.fixture(scope="session")
def baseline_path() -> Path:
    return BASELINE


@pytest.fixture(scope="session")
def baseline_text() -> str:
    return BASELINE.read_text(encoding="utf-8")


@pytest.fixture
def baseline_dict() -> dict:
    """A fresh (mutable) copy of the baseline as parsed TOML."""
    with BASELINE.open("rb") as fh:
        return tomllib.load(fh)


def small_overrides() -> dict:
    """Shrink the baseline to ~6,000 orders a year; the one count threshold that is absolute
    (hard cases per topic per quarter that trigger a plan) shrinks with the volume."""
    base = sim.load_scenario(BASELINE)
    factor = SMALL["demand.annual_orders"] / base.demand.annual_orders
    threshold = base.mechanisms.one_plan.hard_cases_per_topic_quarter
    return SMALL | {
        "mechanisms.one_plan.hard_cases_per_topic_quarter": max(1, round(threshold * factor))
    }


@pytest.fixture(scope="session")
def small_scenario() -> sim.Scenario:
    """The baseline, shrunk to ~6,000 orders a year (same calendar, units and mechanisms)."""
    return sim.load_scenario(BASELINE, overrides=small_overrides())


@pytest.fixture(scope="session")
def small_result(small_scenario):
    """One run of the small scenario (seed 3); shared, so never mutate it."""
    return sim.simulate(small_scenario, seed=SMALL_SEED)
