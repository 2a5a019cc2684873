"""The callback as practised (issue 11, part 4): the callback method (回访方式: manual, SMS,
sampled), the resolution answer (解决率) and escalation after repeated reopens (提级督办).

Statistical checks run the small baseline (~6,000 orders a year) on fixed seeds, paired
(same seeds for both methods: common random numbers); each tolerance is derived from the
binomial variance of the share it judges, as said where it is used."""

from __future__ import annotations

import math

import numpy as np
import pandas.testing as pdt
import pytest
from test_properties import check_callbacks_and_escalation, check_paths_and_times

import sim
from sim.activities import DISSATISFIED, UNREACHED, Act
from sim.model.engine import Model
from sim.model.units import RAISED_PRIORITY
from sim.result import Result

SEEDS = (1, 2, 3)
JUNSHAN_MANUAL = 0.0098  # dissatisfied share of sampled manual callbacks (DESIGN §7)
SMS_BAND = (0.05, 0.12)  # the neighbourhood of Junshan's 8-9 % by SMS the issue asks for
MANUAL_BAND = (0.0, JUNSHAN_MANUAL + 0.01)  # "near 1 %": within one point of the published 0.98 %
Z = 3.0  # standard errors: a band must hold the estimate's whole 3-SE interval (99.7 %)


def _final_shares(res: Result) -> tuple[int, int]:
    """(reached, dissatisfied) over the closed orders' final callbacks: the counts behind
    the indicator ``dissatisfied_share``."""
    o = res.orders
    final = o.loc[o["status"] == "closed", "final_callback"].to_numpy()
    return int((final > UNREACHED).sum()), int((final == DISSATISFIED).sum())


@pytest.fixture(scope="module")
def by_method(small_scenario):
    """The small baseline with manual and with SMS callbacks, on the same seeds."""
    return {
        method: [sim.simulate(small_scenario, seed=s, overrides={"callback.method": method}) for s in SEEDS]
        for method in ("manual", "sms")
    }


def test_sms_callbacks_find_several_times_the_dissatisfaction_of_manual_ones(by_method):
    """Junshan 2021: 0.98 % dissatisfied by manual calls, 8-9 % by SMS.  Pooled over the seeds,
    the SMS share's 3-SE interval (SE = sqrt(p(1-p)/n), n reached callbacks) lies inside
    [0.05, 0.12] and the manual one's inside [0, 1.98 %]; paired, SMS is above manual in every
    seed."""
    pooled = {}
    for method, runs in by_method.items():
        counts = np.array([_final_shares(r) for r in runs])
        reached, dis = counts.sum(axis=0)
        p = dis / reached
        se = math.sqrt(p * (1 - p) / reached)
        pooled[method] = (p, se)
        # the indicator is these counts' ratio
        for r, (n, d) in zip(runs, counts, strict=True):
            assert r.kpis().iloc[0]["dissatisfied_share"] == pytest.approx(d / n)
    (p_sms, se_sms), (p_man, se_man) = pooled["sms"], pooled["manual"]
    assert SMS_BAND[0] <= p_sms - Z * se_sms and p_sms + Z * se_sms <= SMS_BAND[1], pooled
    assert MANUAL_BAND[0] <= p_man - Z * se_man and p_man + Z * se_man <= MANUAL_BAND[1], pooled
    for man, sms in zip(by_method["manual"], by_method["sms"], strict=True):
        assert sms.kpis().iloc[0]["dissatisfied_share"] > man.kpis().iloc[0]["dissatisfied_share"]


def test_sms_answer_share_is_the_reply_probability(by_method, small_scenario):
    """Each SMS callback is answered with ``sms.reply_probability``: the share of callback
    events reached lies within 4 binomial SEs of it (plus 0.5 pp: a text sent in the last two
    days is recorded only if answered before the horizon, which favours answers)."""
    p = small_scenario.callback.sms.reply_probability
    for res in by_method["sms"]:
        out = res.events.loc[res.events["activity"] == Act.CALLBACK, "outcome"].to_numpy()
        n = len(out)
        share = float((out > UNREACHED).mean())
        assert abs(share - p) <= 4 * math.sqrt(p * (1 - p) / n) + 0.005, (share, n)


def test_methods_share_arrivals_and_first_rounds(by_method):
    """Common random numbers: the callback method's own draws come from streams of their own,
    so both methods get the same orders, and the same first replies for every order replied
    to before any callback could differ (the first callback day)."""
    for man, sms in zip(by_method["manual"], by_method["sms"], strict=True):
        pdt.assert_frame_equal(man.cases, sms.cases)
        first = man.events["activity"] == Act.CALLBACK
        cut = float(man.events.loc[first, "time"].min())  # before it, nothing differs
        a = man.events[man.events["time"] < cut].reset_index(drop=True)
        b = sms.events[sms.events["time"] < cut].reset_index(drop=True)
        pdt.assert_frame_equal(a, b)


def test_resolution_rate_follows_the_hard_cases(by_method):
    """解决率 comes from the modelled state: a reached citizen says unresolved exactly for a
    hard case left unresolved, so the rate is 1 minus the share of such cases among the
    reached, and every unresolved answer is a hard case's."""
    for res in by_method["manual"]:
        k = res.kpis().iloc[0]
        o = res.orders
        reached = o[(o["status"] == "closed") & (o["final_callback"] > UNREACHED)]
        unresolved = reached["final_resolution"] == 0.0
        assert unresolved.any()
        assert reached.loc[unresolved, "hard"].all()
        assert k["resolution_rate"] == pytest.approx(1 - unresolved.mean())
        assert 0.9 < k["resolution_rate"] < 1.0


def test_sampled_share_one_is_manual_and_a_sample_skips_callbacks(small_scenario):
    """``sampled`` with share 1 calls everyone back: exactly the manual log (its sample draws
    shift nothing).  With share 0.3, about 30 % of first rounds are called back (within 4
    binomial SEs), the rest close at the review without a callback, and callback reach stays
    that of the calls."""
    manual = sim.simulate(small_scenario, seed=1)
    everyone = sim.simulate(small_scenario, seed=1, overrides={"callback.method": "sampled",
                                                               "callback.sampled.share": 1.0})
    pdt.assert_frame_equal(manual.events, everyone.events)
    some = sim.simulate(small_scenario, seed=1, overrides={"callback.method": "sampled",
                                                           "callback.sampled.share": 0.3})
    check_callbacks_and_escalation(some)
    o = some.orders
    first_round = o[(o["status"] == "closed") & (o["reopens"] == 0)]
    called = (first_round["final_callback"] >= 0).to_numpy()
    n = len(called)
    assert abs(called.mean() - 0.3) <= 4 * math.sqrt(0.3 * 0.7 / n), (called.mean(), n)
    k, km = some.kpis().iloc[0], manual.kpis().iloc[0]
    assert k["callback_rate"] == pytest.approx(k["callback_reach"] * called.mean(), abs=0.02)
    # reach of the calls made: within 4 SEs of the manual run's (independent samples)
    p, n_called = km["callback_reach"], int(called.sum())
    assert abs(k["callback_reach"] - p) <= 4 * math.sqrt(p * (1 - p) * (1 / n_called + 1 / len(o)))


# -- escalation (提级督办) ---------------------------------------------------------------------
def _reopening(small_scenario, **extra) -> dict:
    """Overrides that make reopens common: a low satisfaction score, every dissatisfied
    callback reopens, everyone reached at the first attempt."""
    return {
        "callback.satisfaction.base": 0.0,
        "callback.reopen_probability_if_dissatisfied": 1.0,
        "callback.reach_probability_per_attempt": 1.0,
        "demand.annual_orders": 1500,
        **extra,
    }


def test_escalation_after_the_nth_reopen(small_scenario):
    """The second reopen escalates (ESCALATE right after it, once per order); the paths stay
    legal; with escalation off (0) or out of reach, the log is the same as without it."""
    over = _reopening(small_scenario, **{"callback.escalation.after_reopens": 2})
    res = sim.simulate(small_scenario, seed=2, overrides=over)
    check_paths_and_times(res)
    check_callbacks_and_escalation(res)
    ev = res.events
    reopens = ev[ev["activity"] == Act.REOPEN].groupby("order").size()
    escalated = set(ev.loc[ev["activity"] == Act.ESCALATE, "order"])
    assert len(escalated) > 20
    assert escalated == set(reopens[reopens >= 2].index)
    names = res.readable_events()
    assert set(names.loc[names["concept:name"] == "escalate", "activity_zh"]) == {"提级督办"}
    off = sim.simulate(small_scenario, seed=2, overrides={**over, "callback.escalation.after_reopens": 0})
    never = sim.simulate(small_scenario, seed=2, overrides={**over, "callback.escalation.after_reopens": 10})
    assert not (off.events["activity"] == Act.ESCALATE).any()
    if not (reopens >= 10).any():  # (no order reaches ten reopens: escalation never comes)
        pdt.assert_frame_equal(off.events, never.events)


def test_escalated_hard_cases_are_resolved_like_a_plan(small_scenario):
    """Hard cases are never resolved by their units here (no plan is ever adopted); once
    escalated, always (resolve_probability 1): every callback of an escalated hard case after
    its escalation says resolved, and every one of a hard case before says unresolved (but
    for the centre's own answers, 一个模式, which the model counts as resolved)."""
    over = _reopening(small_scenario, **{
        "callback.escalation.after_reopens": 1,
        "callback.escalation.resolve_probability": 1.0,
        "mechanisms.one_plan.resolve_probability_without_plan": 0.0,
        "mechanisms.one_plan.hard_cases_per_topic_quarter": 10_000,
        "demand.hard_share": {"help": 0.5, "consult": 0.5, "complaint": 0.5, "suggestion": 0.5},
    })
    res = sim.simulate(small_scenario, seed=4, overrides=over)
    ev = res.events
    hard = set(res.cases.loc[res.cases["hard"], "order"])
    esc_time = ev[ev["activity"] == Act.ESCALATE].set_index("order")["time"]
    cb = ev[(ev["activity"] == Act.CALLBACK) & (ev["outcome"] > UNREACHED) & ev["order"].isin(hard)
            & (ev["unit"] >= 0)]
    after = cb["order"].map(esc_time).lt(cb["time"])
    assert after.sum() > 20 and (~after).sum() > 20
    assert (cb.loc[after, "value"] == 1.0).all()
    assert (cb.loc[~after, "value"] == 0.0).all()


def test_an_escalated_round_waits_ahead_of_normal_work(small_scenario):
    """An escalated order that must wait for a handler is queued at raised priority (as a
    supervised order is).  Supervision is off, so every raise seen is the escalation's."""
    over = _reopening(small_scenario, **{
        "callback.escalation.after_reopens": 1,
        "mechanisms.one_team.enabled": False,
        "demand.annual_orders": 6000,
    })
    # one handler a unit: reopened rounds must queue
    over |= {f"units.{i}.handlers": 1 for i in range(len(small_scenario.units))}
    model = Model(sim.with_overrides(small_scenario, over), 5)
    lifecycle = model.lifecycle
    original = lifecycle.raise_priority
    raised: list[int] = []

    def spy(o):
        original(o)
        assert o.escalated
        if o.queued:
            entry = max((e for e in model.units[o.unit].queue if e[4] is o), key=lambda e: e[3])
            assert entry[0] == RAISED_PRIORITY or o.urgent
            raised.append(o.id)

    lifecycle.raise_priority = spy
    model.run()
    assert len(raised) > 5
