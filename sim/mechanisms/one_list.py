"""一张清单 one list: the responsibility list maps each topic to its unit.

With the list, dispatch reaches the right unit almost always; without it the centre guesses
more often and orders come back (退单) and are redispatched (改派), each hop costing time.
"""

from __future__ import annotations

from sim.mechanisms.base import Mechanism


class OneList(Mechanism):
    name = "one_list"
    title = "一张清单 responsibility list"

    def misroute_probability(self) -> float:
        p = self.params
        return p.misroute_probability_listed if self.enabled else p.misroute_probability_unlisted
