"""Arrivals and order attributes, drawn up front in vectorised batches.

Arrivals are a non-homogeneous Poisson process with a piecewise-constant hourly rate
(month x weekday x hour-of-day profile x surges), sampled exactly: a Poisson count per hour,
uniform times within it.  Each order also receives its own "fate" draws (uniforms and
normals for routing, handling, callback ...), one named stream per kind, so that switching a
mechanism off changes what is done with an order's numbers, never which numbers it gets:
common random numbers across scenarios.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

import numpy as np

from sim.memory import as_array
from sim.rates import expected_volume, hourly_rates
from sim.rng import Streams
from sim.scenario import CATEGORIES, STREET, Scenario

__all__ = ["Orders", "expected_volume", "generate", "hourly_rates", "responsible_units"]

# Per-order uniforms (U_*) and standard normals (Z_*), each its own stream.
FATE_UNIFORMS = (
    "route",  # misrouting at dispatch
    "route_pick",  # which wrong unit
    "sign",  # sign-for delay
    "direct",  # centre answers a consultation itself
    "direct_time",
    "extend",  # asks for an extension
    "approve",  # extension approved
    "hurry",  # hurries to meet the deadline
    "review",  # reply sent back
    "reach",  # callback reach (attempt count)
    "window",  # callback time in the window
    "satisfy",  # callback outcome
    "reopen",  # dissatisfied -> reopen
    "resolve",  # hard case resolved
)
FATE_NORMALS = ("effort", "lead")


def _pick(u: np.ndarray, shares: list[float]) -> np.ndarray:
    cum = np.cumsum(shares)
    cum[-1] = 1.0 + 1e-12
    return np.searchsorted(cum, u, side="right").astype(np.int32)


@dataclass
class Orders:
    """Every order's arrival and attributes, plus its fate draws (as fast scalar arrays)."""

    time: np.ndarray
    category: np.ndarray  # index into CATEGORIES
    urgent: np.ndarray  # bool
    topic: np.ndarray  # index into scenario.topics
    street: np.ndarray  # index into the street units (by order of kind == "street")
    channel: np.ndarray  # index into channel_shares keys
    hard: np.ndarray  # bool
    uniforms: dict[str, array] = field(default_factory=dict)
    normals: dict[str, array] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.time)


def generate(scn: Scenario, streams: Streams) -> Orders:
    """All orders of the run, sorted by arrival time."""
    rates = hourly_rates(scn)
    gen = streams.numpy("arrivals")
    counts = gen.poisson(rates)
    n_arr = int(counts.sum())
    starts = np.repeat(np.arange(len(rates), dtype=float), counts)
    times = np.sort(starts + gen.random(n_arr))
    backlog = scn.initial_backlog.orders
    times = np.concatenate([np.zeros(backlog), times])
    n = len(times)

    d = scn.demand
    attr = streams.numpy("attributes")
    category = _pick(attr.random(n), [d.category_shares.get(c) for c in CATEGORIES])
    urgent = attr.random(n) < d.urgent_share
    topic = _pick(attr.random(n), [t.share for t in scn.topics])
    streets = [u for u in scn.units if u.kind == "street"]
    street = (
        _pick(attr.random(n), [u.population_share for u in streets])
        if streets
        else np.full(n, -1, dtype=np.int32)
    )
    channel = _pick(attr.random(n), list(d.channel_shares.values()))
    hard_p = np.array([d.hard_share.get(c) for c in CATEGORIES])[category]
    hard = attr.random(n) < hard_p

    uniforms = {k: as_array("d", streams.numpy(f"fate.{k}").random(n)) for k in FATE_UNIFORMS}
    normals = {
        k: as_array("d", streams.numpy(f"fate.{k}").standard_normal(n)) for k in FATE_NORMALS
    }
    return Orders(times, category, urgent, topic, street, channel, hard, uniforms, normals)


def responsible_units(scn: Scenario, orders: Orders) -> np.ndarray:
    """The unit the responsibility list names for each order (index into scenario.units)."""
    index = {u.name: i for i, u in enumerate(scn.units)}
    street_units = np.array([i for i, u in enumerate(scn.units) if u.kind == "street"], dtype=np.int32)
    topic_unit = np.array([index.get(t.unit, -1) if t.unit != STREET else -1 for t in scn.topics])
    unit = topic_unit[orders.topic]
    local = unit < 0
    if local.any():
        unit = unit.copy()
        unit[local] = street_units[orders.street[local]]
    return unit.astype(np.int32)
