"""How a run starts: empty (the engine's ``Model``) or with open orders (the warm start).

A scenario with an ``initial_backlog`` starts with those orders open, through the same warm
start as a forecast from open orders (``sim.model.warm``): there is one way to start from
open orders.  A scenario without one runs the engine's ``Model`` as it always has.
"""

from __future__ import annotations

import gc
from pathlib import Path

from sim.log import EventLog
from sim.memory import release_freed_memory
from sim.model.engine import Model
from sim.scenario import Scenario


def new_model(scn: Scenario, seed: int, stream_to: str | Path | None = None) -> Model:
    """The model of one run of ``scn`` with ``seed``, ready to ``run()``: a ``WarmModel``
    carrying in the scenario's ``initial_backlog`` (``initial_backlog_table``) when it has
    one, else the engine's ``Model``."""
    if not scn.initial_backlog.orders:
        return Model(scn, seed, stream_to)
    # imported here: the warm start's tables need pandas, which a cold run never imports
    # (about 70 MB and 0.2 s of start-up, benchmarks/year.py)
    from sim.model.openorders import initial_backlog_table, prepare
    from sim.model.warm import WarmModel

    table = initial_backlog_table(scn, seed)
    prep = prepare(scn, table)
    return WarmModel(scn, seed, table, prep.ages, prep.before, stream_to)


def run_model(scn: Scenario, seed: int, stream_to: str | Path | None = None) -> EventLog:
    """Simulate ``scn`` with ``seed`` and return its event log (streamed to a Parquet file
    as the run goes when ``stream_to`` is given)."""
    model = new_model(scn, seed, stream_to)
    log = model.run()
    # the model holds reference cycles (model <-> lifecycle, kernel <-> policies): free its orders,
    # fate draws and queues now, before the caller builds its tables, not at some later GC
    del model
    gc.collect()
    release_freed_memory()
    return log
