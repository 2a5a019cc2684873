"""The satisfaction model of a reached callback (回访).

A latent score ``u`` = base + category effect − lateness − routing hops + reopen effect
− an unresolved hard case.  P(不满意) = 1/(1+e^u); given not dissatisfied,
P(满意) = 1/(1+e^(basic_cut − u)), else 基本满意.  One uniform decides: the satisfaction rate is
an outcome of lateness, hops, reopens and resolution, not a parameter.
"""

from __future__ import annotations

import math

from sim.activities import BASIC, DISSATISFIED, SATISFIED
from sim.model.order import Order
from sim.scenario import Satisfaction

LATE_CAP_WORKING_DAYS = 10.0


def score(s: Satisfaction, category: str, o: Order) -> float:
    u = s.base + getattr(s.category, category)
    u -= s.late_penalty_per_working_day * min(o.late_days, LATE_CAP_WORKING_DAYS)
    u -= s.return_penalty * o.hops
    u += s.reopen_effect * o.reopens
    if not o.resolved:
        u -= s.unresolved_penalty
    return u


def outcome(s: Satisfaction, category: str, o: Order, uniform: float) -> int:
    u = score(s, category, o)
    p_dis = 1.0 / (1.0 + math.exp(min(u, 700.0)))
    if uniform < p_dis:
        return DISSATISFIED
    rest = (uniform - p_dis) / (1.0 - p_dis)
    p_sat = 1.0 / (1.0 + math.exp(min(s.basic_cut - u, 700.0)))
    return SATISFIED if rest < p_sat else BASIC
