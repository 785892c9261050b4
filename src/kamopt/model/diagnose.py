"""Why is a policy infeasible, and what would fix it? (elastic-model diagnosis)

The model is built once with every row elastic (:func:`build_model` with ``elastic={"*"}``);
each question below is the same model with some slacks allowed (and charged), the others
fixed at 0, and a question-specific objective:

1. *Rules in conflict*: capacities hard, every hard portfolio rule (limits, ``no_demotion``,
   ``keep_key``, ``override_in/out``) elastic, minimise the total relative violation
   (each slack divided by ``max(1, |rhs|)``). The rules with a violation are the conflicts.
   (Capacities are kept hard here so that a rule is named whenever it cannot hold with the
   capacity there is, whichever side is cheaper to change.)
2. *Capacity that fixes everything*: rules hard, capacity rows (``kam_hours``, ``kam_span``,
   ``support_hours``, ``budget``, ``sponsor_slots``) elastic, minimise relative increase.
   Hire limits stay bounds: hiring up to ``max_hire`` is free here.
3. Per conflicting rule: the capacity it needs on its own (the other conflicting rules
   freed), and the nearest value it can take with today's capacity (that rule free, its
   left-hand side maximised for ``>=`` / minimised for ``<=``). When no capacity helps,
   the rows it conflicts with (everything else elastic, that rule hard), and for a limit
   the other rules that hold it at that nearest value with them (a deletion filter:
   :meth:`_Analyst.held_with`), since the elastic solve gives way only on the cheapest.

The answer is never empty for an infeasible problem: at worst it lists the rows that had
to be violated in an all-elastic solve.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Mapping

import numpy as np

from kamopt.verify import pct

from .build import CAPACITY_GROUPS, RULE_FAMILIES, Built, build_model, current_tiers, group_of
from .linear import INF, LinearModel
from .problem import Limit, Problem
from .solution import Status
from .solvers import RawResult, SolverOptions, run, solve_lp_relaxation

MAX_RULES = 25
"""Per-rule analysis is done for at most this many conflicting rules (each costs solves)."""

_TOL = 1e-6

_UNITS = {
    "kam_hours": ("hours", "KAM hour", "KAM hours"),
    "kam_span": ("accounts", "account of KAM span", "accounts of KAM span"),
    "support_hours": ("hours", "support hour", "support hours"),
    "budget": ("money", "money", "money"),
    "sponsor_slots": ("slots", "sponsor slot", "sponsor slots"),
}


def _and(items) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def fmt(v: float) -> str:
    """``1150.0`` -> ``1,150``; ``2.5`` -> ``2.5``; thousands separated."""
    r = round(v)
    if abs(v - r) < 1e-6:
        return f"{int(r):,}"
    return f"{v:,.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Increase:
    """A capacity increase: ``amount`` more ``unit`` in capacity row ``row``."""

    row: str
    amount: float
    unit: str

    def words(self, amount: str | None = None) -> str:
        """``400 more KAM hours in kam_hours[EMEA]``; ``amount`` in place of this one's
        (a range: "5 to 90")."""
        amount = amount or fmt(self.amount)
        if group_of(self.row) == "budget":
            return f"{amount} more in the budget"
        _, one, many = _UNITS.get(group_of(self.row), (self.unit, self.unit, self.unit))
        return f"{amount} more {one if amount == '1' else many} in {self.row}"


@dataclass(frozen=True)
class Relaxation:
    """One rule in conflict, with what would let it hold and how far it can go today."""

    rule: str
    """The rule's row name: a limit name, ``no_demotion[a]``, ``override_in[a]``..."""
    kind: str
    """``limit``, ``no_demotion``, ``keep_key``, ``override_in``, ``override_out`` or ``capacity``."""
    rhs: float | None = None
    sense: str | None = None
    needs: tuple[Increase, ...] = ()
    """Capacity increases that let this rule hold as set (other conflicting rules relaxed)."""
    capacity_can_fix: bool = True
    nearest: float | None = None
    """Best value of the rule's left-hand side with today's capacity (limits only)."""
    blocked_by: tuple[str, ...] = ()
    """Policy rows it conflicts with when capacity alone does not help."""
    held_with: tuple[str, ...] = ()
    """Other rule rows that, together with ``blocked_by``, make this rule fail: hold a
    limit at ``nearest``, or make another rule impossible (an account forced in, a quota,
    the limit it breaks): the elastic solve gave way only on the cheapest rows, these
    complete the conflict (empty when ``blocked_by`` alone does)."""
    share: float | None = None
    """For share limits: the share asked for (``rhs`` is then 0); ``nearest`` is a share too."""
    text: str = ""
    """The plain-English line."""


@dataclass
class Diagnosis:
    """The outcome of :func:`diagnose`."""

    feasible: bool
    conflicts: list[Relaxation] = field(default_factory=list)
    capacity: list[Increase] = field(default_factory=list)
    """Capacity increases that make every rule hold together (empty when none can)."""
    capacity_can_fix: bool = True
    exact: bool = True
    """False when some solve stopped early (numbers are then not proven minimal)."""
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Plain-English lines, one per finding."""
        if self.feasible:
            return ["The policy is feasible: nothing needs to be relaxed."]
        out = _grouped_lines(self.conflicts)
        if self.capacity and (len(self.conflicts) > 1 or not self.conflicts):
            out.append("To keep every rule as set, add " + _and(i.words() for i in self.capacity) + ".")
        elif not self.capacity_can_fix and len(self.conflicts) > 1:
            out.append("No capacity increase makes every rule hold together: relax at least one of the rules above.")
        out.extend(self.notes)
        if not self.exact:
            out.append("(A solve stopped at the time limit: the amounts above may not be the smallest.)")
        return out


class _Analyst:
    """Runs the elastic variants of one problem's model."""

    def __init__(self, problem: Problem, options: SolverOptions):
        self.p = problem
        self.options = options
        self.built: Built = build_model(problem, elastic={"*"}, relative_slack=True)
        m = self.built.model
        self.exact = True
        soft = set(self.built.slack)
        self.capacity_rows: list[int] = []
        self.rule_rows: list[int] = []
        for fam, rows in self.built.families.items():
            for r in rows.tolist():
                name = m.row_names[r]
                if fam in RULE_FAMILIES:
                    if name not in soft:
                        self.rule_rows.append(r)
                elif group_of(name) in CAPACITY_GROUPS:
                    self.capacity_rows.append(r)
        self.rule_sizes = Counter(group_of(m.row_names[r]) for r in self.rule_rows)
        """Hard rule rows per family (``no_demotion``: 22), for the words of a conflict."""
        self._x_cols: dict[int, np.ndarray] = {}
        self._pushing: dict[int, set[int]] = {}
        self.joint_rows: set[int] = set()
        """Capacity rows the joint fix adds to (:func:`diagnose` sets them once it has it)."""
        self.limits = {lim.name: lim for lim in problem.limits}
        self.elastic_cols = np.array(sorted(c for pair in self.built.elastic.values() for c in pair if c >= 0))

    def entries(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """A row's columns and coefficients without its elastic slacks."""
        cols, vals = self.built.model.row_entries(r)
        keep = ~np.isin(cols, self.elastic_cols)
        return cols[keep], vals[keep]

    # ---------------------------------------------------------------- solving
    def rhs(self, r: int) -> float:
        m = self.built.model
        lo, hi = m.row_lower[r], m.row_upper[r]
        return float(lo if np.isfinite(lo) else hi)

    def weight(self, r: int) -> float:
        """Cost of breaking row ``r`` by one unit: its whole size costs 1 (``relative_slack``)."""
        return 1.0 / self.built.elastic_unit[self.built.model.row_names[r]]  # every row is elastic here

    def solve(
        self,
        elastic: dict[int, float],
        free: set[int] = frozenset(),
        lhs_of: tuple[int, float] | None = None,
        option_cost: np.ndarray | None = None,
    ) -> tuple[RawResult, LinearModel]:
        """Elastic rows (row -> weight per unit of slack), freed rows, optional objective
        ``sign * lhs(row)`` or ``option_cost @ x`` (per option); every other row hard.
        Maximises ``-sum weight*slack (+ that objective)``."""
        m = self.variant(elastic, free, lhs_of, option_cost)
        raw = run(m, self.options)
        if raw.status is not Status.OPTIMAL and raw.status is not Status.INFEASIBLE:
            self.exact = False
        return raw, m

    def variant(
        self,
        elastic: dict[int, float],
        free: set[int] = frozenset(),
        lhs_of: tuple[int, float] | None = None,
        option_cost: np.ndarray | None = None,
    ) -> LinearModel:
        """The model :meth:`solve` solves."""
        b = self.built
        m = b.model.copy()
        m.cost[:] = 0.0
        m.constant = 0.0
        for name, (up, down) in b.elastic.items():
            r = m.row(name)
            w = elastic.get(r)
            for c in (up, down):
                if c >= 0:
                    if w is None:
                        m.upper[c] = 0.0
                    else:
                        m.cost[c] = -w * b.elastic_unit[name]  # w is per unit of the row
        for r in free:
            m.row_lower[r], m.row_upper[r] = -INF, INF
        if lhs_of is not None:
            r, sign = lhs_of
            cols, vals = self.entries(r)
            m.cost[cols] += sign * vals
        if option_cost is not None:
            m.cost[b.x] += option_cost
        return m

    def violated(self, raw: RawResult, rows) -> dict[int, float]:
        """Row -> total slack used, for the rows given (only > tolerance)."""
        out: dict[int, float] = {}
        if raw.x is None:
            return out
        m = self.built.model
        for r in rows:
            name = m.row_names[r]
            up, down = self.built.elastic.get(name, (-1, -1))
            v = sum(float(raw.x[c]) for c in (up, down) if c >= 0) * self.built.elastic_unit.get(name, 1.0)
            if v > _TOL * max(1.0, abs(self.rhs(r))):
                out[r] = v
        return out

    def increases(self, raw: RawResult) -> list[Increase]:
        m = self.built.model
        return [
            Increase(m.row_names[r], round(v, 6), _UNITS.get(group_of(m.row_names[r]), ("units",))[0])
            for r, v in self.violated(raw, self.capacity_rows).items()
        ]

    # ---------------------------------------------------------------- per rule
    def best_share(self, r: int, lim: Limit) -> float | None:
        """The share a share limit can reach with today's capacity (that limit freed, every
        other rule as set): the largest share for a minimum, the smallest for a maximum.

        Dinkelbach's method: maximise ``sign * (num - s * den) @ x`` and move ``s`` to the
        share of the plan found, until no plan improves on ``s``. Exact for 0-1 programs;
        a handful of solves in practice. None when no plan has key accounts it counts.
        """
        num, den = lim.shares()
        sign = 1.0 if lim.sense == ">=" else -1.0
        s, best = (0.0 if sign > 0 else 1.0), None
        for _ in range(30):
            raw, _ = self.solve({}, free={r}, option_cost=sign * (num - s * den))
            if not raw.status.has_solution:
                return best
            xv = raw.x[self.built.x]
            d = float(den @ xv)
            if d <= _TOL:
                return best
            ratio = float(num @ xv) / d
            if best is not None and sign * (ratio - best) <= 1e-9:
                return best
            best = s = ratio
        return best

    def nearest(self, r: int, lim: Limit) -> float | None:
        """How far the limit can go with today's capacity and every other rule as set.

        None when freeing this limit alone does not make the policy feasible: lowering
        it would then not be enough, and no number is suggested.
        """
        if lim.shares() is not None:
            return self.best_share(r, lim)
        sign = 1.0 if lim.sense == ">=" else -1.0
        raw, _ = self.solve({}, free={r}, lhs_of=(r, sign))
        if not raw.status.has_solution:
            return None
        cols, vals = self.entries(r)
        return round(float(vals @ raw.x[cols]), 6)

    def held_with(self, r: int, lim: Limit | None, blocked: list[str], value: float | None) -> tuple[str, ...]:
        """The other rule rows that, with the ``blocked`` ones, make rule ``r`` fail with
        today's capacity: for a limit, hold it at ``value`` (its nearest); for any other
        rule (an incumbent's tier, an account forced in), make it impossible. The elastic
        solve breaks the cheapest rows of a conflict (one incumbent of 29; an account forced
        in rather than the limit it breaks), not every rule that makes it.

        A deletion filter over the rules not named yet, each per-account family
        (``no_demotion``...) as one: a rule is left out when, freed with those already left
        out, ``r`` still fails. An LP that shows so proves it at once; otherwise the MILP
        decides (a MILP stopped early keeps the rule)."""
        m = self.built.model
        units: dict[str, list[int]] = {}
        for c in self.rule_rows:
            if c != r:
                name = m.row_names[c]
                units.setdefault(group_of(name) if group_of(name) in _GROUP_WORDS else name, []).append(c)
        given = set(blocked)
        named = {key for key, rows in units.items() if any(m.row_names[c] in given for c in rows)}
        others = sorted(key for key in units if key not in named)
        if lim is not None and value is not None:
            sign = 1.0 if lim.sense == ">=" else -1.0
            tol = 1e-6 * max(1.0, abs(value))
            cols, vals = self.entries(r)

            def fails(freed: list[str]) -> bool:  # the limit still cannot pass value
                free = {r, *(c for key in freed for c in units[key])}
                x, _ = solve_lp_relaxation(self.variant({}, free=free, lhs_of=(r, sign)))
                if x is not None and sign * (float(vals @ x[cols]) - value) <= tol:
                    return True
                raw, _ = self.solve({}, free=free, lhs_of=(r, sign))
                return raw.status is Status.OPTIMAL and sign * (float(vals @ raw.x[cols]) - value) <= tol
        else:
            def fails(freed: list[str]) -> bool:  # rule r still cannot hold
                free = {c for key in freed for c in units[key]}
                x, _ = solve_lp_relaxation(self.variant({}, free=free))
                if x is None:  # no LP optimum of a zero objective: infeasible
                    return True
                raw, _ = self.solve({}, free=free)
                return raw.status is Status.INFEASIBLE

        if not others or fails(others):
            return ()
        freed: list[str] = []
        for key in others:
            if fails([*freed, key]):
                freed.append(key)
        kept = [key for key in others if key not in freed]
        pushing = (self.pushing(r, lim) if lim is not None and any(len(units[key]) > 1 for key in kept)
                   else set())
        # of a family that holds a limit, the rows that push it (the gold incumbents against a gold maximum)
        return tuple(m.row_names[c] for key in kept for c in ([c for c in units[key] if c in pushing] or units[key]))

    def pushing(self, r: int, lim: Limit) -> set[int]:
        """The other hard rule rows that can only hold by pushing limit ``r`` the wrong way:
        every option they count adds to a maximum (subtracts from a minimum). Against at
        most 2 gold accounts: the 6 incumbents at gold, not the 23 others. Kept per limit:
        both :meth:`held_with` and :meth:`sizes_against` ask (a pass over every rule row)."""
        if r in self._pushing:
            return self._pushing[r]
        x = self.built.x
        cols, vals = self.entries(r)
        coef = np.zeros(self.built.model.n_cols)
        coef[cols] = vals
        sign = 1.0 if lim.sense == "<=" else -1.0
        out = set()
        for c in self.rule_rows:
            if c == r:
                continue
            xs = self._x_cols.get(c)
            if xs is None:
                rc, _ = self.entries(c)
                xs = self._x_cols[c] = rc[np.isin(rc, x)]
            if xs.size and bool((sign * coef[xs] > 0).all()):
                out.add(c)
        self._pushing[r] = out
        return out

    def sizes_against(self, r: int, lim: Limit) -> tuple[Counter, dict[str, str]]:
        """Hard rule rows per family that push limit ``r`` (:meth:`pushing`), for the words
        of a conflict: "the 6 incumbents ... that count towards it", not "the 29" (a family
        none of whose rows pushes it keeps its full size). Returns the sizes and, per family
        counted so, the words that say so."""
        m = self.built.model
        out = Counter(group_of(m.row_names[c]) for c in self.pushing(r, lim))
        side = "towards" if lim.sense == "<=" else "against"
        scope = {g: f"that count {side} it" for g, n in out.items() if n < self.rule_sizes[g]}
        return Counter({g: out.get(g) or n for g, n in self.rule_sizes.items()}), scope

    def explain(self, r: int, conflicts: list[int], joint: RawResult | None) -> Relaxation:
        m = self.built.model
        name = m.row_names[r]
        kind = "limit" if name in self.limits else group_of(name)
        lim = self.limits.get(name)
        others = {c for c in conflicts if c != r}
        cols, _ = self.entries(r)
        empty = cols.size == 0

        needs: list[Increase] = []
        can_fix = False
        if not empty:
            if joint is not None and not others:
                raw = joint
            else:
                # Where capacities are interchangeable (any of two sponsors would do), prefer
                # those the joint fix adds to, so that the lines agree with its advice.
                raw, _ = self.solve({c: self.weight(c) * (1.0 if c in self.joint_rows else 1.001)
                                     for c in self.capacity_rows}, free=others)
            can_fix = raw.status.has_solution
            needs = self.increases(raw) if can_fix else []

        nearest = self.nearest(r, lim) if lim is not None and not empty else None

        blocked: list[str] = []
        if not empty and not (can_fix and needs):
            # Which policy rows stand in its way: this rule hard, every other rule and
            # capacity elastic. Structural rows (one tier per account...) stay hard.
            rest = {c: self.weight(c) for c in self.rule_rows + self.capacity_rows if c != r}
            raw, _ = self.solve(rest)
            blocked = [m.row_names[c] for c in self.violated(raw, rest)]
        held: tuple[str, ...] = ()
        if blocked and lim is not None and lim.shares() is None and nearest is not None:
            held = self.held_with(r, lim, blocked, nearest)
        elif blocked and (lim is None or nearest is None):  # no value to hold it at: r cannot hold at all
            held = self.held_with(r, None, blocked, None)

        rel = Relaxation(
            rule=name, kind=kind, rhs=lim.rhs if lim else self.rhs(r), sense=lim.sense if lim else "=",
            needs=tuple(needs), capacity_can_fix=can_fix, nearest=nearest,
            blocked_by=tuple(blocked), held_with=held, share=lim.share if lim else None,
        )
        sizes, scope = self.sizes_against(r, lim) if lim is not None and blocked else (self.rule_sizes, {})
        return _with_text(rel, self.p, empty, sizes, scope)


def _subject(rel: Relaxation, p: Problem) -> tuple[str, str, str]:
    """What the rule asks, in words: (head, account id, tier id) (ids may be empty)."""
    name = rel.rule
    acc = name[name.index("[") + 1 : -1] if "[" in name else ""
    if rel.kind == "limit":
        return f"{name} = {pct(rel.share) if rel.share is not None else fmt(rel.rhs)}", "", ""
    if rel.kind in ("no_demotion", "keep_key"):
        a = p.account_ids.index(acc) if acc in p.account_ids else -1
        cur = current_tiers(p)[a] if a >= 0 else -1
        tier = p.tier_ids[cur] if cur >= 0 else ""
        what = f"stay at {tier} or higher" if rel.kind == "no_demotion" else "stay a key account"
        return f"{name}: {acc} cannot {what}", acc, tier
    if rel.kind == "override_in":
        tiers = [p.tier_ids[f.tier] for f in p.forced if f.include and f.tier >= 0 and p.account_ids[f.account] == acc]
        tier = tiers[0] if tiers else ""
        return f"{name}: {acc} cannot be included" + (f" at {tier}" if tier else ""), acc, tier
    if rel.kind == "override_out":
        return f"{name}: {acc} cannot be excluded", acc, ""
    return name, acc, ""


_GROUP_WORDS = {
    "no_demotion": "incumbents that may not be demoted",
    "keep_key": "incumbents that must stay key accounts",
    "override_in": "accounts forced in",
    "override_out": "accounts forced out",
}


def _rows_words(rows: tuple[str, ...], sizes: Mapping[str, int] | None = None, shown: int = 3,
                scope: Mapping[str, str] | None = None) -> str:
    """Blocking rows in words; many rows of one family become one phrase with examples.
    ``sizes``: rows per family in the model. When the rows given are some of a family's
    (the elastic solve gave way on 2 of 22 incumbents: any 2 would do as well), the phrase
    says so instead of naming those as the conflict. ``scope``: words that say which of
    a family's rows ``sizes`` counts ("that count towards it")."""
    groups: dict[str, list[str]] = {}
    for row in rows:
        groups.setdefault(group_of(row), []).append(row)
    parts = []
    for group, names in groups.items():
        total = (sizes or {}).get(group, 0)
        ids = [n[n.index("[") + 1: -1] for n in names] if group in _GROUP_WORDS else []
        listed = ", ".join(ids[:shown]) + (f" and {len(ids) - shown} more" if len(ids) > shown else "")
        if group in _GROUP_WORDS and total > len(names):
            which = f" and {scope[group]}" if scope and group in scope else ""
            parts.append(f"the {total} {_GROUP_WORDS[group]}{which} ({group}[...]: {len(ids)} of them would have "
                         f"to give way, e.g. {listed})")
        elif len(names) > shown and group in _GROUP_WORDS:
            parts.append(f"{len(ids)} {_GROUP_WORDS[group]} ({group}[...]: {listed})")
        elif len(names) > 8:
            parts.append(", ".join(names[:8]) + f" and {len(names) - 8} more {group} rows")
        else:
            parts.extend(names)
    return _and(parts)


_GROUP_SUBJECTS = {
    "no_demotion": "incumbents cannot keep their tier",
    "keep_key": "incumbents cannot stay key accounts",
    "override_in": "accounts cannot be forced in",
    "override_out": "accounts cannot be forced out",
}

GROUP_FROM = 3
"""Conflicts of one per-account family that need the same capacity rows are told in one line
from this many on (15 incumbents short of support hours: one line, not fifteen)."""
GROUP_SHOWN = 20
"""Accounts a grouped line names before "and N more": every one, in the usual case."""


def _grouped_lines(conflicts: list[Relaxation]) -> list[str]:
    """Each conflict's line, but those of one per-account family (``no_demotion``...) that
    capacity fixes through the same rows become one line, with the range each needs:
    "14 incumbents cannot keep their tier (no_demotion[...]: A, B, ... and N): on its
    own, each needs 5 to 90 more support hours in support_hours[technical]" (every account
    named, up to :data:`GROUP_SHOWN`)."""
    def key(c: Relaxation) -> tuple | None:
        if c.kind in _GROUP_SUBJECTS and c.capacity_can_fix and c.needs:
            return c.kind, tuple(i.row for i in c.needs)
        return None

    groups: dict[tuple, list[Relaxation]] = {}
    for c in conflicts:
        if key(c) is not None:
            groups.setdefault(key(c), []).append(c)
    out: list[str] = []
    for c in conflicts:
        k = key(c)
        if k is None or len(groups[k]) < GROUP_FROM:
            out.append(c.text)
        elif groups[k][0] is c:
            members = groups[k]
            ids = [m.rule[m.rule.index("[") + 1: -1] for m in members]
            listed = (_and(ids) if len(ids) <= GROUP_SHOWN
                      else ", ".join(ids[:GROUP_SHOWN]) + f" and {len(ids) - GROUP_SHOWN} more")
            needs = _and(_range_words([m.needs[j] for m in members]) for j in range(len(k[1])))
            out.append(f"{len(members)} {_GROUP_SUBJECTS[c.kind]} ({c.kind}[...]: {listed}): on its own, "
                       f"each needs {needs}")
    return out


def _range_words(increases: list[Increase]) -> str:
    """Increases of one row, as a range: "5 to 90 more support hours in support_hours[technical]"."""
    low, high = fmt(min(i.amount for i in increases)), fmt(max(i.amount for i in increases))
    return increases[0].words(low if low == high else f"{low} to {high}")


def _conflict_words(rel: Relaxation, sizes: Mapping[str, int] | None = None,
                    scope: Mapping[str, str] | None = None) -> str:
    """The rows a rule conflicts with: those the elastic solve gave way on and, when they
    are not the whole story, the rules that hold the limit where it stops with them
    ("... and with concentration[...]: together they hold it at 31 or more")."""
    words = _rows_words(rel.blocked_by, sizes, scope=scope)
    if rel.held_with and rel.nearest is not None and rel.kind == "limit":
        side = "more" if rel.sense == "<=" else "less"
        words += f" and with {_rows_words(rel.held_with)}: together they hold it at {fmt(rel.nearest)} or {side}"
    elif rel.held_with:
        words += f" and with {_rows_words(rel.held_with)}: they cannot all hold together"
    return words


def _nearest_words(rel: Relaxation, sep: str = ",") -> str:
    """', or lower it to 31' / ', or raise it to 42 %': rounded so that it is feasible.
    ``sep`` is ';' after a list of blocking rows, so the option does not read as one of them."""
    verb = "lower" if rel.sense == ">=" else "raise"
    if rel.share is not None:
        # a minimum share rounds down, a maximum share up, to a tenth of a percent
        scaled = rel.nearest * 1000
        value = (math.floor(scaled + 1e-9) if rel.sense == ">=" else math.ceil(scaled - 1e-9)) / 1000
        return f"{sep} or {verb} it to {pct(value)}"
    value = math.floor(rel.nearest + 1e-9) if rel.sense == ">=" else math.ceil(rel.nearest - 1e-9)
    return f"{sep} or {verb} it to {fmt(value)}"


def _with_text(rel: Relaxation, p: Problem, empty: bool, sizes: Mapping[str, int] | None = None,
               scope: Mapping[str, str] | None = None) -> Relaxation:
    """``rel`` with its sentence; ``sizes`` and ``scope`` as for :func:`_rows_words`."""
    head, acc, tier = _subject(rel, p)
    it = " " if rel.kind == "limit" else ": it "
    if empty:
        if rel.kind == "limit":
            text = f"{head} cannot be met: no candidate account counts towards it"
        else:
            where = f" at {tier}{' or higher' if rel.kind == 'no_demotion' else ''}" if tier else ""
            text = f"{head}: {acc or 'it'} has no admissible option{where}"
    elif rel.capacity_can_fix and rel.needs:
        text = f"{head}{it}needs " + _and(i.words() for i in rel.needs)
    elif rel.capacity_can_fix:
        text = f"{head}{it}conflicts with " + (_conflict_words(rel, sizes, scope) if rel.blocked_by else "other rules")
    else:
        text = f"{head}{it}cannot be met by adding capacity"
        if rel.blocked_by:
            text += "; it conflicts with " + _conflict_words(rel, sizes, scope)
    if rel.kind == "limit" and rel.nearest is not None:
        listed = bool(rel.blocked_by) and not (rel.capacity_can_fix and rel.needs)
        text += _nearest_words(rel, ";" if listed else ",")
    return replace(rel, text=text)


def diagnose(problem: Problem, options: SolverOptions = SolverOptions()) -> Diagnosis:
    """Explain an infeasible problem in capacity increases and rule relaxations."""
    an = _Analyst(problem, options)
    m = an.built.model

    # 1. which rules conflict with today's capacity (capacities hard, rules elastic)
    raw, _ = an.solve({r: an.weight(r) for r in an.rule_rows})
    if raw.status.has_solution:
        conflicts = sorted(an.violated(raw, an.rule_rows))
        if not conflicts:
            return Diagnosis(feasible=True, exact=an.exact)
    else:
        return _structural(an)

    # 2. capacity that lets every rule hold as set
    joint, _ = an.solve({r: an.weight(r) for r in an.capacity_rows})
    capacity = an.increases(joint) if joint.status.has_solution else []
    an.joint_rows = set(an.violated(joint, an.capacity_rows)) if joint.status.has_solution else set()
    diag = Diagnosis(feasible=False, capacity=capacity, capacity_can_fix=joint.status.has_solution)

    # 3. per rule
    for r in conflicts[:MAX_RULES]:
        diag.conflicts.append(an.explain(r, conflicts, joint if joint.status.has_solution else None))
    if len(conflicts) > MAX_RULES:
        rest = ", ".join(m.row_names[r] for r in conflicts[MAX_RULES:])
        diag.notes.append(f"Also in conflict: {rest}")
    diag.exact = an.exact
    return diag


def _structural(an: _Analyst) -> Diagnosis:
    """Even with every rule relaxed the capacities cannot hold: find the rows that must give."""
    m = an.built.model
    weights = {r: an.weight(r) for r in an.capacity_rows + an.rule_rows}
    raw, _ = an.solve(weights)
    scope = "capacity and rule rows"
    if not raw.status.has_solution:
        weights = {m.row(n): an.weight(m.row(n)) for n in an.built.elastic}
        raw, _ = an.solve(weights)
        scope = "all rows"
    diag = Diagnosis(feasible=False)
    found = an.violated(raw, weights)
    for r, v in sorted(found.items()):
        name = m.row_names[r]
        if r in an.capacity_rows:
            inc = Increase(name, round(v, 6), _UNITS[group_of(name)][0])
            diag.capacity.append(inc)
            text = f"{name} cannot hold even with no rule enforced: it needs {inc.words()}"
            diag.conflicts.append(Relaxation(rule=name, kind="capacity", rhs=an.rhs(r), needs=(inc,), text=text))
        else:
            text = f"{name} cannot hold (violated by {fmt(v)} when every {scope.split(' ')[0]} row may give)"
            diag.conflicts.append(
                Relaxation(rule=name, kind=group_of(name), rhs=an.rhs(r), capacity_can_fix=False, text=text)
            )
    diag.capacity_can_fix = all(c.kind == "capacity" for c in diag.conflicts)
    if not diag.conflicts:
        diag.notes.append(
            f"The problem is infeasible but no single row could be isolated (solver status: {raw.status.value})."
        )
    diag.exact = an.exact
    return diag
