"""Discrete-event simulator of a 12345 hotline's work-order system (Yuelu District's 六个一).

Public API::

    import sim
    scn = sim.load_scenario("scenarios/yuelu_2021.toml", overrides={"handling.scale": 1.2})
    res = sim.simulate(scn, seed=1)
    res.kpis(); res.monthly(); res.by_unit(); res.events; res.orders
    res.save("results/baseline")
    sim.sweep(scn, grid={"mechanisms.one_team.inspectors": [0, 2, 4]}, seeds=range(1, 6))
    sim.compare(scn, variants={"no_team": {"mechanisms.one_team.enabled": False}}, seeds=30)
    sim.calibrate(scn_path, free=["handling.scale=0.5:2"], seeds=range(1, 11), out="results/calib")
    sim.optimise(scn_path, free=["mechanisms.one_team.inspectors=0:12"],
                 minimise="handler_hours+supervision_actions", out="results/opt")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.scenario import Scenario, ScenarioError, load_scenario, with_overrides

# the policies register their parameter tables ([mechanisms.*]) in the scenario schema
from sim import mechanisms as _policies  # noqa: E402,F401  isort: skip

if TYPE_CHECKING:
    from sim.result import Result

__all__ = [
    "Scenario", "ScenarioError", "load_scenario", "with_overrides", "simulate", "Result",
    "sweep", "compare", "calibrate", "optimise",
]
__version__ = "0.1.0"


def simulate(
    scenario: Scenario,
    seed: int = 1,
    overrides: dict[str, Any] | None = None,
    stream_to: str | None = None,
) -> Result:
    """Run ``scenario`` once with ``seed``; same scenario and seed give identical results.

    ``stream_to``: write the event log to this Parquet file as the run goes (row groups),
    for runs too large to hold their log in memory."""
    from sim.model import run_model
    from sim.result import Result

    if overrides:
        scenario = with_overrides(scenario, overrides)
    log = run_model(scenario, seed, stream_to)
    return Result.from_log(scenario, seed, log)


def sweep(*args: Any, **kwargs: Any) -> Any:
    """A parameter sweep (grid, LHS, Sobol, Morris); see :func:`sim.batch.study.sweep`."""
    from sim.batch.study import sweep as _sweep

    return _sweep(*args, **kwargs)


def compare(*args: Any, **kwargs: Any) -> Any:
    """Variants against a base on common seeds; see :func:`sim.batch.study.compare`."""
    from sim.batch.study import compare as _compare

    return _compare(*args, **kwargs)


def calibrate(*args: Any, **kwargs: Any) -> Any:
    """Fit free fields to a targets file; see :func:`sim.calibrate.study.calibrate`."""
    from sim.calibrate.study import calibrate as _calibrate

    return _calibrate(*args, **kwargs)


def optimise(*args: Any, **kwargs: Any) -> Any:
    """Cheapest settings meeting every target; see :func:`sim.calibrate.study.optimise`."""
    from sim.calibrate.study import optimise as _optimise

    return _optimise(*args, **kwargs)


def __getattr__(name: str) -> Any:
    if name == "Result":
        from sim.result import Result

        return Result
    raise AttributeError(name)
