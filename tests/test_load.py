"""Load and deadlines (issue 11): the model answers "what if" — behaviour tests, paired.

Each test runs a base and a variant on the same seeds (common random numbers) on the four-unit
district of ``tests/scenarios/load.toml`` (the baseline's behaviour, 14 handlers ~70 % busy,
June-September 2021) and asks that the 95 % confidence interval of the paired difference
(Student t over seeds, ``scipy.stats``) excludes zero in the expected direction.  The seeds are
fixed; the interval, not a hand-picked threshold, carries the tolerance.  The baseline's figures
(a year, 20 seeds) are in docs/validation.md, made by docs/validation.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import sim
from sim.activities import Act
from sim.calendar import vectorised_working_clock

SCN = Path(__file__).parent / "scenarios" / "load.toml"
SEEDS = range(1, 13)
SURGE = [{"start": "2021-07-29", "end": "2021-08-31", "factor": 1.4}]  # Xiangtan Jul-Aug 2021


def paired_ci(diffs: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean of paired differences and its Student-t confidence interval."""
    d = np.asarray(diffs, dtype=float)
    half = stats.t.ppf(0.5 + level / 2, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def first_reply_wd(res: sim.Result) -> np.ndarray:
    """Working days from arrival to the first reply, per order with a reply (NaN otherwise),
    indexed like ``res.orders``."""
    ev = res.events
    replies = ev[ev["activity"] == int(Act.REPLY)].groupby("order")["time"].min()
    orders = res.orders
    first = replies.reindex(orders.index).to_numpy()
    cal = res.context.cal
    got = ~np.isnan(first)
    out = np.full(len(first), np.nan)
    out[got] = (vectorised_working_clock(cal, first[got])
                - vectorised_working_clock(cal, orders["arrive"].to_numpy()[got])) / cal.hours_per_day
    return out


def august_cohort(res: sim.Result) -> tuple[float, float]:
    """The August arrivals' on-time reply share and median working days to close."""
    o = res.orders
    aug = o[o["arrival_month"].astype(str) == "2021-08"]
    replied = aug[aug["replies"] > 0]
    on_time = float((replied["replies_on_time"] == replied["replies"]).mean())
    return on_time, float(aug["ttc_wd"].median())


@pytest.fixture(scope="module")
def base() -> dict[int, sim.Result]:
    scn = sim.load_scenario(SCN)
    return {s: sim.simulate(scn, s) for s in SEEDS}


def test_handlers_are_busy_and_capacity_binds(base):
    """Handlers carry a caseload: office-hour utilisation in the target band [0.55, 0.85],
    and orders wait for handlers (time from sign-for to start grows when the unit is busy)."""
    util = [float(r._year["utilisation"]) for r in base.values()]
    assert 0.55 <= np.mean(util) <= 0.85


def test_surge_lowers_august_service(base):
    """The Xiangtan-sized surge (x1.4, 29 Jul - 31 Aug) lowers the August cohort's on-time
    reply by >= 1 pp or raises its median time to close by >= 10 %, CI excluding zero."""
    surge = sim.load_scenario(SCN, overrides={"demand.surges": SURGE})
    d_on_time, d_ttc = [], []
    for s in SEEDS:
        (ot0, ttc0), (ot1, ttc1) = august_cohort(base[s]), august_cohort(sim.simulate(surge, s))
        d_on_time.append(ot1 - ot0)
        d_ttc.append(ttc1 / ttc0 - 1.0)
    ot_mean, _, ot_hi = paired_ci(d_on_time)
    ttc_mean, ttc_lo, _ = paired_ci(d_ttc)
    assert (ot_mean <= -0.01 and ot_hi < 0) or (ttc_mean >= 0.10 and ttc_lo > 0), (
        f"on-time {ot_mean:+.4f} (hi {ot_hi:+.4f}), median TTC {ttc_mean:+.3f} (lo {ttc_lo:+.3f})"
    )


def test_cutting_handlers_slows_the_largest_units(base):
    """30 % fewer handlers at the three largest units (rounded, at least one left) raises
    their median time to first reply, CI excluding zero."""
    scn = sim.load_scenario(SCN)
    largest = sorted(range(len(scn.units)), key=lambda i: (-scn.units[i].handlers, i))[:3]
    units = [u.model_dump() for u in scn.units]
    for i in largest:
        units[i]["handlers"] = max(1, round(units[i]["handlers"] * 0.7))
    cut = sim.load_scenario(SCN, overrides={"units": units})
    diffs = []
    for s in SEEDS:
        medians = []
        for res in (base[s], sim.simulate(cut, s)):
            wd = first_reply_wd(res)
            mine = res.orders["responsible"].isin(largest).to_numpy()
            medians.append(np.nanmedian(wd[mine]))
        diffs.append(medians[1] - medians[0])
    mean, lo, _ = paired_ci(diffs)
    assert mean > 0 and lo > 0, (mean, lo)


def test_halving_supervision_lowers_on_time_reply(base):
    """Half the supervision team (一支队伍) warns fewer orders before their deadline, so
    fewer hard cases are pressed in time: on-time reply falls, CI excluding zero."""
    scn = sim.load_scenario(SCN)
    team = scn.mechanisms.one_team.inspectors
    half = sim.load_scenario(SCN, overrides={"mechanisms.one_team.inspectors": team // 2})
    diffs = [
        float(sim.simulate(half, s)._year["on_time_reply_rate"]) - float(base[s]._year["on_time_reply_rate"])
        for s in SEEDS
    ]
    mean, _, hi = paired_ci(diffs)
    assert mean < 0 and hi < 0, (mean, hi)


def test_extensions_are_asked_before_expiry_and_mostly_for_hard_cases(base):
    """An extension is asked for only before the standard deadline in force expires (the
    deadline recorded at the sign-for or reopen that opened the round), and ordinary orders
    are hurried rather than extended: the extension rate of hard cases is far above that of
    the others (their outside parties cannot be hurried)."""
    import pandas as pd

    for res in list(base.values())[:3]:
        ev = res.events
        opened = ev[ev["activity"].isin([int(Act.SIGN), int(Act.REOPEN)])][["order", "time", "due"]]
        ext = ev[ev["activity"] == int(Act.EXTEND)][["order", "time"]]
        assert len(ext) > 0
        rounds = pd.merge_asof(ext.sort_values("time"), opened.sort_values("time"), on="time",
                               by="order", direction="backward")
        assert (rounds["time"] < rounds["due"]).all()
        o = res.orders
        rate = o.groupby("hard")["extensions"].apply(lambda x: float((x > 0).mean()))
        assert rate[True] > 5 * rate[False], rate.to_dict()


def test_an_extension_counts_against_the_unit():
    """The monthly assessment (一套指标) scores a unit lower for the extensions it asked for."""
    from sim.mechanisms.one_set import AssessmentWeights, score
    from sim.port import UnitMonth

    m = UnitMonth()
    m.replies, m.signs, m.callbacks = 10, 10, 10
    before = score(m, AssessmentWeights(extension_share=-0.5))
    m.extensions = 2
    assert score(m, AssessmentWeights(extension_share=-0.5)) == pytest.approx(before - 0.5 * 0.2)
