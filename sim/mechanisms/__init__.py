"""The policies: the six mechanisms of 六个一 and other practices, one module each.

Registration is one line per policy: its module name in ``POLICY_MODULES`` (each module
defines ``POLICY``, its ``sim.port.Policy`` subclass).  Importing this package adds every
policy's parameter table to the scenario schema (``sim.scenario.register_policies``); the
order here is the order in which the lifecycle consults them at each decision point.
"""

from __future__ import annotations

from importlib import import_module

from sim.port import Policy
from sim.scenario import SIX, register_policies

POLICY_MODULES = (
    "one_model",
    "one_list",
    "one_standard",
    "one_team",
    "one_set",
    "one_plan",
    "first_contact",
)

REGISTRY: dict[str, type[Policy]] = {}
for _module in POLICY_MODULES:
    _cls = import_module(f"sim.mechanisms.{_module}").POLICY
    REGISTRY[_cls.name] = _cls
register_policies([(cls.name, cls.Params, cls.title) for cls in REGISTRY.values()])

__all__ = ["REGISTRY", "SIX", "Policy"]
