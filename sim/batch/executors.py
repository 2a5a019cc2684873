"""Where replications run: in this process, or in a pool of local processes.

Results come back in the order of the seeds, whatever the executor or the number of workers,
and each run depends only on (scenario, seed): the same inputs give the same table anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def run_all(
    fn: Callable[[Any], T],
    items: Sequence[Any],
    workers: int = 1,
    progress: Callable[[Iterable[T], int], Iterable[T]] | None = None,
) -> list[T]:
    """``[fn(x) for x in items]``, in order, serially or on ``workers`` processes."""
    wrap = progress or (lambda it, n: it)
    if workers <= 1 or len(items) <= 1:
        return list(wrap((fn(x) for x in items), len(items)))
    with ProcessPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(wrap(pool.map(fn, items), len(items)))
