"""先行联系 first contact (sim/mechanisms/first_contact.py): a policy added as one file.

Off (the baseline) it changes nothing (tests/test_port.py keeps the baseline's digests);
on, every new non-urgent order signed for by its unit gets one call, booked as handler time
through the kernel (WORK events, counted in the workload), and callbacks are better and
reopens rarer, measured as paired differences over common random numbers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import sim
from sim.activities import DISSATISFIED, Act, check_path

ON = {"mechanisms.first_contact.enabled": True}
SEEDS = range(1, 9)


@pytest.fixture(scope="module")
def paired(small_scenario):
    """(off, on) results of the small scenario for each seed; the effect made large enough
    to see in 6,000 orders (gain 3 on the latent score, reopens halved)."""
    on = sim.with_overrides(small_scenario, ON | {"mechanisms.first_contact.satisfaction_gain": 3.0,
                                                  "mechanisms.first_contact.reopen_reduction": 0.5})
    return [(sim.simulate(small_scenario, seed=s), sim.simulate(on, seed=s)) for s in SEEDS]


def test_off_by_default_and_one_file(small_scenario):
    assert not small_scenario.mechanisms.first_contact.enabled
    off = sim.simulate(small_scenario, seed=1)
    assert not (off.events["activity"] == Act.WORK).any()


def test_each_new_order_gets_one_call_booked_as_handler_time(paired, small_scenario):
    off, on = paired[0]
    pd_testing = __import__("pandas").testing
    pd_testing.assert_frame_equal(off.cases, on.cases)  # same orders: its draws are its own
    ev, orders = on.events, on.orders
    work = ev[ev["activity"] == Act.WORK]
    hours = small_scenario.mechanisms.first_contact.call_handler_hours
    assert len(work) > 1000 and (work["value"] == hours).all()
    assert work["order"].is_unique  # one call per order
    # who is called: non-urgent orders signed for by their responsible unit, call due in the run
    signed = ev[(ev["activity"] == Act.SIGN) & (ev["unit"] >= 0)].merge(
        orders[["responsible", "urgent"]], left_on="order", right_index=True)
    eligible = signed[(signed["unit"] == signed["responsible"]) & ~signed["urgent"]]["order"]
    assert set(work["order"]) <= set(eligible)
    assert len(work) >= 0.99 * len(eligible)  # only calls due past the horizon are missing
    # every call is made by the order's unit, after its sign-for, in office hours
    sign_time = eligible.to_frame().merge(signed, on="order").groupby("order")["time"].min()
    w = work.set_index("order")
    assert (w["time"] >= sign_time.reindex(w.index)).all()
    cal = on.context.cal
    assert all(cal.working_clock(t + 1e-6) > cal.working_clock(t) for t in w["time"].to_numpy()[:500])
    # the workload counts the calls
    extra = on.by_unit()["handler_hours"].sum() - off.by_unit()["handler_hours"].sum()
    assert extra > 0.5 * len(work) * hours
    for oid, acts in ev[ev["order"] >= 0].groupby("order")["activity"]:
        assert check_path(acts.tolist()) is None, oid


def test_contact_raises_satisfaction_and_lowers_reopens(paired):
    """Paired over seeds (common random numbers): fewer dissatisfied callbacks and fewer
    reopens with first contact; each mean difference is more than 3 standard errors below 0."""
    def count(res, act, outcome=None):
        ev = res.events
        rows = ev["activity"] == act
        if outcome is not None:
            rows &= ev["outcome"] == outcome
        return int(rows.sum())

    dis = np.array([count(on, Act.CALLBACK, DISSATISFIED) - count(off, Act.CALLBACK, DISSATISFIED) for off, on in paired])
    reo = np.array([count(on, Act.REOPEN) - count(off, Act.REOPEN) for off, on in paired])
    for diff in (dis, reo):
        t = diff.mean() / stats.sem(diff)
        assert t < -3.0, (diff, t)
