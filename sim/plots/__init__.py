"""Outcome charts (matplotlib Figures; drawn with the Agg canvas, no pyplot).

For a run (``sim.Result``)::

    import sim.plots
    fig = sim.plots.monthly(res)          # orders by month, holidays shaded
    sim.plots.time_to_close(res); sim.plots.cohorts(res, targets=...); sim.plots.league(res)
    sim.plots.flow(res); sim.plots.daily(res); sim.plots.utilisation(res)

For sweep and comparison folders: ``sim.plots.response.figure``, ``sim.plots.sensitivity.figure``,
``sim.plots.forest.figure`` on their tables, or ``sim.plots.plot_folder(folder)`` for all charts
of any folder.  Every function takes ``lang`` = "zh", "en" or "both" (default).
"""

from __future__ import annotations

from sim.plots.cohorts import cohorts
from sim.plots.daily import daily
from sim.plots.flow import flow
from sim.plots.folder import FolderError, figures, folder_kind, plot_folder
from sim.plots.league import league
from sim.plots.monthly import monthly
from sim.plots.time_to_close import time_to_close
from sim.plots.utilisation import utilisation

__all__ = [
    "monthly", "time_to_close", "cohorts", "league", "flow", "daily", "utilisation",
    "plot_folder", "figures", "folder_kind", "FolderError",
]
