"""一张清单 one list: the responsibility list maps each topic to its unit.

Practice: the district's list of which department or street handles each kind of matter
(权责清单), so the hotline dispatches right the first time.  Decision point: ``at_intake``
(the probability that a dispatch reaches a wrong unit).  Off: the centre dispatches by
judgement, misroutes more often, and the order comes back (退单) and is redispatched (改派),
each hop costing time and satisfaction (the counterfactual practice: dispatch by the operators'
judgement).  Parameters, units and sources: docs/mechanisms.md.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from sim.port import IntakeDecisions, Policy
from sim.scenario import PolicyParams, Probability


class OneListParams(PolicyParams):
    misroute_probability_listed: Probability = Field(
        0.02, description="probability that a dispatch by the list reaches a wrong unit (calibrated)"
    )
    misroute_probability_unlisted: Probability = Field(
        0.12, description="the same without a responsibility list (assumed)"
    )


class OneList(Policy[OneListParams]):
    name = "one_list"
    title = "一张清单 responsibility list"
    Params = OneListParams

    def at_intake(self, d: IntakeDecisions, category: np.ndarray, urgent: np.ndarray,
                  uniform: np.ndarray) -> None:
        p = self.params
        d.misroute_probability = p.misroute_probability_listed if self.enabled else p.misroute_probability_unlisted


POLICY = OneList
