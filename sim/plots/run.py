"""A run's charts together, in reading order."""

from __future__ import annotations

from collections.abc import Callable

from matplotlib.figure import Figure


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
