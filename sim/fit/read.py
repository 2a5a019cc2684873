"""Reading a work-order export for ``hotline fit``: file, encoding, header, column names,
values, and the data-quality report.

What is read
    CSV (UTF-8, UTF-8 with BOM, or wholly GBK/GB18030), Excel ``.xlsx``/``.xlsm`` (openpyxl)
    and Parquet.  The header is the first of the top ten rows that names the most known
    columns, so a title row or a merged two-row header above it is skipped (and reported).

Column names
    Recognised when they are the usual ones: the orders export format
    (docs/orders-export-format.md; '中文 english', Chinese alone or English alone), common
    Chinese 12345 headers (来电时间, 答复时间, 延期, 退单 ...) and English ones.  A mapping file
    (``--mapping``, e.g. mappings/nyc311.toml) names them explicitly.

Personal data
    Only the recognised columns are kept (:data:`FIELDS`).  Every other column, in particular
    names, phone numbers, addresses, coordinates and free-text complaint details, is dropped
    when the file is read: nothing of it reaches the scenario, the targets file or the report
    (which lists only the dropped columns' count).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.scenario import CATEGORIES

# canonical field -> what it holds (the internal names of a normalised export)
FIELDS: dict[str, str] = {
    "order_id": "order number",
    "created": "time the order was created / dispatched (来电时间, 派单时间)",
    "channel": "intake channel",
    "category": "求助/咨询/投诉/建议 (or a source category mapped to one)",
    "source_category": "a source category (e.g. a 311 complaint type) the mapping assigns to a category",
    "urgency": "一般 normal / 紧急 urgent",
    "topic": "topic (问题分类)",
    "unit": "handling unit (承办单位)",
    "responsible_unit": "unit the responsibility list names (责任单位)",
    "sign_deadline": "sign-for deadline (签收时限)",
    "signed": "first sign-for time (签收时间)",
    "started": "first start of handling by a handler of the unit (开始办理时间), optional",
    "returns": "returns (退单), a count or yes/no",
    "extensions": "extensions (延期), a count or yes/no",
    "reply_deadline": "reply deadline in force (办理时限 / due date)",
    "replied": "reply time (答复时间 / 回复时间)",
    "replies": "replies made",
    "replies_on_time": "replies made by their deadline",
    "reminders": "supervision reminders (催办)",
    "reopens": "reopenings (重办)",
    "callback": "callback result (回访结果)",
    "closed": "close time (办结时间)",
    "status": "state at the export date (工单状态)",
    "hard_case": "hard case (疑难) yes/no",
    "handlers": "the handling unit's headcount (承办人数)",
}
TIME_FIELDS = ("created", "sign_deadline", "signed", "started", "reply_deadline", "replied", "closed")
COUNT_FIELDS = ("returns", "extensions", "replies", "replies_on_time", "reminders", "reopens",
                "handlers")

# usual header names (compared case-insensitively, spaces and underscores ignored)
ALIASES: dict[str, tuple[str, ...]] = {
    "order_id": ("工单编号", "工单号", "编号", "order_id", "orderid", "case_id", "ticket_id", "id"),
    "created": ("派单时间", "来电时间", "受理时间", "创建时间", "登记时间", "dispatched_at", "created",
                "created_at", "created_date", "open_date", "opened"),
    "channel": ("渠道", "来电渠道", "受理渠道", "来源渠道", "channel"),
    "category": ("诉求类型", "工单类型", "诉求性质", "category", "request_type"),
    "urgency": ("紧急程度", "缓急程度", "urgency", "priority"),
    "topic": ("问题分类", "诉求分类", "事项分类", "诉求事项", "topic"),
    "unit": ("承办单位", "处理单位", "办理单位", "handling_unit", "unit"),
    "responsible_unit": ("责任单位", "responsible_unit"),
    "sign_deadline": ("签收时限", "sign_deadline"),
    "signed": ("签收时间", "signed_at", "signed"),
    # not 处理时间 (a centre's "processing time" is often the reply or close time) nor 受理时间
    # (the hotline's intake, read as the creation time)
    "started": ("开始办理时间", "办理开始时间", "开始处理时间", "处理开始时间", "started_at",
                "start_time", "handling_started"),
    "returns": ("退单次数", "退单", "是否退单", "returns"),
    "extensions": ("延期次数", "延期", "是否延期", "extensions"),
    "reply_deadline": ("办理时限", "答复时限", "办结时限", "reply_deadline", "due_date", "due"),
    "replied": ("回复时间", "答复时间", "replied_at", "replied"),
    "replies": ("回复次数", "replies"),
    "replies_on_time": ("按时回复次数", "replies_on_time"),
    "reminders": ("催办次数", "催办", "reminders"),
    "reopens": ("重办次数", "重办", "reopens"),
    "callback": ("回访结果", "满意度", "回访满意度", "callback_result", "satisfaction"),
    "closed": ("办结时间", "结案时间", "closed_at", "closed", "closed_date"),
    "status": ("工单状态", "状态", "办理状态", "status"),
    "hard_case": ("疑难工单", "是否疑难", "hard_case"),
    "handlers": ("承办人数", "人员数", "handlers", "headcount"),
}
# headers dropped as personal data or free text, named in the report as such
PERSONAL = ("姓名", "来电人", "联系人", "电话", "手机", "联系电话", "来电号码", "地址", "住址", "诉求内容",
            "工单内容", "问题描述", "内容", "回复内容", "办理结果", "name", "phone", "address",
            "description", "details", "latitude", "longitude", "location", "incident_address",
            "street_name", "x_coordinate", "y_coordinate", "resolution_description", "case_title",
            "closure_reason")

CATEGORY_WORDS = {
    "求助": "help", "help": "help", "咨询": "consult", "consult": "consult",
    "consultation": "consult", "投诉": "complaint", "complaint": "complaint", "举报": "complaint",
    "建议": "suggestion", "suggestion": "suggestion", "表扬": "suggestion", "praise": "suggestion",
}
URGENT_WORDS = ("紧急", "加急", "特急", "urgent", "emergency", "high")
CALLBACK_WORDS = (  # checked in order: 不满意 before 满意, 基本满意 before 满意
    ("不满意", "dissatisfied"), ("dissatisfied", "dissatisfied"), ("基本满意", "basically_satisfied"),
    ("basically", "basically_satisfied"), ("未接通", "unreached"), ("unreached", "unreached"),
    ("未回访", None), ("满意", "satisfied"), ("satisfied", "satisfied"),
)
STATUS_WORDS = (
    ("未签收", "unsigned"), ("unsigned", "unsigned"), ("已办结", "closed"), ("办结", "closed"),
    ("归档", "closed"), ("closed", "closed"), ("办理中", "open"), ("处理中", "open"),
    ("open", "open"), ("pending", "open"), ("assigned", "open"), ("in progress", "open"),
)
YES = {"是", "有", "yes", "y", "true", "1", "是 yes"}
NO = {"否", "无", "no", "n", "false", "0", "", "否 no"}

TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
                "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d",
                "%Y/%m/%d")
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
MAX_LISTED = 20  # rows listed per kind of problem in the report (all are counted)


class FitError(ValueError):
    """An export or mapping that cannot be fitted; the message is one line for a user."""


@dataclass
class Problem:
    """One kind of data problem: the rows (file line numbers) and what was done."""

    what: str
    action: str
    rows: list[int] = field(default_factory=list)


@dataclass
class Mapping:
    """A mapping file (TOML): column names, categories, calendar and time zone.

    ``columns``: canonical field -> the export's column name.  ``categories``: source
    category -> help/consult/complaint/suggestion (or 求助/咨询/投诉/建议), with an optional
    ``default`` for the rest.  ``values``: per field, a table of canonical value -> list of
    source values (status, urgency, callback).  ``calendar``: ``chinese`` or a country code of
    the ``holidays`` package (``US``).  ``timezone``: an IANA name."""

    path: str = "(built in)"
    columns: dict[str, str] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)
    default_category: str | None = None
    values: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    calendar: str = "chinese"
    timezone: str = "Asia/Shanghai"
    unit_kind: str | None = None
    office_hours: list[list[float]] | None = None
    name: str | None = None
    callback_method: str | None = None


def _norm(name: Any) -> str:
    return re.sub(r"[\s_]+", "", str(name).strip().lower())


def load_mapping(path: str | Path | None) -> Mapping:
    """Read and check a mapping file; one-line FitError naming the file and the key."""
    if path is None:
        return Mapping()
    p = Path(path)
    if not p.is_file():
        raise FitError(f"--mapping {p}: no such file")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise FitError(f"--mapping {p}: not a TOML file: {e}") from None
    known = {"name", "columns", "categories", "values", "calendar", "timezone", "unit_kind",
             "office_hours", "description", "callback_method"}
    for key in data:
        if key not in known:
            raise FitError(f"{p}: {key}: unknown key (allowed: {', '.join(sorted(known))})")
    m = Mapping(path=str(p), name=data.get("name"))
    for k, v in (data.get("columns") or {}).items():
        if k not in FIELDS:
            raise FitError(f"{p}: columns.{k}: unknown field (allowed: {', '.join(FIELDS)})")
        if not isinstance(v, str):
            raise FitError(f"{p}: columns.{k}: expected a column name, got {v!r}")
        m.columns[k] = v
    for src, cat in (data.get("categories") or {}).items():
        canon = CATEGORY_WORDS.get(str(cat).strip().lower())
        if canon is None:
            raise FitError(f"{p}: categories.{src}: {cat!r} is not a category (allowed: "
                           f"求助/咨询/投诉/建议 or help/consult/complaint/suggestion)")
        if src == "default":
            m.default_category = canon
        else:
            m.categories[_norm(src)] = canon
    for fld, table in (data.get("values") or {}).items():
        if fld not in ("status", "urgency", "callback", "hard_case"):
            raise FitError(f"{p}: values.{fld}: allowed status, urgency, callback, hard_case")
        m.values[fld] = {k: [str(x) for x in (v if isinstance(v, list) else [v])]
                         for k, v in table.items()}
    cal = str(data.get("calendar", "chinese"))
    if cal not in ("chinese", "weekends", "none"):
        import holidays as hol

        if cal.upper() not in hol.list_supported_countries():
            raise FitError(f"{p}: calendar: {cal!r}: allowed chinese, weekends, none or a country "
                           f"code of the holidays package (e.g. US)")
        cal = cal.upper()
    m.calendar = cal
    tz = str(data.get("timezone", "Asia/Shanghai"))
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(tz)
    except (ValueError, KeyError, OSError):
        raise FitError(f"{p}: timezone: unknown time zone {tz!r} (an IANA name like "
                       f"'America/New_York')") from None
    m.timezone = tz
    kind = data.get("unit_kind")
    if kind is not None and kind not in ("department", "street"):
        raise FitError(f"{p}: unit_kind: allowed department or street, got {kind!r}")
    m.unit_kind = kind
    m.office_hours = data.get("office_hours")
    method = data.get("callback_method")
    if method is not None and method not in ("manual", "sms", "sampled"):
        raise FitError(f"{p}: callback_method: allowed manual, sms or sampled, got {method!r}")
    m.callback_method = method
    return m


# -- the file -----------------------------------------------------------------------------------
def _decode(raw: bytes, path: Path) -> tuple[str, str]:
    """The text of a CSV and its encoding: UTF-8 (BOM or not) or wholly GBK (GB18030).
    A file that mixes them (some lines valid UTF-8 with Chinese, others not) is refused."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    utf8_lines, other, cut = None, None, False
    lines = raw.rstrip(b"\r\n").split(b"\n")
    for n, line in enumerate(lines, start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8_lines = utf8_lines or n
        except UnicodeDecodeError as e:
            other = other or n
            # the last line broken off inside a character (and valid before it): cut short
            cut = n == len(lines) and e.reason == "unexpected end of data"
        if utf8_lines and other:
            if cut:
                raise FitError(f"{path}: line {other}, the last, ends inside a UTF-8 character: "
                               f"the file looks cut short; export it again")
            raise FitError(f"{path}: mixes encodings: line {utf8_lines} is UTF-8 but line "
                           f"{other} is not; save the whole file as UTF-8 (or wholly as GBK)")
    try:
        return raw.decode("gb18030"), "GBK (GB18030)"
    except UnicodeDecodeError:
        raise FitError(f"{path}: not a text table in UTF-8 or GBK (save it as CSV UTF-8, .xlsx "
                       f"or .parquet)") from None


def read_table(path: str | Path, names: dict[str, str] | None = None) -> tuple[pd.DataFrame, str]:
    """Every cell as text (the rows above the header blank), and a note on the encoding or
    sheet.  ``names``: the recognised headers (normalised), to find the header row."""
    p = Path(path)
    if not p.exists():
        raise FitError(f"{p}: no such file")
    if p.is_dir():
        raise FitError(f"{p}: is a folder, not an export file")
    suffix = p.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        try:
            sheets = pd.read_excel(p, sheet_name=None, header=None, dtype=object)
        except Exception as e:  # openpyxl raises many kinds for a broken file
            raise FitError(f"{p}: not a readable .xlsx workbook ({type(e).__name__})") from None
        name, df = max(sheets.items(), key=lambda kv: kv[1].size) if sheets else ("", pd.DataFrame())
        df = df.map(_cell_text)
        return df, f"sheet {name!r}"
    if suffix == ".parquet":
        try:
            df = pd.read_parquet(p)
        except Exception as e:
            raise FitError(f"{p}: not a readable Parquet file ({type(e).__name__})") from None
        head = pd.DataFrame([list(map(str, df.columns))])
        body = df.astype(object).map(_cell_text)
        body.columns = range(len(df.columns))
        return pd.concat([head, body], ignore_index=True), "Parquet"
    raw = p.read_bytes()
    if not raw.strip():
        raise FitError(f"{p}: is empty (no header, no rows)")
    if b"\x00" in raw[:4096]:
        raise FitError(f"{p}: is not a table (binary content; save the export as CSV, .xlsx "
                       f"or .parquet)")
    text, encoding = _decode(raw, p)
    return _read_csv_text(text, p, names), encoding


def _read_csv_text(text: str, p: Path, names: dict[str, str] | None) -> pd.DataFrame:
    """The header row and the data rows of a CSV text: the top rows are scanned with the csv
    module (a title row may be shorter than the header), the body is read by pandas' C
    parser with the header's width fixed, so a longer row is an error naming its line."""
    import csv
    from collections import Counter

    top = text.split("\n", 10)[:10]
    sep = max((",", "\t", ";"), key=lambda c: max((ln.count(c) for ln in top), default=0))
    rows = list(csv.reader(top, delimiter=sep))
    filled = [r for r in rows if any(c.strip() for c in r)]
    if not filled:
        raise FitError(f"{p}: is empty (no header, no rows)")
    width = max(len(r) for r in rows)
    head = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=str)
    h = _find_header(head, names or {})
    width = len(rows[h])
    if width < 2 or Counter(len(r) for r in filled).most_common(1)[0][0] < 2:
        raise FitError(f"{p}: is not a table (one column; save the export as CSV with a header row)")
    for n, r in enumerate(rows[h + 1:], start=h + 2):
        if len(r) > width:
            raise FitError(f"{p}: is not a table at line {n}: {len(r)} cells where the header "
                           f"(line {h + 1}) has {width} (save the export as CSV with one header row)")
    try:
        body = pd.read_csv(io.StringIO(text), sep=sep, header=None, skiprows=h + 1,
                           names=list(range(width)), index_col=False, dtype=str,
                           keep_default_na=False, skip_blank_lines=False)
    except pd.errors.ParserError as e:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(e))
        where = (f" at line {m.group(2)}: {m.group(3)} cells where the header (line {h + 1}) has "
                 f"{m.group(1)}") if m else ""
        raise FitError(f"{p}: is not a table{where} (save the export as CSV with one header "
                       f"row)") from None
    header = pd.DataFrame([rows[h] + [""] * (width - len(rows[h]))])
    pad = pd.DataFrame([[""] * width] * h) if h else None
    return pd.concat([x for x in (pad, header, body.fillna("")) if x is not None], ignore_index=True)


def _cell_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, dt.datetime | pd.Timestamp):
        if v.tzinfo is not None:  # zone-aware (Parquet): keep the offset, converted on parsing
            return v.isoformat()
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _known_names(mapping: Mapping) -> dict[str, str]:
    from sim.export import ORDER_COLUMNS

    names: dict[str, str] = {}
    export_names = {"dispatched_at": "created", "handling_unit": "unit", "signed_at": "signed",
                    "started_at": "started",
                    "replied_at": "replied", "callback_result": "callback", "closed_at": "closed",
                    "responsible_unit": "responsible_unit"}
    for fld, aliases in ALIASES.items():
        for a in aliases:
            names.setdefault(_norm(a), fld)
    from sim.export import OPTIONAL_COLUMNS

    for zh, en, *_ in ORDER_COLUMNS + OPTIONAL_COLUMNS:  # the orders export format: 'zh en', zh, en
        fld = export_names.get(en, en)
        if fld in FIELDS:
            for a in (f"{zh} {en}", zh, en):
                names[_norm(a)] = fld
    for fld, col in mapping.columns.items():  # the mapping wins
        names = {k: v for k, v in names.items() if v != fld}
        names[_norm(col)] = fld
    return names


@dataclass
class Export:
    """A normalised export: one row per kept order (canonical fields), with the file's line
    numbers, and what the reader found and did."""

    path: str
    table: pd.DataFrame
    lines: np.ndarray
    encoding: str
    rows_read: int
    columns: dict[str, str]
    dropped_columns: list[str]
    personal_columns: list[str]
    problems: list[Problem]
    notes: list[str]
    mapping: Mapping
    as_of: pd.Timestamp | None = None


def _find_header(df: pd.DataFrame, names: dict[str, str]) -> int:
    best, score = 0, -1
    for i in range(min(10, len(df))):
        n = len({names[_norm(c)] for c in df.iloc[i] if _norm(c) in names})
        if n > score:
            best, score = i, n
    return best


def parse_times(col: pd.Series, zone: str) -> tuple[pd.Series, pd.Series]:
    """Text cells as naive local timestamps in ``zone``: the usual formats, Excel serial
    numbers, Chinese dates (2021年3月5日 10:00) and times with an offset or zone (converted to
    ``zone``).  Returns (timestamps, bad): bad marks non-empty cells that did not parse."""
    s = col.astype(str).str.strip()
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    todo = s != ""
    for fmt in TIME_FORMATS:
        if not todo.any():
            break
        parsed = pd.to_datetime(s[todo], format=fmt, errors="coerce")
        ok = parsed.notna()
        out.loc[ok[ok].index] = parsed[ok]
        todo.loc[ok[ok].index] = False
    bad = pd.Series(False, index=s.index)
    for i in s[todo].index:
        ts = _parse_one(s[i], zone)
        if ts is None:
            bad[i] = True
        else:
            out[i] = ts
    return out, bad


def _parse_one(text: str, zone: str) -> pd.Timestamp | None:
    t = text.strip()
    try:
        x = float(t)
    except ValueError:
        x = None
    if x is not None:  # an Excel serial date (1955 .. 2119)
        if 20000 <= x <= 80000:
            return pd.Timestamp(EXCEL_EPOCH + dt.timedelta(days=x)).round("s")
        return None
    m = re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日\s*(?:(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2}))?秒?)?", t)
    if m:
        y, mo, d, h, mi, sec = (int(g) if g else 0 for g in m.groups())
        try:
            return pd.Timestamp(dt.datetime(y, mo, d, h, mi, sec))
        except ValueError:
            return None
    t = re.sub(r"\b(EST|EDT|CST|CDT|PST|PDT|UTC|GMT)\b", lambda z: {
        "EST": "-05:00", "EDT": "-04:00", "CST": "-06:00", "CDT": "-05:00", "PST": "-08:00",
        "PDT": "-07:00", "UTC": "+00:00", "GMT": "+00:00"}[z.group(1)], t)
    try:
        ts = pd.Timestamp(t)
    except (ValueError, OverflowError):
        return None
    if ts is pd.NaT:
        return None
    if ts.tzinfo is not None:
        ts = ts.tz_convert(zone).tz_localize(None)
    return ts


def _words(value: str, table: tuple[tuple[str, str | None], ...]) -> str | None:
    v = value.strip().lower()
    for word, canon in table:
        if word in v:
            return canon
    return None


def read_export(path: str | Path, mapping: Mapping, year: int | None = None) -> Export:
    """Read ``path`` into canonical fields, skip and report bad rows (see module docstring)."""
    p = Path(path)
    names = _known_names(mapping)
    raw, encoding = read_table(p, names)
    h = _find_header(raw, names)
    header = [str(c).strip() for c in raw.iloc[h]]
    body = raw.iloc[h + 1:].reset_index(drop=True)
    notes = []
    if h:
        notes.append(f"header on line {h + 1}: the {h} row(s) above it (a title or merged "
                     f"header) were skipped")
    lines = np.arange(len(body)) + h + 2  # 1-based file line (sheet row) of each data row
    # column by column (a row-wise apply took 19 s of CPU on the 84,619-row baseline export, this 0.15 s)
    blank = (np.logical_and.reduce([body[c].astype(str).str.strip().eq("").to_numpy() for c in body.columns])
             if len(body) and len(body.columns) else np.zeros(len(body), bool))
    body, lines = body[~blank].reset_index(drop=True), lines[~blank]
    if not len(body):
        raise FitError(f"{p}: has a header but no rows")
    columns: dict[str, str] = {}
    keep: dict[str, int] = {}
    dropped, personal = [], []
    for j, name in enumerate(header):
        fld = names.get(_norm(name))
        if fld is not None and fld not in keep:
            keep[fld], columns[fld] = j, name
        elif name:
            (personal if any(w in _norm(name) for w in map(_norm, PERSONAL)) else dropped).append(name)
    for fld, col in mapping.columns.items():
        if fld not in keep and fld in ("created", "closed", "source_category", "category"):
            raise FitError(f"{p}: column {col!r} (the mapping's columns.{fld}) is not in the "
                           f"header (line {h + 1})")
        if fld not in keep:
            notes.append(f"column {col!r} (the mapping's columns.{fld}) is not in the file: not used")
    if "created" not in keep:
        raise FitError(f"{p}: no creation time column (a header such as 派单时间/来电时间 or "
                       f"created_at, or columns.created in a --mapping file); found: "
                       f"{', '.join(header[:12])}")
    if "replied" not in keep and "closed" not in keep:
        raise FitError(f"{p}: no reply or close time column (答复时间/回复时间, 办结时间, closed_at "
                       f"or columns.closed in a --mapping file)")
    if "category" not in keep and "source_category" not in keep:
        raise FitError(f"{p}: no category column (诉求类型 求助/咨询/投诉/建议, or columns."
                       f"source_category with [categories] in a --mapping file)")
    t = pd.DataFrame({fld: body.iloc[:, j].astype(str).str.strip() for fld, j in keep.items()})
    problems: dict[str, Problem] = {}

    def flag(mask: np.ndarray, what: str, action: str) -> None:
        if mask.any():
            pr = problems.setdefault(what, Problem(what, action))
            pr.rows.extend(lines[mask].tolist())

    skip = np.zeros(len(t), dtype=bool)
    out = pd.DataFrame(index=t.index)
    for fld in TIME_FIELDS:
        if fld not in t:
            continue
        ts, bad = parse_times(t[fld], mapping.timezone)
        bad = bad.to_numpy()
        if fld == "created":
            flag(bad, "unparseable creation time", "row skipped")
            flag(~bad & ts.isna().to_numpy(), "no creation time", "row skipped")
            skip |= ts.isna().to_numpy()
        else:
            flag(bad, f"unparseable {fld} time", f"{fld} left empty")
        out[fld] = ts
    # categories
    if "category" in t:
        cat = t["category"].map(lambda v: _category_of(v, mapping))
        src = t["category"]
    else:
        cat = t["source_category"].map(lambda v: mapping.categories.get(_norm(v)))
        src = t["source_category"]
        if mapping.default_category:
            unmapped = cat.isna() & (src != "")
            if unmapped.any():
                n_types = src[unmapped].nunique()
                notes.append(f"{int(unmapped.sum())} rows of {n_types} source categories not in "
                             f"the mapping's [categories] were counted as its default "
                             f"({mapping.default_category})")
            cat = cat.fillna(mapping.default_category)
    unknown = cat.isna().to_numpy() & ~skip
    flag(unknown, "unknown category", "row skipped (allowed: 求助/咨询/投诉/建议, or a mapping)")
    skip |= cat.isna().to_numpy()
    out["category"] = cat
    if "source_category" in t:
        out["source_category"] = t["source_category"]
    for fld in ("channel", "topic", "unit", "responsible_unit", "order_id"):
        if fld in t:
            out[fld] = t[fld].replace("", np.nan)
    out["urgent"] = t["urgency"].map(lambda v: _urgent(v, mapping)) if "urgency" in t else False
    if "callback" in t:
        out["callback"] = t["callback"].map(lambda v: _value(v, "callback", CALLBACK_WORDS, mapping))
    if "status" in t:
        out["status"] = t["status"].map(lambda v: _value(v, "status", STATUS_WORDS, mapping))
    if "hard_case" in t:
        out["hard_case"] = t["hard_case"].map(lambda v: _yes(v, mapping))
    for fld in COUNT_FIELDS:
        if fld in t:
            vals = t[fld].map(_count)
            bad = vals.isna().to_numpy() & (t[fld] != "").to_numpy()
            flag(bad, f"{fld}: not a count or yes/no", "taken as 0")
            out[fld] = vals.fillna(0).astype(np.int64)
    # consistency
    created = out["created"]
    for fld in ("closed", "replied", "signed"):
        if fld in out:
            before = (out[fld] < created).to_numpy() & ~skip
            flag(before, f"{fld} before created", "row skipped")
            skip |= before
    if "started" in out:  # only the congestion reading uses it: the cell, not the row, is dropped
        first = out.get("signed", created)
        early = (out["started"] < first).to_numpy() & ~skip
        flag(early, "start of handling before sign-for" if "signed" in out else
             "start of handling before created", "started left empty")
        out.loc[early, "started"] = pd.NaT
    if "status" in out and "closed" in out:
        closed_no_time = (out["status"] == "closed").to_numpy() & out["closed"].isna().to_numpy() & ~skip
        flag(closed_no_time, "status closed but no close time", "taken as open (censored)")
    if "order_id" in out:
        dup = out["order_id"].notna().to_numpy() & out["order_id"].duplicated().to_numpy() & ~skip
        flag(dup, "duplicate order number", "later row skipped")
        skip |= dup
    as_of = max((out[f].max() for f in TIME_FIELDS if f in out and f not in ("sign_deadline", "reply_deadline")
                 and out[f].notna().any()), default=None)
    if year is not None:
        outside = (created.dt.year != year).to_numpy() & ~skip
        n_out = int(outside.sum())
        if n_out == int((~skip).sum()):
            raise FitError(f"{p}: --year {year}: every row is outside it (creation times "
                           f"{created.min():%Y-%m-%d} to {created.max():%Y-%m-%d})")
        if n_out:
            notes.append(f"{n_out} rows created outside --year {year} were left out")
        skip |= outside
        end = pd.Timestamp(year + 1, 1, 1)
        if as_of is not None and as_of > end:
            as_of = end
    table = out[~skip].reset_index(drop=True)
    kept_lines = lines[~skip]
    return Export(str(p), table, kept_lines, encoding, len(body), columns, dropped, personal,
                  list(problems.values()), notes, mapping, as_of)


def _category_of(value: str, mapping: Mapping) -> str | None:
    v = value.strip()
    if _norm(v) in mapping.categories:
        return mapping.categories[_norm(v)]
    low = v.lower()
    for token in re.split(r"[\s/|,;]+", low):
        if token in CATEGORY_WORDS:
            return CATEGORY_WORDS[token]
    for word, canon in CATEGORY_WORDS.items():
        if word in low and not word.isascii():
            return canon
    return mapping.default_category if v and mapping.default_category else None


def _urgent(value: str, mapping: Mapping) -> bool:
    table = mapping.values.get("urgency")
    if table:
        return value.strip() in table.get("urgent", [])
    return any(w in value.strip().lower() for w in URGENT_WORDS)


def _value(value: str, fld: str, words: tuple[tuple[str, str | None], ...], mapping: Mapping) -> str | None:
    table = mapping.values.get(fld)
    if table:
        for canon, sources in table.items():
            if value.strip() in sources:
                return canon
        return None
    return _words(value, words) if value.strip() else None


def _yes(value: str, mapping: Mapping) -> bool:
    table = mapping.values.get("hard_case")
    if table:
        return value.strip() in table.get("yes", [])
    return value.strip().lower() in YES or value.strip().startswith("是")


def _count(value: str) -> float | None:
    v = value.strip().lower()
    if v in YES or v.startswith("是"):
        return 1.0
    if v in NO or v.startswith("否"):
        return 0.0
    try:
        x = float(v)
    except ValueError:
        return None
    return x if x >= 0 and x.is_integer() else None


CATEGORY_NAMES = CATEGORIES
