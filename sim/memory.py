"""Memory: compact typed arrays for the hot path, and handing freed memory back to the
operating system between the phases of a big run.

A city year allocates and frees several hundred MB in each phase (the simulation's buffers,
reading the streamed log, building the orders table).  glibc's allocator and Arrow's memory
pool keep freed pages for reuse, but the next phase's large numpy arrays are mapped afresh,
so without a release the peak of the whole command counts that memory twice.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from array import array
from functools import cache

import numpy as np

ARRAY_DTYPES = {"d": np.float64, "b": np.int8, "h": np.int16, "i": np.int32, "q": np.int64}


def as_array(code: str, values: np.ndarray) -> array:
    """A numpy array as a typed ``array.array`` (``code``: a key of ``ARRAY_DTYPES``): scalar
    indexing as fast as a list's (it returns Python numbers), at the memory of the numpy
    array.  Raises ``KeyError`` for an unknown code."""
    out = array(code)
    out.frombytes(np.ascontiguousarray(values, dtype=ARRAY_DTYPES[code]).tobytes())
    return out


@cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library is not glibc."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def release_freed_memory() -> None:
    """Return the pages freed so far to the OS (cheap: a few milliseconds)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    pa = sys.modules.get("pyarrow")  # only if Arrow is in use: never import it for this
    if pa is not None:
        pa.default_memory_pool().release_unused()
