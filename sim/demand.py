"""Arrivals and order attributes, drawn up front in vectorised batches.

Arrivals are a non-homogeneous Poisson process with a piecewise-constant hourly rate
(month x weekday x hour-of-day profile, public holidays; ``sim.rates``), sampled exactly: a
Poisson count per hour, uniform times within it.  Surges, for all orders or for some topics,
are added on top as a superposed Poisson process of extra orders (or by thinning, for a
factor below 1), from their own streams, so the base orders keep their draws.  Each order
also receives its own "fate" draws (uniforms and normals for routing, handling, callback
...), one named stream per kind, so that switching a mechanism off changes what is done with
an order's numbers, never which numbers it gets: common random numbers across scenarios.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.memory import as_array
from sim.rates import base_hourly_rates, expected_volume, hourly_rates, surge_topic_multipliers
from sim.rng import Streams
from sim.scenario import CATEGORIES, STREET, Scenario

__all__ = ["Orders", "backlog_orders", "expected_volume", "generate", "hourly_rates", "responsible_units"]

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
    "sms_delay",  # SMS callbacks: when the citizen answers
    "sample",  # sampled callbacks: whether the order is called back
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


def _attributes(
    scn: Scenario,
    streams: Streams,
    n: int,
    topic_of: Callable[[np.ndarray], np.ndarray],
    prefix: str,
    scalar_arrays: bool = False,
) -> dict[str, Any]:
    """The attributes and fate draws of ``n`` orders, from the streams ``{prefix}attributes``
    and ``{prefix}fate.<kind>`` (one stream each, drawn in a fixed order); ``topic_of`` turns
    the topic uniforms into topic indices.  With ``scalar_arrays`` each fate draw is turned
    into an ``array('d')`` as soon as it is drawn (a city year's sixteen float arrays are
    never all held twice); else they stay numpy arrays (to be reordered)."""
    def fate(values: np.ndarray) -> Any:
        return as_array("d", values) if scalar_arrays else values

    d = scn.demand
    attr = streams.numpy(f"{prefix}attributes")
    out = {"category": _pick(attr.random(n), [d.category_shares.get(c) for c in CATEGORIES])}
    out["urgent"] = attr.random(n) < d.urgent_share
    out["topic"] = topic_of(attr.random(n))
    streets = [u for u in scn.units if u.kind == "street"]
    out["street"] = (
        _pick(attr.random(n), [u.population_share for u in streets])
        if streets
        else np.full(n, -1, dtype=np.int32)
    )
    out["channel"] = _pick(attr.random(n), list(d.channel_shares.values()))
    hard_p = np.array([d.hard_share.get(c) for c in CATEGORIES])[out["category"]]
    out["hard"] = attr.random(n) < hard_p
    for k in FATE_UNIFORMS:
        out[f"u.{k}"] = fate(streams.numpy(f"{prefix}fate.{k}").random(n))
    for k in FATE_NORMALS:
        out[f"z.{k}"] = fate(streams.numpy(f"{prefix}fate.{k}").standard_normal(n))
    return out


def _surged(
    scn: Scenario, streams: Streams, base: dict[str, np.ndarray], rates: np.ndarray
) -> dict[str, np.ndarray]:
    """The base orders with the surges applied: where a day's topic multiplier is above 1,
    extra orders of that topic are added (a Poisson process at rate base x (multiplier - 1),
    superposed: exact); where it is below 1, base orders of that topic are thinned (kept
    with probability = the multiplier).  Extra orders draw from their own streams
    (``surge.arrivals``, ``surge.attributes``, ``surge.fate.<kind>``) and the thinning from
    ``surge.thin``, so every base order that stays keeps all its draws: a surge changes the
    load, never an order's own numbers (common random numbers).  Sorted by time again."""
    mult = surge_topic_multipliers(scn)
    if mult is None:
        return base
    shares = np.array([t.share for t in scn.topics], dtype=float)
    n = len(base["time"])
    day = np.minimum((base["time"] // 24).astype(np.int64), scn.run.horizon_days - 1)
    keep_p = np.minimum(mult[day, base["topic"]], 1.0)
    keep = streams.numpy("surge.thin").random(n) < keep_p
    # extra orders: rate base x sum_t share_t x max(0, m_t - 1) on each day
    extra_w = shares * np.maximum(mult - 1.0, 0.0)  # (days, topics)
    extra_day = extra_w.sum(axis=1)
    gen = streams.numpy("surge.arrivals")
    counts = gen.poisson(rates * np.repeat(extra_day, 24))
    m = int(counts.sum())
    times = np.sort(np.repeat(np.arange(len(rates), dtype=float), counts) + gen.random(m))
    extra_days = np.minimum((times // 24).astype(np.int64), scn.run.horizon_days - 1)

    def topic_of(u: np.ndarray) -> np.ndarray:
        topic = np.zeros(len(u), dtype=np.int32)
        for d in np.unique(extra_days):
            at = extra_days == d
            topic[at] = _pick(u[at], list(extra_w[d] / extra_day[d]))
        return topic

    extra = _attributes(scn, streams, m, topic_of, "surge.")
    extra["time"] = times
    order = np.argsort(np.concatenate([base["time"][keep], times]), kind="stable")
    out = {}
    for k in list(base):  # one column at a time, each input freed once merged
        out[k] = np.concatenate([base.pop(k)[keep], extra.pop(k)])[order]
    return out


def generate(scn: Scenario, streams: Streams) -> Orders:
    """All orders of the run, sorted by arrival time.

    The base process (no surges: ``base_hourly_rates``) draws from the ``arrivals``,
    ``attributes`` and ``fate.<kind>`` streams exactly as a scenario without surges does;
    surges then add or thin orders (``_surged``)."""
    rates = base_hourly_rates(scn)
    gen = streams.numpy("arrivals")
    counts = gen.poisson(rates)
    n_arr = int(counts.sum())
    starts = np.repeat(np.arange(len(rates), dtype=float), counts)
    times = np.sort(starts + gen.random(n_arr))
    n = len(times)
    shares = [t.share for t in scn.topics]
    surged = bool(scn.demand.surges)
    orders = _attributes(scn, streams, n, lambda u: _pick(u, shares), "", scalar_arrays=not surged)
    orders["time"] = times
    if surged:
        orders = _surged(scn, streams, orders, rates)
        for k in [*(f"u.{k}" for k in FATE_UNIFORMS), *(f"z.{k}" for k in FATE_NORMALS)]:
            orders[k] = as_array("d", orders[k])  # one at a time: the numpy copy is freed
    uniforms = {k: orders[f"u.{k}"] for k in FATE_UNIFORMS}
    normals = {k: orders[f"z.{k}"] for k in FATE_NORMALS}
    return Orders(
        orders["time"], orders["category"], orders["urgent"], orders["topic"], orders["street"],
        orders["channel"], orders["hard"], uniforms, normals,
    )


def backlog_orders(scn: Scenario, streams: Streams, n: int) -> Orders:
    """``n`` orders open at the run's start (``initial_backlog``): time 0, attributes drawn as
    an arrival's are (``_attributes``), from streams of their own (``backlog.attributes``,
    ``backlog.fate.<kind>``), so the arrivals keep their draws whatever the backlog (common
    random numbers).  Their fate draws are not kept: the warm start that resumes them
    (``sim.model.warm``) draws from its own streams."""
    shares = [t.share for t in scn.topics]
    a = _attributes(scn, streams, n, lambda u: _pick(u, shares), "backlog.")
    return Orders(np.zeros(n), a["category"], a["urgent"], a["topic"], a["street"], a["channel"], a["hard"])


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
