"""One work order's mutable record while it moves through the lifecycle."""

from __future__ import annotations

import math

# Phases of an order (for supervision and reminders).
# LEAD: in a handler's hands (effort until effort_end), then the lead time until lead_end
QUEUED, LEAD, REVIEW, CALLBACK, CLOSED, ROUTING = range(6)


class Order:
    """A work order (工单).  Slots keep 85 k (or 1.3 M) of them small and fast."""

    __slots__ = (
        "id",
        "category",
        "urgent",
        "topic",
        "hard",
        "responsible",
        "unit",
        "arrival",
        "hops",
        "round",
        "reopens",
        "extensions_left",
        "due_std",
        "due_unit",
        "due_unit_clock",
        "warned",
        "reminded",
        "criticised",
        "version",
        "watch",
        "supervised_from",
        "followed",
        "reply_at",
        "phase",
        "lead_end",
        "effort_end",
        "effort",
        "resolved",
        "late_days",
        "used",
        "queue_token",
    )

    def __init__(self, oid: int, category: int, urgent: bool, topic: int, hard: bool, responsible: int):
        self.id = oid
        self.category = category
        self.urgent = urgent
        self.topic = topic
        self.hard = hard
        self.responsible = responsible
        self.unit = responsible
        self.arrival = 0.0
        self.hops = 0
        self.round = 0
        self.reopens = 0
        self.extensions_left = 0
        self.due_std = 0.0
        self.due_unit = 0.0
        self.due_unit_clock = 0.0  # due_unit on the working clock (office hours since start)
        self.warned = False
        self.reminded = False
        self.criticised = False
        self.version = 0  # bumps when a scheduled wake-up is superseded
        self.watch = 0  # bumps when supervision's entries for this order go stale
        self.supervised_from = math.inf  # earliest time supervision may act on this round
        self.followed = -1  # the watch token under which supervision put it on its list
        self.reply_at = math.inf  # when this round's reply comes (supervision stops then)
        self.phase = ROUTING
        self.lead_end = 0.0
        self.effort_end = 0.0
        self.effort = 0.0
        self.resolved = True
        self.late_days = 0.0
        self.used = 0  # bit set of fate draws already consumed
        self.queue_token = 0
