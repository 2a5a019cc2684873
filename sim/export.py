"""``hotline export``: a run folder's files in the formats other tools read.

* ``csv``: the orders' event log, standard process-mining headers (``case:concept:name``,
  ``concept:name``, ``time:timestamp``, ``org:resource``), UTF-8 with BOM (Disco, Excel);
* ``xes``: the same log as IEEE XES (ProM, pm4py), written with the standard library's
  streaming XML writer (pm4py is AGPL, so it is never a run-time dependency);
* ``orders-csv`` / ``orders-xlsx``: one row per order in the **orders export format**
  (docs/orders-export-format.md): the columns a 12345 centre exports, headed in Chinese and
  English.  :func:`read_orders_export` reads that format back (fit-from-export, forecast).

Times are local wall-clock times in the run's zone (``run.timezone``, also in
``manifest.json``), written as ``YYYY-MM-DD HH:MM:SS`` so that Excel reads them as dates.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import XMLGenerator

import numpy as np
import pandas as pd

from sim.activities import ACTIVITY_NAMES, Act

FORMATS = ("csv", "xes", "orders-csv", "orders-xlsx")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
XES_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"

# The orders export format: (Chinese name, English key, source column of orders.parquet).
ORDER_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("工单编号", "order_id", "order"),
    ("派单时间", "dispatched_at", "arrive"),
    ("渠道", "channel", "channel"),
    ("诉求类型", "category", "category"),
    ("紧急程度", "urgency", "urgency"),
    ("问题分类", "topic", "topic"),
    ("责任单位", "responsible_unit", "responsible"),
    ("首派单位", "first_unit", "first_unit"),
    ("承办单位", "handling_unit", "final_unit"),
    ("签收时限", "sign_deadline", "sign_due"),
    ("签收时间", "signed_at", "first_sign"),
    ("退单次数", "returns", "returns"),
    ("延期次数", "extensions", "extensions"),
    ("办理时限", "reply_deadline", "reply_due"),
    ("回复时间", "replied_at", "last_reply"),
    ("回复次数", "replies", "replies"),
    ("按时回复次数", "replies_on_time", "replies_on_time"),
    ("催办次数", "reminders", "reminders"),
    ("重办次数", "reopens", "reopens"),
    ("回访结果", "callback_result", "final_callback"),
    ("办结时间", "closed_at", "close_time"),
    ("工单状态", "status", "status"),
    ("疑难工单", "hard_case", "hard"),
)
# Optional columns: written when the source has them, read when present (a centre's export
# may lack them).  开始办理时间 started_at: the first time a handler of the handling unit took the
# order (the event log's first ``start`` / 办理 event; empty if no handler took it by the
# horizon, e.g. the centre answered itself or it still waits).  (Chinese name, English key,
# source column, the column it follows.)
OPTIONAL_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("开始办理时间", "started_at", "first_start", "signed_at"),
)
STATUS = {"closed": "已办结 closed", "open": "办理中 open", "unsigned": "未签收 unsigned"}
CALLBACK = {
    "satisfied": "满意 satisfied",
    "basically_satisfied": "基本满意 basically satisfied",
    "dissatisfied": "不满意 dissatisfied",
    "unreached": "未接通 unreached",
}
YES_NO = {True: "是 yes", False: "否 no"}
TIME_KEYS = {"dispatched_at", "sign_deadline", "signed_at", "started_at", "reply_deadline", "replied_at",
             "closed_at"}
COUNT_KEYS = {"returns", "extensions", "replies", "replies_on_time", "reminders", "reopens"}


class ExportError(ValueError):
    """A run folder that cannot be exported (one line)."""


def header(zh: str, en: str) -> str:
    """A column header of the orders export format: '工单编号 order_id'."""
    return f"{zh} {en}"


def _local(ts: pd.Series) -> pd.Series:
    """Zone-aware timestamps as local wall-clock text (empty for no time)."""
    return ts.dt.tz_localize(None).dt.strftime(TIME_FORMAT).fillna("") if len(ts) else ts.astype(str)


def _read(folder: Path, name: str) -> pd.DataFrame:
    path = folder / name
    if not (folder / "manifest.json").is_file():
        raise ExportError(f"{folder}: not a run folder (no manifest.json; see `hotline run --out`)")
    if not path.is_file():
        raise ExportError(f"{folder}: no {name} (a run folder written before names and timestamps? "
                          f"load it with sim.Result.load and save it again)")
    df = pd.read_parquet(path)
    if name == "events.parquet" and "case:concept:name" not in df:
        raise ExportError(f"{path}: numeric event log of an older run folder; load it with "
                          f"sim.Result.load(folder) and .save() it again to export it")
    return df


def orders_export(folder: Path) -> pd.DataFrame:
    """The run folder's orders in the orders export format (one row per order), with the
    optional 开始办理时间 started_at from the event log (:func:`first_starts`)."""
    orders = _read(folder, "orders.parquet")
    return orders_export_table(orders, first_starts(_read(folder, "events.parquet")))


def first_starts(events: pd.DataFrame) -> pd.Series:
    """Each order's first handling start (the named event log's first ``start`` / 办理
    event), indexed by order id (int); orders no handler took are absent."""
    start = events[events["concept:name"].astype(str) == ACTIVITY_NAMES[Act.START]]
    ids = start["case:concept:name"].astype(np.int64).to_numpy()
    return start["time:timestamp"].groupby(ids).min()


def orders_export_table(orders: pd.DataFrame, starts: pd.Series | None = None) -> pd.DataFrame:
    """Named orders (``sim.logfile.named_orders``, as in ``orders.parquet``) in the orders
    export format, one row per order; with ``starts`` (:func:`first_starts`: first handling
    start by order id, zone-aware timestamps) also the optional 开始办理时间 started_at, after
    签收时间 signed_at.  ``办理时限 reply_deadline`` is the deadline in force at
    the last reply, or, for an order awaiting a reply at the export's date (signed, not closed,
    last step not a reply or callback), the deadline in force now (``due_in_force``): what a
    centre's system shows for an order in hand, and what a forecast from the export needs."""
    orders = orders.reset_index()
    if "due_in_force" in orders and "last_activity" in orders:
        done = {ACTIVITY_NAMES[a] for a in (Act.REPLY, Act.CALLBACK, Act.CLOSE)}
        awaiting = ((orders["status"].astype(str) == "open")
                    & ~orders["last_activity"].astype(str).isin(done))
        orders["reply_due"] = orders["reply_due"].where(~awaiting, orders["due_in_force"])
    columns = list(ORDER_COLUMNS)
    if starts is not None:
        orders["first_start"] = orders["order"].astype(np.int64).map(starts)
        for zh, en, src, after in OPTIONAL_COLUMNS:
            at = next(i for i, c in enumerate(columns) if c[1] == after) + 1
            columns.insert(at, (zh, en, src))
    out = {}
    for zh, en, src in columns:
        col = orders[src]
        if en in TIME_KEYS:
            col = _local(col)
        elif en == "status":
            col = col.astype(str).map(STATUS)
        elif en == "callback_result":
            col = col.astype(object).map(CALLBACK).fillna("")
        elif en == "hard_case":
            col = col.astype(bool).map(YES_NO)
        elif en in COUNT_KEYS or en == "order_id":
            col = col.astype(np.int64)
        else:
            col = col.astype(object).fillna("")
        out[header(zh, en)] = col.to_numpy()
    return pd.DataFrame(out)


def read_orders_export(path: str | Path) -> pd.DataFrame:
    """Read an orders export (CSV or .xlsx) back, with English keys as column names, times as
    timestamps (naive, local) and counts as integers.  Headers may be the full '中文 english'
    form, the Chinese name alone or the English key alone; a missing column is an error
    naming it.  The optional columns (:data:`OPTIONAL_COLUMNS`) are read when present."""
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raw = pd.read_excel(path, dtype=str, keep_default_na=False)
    else:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    by_name: dict[str, str] = {}
    for zh, en, *_ in ORDER_COLUMNS + OPTIONAL_COLUMNS:
        for name in (header(zh, en), zh, en):
            by_name[name] = en
    raw = raw.rename(columns={c: by_name.get(str(c).strip(), str(c)) for c in raw.columns})
    missing = [en for _, en, _ in ORDER_COLUMNS if en not in raw]
    if missing:
        raise ExportError(f"{path}: column {missing[0]!r} is missing (see docs/orders-export-format.md)")
    keys = [en for _, en, _ in ORDER_COLUMNS] + [c[1] for c in OPTIONAL_COLUMNS if c[1] in raw]
    out = raw[keys].copy()
    for en in TIME_KEYS & set(keys):
        out[en] = pd.to_datetime(out[en].replace("", None), format=TIME_FORMAT)
    for en in COUNT_KEYS | {"order_id"}:
        out[en] = out[en].astype(np.int64)
    return out


def write_orders(folder: Path, target: Path, excel: bool) -> int:
    table = orders_export(folder)
    if excel:
        table.to_excel(target, index=False, sheet_name="工单 orders")
    else:
        table.to_csv(target, index=False, encoding="utf-8-sig")
    return len(table)


def write_events_csv(folder: Path, target: Path) -> int:
    ev = _read(folder, "events.parquet")
    cols = ["case:concept:name", "concept:name", "activity_zh", "time:timestamp", "org:resource",
            "outcome", "outcome_zh", "case:category", "case:urgency"]
    out = ev[cols].copy()
    out["time:timestamp"] = _local(out["time:timestamp"])
    out.to_csv(target, index=False, encoding="utf-8-sig")
    return len(out)


def write_xes(folder: Path, target: Path) -> int:
    """IEEE XES 1849-2016: one trace per order (case attributes category, urgency), one event
    per row with concept:name, time:timestamp (ISO with the zone's offset), org:resource,
    the Chinese activity name and outcome."""
    ev = _read(folder, "events.parquet")
    order = ev["case:concept:name"].astype(str).to_numpy()
    keys = np.argsort(ev["case:concept:name"].astype(np.int64).to_numpy(), kind="stable")
    stamps = ev["time:timestamp"]
    iso = stamps.dt.strftime(XES_TIME_FORMAT).str.slice(0, 23) + stamps.dt.strftime("%z").str.replace(
        r"(\d\d)(\d\d)$", r"\1:\2", regex=True
    )
    cols = {c: ev[c].astype(object).to_numpy() for c in
            ("concept:name", "activity_zh", "org:resource", "outcome", "outcome_zh",
             "case:category", "case:urgency")}
    iso = iso.to_numpy()
    with target.open("w", encoding="utf-8") as fh:
        xml = XMLGenerator(fh, encoding="utf-8", short_empty_elements=True)
        xml.startDocument()
        xml.startElement("log", {"xes.version": "1849-2016", "xes.features": "nested-attributes",
                                 "xmlns": "http://www.xes-standard.org/"})
        for name, prefix, uri in (("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
                                  ("Time", "time", "http://www.xes-standard.org/time.xesext"),
                                  ("Organizational", "org", "http://www.xes-standard.org/org.xesext")):
            xml.startElement("extension", {"name": name, "prefix": prefix, "uri": uri})
            xml.endElement("extension")

        def attr(kind: str, key: str, value: object) -> None:
            if value is None or (isinstance(value, float) and np.isnan(value)):
                return
            xml.startElement(kind, {"key": key, "value": str(value)})
            xml.endElement(kind)

        current = None
        for i in keys.tolist():
            if order[i] != current:
                if current is not None:
                    xml.endElement("trace")
                current = order[i]
                xml.startElement("trace", {})
                attr("string", "concept:name", current)
                attr("string", "category", cols["case:category"][i])
                attr("string", "urgency", cols["case:urgency"][i])
            xml.startElement("event", {})
            attr("string", "concept:name", cols["concept:name"][i])
            attr("date", "time:timestamp", iso[i])
            attr("string", "org:resource", cols["org:resource"][i])
            attr("string", "activity_zh", cols["activity_zh"][i])
            attr("string", "outcome", cols["outcome"][i])
            attr("string", "outcome_zh", cols["outcome_zh"][i])
            xml.endElement("event")
        if current is not None:
            xml.endElement("trace")
        xml.endElement("log")
        xml.endDocument()
    return len(ev)


def export(folder: str | Path, fmt: str, target: str | Path | None = None) -> tuple[Path, int]:
    """Write ``folder``'s run in format ``fmt`` (one of FORMATS) to ``target`` (default: a
    file in the folder: events.csv, events.xes, orders_export.csv, orders_export.xlsx).
    Returns the path and the number of rows (events or orders).  Written to a temporary
    name and renamed, so an interrupted export leaves no half file."""
    folder = Path(folder)
    if fmt not in FORMATS:
        raise ExportError(f"--format {fmt}: allowed {', '.join(FORMATS)}")
    default = {"csv": "events.csv", "xes": "events.xes", "orders-csv": "orders_export.csv",
               "orders-xlsx": "orders_export.xlsx"}[fmt]
    path = Path(target) if target else folder / default
    tmp = path.with_name(f".{path.name}.partial{path.suffix}")
    try:
        if fmt == "csv":
            n = write_events_csv(folder, tmp)
        elif fmt == "xes":
            n = write_xes(folder, tmp)
        else:
            n = write_orders(folder, tmp, excel=fmt == "orders-xlsx")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path, n
