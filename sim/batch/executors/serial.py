"""Runs one after another in this process (debugging, profiling, tiny studies)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any


class SerialExecutor:
    workers = 1

    def map_unordered(
        self,
        fn: Callable[[Any], Any],
        jobs: Iterable[Any],
        on_error: Callable[[Any, BaseException], Any] | None = None,
    ) -> Iterator[Any]:
        # fn (run_one) records a run's own errors; on_error is for lost workers, none here
        for job in jobs:
            yield fn(job)

    def close(self) -> None:
        pass
