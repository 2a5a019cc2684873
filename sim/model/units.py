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

from sim.port import Order, UnitMonth

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
        "months",
    )

    def __init__(self, index: int, name: str, kind: str, handlers: int):
        self.index = index
        self.name = name
        self.kind = kind
        self.handlers = handlers
        self.capacity = handlers  # handlers + temporarily lent ones
        self.releases: list[float] = []  # when each busy handler is free again (a heap)
        self.wake_pending = False
        self.queue: list[tuple[int, float, int, int, Order]] = []
        self.speed = 1.0  # set by policies (一套指标: >1 after a low monthly ranking)
        self.months: list[UnitMonth] = []  # declared indicators per calendar month of the run

    def waiting(self) -> int:
        return sum(1 for e in self.queue if e[4].queue_token == e[3])


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
    order.queued = True
    heappush(unit.queue, (priority, order.due_unit, next(_seq), order.queue_token, order))


def pop_next(unit: Unit) -> Order | None:
    """The next order to start, skipping entries superseded by a priority raise."""
    queue = unit.queue
    while queue:
        _, _, _, token, order = heappop(queue)
        if token == order.queue_token:
            order.queue_token += 1
            order.queued = False
            return order
    return None
