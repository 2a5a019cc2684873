"""``hotline forecast``: the next days from the orders open at a date (docs/forecast.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from sim.activities import CENTRE
from sim.forecast.run import ForecastInputError
from sim.forecast.state import MechanismState, state_at


def _user_error(message: str) -> Exception:
    return ForecastInputError(message)


def parse_date(text: str, flag: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        sep = "" if flag.endswith("@") else " "  # RUN@DATE is written without a space
        raise _user_error(f"{flag}{sep}{text}: expected a date YYYY-MM-DD") from None


def remap(table: pd.DataFrame, source_scn: Any, scn: Any) -> tuple[pd.DataFrame, list[str]]:
    """Unit and topic indexes of a snapshot taken under ``source_scn``, as ``scn`` numbers
    them (by name); rows naming a unit or topic ``scn`` lacks are reported and dropped."""
    units = {u.name: i for i, u in enumerate(scn.units)}
    topics = {t.name: i for i, t in enumerate(scn.topics)}
    unit_map = {i: units.get(u.name, -2) for i, u in enumerate(source_scn.units)} | {CENTRE: CENTRE}
    topic_map = {i: topics.get(t.name, -2) for i, t in enumerate(source_scn.topics)}
    t = table.copy()
    t["unit"] = t["unit"].map(unit_map)
    t["responsible"] = t["responsible"].map(unit_map)
    t["topic"] = t["topic"].map(topic_map)
    bad = (t["unit"] == -2) | (t["responsible"] == -2) | (t["topic"] == -2)
    problems = [f"order {o}: unit or topic not in the scenario" for o in t.loc[bad, "order"]]
    return t[~bad].reset_index(drop=True), problems


def open_orders_from(spec: str, start: dt.date | None, scn: Any
                     ) -> tuple[pd.DataFrame, dt.date, list[str], str, MechanismState | None]:
    """The open orders of ``--open``: ``RUN_FOLDER@DATE`` (a snapshot of a simulated run) or an
    export file (.csv/.xlsx/.parquet in the orders export format).  Returns the table, the
    forecast start, the dropped rows' report, a description of the source, and the
    mechanisms' state at the date (``sim.forecast.state``: from a run folder's system events
    when its units are the scenario's, by name and order; None, a fresh state, otherwise)."""
    if "@" in spec and Path(spec.rsplit("@", 1)[0]).is_dir():
        from sim.forecast.snapshot import from_events
        from sim.result import Result

        folder, day = spec.rsplit("@", 1)
        at_day = parse_date(day, f"--open {folder}@")
        if start is not None and start != at_day:
            raise _user_error(f"--from {start}: does not match the snapshot date of --open ({at_day})")
        try:
            res = Result.load(folder)
        except FileNotFoundError as e:
            raise _user_error(f"--open {folder}: not a run folder (no {Path(e.filename).name})") from None
        cal = res.context.cal
        at = cal.to_hours(at_day)
        if not 0.0 < at <= res.context.horizon:
            end = res.scenario.run.start + dt.timedelta(days=res.scenario.run.horizon_days)
            raise _user_error(f"--open {spec}: the date must be after the run's start "
                              f"{res.scenario.run.start} and not after its end {end}")
        table = from_events(res.events, res.cases, at)
        table, problems = remap(table, res.scenario, scn)
        same_units = [u.name for u in res.scenario.units] == [u.name for u in scn.units]
        state = state_at(res.events, at, len(scn.units)) if same_units else None
        return table, at_day, problems, f"snapshot of {folder} (seed {res.seed}) at {at_day}", state
    path = Path(spec)
    if not path.exists():
        raise _user_error(f"--open {spec}: no such file or run folder (a snapshot is RUN_FOLDER@YYYY-MM-DD)")
    from sim.forecast.openfile import read_open_orders

    if start is None:
        raise _user_error(f"--open {spec}: an export needs --from (the date it was taken)")
    table, problems = read_open_orders(path, start, scn)
    return table, start, problems, f"export {path} at {start}", None


def print_summary(tables: dict[str, pd.DataFrame], carried: int, start: dt.date, days: int, out: Path) -> None:
    s = tables["summary"]
    print(f"# forecast from {start}, {days} days: {carried} orders carried in")
    print(s.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    u = tables["units"]
    print("\norders expected to miss their deadline, by unit (mean, 90 % band):")
    print(u.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    if "paired" in tables:
        print("\npaired differences (variant - base, same seeds; 95 % CI):")
        print(tables["paired"].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\nwrote {out}/ (daily, units, summary, open_orders"
          f"{', paired' if 'paired' in tables else ''} as .csv and .parquet; charts/)")


