"""Work happens when it can (../shared/cases r2, r3), as whole kinds of fault:

* non-urgent work (a handler's start, a unit's reply) falls only in office hours on working
  days: a hurried reply is planned on the working clock, and an order taken outside office
  hours (a send-back reviewed in the evening, capacity lent at 00:00) starts at the opening;
* an extension (延期) is asked for only before the standard deadline expires: once it has
  passed the order stays late, and never counts as on time through a late extension."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO

import sim
from sim.activities import CENTRE, Act
from sim.result import Result

CASES = REPO / "tests" / "scenarios"


def _run(name: str, seed: int = 1, **over) -> Result:
    return sim.simulate(sim.load_scenario(CASES / name, overrides=over or None), seed=seed)


def _in_office(res: Result, times: np.ndarray) -> np.ndarray:
    cal = res.context.cal
    out = np.empty(len(times), dtype=bool)
    for k, t in enumerate(times):
        i = int(t // 24.0)
        hour = t - 24.0 * i
        out[k] = cal.is_working[i] and any(a - 1e-9 <= hour <= b + 1e-9 for a, b in cal.office.intervals)
    return out


@pytest.mark.parametrize("case", ["r2_offhours.toml", "r3_retro_extension.toml"])
def test_non_urgent_work_only_in_office_hours(case):
    res = _run(case)
    ev = res.events
    urgent = res.orders["urgent"]
    rows = ev[ev["activity"].isin([Act.START, Act.REPLY]) & (ev["unit"] != CENTRE) & (ev["order"] >= 0)]
    rows = rows[~urgent.reindex(rows["order"]).to_numpy()]
    assert len(rows) > 1000
    bad = rows[~_in_office(res, rows["time"].to_numpy())]
    assert bad.empty, bad.head()


def test_capacity_lent_at_midnight_starts_work_at_the_opening():
    """The monthly meeting lends handlers at 00:00 on the 1st; queued orders they take start
    when the office opens (a surge and slow handlers make queues long enough to lend)."""
    res = _run("r2_offhours.toml", **{"handling.effort_median_hours": 8.0,
                                      "mechanisms.one_model.meeting_backlog_per_handler": 1.0})
    ev = res.events
    assert (ev["activity"] == Act.CAPACITY).any()
    urgent = res.orders["urgent"]
    starts = ev[ev["activity"] == Act.START]
    starts = starts[~urgent.reindex(starts["order"]).to_numpy()]
    # some orders were taken at 00:00 on the 1st (the meeting's time), started at the opening
    lent_at = ev.loc[ev["activity"] == Act.CAPACITY, "time"].unique()
    assert _in_office(res, starts["time"].to_numpy()).all()
    assert any(((starts["time"] > t) & (starts["time"] < t + 24.0)).any() for t in lent_at)


@pytest.mark.parametrize("seed", [1, 2])
def test_no_extension_after_the_deadline(seed):
    """r3: an April surge x 4 made ~320 of 380 extensions retroactive.  Now every request is
    made before the standard deadline in force, and an order replied after it is late."""
    res = _run("r3_retro_extension.toml", seed=seed)
    ev = res.events
    ev = ev[ev["order"] >= 0].sort_values(["order", "time"], kind="stable")
    due: dict[int, float] = {}
    extends = 0
    for o, act, t, d, outcome in ev[["order", "activity", "time", "due", "outcome"]].itertuples(index=False):
        if act in (Act.SIGN, Act.REOPEN) and not np.isnan(d):
            due[o] = d
        elif act == Act.EXTEND:
            assert t < due[o], (o, t, due[o])
            extends += 1
            if outcome == 1:
                due[o] = d
        elif act == Act.REPLY and o in due:
            assert d == pytest.approx(due[o])  # the reply is judged against the deadline in force
    assert extends > 20  # enough requests for the check to bite (units now hurry what they can)


@pytest.mark.parametrize("days", [57, 58, 59, 60])
def test_work_moved_to_the_opening_never_falls_after_the_horizon(days):
    """A round taken in the evening of the run's last working day would open after the
    horizon: nothing of it is logged (found by the property tests)."""
    res = _run("r2_offhours.toml", **{"run.horizon_days": days, "review.sendback_probability": 0.5,
                                      "handling.effort_median_hours": 6.0})
    assert res.events["time"].max() <= res.scenario.horizon_hours
