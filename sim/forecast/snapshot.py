"""The orders open at a snapshot time, each at its stage, with its age, deadline and history.

A snapshot is what an export of the open orders at ``T`` shows, nothing more: it reads only
events before ``T`` (a reply the model worked out ahead of the clock is not seen), and it does
not read hidden attributes (the hard-case flag, pre-drawn fate draws, the effort a START
booked).  The same table comes from a simulated run (``from_events``) or from an export file
(``sim.forecast.openfile``), and the warm start (``sim.model.warm``) resumes it.  The
table's columns and stages are the model's (``sim.model.openorders``), which fills the same
table from a scenario's ``initial_backlog``.

Times in the table are hours relative to the snapshot (negative: before it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.activities import CENTRE, Act
from sim.model.openorders import COLUMNS, STAGE_CODE, STAGES, UNSIGNED_DETAIL

__all__ = ["COLUMNS", "STAGES", "STAGE_CODE", "UNSIGNED_DETAIL", "from_events"]
_LIFECYCLE = {Act.ARRIVE, Act.SIGN, Act.RETURN, Act.REDISPATCH, Act.START, Act.REPLY, Act.SENDBACK,
              Act.CALLBACK, Act.CLOSE, Act.REOPEN, Act.EXTEND, Act.ESCALATE}


def from_events(events: pd.DataFrame, cases: pd.DataFrame, at: float) -> pd.DataFrame:
    """The orders open at time ``at`` (hours of the source run) from its event log and case
    table (coded, as ``sim.result.Result`` holds them); one row per order, ``COLUMNS``.

    An order is open when it arrived before ``at`` and its last lifecycle event before ``at``
    is not CLOSE (or a CALLBACK, which closes at the same time)."""
    ev = events[(events["time"] < at) & (events["order"] >= 0)]
    ev = ev[ev["activity"].isin([int(a) for a in _LIFECYCLE])]
    ev = ev.sort_values(["order", "time"], kind="stable")
    last_act = ev.groupby("order", sort=False)["activity"].last()
    open_ids = last_act.index[~last_act.isin([int(Act.CLOSE), int(Act.CALLBACK)])]
    ev = ev[ev["order"].isin(open_ids)]  # (only the open orders are walked one by one)
    rows = []
    cases_by_id = cases.set_index("order")
    for oid, g in ev.groupby("order", sort=True):
        acts = g["activity"].to_numpy()
        last = int(acts[-1])
        if last in (Act.CLOSE, Act.CALLBACK):
            continue
        times, units, dues, outs = (g["time"].to_numpy(), g["unit"].to_numpy(), g["due"].to_numpy(),
                                    g["outcome"].to_numpy())
        case = cases_by_id.loc[oid]
        responsible = int(case["responsible"])
        unit = int(units[-1])
        detail = ""
        # the round opens at the responsible unit's SIGN or a REOPEN: extensions count from there
        round_open = [i for i, a in enumerate(acts)
                      if (a == Act.SIGN and units[i] == responsible) or a == Act.REOPEN]
        since_round = round_open[-1] if round_open else 0
        extensions = int(((acts == Act.EXTEND) & (np.arange(len(acts)) >= since_round)).sum())
        approved = int(((acts == Act.EXTEND) & (outs == 1) & (np.arange(len(acts)) >= since_round)).sum())
        reopens = int((acts == Act.REOPEN).sum())
        if last in (Act.ARRIVE, Act.REDISPATCH):
            stage, detail = ("centre", "") if unit == CENTRE else ("unsigned", "sign")
        elif last == Act.RETURN:
            stage, detail = "unsigned", "redispatch"
        elif last == Act.SIGN:
            if unit == CENTRE:
                stage = "centre"
            elif unit != responsible:
                stage, detail = "unsigned", "return"
            else:
                stage = "waiting"
        elif last in (Act.SENDBACK, Act.REOPEN, Act.ESCALATE):
            stage = "reopened" if reopens else "waiting"
        elif last in (Act.START, Act.EXTEND):
            stage = "extended" if approved else "handling"
        elif last == Act.REPLY:
            stage = "replied"
        else:  # pragma: no cover - every lifecycle activity is handled above
            raise ValueError(f"order {oid}: unknown last activity {last}")
        # when the stage began: the START of the round in hand, the REPLY, else the last event
        if stage in ("handling", "extended"):
            since = float(times[np.nonzero(acts == Act.START)[0][-1]])
        else:
            since = float(times[-1])
        sign_events = np.isin(acts, [Act.ARRIVE, Act.REDISPATCH])
        sign_due = float(dues[np.nonzero(sign_events)[0][-1]]) if sign_events.any() else np.nan
        deadline_events = (np.isin(acts, [Act.REOPEN, Act.REPLY, Act.ESCALATE])
                           | ((acts == Act.SIGN) & ((units == responsible) | (units == CENTRE)))
                           | ((acts == Act.EXTEND) & (outs == 1)))
        due = float(dues[np.nonzero(deadline_events)[0][-1]]) if deadline_events.any() else np.nan
        rows.append({
            "order": int(oid), "category": int(case["category"]), "urgent": bool(case["urgent"]),
            "topic": int(case["topic"]), "channel": int(case["channel"]), "responsible": responsible,
            "unit": unit, "stage": stage, "detail": detail,
            "arrival": float(times[0]) - at, "sign_due": sign_due - at, "due": due - at, "since": since - at,
            "hops": int((acts == Act.RETURN).sum()), "reopens": reopens,
            "rounds": int(((acts == Act.SENDBACK) | (acts == Act.REOPEN)).sum()),
            "extensions": extensions, "escalated": bool((acts == Act.ESCALATE).any()),
        })
    return pd.DataFrame(rows, columns=list(COLUMNS))
