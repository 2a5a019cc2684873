"""Batch experiments: sweeps, comparisons with common random numbers, sensitivity indices.

``sweep`` and ``compare`` (also ``sim.sweep``/``sim.compare``) run studies on an executor
(serial, local processes, Dask), with a run store that resumes after a crash.
"""

from sim.batch.study import SIX, StudyResult, ablation_variants, compare, run_study, sweep

__all__ = ["sweep", "compare", "run_study", "StudyResult", "ablation_variants", "SIX"]
