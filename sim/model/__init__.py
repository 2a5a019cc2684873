"""The SimPy model: orders, units, one order's lifecycle, the callback model and the engine."""

from sim.model.engine import Model, run_model

__all__ = ["Model", "run_model"]
