"""The SimPy model: orders, units, one order's lifecycle, the callback model, the engine and
how a run starts (empty, or with open orders: the warm start)."""

from sim.model.engine import Model
from sim.model.start import new_model, run_model

__all__ = ["Model", "new_model", "run_model"]
