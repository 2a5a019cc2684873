"""Open orders from an export file in the orders export format (docs/orders-export-format.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd


def read_open_orders(path: Path, start: dt.date, scn: Any) -> tuple[pd.DataFrame, list[str]]:
    """The open orders of an export taken at ``start`` (``sim.forecast.snapshot.COLUMNS``)."""
    from sim.forecast.run import ForecastInputError

    raise ForecastInputError(f"--open {path}: reading an export file is not implemented yet; use RUN_FOLDER@DATE")
