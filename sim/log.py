"""The event-log recorder: append-only, one row per lifecycle event, read as columns.

Rows are packed into one byte buffer as they come (32 bytes a row: the schema's types, no
padding) so a city year of ~12 million events fits in a few hundred MB, and the columns are
numpy views of it, the DataFrame built once at the end.
Case attributes (category, urgency, topic ...) are stored once per order beside the events,
as XES does with trace attributes.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Any

import numpy as np

# The log's one schema: column -> numpy dtype (the packed rows, the numpy views,
# bulk appends and the Parquet sink all derive from it).
EVENT_DTYPES: dict[str, type] = {
    "order": np.int32,
    "activity": np.int8,
    "time": np.float64,
    "unit": np.int16,
    "due": np.float64,
    "value": np.float64,
    "outcome": np.int8,
}
EVENT_COLUMNS = tuple(EVENT_DTYPES)
NAN = float("nan")
# one row as recorded: the columns' types packed in native byte order, no alignment padding;
# struct's format codes are numpy's type characters (i int32, b int8, d float64, h int16)
ROW = struct.Struct("=" + "".join(np.dtype(t).char for t in EVENT_DTYPES.values()))
ROW_DTYPE = np.dtype([(name, np.dtype(t).newbyteorder("=")) for name, t in EVENT_DTYPES.items()])
assert ROW.size == ROW_DTYPE.itemsize  # (the same layout)


class ParquetSink:
    """Writes the event log to a Parquet file one row group per flush (``--stream``), so a
    city-scale run never holds its whole log in memory."""

    def __init__(self, path: str | Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.path = Path(path)
        self.schema = pa.schema(
            [(name, pa.from_numpy_dtype(dtype)) for name, dtype in EVENT_DTYPES.items()]
        )
        self._writer = pq.ParquetWriter(self.path, self.schema)
        self.rows = 0

    def write(self, columns: dict[str, np.ndarray]) -> None:
        import pyarrow as pa

        table = pa.Table.from_pydict(columns, schema=self.schema)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()


class EventLog:
    """Append-only recorder; ``record`` is the only call on the simulation's hot path.

    With a ``sink`` the buffers are flushed to it whenever ``chunk_rows`` rows were recorded
    since the last flush: the rows dated before the simulation clock, sorted by time.  Rows
    the model recorded ahead of the clock (a reply or callback worked out in advance) wait
    for a later flush, since rows dated earlier may still be recorded; so the file is in
    time order throughout, row for row the log a run without a sink keeps."""

    def __init__(self, sink: ParquetSink | None = None, chunk_rows: int = 1_000_000) -> None:
        self.sink = sink
        self.chunk_rows = chunk_rows
        self._held = 0  # rows kept back at the last flush (dated at or after its clock)
        self._new_buffers()
        self.cases: dict[str, np.ndarray] = {}
        self.meta: dict[str, Any] = {}

    def _new_buffers(self) -> None:
        self.rows = bytearray()  # packed rows (ROW), in recording order
        # bound once: ``record`` is called once per event, so skip the method lookups
        self._extend, self._pack = self.rows.extend, ROW.pack

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
        # one packed row: a struct pack and a byte append cost a third of one
        # ``array.append`` per column (each of those parses its argument by format)
        self._extend(self._pack(order, activity, time, unit, due, value, outcome))

    def extend(self, order, activity, time, unit, due=None) -> None:
        """Append many events at once (numpy arrays of equal length)."""
        n = len(order)
        values = {
            "order": order,
            "activity": activity,
            "time": time,
            "unit": unit,
            "due": np.full(n, np.nan) if due is None else due,
            "value": np.full(n, np.nan),
            "outcome": np.full(n, -1),
        }
        self._append_columns(values)

    def _append_columns(self, columns: dict) -> None:
        """Append whole columns (arrays or sequences of equal length) to the buffers."""
        rows = np.empty(len(columns["order"]), dtype=ROW_DTYPE)
        for name, dtype in EVENT_DTYPES.items():
            rows[name] = np.ascontiguousarray(columns[name], dtype=dtype)
        self.rows += rows.tobytes()

    def _count(self) -> int:
        """Rows in the buffer."""
        return len(self.rows) // ROW.size

    def __len__(self) -> int:
        return self._count() + (self.sink.rows if self.sink else 0)

    def maybe_flush(self, now: float) -> None:
        """Flush to the sink if ``chunk_rows`` rows came since the last flush (called by the
        engine between events, ``now`` being the simulation clock)."""
        if self.sink is not None and self._count() - self._held >= self.chunk_rows:
            self.flush(now)

    def flush(self, now: float = math.inf) -> None:
        """Write the rows dated before ``now`` to the sink, in time order; keep the rest."""
        if self.sink is None or not self._count():
            return
        columns = self.columns()
        cut = int(np.searchsorted(columns["time"], now, side="left"))
        if cut:
            self.sink.write({name: values[:cut] for name, values in columns.items()})
        self._new_buffers()
        self._append_columns({name: values[cut:] for name, values in columns.items()})
        self._held = len(columns["time"]) - cut

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

        Rows are recorded in processing order, which is not always time order: the intake's
        ARRIVE rows are recorded in bulk before the run, and a reply or callback that nothing
        can change first is recorded when the model works it out, ahead of the clock.  One
        stable sort by time puts each where it belongs."""
        raw = self.raw_columns()
        order = np.argsort(raw["time"], kind="stable")
        return {k: v[order] for k, v in raw.items()}

    def raw_columns(self) -> dict[str, np.ndarray]:
        """The columns as numpy arrays in recording order (zero-copy, strided views of the
        rows)."""
        rows = np.frombuffer(self.rows, dtype=ROW_DTYPE)
        return {name: rows[name] for name in EVENT_DTYPES}
