"""The forecast folder: tables (CSV with a UTF-8 BOM, and Parquet) and its manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from sim.result import write_csv

from .run import SeedOutcome, daily_table, paired_table, summary_table, units_table


def write_forecast(out: Path, results: dict[str, list[SeedOutcome]], start: Any, unit_names: list[str],
                   open_orders: pd.DataFrame, manifest: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Write ``daily``, ``units``, ``summary``, ``paired`` (with variants), ``open_orders``
    as CSV + Parquet and ``manifest.json`` into ``out`` (the charts: ``sim.plots.forecast``)."""
    out.mkdir(parents=True, exist_ok=True)
    tables = {
        "daily": daily_table(results, start),
        "units": units_table(results, unit_names),
        "summary": summary_table(results),
        "open_orders": open_orders,
    }
    if len(results) > 1:
        tables["paired"] = paired_table(results)
    for name, table in tables.items():
        write_csv(table, out / f"{name}.csv", index=False)
        table.to_parquet(out / f"{name}.parquet", index=False)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str),
                                       encoding="utf-8")
    return tables


