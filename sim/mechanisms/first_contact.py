"""先行联系 first contact: the handling unit phones the citizen soon after signing for.

Practice: several 12345 centres require the handling unit to contact the citizen within a set
time of signing for an order (先行联系), to confirm the request and set expectations before
the work is done.  Decision points: ``on_sign`` (the responsible unit signs for a new,
non-urgent order: the call is planned uniformly within ``within_working_hours`` working hours
and a handler of the unit is booked for ``call_handler_hours`` when it falls due, through the
kernel, so it competes with handling and shows in the workload), ``callback_score`` and
``reopen_probability`` (an order whose call was due before its callback scores higher at the
callback and is reopened less often when dissatisfied).  Urgent orders are left out: they are
handled on call within hours, and that handling is their contact.  Off (the baseline): no
call, no cost, no effect; the random draws come from the policy's own stream, so a run with
it off is the same run as before the policy existed.

Effect sizes are assumptions to replace with a district's own evidence.
"""

from __future__ import annotations

import math

from pydantic import Field

from sim.port import Kernel, Order, Policy
from sim.scenario import NonNegative, PolicyParams, Probability


class FirstContactParams(PolicyParams):
    enabled: bool = False
    within_working_hours: NonNegative = Field(
        4.0, description="the call is made uniformly within this many working hours of sign-for (assumed)"
    )
    call_handler_hours: NonNegative = Field(
        0.25, description="handler-hours one call takes, in office hours (assumed)"
    )
    satisfaction_gain: NonNegative = Field(
        0.5, description="latent satisfaction score added at the callback when the call came first (assumed)"
    )
    reopen_reduction: Probability = Field(
        0.3, description="share by which the reopen probability of a dissatisfied, contacted order falls (assumed)"
    )


class FirstContact(Policy[FirstContactParams]):
    name = "first_contact"
    title = "先行联系 first contact"
    Params = FirstContactParams

    def attach(self, kernel: Kernel) -> None:
        super().attach(kernel)
        self.stream = kernel.stream("first_contact")
        self.call_at: dict[int, float] = {}  # order id -> when its call is due

    def active_hooks(self) -> set[str]:
        return {"on_sign", "callback_score", "reopen_probability"} if self.enabled else set()

    def on_sign(self, order: Order, now: float) -> None:
        if order.urgent:
            return
        k = self.kernel
        when = k.cal.add_working_hours(now, self.stream.uniform() * self.params.within_working_hours)
        self.call_at[order.id] = when
        k.schedule(when, self._call, order)

    def _call(self, order: Order) -> None:
        self.kernel.book_handler_time(order, self.params.call_handler_hours)

    def _called_before(self, order: Order, when: float) -> bool:
        return self.call_at.get(order.id, math.inf) <= when

    def callback_score(self, order: Order, when: float, score: float) -> float:
        return score + self.params.satisfaction_gain if self._called_before(order, when) else score

    def reopen_probability(self, order: Order, when: float, p: float) -> float:
        return p * (1.0 - self.params.reopen_reduction) if self._called_before(order, when) else p


POLICY = FirstContact
