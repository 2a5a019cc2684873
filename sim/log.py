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

    def extend(self, order, activity, time, unit, due=None) -> None:
        """Append many events at once (numpy arrays of equal length)."""
        n = len(order)
        self.order.frombytes(np.ascontiguousarray(order, dtype=np.int32).tobytes())
        self.activity.frombytes(np.ascontiguousarray(activity, dtype=np.int8).tobytes())
        self.time.frombytes(np.ascontiguousarray(time, dtype=np.float64).tobytes())
        self.unit.frombytes(np.ascontiguousarray(unit, dtype=np.int16).tobytes())
        dues = np.full(n, np.nan) if due is None else due
        self.due.frombytes(np.ascontiguousarray(dues, dtype=np.float64).tobytes())
        self.value.frombytes(np.full(n, np.nan).tobytes())
        self.outcome.frombytes(np.full(n, -1, dtype=np.int8).tobytes())

    def __len__(self) -> int:
        return len(self.order)

    def columns(self) -> dict[str, np.ndarray]:
        """The events as numpy arrays, in time order (stable: ties keep recording order).

        Rows are recorded in processing order, except the intake's ARRIVE rows, which are
        recorded in bulk before the run; one stable sort by time puts each where it belongs."""
        raw = self.raw_columns()
        order = np.argsort(raw["time"], kind="stable")
        return {k: v[order] for k, v in raw.items()}

    def raw_columns(self) -> dict[str, np.ndarray]:
        """The buffers as numpy arrays in recording order (zero-copy views)."""
        return {
            "order": np.frombuffer(self.order, dtype=np.int32),
            "activity": np.frombuffer(self.activity, dtype=np.int8),
            "time": np.frombuffer(self.time, dtype=np.float64),
            "unit": np.frombuffer(self.unit, dtype=np.int16),
            "due": np.frombuffer(self.due, dtype=np.float64),
            "value": np.frombuffer(self.value, dtype=np.float64),
            "outcome": np.frombuffer(self.outcome, dtype=np.int8),
        }
