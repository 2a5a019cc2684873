"""The policy port: the decision points at which the lifecycle consults its policies, the
narrow kernel a policy may act through, and the work order they both see.

A policy (one of the 六个一 mechanisms, or another practice such as 先行联系) is a
``Policy`` subclass in its own module under ``sim.mechanisms``, generic over its own pydantic
parameter class.  The lifecycle never calls a policy by name: at each decision point it calls
every policy that implements that point, in registration order (``PolicyPort``).  Hooks are
of three shapes:

* **notifications** (``on_sign``, ``on_deadline``, ``on_wait``, ``on_callback``,
  ``on_month``, ``on_quarter``): the policy may act through the kernel;
* **transforms** (``unit_limit_factor``, ``hard_case_lead_factor``, ``hurry_probability``,
  ``resolve_probability``, ``callback_score``, ``reopen_probability``): each policy receives
  the value so far and returns the value in force, so policies compose;
* **the shortcut's question** (``next_change``): the earliest time at which the policy could
  change a given order, so the lifecycle may work a reply out ahead of the clock when no
  policy can intervene before it (docs/architecture.md).

A disabled policy still answers where its counterfactual practice differs from "nothing"
(no responsibility list: more misrouting; no unified standard: units' own, looser limits).
``Policy.active_hooks`` says which points a policy takes part in for its parameters, and
the port keeps, per decision point, the list of those alone: the hot path calls nothing
else.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

import numpy as np

from sim.scenario import PolicyParams

if TYPE_CHECKING:
    from sim.calendar import WorkCalendar
    from sim.rng import Stream


class Order:
    """A work order (工单) while it moves through the lifecycle.  Slots keep 85 k (or 1.3 M)
    of them small and fast.

    Where an order stands *now* is derived, never stored ahead of the clock: it is waiting
    for a handler while ``queued``; in a handler's hands while ``handling`` and the clock is
    before ``reply_at``; past its reply otherwise.  (A reply that no policy can change first
    is worked out ahead of the clock, so ``reply_at`` may lie in the future.)

    ``watch``, ``followed`` and ``supervised_from`` belong to the supervision team; ``warned``
    is set by it and read by the deadline decision."""

    __slots__ = (
        "id",
        "category",
        "urgent",
        "topic",
        "hard",
        "responsible",
        "unit",
        "arrival",
        "sign_due",
        "hops",
        "round",
        "reopens",
        "escalated",
        "extensions_left",
        "due_std",
        "due_unit",
        "due_unit_clock",
        "warned",
        "version",
        "watch",
        "supervised_from",
        "followed",
        "reply_at",
        "queued",
        "handling",
        "started_at",
        "lead_end",
        "effort_end",
        "resolved",
        "late_days",
        "used",
        "queue_token",
    )

    def __init__(self, oid: int, category: int, urgent: bool, topic: int, hard: bool, responsible: int):
        self.id = oid
        self.category = category  # index into sim.scenario.CATEGORIES
        self.urgent = urgent
        self.topic = topic
        self.hard = hard
        self.responsible = responsible  # the unit the responsibility list names
        self.unit = responsible  # the unit holding it now (CENTRE = -1: the centre itself)
        self.arrival = 0.0
        self.sign_due = math.inf  # sign-for deadline after a redispatch (the first: at intake)
        self.hops = 0  # returns and redispatches so far
        self.round = 0  # handling rounds after the first (send-backs, reopens)
        self.reopens = 0
        self.escalated = False  # escalated (提级督办) after repeated reopens: stays so
        self.extensions_left = 0
        self.due_std = 0.0  # reply deadline by the standard (the on-time indicator's)
        self.due_unit = 0.0  # reply deadline the unit works to (looser without 一个标准)
        self.due_unit_clock = 0.0  # due_unit on the working clock (office hours since start)
        self.warned = False  # supervision warned of this deadline
        self.version = 0  # bumps when a scheduled wake-up is superseded
        self.watch = 0  # bumps when supervision's entries for this order go stale
        self.supervised_from = math.inf  # earliest time supervision may act on this round
        self.followed = -1  # the watch token under which supervision put it on its list
        self.reply_at = math.inf  # when this round's reply comes (may be ahead of the clock)
        self.queued = False  # waiting in its unit's queue for a handler
        self.handling = False  # a handler took this round (until the next request)
        self.started_at = math.inf  # when a handler started this round (the START time)
        self.lead_end = 0.0
        self.effort_end = 0.0
        self.resolved = True
        self.late_days = 0.0
        self.used = 0  # bit set of fate draws already consumed
        self.queue_token = 0

    def in_hand(self, now: float) -> bool:
        """A handler has started this round (its START is logged at or before ``now``) and
        it has not replied by ``now``.  (A round taken outside office hours is booked at
        once but starts at the next opening.)"""
        return self.handling and self.started_at <= now < self.reply_at


class UnitMonth:
    """The declared per-unit monthly indicators a policy may read (events counted in the
    month they happen): what the assessment (一套指标) ranks units on."""

    __slots__ = ("replies", "late", "signs", "late_signs", "sendbacks", "callbacks", "dissatisfied", "criticisms",
                 "extensions")

    def __init__(self) -> None:
        self.replies = 0  # replies made (回复)
        self.late = 0  # of which after the standard deadline
        self.signs = 0  # sign-fors (签收)
        self.late_signs = 0  # of which after the sign-for deadline
        self.sendbacks = 0  # replies the centre's review sent back (退回重办)
        self.callbacks = 0  # callbacks that reached the citizen (回访)
        self.dissatisfied = 0  # of which 不满意
        self.criticisms = 0  # public criticisms (通报) of the unit's orders
        self.extensions = 0  # extensions (延期) the unit asked for


@dataclass
class IntakeDecisions:
    """What policies decide at intake (派单), for all ``n`` orders at once.

    ``direct``: bool array (n,), orders the centre answers itself; ``answer_hours_median``:
    clock hours such an answer takes (lognormal median); ``misroute_probability``: the
    probability that a dispatch reaches a wrong unit."""

    direct: np.ndarray
    answer_hours_median: float = 0.0
    misroute_probability: float = 0.0


class Kernel(Protocol):
    """What a policy may use of the run: time, the calendar, its own random stream, the log,
    and a few levers on orders and units.  Nothing else of the model."""

    cal: WorkCalendar  # the working calendar (deadlines, office hours)
    horizon: float  # hours; nothing happens at or after it

    @property
    def now(self) -> float:
        """The simulation clock, hours since the start."""

    def schedule(self, when: float, fn: Callable[[Any], None], arg: Any) -> None:
        """Call ``fn(arg)`` at ``when`` (hours); dropped if at or past the horizon."""

    def record(self, order: int, activity: int, time: float, unit: int,
               due: float = math.nan, value: float = math.nan, outcome: int = -1) -> None:
        """Append an event to the log (``order = -1`` for a system event)."""

    def stream(self, name: str) -> Stream:
        """The policy's own named random stream (independent of every other stream)."""

    def numpy_stream(self, name: str) -> np.random.Generator:
        """The same, as a numpy generator (for draws in bulk)."""

    def month_of(self, t: float) -> int:
        """Index of the calendar month of the run that time ``t`` falls in (0 = the first)."""

    def quarter_of(self, t: float) -> int:
        """Index of the calendar quarter of the run that ``t`` falls in (0 = the first)."""

    def next_quarter_start(self, t: float) -> float:
        """When the quarter after the one ``t`` falls in begins (inf past the horizon)."""

    def raise_priority(self, order: Order) -> None:
        """Move a queued order ahead of normal-priority work in its unit's queue."""

    def compress_lead(self, order: Order, share: float) -> None:
        """Cut an order in hand's remaining lead time (after handler work) to ``share``."""

    def book_handler_time(self, order: Order, hours: float) -> float:
        """Book ``hours`` of a handler of the order's unit for work on it (office hours), as
        soon as a handler is free; logs a WORK event.  Returns when the work ends."""

    def unit_count(self) -> int:
        """Number of handling units."""

    def unit_handlers(self, unit: int) -> int:
        """Handlers of ``unit`` by the scenario (lent ones excluded)."""

    def unit_waiting(self, unit: int) -> int:
        """Orders waiting for a handler at ``unit`` now."""

    def change_capacity(self, unit: int, change: int) -> None:
        """Add (or take back) ``change`` temporary handlers at ``unit``; waiting orders
        start at once on added handlers."""

    def set_speed(self, unit: int, speed: float) -> None:
        """Set ``unit``'s speed factor (handling and lead times are divided by it)."""

    def unit_month(self, unit: int, month: int) -> UnitMonth:
        """The declared indicators of ``unit`` in ``month`` (read only)."""


P = TypeVar("P", bound=PolicyParams)

# The decision points, in the order the lifecycle meets them.
HOOKS = (
    "at_intake",
    "unit_limit_factor",
    "on_sign",
    "on_deadline",
    "on_wait",
    "hard_case_lead_factor",
    "hurry_probability",
    "next_change",
    "resolve_probability",
    "callback_score",
    "on_callback",
    "reopen_probability",
    "on_month",
    "on_quarter",
)


class Policy(Generic[P]):
    """A policy: its parameters (``Params``, a ``PolicyParams`` subclass declared in the
    policy's module) and the decision points it implements.  Override only the hooks the
    policy uses; each is documented here with when it is called."""

    name: ClassVar[str]  # the table name under [mechanisms]
    title: ClassVar[str]  # Chinese term and English name
    Params: ClassVar[type[PolicyParams]]

    def __init__(self, params: P) -> None:
        if not isinstance(params, self.Params):
            raise TypeError(f"{self.name}: expected {self.Params.__name__}, got {type(params).__name__}")
        self.params: P = params
        self.enabled: bool = params.enabled
        self.kernel: Kernel | None = None

    def attach(self, kernel: Kernel) -> None:
        """Called once when the run is built, before it starts."""
        self.kernel = kernel

    def active_hooks(self) -> set[str]:
        """The decision points this policy takes part in with its parameters (default: every
        hook it overrides).  A policy that cannot act (off, or nobody to act) returns fewer,
        so the lifecycle does not call it at all."""
        return {h for h in HOOKS if getattr(type(self), h) is not getattr(Policy, h)}

    # -- decision points (defaults are never called: the port skips them) ---------------------
    def at_intake(self, d: IntakeDecisions, category: np.ndarray, urgent: np.ndarray,
                  uniform: np.ndarray) -> None:
        """Before the run, for all orders at once (arrays (n,)): may set ``d``'s fields.
        ``uniform`` is each order's own draw for a direct answer."""

    def unit_limit_factor(self, unit: int, factor: float) -> float:
        """When the run is built, per unit: the factor on the standard time limit the unit
        works to (starts at 1.0)."""
        return factor

    def on_sign(self, order: Order, now: float) -> None:
        """The responsible unit signs for a new order (签收), first round only."""

    def on_deadline(self, order: Order) -> None:
        """A reply deadline was set or moved (new round, approved extension, send-back)."""

    def on_wait(self, order: Order, until: float) -> None:
        """The order will stay open at least until ``until`` (inf: waiting for a handler, or
        for the deadline decision)."""

    def hard_case_lead_factor(self, order: Order, factor: float) -> float:
        """When a hard case's lead time is drawn: the multiplier on it (starts at
        ``handling.hard_lead_multiplier``)."""
        return factor

    def hurry_probability(self, order: Order, p: float) -> float:
        """Shortly before a deadline the unit will miss: the probability that it hurries."""
        return p

    def next_change(self, order: Order, t: float) -> float:
        """The reply is planned for ``t``: the earliest time at which this policy could change
        that (inf: never).  The lifecycle works the reply out at once only when ``t`` is
        before every policy's answer."""
        return math.inf

    def resolve_probability(self, order: Order, p: float) -> float:
        """At a hard case's reply: the probability it is resolved (starts at 1.0)."""
        return p

    def callback_score(self, order: Order, when: float, score: float) -> float:
        """At a reached callback: the latent satisfaction score (sim.model.callback)."""
        return score

    def on_callback(self, order: Order, outcome: int, when: float) -> None:
        """A callback reached the citizen at ``when`` with ``outcome`` (activities.SATISFIED
        ...)."""

    def reopen_probability(self, order: Order, when: float, p: float) -> float:
        """After a dissatisfied callback: the probability the order is reopened."""
        return p

    def on_month(self, now: float) -> None:
        """Monthly tick (月调度 / 考核), at 00:00 of each month after the first."""

    def on_quarter(self, now: float) -> None:
        """Quarterly tick (季分析), at 00:00 of each quarter after the first."""


@dataclass
class PolicyPort:
    """The policies of one run and, per decision point, the bound hooks of those that take
    part (precomputed: the hot path loops over these short lists only)."""

    policies: Sequence[Policy[Any]]
    hooks: dict[str, list[Callable[..., Any]]] = field(init=False)

    def __post_init__(self) -> None:
        self.hooks = {h: [] for h in HOOKS}
        for policy in self.policies:
            for h in policy.active_hooks():
                self.hooks[h].append(getattr(policy, h))

    def __iter__(self) -> Iterator[Policy[Any]]:
        return iter(self.policies)

    def __getitem__(self, name: str) -> Policy[Any]:
        for p in self.policies:
            if p.name == name:
                return p
        raise KeyError(name)
