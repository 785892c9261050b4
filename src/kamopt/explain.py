"""Why is an account in or out of the plan, and what would it take to change that?

Two levels, one vocabulary:

* :func:`explain_account` (``kamopt explain``) explains one account of a plan *exactly*:
  its eligibility rules, score and each criterion's part, what each tier would be worth
  and consume, the decision, the constraints that block a better tier (by their names:
  ``kam_hours[Iberia]``, ``sponsor_slots[Ana Ruiz]``, ``max_key_accounts``...), the
  **entry threshold** (the expected value at which it would enter a tier) and, for an
  account that is in, the **value lost** if it were forced out. Thresholds and losses
  come from re-solving the MILP with the account forced in at the tier (or out):
  ``threshold = value + (OPT - OPT_forced)``, ``value lost = OPT - OPT_out``. Each is
  exact up to the re-solves' gap, which is reported as an interval.
* :func:`explanations_table` (``explanations.csv``, written with every solve) gives the
  same fields for every account, with cheap **estimates** in place of re-solves: the LP
  relaxation's row duals price what each option uses, and an option's net worth is its
  objective coefficient minus that price. The ``threshold_method`` column says which.

Everything here returns data (dataclasses); :func:`explanation_lines` turns an
:class:`Explanation` into plain-language lines, which the CLI prints.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from enum import Enum
from typing import Any, Iterable, Sequence

import numpy as np

from kamopt.errors import DataError, Diagnostic, SolverError, did_you_mean
from kamopt.model.build import CAPACITY_GROUPS, Built, build_model, group_of
from kamopt.model.diagnose import Increase
from kamopt.model.optimise import chosen_options, decode, objective_parts, start_vector
from kamopt.model.problem import Forced, Problem
from kamopt.model.solution import NEW_HIRE, Assignment, Status
from kamopt.model.solvers import SolverOptions, run, solve_lp_relaxation
from kamopt.plan import Plan
from kamopt.report.plan_tables import change_of
from kamopt.verify import Usage, verify

EXPLAIN_GAP = 1e-6
"""Relative MIP gap of the exact re-solves (unless the policy's is already smaller)."""

EXPLAIN_TIGHT_MAX_OPTIONS = 5000
"""Largest model (account-tier options) re-solved at :data:`EXPLAIN_GAP` by default. Beyond
it the re-solves use the policy's gap: on large models HiGHS spends minutes in root cut
separation whenever the gap asked for is below the root gap, and does not stop at its time
limit while it does (measured: 100-170 s for a 30 s limit on 13,000 options), while the
root gap of such models is already wider than any account's value."""

EXPLAIN_TIME_LIMIT = 30.0
"""Seconds per exact re-solve (unless the policy's time limit is already shorter)."""

_TOL = 1e-6
"""Relative tolerance of "it fits" (the verifier's)."""

_CAPACITY_UNITS = {"kam_hours": "hours", "kam_span": "accounts", "support_hours": "hours", "budget": "money",
                   "sponsor_slots": "slots"}

_OWN_FAMILIES = ("one_tier", "incumbents", "overrides")
"""Row families that belong to one account: their duals are that account's own rent,
not a price of anything other accounts could use, so estimates leave them out."""


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


# --------------------------------------------------------------------------- blockers
def _slacks(usage: Iterable[Usage]) -> dict[str, Usage]:
    return {u.name: u for u in usage}


def move_blockers(
    problem: Problem,
    assignment: Assignment,
    usage: Sequence[Usage],
    accounts: np.ndarray,
    options: np.ndarray,
) -> list[tuple[Blocker, ...]]:
    """For each (account, option) pair: the capacities and limits that moving the account
    to that option would break in the plan as it stands (everyone else where they are).

    ``usage`` is the verifier's usage of the plan (:attr:`VerifyReport.usage`). Moves are
    checked row by row against each row's slack: KAM hours and span (the pool's, or every
    allowed named KAM's and the hired capacity's), support hours, the budget, sponsor
    slots (an allowed sponsor with a free slot), and every portfolio limit (soft limits
    are listed with their penalty). Vectorised over the pairs.
    """
    p, a = problem, assignment
    acc = np.asarray(accounts, dtype=np.int64)
    opt = np.asarray(options, dtype=np.int64)
    n = acc.size
    out: list[list[Blocker]] = [[] for _ in range(n)]
    if n == 0:
        return []
    rows = _slacks(usage)
    cur = chosen_options(p, a.tier)[acc]
    has = cur >= 0
    cur0 = np.maximum(cur, 0)
    inf = math.inf

    def delta(arr) -> np.ndarray:
        arr = np.asarray(arr, dtype=float)
        return arr[opt] - np.where(has, arr[cur0], 0.0)

    def slack_of(name: str) -> tuple[float, float]:
        u = rows.get(name)
        if u is None or u.slack is None:
            return inf, 0.0
        return float(u.slack), float(u.limit or 0.0)

    def short(need: np.ndarray, free: np.ndarray, limit: np.ndarray) -> np.ndarray:
        tol = _TOL * np.maximum(1.0, np.abs(limit))
        return (need > tol) & (need > free + tol)

    def add(i: int, name: str, family: str, unit: str, need: float, free: float, **kw) -> None:
        out[i].append(Blocker(name, family, unit, float(need), float(free), **kw))

    hires = np.asarray(a.hires, dtype=np.int64) if len(a.hires) else np.zeros(len(p.pools), dtype=np.int64)

    def hire_note(q: int) -> str:
        pool = p.pools[q]
        more = pool.max_hire - int(hires[q])
        if pool.max_hire <= 0:
            return "the pool cannot hire"
        if more <= 0:
            return f"the pool already hires its maximum of {pool.max_hire} FTE (hire_limit[{pool.id}])"
        return f"the pool could hire up to {more} more FTE"

    # KAM capacity per pool
    if not p.kams and p.pools:
        q = np.asarray(p.pool, dtype=np.int64)[acc]
        for what, arr, unit in (("kam_hours", p.kam_hours, "h"), ("kam_span", np.ones(p.n_options), "accounts")):
            info = [slack_of(f"{what}[{pool.id}]") for pool in p.pools]
            free = np.array([f for f, _ in info])[q]
            lim = np.array([lm for _, lm in info])[q]
            need = delta(arr)
            for i in np.flatnonzero(short(need, free, lim)).tolist():
                add(i, f"{what}[{p.pools[q[i]].id}]", what, unit, need[i], free[i], note=hire_note(int(q[i])))
    # named KAMs
    if p.kams:
        _named_kam_blockers(p, a, rows, acc, opt, cur, add, slack_of, short, hire_note)
    # support hours
    for s, cap in enumerate(p.support):
        free, lim = slack_of(f"support_hours[{cap.id}]")
        need = delta(np.asarray(p.support_hours[s], dtype=float))
        for i in np.flatnonzero(short(need, np.full(n, free), np.full(n, lim))).tolist():
            add(i, f"support_hours[{cap.id}]", "support_hours", "h", need[i], free)
    # budget
    if p.budget is not None:
        free, lim = slack_of("budget")
        need = delta(p.cost)
        for i in np.flatnonzero(short(need, np.full(n, free), np.full(n, lim))).tolist():
            add(i, "budget", "budget", "money", need[i], free)
    # sponsors
    req = np.asarray(p.sponsor_required, dtype=bool)
    if req.size and req.any():
        t_new = np.asarray(p.opt_tier, dtype=np.int64)[opt]
        t_cur = np.where(has, np.asarray(p.opt_tier, dtype=np.int64)[cur0], 0)
        needs_sp = req[t_new] & ~(has & req[t_cur])
        n_sp = len(p.sponsors)
        ok = np.asarray(p.sponsor_ok, dtype=bool)
        if ok.shape != (p.n_accounts, n_sp):
            ok = np.zeros((p.n_accounts, n_sp), dtype=bool)
        free_slots = np.array([slack_of(f"sponsor_slots[{s.id}]")[0] for s in p.sponsors], dtype=float)
        allowed = ok[acc]
        fits = (allowed & (free_slots >= 1 - _TOL)[None, :]).any(axis=1) if n_sp else np.zeros(n, dtype=bool)
        for i in np.flatnonzero(needs_sp & ~fits).tolist():
            es = np.flatnonzero(allowed[i]).tolist()
            if not es:
                add(i, f"sponsor_required[{p.account_ids[acc[i]]}]", "sponsor_required", "accounts", 1.0, 0.0,
                    note="no sponsor has affinity with it")
            for e in es:
                add(i, f"sponsor_slots[{p.sponsors[e].id}]", "sponsor_slots", "slots", 1.0, free_slots[e])
    # portfolio limits
    for lim in p.limits:
        d = delta(lim.coef)
        u = rows.get(lim.name)
        if u is None or u.slack is None:
            continue
        free = float(u.slack)
        need = d if lim.sense == "<=" else -d
        hit = short(need, np.full(n, free), np.full(n, float(lim.rhs)))
        share = "" if lim.share is None else f"a {lim.share * 100:g} % share limit, counted in its row's units"
        for i in np.flatnonzero(hit).tolist():
            add(i, lim.name, lim.family, lim.unit, need[i], free, soft_penalty=lim.penalty, note=share)
    return [tuple(b) for b in out]


def _named_kam_blockers(p, a, rows, acc, opt, cur, add, slack_of, short, hire_note) -> None:
    """Named KAMs: the move fits when some allowed KAM (or the pool's hired capacity) has
    the hours and a free place; otherwise the closest KAM's rows are the blockers."""
    n = acc.size
    has = cur >= 0
    kam_index = {k.id: i for i, k in enumerate(p.kams)}
    labels = a.kam if a.kam else ("",) * p.n_accounts
    cur_k = np.array([kam_index.get(labels[x], -1) for x in acc.tolist()], dtype=np.int64)
    cur_new = np.array([labels[x].endswith(NEW_HIRE) for x in acc.tolist()], dtype=bool)
    kh = np.asarray(p.kam_hours, dtype=float)
    cur_h = np.where(has, kh[np.maximum(cur, 0)], 0.0)
    need_h0 = kh[opt]
    info_h = [slack_of(f"kam_hours[{k.id}]") for k in p.kams]
    info_s = [slack_of(f"kam_span[{k.id}]") for k in p.kams]
    sl_h = np.array([f for f, _ in info_h])
    lim_h = np.array([lm for _, lm in info_h])
    sl_s = np.array([f for f, _ in info_s])
    pairs = p.kam_pairs
    pa = np.asarray(pairs.account if pairs is not None else np.zeros(0), dtype=np.int64)
    order = np.argsort(pa, kind="stable")
    lo = np.searchsorted(pa[order], np.arange(p.n_accounts), "left")
    hi = np.searchsorted(pa[order], np.arange(p.n_accounts), "right")
    cnt = (hi - lo)[acc]
    move = np.repeat(np.arange(n), cnt)
    offs = np.arange(move.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    pidx = order[np.repeat(lo[acc], cnt) + offs]
    k = np.asarray(pairs.kam, dtype=np.int64)[pidx] if pidx.size else np.zeros(0, dtype=np.int64)
    f = np.asarray(pairs.hours_factor, dtype=float)[pidx] if pidx.size else np.zeros(0)
    same = cur_k[move] == k
    free_h = sl_h[k] + np.where(same, cur_h[move] * f, 0.0)
    free_s = sl_s[k] + np.where(same, 1.0, 0.0)
    need_h = need_h0[move] * f
    ok_h = ~short(need_h, free_h, lim_h[k])
    ok_s = ~short(np.ones(move.size), free_s, np.ones(move.size))
    fits = np.bincount(move, weights=(ok_h & ok_s).astype(float), minlength=n) > 0
    q = np.asarray(p.pool, dtype=np.int64)[acc]
    can_hire = np.array([p.pools[j].max_hire > 0 for j in q.tolist()], dtype=bool)
    nh = {j: (slack_of(f"kam_hours[{pool.id} {NEW_HIRE}]"), slack_of(f"kam_span[{pool.id} {NEW_HIRE}]"))
          for j, pool in enumerate(p.pools)}
    nh_h = np.array([nh[j][0][0] for j in q.tolist()]) + np.where(cur_new, cur_h, 0.0)
    nh_lim = np.array([nh[j][0][1] for j in q.tolist()])
    nh_s = np.array([nh[j][1][0] for j in q.tolist()]) + np.where(cur_new, 1.0, 0.0)
    fits |= can_hire & ~short(need_h0, nh_h, nh_lim) & ~short(np.ones(n), nh_s, np.ones(n))
    # an account that keeps its KAM with no more hours needs nothing new
    fits |= has & (need_h0 <= cur_h + 1e-9) & ((cur_k >= 0) | cur_new)
    for i in np.flatnonzero(~fits).tolist():
        mine = np.flatnonzero(move == i)
        pool = p.pools[int(q[i])]
        if mine.size:
            best = mine[np.argmax(free_h[mine] - need_h[mine])]
            kid = p.kams[int(k[best])].id
            others = f"no allowed KAM has room ({mine.size} allowed); {kid} has the most hours free"
            if not ok_h[best]:
                add(i, f"kam_hours[{kid}]", "kam_hours", "h", need_h[best], free_h[best], note=others)
            if not ok_s[best]:
                add(i, f"kam_span[{kid}]", "kam_span", "accounts", 1.0, free_s[best], note=others)
        elif not can_hire[i]:
            add(i, f"kam_assign[{p.account_ids[acc[i]]}]", "kam_assign", "accounts", 1.0, 0.0,
                note="no named KAM may serve it")
        if can_hire[i]:
            if short(need_h0[i:i + 1], nh_h[i:i + 1], nh_lim[i:i + 1])[0]:
                add(i, f"kam_hours[{pool.id} {NEW_HIRE}]", "kam_hours", "h", need_h0[i], nh_h[i],
                    note=hire_note(int(q[i])))
            elif nh_s[i] < 1 - _TOL:
                add(i, f"kam_span[{pool.id} {NEW_HIRE}]", "kam_span", "accounts", 1.0, nh_s[i],
                    note=hire_note(int(q[i])))


# --------------------------------------------------------------------------- estimates
def lp_net_values(problem: Problem, built: Built | None = None) -> np.ndarray | None:
    """Per option: what it adds to the objective at the LP relaxation's prices.

    ``net[o] = c[o] - sum_r dual[r] * A[r, o]``: its objective coefficient (value, change
    penalty; no tie-break) minus the price of every row it uses, priced by the
    relaxation's row duals, except the account's own rows (``one_tier``, incumbent and
    override rows), whose duals are that account's rent. None when the relaxation has no
    optimal solution.
    """
    b = built if built is not None else build_model(problem)
    m = b.model
    _, dual = solve_lp_relaxation(m)
    if dual is None:
        return None
    price = np.array(dual, dtype=float)
    for fam in _OWN_FAMILIES:
        price[b.families.get(fam, np.zeros(0, dtype=np.int64))] = 0.0
    a = m.csc()
    cols = np.repeat(np.arange(m.n_cols), np.diff(a.start))
    col_price = np.bincount(cols, weights=a.value * price[a.index], minlength=m.n_cols)
    tb = b.tiebreak if b.tiebreak.size == b.x.size else np.zeros(b.x.size)
    return m.cost[b.x] - tb - col_price[b.x]


def estimated_moves(problem: Problem, tier: np.ndarray, net: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimates from :func:`lp_net_values`, per account:

    * ``target``: the option to move to (the higher tier it qualifies for, or any tier
      when it is out) that needs the least extra value; -1 when none;
    * ``shortfall``: extra value it needs there, ``max(0, net[cur] - net[target])``
      (``net[cur]`` is 0 when out): clipped at 0, since a plan that leaves it out says it
      is not worth more today;
    * ``lost``: the value lost if forced out, ``max(0, net[cur])`` (NaN when out).
    """
    p = problem
    cur = chosen_options(p, tier)
    n = p.n_accounts
    net_cur = np.where(cur >= 0, net[np.maximum(cur, 0)], 0.0) if p.n_options else np.zeros(n)
    acc = np.asarray(p.opt_account, dtype=np.int64)
    ot = np.asarray(p.opt_tier, dtype=np.int64)
    tier = np.asarray(tier, dtype=np.int64)
    higher = np.where(tier[acc] >= 0, ot < tier[acc], True)
    short = np.maximum(0.0, net_cur[acc] - net)
    cand = np.flatnonzero(higher)
    target = np.full(n, -1, dtype=np.int64)
    shortfall = np.full(n, np.nan)
    if cand.size:
        order = cand[np.lexsort((ot[cand], short[cand], acc[cand]))]
        first = np.ones(order.size, dtype=bool)
        first[1:] = acc[order][1:] != acc[order][:-1]
        pick = order[first]
        target[acc[pick]] = pick
        shortfall[acc[pick]] = short[pick]
    lost = np.where(cur >= 0, np.maximum(0.0, net_cur), np.nan)
    return target, shortfall, lost


# --------------------------------------------------------------------------- exact
class Resolver:
    """Exact re-solves of one problem: its optimum, and the optimum with one account forced
    in at a tier or forced out. The model is built once; each variant edits bounds on a
    copy. Warm starts come from ``start`` (the plan) where they keep every rule.

    Every plan a variant finds keeps every rule of the problem itself, so the best of them
    all (:attr:`best`) is the best known plan: thresholds and losses are computed against
    it, once every solve has run."""

    def __init__(self, problem: Problem, options: SolverOptions, start: Assignment | None = None):
        self.problem = problem
        self.options = options
        self.built = build_model(problem)
        self.start = start
        # The solver's objective carries tie-break terms; any plan's true value is at most
        # its solver value plus the largest negative tie-break it can hold.
        tb = self.built.tiebreak
        worst = np.zeros(problem.n_accounts)
        if tb.size:
            np.maximum.at(worst, problem.opt_account, -tb)
        self.tb_slack = float(np.maximum(worst, 0.0).sum())
        self._base: Bounds | None = None
        self.best: Bounds | None = None
        """The best plan found by any solve so far."""

    def _usable(self, a: Assignment | None) -> Assignment | None:
        if a is None or self.options.name != "highs":
            return None
        try:
            return a if verify(self.problem, a).ok else None
        except ValueError:
            return None

    def _run(self, lower: dict[int, float] | None = None, upper: dict[int, float] | None = None,
             start: Assignment | None = None) -> Bounds:
        b = self.built
        m = b.model
        if lower or upper:
            m = m.copy()
            for col, v in (lower or {}).items():
                m.lower[col] = v
            for col, v in (upper or {}).items():
                m.upper[col] = v
        x0 = start_vector(b, start) if start is not None else None
        raw = run(m, self.options, start=x0)  # restarts are off (solvers._new_highs)
        if not raw.status.has_solution or raw.x is None:
            return Bounds(raw.status, None, None, None, raw.seconds)
        assignment = decode(b, raw.x)
        objective = objective_parts(self.problem, assignment)[0].total
        bound = None if raw.bound is None else max(objective, raw.bound + self.tb_slack)
        found = Bounds(raw.status, objective, bound, assignment, raw.seconds)
        if self.best is None or objective > self.best.objective:
            self.best = found
        return found

    def optimum(self) -> Bounds:
        """The problem re-solved (once), warm-started from ``start``."""
        if self._base is None:
            self._base = self._run(start=self._usable(self.start))
        return self._base

    def _plan(self) -> Assignment | None:
        return self.best.assignment if self.best is not None else self.start

    def forced_in(self, account: int, option: int) -> Bounds:
        """The optimum with ``account`` at the tier of ``option``. The solver starts from
        the best plan with the account moved there, repaired if need be by dropping the
        key accounts that give the least value for the capacity the move needs."""
        self.optimum()
        moved = _moved(self.problem, self._plan(), account, option)
        start = self._usable(moved)
        if start is None and self.options.name == "highs":
            start = _refilled(self.problem, _repaired(self.problem, moved, account), account)
        return self._run(lower={int(self.built.x[option]): 1.0}, start=start)

    def forced_out(self, account: int) -> Bounds:
        """The optimum with ``account`` not a key account."""
        self.optimum()
        cols = self.built.x[self.problem.options_of(account)]
        start = self._usable(_moved(self.problem, self._plan(), account, -1))
        if start is not None:
            start = _refilled(self.problem, start, account)
        return self._run(upper={int(c): 0.0 for c in cols}, start=start)

    def _known(self) -> tuple[float | None, float | None]:
        """(best known objective, upper bound on the optimum)."""
        base = self.optimum()
        best = self.best.objective if self.best is not None else None
        high = None if base.bound is None or best is None else max(base.bound, best)
        return best, high

    def threshold(self, option: int, forced: Bounds) -> tuple[float | None, float | None, float | None]:
        """(threshold, low, high): the value ``option`` would need for its account to enter
        there, ``value + OPT - OPT_forced``, and the interval the solves prove it lies in."""
        best, opt_high = self._known()
        if forced.objective is None or best is None:
            return None, None, None
        value = float(self.problem.value[option])
        threshold = value + best - forced.objective
        low = None if forced.bound is None else max(value, value + best - forced.bound)
        high = None if opt_high is None else value + opt_high - forced.objective
        return threshold, low, high

    def lost(self, out: Bounds) -> tuple[float | None, float | None, float | None]:
        """(value lost, low, high) if the account is forced out: ``OPT - OPT_out``."""
        best, opt_high = self._known()
        if out.objective is None or best is None:
            return None, None, None
        low = None if out.bound is None else max(0.0, best - out.bound)
        high = None if opt_high is None else opt_high - out.objective
        return best - out.objective, low, high

    def proven(self, *solves: Bounds) -> bool:
        """The base solve and these all proved their gap (or infeasibility)."""
        return all(b.status in (Status.OPTIMAL, Status.INFEASIBLE) for b in (self.optimum(), *solves))


def _moved(p: Problem, a: Assignment | None, account: int, option: int) -> Assignment | None:
    """The plan with one account moved to ``option`` (-1: out), labels chosen simply."""
    if a is None:
        return None
    tier = np.array(a.tier, dtype=np.int64)
    kam = list(a.kam) if a.kam else []
    sponsor = list(a.sponsor) if a.sponsor else []
    if option < 0:
        tier[account] = -1
        if kam:
            kam[account] = ""
        if sponsor:
            sponsor[account] = ""
        return replace(a, tier=tier, kam=tuple(kam), sponsor=tuple(sponsor))
    t = int(p.opt_tier[option])
    tier[account] = t
    if kam and not kam[account]:
        kam[account] = _roomiest_kam(p, a, account)
    if sponsor:
        req = np.asarray(p.sponsor_required, dtype=bool)
        if req.size > t and req[t]:
            if not sponsor[account]:
                used = {s: sponsor.count(s) for s in set(sponsor)}
                ok = np.asarray(p.sponsor_ok, dtype=bool)
                allowed = [s for e, s in enumerate(p.sponsors) if ok.shape[0] > account and ok[account, e]]
                free = [s.id for s in allowed if used.get(s.id, 0) < s.slots]
                # none free: take the first anyway, so that the repair sees which slots to free
                sponsor[account] = free[0] if free else (allowed[0].id if allowed else "")
        else:
            sponsor[account] = ""
    return replace(a, tier=tier, kam=tuple(kam), sponsor=tuple(sponsor))


def _roomiest_kam(p: Problem, a: Assignment, account: int) -> str:
    """The allowed named KAM of an account with the most hours free in plan ``a`` ('' when none)."""
    pairs = p.kam_pairs
    if pairs is None:
        return ""
    allowed = np.flatnonzero(np.asarray(pairs.account) == account)
    if allowed.size == 0:
        return ""
    index = {k.id: i for i, k in enumerate(p.kams)}
    opt = chosen_options(p, a.tier)
    factor = {(int(x), int(k)): float(f) for x, k, f in zip(pairs.account, pairs.kam, pairs.hours_factor)}
    used = np.zeros(len(p.kams))
    for b, label in enumerate(a.kam):
        k = index.get(label)
        if k is not None and opt[b] >= 0 and b != account:
            used[k] += float(p.kam_hours[opt[b]]) * factor.get((b, k), 1.0)
    ks = np.asarray(pairs.kam, dtype=np.int64)[allowed]
    free = np.array([p.kams[k].hours for k in ks.tolist()]) - used[ks]
    return p.kams[int(ks[int(np.argmax(free))])].id


def _repaired(p: Problem, moved: Assignment | None, account: int, max_steps: int = 200) -> Assignment | None:
    """A plan that keeps every rule, from ``moved`` (the account just moved), by moving
    other key accounts down one at a time: each step drops one, or demotes it to its next
    lower tier, whichever gives up the least value per unit freed of the capacities and
    maximums the plan breaks. Incumbents the rules keep and accounts forced in are not
    touched. None when that cannot repair it (a minimum, an incumbent or override rule is
    broken) or it takes too many steps."""
    if moved is None:
        return None
    kept = _kept_in(p, moved.tier)
    value = np.asarray(p.value, dtype=float)
    req = np.asarray(p.sponsor_required, dtype=bool)
    limits = {lim.name: lim for lim in p.limits}
    support = [c.id for c in p.support]
    pools = [pool.id for pool in p.pools]
    a = moved
    for _ in range(max_steps):
        try:
            report = verify(p, a)
        except ValueError:
            return None
        if report.ok:
            return a
        opt = chosen_options(p, a.tier)
        key = np.array([b for b in np.flatnonzero(a.tier >= 0).tolist()
                        if b != account and b not in kept and opt[b] >= 0], dtype=np.int64)
        if key.size == 0:
            return None
        cur = opt[key]
        lower = np.array([_next_lower(p, int(o)) for o in cur.tolist()], dtype=np.int64)
        has_lower = lower >= 0
        low = np.where(has_lower, lower, cur)
        cover_drop = np.zeros(key.size)  # share of each broken row a step would mend, summed
        cover_down = np.zeros(key.size)
        for v in report.violations:
            use = _row_use(p, a, v.constraint, v.family, key, limits, support, pools)
            if use is None:
                return None
            u_cur, u_low = use(cur), use(low)
            if v.family == "sponsor_slots" and req.size:  # a lower tier without a sponsor frees the slot
                u_low = np.where(req[np.asarray(p.opt_tier)[low]], u_cur, 0.0)
            need = max(v.amount, 1e-9)
            cover_drop += np.minimum(u_cur / need, 1.0)
            cover_down += np.where(has_lower, np.minimum(np.maximum(u_cur - u_low, 0.0) / need, 1.0), 0.0)
        steps = np.concatenate([cover_drop, cover_down])
        loss = np.concatenate([value[cur], np.where(has_lower, value[cur] - value[low], np.inf)])
        if not (steps > 1e-9).any():
            return None
        full = steps >= len(report.violations) - 1e-9
        if full.any():  # one step mends everything: the cheapest such step
            score = np.where(full, loss, np.inf)
        else:  # otherwise: the least value given up per share mended
            score = np.where(steps > 1e-9, loss / np.maximum(steps, 1e-12), np.inf)
        k = int(np.argmin(score))
        if k < key.size:
            a = _moved(p, a, int(key[k]), -1)
        else:
            a = _moved(p, a, int(key[k - key.size]), int(lower[k - key.size]))
    return None


def _refilled(p: Problem, a: Assignment | None, account: int, max_adds: int = 10) -> Assignment | None:
    """``a`` (a plan that keeps every rule) with accounts that are out added back, one at a
    time, while some option fits the capacity left (no hard blocker) and adds value net of
    the change penalty and any soft-limit penalty: the best first. ``account`` is left as it is."""
    if a is None:
        return None
    value = np.asarray(p.value, dtype=float)
    cur_tier = np.full(p.n_accounts, -1, dtype=np.int64)
    m = min(p.n_accounts, len(p.current_tier))
    cur_tier[:m] = np.asarray(p.current_tier[:m], dtype=np.int64)
    tried: set[int] = set()
    for _ in range(max_adds):
        report = verify(p, a)
        if not report.ok:
            return None
        out = (a.tier < 0) & (np.arange(p.n_accounts) != account)
        opts = np.flatnonzero(out[p.opt_account])
        opts = opts[~np.isin(opts, list(tried))] if tried else opts
        if opts.size == 0:
            break
        acc = np.asarray(p.opt_account)[opts]
        stay = cur_tier[acc] == np.asarray(p.opt_tier)[opts]
        gain = value[opts] + np.where(stay, p.change_penalty, -p.change_penalty)
        found = move_blockers(p, a, report.usage, acc, opts)
        for i, bl in enumerate(found):
            if any(b.soft_penalty is None for b in bl):
                gain[i] = -np.inf
            else:
                gain[i] -= sum(b.soft_penalty * b.missing for b in bl)
        added = False
        for i in np.argsort(-gain, kind="stable")[:5].tolist():
            if gain[i] <= 1e-9:
                break
            tried.add(int(opts[i]))
            b = _moved(p, a, int(acc[i]), int(opts[i]))
            if b is not None and verify(p, b).ok:
                a, added = b, True
                break
        if not added:
            break
    return a


def _next_lower(p: Problem, option: int) -> int:
    """The account's option at the next lower tier, or -1."""
    opts = p.options_of(int(p.opt_account[option]))
    lower = opts[np.asarray(p.opt_tier)[opts] > p.opt_tier[option]]
    return int(lower[0]) if lower.size else -1


def _row_use(p: Problem, a: Assignment, name: str, family: str, key: np.ndarray, limits: dict,
             support: list[str], pools: list[str]):
    """A function: options of the ``key`` accounts -> how much of row ``name`` each uses
    (None when moving accounts down cannot lower the row: minimums, incumbent rules...)."""
    inside = name[name.index("[") + 1: -1] if "[" in name else ""
    kh = np.asarray(p.kam_hours, dtype=float)
    if name in limits:
        lim = limits[name]
        if lim.sense != "<=" or lim.penalty is not None:
            return None
        coef = np.asarray(lim.coef, dtype=float)
        return lambda o: np.maximum(coef[o], 0.0)
    if family == "budget":
        cost = np.asarray(p.cost, dtype=float)
        return lambda o: cost[o]
    if family == "support_hours" and inside in support:
        hours = np.asarray(p.support_hours[support.index(inside)], dtype=float)
        return lambda o: hours[o]
    if family in ("kam_hours", "kam_span"):
        if not p.kams and inside in pools:
            mine = np.asarray(p.pool)[key] == pools.index(inside)
        elif a.kam:
            mine = np.array([a.kam[b] == inside for b in key.tolist()], dtype=bool)
        else:
            return None
        if family == "kam_hours":
            return lambda o: np.where(mine, kh[o], 0.0)
        return lambda o: np.where(mine, 1.0, 0.0)
    if family == "sponsor_slots" and a.sponsor:
        mine = np.array([a.sponsor[b] == inside for b in key.tolist()], dtype=float)
        return lambda o: mine
    return None


def _forced_problem(p: Problem, account: int, include: bool, tier: int = -1) -> Problem:
    """The problem with one account forced in (at ``tier``) or out, replacing any override it had."""
    kept = tuple(f for f in p.forced if f.account != account)
    return replace(p, forced=kept + (Forced(account, include, tier, reason="kamopt explain"),))


def _own_rules(p: Problem, account: int) -> list[str]:
    """The rows that keep an account in: incumbent rules and overrides."""
    acc = p.account_ids[account]
    out = []
    cur = int(p.current_tier[account]) if account < len(p.current_tier) else -1
    if cur >= 0 and p.demotion == "forbid":
        out.append(f"no_demotion[{acc}]")
    elif cur >= 0 and p.demotion == "tier_down":
        out.append(f"keep_key[{acc}]")
    if any(f.account == account and f.include for f in p.forced):
        out.append(f"override_in[{acc}]")
    return out


def _kept_in(p: Problem, tier: np.ndarray) -> dict[int, list[str]]:
    """Key accounts of a plan that a rule keeps in: account -> its rules (see :func:`_own_rules`)."""
    forced_in = {f.account for f in p.forced if f.include}
    cur = np.full(p.n_accounts, -1, dtype=np.int64)
    m = min(p.n_accounts, len(p.current_tier))
    cur[:m] = np.asarray(p.current_tier[:m], dtype=np.int64)
    keep = (np.asarray(tier) >= 0) & (cur >= 0) & (p.demotion != "allow")
    keep[[a for a in forced_in if tier[a] >= 0]] = True
    return {a: _own_rules(p, a) for a in np.flatnonzero(keep).tolist()}


def capacity_needed(problem: Problem, options: SolverOptions) -> list[Increase] | None:
    """The smallest capacity increase (relative to each row's size) that lets every rule of
    ``problem`` hold: KAM hours and span, support hours, budget and sponsor slots elastic,
    every rule hard. [] when it is feasible as it is; None when no capacity helps (rules
    conflict with each other) or the solve found no answer."""
    b = build_model(problem, elastic=set(CAPACITY_GROUPS))
    m = b.model
    m.cost[:] = 0.0
    m.constant = 0.0
    for name, cols in b.elastic.items():
        r = m.row(name)
        rhs = m.row_upper[r] if np.isfinite(m.row_upper[r]) else m.row_lower[r]
        for col in cols:
            if col >= 0:
                m.cost[col] = -1.0 / max(1.0, abs(float(rhs)))
    raw = run(m, replace(options, gap=max(options.gap, 1e-4)))
    if not raw.status.has_solution or raw.x is None:
        return None
    out = []
    for name, cols in b.elastic.items():
        v = float(sum(raw.x[c] for c in cols if c >= 0))
        r = m.row(name)
        rhs = m.row_upper[r] if np.isfinite(m.row_upper[r]) else m.row_lower[r]
        if v > _TOL * max(1.0, abs(float(rhs))):
            out.append(Increase(name, round(v, 6), _CAPACITY_UNITS.get(group_of(name), "units")))
    return out


def _what_it_takes(p: Problem, options: SolverOptions) -> tuple[str, ...]:
    """Plain lines: the capacity that would let the (forced) problem hold, or, when no
    capacity helps, the diagnosis of its conflicting rules."""
    needs = capacity_needed(p, options)
    if needs:
        return tuple(f"{i.words()} (added, or freed by accounts the rules keep in)" for i in needs)
    from kamopt.model.diagnose import diagnose

    return tuple(diagnose(p, replace(options, gap=max(options.gap, 1e-4))).lines())


# --------------------------------------------------------------------------- facts
def _row_of(plan: Plan, account_id: str) -> int:
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


def _rules(plan: Plan, r: int) -> tuple[RuleResult, ...]:
    s = plan.screening
    pol = s.loaded.policy
    return tuple(
        RuleResult(rid, str(pol.eligibility[rid].rule), bool(s.rule_pass[r, j]), pol.eligibility[rid].description or "")
        for j, rid in enumerate(s.rule_ids)
    )


def _contributions(plan: Plan, r: int) -> tuple[Contribution, ...]:
    s = plan.screening
    pol = s.loaded.policy
    out = []
    for j, cid in enumerate(s.criterion_ids):
        w = float(pol.criteria[cid].weight)
        sc = float(s.criterion_scores[r, j])
        out.append(Contribution(cid, w, sc, w * sc))
    return tuple(out)


def _tier_facts(plan: Plan, r: int) -> tuple[TierFacts, ...]:
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


def _usage(plan: Plan) -> list[Usage]:
    if plan.check is not None:
        return plan.check.usage
    return verify(plan.problem, plan.solution.assignment).usage


def _exact_options(plan: Plan, gap: float | None, time_limit: float | None) -> SolverOptions:
    """Solver options of the re-solves: the tight gap up to :data:`EXPLAIN_TIGHT_MAX_OPTIONS`
    options, the policy's gap beyond (unless ``gap`` is given); time limit capped."""
    o = plan.options
    if gap is None:
        gap = min(o.gap, EXPLAIN_GAP) if plan.problem.n_options <= EXPLAIN_TIGHT_MAX_OPTIONS else o.gap
    return SolverOptions(
        name=o.name, time_limit=time_limit if time_limit is not None else min(o.time_limit, EXPLAIN_TIME_LIMIT),
        gap=gap, threads=o.threads,
    )


# --------------------------------------------------------------------------- one account
def explain_account(
    plan: Plan,
    account_id: str,
    *,
    exact: bool = True,
    tiers: Sequence[str] | None = None,
    gap: float | None = None,
    time_limit: float | None = None,
) -> Explanation:
    """Explain one account of a plan (a solved :class:`Plan`, or one read back by
    :func:`kamopt.plan.check`).

    ``exact`` re-solves the MILP (once for the optimum, once per tier asked, once forced
    out for an account that is in) with relative gap ``gap`` (default: the policy's or
    1e-6, whichever is smaller; the policy's on models over
    :data:`EXPLAIN_TIGHT_MAX_OPTIONS` options) and ``time_limit`` per solve (default: the policy's or
    30 s, whichever is shorter);
    otherwise the thresholds are LP estimates. ``tiers`` limits the entry thresholds to
    those tiers (default: every higher tier it qualifies for). Raises
    :class:`kamopt.errors.DataError` (with a did-you-mean) for an unknown account id.
    """
    if plan.solution.assignment is None:
        raise DataError(Diagnostic("the plan has no decisions to explain (the solve found no plan)"))
    s = plan.screening
    r = _row_of(plan, account_id)
    pol = s.loaded.policy
    tier_row = plan.tier_of_row()
    d, c = int(tier_row[r]), int(s.current_tier[r])
    candidate = bool(s.candidate[r])
    status = "excluded" if not candidate else ("in" if d >= 0 else "out")
    base = Explanation(
        account_id=account_id, name=s.data.names[r], status=status, reason=s.reasons[r], notes=s.notes[r],
        eligible=bool(s.eligible[r]), rules=_rules(plan, r), score=float(s.score[r]),
        contributions=_contributions(plan, r), tiers=_tier_facts(plan, r),
        decision=s.tier_ids[d] if d >= 0 else "none", previous_tier=s.tier_ids[c] if c >= 0 else "none",
        change=change_of(c, d), currency=pol.currency, plan_objective=plan.solution.objective,
    )
    if not candidate:
        return base
    p, asg = plan.problem, plan.solution.assignment
    a = int(np.flatnonzero(plan.index.rows == r)[0])
    opts = p.options_of(a)
    wanted = set(tiers) if tiers else None
    if wanted is not None:
        unknown = sorted(wanted - set(p.tier_ids))
        if unknown:
            raise DataError(Diagnostic(f"unknown tier '{unknown[0]}'", field="tier",
                                       hint=did_you_mean(unknown[0], p.tier_ids)))
    targets = [int(o) for o in opts
               if (d < 0 or p.opt_tier[o] < d) and (wanted is None or p.tier_ids[p.opt_tier[o]] in wanted)]
    blockers = move_blockers(p, asg, _usage(plan), np.full(len(targets), a), np.array(targets, dtype=np.int64))
    remarks: list[str] = []
    if not exact:
        net = lp_net_values(p)
        entries, exit_ = [], None
        if net is not None:
            cur = chosen_options(p, asg.tier)[a]
            net_cur = float(net[cur]) if cur >= 0 else 0.0
            for o, bl in zip(targets, blockers):
                v = float(p.value[o])
                entries.append(Entry(p.tier_ids[p.opt_tier[o]], v, "estimate",
                                     threshold=v + max(0.0, net_cur - float(net[o])), blockers=bl))
            if d >= 0:
                kept = _own_rules(p, a)
                exit_ = Exit("estimate", feasible=not kept, kept_by=tuple(kept),
                             value_lost=None if kept else max(0.0, net_cur))
        else:
            remarks.append("the LP relaxation has no optimal solution: no estimates")
        return replace(base, entries=tuple(entries), exit=exit_, remarks=tuple(remarks))

    options = _exact_options(plan, gap, time_limit)
    res = Resolver(p, options, start=asg)
    opt = res.optimum()
    if opt.objective is None:
        remarks.append(f"the re-solve found no plan ({opt.status.value}): no exact thresholds")
        return replace(base, entries=tuple(Entry(p.tier_ids[p.opt_tier[o]], float(p.value[o]), "exact",
                                                 blockers=bl) for o, bl in zip(targets, blockers)),
                       remarks=tuple(remarks), gap=options.gap)
    forced = [res.forced_in(a, o) for o in targets]
    out = res.forced_out(a) if d >= 0 else None
    entries = []
    for o, bl, f in zip(targets, blockers, forced):
        tid = p.tier_ids[p.opt_tier[o]]
        v = float(p.value[o])
        if f.status == Status.INFEASIBLE:
            needs = _what_it_takes(_forced_problem(p, a, True, int(p.opt_tier[o])), options)
            entries.append(Entry(tid, v, "exact", feasible=False, blockers=bl, needs=needs))
            continue
        thr, low, high = res.threshold(o, f)
        if thr is None:
            remarks.append(f"the re-solve with it at {tid} found no plan ({f.status.value})")
        entries.append(Entry(tid, v, "exact", threshold=thr, low=low, high=high, blockers=bl,
                             proven=res.proven(f), in_best=int(res.best.assignment.tier[a]) == int(p.opt_tier[o])))
    exit_ = None
    if out is not None:
        if out.status == Status.INFEASIBLE:
            kept = _own_rules(p, a) or list(_what_it_takes(_forced_problem(p, a, False), options))
            exit_ = Exit("exact", feasible=False, kept_by=tuple(kept))
        else:
            lost, low, high = res.lost(out)
            if lost is None:
                remarks.append(f"the re-solve without it found no plan ({out.status.value})")
            exit_ = Exit("exact", value_lost=lost, low=low, high=high, proven=res.proven(out))
    best = res.best
    given = plan.solution.objective
    if best.assignment is not None and int(best.assignment.tier[a]) != int(asg.tier[a]):
        t_new = int(best.assignment.tier[a])
        where = p.tier_ids[t_new] if t_new >= 0 else "none"
        below = None if given is None else best.objective - given
        if below is not None and below > max(1e-6, 1e-9 * abs(best.objective)):
            remarks.append(f"the best plan the re-solves found puts it at {where}; the plan given is "
                           f"{_money(below, pol.currency)} below that plan")
        else:
            remarks.append(f"the best plan the re-solves found puts it at {where}, with the same value as the plan "
                           f"given: a tie")
    if gap is None and options.gap > EXPLAIN_GAP and p.n_options > EXPLAIN_TIGHT_MAX_OPTIONS:
        remarks.append(f"a large model ({p.n_options:,} options): re-solved at the policy's gap {options.gap:g}, "
                       f"not {EXPLAIN_GAP:g} (--gap asks for another; a tighter gap can take many minutes)")
    if not res.proven(*forced, *([out] if out is not None else [])):
        remarks.append(f"a re-solve stopped at its time limit ({options.time_limit:g} s) before proving the "
                       f"gap {options.gap:g}: the figures are the best found, proven only within the intervals shown "
                       f"(--time-limit gives the re-solves more time)")
    return replace(base, entries=tuple(entries), exit=exit_, optimum=best.objective, optimum_bound=res._known()[1],
                   gap=options.gap, remarks=tuple(remarks))


# --------------------------------------------------------------------------- every account
def explanations_table(plan: Plan) -> tuple[list[str], list[list[Any]]]:
    """``explanations.csv``: every account of the table, with estimated thresholds.

    Columns: id, name, status (in / out / excluded), eligible, failed rules, reason, score
    and each criterion's contribution (``contrib_<criterion>`` = weight x score),
    qualifying tiers, decision, previous tier, change, value and KAM hours per tier, pool,
    then the cheapest move up or in (``target_tier``, its value, the ``threshold`` value
    it would need, the ``shortfall``, the ``blocking`` constraints), ``value_lost_if_out``
    for accounts that are in (``kept_by`` when a rule keeps them), and ``threshold_method``
    (``estimate``: LP prices; ``kamopt explain`` gives the exact figures).
    """
    s = plan.screening
    pol = s.loaded.policy
    header = ["account_id", "name", "status", "eligible", "failed_rules", "reason", "score"]
    header += [f"contrib_{c}" for c in s.criterion_ids]
    header += ["qualifying_tiers", "decision", "previous_tier", "change"]
    header += [f"{t}_value" for t in s.tier_ids] + [f"{t}_kam_hours" for t in s.tier_ids]
    header += ["pool", "target_tier", "target_value", "threshold", "shortfall", "blocking",
               "value_lost_if_out", "kept_by", "threshold_method"]
    tier_row = plan.tier_of_row()
    weights = np.array([pol.criteria[c].weight for c in s.criterion_ids], dtype=float)
    contrib = np.round(s.criterion_scores * weights[None, :], 4) if s.criterion_ids else np.zeros((s.n, 0))
    candidate = s.candidate
    qualifying = s.admitted & candidate[:, None]
    tiers = s.tier_ids
    pattern_text: dict[bytes, str] = {}
    failed_text: dict[bytes, str] = {}

    p, asg = plan.problem, plan.solution.assignment
    pos = np.full(s.n, -1, dtype=np.int64)
    pos[plan.index.rows] = np.arange(plan.index.rows.size)
    target = np.full(p.n_accounts, -1, dtype=np.int64)
    shortfall = np.full(p.n_accounts, np.nan)
    lost = np.full(p.n_accounts, np.nan)
    blocking: list[str] = [""] * p.n_accounts
    kept: list[str] = [""] * p.n_accounts
    estimated = False
    if asg is not None and p.n_options:
        try:
            net = lp_net_values(p)
        except SolverError:  # no HiGHS here: no estimates, the rest of the table stands
            net = None
        if net is not None:
            estimated = True
            target, shortfall, lost = estimated_moves(p, asg.tier, net)
            moving = np.flatnonzero(target >= 0)
            found = move_blockers(p, asg, _usage(plan), moving, target[moving])
            for a, bl in zip(moving.tolist(), found):
                blocking[a] = "; ".join(b.constraint for b in bl)
        for a, rules in _kept_in(p, asg.tier).items():
            kept[a] = "; ".join(rules)
            lost[a] = np.nan

    rows: list[list[Any]] = []
    for r in range(s.n):
        d, c = int(tier_row[r]), int(s.current_tier[r])
        key = qualifying[r].tobytes()
        if key not in pattern_text:
            pattern_text[key] = " ".join(t for t, q in zip(tiers, qualifying[r]) if q)
        fkey = s.rule_pass[r].tobytes()
        if fkey not in failed_text:
            failed_text[fkey] = " ".join(rid for rid, ok in zip(s.rule_ids, s.rule_pass[r]) if not ok)
        a = int(pos[r])
        status = "excluded" if not candidate[r] else ("in" if d >= 0 else "out")
        row: list[Any] = [s.data.ids[r], s.data.names[r], status, bool(s.eligible[r]), failed_text[fkey],
                          s.reasons[r], round(float(s.score[r]), 4)]
        row += contrib[r].tolist()
        row += [pattern_text[key], tiers[d] if d >= 0 else "none", tiers[c] if c >= 0 else "none", change_of(c, d)]
        row += s.value[r].tolist() + s.kam_hours[r].tolist()
        row.append(s.pool_ids[s.pool[r]] if s.pool[r] >= 0 else "")
        if a >= 0 and target[a] >= 0:
            o = int(target[a])
            v = float(p.value[o])
            row += [tiers[int(p.opt_tier[o])], v, v + float(shortfall[a]), float(shortfall[a]), blocking[a]]
        else:
            row += ["", None, None, None, ""]
        has_lost = a >= 0 and not math.isnan(lost[a])
        row += [float(lost[a]) if has_lost else None, kept[a] if a >= 0 else ""]
        row.append("estimate" if a >= 0 and estimated and (target[a] >= 0 or has_lost) else "")
        rows.append(row)
    return header, rows


# --------------------------------------------------------------------------- words
def _num(x: float) -> str:
    if abs(x - round(x)) < 1e-6:
        return f"{int(round(x)):,}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def _money(x: float | None, currency: str) -> str:
    return "—" if x is None else f"{_num(x)} {currency}".rstrip()


def _qty(x: float, unit: str, currency: str) -> str:
    if unit == "money":
        return _money(x, currency)
    if _num(x) == "1" and unit in ("accounts", "slots"):
        unit = unit[:-1]
    return f"{_num(x)} {unit}"


def blocker_words(b: Blocker, currency: str = "") -> str:
    """``kam_hours[Iberia]: needs 130 h, 20 h free (110 h short)``."""
    if b.soft_penalty is not None:
        already = f"; already broken by {_qty(-b.free, b.unit, currency)}" if b.free < 0 else ""
        text = (f"{b.constraint} (soft{already}): would be broken by {_qty(b.missing, b.unit, currency)} more, "
                f"at a penalty of {_money(b.soft_penalty, currency)} per unit")
    else:
        text = (f"{b.constraint}: needs {_qty(b.needs, b.unit, currency)}, {_qty(max(b.free, 0.0), b.unit, currency)}"
                f" free ({_qty(b.missing, b.unit, currency)} short)")
    return text + (f"; {b.note}" if b.note else "")


def _how(method: str, proven: bool, low: float | None, high: float | None, currency: str) -> str:
    """How sure a figure is, in words."""
    if method == "estimate":
        return "estimate from LP prices; kamopt explain without --estimate gives the exact figure"
    if low is None or high is None:
        return "best found; no bound proven"
    if high - low <= max(0.01, 1e-9 * abs(high)):
        return "exact"
    span = f"proven between {_money(low, currency)} and {_money(high, currency)}"
    return f"{span}, the re-solves' gap" if proven else f"best found; {span}"


def explanation_lines(e: Explanation) -> list[str]:
    """The explanation in plain words, one finding per line (the CLI prints these)."""
    cur = e.currency
    lines = [f"{e.account_id} — {e.name}"]
    what = {"in": f"IN: a key account at {e.decision}", "out": "OUT: a candidate the plan leaves out",
            "excluded": f"EXCLUDED: {e.reason}"}[e.status]
    lines.append(f"Decision: {what} (previous tier {e.previous_tier}; change: {e.change})")
    if e.rules:
        passed = [f"{x.rule} ({x.expression})" for x in e.rules if x.passed]
        failed = [f"{x.rule} ({x.expression})" + (f" — {x.description}" if x.description else "")
                  for x in e.rules if not x.passed]
        if failed:
            also = f"; passes {', '.join(passed)}" if passed else ""
            lines.append("Eligibility: fails " + "; ".join(failed) + also)
        else:
            lines.append("Eligibility: passes every rule: " + ", ".join(passed))
    if e.notes:
        lines.append(f"Note: {e.notes}")
    if e.contributions:
        parts = " + ".join(f"{c.criterion} {c.weight:g} x {c.score:g} = {c.contribution:.2f}" for c in e.contributions)
        total = sum(c.contribution for c in e.contributions)
        clipped = "" if abs(total - e.score) < 1e-6 else f" (sum {total:.2f}, kept within 1-10)"
        lines.append(f"Score {e.score:.2f}{clipped} = {parts}")
    lines.append("Tiers:")
    for t in e.tiers:
        if not t.qualifies:
            lines.append(f"  {t.tier}: does not qualify — {t.why_not}")
            continue
        support = ", ".join(f"{fn} {_num(h)} h" for fn, h in t.support_hours.items() if h)
        sponsor = f"; needs a sponsor ({', '.join(t.sponsors_allowed)})" if t.sponsor_required else ""
        lines.append(f"  {t.tier}: qualifies{f' ({t.note})' if t.note else ''} — value {_money(t.value, cur)}; "
                     f"{_num(t.kam_hours)} KAM h in pool {t.pool or '—'}"
                     + (f"; support {support}" if support else "")
                     + f"; cost to serve {_money(t.annual_cost, cur)} a year{sponsor}")
    for en in e.entries:
        hard = [b for b in en.blockers if b.soft_penalty is None]
        soft = [b for b in en.blockers if b.soft_penalty is not None]
        if hard:
            lines.append(f"At {en.tier}, blocked by: " + "; ".join(blocker_words(b, cur) for b in hard))
        else:
            lines.append(f"At {en.tier}: no capacity or hard limit blocks it in the plan as it stands")
        if soft:
            lines.append("  and it would break soft limits: " + "; ".join(blocker_words(b, cur) for b in soft))
        if not en.feasible:
            lines.append(f"  It cannot be at {en.tier} under the policy as set; what would have to change:")
            lines.extend(f"    - {x}" for x in en.needs)
        elif en.threshold is not None:
            how = _how(en.method, en.proven, en.low, en.high, cur)
            if en.shortfall <= max(0.01, 1e-9 * abs(en.value)) and en.in_best:
                lines.append(f"  The best plan found has it at {en.tier}: at {_money(en.value, cur)} it is worth its "
                             f"place there ({how})")
            elif en.shortfall <= max(0.01, 1e-9 * abs(en.value)):
                lines.append(f"  It is at the threshold for {en.tier}: its value {_money(en.value, cur)} is just "
                             f"enough, any more and it enters ({how})")
            else:
                lines.append(f"  To be at {en.tier} it would need an expected value of {_money(en.threshold, cur)} "
                             f"(now {_money(en.value, cur)}: {_money(en.shortfall, cur)} short; {how})")
    if e.exit is not None:
        x = e.exit
        if not x.feasible:
            lines.append("It cannot be left out: " + "; ".join(x.kept_by))
        elif x.value_lost is not None:
            how = _how(x.method, x.proven, x.low, x.high, cur)
            lines.append(f"If forced out, the plan would lose {_money(x.value_lost, cur)} ({how})")
    if e.optimum is not None:
        lines.append(f"Re-solved at gap {e.gap:g}: best plan {_money(e.optimum, cur)}"
                     + (f", bound {_money(e.optimum_bound, cur)}" if e.optimum_bound is not None else "")
                     + (f"; the plan given: {_money(e.plan_objective, cur)}" if e.plan_objective is not None else ""))
    lines.extend(f"Note: {x}" for x in e.remarks)
    return lines


__all__ = [
    "Blocker", "Bounds", "Contribution", "Entry", "Exit", "Explanation", "Resolver", "RuleResult", "TierFacts",
    "blocker_words", "estimated_moves", "explain_account", "explanation_lines", "explanations_table",
    "lp_net_values", "move_blockers",
]
