"""Where the runs of a study execute: in this process, a pool of local processes, or Dask.

Every executor takes a function and jobs and yields the results as runs finish, in whatever
order; the study orders them by (design point, seed).  Each run depends only on its scenario
and seed, so the same study gives the same table under any executor and number of workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

EXECUTORS = ("serial", "processes", "dask")


class Executor(Protocol):
    """Runs ``fn`` over ``jobs`` and yields each result as it finishes (any order)."""

    workers: int

    def map_unordered(
        self,
        fn: Callable[[Any], Any],
        jobs: Iterable[Any],
        on_error: Callable[[Any, BaseException], Any] | None = None,
    ) -> Iterator[Any]: ...

    def close(self) -> None: ...


def default_jobs() -> int:
    """Number of workers when none is given: the usable cores."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def make_executor(name: str, jobs: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor called ``name`` with ``jobs`` workers (default: all cores).

    ``scheduler`` (dask only): address of a running scheduler, e.g. tcp://host:8786; without
    it a local cluster of ``jobs`` single-threaded worker processes is started.  Raises
    StudyError for an unknown name, jobs < 1, a scheduler given to another executor, Dask not
    installed, or a scheduler that cannot be reached."""
    from sim.batch.store import StudyError

    if jobs is not None and jobs < 1:
        raise StudyError(f"--jobs {jobs}: give a number of workers >= 1")
    n = jobs or default_jobs()
    if scheduler and name != "dask":
        raise StudyError(f"--scheduler {scheduler}: only used with --executor dask")
    if name == "serial":
        from sim.batch.executors.serial import SerialExecutor

        return SerialExecutor()
    if name == "processes":
        from sim.batch.executors.processes import ProcessExecutor

        return ProcessExecutor(n)
    if name == "dask":
        from sim.batch.executors.dask_cluster import DaskExecutor

        return DaskExecutor(n, scheduler)
    raise StudyError(f"--executor {name}: unknown executor (allowed: {', '.join(EXECUTORS)})")
