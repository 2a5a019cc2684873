"""Arrivals and order attributes: volume, profiles, surges, common random numbers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import sim
from sim.demand import expected_volume, generate, hourly_rates, responsible_units
from sim.rng import Streams
from sim.scenario import CATEGORIES, STREET


def test_hourly_rates_sum_to_the_annual_volume(small_scenario):
    rates = hourly_rates(small_scenario)
    assert len(rates) == 365 * 24
    assert rates.sum() == pytest.approx(small_scenario.demand.annual_orders)
    assert expected_volume(small_scenario) == pytest.approx(6000)
    assert (rates >= 0).all()


def test_surge_multiplies_its_days_only(small_scenario):
    over = {"demand.surges": [{"start": "2021-08-01", "end": "2021-08-31", "factor": 1.5}]}
    surged = hourly_rates(sim.with_overrides(small_scenario, over))
    plain = hourly_rates(small_scenario)
    aug = slice(
        (dt.date(2021, 8, 1) - dt.date(2021, 1, 1)).days * 24,
        (dt.date(2021, 9, 1) - dt.date(2021, 1, 1)).days * 24,
    )
    assert surged[aug] == pytest.approx(1.5 * plain[aug])
    rest = np.ones(len(plain), dtype=bool)
    rest[aug] = False
    assert surged[rest] == pytest.approx(plain[rest])


def test_generated_orders(small_scenario):
    orders = generate(small_scenario, Streams(7))
    n = len(orders)
    assert abs(n - 6000) < 5 * np.sqrt(6000)
    assert np.all(np.diff(orders.time) >= 0)
    assert orders.time.min() > 0 and orders.time.max() < small_scenario.horizon_hours
    shares = np.bincount(orders.category, minlength=4) / n
    expected = [small_scenario.demand.category_shares.get(c) for c in CATEGORIES]
    assert shares == pytest.approx(expected, abs=0.02)
    for name, arr in orders.uniforms.items():
        assert len(arr) == n, name


def test_same_seed_same_orders_and_streams_are_independent(small_scenario):
    a, b = generate(small_scenario, Streams(7)), generate(small_scenario, Streams(7))
    assert np.array_equal(a.time, b.time)
    assert np.array_equal(a.topic, b.topic)
    assert list(a.uniforms["route"]) == list(b.uniforms["route"])
    assert list(a.uniforms["route"]) != list(a.uniforms["sign"])
    c = generate(small_scenario, Streams(8))
    assert not np.array_equal(a.time[:100], c.time[:100])


def test_responsible_units_follow_the_list(small_scenario):
    orders = generate(small_scenario, Streams(7))
    unit = responsible_units(small_scenario, orders)
    index = {u.name: i for i, u in enumerate(small_scenario.units)}
    for i in range(0, len(orders), 97):
        topic = small_scenario.topics[orders.topic[i]]
        if topic.unit == STREET:
            assert small_scenario.units[unit[i]].kind == "street"
        else:
            assert unit[i] == index[topic.unit]
