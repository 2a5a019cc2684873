"""The event-log recorder: columnar, append-only, one row per lifecycle event.

Columns are typed ``array.array`` buffers (8 bytes a float, 4 an int) so a city year of
~12 million events fits in a few hundred MB, and the DataFrame is built once at the end.
Case attributes (category, urgency, topic ...) are stored once per order beside the events,
as XES does with trace attributes.
"""

from __future__ import annotations

from array import array
from pathlib import Path
from typing import Any

import numpy as np

EVENT_COLUMNS = ("order", "activity", "time", "unit", "due", "value", "outcome")
NAN = float("nan")


class ParquetSink:
    """Writes the event log to a Parquet file one row group per flush (``--stream``), so a
    city-scale run never holds its whole log in memory."""

    def __init__(self, path: str | Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.path = Path(path)
        self.schema = pa.schema(
            [
                ("order", pa.int32()),
                ("activity", pa.int8()),
                ("time", pa.float64()),
                ("unit", pa.int16()),
                ("due", pa.float64()),
                ("value", pa.float64()),
                ("outcome", pa.int8()),
            ]
        )
        self._writer = pq.ParquetWriter(self.path, self.schema)
        self.rows = 0

    def write(self, columns: dict[str, np.ndarray]) -> None:
        import pyarrow as pa

        table = pa.Table.from_pydict(columns, schema=self.schema)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def release(self) -> None:
        """Drop the in-memory buffers (after they were copied out) to free memory."""
        self._new_buffers()

    def close(self) -> None:
        self._writer.close()


class EventLog:
    """Append-only recorder; ``record`` is the only call on the simulation's hot path.

    With a ``sink`` the buffers are flushed to it (each flush sorted by time) whenever they
    hold ``chunk_rows`` rows; each order's events stay in time order across flushes."""

    def __init__(self, sink: ParquetSink | None = None, chunk_rows: int = 1_000_000) -> None:
        self.sink = sink
        self.chunk_rows = chunk_rows
        self._new_buffers()
        self.cases: dict[str, np.ndarray] = {}
        self.meta: dict[str, Any] = {}

    def _new_buffers(self) -> None:
        self.order = array("i")
        self.activity = array("b")
        self.time = array("d")
        self.unit = array("h")
        self.due = array("d")
        self.value = array("d")
        self.outcome = array("b")
        # bound appends: ``record`` is called once per event, so skip the method lookups
        self._order, self._activity, self._time = self.order.append, self.activity.append, self.time.append
        self._unit, self._due, self._value = self.unit.append, self.due.append, self.value.append
        self._outcome = self.outcome.append

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
        self._order(order)
        self._activity(activity)
        self._time(time)
        self._unit(unit)
        self._due(due)
        self._value(value)
        self._outcome(outcome)

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
        return len(self.order) + (self.sink.rows if self.sink else 0)

    def maybe_flush(self) -> None:
        """Flush to the sink if the buffers are full (called by the engine between events)."""
        if self.sink is not None and len(self.order) >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        if self.sink is None or not len(self.order):
            return
        self.sink.write(self.columns())
        self._new_buffers()

    def release(self) -> None:
        """Drop the in-memory buffers (after they were copied out) to free memory."""
        self._new_buffers()

    def close(self) -> None:
        """Write what is left to the sink and close it (no-op without a sink)."""
        if self.sink is not None:
            self.flush()
            self.sink.close()

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
