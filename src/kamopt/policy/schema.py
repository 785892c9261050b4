"""The policy language: a strict pydantic schema for kamopt's YAML policy files.

Every model forbids unknown keys and is immutable. Every field has a docstring with its
unit and default; they feed ``kamopt schema`` (JSON Schema for editors) and the policy
reference in ``docs/policy.md`` through :func:`field_docs`, which reads them from the
source on demand (pydantic's ``use_attribute_docstrings`` would parse every class's
source at import, a third of this module's import time, for output few runs make).
Cross-field rules live in ``model_validator(mode="after")`` and name the fields they
compare.

Expressions (eligibility rules, per-account numbers) are checked for syntax here; their
field names and types are checked against the data at screening time.
"""

from __future__ import annotations

import ast
import functools
import inspect
import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

from kamopt.errors import ExpressionError, one_of


class Strict(BaseModel):
    """Base of every policy model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@functools.cache
def field_docs(model: type[BaseModel]) -> dict[str, str]:
    """Field name -> the docstring written under the field, for ``model`` and its bases.

    The convention pydantic's ``use_attribute_docstrings`` reads: a string literal right
    after an annotated attribute documents it. A field's ``description``, where one is
    set, wins over its docstring."""
    docs: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls is BaseModel:
            continue
        try:
            tree = ast.parse(inspect.cleandoc("\n" + inspect.getsource(cls)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for stmt, after in zip(body, body[1:]):
            if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                    and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                    and isinstance(after.value.value, str)):
                docs[stmt.target.id] = inspect.cleandoc(after.value.value)
    fields = getattr(model, "model_fields", {})
    return {name: fields[name].description or docs.get(name, "") for name in fields
            if fields[name].description or docs.get(name)}


def _check_identifier(value: str) -> str:
    if value != value.strip():
        raise ValueError("must not start or end with spaces")
    bad = sorted({c for c in value if c in "[]|=\"\\" or ord(c) < 32})
    if bad:
        raise ValueError(f"must not contain {' '.join(repr(c) for c in bad)}")
    return value


Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=80), AfterValidator(_check_identifier)
]
"""An id used in constraint names: 1-80 characters, no brackets, '|', '=' or quotes."""


def _check_syntax(text: str) -> str:
    from kamopt.policy.expr import caret, parse

    try:
        parse(text)
    except ExpressionError as err:
        d = err.diagnostics[0]
        where = "" if d.column is None else "\n    " + caret(text, d.column).replace("\n", "\n    ")
        raise ValueError(f"invalid expression: {d.message}{where}") from None
    return text


Expr = Annotated[str, StringConstraints(min_length=1, max_length=2000), AfterValidator(_check_syntax)]
"""A safe expression over account fields (see docs/policy.md, "Expressions")."""

def _number_to_text(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a number or an expression, found true/false")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number, found {value}")
        return repr(value)
    if not isinstance(value, str):
        kind = {list: "a list", dict: "a mapping", type(None): "nothing"}.get(type(value), type(value).__name__)
        raise ValueError(f"expected a number or an expression, found {kind}")
    return value


Number = Annotated[
    Expr,
    BeforeValidator(_number_to_text),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string"}]}),
]
"""A per-account number: a constant, a field name, or an expression (kept as text)."""


NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1)]


# --------------------------------------------------------------------------- data


class DataAdjustment(Strict):
    """One what-if change to a field of the account table: scale it, add to it, or set it,
    on the accounts where a condition holds. Exactly one of ``scale``, ``add``, ``set``."""

    field: Identifier
    """The field to change (a mapped field or a normalised column name)."""
    where: Expr = "true"
    """Which accounts change (true/false expression over the data as read, after the
    adjustments before this one). Default: every account."""
    scale: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    """Multiply the field by this factor (number fields)."""
    add: Annotated[float, Field(allow_inf_nan=False)] | None = None
    """Add this amount to the field (number fields)."""
    set: float | str | None = None
    """Replace the field's value (a number for number fields, text for text fields)."""
    reason: str | None = None
    """Why: shown in the run's log and summary."""

    @model_validator(mode="after")
    def _one_change(self) -> "DataAdjustment":
        given = [k for k in ("scale", "add", "set") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of scale, add, set (found {', '.join(given) or 'none'})")
        if isinstance(self.set, float) and not math.isfinite(self.set):
            raise ValueError("set must be a finite number")
        return self

    def describe(self) -> str:
        """``expansion_potential x 1.2 where segment == 'SMB'``: the change in words."""
        change = (f"x {self.scale:g}" if self.scale is not None
                  else f"+ {self.add:g}" if self.add is not None else f"= {self.set!r}")
        where = "" if self.where.strip() == "true" else f" where {self.where}"
        return f"{self.field} {change}{where}"


class DataSpec(Strict):
    """Where the data lives and how to read it. Paths are relative to the policy file."""

    accounts: str
    """Account table (CSV, TSV or XLSX). Required."""
    kams: str | None = None
    """Optional table of named KAMs (columns ``kam_id, name, pool, hours, max_accounts``).
    When given, every key account is assigned one named KAM. Default: none (plan per pool)."""
    kam_fit: str | None = None
    """Optional account-to-KAM fit table (columns ``account_id, kam_id, hours_factor,
    value_bonus``). Default: none (every KAM of the account's pool fits equally)."""
    delimiter: Literal["auto", ",", ";", "tab"] = "auto"
    """CSV delimiter; ``auto`` sniffs among comma, semicolon and tab. Default ``auto``."""
    decimal: Literal[".", ","] = "."
    """Decimal separator in CSV numbers. Default ``.``."""
    thousands: Literal[",", ".", " ", "'"] | None = None
    """Thousands separator to strip from CSV numbers. Default: none."""
    encoding: str = "utf-8"
    """Text encoding of CSV files (a UTF-8 byte-order mark is accepted). Default ``utf-8``."""
    sheet: str | None = None
    """XLSX sheet name. Default: the first sheet."""
    columns: dict[Identifier, str] = {}
    """Column mapping, ``field: "Column header in your file"``. Fields with a meaning to
    kamopt: ``id`` (required), ``name``, ``current_tier``, ``current_sponsor``. Other
    fields become available under the given name in expressions. Unmapped columns are
    available under their header, lower-cased with non-alphanumerics replaced by ``_``.
    Default: ``{}`` (expects a column ``account_id``)."""
    defaults: dict[Identifier, float | str] = {}
    """Value used for blank cells of a field, e.g. ``{growth_rate: 0}``. Default: none
    (a blank cell where a number is needed is an error naming the row)."""

    adjust: list[DataAdjustment] = []
    """What-if changes to the account data, applied in order after reading it, e.g.
    ``{field: expansion_potential, where: "segment == 'SMB'", scale: 1.2}``. Scenario
    files add to this list with their ``adjust:`` section. Default: none."""

    @model_validator(mode="after")
    def _fit_needs_kams(self) -> "DataSpec":
        if self.kam_fit and not self.kams:
            raise ValueError("data.kam_fit needs data.kams (the named KAM table)")
        return self


# --------------------------------------------------------------------------- scoring


class Criterion(Strict):
    """One criterion of the scoring matrix, scored 1-10."""

    weight: Positive
    """Weight in the weighted score; the weights of all criteria must sum to 1."""
    label: str | None = None
    """Display name. Default: the criterion id."""
    column: Expr | None = None
    """A field (or expression) that already holds the 1-10 score. Give this, or
    ``source`` with ``thresholds`` and ``scores``."""
    source: Expr | None = None
    """A number (field or expression) turned into a score by bands."""
    thresholds: list[float] | None = None
    """Band edges for ``source``, strictly increasing: a value below ``thresholds[0]`` gets
    ``scores[0]``, a value at or above ``thresholds[i]`` gets ``scores[i+1]``."""
    scores: list[Annotated[float, Field(ge=1, le=10)]] | None = None
    """Score of each band (1-10), one more than ``thresholds``."""

    @model_validator(mode="after")
    def _one_way_to_score(self) -> "Criterion":
        if (self.column is None) == (self.source is None):
            raise ValueError("give exactly one of 'column' (a 1-10 score) or 'source' (banded)")
        if self.source is not None:
            if not self.thresholds or not self.scores:
                raise ValueError("'source' needs 'thresholds' and 'scores'")
            if any(b <= a for a, b in zip(self.thresholds, self.thresholds[1:])):
                raise ValueError(f"'thresholds' must be strictly increasing, found {self.thresholds}")
            if len(self.scores) != len(self.thresholds) + 1:
                raise ValueError(
                    f"'scores' needs one more entry than 'thresholds' "
                    f"({len(self.thresholds) + 1}), found {len(self.scores)}"
                )
        elif self.thresholds is not None or self.scores is not None:
            raise ValueError("'thresholds' and 'scores' only go with 'source'")
        return self


class Rule(Strict):
    """A named eligibility rule: accounts for which it is false are excluded."""

    rule: Expr
    """A true/false expression over account fields, e.g. ``credit_score >= 5``."""
    description: str | None = None
    """Why the rule exists, shown in screening and explanations."""


def _rule_from_text(value: Any) -> Any:
    return {"rule": value} if isinstance(value, str) else value


RuleSpec = Annotated[
    Rule,
    BeforeValidator(_rule_from_text),
    # Rule's own schema inlined: a "$ref" to it would dangle, nothing else references Rule.
    WithJsonSchema({"anyOf": [{"type": "string"}, Rule.model_json_schema()]}),
]
"""A rule as an expression, or ``{rule: ..., description: ...}``."""


# --------------------------------------------------------------------------- tiers


class Tier(Strict):
    """A service tier (e.g. gold). Per-account numbers may be constants, fields or expressions."""

    label: str | None = None
    """Display name. Default: the tier id."""
    min_score: Annotated[float, Field(ge=1, le=10)] | None = None
    """Admission: the weighted score must be at least this. Default: no minimum."""
    admit: Expr | None = None
    """Admission: an extra true/false condition. Default: every eligible account."""
    sponsor: bool = False
    """Accounts at this tier need one named executive sponsor. Default false."""
    kam_hours: Number = 0
    """Annual KAM hours one account at this tier needs. Default 0."""
    support_hours: dict[Identifier, Number] = {}
    """Annual hours per support function (ids from ``resources.support``). Default none."""
    cost_to_serve: Number = 0
    """Annual cost to serve one account at this tier (money; counts against the budget),
    excluding KAM salaries, which are planned as pool headcount. Default 0."""
    uplift: Number = 0
    """Annual incremental gross margin at full ramp-up (money). Default 0."""
    retention_gain: Number = 0
    """Annual gross margin protected by lower churn at full ramp-up (money). Default 0."""
    expected_value: Number | None = None
    """Net present value of serving the account at this tier, taken as given (e.g. a
    column from your own model). Replaces uplift, retention_gain and the value model;
    cost_to_serve still uses the budget. Default: computed (see ``value``)."""


# --------------------------------------------------------------------------- resources


class Hiring(Strict):
    """Optional hiring in a KAM pool."""

    max_fte: Annotated[int, Field(ge=0)]
    """Most whole FTE that may be hired this cycle."""
    cost_per_fte: NonNegative
    """Annual fully loaded cost of one hired FTE (money; counts against the budget)."""


class KamPool(Strict):
    """A team of KAMs serving a set of accounts (a region, a segment...)."""

    label: str | None = None
    """Display name. Default: the pool id."""
    accounts: Expr = "true"
    """Which accounts this pool serves (true/false expression). An account goes to the
    first pool, in policy order, whose condition holds. Default: every account."""
    fte: NonNegative | None = None
    """Current headcount (FTE). Required unless named KAMs are given (then their count)."""
    hours_per_fte: Positive = 1600
    """Annual hours one FTE gives to key accounts. Default 1600."""
    span_of_control: Positive = 8
    """Key accounts one FTE can carry. Default 8."""
    hiring: Hiring | None = None
    """Hiring option. Default: no hiring."""


class Sponsor(Strict):
    """A named executive sponsor."""

    title: str | None = None
    """Role, e.g. ``CFO``. Display only."""
    slots: Annotated[int, Field(ge=0)]
    """Most accounts this executive can sponsor."""
    affinity: Expr | None = None
    """Which accounts this executive may sponsor (true/false expression), e.g.
    ``industry in ['Retail', 'Food']``. Default: any account."""


class SupportFunction(Strict):
    """A support function (technical, logistics, marketing...) with annual hours."""

    label: str | None = None
    """Display name. Default: the function id."""
    hours: NonNegative
    """Annual hours available for key accounts."""


class Resources(Strict):
    """Scarce capacities."""

    budget: NonNegative | None = None
    """Annual budget for cost to serve plus hires (money). Default: no budget limit."""
    kam_pools: dict[Identifier, KamPool] = Field(min_length=1)
    """KAM pools by id. At least one."""
    sponsors: dict[Identifier, Sponsor] = {}
    """Executive sponsors by name. Default: none."""
    support: dict[Identifier, SupportFunction] = {}
    """Support functions by id. Default: none."""
    kam_fit_only: bool = False
    """With a fit table: only the listed (account, KAM) pairs are allowed. Default false
    (unlisted pairs of the account's pool fit with factor 1 and no bonus)."""


# --------------------------------------------------------------------------- portfolio


class Soft(Strict):
    """Makes a limit soft: it may be broken at a price."""

    penalty: Positive
    """Money subtracted from the objective per unit of violation (per account for counts
    and shares, per unit of the measure for concentration)."""


class CountLimit(Strict):
    """A min/max on a number of key accounts."""

    min: Annotated[int, Field(ge=0)] | None = None
    """At least this many. Default: no minimum."""
    max: Annotated[int, Field(ge=0)] | None = None
    """At most this many. Default: no maximum."""
    soft: Soft | None = None
    """Make the limit soft. Default: hard."""

    @model_validator(mode="after")
    def _ordered(self) -> "CountLimit":
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class Quota(CountLimit):
    """A quota on a group of accounts, as a count or a share of all key accounts."""

    accounts: Expr
    """Which accounts the quota counts (true/false expression), e.g. ``segment == 'Enterprise'``."""
    min_share: Share | None = None
    """At least this share (0-1) of all key accounts. Default: none."""
    max_share: Share | None = None
    """At most this share (0-1) of all key accounts. Default: none."""

    @model_validator(mode="after")
    def _something_to_enforce(self) -> "Quota":
        if all(v is None for v in (self.min, self.max, self.min_share, self.max_share)):
            raise ValueError("a quota needs at least one of min, max, min_share, max_share")
        if (
            self.min_share is not None
            and self.max_share is not None
            and self.min_share > self.max_share
        ):
            raise ValueError(f"min_share ({self.min_share}) is above max_share ({self.max_share})")
        return self


class Concentration(Strict):
    """No single group may hold more than a share of the portfolio."""

    by: Expr
    """The grouping field or expression (text), e.g. ``industry``."""
    max_share: Share
    """Most share (0-1) of the measure any one group may hold."""
    measure: Expr | None = None
    """What is measured: none = count of key accounts; else a number per account, e.g.
    ``revenue``. Default: count."""
    soft: Soft | None = None
    """Make the limit soft. Default: hard."""


class Incumbents(Strict):
    """How current key accounts are treated."""

    demotion: Literal["forbid", "tier_down", "allow"] = "forbid"
    """``forbid``: an incumbent keeps its tier or moves up (never told it was demoted);
    ``tier_down``: stays a key account, any tier; ``allow``: may leave. Default ``forbid``."""
    exempt_from_rules: bool = True
    """Incumbents are not excluded by eligibility rules or tier admission at their current
    tier (they are flagged instead). Default true."""


class Override(Strict):
    """A manual decision with its reason, shown in every output."""

    account: str
    """Account id."""
    action: Literal["include", "exclude"]
    """Force the account in or out."""
    tier: Identifier | None = None
    """With ``include``: the tier to force. Default: any tier the optimiser picks."""
    reason: str = Field(min_length=1)
    """Why. Required: it is shown in the outputs."""

    @model_validator(mode="after")
    def _tier_only_on_include(self) -> "Override":
        if self.tier is not None and self.action == "exclude":
            raise ValueError("'tier' only goes with action 'include'")
        return self


class Portfolio(Strict):
    """Portfolio rules."""

    key_accounts: CountLimit = CountLimit()
    """Min/max number of key accounts in total. Default: none."""
    tiers: dict[Identifier, CountLimit] = {}
    """Min/max number of key accounts per tier id. Default: none."""
    quotas: dict[Identifier, Quota] = {}
    """Quotas by id (segment, region...). Default: none."""
    max_new_promotions: Annotated[int, Field(ge=0)] | None = None
    """Most accounts promoted this cycle that are not key accounts today. Default: no limit."""
    max_new_promotions_soft: Soft | None = None
    """Make ``max_new_promotions`` soft. Default: hard."""
    concentration: dict[Identifier, Concentration] = {}
    """Concentration limits by id. Default: none."""
    incumbents: Incumbents = Incumbents()
    """Treatment of current key accounts."""
    must_include: list[str] = []
    """Account ids that must be key accounts (reason shown: "must_include list")."""
    must_exclude: list[str] = []
    """Account ids that must not be key accounts."""
    overrides: list[Override] = []
    """Manual decisions with reasons."""
    change_penalty: NonNegative = 0
    """Money subtracted per account whose tier changes from today (stability). Default 0."""


# --------------------------------------------------------------------------- value, solver


class Value(Strict):
    """How uplift and retention become a net present value."""

    horizon_years: Annotated[int, Field(ge=1, le=10)] = 3
    """Years of value counted. Default 3."""
    discount_rate: Annotated[float, Field(ge=0, le=1)] = 0.08
    """Yearly discount rate (0.08 = 8 %). Default 0.08."""
    ramp_up: list[Annotated[float, Field(ge=0, le=1)]] = Field(default=[0.5, 1.0], min_length=1)
    """Share of the full uplift and retention gain realised in year 1, 2, ...; the last
    entry holds for later years. ``[0.5, 1.0]`` pays back over about 24 months. Default
    ``[0.5, 1.0]``."""


class SolverSpec(Strict):
    """Solver settings (each can be overridden on the command line)."""

    name: Literal["highs", "cbc"] = "highs"
    """``highs`` (default) or ``cbc``."""
    time_limit: Positive = 60
    """Seconds. Default 60."""
    gap: Annotated[float, Field(ge=0, le=1)] = 0.0001
    """Relative optimality gap at which to stop (0.0001 = 0.01 %). Default 0.0001."""
    threads: Annotated[int, Field(ge=0)] = 0
    """Solver threads; 0 = the solver's default. Default 0."""


# --------------------------------------------------------------------------- analysis


class MarginalSteps(Strict):
    """How far each capacity or portfolio limit is moved to price "one more unit" of it."""

    kam_fte: Positive = 1
    """FTE added to a KAM pool; its hours (``hours_per_fte``) and span of control move with
    it. With named KAMs, one more FTE is one more unnamed person of the pool, with the
    pool's hours and span, who may serve any of its accounts at no extra cost. Default 1."""
    sponsor_slots: Annotated[int, Field(ge=1)] = 1
    """Slots added to an executive sponsor. Default 1."""
    support_hours: Positive = 100
    """Annual hours added to a support function. Default 100."""
    budget: Positive = 10000
    """Money added to the annual budget. Default 10000."""
    portfolio_limits: Annotated[int, Field(ge=1)] = 1
    """Accounts by which a count limit is relaxed (a max raised, a min lowered): min/max key
    accounts, per tier, quota counts, max new promotions. Default 1."""
    portfolio_shares: Annotated[float, Field(gt=0, le=1)] = 0.01
    """Share by which a share limit is relaxed (quota ``min_share``/``max_share``,
    concentration ``max_share``); 0.01 = one percentage point. Default 0.01."""


class MarginalValues(Strict):
    """The value of one more unit of each capacity and binding portfolio limit."""

    exact: bool = False
    """Also compute exact values: re-solve the MILP once per capacity and per binding
    portfolio limit with that limit moved one step in the relaxing direction, in parallel
    worker processes (as ``kamopt solve --marginal-values``). Default false: only the
    LP-relaxation estimate, which every solve computes."""
    lp_estimate: bool = True
    """Compute the LP-relaxation estimate with every solve. Default true; false leaves
    ``lp_estimate`` empty. The LP (about 0.4 s at 20,000 accounts) is the one whose prices
    explanations.csv uses too, so a plan that is written solves it either way."""
    steps: MarginalSteps = MarginalSteps()
    """Step per kind of capacity or limit."""
    step_overrides: dict[str, Positive] = {}
    """Steps for single items, by the item names of ``summary.json``: ``kam_fte[<pool>]``,
    ``sponsor_slots[<sponsor>]``, ``support_hours[<function>]``, ``budget``, or a portfolio
    limit (``max_key_accounts``, ``quota_max[<quota>]``...), e.g.
    ``{"kam_fte[Iberia]": 0.5, "support_hours[logistics]": 20}``. Default: none."""


class Analysis(Strict):
    """Extra evidence computed with a plan."""

    marginal_values: MarginalValues = MarginalValues()
    """Marginal values of capacities and portfolio limits (``resources.csv`` columns
    ``step``, ``lp_estimate``, ``marginal_value``)."""


# --------------------------------------------------------------------------- policy


class Policy(Strict):
    """A kamopt policy: which accounts may become key accounts, at which tier, with which resources."""

    version: Literal[1] = 1
    """Policy language version. Default 1."""
    name: str = "policy"
    """Short name shown in outputs."""
    description: str | None = None
    """Free text."""
    currency: Annotated[str, StringConstraints(min_length=1, max_length=8)] = "EUR"
    """Currency of every money amount (display only). Default ``EUR``."""
    data: DataSpec
    """Data tables and how to read them."""
    criteria: dict[Identifier, Criterion] = Field(min_length=1)
    """Weighted scoring matrix; weights sum to 1."""
    eligibility: dict[Identifier, RuleSpec] = {}
    """Named hard filters: an account must pass every rule to be a candidate. A rule is an
    expression, or ``{rule: ..., description: ...}``. Default: none."""
    tiers: dict[Identifier, Tier] = Field(min_length=1)
    """Service tiers, highest first."""
    resources: Resources
    """Capacities."""
    portfolio: Portfolio = Portfolio()
    """Portfolio rules."""
    value: Value = Value()
    """Value model."""
    solver: SolverSpec = SolverSpec()
    """Solver settings."""
    analysis: Analysis = Analysis()
    """Extra analyses: marginal values."""

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> "Policy":
        if info.context and info.context.get("defer_references"):
            return self  # the YAML loader runs reference_problems itself, to locate each one
        problems = reference_problems(self)
        if problems:
            raise ValueError("; ".join(f"{'.'.join(map(str, p))}: {m}" for p, m in problems))
        return self

    # Convenience ---------------------------------------------------------------

    def tier_label(self, tier_id: str) -> str:
        return self.tiers[tier_id].label or tier_id


def reference_problems(policy: Policy) -> list[tuple[tuple[str | int, ...], str]]:
    """Cross-field rules: (key path, message) for each broken one, so each can be located."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    total = sum(c.weight for c in policy.criteria.values())
    if abs(total - 1.0) > 1e-6:
        terms = " + ".join(f"{k} {c.weight:g}" for k, c in policy.criteria.items())
        problems.append((("criteria",), f"the weights must sum to 1, found {total:g} ({terms})"))
    support = set(policy.resources.support)
    for tid, tier in policy.tiers.items():
        for fn in tier.support_hours:
            if fn not in support:
                problems.append(
                    (("tiers", tid, "support_hours", fn),
                     f"unknown support function '{fn}', expected {one_of(support)}")
                )
        if tier.sponsor and not policy.resources.sponsors:
            problems.append(
                (("tiers", tid, "sponsor"), "the tier needs a sponsor but resources.sponsors is empty")
            )
    for tid in policy.portfolio.tiers:
        if tid not in policy.tiers:
            problems.append(
                (("portfolio", "tiers", tid), f"unknown tier '{tid}', expected {one_of(policy.tiers)}")
            )
    for i, ov in enumerate(policy.portfolio.overrides):
        if ov.tier is not None and ov.tier not in policy.tiers:
            problems.append(
                (("portfolio", "overrides", i, "tier"),
                 f"unknown tier '{ov.tier}', expected {one_of(policy.tiers)}")
            )
    forced_in = set(policy.portfolio.must_include) | {
        o.account for o in policy.portfolio.overrides if o.action == "include"
    }
    forced_out = set(policy.portfolio.must_exclude) | {
        o.account for o in policy.portfolio.overrides if o.action == "exclude"
    }
    both = sorted(forced_in & forced_out)
    if both:
        problems.append((("portfolio",), f"accounts both forced in and out: {', '.join(both)}"))
    seen: set[str] = set()
    for i, ov in enumerate(policy.portfolio.overrides):
        if ov.account in seen:
            problems.append(
                (("portfolio", "overrides", i, "account"), f"'{ov.account}' has two overrides")
            )
        seen.add(ov.account)
    for key in ("must_include", "must_exclude"):
        ids = getattr(policy.portfolio, key)
        dups = sorted({a for a in ids if ids.count(a) > 1})
        if dups:
            problems.append((("portfolio", key), f"listed twice: {', '.join(dups)}"))
    problems += _step_override_problems(policy)
    if policy.data.kams is None:
        for pid, pool in policy.resources.kam_pools.items():
            if pool.fte is None:
                problems.append(
                    (("resources", "kam_pools", pid, "fte"),
                     "required when there is no named KAM table (data.kams)")
                )
    return problems


def _step_override_problems(policy: Policy) -> list[tuple[tuple[str | int, ...], str]]:
    """``analysis.marginal_values.step_overrides``: each key names an item the policy can have;
    steps of slots and account counts are whole numbers, share steps at most 1."""
    res, pf = policy.resources, policy.portfolio
    ids_of: dict[str, Any] = {
        "kam_fte": res.kam_pools, "sponsor_slots": res.sponsors, "support_hours": res.support,
        "min_tier_accounts": pf.tiers, "max_tier_accounts": pf.tiers, "quota_min": pf.quotas,
        "quota_max": pf.quotas, "quota_min_share": pf.quotas, "quota_max_share": pf.quotas,
        "concentration": pf.concentration,
    }
    plain = ("budget", "min_key_accounts", "max_key_accounts", "max_new_promotions")
    counts = {"sponsor_slots", "min_tier_accounts", "max_tier_accounts", "quota_min", "quota_max", *plain[1:]}
    shares = {"quota_min_share", "quota_max_share", "concentration"}
    out: list[tuple[tuple[str | int, ...], str]] = []
    for key, step in policy.analysis.marginal_values.step_overrides.items():
        where = ("analysis", "marginal_values", "step_overrides", key)
        family, _, rest = key.partition("[")
        if key not in plain and (family not in ids_of or not rest.endswith("]")):
            expected = one_of([*plain, *(f"{k}[<id>]" for k in ids_of)])
            out.append((where, f"unknown item '{key}', expected {expected}"))
            continue
        ident = rest[:-1].split(":", 1)[0] if family == "concentration" else rest[:-1]
        if family in ids_of and ident not in ids_of[family]:
            out.append((where, f"unknown id '{ident}' in '{key}', expected {one_of(ids_of[family])}"))
        elif family in counts and step != int(step):
            out.append((where, f"{family} counts whole slots or accounts: the step must be a whole number, "
                               f"found {step:g}"))
        elif family in shares and step > 1:
            out.append((where, f"{family} is a share: the step must be at most 1, found {step:g}"))
    return out


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a policy file (for editors: validation and autocompletion)."""
    schema = Policy.model_json_schema()
    _describe(schema, {m.__name__: m for m in _models(Strict)})
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "kamopt policy"
    return schema


def _models(base: type[BaseModel]) -> list[type[BaseModel]]:
    """``base`` and every model that derives from it."""
    out = [base]
    for sub in base.__subclasses__():
        out += _models(sub)
    return out


def _describe(node: Any, models: dict[str, type[BaseModel]]) -> None:
    """Give each model's properties in a JSON Schema their field docstrings."""
    if isinstance(node, list):
        for item in node:
            _describe(item, models)
        return
    if not isinstance(node, dict):
        return
    model = models.get(node.get("title", "")) if isinstance(node.get("properties"), dict) else None
    if model is not None:
        docs = field_docs(model)
        for name, info in model.model_fields.items():
            prop = node["properties"].get(info.alias or name)
            if isinstance(prop, dict) and docs.get(name) and "description" not in prop:
                prop["description"] = docs[name]
    for value in node.values():
        _describe(value, models)
