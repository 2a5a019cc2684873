"""Dask: a running cluster (``--scheduler tcp://host:8786``) or a local one started here.

For studies that outgrow one machine.  Needs the optional extra: ``pip install -e .[dask]``.
Workers must have the same ``sim`` installed (the run keys include its source digest, but the
workers compute the runs).  As with processes, a bounded number of runs is in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sim.batch.store import StudyError

IN_FLIGHT_PER_WORKER = 2
CONNECT_TIMEOUT = "5s"
# A run is one long pure-Python task.  Dask's statistical profiler samples every worker's
# task thread every 10 ms (stack walks that take the GIL from the run), which is a profile
# nobody reads here: off.  Workers import the run function at start-up, beside the cluster's
# own start, not inside the first run of each worker.  Workers of a remote cluster are
# started by their owner; docs/experiments.md gives the same two settings for them.
WORKER_CONFIG = {"distributed.worker.profile.enabled": False}
WORKER_PRELOAD = ["sim.batch.runner"]


def local_cluster(workers: int) -> Any:
    """A local Dask cluster of ``workers`` single-threaded worker processes, set up for runs
    (WORKER_CONFIG, WORKER_PRELOAD).  Returns a ``distributed.LocalCluster``; the caller
    closes it.  Raises ImportError without the dask extra."""
    import dask
    from distributed import LocalCluster

    # a nanny hands the configuration in force when it is made to its worker process
    with dask.config.set(WORKER_CONFIG):
        return LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True,
            dashboard_address=None, silence_logs=40, preload=WORKER_PRELOAD,
        )


class DaskExecutor:
    def __init__(self, workers: int, scheduler: str | None = None) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise StudyError(
                "--executor dask: Dask is not installed; install the extra: pip install -e '.[dask]'"
            ) from None
        self._cluster = None
        if scheduler:
            try:
                self._client = Client(scheduler, timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError, ValueError) as e:
                raise StudyError(
                    f"--scheduler {scheduler}: cannot reach the Dask scheduler ({e.__class__.__name__}); "
                    f"give a running scheduler's address, e.g. tcp://host:8786, or none for a local cluster"
                ) from None
            self.workers = max(1, sum(self._client.nthreads().values()))
        else:
            self._cluster = local_cluster(workers)
            self._client = Client(self._cluster)
            self.workers = workers

    def map_unordered(
        self,
        fn: Callable[[Any], Any],
        jobs: Iterable[Any],
        on_error: Callable[[Any, BaseException], Any] | None = None,
    ) -> Iterator[Any]:
        from distributed import as_completed

        it = iter(jobs)
        limit = self.workers * IN_FLIGHT_PER_WORKER
        job_of = {}
        for job in _take(it, limit):
            job_of[self._client.submit(fn, job, pure=False)] = job
        if not job_of:
            return
        ac = as_completed(list(job_of))
        for f in ac:
            job = job_of.pop(f)
            try:
                result = f.result()
            except Exception as e:  # a worker lost, or the task could not be sent
                if on_error is None:
                    raise
                result = on_error(job, e)
            f.release()
            nxt = next(it, None)
            if nxt is not None:
                g = self._client.submit(fn, nxt, pure=False)
                job_of[g] = nxt
                ac.add(g)
            yield result

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def _take(it: Iterator[Any], n: int) -> list[Any]:
    out = []
    for _ in range(n):
        job = next(it, None)
        if job is None:
            break
        out.append(job)
    return out
