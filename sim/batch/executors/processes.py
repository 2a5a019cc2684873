"""A persistent pool of local worker processes (the default executor).

The pool lives for the whole study, so each worker imports ``sim`` once.  At most a few jobs
per worker are in flight at a time: the driver holds a bounded number of pending futures and
pickled scenarios however many runs the study has.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

IN_FLIGHT_PER_WORKER = 2


class ProcessExecutor:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        # fork: workers start in milliseconds with sim already imported; the driver holds no
        # threads of its own when the pool starts (the progress bar's monitor is off)
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork"))

    def map_unordered(
        self,
        fn: Callable[[Any], Any],
        jobs: Iterable[Any],
        on_error: Callable[[Any, BaseException], Any] | None = None,
    ) -> Iterator[Any]:
        it = iter(jobs)
        pending: set[Future] = set()
        job_of: dict[Future, Any] = {}
        limit = self.workers * IN_FLIGHT_PER_WORKER
        while True:
            while len(pending) < limit:
                job = next(it, None)
                if job is None:
                    break
                f = self._pool.submit(fn, job)
                job_of[f] = job
                pending.add(f)
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                job = job_of.pop(f)
                try:
                    yield f.result()
                except Exception as e:  # e.g. a worker killed by the system (BrokenProcessPool)
                    if on_error is None:
                        raise
                    yield on_error(job, e)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
