"""The event-log recorder: columnar, append-only, one row per lifecycle event.

Columns are typed ``array.array`` buffers (8 bytes a float, 4 an int) so a city year of
~12 million events fits in a few hundred MB, and the DataFrame is built once at the end.
Case attributes (category, urgency, topic ...) are stored once per order beside the events,
as XES does with trace attributes.
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np

EVENT_COLUMNS = ("order", "activity", "time", "unit", "due", "value", "outcome")
NAN = float("nan")


class EventLog:
    """Append-only recorder; ``record`` is the only call on the simulation's hot path."""

    def __init__(self) -> None:
        self.order = array("i")
        self.activity = array("b")
        self.time = array("d")
        self.unit = array("h")
        self.due = array("d")
        self.value = array("d")
        self.outcome = array("b")
        self.cases: dict[str, np.ndarray] = {}
        self.meta: dict[str, Any] = {}

    def record(
        self,
        order: int,
        activity: int,
        time: float,
        unit: int,
        due: float = NAN,
        value: float = NAN,
        outcome: int = -1,
    ) -> None:
        self.order.append(order)
        self.activity.append(activity)
        self.time.append(time)
        self.unit.append(unit)
        self.due.append(due)
        self.value.append(value)
        self.outcome.append(outcome)

    def __len__(self) -> int:
        return len(self.order)

    def columns(self) -> dict[str, np.ndarray]:
        """The events as numpy arrays (zero-copy views of the buffers)."""
        return {
            "order": np.frombuffer(self.order, dtype=np.int32),
            "activity": np.frombuffer(self.activity, dtype=np.int8),
            "time": np.frombuffer(self.time, dtype=np.float64),
            "unit": np.frombuffer(self.unit, dtype=np.int16),
            "due": np.frombuffer(self.due, dtype=np.float64),
            "value": np.frombuffer(self.value, dtype=np.float64),
            "outcome": np.frombuffer(self.outcome, dtype=np.int8),
        }
