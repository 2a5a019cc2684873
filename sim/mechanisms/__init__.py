"""The six mechanisms (六个一), one policy object each."""

from sim.mechanisms.base import Mechanism
from sim.mechanisms.one_list import OneList
from sim.mechanisms.one_model import OneModel
from sim.mechanisms.one_plan import OnePlan
from sim.mechanisms.one_set import OneSet
from sim.mechanisms.one_standard import OneStandard
from sim.mechanisms.one_team import OneTeam

REGISTRY: dict[str, type[Mechanism]] = {
    m.name: m for m in (OneModel, OneList, OneStandard, OneTeam, OneSet, OnePlan)
}

__all__ = ["REGISTRY", "Mechanism"]
