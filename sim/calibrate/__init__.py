"""Calibration and optimisation (issue 12): fit unknown fields to a district's targets, find the
cheapest settings that meet them, and say how well the targets pin the fields down.

``calibrate`` and ``optimise`` (also ``sim.calibrate``/``sim.optimise``, ``hotline calibrate``/
``hotline optimise``) search with Optuna on common seeds, through the batch layer's executors
and runner, resumable from a journal in the output folder.
"""

import sys
import types
from typing import Any

from sim.calibrate.study import SearchResult, calibrate, optimise

__all__ = ["calibrate", "optimise", "SearchResult"]


class _CallableModule(types.ModuleType):
    """Importing this package makes ``sim.calibrate`` (the attribute of ``sim``) this module
    rather than the function ``sim.calibrate`` of the public API; calling the module calls the
    function, so ``sim.calibrate(...)`` works before and after the import."""

    def __call__(self, *args: Any, **kwargs: Any) -> SearchResult:
        return calibrate(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
