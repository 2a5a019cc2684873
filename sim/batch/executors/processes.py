"""A persistent pool of local worker processes (the default executor).

The pool lives for the whole study, so each worker imports ``sim`` once.  At most a few jobs
per worker are in flight at a time: the driver holds a bounded number of pending futures and
pickled scenarios however many runs the study has.

Workers are forked only from a single-threaded driver.  Forking copies the memory of every
thread but runs only the calling one, so a lock another thread held at that moment (Dask's IO
loop or a client's queue feeder when a ``distributed.Client`` is open in the same process, a
notebook kernel's heartbeat) stays locked in the child for ever, and the worker can hang.  When
other threads are alive the pool uses the ``forkserver`` start method instead: a clean
single-threaded server process, which imports ``sim.batch.runner`` once, forks the workers.
(A Dask executor that has been closed leaves no threads behind, so a later study forks again.)
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

IN_FLIGHT_PER_WORKER = 2
# what a forkserver preloads, so its forked workers start with the run function imported
PRELOAD = ["sim.batch.runner"]


def start_method() -> str:
    """``fork`` when this process runs no other thread (fast: workers start with ``sim``
    imported), else ``forkserver`` (safe with threads alive; see the module docstring)."""
    return "fork" if threading.active_count() == 1 else "forkserver"


class ProcessExecutor:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        # decided once, here: the study's own threads start later (the progress bar's monitor
        # is off), and a fork-context pool forks all its workers at the first submit, before
        # it starts its manager thread
        self.start_method = start_method()
        ctx = mp.get_context(self.start_method)
        if self.start_method == "forkserver":
            ctx.set_forkserver_preload(PRELOAD)
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)

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
