"""A canonical digest of a run's event log and orders table: proof that a refactor kept behaviour.

The digest is SHA-256 over the tables' *values* in a fixed text form, never over Parquet
bytes (those change with the pyarrow or pandas version).  Rows are sorted by order and time
(stable, so events at the same instant keep the order the model recorded them in); each
float is written as its exact hexadecimal form (``float.hex``), each other value with
``str``.  Only the columns listed here enter the digest, so a later issue that *adds* a
column (a name beside a code, a timestamp beside hours) does not change it; one that changes
what the model does does, and must update the kept digests in the same commit, saying why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import pandas as pd

EVENT_COLUMNS = ("order", "activity", "time", "unit", "due", "value", "outcome")
ORDER_COLUMNS = (
    "category", "urgent", "topic", "channel", "hard", "responsible", "arrive", "first_unit",
    "sign_due", "first_sign", "last_activity", "final_unit", "returns", "extensions", "warnings",
    "reminders", "criticisms", "sendbacks", "reopens", "replies", "replies_on_time",
    "final_callback", "status", "close_time", "on_time_sign", "ttc_wd", "age_wd",
)


def _column_text(values: pd.Series) -> Iterable[str]:
    arr = values.to_numpy()
    if arr.dtype.kind == "f":
        return (float(v).hex() for v in arr)
    return (str(v) for v in arr.tolist())


def _feed(h: hashlib._Hash, name: str, frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    h.update(f"table {name} rows {len(frame)}\n".encode())
    for col in columns:
        h.update(f"column {col}\n".encode())
        h.update("\n".join(_column_text(frame[col])).encode())
        h.update(b"\n")


def log_digest(events: pd.DataFrame, orders: pd.DataFrame) -> str:
    """SHA-256 (hex, 64 characters) of the event log and orders table of one run.

    ``events`` needs the columns of ``EVENT_COLUMNS`` (system events included, as the model
    records them); ``orders`` those of ``ORDER_COLUMNS`` and an ``order`` id as a column or
    as its index.  Raises ``KeyError`` naming a missing column."""
    ev = events.reset_index(drop=True)
    idx = np.lexsort((np.arange(len(ev)), ev["time"].to_numpy(), ev["order"].to_numpy()))
    ev = ev.iloc[idx]
    od = orders if "order" in orders.columns else orders.rename_axis("order").reset_index()
    od = od.sort_values("order", kind="stable")
    h = hashlib.sha256()
    _feed(h, "events", ev, EVENT_COLUMNS)
    _feed(h, "orders", od, ("order", *ORDER_COLUMNS))
    return h.hexdigest()
