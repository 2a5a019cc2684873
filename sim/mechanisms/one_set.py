"""一套指标 one set of indicators: the monthly assessment and ranking of units (考核).

Practice: the district ranks its units each month on declared indicators and publishes the
league table; Changsha ranks on on-time reply, late sign-fors, send-backs and dissatisfied
callbacks (docs/design.md, sources).  Decision point: ``on_month``.  Each month units are
scored on last month's declared indicators (``sim.port.UnitMonth``) with the weights below;
the lowest-ranked share raise their effort (a speed factor on handling and lead times) for
the next month, the others relax part of the way back.  Off, the counterfactual practice: no
monthly league table; nobody is ranked and no unit changes its pace because of a rank.
Parameters, units and sources: docs/mechanisms.md.

Recorded: each ranked unit's score as a ``SCORE`` system event (考核得分, at the end of the
month scored, value = score; the league-table chart reads these; the ranking is the order of
the scores, ties going to the lower unit index at the bottom), and each change of a unit's
speed factor as an ``ASSESS`` event (value = the new factor).  The run's last month would be
assessed after the horizon, so it has no score in the log.
"""

from __future__ import annotations

from pydantic import Field

from sim.activities import Act
from sim.port import Kernel, Policy, UnitMonth
from sim.scenario import Finite, PolicyParams, Positive, Probability, Strict


class AssessmentWeights(Strict):
    """Weights of the monthly score: score = Σ weight × indicator, indicators of the month
    that ended.  The baseline's weights are those the model has always used (calibrated);
    Changsha-style rankings would weight the late sign-for and send-back shares too."""

    on_time_reply_share: Finite = Field(1.0, description="weight of the share of replies on time")
    late_sign_share: Finite = Field(0.0, description="weight of the share of sign-fors that were late")
    sendback_share: Finite = Field(0.0, description="weight of send-backs per reply")
    dissatisfied_share: Finite = Field(
        -2.0, description="weight of the share of reached callbacks that were 不满意"
    )
    criticisms: Finite = Field(-0.05, description="weight per public criticism (通报) of the unit")
    extension_share: Finite = Field(
        0.0, description="weight of extensions asked for per reply (an extension counts against the unit)"
    )


class OneSetParams(PolicyParams):
    bottom_share: Probability = Field(0.2, description="share of units ranked lowest each month")
    effort_gain: Positive = Field(
        1.15, description="speed multiplier a low-ranked unit applies for the next month"
    )
    max_speed: Positive = Field(1.5, description="cap on a unit's cumulative speed factor")
    relax: Probability = Field(
        0.5, description="share of the extra speed other units keep each month"
    )
    weights: AssessmentWeights = Field(
        default_factory=AssessmentWeights, description="weights of the monthly assessment score"
    )


def score(m: UnitMonth, w: AssessmentWeights) -> float:
    """A unit's assessment score for a month with at least one reply (higher is better).
    Shares with an empty denominator count as 0; terms are added in a fixed order."""
    on_time = 1.0 - m.late / m.replies
    late_signs = m.late_signs / m.signs if m.signs else 0.0
    sendbacks = m.sendbacks / m.replies
    dissatisfied = m.dissatisfied / m.callbacks if m.callbacks else 0.0
    extensions = m.extensions / m.replies
    return (
        w.on_time_reply_share * on_time
        + w.late_sign_share * late_signs
        + w.sendback_share * sendbacks
        + w.dissatisfied_share * dissatisfied
        + w.criticisms * m.criticisms
        + w.extension_share * extensions
    )


class OneSet(Policy[OneSetParams]):
    name = "one_set"
    title = "一套指标 monthly assessment"
    Params = OneSetParams

    def attach(self, kernel: Kernel) -> None:
        super().attach(kernel)
        self.speed = [1.0] * kernel.unit_count()

    def active_hooks(self) -> set[str]:
        return {"on_month"} if self.enabled else set()

    def on_month(self, now: float) -> None:
        k, p = self.kernel, self.params
        ended = k.month_of(now) - 1  # the month that just ended
        months = [k.unit_month(u, ended) for u in range(k.unit_count())]
        ranked_units = [u for u in range(k.unit_count()) if months[u].replies > 0]
        if not ranked_units:
            return
        scores = {u: score(months[u], p.weights) for u in ranked_units}
        ranked = sorted(ranked_units, key=lambda u: (scores[u], u))
        for u in ranked_units:  # the league table as ranked (no random draw: streams unshifted)
            k.record(-1, Act.SCORE, now, u, value=scores[u])
        bottom = set(ranked[: int(round(p.bottom_share * len(ranked)))])
        for u, old in enumerate(self.speed):
            new = min(p.max_speed, old * p.effort_gain) if u in bottom else 1.0 + (old - 1.0) * p.relax
            if new != old:
                self.speed[u] = new
                k.set_speed(u, new)
                k.record(-1, Act.ASSESS, now, u, value=new)


POLICY = OneSet
