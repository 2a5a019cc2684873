"""The hooks a mechanism (one of the 六个一) may use.

A mechanism is a small policy object.  The lifecycle asks it one question at its hook
(where to route, which limit applies, how likely a hard case is resolved ...), and the engine
calls ``on_month`` / ``on_quarter`` at the cadence it owns (月调度、季分析).  A disabled
mechanism still answers, with the counterfactual behaviour, so switching one off never
silences another.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from sim.model.engine import Model


class Mechanism:
    name: ClassVar[str]
    title: ClassVar[str]

    def __init__(self, params: Any) -> None:
        self.params = params
        self.enabled: bool = params.enabled
        self.model: Model | None = None

    def attach(self, model: Model) -> None:
        """Called once when the model is built, before the run starts."""
        self.model = model

    def on_month(self, now: float) -> None:
        """Monthly tick (月调度 / 考核), at 00:00 of each month after the first."""

    def on_quarter(self, now: float) -> None:
        """Quarterly tick (季分析), at 00:00 of each quarter after the first."""
