"""Scenario schema, loading and dotted-path overrides.

A scenario is data (a TOML file), never code.  Every field names its unit (``_hours``,
``_working_days``, ``_per_year``, ``_probability``, ``_share``) or says it in its description,
and every error names the file, the field path and what is allowed, in one line.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

if TYPE_CHECKING:
    from sim.calendar import WorkCalendar

SCHEMA_VERSION = 1
CATEGORIES = ("help", "consult", "complaint", "suggestion")
CATEGORY_CHINESE = {"help": "求助", "consult": "咨询", "complaint": "投诉", "suggestion": "建议"}
# The six mechanisms of 六个一 (other policies, such as first contact, are not among them)
SIX = ("one_model", "one_list", "one_standard", "one_team", "one_set", "one_plan")
MECHANISMS = SIX
STREET = "@street"

Probability = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


def _date_only(value: Any) -> Any:
    """A calendar date and nothing more: a date-time (with or without an offset) would have
    its time and offset silently dropped, so it is refused."""
    if isinstance(value, dt.datetime) or (isinstance(value, str) and len(value.strip()) > 10):
        raise ValueError(
            f"expected a date like 2021-01-01, got the date-time {value!s}; the time zone is "
            f"run.timezone"
        )
    return value


Date = Annotated[dt.date, BeforeValidator(_date_only)]


class ScenarioError(ValueError):
    """A scenario that cannot be run; the message is one line fit for a user."""


class ScenarioWarning(UserWarning):
    """A scenario that runs on an assumption the user should know (one line)."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_shares(shares: dict[str, float], what: str) -> dict[str, float]:
    total = sum(shares.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ValueError(f"{what} must sum to 1 (they sum to {total:.6g})")
    return shares


class CategoryValues(Strict):
    """One value per order category: help 求助, consult 咨询, complaint 投诉, suggestion 建议."""

    help: NonNegative
    consult: NonNegative
    complaint: NonNegative
    suggestion: NonNegative

    def get(self, category: str) -> float:
        return getattr(self, category)


class CategoryProbabilities(CategoryValues):
    """One probability per order category (0..1)."""

    help: Probability
    consult: Probability
    complaint: Probability
    suggestion: Probability


class CategoryLimits(CategoryValues):
    """One time limit per order category: positive (a zero limit makes every reply late)."""

    help: Positive
    consult: Positive
    complaint: Positive
    suggestion: Positive


class CategoryEffects(Strict):
    """Additive effect per category (may be negative)."""

    help: Finite = 0.0
    consult: Finite = 0.0
    complaint: Finite = 0.0
    suggestion: Finite = 0.0


class Run(Strict):
    start: Date = Field(description="first day of the run (00:00 local time is time 0)")
    horizon_days: int = Field(gt=0, le=3660, description="run length in calendar days")
    timezone: str = Field(
        "Asia/Shanghai",
        description="IANA time zone of the run's clock; output timestamps carry it",
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(v)
        except (ValueError, KeyError, OSError):
            raise ValueError(f"unknown time zone {v!r} (an IANA name like 'Asia/Shanghai')") from None
        return v


class SpecialDay(Strict):
    """One entry of a holiday file: a date that is a holiday or an adjusted working day."""

    date: Date
    working: bool = Field(description="true: an adjusted working day (调休上班); false: a holiday")


class Calendar(Strict):
    holidays: Literal["chinese", "projected", "weekends", "none"] = Field(
        "chinese",
        description="working days: official Chinese holidays and adjusted working days "
        "(chinesecalendar); 'projected': the official data where it exists and, for later "
        "years, China's statutory holidays computed by the `holidays` package (adjusted "
        "working days unknown); Monday-Friday; or every day",
    )
    holiday_file: str | None = Field(
        None,
        description="CSV file (date,working) of holidays (working = false) and adjusted working "
        "days (working = true) that override the calendar, e.g. the State Council's notice "
        "for a year without official data; a path relative to the scenario file",
    )
    special_days: list[SpecialDay] = Field(
        default=[],
        description="the same entries inline (a holiday_file is read into this list, so the "
        "scenario saved with a run is self-contained)",
    )
    office_hours: list[tuple[NonNegative, NonNegative]] = Field(
        default=[(8.5, 12.0), (14.5, 17.5)],
        description="units' office intervals, hours of the day, e.g. [[8.5, 12.0], [14.5, 17.5]]",
    )

    @field_validator("office_hours")
    @classmethod
    def _ordered(cls, v: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if not v:
            raise ValueError("at least one office interval is needed")
        last_end = 0.0
        for a, b in v:
            if not (a < b):
                raise ValueError(f"office interval [{a}, {b}] ends before it starts")
            if b > 24.0:
                raise ValueError(f"office interval [{a}, {b}] ends after 24:00")
            if a < last_end:
                raise ValueError("office intervals must be in order and not overlap")
            last_end = b
        return v


class Surge(Strict):
    """A date range with more (or fewer) arrivals: for all orders, or for some topics."""

    start: Date = Field(description="first day of the surge")
    end: Date = Field(description="last day of the surge (inclusive)")
    factor: Positive = Field(
        description="multiplier on the total arrival rate (all topics together) during the "
        "surge, e.g. 1.4 for 'orders rose 40 %'"
    )
    topics: list[str] = Field(
        default=[],
        description="names of [[topics]] the surge is about; empty: an all-orders surge (every "
        "topic x factor, the topic mix unchanged).  Named: the total rate still rises by "
        "factor, and the named topics take topics_share of the window's orders",
    )
    topics_share: Probability | None = Field(
        None,
        description="with topics: the named topics' combined share of the window's orders "
        "(e.g. 0.168 for '16.8 % were about epidemic control'); the named topics split it, "
        "and the others the rest, in proportion to their shares.  Omitted: all the extra "
        "orders are in the named topics and the other topics keep their rate (needs factor "
        ">= 1 - the named topics' share).  Overlapping surges multiply topic by topic",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Surge:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        if self.topics_share is not None and not self.topics:
            raise ValueError("topics_share needs topics (the topics it is the share of)")
        return self

    @field_validator("topics")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        dup = sorted({t for t in v if v.count(t) > 1})
        if dup:
            raise ValueError(f"topic {dup[0]!r} is named twice")
        return v


class Demand(Strict):
    annual_orders: NonNegative = Field(
        description="expected orders dispatched to the district per year (per_year), before "
        "month/weekday/hour profiles and surges"
    )
    month_weights: list[NonNegative] = Field(
        default=[1.0] * 12, min_length=12, max_length=12, description="relative volume of each month"
    )
    weekday_weights: list[NonNegative] = Field(
        default=[1.0] * 7, min_length=7, max_length=7, description="relative volume Monday..Sunday"
    )
    hour_weights: list[NonNegative] = Field(
        default=[1.0] * 24, min_length=24, max_length=24, description="relative volume of each hour"
    )
    holiday_weight: NonNegative | None = Field(
        None,
        description="arrival rate on an official public holiday (法定节假日, a day off of the "
        "holiday period; calendar.holidays, holiday_file and special_days say which days) "
        "relative to an ordinary day of the same month (the mean of weekday_weights): such a "
        "day's weight is month weight x holiday_weight x mean weekday weight, whatever its "
        "weekday.  Omitted: no holiday effect, holidays get their weekday's weight (the "
        "behaviour of scenarios written before this field).  Source for the Spring Festival: "
        "湘潭 2022, about 0.6 x an ordinary summer day (xt.hnpfw.com 2022-02-08)",
    )
    surges: list[Surge] = Field(
        default=[], description="date ranges with a rate multiplier, for all orders or for topics"
    )
    category_shares: CategoryProbabilities = Field(description="share of each category, sum 1")
    urgent_share: Probability = Field(description="share of orders that are urgent (紧急)")
    channel_shares: dict[str, Probability] = Field(
        default={"phone": 1.0}, description="share of each intake channel, sum 1"
    )
    hard_share: CategoryProbabilities = Field(
        description="probability that an order of each category is a hard case (疑难): long, "
        "recurring, often unresolved without a joint plan"
    )
    max_orders: int = Field(
        20_000_000, gt=0, description="refuse runs whose expected volume exceeds this"
    )

    @field_validator("category_shares")
    @classmethod
    def _cats(cls, v: CategoryProbabilities) -> CategoryProbabilities:
        _check_shares(v.model_dump(), "category shares")
        return v

    @field_validator("channel_shares")
    @classmethod
    def _channels(cls, v: dict[str, float]) -> dict[str, float]:
        if not v:
            raise ValueError("at least one channel is needed")
        if any(not name.strip() for name in v):
            raise ValueError("a channel name must not be empty")
        return _check_shares(v, "channel shares")

    @field_validator("month_weights", "weekday_weights", "hour_weights")
    @classmethod
    def _some_weight(cls, v: list[float]) -> list[float]:
        if sum(v) <= 0:
            raise ValueError("at least one weight must be positive")
        return v


class Unit(Strict):
    name: str = Field(min_length=1, description="the unit's name (illustrative)")
    kind: Literal["department", "street"] = Field(description="district department 部门 or street/town 街镇")
    handlers: int = Field(ge=0, description="handlers working orders in office hours")
    population_share: Probability = Field(
        0.0, description="streets only: share of local-affairs orders arising in this street"
    )
    lead_factor: Positive = Field(
        1.0, description="multiplier on the outside wait (lead time) of this unit's handling "
        "rounds, over its categories' medians (hotline fit sets it for a unit with enough "
        "replies; 1: the pooled value)"
    )


class Topic(Strict):
    name: str = Field(min_length=1)
    share: Probability = Field(description="share of orders on this topic, sum 1 over topics")
    unit: str = Field(
        description="responsible unit by the responsibility list: a unit name, or '@street' "
        "for the street/town where the citizen lives"
    )
    effort_factor: Positive = Field(
        1.0, description="multiplier on the handler-hours of this topic's orders (some topics "
        "need site visits or several parties)"
    )


class Routing(Strict):
    redispatch_hours: NonNegative = Field(
        1.0, description="mean clock hours the centre takes to redispatch a returned order"
    )
    return_working_hours: NonNegative = Field(
        3.0, description="mean working hours a wrong unit takes to return an order after signing"
    )
    redispatch_accuracy: Probability = Field(
        0.9, description="probability that a redispatch reaches the responsible unit"
    )


class Signing(Strict):
    mean_working_hours: NonNegative = Field(
        1.2, description="mean working hours from dispatch to sign-for (exponential)"
    )
    urgent_mean_hours: NonNegative = Field(
        0.4, description="urgent orders: mean clock hours to sign (on-call roster, exponential)"
    )


class KindFactors(Strict):
    """A multiplier per unit kind (1 = as the baseline's handler-hours)."""

    department: Positive = Field(1.0, description="district departments 部门")
    street: Positive = Field(1.0, description="streets and towns 街镇")


class KindCounts(Strict):
    """A whole number per unit kind (0 = as listed)."""

    department: int = Field(0, ge=-1000, le=1000, description="district departments 部门")
    street: int = Field(0, ge=-1000, le=1000, description="streets and towns 街镇")


class Handling(Strict):
    scale: Positive = Field(1.0, description="multiplier on all handling times (effort and lead)")
    effort_median_hours: Positive = Field(
        1.5, description="handler-hours per handling round, lognormal median"
    )
    effort_sigma: NonNegative = Field(0.6, description="lognormal sigma of handler effort")
    effort_distribution: Literal["lognormal", "exponential"] = Field(
        "lognormal",
        description="handler effort distribution; exponential has the same median "
        "(mean = effort_median_hours / ln 2), for checks against queueing theory",
    )
    kind_effort_factor: KindFactors = Field(
        default_factory=lambda: KindFactors(),
        description="multiplier on handler-hours by unit kind (部门 / 街镇): units differ in speed, "
        "not only in headcount",
    )
    extra_handlers: KindCounts = Field(
        default_factory=lambda: KindCounts(),
        description="handlers added to (or, negative, taken from) every unit of the kind, on top "
        "of [[units]].handlers: the staffing lever of a what-if (three more handlers at each "
        "street office) without editing fifty units",
    )
    lead_median_working_days: CategoryValues = Field(
        description="working days from the end of handler work to the reply (site visits, "
        "coordination, third parties), lognormal median per category"
    )
    lead_sigma: NonNegative = Field(1.2, description="lognormal sigma of the lead time")
    urgent_lead_median_hours: NonNegative = Field(
        6.0, description="urgent orders: clock hours to reply after handler work, median"
    )
    hard_lead_multiplier: Positive = Field(
        4.0, description="hard cases: lead time multiplier without a resolution plan"
    )
    reopen_lead_factor: Positive = Field(
        0.6, description="multiplier on the lead time of a reopened or sent-back round"
    )
    extension_request_probability: Probability = Field(
        0.5, description="probability that a unit foreseeing a missed deadline asks for an extension"
    )
    extension_approval_probability: Probability = Field(
        0.9, description="probability that the centre approves an extension request"
    )
    hurry_probability: Probability = Field(
        0.5, description="probability that a unit foreseeing a missed deadline hurries to meet it"
    )
    hurry_probability_warned: Probability = Field(
        0.8, description="the same after a supervision warning"
    )
    decide_before_working_hours: NonNegative = Field(
        6.5, description="how long before its deadline a unit decides to extend or hurry"
    )
    parkinson_elasticity: NonNegative = Field(
        0.5,
        description="lead time grows as (unit limit / standard limit) ** elasticity: looser "
        "limits, slower work",
    )


class Review(Strict):
    delay_hours: NonNegative = Field(2.0, description="clock hours the centre takes to review a reply")
    sendback_probability: Probability = Field(
        0.02, description="probability a reply is poor and sent back (退回重办)"
    )


class Satisfaction(Strict):
    """Callback outcome model: a latent score u; P(不满意) = 1 / (1 + exp(u));
    P(满意 | not 不满意) = 1 / (1 + exp(basic_cut - u))."""

    base: Finite = Field(description="baseline score of a plain, on-time, resolved order")
    category: CategoryEffects = Field(default_factory=CategoryEffects, description="score added per category")
    late_penalty_per_working_day: NonNegative = Field(
        0.3, description="score lost per working day the reply was late (capped at 10 days)"
    )
    return_penalty: NonNegative = Field(0.3, description="score lost per return/redispatch hop")
    reopen_effect: Finite = Field(
        0.0, description="score added per earlier reopen of the order (a re-handled case)"
    )
    unresolved_penalty: NonNegative = Field(
        5.0, description="score lost when a hard case is left unresolved"
    )
    basic_cut: Finite = Field(6.0, description="score above which 满意 rather than 基本满意 is likely")
    interviewer_effect: NonNegative = Field(
        3.35,
        description="social desirability: how much closer to 不满意 an answer to a text message "
        "(短信回访) is than one to a caller (the other fields are what a call measures), in "
        "score units on the step to 不满意 only. Calibrated with the baseline's score: 8-9 % of "
        "SMS callbacks dissatisfied vs 0.98 % of manual ones (Junshan 2021, DESIGN §7)",
    )


CALLBACK_METHODS = ("manual", "sms", "sampled")
CALLBACK_METHODS_CHINESE = {"manual": "人工回访", "sms": "短信回访", "sampled": "抽样回访"}


class SmsCallback(Strict):
    """短信回访 (method = "sms"): one text message per callback instead of calls.

    It is sent when the first call would be made (the next working day, in
    ``callback.window_hours``); the citizen answers it or not, at any hour."""

    reply_probability: Probability = Field(
        0.6, description="probability that the citizen answers the callback text message "
        "(per order and callback; assumed: no published figure found)"
    )
    reply_mean_hours: Positive = Field(
        4.0, description="mean clock hours from sending to the answer (exponential, cut at "
        "window_hours; assumed)"
    )
    window_hours: Positive = Field(
        48.0, description="clock hours an answer is waited for; none by then: unreached (assumed)"
    )


class SampledCallback(Strict):
    """抽样回访 (method = "sampled"): manual calls to a sample of the orders.

    The rest close when the review accepts the reply, without a callback.  A reopened order is
    always called back."""

    share: Probability = Field(
        0.3, description="share of orders whose reply is followed by a callback (assumed)"
    )


class Escalation(Strict):
    """提级督办: escalation of an order reopened again and again.

    The higher level has each later round handled ahead of normal work (raised queue
    priority), with a joint effort like a resolution plan's (a hard case's resolve
    probability)."""

    after_reopens: int = Field(
        0, ge=0, le=10, description="the reopen (重办) that escalates an order: 2 = its second "
        "reopen; 0 = never"
    )
    resolve_probability: Probability = Field(
        0.95, description="probability an escalated hard case is resolved at its reply, at least "
        "(a joint plan's, mechanisms.one_plan.resolve_probability_with_plan; assumed)"
    )


class Callback(Strict):
    method: Literal["manual", "sms", "sampled"] = Field(
        "manual", description="回访方式: manual 人工回访 (calls on working days), sms 短信回访 "
        "(a text message), sampled 抽样回访 (manual calls to a sample of orders)"
    )
    reach_probability_per_attempt: Probability = Field(
        0.7, description="probability that one call attempt reaches the citizen"
    )
    attempts: int = Field(3, ge=1, le=10, description="call attempts, one per working day")
    window_hours: NonNegative = Field(
        3.0,
        description="attempts fall uniformly in this many hours after office opening; at most "
        "the office day (first opening to last closing, calendar.office_hours)",
    )
    reopen_probability_if_dissatisfied: Probability = Field(
        0.6, description="probability that a dissatisfied callback reopens the order (重办)"
    )
    satisfaction: Satisfaction
    sms: SmsCallback = Field(default_factory=SmsCallback)
    sampled: SampledCallback = Field(default_factory=SampledCallback)
    escalation: Escalation = Field(default_factory=Escalation)


class TimeLimits(Strict):
    """The unified time-limit standard (一个标准)."""

    sign_working_days: Positive = Field(1.0, description="sign-for limit, working days")
    sign_urgent_hours: Positive = Field(2.0, description="urgent sign-for limit, clock hours")
    reply_urgent_hours: Positive = Field(24.0, description="urgent reply limit, clock hours")
    reply_working_days: CategoryLimits = Field(
        description="reply limit per category, working days (each > 0)"
    )
    max_extensions: int = Field(1, ge=0, le=5, description="extensions allowed per round")


class PolicyParams(Strict):
    """Base of a policy's parameters: the table ``[mechanisms.<name>]``.

    Each policy (``sim.mechanisms``) declares its own subclass in its own module, with its
    defaults and the source or ``assumed`` note of each; ``register_policies`` adds it to the
    schema.  ``enabled = false`` asks the policy for its counterfactual practice."""

    enabled: bool = True

    def limit_factor_max(self) -> float:
        """The loosest factor this policy may put on a unit's time limit (the calendar must
        cover deadlines that long); 1.0 when it never loosens limits."""
        return 1.0


class PolicyTables(Strict):
    """The policies (六个一 and others); each can be switched off to measure its effect.

    Each table's fields are declared by its policy's module in ``sim.mechanisms``."""


# replaced by register_policies with the model of every registered policy's table, under
# this name, so that pickling (process pools) finds the class a scenario holds
Mechanisms: type[PolicyTables] = PolicyTables


# name -> (parameter class, description), in the order the lifecycle consults them
POLICY_PARAMS: dict[str, tuple[type[PolicyParams], str]] = {}


def register_policies(entries: list[tuple[str, type[PolicyParams], str]]) -> None:
    """Add policies' parameter tables to the schema as ``mechanisms.<name>`` (called once, by
    ``sim.mechanisms``, at import).  Rebuilds the ``Mechanisms`` and ``Scenario`` models so
    validation, field paths in errors and ``hotline schema`` see every policy.

    Raises ``ValueError`` for a name registered twice."""
    from pydantic import create_model
    from pydantic.fields import FieldInfo

    for name, cls, description in entries:
        if name in POLICY_PARAMS:
            raise ValueError(f"policy {name!r} is registered twice")
        POLICY_PARAMS[name] = (cls, description)
    fields = {
        name: (cls, Field(default_factory=cls, description=description))
        for name, (cls, description) in POLICY_PARAMS.items()
    }
    global Mechanisms
    model = create_model(
        "Mechanisms", __base__=PolicyTables, __doc__=PolicyTables.__doc__, __module__=__name__, **fields
    )
    Mechanisms = model
    # pydantic has no public call to retype a field: replace its FieldInfo and rebuild
    info = Scenario.model_fields["mechanisms"]
    Scenario.model_fields["mechanisms"] = FieldInfo.merge_field_infos(
        info, annotation=model, default_factory=model
    )
    Scenario.model_rebuild(force=True)


class InitialBacklog(Strict):
    """Orders open at the run's start, carried in by the forecast's warm start.

    A thin form of the warm start (issue 16): ``sim.model.openorders.initial_backlog_table``
    fills the open-order table, ``sim.model.warm.WarmModel`` resumes it."""

    orders: int = Field(
        0,
        ge=0,
        description=(
            "open orders at time 0: dispatched then to their responsible unit, awaiting its sign-for, "
            "attributes drawn like arrivals' (own streams); carried in by the warm start as a forecast's "
            "open orders are (SNAPSHOT event, carried_in = 1; docs/forecast.md)"
        ),
    )


class Indicators(Strict):
    basic_weight: Probability = Field(
        1.0, description="weight of 基本满意 in the satisfaction rate (Beijing-style variant: 0.9)"
    )


class Scenario(Strict):
    schema_version: Literal[1] = Field(description="version of this schema; must be 1")
    name: str = Field(min_length=1)
    description: str = ""
    run: Run
    calendar: Calendar = Field(default_factory=Calendar)
    demand: Demand
    units: list[Unit] = Field(min_length=1, description="handling units 承办单位")
    topics: list[Topic] = Field(min_length=1, description="the responsibility list 一张清单")
    routing: Routing = Field(default_factory=Routing)
    signing: Signing = Field(default_factory=Signing)
    handling: Handling
    review: Review = Field(default_factory=Review)
    callback: Callback
    time_limits: TimeLimits
    mechanisms: Mechanisms = Field(default_factory=Mechanisms)
    initial_backlog: InitialBacklog = Field(default_factory=InitialBacklog)
    indicators: Indicators = Field(default_factory=Indicators)

    @model_validator(mode="after")
    def _cross_checks(self) -> Scenario:
        names = [u.name for u in self.units]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"units: duplicate unit name {sorted(dup)[0]!r}")
        _check_shares({t.name: t.share for t in self.topics}, "topics: topic shares")
        known = set(names)
        for i, t in enumerate(self.topics):
            if t.unit != STREET and t.unit not in known:
                raise ValueError(
                    f"topics.{i}.unit: unit {t.unit!r} is not defined in [[units]] "
                    f"(allowed: a unit name or '{STREET}')"
                )
        self._check_surge_topics()
        self._check_dates()
        office = self.calendar.office_hours
        day = office[-1][1] - office[0][0]
        if self.callback.window_hours > day:
            raise ValueError(
                f"callback.window_hours: {self.callback.window_hours:g} h after opening runs past "
                f"the office day ({office[0][0]:g} to {office[-1][1]:g}, calendar.office_hours); "
                f"allowed 0 to {day:g}"
            )
        extra = self.handling.extra_handlers
        for i, u in enumerate(self.units):
            if u.handlers + getattr(extra, u.kind) < 0:
                raise ValueError(
                    f"handling.extra_handlers.{u.kind}: {getattr(extra, u.kind)} leaves unit "
                    f"{u.name!r} (units.{i}, {u.handlers} handlers) with fewer than 0; allowed "
                    f">= -{min(v.handlers for v in self.units if v.kind == u.kind)}"
                )
        streets = [u for u in self.units if u.kind == "street"]
        if any(t.unit == STREET for t in self.topics):
            if not streets:
                raise ValueError("topics: '@street' topics need at least one unit of kind 'street'")
            _check_shares(
                {u.name: u.population_share for u in streets}, "units: streets' population_share"
            )
        return self

    def unit_handlers(self) -> list[int]:
        """Each unit's handlers as run, in [[units]] order: its listed ``handlers`` plus
        ``handling.extra_handlers`` of its kind (never below 0: the scenario refuses that)."""
        extra = self.handling.extra_handlers
        return [u.handlers + getattr(extra, u.kind) for u in self.units]

    def _check_surge_topics(self) -> None:
        """A topic surge names known topics and can be met with non-negative rates."""
        shares = {t.name: t.share for t in self.topics}
        for i, surge in enumerate(self.demand.surges):
            if not surge.topics:
                continue
            for name in surge.topics:
                if name not in shares:
                    raise ValueError(
                        f"demand.surges.{i}.topics: unknown topic {name!r} (allowed: the names "
                        f"of [[topics]])"
                    )
            named = sum(shares[n] for n in surge.topics)
            if named <= 0:
                raise ValueError(
                    f"demand.surges.{i}.topics: the named topics have share 0, so no order of "
                    f"theirs can rise (name topics with a positive share)"
                )
            if surge.topics_share is not None and named >= 1.0 - 1e-12:
                raise ValueError(
                    f"demand.surges.{i}.topics: the named topics hold every order, so "
                    f"topics_share cannot differ from 1 (leave topics empty for an all-orders "
                    f"surge)"
                )
            if surge.topics_share is None and surge.factor < 1.0 - named:
                raise ValueError(
                    f"demand.surges.{i}.factor: {surge.factor:g} would need the named topics "
                    f"(share {named:.4g}) to lose more than all their orders; allowed >= "
                    f"{1.0 - named:.4g}, or give topics_share"
                )

    def _check_dates(self) -> None:
        """Dated inputs must fall inside the dates the run uses: never silently ignored."""
        first = self.run.start
        try:
            end = first + dt.timedelta(days=self.run.horizon_days - 1)
        except OverflowError:
            return  # reported by the date range check at load time, with its field
        for i, surge in enumerate(self.demand.surges):
            if surge.start < first or surge.end > end:
                raise ValueError(
                    f"demand.surges.{i}: {surge.start} to {surge.end} is not inside the run "
                    f"window {first} to {end} (run.start, run.horizon_days)"
                )
        try:
            last = first + dt.timedelta(days=self.run.horizon_days + calendar_margin_days(self))
        except OverflowError:
            return
        seen: set[dt.date] = set()
        for i, day in enumerate(self.calendar.special_days):
            if not first <= day.date <= last:
                raise ValueError(
                    f"calendar.special_days.{i}: {day.date} is not inside the dates the run's "
                    f"calendar covers, {first} to {last} (the run window plus its longest "
                    f"deadline)"
                )
            if day.date in seen:
                raise ValueError(f"calendar.special_days.{i}: {day.date} is listed twice")
            seen.add(day.date)

    # conveniences -------------------------------------------------------------------------
    @property
    def horizon_hours(self) -> float:
        return self.run.horizon_days * 24.0

    def longest_limit_working_days(self, loosest: bool = False) -> float:
        """Longest reply deadline with all extensions: with the loosest unit factor when the
        unified standard is off (units keep their own limits only then), or when ``loosest``."""
        limits = self.time_limits.reply_working_days.model_dump().values()
        factors = [
            params.limit_factor_max()
            for name, params in zip(POLICY_PARAMS, self.policy_params(), strict=True)
            # units keep their own, looser limits only while the unified standard is off
            if loosest or not (name == "one_standard" and getattr(params, "enabled", False))
        ]
        factor = max([1.0, *factors])
        return max(limits) * factor * (1 + self.time_limits.max_extensions)

    def policy_params(self) -> list[PolicyParams]:
        """Every registered policy's parameters, in registration order."""
        return [getattr(self.mechanisms, name) for name in POLICY_PARAMS]

    def expected_orders(self) -> float:
        """Expected dispatched volume over the horizon, surges included (for the volume limit)."""
        from sim.rates import expected_volume  # (numpy: loaded only when a scenario is checked)

        return expected_volume(self)


# -- loading ------------------------------------------------------------------------------------
def _format_loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _describe(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown field (not in the schema; see `hotline schema`)"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        return f"{err['msg']}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"{err['msg']}, got {err.get('input')!r}"
    if kind == "finite_number":
        return f"must be a finite number, got {err.get('input')!r}"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return f"{err['msg']}, got {err.get('input')!r}"


def validation_message(path: str, exc: ValidationError) -> str:
    """One line: file, field path, what is wrong and what is allowed (first error; count)."""
    errors = exc.errors()
    first = errors[0]
    msg = _describe(first)
    loc = _format_loc(first["loc"])
    if first.get("type") == "value_error" and ":" in msg and msg.split(":")[0].count(" ") == 0:
        loc, msg = msg.split(":", 1)[0], msg.split(":", 1)[1].strip()
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{path}: {loc}: {msg}{more}"


def parse_value(text: str) -> Any:
    """A command-line override value: TOML syntax (numbers, booleans, arrays), else a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(data: dict[str, Any], dotted: str, value: Any, source: str = "--set") -> None:
    """Set ``data[a][b][c] = value`` for ``dotted = "a.b.c"``; list items by index."""
    parts = dotted.split(".")
    node: Any = data
    for i, key in enumerate(parts):
        last = i == len(parts) - 1
        where = ".".join(parts[: i + 1])
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise ScenarioError(f"{source}: {where}: no list item {key!r} (0..{len(node) - 1})")
            key_ = int(key)
            if last:
                node[key_] = value
            else:
                node = node[key_]
            continue
        if not isinstance(node, dict):
            raise ScenarioError(f"{source}: {where}: cannot set a field inside a value")
        if last:
            node[key] = value
        else:
            node = node.setdefault(key, {})


def read_toml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.exists():
        raise ScenarioError(f"{p}: no such file")
    if p.is_dir():
        raise ScenarioError(f"{p}: is a folder, not a scenario file")
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{p}: TOML syntax error: {e}") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{p}: not a UTF-8 text file") from None


EXTENDS = "extends"


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"a value ({value!r})"


def merge_scenarios(base: dict[str, Any], child: dict[str, Any], source: str, base_source: str,
                    where: str = "") -> dict[str, Any]:
    """``child`` deep-merged over ``base``: tables merge key by key; every other value (numbers,
    strings, dates, arrays, arrays of tables such as ``[[units]]``) replaces the base's whole.
    A table where the base has a non-table, or the reverse, is a one-line ScenarioError
    naming ``source`` (the child file) and the field."""
    out = dict(base)
    for key, value in child.items():
        path = f"{where}{key}"
        old = base.get(key)
        if key in base and isinstance(old, dict) != isinstance(value, dict):
            raise ScenarioError(
                f"{source}: {path}: is {_kind(value)} here but {_kind(old)} in {base_source} "
                f"(extends): a table can only extend a table"
            )
        if isinstance(value, dict) and isinstance(old, dict):
            out[key] = merge_scenarios(old, value, source, base_source, f"{path}.")
        else:
            out[key] = value
    return out


def read_scenario(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A scenario file as a dict, with its ``extends`` resolved.

    ``extends = "yuelu_2021.toml"`` (top level, a path relative to the file) loads that base
    scenario (itself possibly extending another) and deep-merges this file's tables over it
    (``merge_scenarios``: arrays such as ``[[units]]`` are replaced whole).  The result has
    no ``extends``: it is the scenario as run, so a run folder's saved scenario stands
    alone.  A base's relative ``calendar.holiday_file`` stays relative to the base's file.
    One-line ScenarioError, naming the file and ``extends``, for a base that is missing, not
    a path, or part of a cycle."""
    p = Path(path)
    data = read_toml(p)
    if EXTENDS not in data:
        return data
    name = data.pop(EXTENDS)
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(
            f"{p}: {EXTENDS}: expected the path of a scenario file (relative to this file), "
            f"got {name!r}"
        )
    base_path = Path(name) if Path(name).is_absolute() else p.parent / name
    chain = (*_seen, p.resolve())
    if base_path.resolve() in chain:
        cycle = " -> ".join(str(c.name) for c in (*chain, base_path.resolve()))
        raise ScenarioError(f"{p}: {EXTENDS}: {name!r} leads back to itself ({cycle}); a base "
                            f"scenario must not extend its children")
    if not base_path.is_file():
        what = "is a folder, not a scenario file" if base_path.is_dir() else "no such file"
        raise ScenarioError(f"{p}: {EXTENDS}: {name!r}: {what} (looked for {base_path}; the "
                            f"path is relative to {p.parent or '.'})")
    try:
        base = read_scenario(base_path, chain)
    except ScenarioError as e:
        if _seen:  # the outermost file names the chain once
            raise
        raise ScenarioError(f"{p}: {EXTENDS} {name!r}: {e}") from None
    cal = base.get("calendar")
    if isinstance(cal, dict) and isinstance(cal.get("holiday_file"), str):
        file = Path(cal["holiday_file"])
        if not file.is_absolute():
            base = {**base, "calendar": {**cal, "holiday_file": str(base_path.parent / file)}}
    return merge_scenarios(base, data, str(p), str(base_path))


def read_holiday_file(path: Path, field: str = "calendar.holiday_file") -> list[dict[str, Any]]:
    """Entries of a holiday file: CSV (UTF-8, optional BOM) with a header ``date,working``;
    ``working`` is true/false (also 1/0, workday/holiday, 班/休).  One-line ScenarioError
    naming the file and line on anything else.  Each entry carries its line as ``_line``."""
    import csv

    truth = {"true": True, "1": True, "workday": True, "班": True,
             "false": False, "0": False, "holiday": False, "休": False}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ScenarioError(f"{field}: {path}: no such file") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{field}: {path}: not a UTF-8 text file") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or [c.strip().lower() for c in rows[0][:2]] != ["date", "working"]:
        raise ScenarioError(f"{field}: {path}: line 1: expected the header 'date,working'")
    out = []
    for n, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        try:
            day = dt.date.fromisoformat(row[0].strip())
            working = truth[row[1].strip().lower()]
        except (ValueError, IndexError, KeyError):
            raise ScenarioError(
                f"{field}: {path}: line {n}: expected a date like 2027-02-06 and working = "
                f"true or false, got {','.join(row)!r}"
            ) from None
        out.append({"date": day, "working": working, "_line": n})
    return out


def _read_holiday_file(data: dict[str, Any], source: str) -> tuple[dict[str, Any], dict[int, str]]:
    """The scenario dict with its holiday file read into ``calendar.special_days``, and for
    each entry from the file, its place ('FILE: line N') for error messages."""
    cal = data.get("calendar")
    if not isinstance(cal, dict) or not cal.get("holiday_file"):
        return data, {}
    name = cal["holiday_file"]
    if not isinstance(name, str):
        raise ScenarioError(f"{source}: calendar.holiday_file: expected a file path, got {name!r}")
    path = Path(name)
    if not path.is_absolute() and Path(source).exists():
        path = Path(source).parent / path
    try:
        entries = read_holiday_file(path)
    except ScenarioError as e:
        raise ScenarioError(f"{source}: {e}") from None
    cal = {k: v for k, v in cal.items() if k != "holiday_file"}
    inline = list(cal.get("special_days", []))
    places = {len(inline) + i: f"{name}: line {e.pop('_line')}" for i, e in enumerate(entries)}
    cal["special_days"] = [*inline, *entries]
    return {**data, "calendar": cal}, places


def from_dict(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a scenario dict, with every check a run relies on (calendar, volume).

    A ``calendar.holiday_file`` is read here (relative to ``source``'s folder) into
    ``calendar.special_days``.  Warns (``ScenarioWarning``) when holidays are projected."""
    if EXTENDS in data:
        raise ScenarioError(
            f"{source}: {EXTENDS}: only a scenario file can extend another (load it with "
            f"`sim.load_scenario` or give its path to hotline)"
        )
    data, places = _read_holiday_file(data, source)
    try:
        scn = Scenario.model_validate(data)
    except ValidationError as e:
        msg = validation_message(source, e)
        for i, place in places.items():  # an entry of the holiday file: name the file's line
            msg = msg.replace(f": calendar.special_days.{i}: ", f": calendar.holiday_file: {place}: ")
        raise ScenarioError(msg) from None
    _check_runnable(scn, source)
    return scn


def _check_runnable(scn: Scenario, source: str) -> None:
    import warnings

    from sim.calendar import official_years

    last = _last_needed_day(scn, source)
    official = official_years()
    first_ok, last_ok = official.start, official.stop - 1
    outside = scn.run.start.year < first_ok or last.year > last_ok
    if scn.calendar.holidays == "chinese" and outside:
        # a start outside the calendar is the start's fault; a start inside it, the horizon's
        field = "run.start" if not first_ok <= scn.run.start.year <= last_ok else "run.horizon_days"
        raise ScenarioError(
            f"{source}: {field}: the Chinese holiday calendar covers {first_ok}-{last_ok}, "
            f"but the run needs {scn.run.start} to {last} (horizon plus the longest "
            f"deadline); choose dates inside it, calendar.holidays = \"projected\" or "
            f"\"weekends\""
        )
    if scn.calendar.holidays == "projected":
        years = [y for y in range(scn.run.start.year, last.year + 1) if y not in official]
        if years:
            span = f"{years[0]}" if len(years) == 1 else f"{years[0]}-{years[-1]}"
            warnings.warn(
                ScenarioWarning(
                    f"{source}: calendar.holidays: no official holiday data for {span}; statutory "
                    f"holidays are projected and adjusted working days (调休) are unknown "
                    f"(add them with calendar.holiday_file once published)"
                ),
                stacklevel=3,
            )
    expected = scn.expected_orders()
    if expected > scn.demand.max_orders:
        raise ScenarioError(
            f"{source}: demand.annual_orders: expected volume {expected:,.0f} orders exceeds "
            f"demand.max_orders = {scn.demand.max_orders:,}"
        )


def _last_needed_day(scn: Scenario, source: str) -> dt.date:
    """The last calendar day the run needs (horizon plus deadlines); one-line error past 9999."""
    try:
        scn.run.start + dt.timedelta(days=scn.run.horizon_days)
    except OverflowError:
        raise ScenarioError(
            f"{source}: run.start: {scn.run.start} plus run.horizon_days = {scn.run.horizon_days} "
            f"runs past the last representable date (9999-12-31)"
        ) from None
    try:
        margin = deadline_margin_days(scn)
        return scn.run.start + dt.timedelta(days=scn.run.horizon_days + margin)
    except OverflowError:
        # blame the start when even a ten-year margin would not fit, else the deadlines
        field = "time_limits.reply_working_days"
        if dt.date.max - scn.run.start < dt.timedelta(days=scn.run.horizon_days + 3660):
            field = "run.start"
        raise ScenarioError(
            f"{source}: {field}: {scn.run.start} plus the horizon and the longest deadline "
            f"(time_limits.reply_working_days x mechanisms.one_standard.unit_limit_factor_max x "
            f"(1 + max_extensions)) runs past the last representable date (9999-12-31)"
        ) from None


def deadline_margin_days(scn: Scenario) -> int:
    """Calendar days past the horizon the working calendar must cover: the longest deadline
    in force in calendar days (working days stretch over weekends and the longest holiday),
    plus the callback attempts.  A run is refused when its holiday data stop earlier."""
    working_days = scn.longest_limit_working_days() + scn.callback.attempts + 2
    return int(math.ceil(working_days * 7 / 5)) + 10


def calendar_margin_days(scn: Scenario) -> int:
    """Calendar days past the horizon the working calendar is built for when the holiday
    data reach that far: the margin with the loosest unit factor even when the standard is
    on (so a run's calendar, and its event log, do not depend on that switch); never less
    than ``deadline_margin_days``."""
    working_days = scn.longest_limit_working_days(loosest=True) + scn.callback.attempts + 2
    return max(int(math.ceil(working_days * 7 / 5)) + 10, deadline_margin_days(scn))


def build_calendar(scn: Scenario) -> WorkCalendar:
    """The run's working calendar: from the start, over the horizon plus
    ``calendar_margin_days`` (for official Chinese holidays: as far as the installed data
    reach, and never less than ``deadline_margin_days``), with the holiday-file entries
    (``calendar.special_days``)."""
    from sim.calendar import OfficeHours, WorkCalendar, official_years

    days = scn.run.horizon_days + calendar_margin_days(scn)
    if scn.calendar.holidays == "chinese":
        # (a run needing more than the data was refused when its scenario was loaded)
        covered = (dt.date(official_years().stop - 1, 12, 31) - scn.run.start).days + 1
        days = max(scn.run.horizon_days + deadline_margin_days(scn), min(days, covered))
    office = OfficeHours(tuple((float(a), float(b)) for a, b in scn.calendar.office_hours))
    special = {d.date: d.working for d in scn.calendar.special_days}
    return WorkCalendar(scn.run.start, days, office, scn.calendar.holidays, special)


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read (resolving ``extends``: ``read_scenario``), override (dotted paths) and validate
    a scenario file."""
    data = read_scenario(path)
    for dotted, value in (overrides or {}).items():
        apply_override(data, dotted, value)
    return from_dict(data, str(path))


def with_overrides(scn: Scenario, overrides: dict[str, Any], source: str = "overrides") -> Scenario:
    """A copy of ``scn`` with dotted-path overrides, validated again."""
    data = scn.model_dump(mode="python")
    for dotted, value in overrides.items():
        apply_override(data, dotted, value)
    return from_dict(data, source)
