"""One run's result: its event log and the tables derived from it; save and load a run folder.

A run folder holds the scenario as run (TOML), a manifest (seed, versions, timing), the event
log, system events, cases and orders as self-describing Parquet (names and time-zone-aware
timestamps: ``sim.logfile``), and the small indicator tables as CSV (UTF-8 with BOM, for
Excel).  It is written to a temporary sibling folder and renamed into place, so an
interrupted save never leaves a folder that looks complete.
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

from sim import kpi, logfile
from sim.log import EventLog
from sim.memory import release_freed_memory
from sim.scenario import Scenario, from_dict

MANIFEST = "manifest.json"
RUN_FOLDER_VERSION = 2  # 1: numeric events.parquet with system events (order -1) in it
PACKAGES = (
    "hotline-sim", "simpy", "numpy", "pandas", "pyarrow", "pydantic", "chinesecalendar", "holidays",
)


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
        """One row per year-month of the run ('2022-01' in column ``month``, time order):
        indicators by arrival month (cohorts), and the counts by event month (orders
        dispatched, received and closed in the month) in the ``event_month_*`` columns."""
        return kpi.month_kpis(self.orders, self.context, self.events)

    def by_unit(self) -> pd.DataFrame:
        """Indicators and workload by handling unit."""
        return kpi.unit_kpis(self.events, self.orders, self.context)

    def open_ages(self) -> pd.DataFrame:
        return kpi.open_age_table(self.orders)

    def backlog(self) -> pd.Series:
        return kpi._backlog_series(self.events, self.context)

    def readable_events(self) -> pd.DataFrame:
        """The orders' event log as written to ``events.parquet``: pm4py/XES column names
        (``case:concept:name``, ``concept:name``, ``time:timestamp`` in ``run.timezone``,
        ``org:resource``), Chinese activity and outcome names, and the hour columns.  The
        mechanisms' own events are in :meth:`system_events`."""
        return self._named_events(logfile.EVENTS_FILE)

    def system_events(self) -> pd.DataFrame:
        """The mechanisms' own events (月调度 capacity moves, 考核 assessments, 克难方案
        plans) with names and timestamps, as written to ``system_events.parquet``."""
        return self._named_events(logfile.SYSTEM_FILE)

    def _named_events(self, name: str) -> pd.DataFrame:
        with tempfile.TemporaryDirectory() as tmp:
            self._write_event_files(Path(tmp))
            return pd.read_parquet(Path(tmp) / name)

    def _write_event_files(self, folder: Path) -> None:
        streamed = self.events_path is not None and self._events is None
        batches = logfile.numeric_batches(None if streamed else self.events, self.events_path)
        logfile.write_event_files(batches, self.scenario, self.cases, folder)

    def named_cases(self) -> pd.DataFrame:
        """The case attributes with names (category, urgency, topic, channel, responsible)."""
        return logfile.named_cases(self.cases, self.scenario)

    def named_orders(self) -> pd.DataFrame:
        """The orders table with names and timestamps, as written to ``orders.parquet``."""
        return logfile.named_orders(self.orders, self.scenario)

    # -- saving -----------------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "versions": package_versions(),
            "events": len(self.events),
            "orders": len(self.cases),
            "run_folder_version": RUN_FOLDER_VERSION,
            "timezone": self.scenario.run.timezone,
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
            self._write_event_files(tmp)
            self.named_cases().to_parquet(tmp / "cases.parquet", index=False)
            self.named_orders().to_parquet(tmp / "orders.parquet")
            release_freed_memory()  # Arrow's copies of the tables, before the indicators
            for name, table, index in (
                ("kpi_year", self.kpis(), True),
                ("kpi_month", self.monthly(), False),
                ("kpi_unit", self.by_unit(), True),
                ("open_ages", self.open_ages(), True),
                ("backlog", self.backlog().to_frame(), True),
                ("kpi_year_labelled", self.labelled_kpis(), False),
            ):
                write_csv(table, tmp / f"{name}.csv", index=index)
            (tmp / MANIFEST).write_text(
                json.dumps(self.manifest(), indent=2, ensure_ascii=False), encoding="utf-8"
            )
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
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        with (folder / "scenario.toml").open("rb") as fh:
            scn = from_dict(tomllib.load(fh), str(folder / "scenario.toml"))
        version = manifest.get("run_folder_version", 1)
        if version == 1:  # numeric files, as written before names and timestamps
            events = pd.read_parquet(folder / "events.parquet")
            cases = pd.read_parquet(folder / "cases.parquet")
        elif version == RUN_FOLDER_VERSION:
            events = logfile.read_event_files(folder, scn)
            cases = logfile.coded_cases(pd.read_parquet(folder / "cases.parquet"), scn)
        else:
            raise ValueError(
                f"{folder / MANIFEST}: run_folder_version {version} is newer than this "
                f"hotline-sim reads ({RUN_FOLDER_VERSION}); upgrade hotline-sim"
            )
        return cls(scn, manifest["seed"], events, cases, manifest)


EXCEL_DIGITS = 15  # Excel keeps 15 significant digits of a number


def _excel_cell(v: Any) -> Any:
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and abs(int(v)) >= 10**EXCEL_DIGITS:
        return f'="{int(v)}"'  # text that Excel shows as the number, all digits kept
    if isinstance(v, (float, np.floating)) and np.isinf(v):
        return "inf" if v > 0 else "−inf"  # a leading '-' would make Excel read a formula
    return v


def excel_safe(table: pd.DataFrame) -> pd.DataFrame:
    """A copy fit for Excel: integers of more than 15 digits (big seeds) become ="..." text,
    which Excel shows with every digit instead of rounding them to ...000; infinities (a
    backlog that never recovers) become the word inf, and never '-inf', which Excel reads
    as a formula (#NAME?).  Other values are unchanged, so pandas reads them back as
    written."""
    out = table.copy()
    for col in out.columns:
        values = out[col]
        if values.dtype == object or pd.api.types.is_integer_dtype(values) or pd.api.types.is_float_dtype(values):
            mapped = values.map(_excel_cell)
            if not mapped.equals(values):
                out[col] = mapped.astype(object)
    index = out.index.map(_excel_cell)
    if not index.equals(out.index):
        out.index = index.rename(out.index.name)
    return out


def write_csv(table: pd.DataFrame, path: Path, index: bool = True) -> None:
    """A table as CSV for Excel and pandas: UTF-8 with BOM, Excel-safe values."""
    excel_safe(table).to_csv(path, index=index, encoding="utf-8-sig")
