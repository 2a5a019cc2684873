"""One run of a study, as a worker does it: simulate, compute the indicators, return them.

A worker returns a small record (the year indicators and the open orders by age), never the
event log, so memory stays flat over thousands of runs; with ``logs`` it saves the run folder
itself (atomically, see ``Result.save``) and still returns only the record.  With ``after``
(a picklable function) it hands the Result to that function before dropping it: a caller that
needs a little more of each run than the indicators (the what-if page's chart tables) gets it
made in the worker, without saving and re-reading the run folder.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sim.scenario import Scenario, from_dict


@dataclass(frozen=True)
class RunJob:
    """One (design point, seed): ``key`` from the store, ``scenario`` the validated scenario's
    ``model_dump()`` (plain data: the schema's policy tables are built at import, so a worker
    validates the data again rather than unpickling model classes), ``logs`` a folder or None,
    ``after`` a function called in the worker as ``after(result, point, seed)`` once the
    indicators are made (it must write whatever it keeps atomically: the run counts as
    finished only when its record is stored, after ``after`` returned)."""

    key: str
    point: str
    seed: int
    scenario: dict[str, Any]
    logs: str | None = None
    after: Callable[[Any, str, int], None] | None = None

    @classmethod
    def of(cls, key: str, point: str, seed: int, scenario: Scenario, logs: str | None = None,
           after: Callable[[Any, str, int], None] | None = None) -> RunJob:
        return cls(key, point, seed, scenario.model_dump(mode="python"), logs, after)


def indicators_of(res: Any) -> dict[str, float]:
    """The year indicators and open orders by age (``open_age_<band>``) of a Result."""
    row = {k: float(v) for k, v in res.kpis().iloc[0].items()}
    for band, n in res.open_ages()["open_orders"].items():
        # the age table may repeat the year table's mean and p90 (open_age_mean_wd ...): keep those
        row.setdefault(f"open_age_{band}", float(n))
    return row


def run_one(job: RunJob) -> dict[str, Any]:
    """Run ``job``; an exception becomes a ``failed`` record with its error and traceback.

    Returns {key, point, seed, status, error, traceback, wall_seconds, cpu_seconds,
    indicators}; the timings cover simulate + indicators (+ saving the log and ``after``, when asked)."""
    import sim

    wall, cpu = time.perf_counter(), time.process_time()
    record: dict[str, Any] = {"key": job.key, "point": job.point, "seed": job.seed}
    try:
        res = sim.simulate(from_dict(job.scenario, f"design point {job.point}"), seed=job.seed)
        record["indicators"] = indicators_of(res)
        if job.logs:
            res.save(job.logs)
        if job.after is not None:
            job.after(res, job.point, job.seed)
        del res
        record.update(status="ok", error="", traceback="")
    except Exception as e:  # a failed run is recorded and does not stop the others
        record.update(
            status="failed",
            error=f"{type(e).__name__}: {e}".splitlines()[0] if str(e) else type(e).__name__,
            traceback=traceback.format_exc(),
            indicators={},
        )
    record["wall_seconds"] = time.perf_counter() - wall
    record["cpu_seconds"] = time.process_time() - cpu
    return record


def lost_run(job: RunJob, error: BaseException) -> dict[str, Any]:
    """The record of a run whose worker was lost (killed, out of memory) before it returned."""
    return {
        "key": job.key, "point": job.point, "seed": job.seed, "status": "failed",
        "error": f"worker lost: {type(error).__name__}: {error}".splitlines()[0],
        "traceback": "".join(traceback.format_exception(error)),
        "indicators": {}, "wall_seconds": float("nan"), "cpu_seconds": float("nan"),
    }
