"""A run's charts together: which exist, and the source line of a Result."""

from __future__ import annotations

from collections.abc import Callable

from matplotlib.figure import Figure

from sim.plots.style import Source, package_version
from sim.result import Result


def source_of(res: Result) -> Source:
    """The source line of one run: scenario name, seed, package version."""
    versions = res.meta.get("versions") or {}
    return Source(res.scenario.name, str(res.seed), str(versions.get("hotline-sim", package_version())))


def run_charts() -> dict[str, Callable[..., Figure]]:
    """Chart name -> function(res, lang, source) for a run folder, in reading order."""
    from sim.plots.cohorts import cohorts
    from sim.plots.daily import daily
    from sim.plots.flow import flow
    from sim.plots.league import league
    from sim.plots.monthly import monthly
    from sim.plots.time_to_close import time_to_close
    from sim.plots.utilisation import utilisation

    return {
        "monthly": monthly,
        "time_to_close": time_to_close,
        "cohorts": cohorts,
        "league": league,
        "flow": flow,
        "daily": daily,
        "utilisation": utilisation,
    }
