"""Intake (派单), computed for every order at once.

Arrivals are exogenous: an order's arrival, the unit it is first dispatched to, its sign-for
deadline and the time of its first event (the unit signs, or the centre answers it) depend
only on its own fate draws, the calendar and constant policy settings, never on the state of
the run.  So they are computed in vectorised numpy before the run, the ARRIVE rows are logged
in bulk, and the run needs a single wake-up per order, at its first event, instead of two.
This is the same model as arriving and then scheduling the sign-for, computed faster.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np

from sim.activities import CENTRE, Act
from sim.calendar import vectorised_add_working_hours
from sim.port import IntakeDecisions

if TYPE_CHECKING:
    from sim.model.state import RunState


@dataclass
class Intake:
    """Per order (index = order id), arrays over the orders that arrive before the horizon."""

    first_unit: np.ndarray  # unit dispatched to, or CENTRE when the centre answers
    first_time: np.ndarray  # time of the first event: sign-for, or the centre's answer
    due_std: np.ndarray  # reply deadline of a centre answer (NaN otherwise)
    sign_due: np.ndarray  # sign-for deadline of the first dispatch
    used_bits: np.ndarray  # fate draws consumed at intake (see Lifecycle.u)
    sequence: np.ndarray  # order ids sorted by first_time (stable)


def compute_intake(model: RunState, bits: dict[str, int]) -> Intake:
    """Route, sign-for deadline and first-event time of every order; log ARRIVE (and the
    centre's own SIGN) rows."""
    scn, cal, orders = model.scn, model.cal, model.orders
    n = int(np.searchsorted(orders.time, model.horizon, side="left"))
    t = orders.time[:n]
    cat = orders.category[:n]
    urgent = orders.urgent[:n]
    resp = model.responsible[:n]
    fate = {k: np.frombuffer(v, dtype=np.float64)[:n] for k, v in orders.uniforms.items()}
    decisions = IntakeDecisions(direct=np.zeros(n, dtype=bool))
    for at_intake in model.port.hooks["at_intake"]:
        at_intake(decisions, cat, urgent, fate["direct"])

    direct = decisions.direct
    wrong = ~direct & (fate["route"] < decisions.misroute_probability)
    if len(model.units) < 2:
        wrong[:] = False
    pick = (fate["route_pick"] * (len(model.units) - 1)).astype(np.int64)
    wrong_unit = np.where(pick < resp, pick, pick + 1)
    unit = np.where(direct, CENTRE, np.where(wrong, wrong_unit, resp)).astype(np.int64)

    lim = scn.time_limits
    sign_due = np.where(
        urgent,
        t + lim.sign_urgent_hours,
        vectorised_add_working_hours(cal, t, np.full(n, lim.sign_working_days * cal.hours_per_day)),
    )
    s = scn.signing
    draw = -np.log(1.0 - fate["sign"])
    sign_at = np.where(
        urgent,
        t + s.urgent_mean_hours * draw,
        vectorised_add_working_hours(cal, t, s.mean_working_hours * draw),
    )
    # the centre answers directly: signs at arrival, answers after a lognormal time
    reply_wd = np.array([lim.reply_working_days.get(c) for c in model.categories])[cat]
    due_std = np.full(n, np.nan)
    answer_at = np.zeros(n)
    idx = np.nonzero(direct)[0]
    if len(idx):
        due_std[idx] = vectorised_add_working_hours(cal, t[idx], reply_wd[idx] * cal.hours_per_day)
        inv = NormalDist().inv_cdf
        z = np.array([inv(min(max(u, 1e-12), 1 - 1e-12)) for u in fate["direct_time"][idx]])
        answer_at[idx] = t[idx] + decisions.answer_hours_median * np.exp(0.5 * z)
    first_time = np.where(direct, answer_at, sign_at)

    used = np.full(n, bits["direct"], dtype=np.int64)
    used |= np.where(direct, bits["direct_time"], bits["route"] | bits["sign"])
    used |= np.where(wrong, bits["route_pick"], 0)

    _log_arrivals(model, t, unit, sign_due, direct, due_std)
    sequence = np.argsort(first_time, kind="stable")
    return Intake(unit, first_time, due_std, sign_due, used, sequence)


def _log_arrivals(model, t, unit, sign_due, direct, due_std) -> None:
    n = len(t)
    ids = np.arange(n, dtype=np.int32)
    log = model.log
    log.extend(ids, np.full(n, Act.ARRIVE, dtype=np.int8), t, unit, sign_due)
    idx = np.nonzero(direct)[0]
    log.extend(
        ids[idx], np.full(len(idx), Act.SIGN, dtype=np.int8), t[idx], np.full(len(idx), CENTRE), due_std[idx]
    )
