"""One run's result: its event log and the tables derived from it; save and load a run folder.

A run folder holds the scenario as run (TOML), a manifest (seed, versions, timing), the event
log and orders table as Parquet, and the small indicator tables as CSV (for Excel) and Parquet.
It is written to a temporary sibling folder and renamed into place, so an interrupted save
never leaves a folder that looks complete.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import kpi
from sim.activities import ACTIVITY_CHINESE, ACTIVITY_NAMES, CALLBACK_OUTCOMES, Act
from sim.log import EventLog
from sim.memory import release_freed_memory
from sim.scenario import CATEGORIES, Scenario, from_dict

MANIFEST = "manifest.json"
PACKAGES = ("hotline-sim", "simpy", "numpy", "pandas", "pyarrow", "pydantic", "chinesecalendar")


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


class Result:
    """A run of a scenario with a seed: ``events``, ``orders``, ``kpis()``, ``monthly()`` ..."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        events: pd.DataFrame | None,
        cases: pd.DataFrame,
        meta: dict[str, Any] | None = None,
        events_path: Path | None = None,
    ) -> None:
        self.scenario = scenario
        self.seed = seed
        self._events = events
        self.events_path = events_path  # a streamed log's Parquet file
        self.cases = cases
        self.meta = dict(meta or {})

    @classmethod
    def from_log(cls, scenario: Scenario, seed: int, log: EventLog) -> Result:
        cases = pd.DataFrame(log.cases)
        if log.sink is not None:
            return cls(scenario, seed, None, cases, log.meta, events_path=log.sink.path)
        events = kpi.events_frame(log.columns())  # sorted copies: the buffers can go
        log.release()
        return cls(scenario, seed, events, cases, log.meta)

    @property
    def events(self) -> pd.DataFrame:
        """The event log (read from its Parquet file on first use when it was streamed)."""
        if self._events is None:
            import pyarrow.parquet as pq

            # one column at a time: the Arrow buffers of only one column exist beside the
            # numpy columns already read, never a second copy of the whole log
            pf = pq.ParquetFile(self.events_path)
            columns = {
                name: pf.read(columns=[name]).column(0).to_numpy()
                for name in pf.schema_arrow.names
            }
            self._events = pd.DataFrame(columns, copy=False)
            release_freed_memory()
        return self._events

    # -- derived tables (each computed once) --------------------------------------------------------
    @cached_property
    def context(self) -> kpi.Context:
        return kpi.Context.of(self.scenario)

    @cached_property
    def orders(self) -> pd.DataFrame:
        """One row per dispatched order with milestones and final state at the horizon."""
        table = kpi.orders_table(self.events, self.cases, self.context)
        release_freed_memory()  # the many index arrays it took
        return table

    @cached_property
    def _year(self) -> pd.Series:
        return kpi.year_kpis(self.events, self.orders, self.context)

    def kpis(self) -> pd.DataFrame:
        """The annual indicators as one row."""
        row = self._year.to_frame().T
        row.index = pd.Index([self.seed], name="seed")
        return row

    def labelled_kpis(self) -> pd.DataFrame:
        """The annual indicators as a long table for people: key, 指标, English name, value."""
        k = self._year
        rows = [
            {"indicator": key, "指标": zh, "name": en, "value": k[key]}
            for key, (zh, en, _) in kpi.INDICATORS.items()
            if key in k
        ]
        return pd.DataFrame(rows)

    def monthly(self) -> pd.DataFrame:
        """Indicators by arrival month (cohorts)."""
        return kpi.month_kpis(self.orders, self.context)

    def by_unit(self) -> pd.DataFrame:
        """Indicators and workload by handling unit."""
        return kpi.unit_kpis(self.events, self.orders, self.context)

    def open_ages(self) -> pd.DataFrame:
        return kpi.open_age_table(self.orders)

    def backlog(self) -> pd.Series:
        return kpi._backlog_series(self.events, self.context)

    def readable_events(self) -> pd.DataFrame:
        """The event log with names, dates and pm4py column names (case:concept:name ...)."""
        ev = self.events
        cal = self.context.cal
        start = pd.Timestamp(cal.start)
        names = {int(a): ACTIVITY_NAMES[a] for a in Act}
        units = {i: u.name for i, u in enumerate(self.scenario.units)} | {-1: "热线中心 centre"}
        out = pd.DataFrame(
            {
                "case:concept:name": ev["order"].astype(str),
                "concept:name": ev["activity"].map(names),
                "time:timestamp": start + pd.to_timedelta(ev["time"], unit="h"),
                "org:resource": ev["unit"].map(units),
                "activity_zh": ev["activity"].map({int(a): ACTIVITY_CHINESE[a] for a in Act}),
                "outcome": np.where(
                    ev["activity"] == Act.CALLBACK, ev["outcome"].map(CALLBACK_OUTCOMES), None
                ),
            }
        )
        cats = self.cases.set_index("order")["category"].map(dict(enumerate(CATEGORIES)))
        out["case:category"] = ev["order"].map(cats)
        return out

    # -- saving -----------------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "versions": package_versions(),
            "events": len(self.events),
            "orders": len(self.cases),
            **{k: v for k, v in self.meta.items() if k not in ("seed", "scenario")},
        }

    def save(self, folder: str | Path) -> Path:
        """Write the run folder atomically (temporary folder, then rename)."""
        import tomli_w

        target = Path(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; a run folder is not
            with (tmp / "scenario.toml").open("wb") as fh:
                tomli_w.dump(self.scenario.model_dump(mode="json", exclude_none=True), fh)
            if self.events_path is not None and self._events is None:
                shutil.copyfile(self.events_path, tmp / "events.parquet")
            else:
                self.events.to_parquet(tmp / "events.parquet", index=False)
            self.cases.to_parquet(tmp / "cases.parquet", index=False)
            self.orders.to_parquet(tmp / "orders.parquet")
            release_freed_memory()  # Arrow's copies of the tables, before the indicators
            for name, table in (
                ("kpi_year", self.kpis()),
                ("kpi_month", self.monthly()),
                ("kpi_unit", self.by_unit()),
                ("open_ages", self.open_ages()),
            ):
                table.to_csv(tmp / f"{name}.csv", encoding="utf-8-sig")
            self.backlog().to_frame().to_csv(tmp / "backlog.csv", encoding="utf-8-sig")
            self.labelled_kpis().to_csv(tmp / "kpi_year_labelled.csv", index=False, encoding="utf-8-sig")
            (tmp / MANIFEST).write_text(json.dumps(self.manifest(), indent=2, ensure_ascii=False))
            if target.exists():
                old = target.with_name(f".{target.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                os.replace(target, old)
                try:
                    os.replace(tmp, target)
                except BaseException:
                    os.replace(old, target)  # put the previous run back
                    raise
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target

    @classmethod
    def load(cls, folder: str | Path) -> Result:
        """Read a run folder written by ``save``: indicators are recomputed from its log."""
        import tomllib

        folder = Path(folder)
        manifest = json.loads((folder / MANIFEST).read_text())
        with (folder / "scenario.toml").open("rb") as fh:
            scn = from_dict(tomllib.load(fh), str(folder / "scenario.toml"))
        events = pd.read_parquet(folder / "events.parquet")
        cases = pd.read_parquet(folder / "cases.parquet")
        return cls(scn, manifest["seed"], events, cases, manifest)
