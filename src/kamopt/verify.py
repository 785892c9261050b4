"""The independent verifier: does a plan keep every rule, and what is it worth?

:func:`verify` recomputes every capacity, rule and objective part from the :class:`Problem`
arrays and the :class:`Assignment` alone. It shares no code with the MILP builder or the
optimiser on purpose: a bug there cannot hide itself here. It does share the vocabulary:
each broken rule is named like the MILP row that enforces it (``kam_hours[Iberia]``,
``sponsor_slots[Ana Ruiz]``, ``no_demotion[ACME]``), so users see one set of names.

Conventions:

* A key account whose tier is not one of its options breaks ``admissible[<account>]`` and
  uses no resources (there are no numbers for that pair); it still counts as a change.
* Capacities are checked with a relative tolerance: ``used - limit > tol * max(1, |limit|)``.
* Soft limits never break the plan; their violations go to ``VerifyReport.soft`` and are
  priced into ``ObjectiveParts.soft_penalty``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from kamopt.model.problem import Limit, Problem
from kamopt.model.solution import NEW_HIRE, Assignment, ObjectiveParts

SOFT_TOL = 1e-9
"""Soft-limit violations at or below this are noise (the optimiser uses the same threshold)."""

HOURS, ACCOUNTS, FTE, MONEY = "h", "accounts", "FTE", "money"


@dataclass(frozen=True)
class Violation:
    """One broken hard rule, named like the MILP row that enforces it."""

    constraint: str
    """Row name: ``kam_hours[Iberia]``, ``budget``, ``override_in[ACME]``..."""
    family: str
    """Row group (``kam_hours``, ``sponsor_slots``...) or, for portfolio limits, ``Limit.family``."""
    limit: float | None
    used: float | None
    amount: float
    """How far the plan is past the rule, in ``unit`` (always > 0)."""
    unit: str
    message: str
    """One line for humans: ``kam_hours[Iberia]: uses 4,210 h of 3,200 h (1,010 h over)``."""


@dataclass(frozen=True)
class Usage:
    """One capacity or limit row: how much of it the plan uses."""

    name: str
    family: str
    limit: float | None
    used: float
    slack: float | None
    """``limit - used`` for upper limits, ``used - limit`` for lower ones (negative = broken)."""
    unit: str

    @property
    def resource(self) -> str:
        """The id inside the name's brackets (``Iberia`` of ``kam_hours[Iberia]``), or ''."""
        return self.name[self.name.index("[") + 1: -1] if "[" in self.name else ""


@dataclass(frozen=True)
class VerifyReport:
    """What the verifier found: hard violations, soft violations, usage rows, objective parts."""

    violations: list[Violation]
    soft: dict[str, float]
    """Soft limit name -> violation (in the limit's unit), non-zero ones only."""
    usage: list[Usage]
    parts: ObjectiveParts

    @property
    def ok(self) -> bool:
        """True when the plan breaks no hard rule."""
        return not self.violations


# --------------------------------------------------------------------------- helpers
def _tier_name(p: Problem, t: int) -> str:
    """A tier's id, ``none`` for -1, ``#<index>`` for an index that is no tier."""
    if t == -1:
        return "none"
    return p.tier_ids[t] if 0 <= t < len(p.tier_ids) else f"#{t}"


def _num(x: float) -> str:
    """``4210.0`` -> ``4,210``; ``0.25`` -> ``0.25`` (at most 4 decimals)."""
    if abs(x - round(x)) < 1e-9:
        return f"{int(round(x)):,}"
    return f"{x:,.4f}".rstrip("0").rstrip(".")


def _qty(x: float, unit: str) -> str:
    """A number with its unit (money goes without one: the problem does not know its currency)."""
    return _num(x) if unit == MONEY else f"{_num(x)} {unit}"


@dataclass
class _Plan:
    """An assignment resolved against a problem: chosen option per account and its 0/1 vector."""

    tier: np.ndarray
    """int per account (as given)."""
    opt: np.ndarray
    """Chosen option per account, -1 when not key or the tier is not admissible."""
    x: np.ndarray
    """float 0/1 per option."""
    hires: np.ndarray
    """float per pool."""
    kam: tuple[str, ...]
    sponsor: tuple[str, ...]
    current: np.ndarray
    """Current tier per account (-1 = not key today)."""


def _resolve(p: Problem, a: Assignment) -> _Plan:
    """Check the assignment's shapes and find the chosen option of every account."""
    n = p.n_accounts
    tier = np.asarray(a.tier, dtype=np.int64).reshape(-1)
    hires = np.asarray(a.hires, dtype=float).reshape(-1)
    if tier.size != n:
        raise ValueError(f"assignment has {tier.size} tiers for {n} accounts")
    if hires.size != len(p.pools):
        raise ValueError(f"assignment has {hires.size} hire counts for {len(p.pools)} pools")
    for what, labels in (("kam", a.kam), ("sponsor", a.sponsor)):
        if labels and len(labels) != n:
            raise ValueError(f"assignment has {len(labels)} {what} labels for {n} accounts")
    opt = np.full(n, -1, dtype=np.int64)
    if p.n_options:
        hit = np.flatnonzero(tier[p.opt_account] == p.opt_tier)
        opt[p.opt_account[hit]] = hit
    x = np.zeros(p.n_options)
    x[opt[opt >= 0]] = 1.0
    current = np.full(n, -1, dtype=np.int64)
    m = min(n, len(p.current_tier))
    current[:m] = np.asarray(p.current_tier[:m], dtype=np.int64)
    kam = tuple(a.kam) if a.kam else ("",) * n
    sponsor = tuple(a.sponsor) if a.sponsor else ("",) * n
    return _Plan(tier, opt, x, hires, kam, sponsor, current)


@dataclass
class _Checker:
    """Collects violations and usage rows, with one tolerance rule for all of them."""

    tol: float
    violations: list[Violation] = field(default_factory=list)
    usage: list[Usage] = field(default_factory=list)

    def _over(self, excess: float, limit: float) -> bool:
        return excess > self.tol * max(1.0, abs(limit))

    def at_most(self, name: str, family: str, limit: float, used: float, unit: str, share: str = "") -> None:
        """An upper limit: a usage row and a violation when ``used > limit``. ``share``: the
        words of a share limit (:func:`_share_words`), said instead of its row's units."""
        limit, used = float(limit), float(used)
        self.usage.append(Usage(name, family, limit, used, limit - used, unit))
        if self._over(used - limit, limit):
            over = used - limit
            said = share or f"uses {_qty(used, unit)} of {_qty(limit, unit)}"
            msg = f"{name}: {said} ({_qty(over, unit)} over)"
            self.violations.append(Violation(name, family, limit, used, over, unit, msg))

    def at_least(self, name: str, family: str, limit: float, used: float, unit: str, share: str = "") -> None:
        """A lower limit: a usage row and a violation when ``used < limit`` (``share`` as above)."""
        limit, used = float(limit), float(used)
        self.usage.append(Usage(name, family, limit, used, used - limit, unit))
        if self._over(limit - used, limit):
            short = limit - used
            said = share or f"has {_qty(used, unit)}, needs at least {_qty(limit, unit)}"
            msg = f"{name}: {said} ({_qty(short, unit)} short)"
            self.violations.append(Violation(name, family, limit, used, short, unit, msg))

    def rule(self, name: str, message: str, *, amount: float = 1.0, unit: str = ACCOUNTS) -> None:
        """A broken yes/no rule about one account (amount: one account unless told)."""
        family = name.split("[", 1)[0]
        self.violations.append(Violation(name, family, None, None, amount, unit, f"{name}: {message}"))


# --------------------------------------------------------------------------- rules
def _admissible(p: Problem, plan: _Plan, ck: _Checker) -> None:
    """``admissible[a]``: a key account's tier must be one of its options."""
    for a in np.flatnonzero((plan.tier >= 0) & (plan.opt < 0)).tolist():
        allowed = ", ".join(p.tier_ids[t] for t in p.opt_tier[p.options_of(a)].tolist()) or "none"
        ck.rule(f"admissible[{p.account_ids[a]}]",
                f"given tier {_tier_name(p, int(plan.tier[a]))}, not one of its options ({allowed})")
    for a in np.flatnonzero(plan.tier < -1).tolist():
        ck.rule(f"admissible[{p.account_ids[a]}]", f"tier index {int(plan.tier[a])} is not a tier")


def _hires(p: Problem, plan: _Plan, ck: _Checker) -> None:
    """``hire_limit[pool]``: whole FTE, between 0 and the pool's ``max_hire``."""
    for q, pool in enumerate(p.pools):
        h, name = float(plan.hires[q]), f"hire_limit[{pool.id}]"
        ck.at_most(name, "hire_limit", float(pool.max_hire), h, FTE)
        if h < 0:
            ck.rule(name, f"hires {_qty(h, FTE)}, cannot be negative", amount=-h, unit=FTE)
        elif abs(h - round(h)) > ck.tol:
            ck.rule(name, f"hires {_qty(h, FTE)}, whole FTE only", amount=abs(h - round(h)), unit=FTE)


def _pool_capacity(p: Problem, plan: _Plan, ck: _Checker) -> None:
    """``kam_hours[pool]`` / ``kam_span[pool]`` (no named KAMs): accounts fit FTE plus hires."""
    if p.kams or not p.pools:
        return
    opool = p.pool[p.opt_account]
    hours = np.bincount(opool, weights=p.kam_hours * plan.x, minlength=len(p.pools))
    count = np.bincount(opool, weights=plan.x, minlength=len(p.pools))
    for q, pool in enumerate(p.pools):
        fte = pool.fte + plan.hires[q]
        ck.at_most(f"kam_hours[{pool.id}]", "kam_hours", pool.hours_per_fte * fte, float(hours[q]), HOURS)
        ck.at_most(f"kam_span[{pool.id}]", "kam_span", pool.span * fte, float(count[q]), ACCOUNTS)


def _pair_factors(p: Problem) -> dict[tuple[int, int], tuple[float, float]]:
    """(account, KAM) -> (hours factor, value bonus) of the allowed pairs."""
    pairs = p.kam_pairs
    if pairs is None:
        return {}
    return {
        (int(a), int(k)): (float(f), float(b))
        for a, k, f, b in zip(pairs.account, pairs.kam, pairs.hours_factor, pairs.value_bonus)
    }


def _named_kams(p: Problem, plan: _Plan, ck: _Checker) -> None:
    """Named KAMs: each key account has one allowed KAM (``kam_assign[a]``), within each
    KAM's hours and span (``kam_hours[k]``, ``kam_span[k]``); accounts labelled
    ``"<pool> (new hire)"`` fit the pool's hired capacity (``kam_hours[<pool> (new hire)]``)."""
    if not p.kams:
        return
    kam_of = {k.id: i for i, k in enumerate(p.kams)}
    hire_of = {f"{pool.id} {NEW_HIRE}": q for q, pool in enumerate(p.pools)}
    pairs = _pair_factors(p)
    k_hours, k_count = np.zeros(len(p.kams)), np.zeros(len(p.kams))
    h_hours, h_count = np.zeros(len(p.pools)), np.zeros(len(p.pools))
    for a, label in enumerate(plan.kam):
        acc, key = p.account_ids[a], plan.tier[a] >= 0
        name = f"kam_assign[{acc}]"
        if not key:
            if label:
                ck.rule(name, f"not a key account but has KAM {label}")
            continue
        o = int(plan.opt[a])
        hours = float(p.kam_hours[o]) if o >= 0 else 0.0
        load = 1.0 if o >= 0 else 0.0
        if label in kam_of:
            k = kam_of[label]
            if (a, k) not in pairs:
                ck.rule(name, f"{label} may not serve {acc} (no allowed pair)")
            k_hours[k] += hours * pairs.get((a, k), (1.0, 0.0))[0]
            k_count[k] += load
        elif label in hire_of:
            q = hire_of[label]
            if q != p.pool[a]:
                ck.rule(name, f"{label} is not {acc}'s pool ({p.pools[p.pool[a]].id})")
            elif p.pools[q].max_hire <= 0:
                ck.rule(name, f"pool {p.pools[q].id} cannot hire")
            h_hours[q] += hours
            h_count[q] += load
        else:
            ck.rule(name, "has no KAM" if not label else f"unknown KAM '{label}'")
    for k, kam in enumerate(p.kams):
        ck.at_most(f"kam_hours[{kam.id}]", "kam_hours", kam.hours, float(k_hours[k]), HOURS)
        ck.at_most(f"kam_span[{kam.id}]", "kam_span", float(kam.max_accounts), float(k_count[k]), ACCOUNTS)
    for q, pool in enumerate(p.pools):
        if pool.max_hire > 0 or h_count[q] > 0:
            h = float(plan.hires[q])
            label = f"{pool.id} {NEW_HIRE}"
            ck.at_most(f"kam_hours[{label}]", "kam_hours", pool.hours_per_fte * h, float(h_hours[q]), HOURS)
            ck.at_most(f"kam_span[{label}]", "kam_span", pool.span * h, float(h_count[q]), ACCOUNTS)


def _support(p: Problem, plan: _Plan, ck: _Checker) -> None:
    """``support_hours[f]``: each support function's hours."""
    for s, cap in enumerate(p.support):
        used = float(np.asarray(p.support_hours[s], dtype=float) @ plan.x)
        ck.at_most(f"support_hours[{cap.id}]", "support_hours", cap.limit, used, HOURS)


def _budget(p: Problem, plan: _Plan, ck: _Checker) -> None:
    """``budget``: annual cost to serve plus the annual cost of the hires."""
    if p.budget is None:
        return
    used = float(np.asarray(p.cost, dtype=float) @ plan.x)
    used += sum(pool.hire_cost * float(plan.hires[q]) for q, pool in enumerate(p.pools))
    ck.at_most("budget", "budget", float(p.budget), used, MONEY)


def _sponsor_needs(p: Problem, plan: _Plan) -> np.ndarray:
    """bool per account: its chosen option is at a sponsor-required tier."""
    req = np.zeros(max(len(p.tier_ids), 1), dtype=bool)
    given = np.asarray(p.sponsor_required, dtype=bool)[: req.size]
    req[: given.size] = given
    key = plan.opt >= 0
    return key & req[np.where(key, plan.tier, 0)]


def _sponsors(p: Problem, plan: _Plan, ck: _Checker) -> None:
    """Sponsors: accounts at sponsor-required tiers have exactly one allowed sponsor
    (``sponsor_required[a]``, ``sponsor_affinity[a]``); nobody else has one (the MILP has no
    such variable); each sponsor within its slots (``sponsor_slots[e]``)."""
    needs = _sponsor_needs(p, plan)
    if not p.sponsors and not needs.any():
        return
    n_sp = len(p.sponsors)
    ok = np.asarray(p.sponsor_ok, dtype=bool)
    if ok.shape != (p.n_accounts, n_sp):
        ok = np.zeros((p.n_accounts, n_sp), dtype=bool)
    sp_of = {s.id: e for e, s in enumerate(p.sponsors)}
    used = np.zeros(n_sp)
    for a, label in enumerate(plan.sponsor):
        acc = p.account_ids[a]
        if label in sp_of and plan.tier[a] >= 0:
            used[sp_of[label]] += 1
        if not needs[a]:
            if label and plan.tier[a] >= 0 and plan.opt[a] >= 0:
                ck.rule(f"sponsor_required[{acc}]", f"sponsored by {label} but its tier needs no sponsor")
            elif label and plan.tier[a] < 0:
                ck.rule(f"sponsor_required[{acc}]", f"not a key account but sponsored by {label}")
            continue
        if not label:
            tier = _tier_name(p, int(plan.tier[a]))
            ck.rule(f"sponsor_required[{acc}]", f"tier {tier} needs a sponsor, none given")
        elif label not in sp_of:
            ck.rule(f"sponsor_affinity[{acc}]", f"unknown sponsor '{label}'")
        elif not ok[a, sp_of[label]]:
            ck.rule(f"sponsor_affinity[{acc}]", f"{label} may not sponsor {acc}")
    for e, s in enumerate(p.sponsors):
        ck.at_most(f"sponsor_slots[{s.id}]", "sponsor_slots", float(s.slots), float(used[e]), ACCOUNTS)


def _limit_lhs(lim: Limit, x: np.ndarray) -> float:
    return float(np.asarray(lim.coef, dtype=float) @ x)


def _soft_amount(lim: Limit, lhs: float) -> float:
    """How far ``lhs`` is past the limit (<= 0 when it holds)."""
    return lim.rhs - lhs if lim.sense == ">=" else lhs - lim.rhs


def _limits(p: Problem, plan: _Plan, ck: _Checker) -> None:
    """Portfolio limits by name (``min_key_accounts``, ``quota_max[q]``...); hard ones only break."""
    for lim in p.limits:
        lhs = _limit_lhs(lim, plan.x)
        if lim.penalty is not None:
            slack = -_soft_amount(lim, lhs)
            ck.usage.append(Usage(lim.name, lim.family, float(lim.rhs), lhs, slack, lim.unit))
        elif lim.sense == ">=":
            ck.at_least(lim.name, lim.family, lim.rhs, lhs, lim.unit, _share_words(lim, plan.x))
        else:
            ck.at_most(lim.name, lim.family, lim.rhs, lhs, lim.unit, _share_words(lim, plan.x))


def _share_words(lim: Limit, x: np.ndarray) -> str:
    """'38.2 % of key accounts, needs at least 45 %' for a share limit, '' for any other: its
    row (``sum(measure * (member - share) * x)``) is in units no planner thinks in."""
    parts = lim.shares()
    if parts is None:
        return ""
    num, den = (float(np.asarray(c, dtype=float) @ x) for c in parts)
    what = "key accounts" if lim.unit == ACCOUNTS else f"key accounts' {lim.unit.removeprefix('units of ')}"
    has = f"{pct(num / den)} of {what}" if den > 0 else f"no {what}"
    return f"{has}, needs at least {pct(lim.share)}" if lim.sense == ">=" else f"{has}, at most {pct(lim.share)}"


def rule_names(messages: Sequence[str], shown: int = 2) -> str:
    """The rules that violation messages name, in words: 'quota_min_share[x]', 'budget and
    kam_span[Ann]', 'budget, kam_span[Ann] and 3 more rules'; 'rules' when there are none."""
    names = list(dict.fromkeys(m.split(": ", 1)[0] for m in messages))
    if len(names) > shown:
        return ", ".join(names[:shown]) + f" and {len(names) - shown} more rules"
    return " and ".join(names) or "rules"


def pct(share: float) -> str:
    """``0.35`` -> ``35 %``; ``0.3125`` -> ``31.2 %`` (also the diagnosis's words)."""
    return f"{share * 100:.1f}".rstrip("0").rstrip(".") + " %"


def _incumbents(p: Problem, plan: _Plan, ck: _Checker) -> None:
    """``no_demotion[a]`` (forbid: stay at the current tier or higher) or ``keep_key[a]``
    (tier_down: stay key at any tier); nothing under ``allow``."""
    if p.demotion == "allow":
        return
    for a in np.flatnonzero(plan.current >= 0).tolist():
        cur, t = int(plan.current[a]), int(plan.tier[a])
        was, now, acc = _tier_name(p, cur), _tier_name(p, t), p.account_ids[a]
        if p.demotion == "forbid" and not 0 <= t <= cur:
            ck.rule(f"no_demotion[{acc}]", f"incumbent at {was}, the plan gives {now}")
        elif p.demotion == "tier_down" and t < 0:
            ck.rule(f"keep_key[{acc}]", f"incumbent at {was}, the plan drops it")


def _overrides(p: Problem, plan: _Plan, ck: _Checker) -> None:
    """``override_in[a]`` (key, at the forced tier when one is set) / ``override_out[a]`` (not key)."""
    for f in p.forced:
        acc, t = p.account_ids[f.account], int(plan.tier[f.account])
        why = f" ({f.reason})" if f.reason else ""
        if not f.include and t >= 0:
            ck.rule(f"override_out[{acc}]", f"forced out{why} but the plan makes it key")
        elif f.include and t < 0:
            ck.rule(f"override_in[{acc}]", f"forced in{why} but the plan leaves it out")
        elif f.include and f.tier >= 0 and t != f.tier:
            ck.rule(f"override_in[{acc}]",
                    f"forced in at {_tier_name(p, f.tier)}{why}, the plan gives {_tier_name(p, t)}")


# --------------------------------------------------------------------------- objective
def _price(p: Problem, plan: _Plan) -> tuple[ObjectiveParts, dict[str, float]]:
    """Objective parts and soft-limit violations of a resolved plan."""
    value = float(np.asarray(p.value, dtype=float) @ plan.x)
    if p.kams:
        kam_of = {k.id: i for i, k in enumerate(p.kams)}
        pairs = _pair_factors(p)
        value += sum(
            pairs.get((a, kam_of[label]), (1.0, 0.0))[1]
            for a, label in enumerate(plan.kam) if plan.tier[a] >= 0 and label in kam_of
        )
    hiring = sum(pool.hire_cost_npv * float(plan.hires[q]) for q, pool in enumerate(p.pools))
    changes = int(np.count_nonzero(plan.tier != plan.current))
    soft: dict[str, float] = {}
    penalty = 0.0
    for lim in p.limits:
        if lim.penalty is None:
            continue
        v = _soft_amount(lim, _limit_lhs(lim, plan.x))
        if v > SOFT_TOL:
            soft[lim.name] = v
            penalty += float(lim.penalty) * v
    return ObjectiveParts(value, float(hiring), p.change_penalty * changes, penalty), soft


def evaluate(problem: Problem, assignment: Assignment) -> ObjectiveParts:
    """The objective of a plan, in parts: value (incl. KAM fit bonus), hiring NPV, change
    penalty, soft penalties. Does not check the rules (see :func:`verify`)."""
    return _price(problem, _resolve(problem, assignment))[0]


def verify(problem: Problem, assignment: Assignment, *, tol: float = 1e-6) -> VerifyReport:
    """Check a plan against every hard rule and price it, from the problem arrays alone.

    Raises ValueError when the assignment does not fit the problem's shape (wrong number
    of accounts, pools or labels): that is a programming error, not a broken rule.
    """
    plan = _resolve(problem, assignment)
    ck = _Checker(tol)
    for check in (_admissible, _pool_capacity, _named_kams, _hires, _support, _budget, _sponsors,
                  _limits, _incumbents, _overrides):
        check(problem, plan, ck)
    parts, soft = _price(problem, plan)
    return VerifyReport(ck.violations, soft, ck.usage, parts)


__all__ = ["Usage", "Violation", "VerifyReport", "evaluate", "verify"]
