"""Open orders from an export file in the orders export format (docs/orders-export-format.md),
read with the fit reader (``sim.fit.read``: encodings, headers, column aliases, mapping files),
as the snapshot table the warm start resumes (``sim.forecast.snapshot.COLUMNS``).

The export has no START time, so a signed order without a reply is taken as in a handler's
hands since its sign-for (``handling``; ``extended`` with an approved extension; detail
``signed``: the warm start queues it if no handler of its unit is free): its age counts any
queue wait too.  A reopened order (重办, no more replies than reopens) is in hand since its last
reply (the reopen's time is not in the export); an order held by a unit the responsibility
list does not name, without a reply, awaits its return; one held by the centre (热线中心)
awaits the centre's answer (docs/forecast.md, "Limits").
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.activities import CENTRE, CENTRE_NAME
from sim.scenario import CATEGORIES

from .run import ForecastInputError
from .snapshot import COLUMNS


def read_open_orders(path: Path, start: dt.date, scn: Any, mapping: str | Path | None = None
                     ) -> tuple[pd.DataFrame, list[str]]:
    """The orders of the export open at 00:00 on ``start`` (created before it, not closed
    before it), with one report line per row left out (unknown unit or topic, created after
    ``start``).  Raises ForecastInputError when the file cannot be read or no order is open."""
    from sim.fit.read import FitError, load_mapping, read_export

    try:
        ex = read_export(path, load_mapping(mapping))
    except FitError as e:
        raise ForecastInputError(f"--open {e}") from None
    t = ex.table
    origin = pd.Timestamp(start)

    def hours(col: str) -> pd.Series:
        if col not in t:
            return pd.Series(np.nan, index=t.index)
        return (t[col] - origin).dt.total_seconds() / 3600.0

    created, signed, replied, closed = hours("created"), hours("signed"), hours("replied"), hours("closed")
    problems: list[str] = []
    ids = t["order_id"] if "order_id" in t else pd.Series(range(len(t)))
    after = created >= 0
    if after.all():
        raise ForecastInputError(f"--from {start}: every order of {path} was created on or after it "
                                 f"(created {t['created'].min():%Y-%m-%d} to {t['created'].max():%Y-%m-%d})")
    late = np.nonzero(after.to_numpy())[0]
    for i in late[:20]:
        problems.append(f"{path} line {ex.lines[i]}: order {ids.iloc[i]} created after --from {start}")
    if len(late) > 20:
        problems.append(f"{path}: {len(late) - 20:,} more orders created after --from {start} "
                        f"({len(late):,} in all)")
    is_open = ~after & ~(closed < 0)
    if "status" in t:
        is_open &= ~((t["status"] == "closed") & closed.isna())
    units = {u.name: i for i, u in enumerate(scn.units)}
    topics = {x.name: i for i, x in enumerate(scn.topics)}
    channels = {c: i for i, c in enumerate(scn.demand.channel_shares)}
    rows = []
    for i in np.nonzero(is_open.to_numpy())[0]:
        r = t.iloc[i]
        where = f"{path} line {ex.lines[i]}: order {ids.iloc[i]}"
        resp = units.get(str(r.get("responsible_unit", r.get("unit", ""))))
        unit = units.get(str(r.get("unit")), resp) if pd.notna(r.get("unit")) else resp
        topic = topics.get(str(r.get("topic"))) if "topic" in t else 0
        if resp is None or unit is None:
            problems.append(f"{where}: unit {r.get('responsible_unit', r.get('unit'))!r} is not in the scenario")
            continue
        if topic is None:
            problems.append(f"{where}: topic {r.get('topic')!r} is not in the scenario")
            continue
        extensions = int(r.get("extensions", 0) or 0)
        reopens = int(r.get("reopens", 0) or 0)
        replies = int(r.get("replies", 0) or 0) if "replies" in t else None
        detail = ""
        at_centre = str(r.get("unit")) == CENTRE_NAME
        if at_centre and not replied.iloc[i] < 0:
            stage, since, unit = "centre", created.iloc[i], CENTRE
        elif not signed.iloc[i] < 0:
            stage, since, unit, detail = "unsigned", created.iloc[i], resp, "sign"
        elif unit != resp and not replied.iloc[i] < 0:
            # signed by a unit the responsibility list does not name: it returns the order
            stage, since, detail = "unsigned", signed.iloc[i], "return"
        elif replied.iloc[i] < 0 and not (reopens and replies is not None and replies <= reopens):
            stage, since = "replied", replied.iloc[i]
        elif replied.iloc[i] < 0:
            # reopened (重办) after its last reply, a reply of this round still to come: in
            # hand since about the reply (the reopen's time is not in the export)
            stage, since, detail = ("extended" if extensions else "handling"), replied.iloc[i], "signed"
        else:
            stage, since, detail = ("extended" if extensions else "handling"), signed.iloc[i], "signed"
        due = (t["reply_deadline"].iloc[i] - origin).total_seconds() / 3600.0 if "reply_deadline" in t else np.nan
        sign_due = (t["sign_deadline"].iloc[i] - origin).total_seconds() / 3600.0 if "sign_deadline" in t else np.nan
        rows.append({
            "order": int(ids.iloc[i]) if str(ids.iloc[i]).isdigit() else int(i),
            "category": CATEGORIES.index(r["category"]), "urgent": bool(r.get("urgent", False)),
            "topic": topic, "channel": channels.get(str(r.get("channel")), 0), "responsible": resp,
            "unit": unit, "stage": stage, "detail": detail, "arrival": created.iloc[i],
            "sign_due": sign_due, "due": due, "since": since, "hops": int(r.get("returns", 0) or 0),
            "reopens": reopens, "rounds": reopens, "extensions": extensions, "escalated": False,
        })
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    if not len(table):
        raise ForecastInputError(f"--open {path}: no order is open at {start} (--from)")
    return table, problems
