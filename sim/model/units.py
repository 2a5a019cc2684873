"""Handling units (承办单位): a pool of handlers and a priority queue of orders.

Handlers are booked, not simulated: each busy handler is the time it is free again, in a heap,
so an order that finds a free handler costs no wake-up for its release; the unit wakes up
(once) at its next release only while orders are waiting.

The queue is our own heap rather than ``simpy.PriorityResource`` because supervision must be
able to raise the priority of an order already waiting; a raised order is pushed again with a
new token and its old entry is skipped when popped (lazy deletion).
"""

from __future__ import annotations

from heapq import heappop, heappush
from itertools import count

from sim.model.order import Order

URGENT_PRIORITY, RAISED_PRIORITY, NORMAL_PRIORITY = 0, 1, 2


class Unit:
    __slots__ = (
        "index",
        "name",
        "kind",
        "handlers",
        "capacity",
        "releases",
        "wake_pending",
        "queue",
        "speed",
        "limit_factor",
        "lent",
        "months",
    )

    def __init__(self, index: int, name: str, kind: str, handlers: int, limit_factor: float):
        self.index = index
        self.name = name
        self.kind = kind
        self.handlers = handlers
        self.capacity = handlers  # handlers + temporarily lent ones
        self.releases: list[float] = []  # when each busy handler is free again (a heap)
        self.wake_pending = False
        self.queue: list[tuple[int, float, int, int, Order]] = []
        self.speed = 1.0  # 一套指标: >1 after a low monthly ranking
        self.limit_factor = limit_factor  # own limit / standard limit when 一个标准 is off
        self.lent = 0
        self.months: list[MonthCounters] = []  # per calendar month of the run (engine.month_of)

    def waiting(self) -> int:
        return sum(1 for e in self.queue if e[4].queue_token == e[3])


class MonthCounters:
    """What the monthly assessment sees of a unit in one month (events counted by their time)."""

    __slots__ = ("replies", "late", "dissatisfied", "callbacks", "criticised")

    def __init__(self) -> None:
        self.replies = 0
        self.late = 0
        self.dissatisfied = 0
        self.callbacks = 0
        self.criticised = 0


_seq = count()


def free_handlers(unit: Unit, now: float) -> int:
    """Handlers free at ``now``: releases due by now are dropped from the heap first."""
    releases = unit.releases
    while releases and releases[0] <= now:
        heappop(releases)
    return unit.capacity - len(releases)


def occupy(unit: Unit, until: float) -> None:
    heappush(unit.releases, until)


def enqueue(unit: Unit, order: Order, priority: int) -> None:
    """Put ``order`` in ``unit``'s queue (earliest unit deadline first within a priority)."""
    order.queue_token += 1
    heappush(unit.queue, (priority, order.due_unit, next(_seq), order.queue_token, order))


def pop_next(unit: Unit) -> Order | None:
    """The next order to start, skipping entries superseded by a priority raise."""
    queue = unit.queue
    while queue:
        _, _, _, token, order = heappop(queue)
        if token == order.queue_token:
            order.queue_token += 1
            return order
    return None
