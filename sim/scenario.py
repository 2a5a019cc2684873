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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

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


class ScenarioError(ValueError):
    """A scenario that cannot be run; the message is one line fit for a user."""


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


class CategoryEffects(Strict):
    """Additive effect per category (may be negative)."""

    help: Finite = 0.0
    consult: Finite = 0.0
    complaint: Finite = 0.0
    suggestion: Finite = 0.0


class Run(Strict):
    start: dt.date = Field(description="first day of the run (00:00 is time 0)")
    horizon_days: int = Field(gt=0, le=3660, description="run length in calendar days")


class Calendar(Strict):
    holidays: Literal["chinese", "weekends", "none"] = Field(
        "chinese",
        description="working days: official Chinese holidays and adjusted working days "
        "(chinesecalendar), Monday-Friday, or every day",
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
    start: dt.date = Field(description="first day of the surge")
    end: dt.date = Field(description="last day of the surge (inclusive)")
    factor: Positive = Field(description="multiplier on the arrival rate during the surge")

    @model_validator(mode="after")
    def _ordered(self) -> Surge:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self


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
    surges: list[Surge] = Field(default=[], description="date ranges with a rate multiplier")
    category_shares: CategoryValues = Field(description="share of each category, sum 1")
    urgent_share: Probability = Field(description="share of orders that are urgent (紧急)")
    channel_shares: dict[str, NonNegative] = Field(
        default={"phone": 1.0}, description="share of each intake channel, sum 1"
    )
    hard_share: CategoryValues = Field(
        description="probability that an order of each category is a hard case (疑难): long, "
        "recurring, often unresolved without a joint plan"
    )
    max_orders: int = Field(
        20_000_000, gt=0, description="refuse runs whose expected volume exceeds this"
    )

    @field_validator("category_shares")
    @classmethod
    def _cats(cls, v: CategoryValues) -> CategoryValues:
        _check_shares(v.model_dump(), "category shares")
        return v

    @field_validator("channel_shares")
    @classmethod
    def _channels(cls, v: dict[str, float]) -> dict[str, float]:
        if not v:
            raise ValueError("at least one channel is needed")
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
    population_share: NonNegative = Field(
        0.0, description="streets only: share of local-affairs orders arising in this street"
    )


class Topic(Strict):
    name: str = Field(min_length=1)
    share: Probability = Field(description="share of orders on this topic, sum 1 over topics")
    unit: str = Field(
        description="responsible unit by the responsibility list: a unit name, or '@street' "
        "for the street/town where the citizen lives"
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


class Callback(Strict):
    reach_probability_per_attempt: Probability = Field(
        0.7, description="probability that one call attempt reaches the citizen"
    )
    attempts: int = Field(3, ge=1, le=10, description="call attempts, one per working day")
    window_hours: NonNegative = Field(
        3.0, description="attempts fall uniformly in this many hours after office opening"
    )
    reopen_probability_if_dissatisfied: Probability = Field(
        0.6, description="probability that a dissatisfied callback reopens the order (重办)"
    )
    satisfaction: Satisfaction


class TimeLimits(Strict):
    """The unified time-limit standard (一个标准)."""

    sign_working_days: Positive = Field(1.0, description="sign-for limit, working days")
    sign_urgent_hours: Positive = Field(2.0, description="urgent sign-for limit, clock hours")
    reply_urgent_hours: Positive = Field(24.0, description="urgent reply limit, clock hours")
    reply_working_days: CategoryValues = Field(description="reply limit per category, working days")
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
    orders: int = Field(0, ge=0, description="orders already dispatched at time 0")


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
        streets = [u for u in self.units if u.kind == "street"]
        if any(t.unit == STREET for t in self.topics):
            if not streets:
                raise ValueError("topics: '@street' topics need at least one unit of kind 'street'")
            _check_shares(
                {u.name: u.population_share for u in streets}, "units: streets' population_share"
            )
        return self

    # conveniences -------------------------------------------------------------------------
    @property
    def horizon_hours(self) -> float:
        return self.run.horizon_days * 24.0

    def longest_limit_working_days(self) -> float:
        """Longest reply deadline with all extensions and the loosest unit factor."""
        limits = self.time_limits.reply_working_days.model_dump().values()
        factor = max([1.0] + [params.limit_factor_max() for params in self.policy_params()])
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


def from_dict(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a scenario dict, with every check a run relies on (calendar, volume)."""
    try:
        scn = Scenario.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(validation_message(source, e)) from None
    _check_runnable(scn, source)
    return scn


def _check_runnable(scn: Scenario, source: str) -> None:
    from sim.calendar import CHINESE_CALENDAR_FIRST_YEAR, chinese_calendar_last_year

    last = _last_needed_day(scn, source)
    if scn.calendar.holidays == "chinese":
        first_ok, last_ok = CHINESE_CALENDAR_FIRST_YEAR, chinese_calendar_last_year()
        if scn.run.start.year < first_ok or last.year > last_ok:
            # a start outside the calendar is the start's fault; a start inside it, the horizon's
            field = "run.start" if not first_ok <= scn.run.start.year <= last_ok else "run.horizon_days"
            raise ScenarioError(
                f"{source}: {field}: the Chinese holiday calendar covers {first_ok}-{last_ok}, "
                f"but the run needs {scn.run.start} to {last} (horizon plus the longest "
                f"deadline); choose dates inside it or calendar.holidays = \"weekends\""
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
        margin = calendar_margin_days(scn)
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


def calendar_margin_days(scn: Scenario) -> int:
    """Calendar days past the horizon the working calendar must cover: the longest deadline
    in calendar days (working days stretch over weekends and the longest holiday), plus
    the callback attempts."""
    working_days = scn.longest_limit_working_days() + scn.callback.attempts + 2
    return int(math.ceil(working_days * 7 / 5)) + 10


def build_calendar(scn: Scenario) -> WorkCalendar:
    """The run's working calendar: from the start, over the horizon plus the margin the
    longest deadline needs (``calendar_margin_days``)."""
    from sim.calendar import OfficeHours, WorkCalendar

    days = scn.run.horizon_days + calendar_margin_days(scn)
    office = OfficeHours(tuple((float(a), float(b)) for a, b in scn.calendar.office_hours))
    return WorkCalendar(scn.run.start, days, office, scn.calendar.holidays)


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read, override (dotted paths) and validate a scenario file."""
    data = read_toml(path)
    for dotted, value in (overrides or {}).items():
        apply_override(data, dotted, value)
    return from_dict(data, str(path))


def with_overrides(scn: Scenario, overrides: dict[str, Any], source: str = "overrides") -> Scenario:
    """A copy of ``scn`` with dotted-path overrides, validated again."""
    data = scn.model_dump(mode="python")
    for dotted, value in overrides.items():
        apply_override(data, dotted, value)
    return from_dict(data, source)
