"""The data of an explanation (dataclasses), and the facts about one account that the
screening already holds: its eligibility rules, its score's parts and what each tier would
mean for it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

import numpy as np

from kamopt.errors import DataError, Diagnostic, did_you_mean
from kamopt.model.solution import Assignment, Status
from kamopt.plan import Plan

TOL = 1e-6
"""Relative tolerance of "it fits" (the verifier's)."""


# --------------------------------------------------------------------------- data
@dataclass(frozen=True)
class RuleResult:
    """One eligibility rule applied to the account."""

    rule: str
    """Rule id (``solvency``)."""
    expression: str
    """The rule as written in the policy (``credit_score >= 4``)."""
    passed: bool
    description: str = ""


@dataclass(frozen=True)
class Contribution:
    """One criterion's part of the weighted score: ``weight * score``."""

    criterion: str
    weight: float
    score: float
    """The criterion's score, 1-10."""
    contribution: float


@dataclass(frozen=True)
class TierFacts:
    """What one tier would mean for the account: admission, value and consumption."""

    tier: str
    qualifies: bool
    """The account may be placed at this tier (rules, admission, sponsor affinity)."""
    why_not: str
    """Why it does not qualify ('' when it does)."""
    note: str
    """Why it qualifies although a rule says otherwise (incumbent, forced in), else ''."""
    min_score: float | None
    admit: str | None
    """The tier's admission rule as written, if any."""
    value: float
    """Expected net present value over the horizon (net of cost to serve)."""
    annual_cost: float
    kam_hours: float
    pool: str
    """The KAM pool whose hours it would use ('' when none serves it)."""
    support_hours: dict[str, float]
    sponsor_required: bool
    sponsors_allowed: tuple[str, ...]
    """Sponsors with affinity for the account (when the tier needs one)."""


@dataclass(frozen=True)
class Blocker:
    """A capacity or limit that a move would break in the plan as it stands."""

    constraint: str
    """Row name, as everywhere in kamopt (``kam_hours[Iberia]``, ``budget``...)."""
    family: str
    unit: str
    needs: float
    """What the move adds to the row (for a ``>=`` limit: what it takes away)."""
    free: float
    """The row's slack in the plan."""
    soft_penalty: float | None = None
    """For a soft limit: the penalty per unit it would be broken by (not a hard block)."""
    note: str = ""

    @property
    def missing(self) -> float:
        """How much capacity would have to be freed (or added) for the move to fit; for a
        soft limit, how much more the move would break it by."""
        return max(0.0, self.needs - max(self.free, 0.0))


@dataclass(frozen=True)
class Bounds:
    """A re-solve: the best plan found, and the proven upper bound on the optimum."""

    status: Status
    objective: float | None
    """True objective of the best plan found (no tie-break terms)."""
    bound: float | None
    """Upper bound on the true optimum (None when the solver has none)."""
    assignment: Assignment | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class Entry:
    """What it would take for the account to be at ``tier``."""

    tier: str
    value: float
    """Its expected value at the tier today."""
    method: str
    """``exact`` (re-solves) or ``estimate`` (LP prices)."""
    feasible: bool = True
    """False when no plan keeps every rule with the account at this tier."""
    threshold: float | None = None
    """The expected value at which it enters at this tier (at or above: in, below: out;
    at exactly the threshold the plans tie, and ties go to the higher score)."""
    low: float | None = None
    high: float | None = None
    """Exact method: the threshold is proven to lie in [low, high] (the re-solves' gap)."""
    proven: bool = False
    """Exact method: every re-solve proved its gap (else the figures are the best found)."""
    in_best: bool = False
    """Exact method: the best plan the re-solves found already has it at this tier (the plan
    given is then not optimal)."""
    blockers: tuple[Blocker, ...] = ()
    """Capacities and limits the move breaks in the plan as it stands."""
    needs: tuple[str, ...] = ()
    """When it cannot enter at all: what would have to change (capacity to add or free)."""

    @property
    def shortfall(self) -> float | None:
        """How much more expected value it would need (0 when already enough)."""
        return None if self.threshold is None else max(0.0, self.threshold - self.value)


@dataclass(frozen=True)
class Exit:
    """What the plan would lose if the account were forced out."""

    method: str
    feasible: bool = True
    """False when no plan keeps every rule without the account."""
    value_lost: float | None = None
    low: float | None = None
    high: float | None = None
    proven: bool = False
    kept_by: tuple[str, ...] = ()
    """When it cannot leave: the rules that keep it (``no_demotion[A1]``...) or what conflicts."""


@dataclass(frozen=True)
class Explanation:
    """Everything about one account's place in a plan, as data."""

    account_id: str
    name: str
    status: str
    """``in`` (a key account in the plan), ``out`` (a candidate left out) or ``excluded``
    (not a candidate: fails a rule, no tier admits it, no pool serves it, forced out)."""
    reason: str
    """Why it is excluded ('' for candidates)."""
    notes: str
    eligible: bool
    rules: tuple[RuleResult, ...]
    score: float
    contributions: tuple[Contribution, ...]
    tiers: tuple[TierFacts, ...]
    decision: str
    """Tier in the plan, or ``none``."""
    previous_tier: str
    change: str
    """promote / keep / demote / none."""
    entries: tuple[Entry, ...] = ()
    """Each higher tier it qualifies for (every tier it qualifies for when it is out)."""
    exit: Exit | None = None
    """For an account that is in."""
    currency: str = ""
    optimum: float | None = None
    """Exact method: the optimum found by the tight re-solve."""
    optimum_bound: float | None = None
    plan_objective: float | None = None
    """The objective of the plan as given."""
    gap: float | None = None
    """Exact method: the relative MIP gap asked of the re-solves."""
    remarks: tuple[str, ...] = ()

    @property
    def best_entry(self) -> Entry | None:
        """The entry that needs the least extra value (cheapest way in or up), if any."""
        usable = [e for e in self.entries if e.feasible and e.threshold is not None]
        return min(usable, key=lambda e: e.shortfall) if usable else None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for JSON): enums as their values, derived fields included."""
        out = _plain(asdict(self))
        for e, d in zip(self.entries, out["entries"]):
            d["shortfall"] = e.shortfall
            for b, bd in zip(e.blockers, d["blockers"]):
                bd["missing"] = b.missing
        best = self.best_entry
        out["best_entry"] = None if best is None else best.tier
        return out


def _plain(obj: Any) -> Any:
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items() if k != "assignment"}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


# --------------------------------------------------------------------------- the account in the screening
def row_of(plan: Plan, account_id: str) -> int:
    s = plan.screening
    ids = s.data.ids
    try:
        return ids.index(account_id)
    except ValueError:
        folded = [i for i in ids if i.strip().casefold() == account_id.strip().casefold()]
        hint = f"did you mean '{folded[0]}'?" if folded else did_you_mean(account_id, ids)
        raise DataError(Diagnostic(
            f"no account '{account_id}' in the account table ({len(ids)} accounts)",
            file=str(s.data.accounts.table.path), field="account_id", hint=hint,
        )) from None


def rule_results(plan: Plan, r: int) -> tuple[RuleResult, ...]:
    s = plan.screening
    pol = s.loaded.policy
    return tuple(
        RuleResult(rid, str(pol.eligibility[rid].rule), bool(s.rule_pass[r, j]), pol.eligibility[rid].description or "")
        for j, rid in enumerate(s.rule_ids)
    )


def score_contributions(plan: Plan, r: int) -> tuple[Contribution, ...]:
    s = plan.screening
    pol = s.loaded.policy
    out = []
    for j, cid in enumerate(s.criterion_ids):
        w = float(pol.criteria[cid].weight)
        sc = float(s.criterion_scores[r, j])
        out.append(Contribution(cid, w, sc, w * sc))
    return tuple(out)


def tier_facts(plan: Plan, r: int) -> tuple[TierFacts, ...]:
    s = plan.screening
    pol = s.loaded.policy
    candidate = bool(s.candidate[r])
    out = []
    sponsors = tuple(sid for e, sid in enumerate(s.sponsor_ids) if s.sponsor_ok[r, e])
    pool = s.pool_ids[s.pool[r]] if s.pool[r] >= 0 else ""
    for k, tid in enumerate(s.tier_ids):
        t = pol.tiers[tid]
        qualifies = bool(s.admitted[r, k]) and candidate
        low = t.min_score is not None and s.score[r] < t.min_score - 1e-9
        no_sponsor = t.sponsor and not s.sponsor_ok[r].any()
        why = note = ""
        if not candidate:
            why = s.reasons[r] or "not a candidate"
        elif not qualifies:
            causes = []
            if low:
                causes.append(f"needs score {t.min_score:g} (has {s.score[r]:.2f})")
            if no_sponsor:
                causes.append("needs a sponsor and none has affinity")
            if not causes and t.admit is not None:
                causes.append(f"admission rule is false: {t.admit}")
            why = "; ".join(causes) or "not admitted"
        elif low or no_sponsor:
            note = s.notes[r] or "admitted by an exception"
        out.append(TierFacts(
            tier=tid, qualifies=qualifies, why_not=why, note=note, min_score=t.min_score,
            admit=None if t.admit is None else str(t.admit), value=float(s.value[r, k]),
            annual_cost=float(s.cost[r, k]), kam_hours=float(s.kam_hours[r, k]), pool=pool,
            support_hours={fn: float(s.support[f, r, k]) for f, fn in enumerate(s.support_ids)},
            sponsor_required=bool(t.sponsor), sponsors_allowed=sponsors if t.sponsor else (),
        ))
    return tuple(out)
