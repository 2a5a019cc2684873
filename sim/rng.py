"""Named random streams from one seed.

Each stream is derived from ``SeedSequence(seed)`` by a spawn key computed from its name,
not from its position, so adding a stream, or a mechanism drawing more or fewer numbers from
its own stream, never shifts the numbers any other stream gives.  Two scenarios run with the
same seed therefore share common random numbers wherever their behaviour coincides.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

_BATCH = 4096


def stream_key(name: str) -> int:
    """A stable 32-bit key for a stream name (CRC-32 of its UTF-8 bytes)."""
    return zlib.crc32(name.encode("utf-8"))


def generator(seed: int, name: str) -> np.random.Generator:
    """The numpy generator of stream ``name`` under ``seed``."""
    seq = np.random.SeedSequence(entropy=seed, spawn_key=(stream_key(name),))
    return np.random.Generator(np.random.PCG64(seq))


class Stream:
    """Scalar draws served from vectorised batches (one numpy call per 4096 draws).

    Uniforms and standard normals are buffered separately, so a stream's sequence of
    uniforms does not depend on how many normals it has served.
    """

    __slots__ = ("gen", "_u", "_z")

    def __init__(self, gen: np.random.Generator) -> None:
        self.gen = gen
        self._u: list[float] = []
        self._z: list[float] = []

    def uniform(self) -> float:
        if not self._u:
            self._u = self.gen.random(_BATCH).tolist()
        return self._u.pop()

    def normal(self) -> float:
        if not self._z:
            self._z = self.gen.standard_normal(_BATCH).tolist()
        return self._z.pop()

    def lognormal(self, median: float, sigma: float) -> float:
        return median * math.exp(sigma * self.normal())

    def exponential(self, mean: float) -> float:
        return -mean * math.log(1.0 - self.uniform())


class Streams:
    """The per-run family of named streams: ``streams["handling"].uniform()``."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._streams: dict[str, Stream] = {}

    def __getitem__(self, name: str) -> Stream:
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = Stream(generator(self.seed, name))
        return stream

    def numpy(self, name: str) -> np.random.Generator:
        """A fresh numpy generator for vectorised draws of stream ``name``."""
        return generator(self.seed, name)
