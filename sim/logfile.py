"""Self-describing run files: the event log, system events and case attributes with names
and time-zone-aware timestamps, so that pandas, Excel, pm4py or Disco read them without
this package; and the way back to the numeric columns the indicators use.

The model records a compact numeric log (activity codes, unit indices, hours since the
start).  On disk, ``events.parquet`` holds one row per event of an order, with the standard
process-mining (XES) columns ``case:concept:name``, ``concept:name``, ``time:timestamp``
and ``org:resource``, the Chinese activity name, the outcome as a name, and the numeric
hour columns (``time_h``, ``due_h``, ``value``) from which the indicators are recomputed
exactly.  The mechanisms' own events (monthly capacity moves, assessments, plans: order
-1 in the numeric log) go to ``system_events.parquet``.  Names are Arrow dictionaries
(pandas categoricals), so the files stay compact.  Layout: docs/design.md, "Run folder".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.activities import (
    ACTIVITY_CHINESE,
    ACTIVITY_NAMES,
    CALLBACK_OUTCOMES,
    CALLBACK_OUTCOMES_CHINESE,
    CENTRE_NAME,
    EXTEND_OUTCOMES,
    EXTEND_OUTCOMES_CHINESE,
    RESOLUTION,
    Act,
)
from sim.log import EVENT_COLUMNS, EVENT_DTYPES
from sim.scenario import CATEGORIES, CATEGORY_CHINESE, Scenario

EVENTS_FILE = "events.parquet"
SYSTEM_FILE = "system_events.parquet"
CHUNK_ROWS = 1_000_000
# activity code -> position in the activity dictionary (codes are 0..15 and 20..22)
_ACTS = sorted(int(a) for a in Act)
_ACT_POS = np.full(max(_ACTS) + 1, -1, dtype=np.int8)
_ACT_POS[_ACTS] = np.arange(len(_ACTS))
# outcome names: callbacks 0..3, then extension refused/approved
_OUTCOMES = [*CALLBACK_OUTCOMES.values(), *EXTEND_OUTCOMES.values()]
_OUTCOMES_ZH = [*CALLBACK_OUTCOMES_CHINESE.values(), *EXTEND_OUTCOMES_CHINESE.values()]
URGENCY = ("一般 normal", "紧急 urgent")


def unit_names(scn: Scenario) -> list[str]:
    """Unit names by index + 1 (position 0 is the centre, index -1)."""
    return [CENTRE_NAME, *(u.name for u in scn.units)]


def category_names() -> list[str]:
    """Category labels by code, Chinese and English: '求助 help' ..."""
    return [f"{CATEGORY_CHINESE[c]} {c}" for c in CATEGORIES]


def utc_offset_ns(scn: Scenario, hours: np.ndarray) -> np.ndarray:
    """UTC offset (ns) in force at each local time ``hours`` after the run's start, in the
    scenario's zone (``run.timezone``).  The model's clock is local wall-clock time; offsets
    are looked up once per hour of the span, not per event."""
    hours = np.asarray(hours, dtype=float)
    finite = hours[np.isfinite(hours)]
    lo = int(np.floor(finite.min())) if len(finite) else 0
    hi = int(np.floor(finite.max())) if len(finite) else 0
    base = pd.Timestamp(scn.run.start)
    grid = pd.DatetimeIndex(base + pd.to_timedelta(np.arange(lo, hi + 1), unit="h")).as_unit("ns")
    local = grid.tz_localize(scn.run.timezone, ambiguous=True, nonexistent="shift_forward")
    utc = local.tz_convert("UTC").tz_localize(None).as_unit("ns")
    offsets = (grid.asi8 - utc.asi8).astype(np.int64)  # ns, whatever pandas' default unit
    idx = np.clip(np.floor(np.nan_to_num(hours, nan=lo)).astype(np.int64) - lo, 0, len(offsets) - 1)
    return offsets[idx]


def timestamps(scn: Scenario, hours: np.ndarray) -> pa.Array:
    """Arrow timestamps (ns, in ``run.timezone``) of times in hours since the start; NaN and
    inf (no such time) become nulls."""
    hours = np.asarray(hours, dtype=float)
    start_ns = pd.Timestamp(scn.run.start).value
    ok = np.isfinite(hours)
    local = start_ns + np.round(np.where(ok, hours, 0.0) * 3.6e12).astype(np.int64)
    utc = local - utc_offset_ns(scn, hours)
    return pa.array(utc, type=pa.timestamp("ns", tz=scn.run.timezone), mask=~ok)


def _dict(indices: np.ndarray, names: list[str], valid: np.ndarray | None = None) -> pa.Array:
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    idx = pa.array(np.asarray(indices), mask=mask)
    return pa.DictionaryArray.from_arrays(idx, pa.array(names, type=pa.string()))


def _outcome_index(act: np.ndarray, outcome: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    callback = act == Act.CALLBACK
    extend = act == Act.EXTEND
    idx = np.where(callback, outcome, np.where(extend, len(CALLBACK_OUTCOMES) + outcome, 0))
    valid = (callback | extend) & (outcome >= 0)
    return idx.astype(np.int8), valid


def _case_batch(cols: dict[str, np.ndarray], scn: Scenario, cats: np.ndarray, urgent: np.ndarray) -> pa.Table:
    order = cols["order"]
    act = cols["activity"].astype(np.int64)
    out_idx, out_valid = _outcome_index(act, cols["outcome"])
    names = [ACTIVITY_NAMES[Act(a)] for a in _ACTS]
    names_zh = [ACTIVITY_CHINESE[Act(a)] for a in _ACTS]
    return pa.table(
        {
            # plain strings, as process-mining tools require of these two (Parquet still
            # stores them dictionary-encoded on disk)
            "case:concept:name": pa.array(order).cast(pa.string()),
            "concept:name": _dict(_ACT_POS[act], names).dictionary_decode(),
            "activity_zh": _dict(_ACT_POS[act], names_zh),
            "time:timestamp": timestamps(scn, cols["time"]),
            "org:resource": _dict((cols["unit"].astype(np.int32) + 1), unit_names(scn)),
            "outcome": _dict(out_idx, _OUTCOMES, out_valid),
            "outcome_zh": _dict(out_idx, _OUTCOMES_ZH, out_valid),
            "case:category": _dict(cats[order], category_names()),
            "case:urgency": _dict(urgent[order].astype(np.int8), list(URGENCY)),
            "time_h": pa.array(cols["time"]),
            "due_h": pa.array(cols["due"]),
            "value": pa.array(cols["value"]),
        }
    )


def _system_batch(cols: dict[str, np.ndarray], scn: Scenario) -> pa.Table:
    act = cols["activity"].astype(np.int64)
    topics = [t.name for t in scn.topics]
    is_plan = act == Act.PLAN
    topic_idx = np.where(is_plan, cols["value"], 0).astype(np.int32)
    return pa.table(
        {
            "concept:name": _dict(_ACT_POS[act], [ACTIVITY_NAMES[Act(a)] for a in _ACTS]),
            "activity_zh": _dict(_ACT_POS[act], [ACTIVITY_CHINESE[Act(a)] for a in _ACTS]),
            "time:timestamp": timestamps(scn, cols["time"]),
            "org:resource": _dict(cols["unit"].astype(np.int32) + 1, unit_names(scn)),
            "topic": _dict(topic_idx, topics or [""], is_plan),
            "value": pa.array(cols["value"]),
            "outcome_code": pa.array(cols["outcome"].astype(np.int16)),
            "time_h": pa.array(cols["time"]),
        }
    )


def numeric_batches(events: pd.DataFrame | None, path: Path | None) -> Iterator[dict[str, np.ndarray]]:
    """The numeric log in chunks: from an in-memory table, or a streamed Parquet file (one
    row group at a time, so a city log is never held twice)."""
    if events is not None:
        for lo in range(0, max(len(events), 1), CHUNK_ROWS):
            yield {c: events[c].to_numpy()[lo : lo + CHUNK_ROWS] for c in EVENT_COLUMNS}
        return
    pf = pq.ParquetFile(path)
    for i in range(pf.num_row_groups):
        t = pf.read_row_group(i)
        yield {c: t.column(c).to_numpy() for c in EVENT_COLUMNS}


def _writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """Parquet dictionary pages for the name columns only: the case ids are nearly all
    distinct and the floats and timestamps too, so trying a dictionary on them costs time
    (about 3x the whole write) for nothing."""
    names = [f.name for f in schema if pa.types.is_dictionary(f.type) or f.name == "concept:name"]
    return pq.ParquetWriter(path, schema, use_dictionary=names)


def write_event_files(
    batches: Iterable[dict[str, np.ndarray]], scn: Scenario, cases: pd.DataFrame, folder: Path
) -> None:
    """Write ``events.parquet`` (order events) and ``system_events.parquet`` (mechanism
    events) into ``folder`` from the numeric log's ``batches``."""
    n = int(cases["order"].max()) + 1 if len(cases) else 0
    cats = np.zeros(n, dtype=np.int8)
    urgent = np.zeros(n, dtype=np.int8)
    ids = cases["order"].to_numpy()
    cats[ids] = np.asarray(cases["category"], dtype=np.int8)
    urgent[ids] = np.asarray(cases["urgent"], dtype=np.int8)
    writers: dict[str, pq.ParquetWriter] = {}
    try:
        for cols in batches:
            case = cols["order"] >= 0
            parts = (
                (EVENTS_FILE, _case_batch({k: v[case] for k, v in cols.items()}, scn, cats, urgent)),
                (SYSTEM_FILE, _system_batch({k: v[~case] for k, v in cols.items()}, scn)),
            )
            for name, table in parts:
                if name not in writers:
                    writers[name] = _writer(folder / name, table.schema)
                writers[name].write_table(table.cast(writers[name].schema))
        if EVENTS_FILE not in writers:  # an empty log: empty files with the schema
            empty = {k: np.zeros(0, dtype=v) for k, v in EVENT_DTYPES.items()}
            for name, table in ((EVENTS_FILE, _case_batch(empty, scn, cats, urgent)),
                                (SYSTEM_FILE, _system_batch(empty, scn))):
                writers[name] = _writer(folder / name, table.schema)
                writers[name].write_table(table)
    finally:
        for w in writers.values():
            w.close()


def _codes(col: pd.Series, names: list[str], what: str) -> np.ndarray:
    """Codes of a categorical (or string) column by position in ``names``; -1 for nulls."""
    codes = np.asarray(pd.Categorical(col, categories=names).codes)
    bad = (codes < 0) & col.notna().to_numpy()
    if bad.any():
        raise ValueError(f"{what}: unknown name {col[bad].iloc[0]!r}")
    return codes


def read_event_files(folder: Path, scn: Scenario) -> pd.DataFrame:
    """The numeric log (order, activity, time, unit, due, value, outcome) from a run folder's
    ``events.parquet`` and ``system_events.parquet``: the indicators' input."""
    act_names = [ACTIVITY_NAMES[Act(a)] for a in _ACTS]
    units = unit_names(scn)
    # the string columns read as categoricals: codes, not millions of Python strings
    ev = pq.read_table(
        folder / EVENTS_FILE, read_dictionary=["case:concept:name", "concept:name"]
    ).to_pandas()
    case = ev["case:concept:name"]
    if isinstance(case.dtype, pd.CategoricalDtype):
        order = case.cat.categories.astype(np.int64).to_numpy()[case.cat.codes.to_numpy()]
    else:
        order = case.astype(np.int64).to_numpy()
    act = np.asarray(_ACTS)[_codes(ev["concept:name"], act_names, "concept:name")]
    out_codes = _codes(ev["outcome"], _OUTCOMES, "outcome")
    n_cb = len(CALLBACK_OUTCOMES)
    outcome = np.where(out_codes < 0, -1, np.where(out_codes >= n_cb, out_codes - n_cb, out_codes))
    case_cols = {
        "order": order,
        "activity": act,
        "time": ev["time_h"].to_numpy(),
        "unit": _codes(ev["org:resource"], units, "org:resource") - 1,
        "due": ev["due_h"].to_numpy(),
        "value": ev["value"].to_numpy(),
        "outcome": outcome,
    }
    frames = [pd.DataFrame({k: np.asarray(v, dtype=EVENT_DTYPES[k]) for k, v in case_cols.items()})]
    if (folder / SYSTEM_FILE).exists():
        sy = pd.read_parquet(folder / SYSTEM_FILE)
        sys_cols = {
            "order": np.full(len(sy), -1),
            "activity": np.asarray(_ACTS)[_codes(sy["concept:name"], act_names, "concept:name")],
            "time": sy["time_h"].to_numpy(),
            "unit": _codes(sy["org:resource"], units, "org:resource") - 1,
            "due": np.full(len(sy), np.nan),
            "value": sy["value"].to_numpy(),
            "outcome": sy["outcome_code"].to_numpy(),
        }
        frames.append(pd.DataFrame({k: np.asarray(v, dtype=EVENT_DTYPES[k]) for k, v in sys_cols.items()}))
    events = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    # back into time order (stable: each order's events keep theirs)
    return events.iloc[np.argsort(events["time"].to_numpy(), kind="stable")].reset_index(drop=True)


# -- case attributes ----------------------------------------------------------------------------
def channel_names(scn: Scenario) -> list[str]:
    return list(scn.demand.channel_shares)


def named_cases(cases: pd.DataFrame, scn: Scenario) -> pd.DataFrame:
    """The case attributes with names: category ('求助 help'), urgency, topic, channel, hard
    case, responsible unit (categoricals)."""
    out = pd.DataFrame({"order": cases["order"].to_numpy()})
    out["category"] = pd.Categorical.from_codes(cases["category"].astype(int), category_names())
    out["urgency"] = pd.Categorical.from_codes(cases["urgent"].astype(int), list(URGENCY))
    out["topic"] = pd.Categorical.from_codes(cases["topic"].astype(int), [t.name for t in scn.topics])
    out["channel"] = pd.Categorical.from_codes(cases["channel"].astype(int), channel_names(scn))
    out["hard"] = cases["hard"].astype(bool).to_numpy()
    out["responsible"] = pd.Categorical.from_codes(
        cases["responsible"].astype(int) + 1, unit_names(scn)
    )
    if "carried_in" in cases:  # a warm start's (the initial backlog, a forecast): carried in at the start
        out["carried_in"] = cases["carried_in"].astype(bool).to_numpy()
    return out


def coded_cases(named: pd.DataFrame, scn: Scenario) -> pd.DataFrame:
    """The inverse of :func:`named_cases` (the model's codes, for the indicators)."""
    return pd.DataFrame(
        {
            "order": named["order"].to_numpy().astype(np.int32),
            "category": _codes(named["category"], category_names(), "category").astype(np.int8),
            "urgent": _codes(named["urgency"], list(URGENCY), "urgency").astype(bool),
            "topic": _codes(named["topic"], [t.name for t in scn.topics], "topic").astype(np.int16),
            "channel": _codes(named["channel"], channel_names(scn), "channel").astype(np.int8),
            "hard": named["hard"].to_numpy().astype(bool),
            "responsible": (_codes(named["responsible"], unit_names(scn), "responsible") - 1).astype(np.int16),
        }
        | ({"carried_in": named["carried_in"].to_numpy().astype(np.int8)} if "carried_in" in named else {})
    )


TIME_COLUMNS = ("arrive", "sign_due", "first_sign", "first_reply", "close_time", "last_reply", "reply_due",
                "due_in_force")
UNIT_COLUMNS = ("first_unit", "final_unit", "responsible")


def named_orders(orders: pd.DataFrame, scn: Scenario) -> pd.DataFrame:
    """The orders table for people and tools: units, topic, channel, urgency and last
    activity as names; every time as a timestamp in ``run.timezone`` (the hour columns
    kept beside them with an ``_h`` suffix)."""
    out = orders.copy()
    units = unit_names(scn)
    for col in UNIT_COLUMNS:
        if col in out:
            codes = out[col].to_numpy().astype(int) + 1  # -1 centre -> 0; -2 never signed -> null
            out[col] = pd.Categorical.from_codes(np.where(codes < 0, -1, codes), units)
    out["category"] = pd.Categorical.from_codes(
        np.asarray(orders["category"].cat.codes), category_names()
    )
    if "topic" in out:
        out["topic"] = pd.Categorical.from_codes(out["topic"].astype(int), [t.name for t in scn.topics])
    if "channel" in out:
        out["channel"] = pd.Categorical.from_codes(out["channel"].astype(int), channel_names(scn))
    if "urgent" in out:
        out.insert(out.columns.get_loc("urgent"), "urgency",
                   pd.Categorical.from_codes(out["urgent"].astype(int), list(URGENCY)))
        del out["urgent"]
    if "last_activity" in out:
        codes = out["last_activity"].to_numpy().astype(int)
        names = [ACTIVITY_NAMES[Act(a)] for a in _ACTS]
        out["last_activity"] = pd.Categorical.from_codes(
            np.where(codes < 0, -1, _ACT_POS[np.clip(codes, 0, None)]), names
        )
    if "final_callback" in out:
        codes = out["final_callback"].to_numpy().astype(int)
        out["final_callback"] = pd.Categorical.from_codes(codes, list(CALLBACK_OUTCOMES.values()))
    if "final_resolution" in out:  # 1.0 / 0.0 / NaN -> resolved / unresolved / null
        values = out["final_resolution"].to_numpy(dtype=float)
        codes = np.where(np.isnan(values), -1, np.nan_to_num(values)).astype(int)
        out["final_resolution"] = pd.Categorical.from_codes(codes, list(RESOLUTION.values()))
    out["status"] = pd.Categorical(out["status"], categories=["closed", "open", "unsigned"])
    for col in TIME_COLUMNS:
        if col in out:
            hours = out[col].to_numpy(dtype=float)
            out[f"{col}_h"] = hours
            out[col] = pd.Series(timestamps(scn, hours).to_pandas(), index=out.index)
    return out
