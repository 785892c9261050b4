"""The exact level: re-solves of the MILP with one account forced in at a tier or forced
out (:class:`Resolver`), the warm starts that make them quick (the plan with the account
moved, repaired and refilled), and what would have to change when no plan can have it
there (:func:`capacity_needed`, :func:`what_it_takes`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from kamopt.explain.blockers import kept_in, move_blockers
from kamopt.explain.facts import TOL, Bounds
from kamopt.model.build import CAPACITY_GROUPS, build_model, group_of
from kamopt.model.diagnose import Increase
from kamopt.model.optimise import chosen_options, decode, objective_parts, start_vector
from kamopt.model.problem import Forced, Problem
from kamopt.model.solution import Assignment, Status
from kamopt.model.solvers import SolverOptions, run
from kamopt.verify import verify

_CAPACITY_UNITS = {"kam_hours": "hours", "kam_span": "accounts", "support_hours": "hours", "budget": "money",
                   "sponsor_slots": "slots"}


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

    def known(self) -> tuple[float | None, float | None]:
        """(best known objective, upper bound on the optimum)."""
        base = self.optimum()
        best = self.best.objective if self.best is not None else None
        high = None if base.bound is None or best is None else max(base.bound, best)
        return best, high

    def threshold(self, option: int, forced: Bounds) -> tuple[float | None, float | None, float | None]:
        """(threshold, low, high): the value ``option`` would need for its account to enter
        there, ``value + OPT - OPT_forced``, and the interval the solves prove it lies in."""
        best, opt_high = self.known()
        if forced.objective is None or best is None:
            return None, None, None
        value = float(self.problem.value[option])
        threshold = value + best - forced.objective
        low = None if forced.bound is None else max(value, value + best - forced.bound)
        high = None if opt_high is None else value + opt_high - forced.objective
        return threshold, low, high

    def lost(self, out: Bounds) -> tuple[float | None, float | None, float | None]:
        """(value lost, low, high) if the account is forced out: ``OPT - OPT_out``."""
        best, opt_high = self.known()
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
    kept = kept_in(p, moved.tier)
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


def forced_problem(p: Problem, account: int, include: bool, tier: int = -1) -> Problem:
    """The problem with one account forced in (at ``tier``) or out, replacing any override it had."""
    kept = tuple(f for f in p.forced if f.account != account)
    return replace(p, forced=kept + (Forced(account, include, tier, reason="kamopt explain"),))


def capacity_needed(problem: Problem, options: SolverOptions) -> list[Increase] | None:
    """The smallest capacity increase (relative to each row's size) that lets every rule of
    ``problem`` hold: KAM hours and span, support hours, budget and sponsor slots elastic,
    every rule hard. [] when it is feasible as it is; None when no capacity helps (rules
    conflict with each other) or the solve found no answer."""
    b = build_model(problem, elastic=set(CAPACITY_GROUPS), relative_slack=True)
    m = b.model
    m.cost[:] = 0.0
    m.constant = 0.0
    for cols in b.elastic.values():
        for col in cols:
            if col >= 0:
                m.cost[col] = -1.0  # a unit of slack is a whole row's size (relative_slack)
    raw = run(m, replace(options, gap=max(options.gap, 1e-4)))
    if not raw.status.has_solution or raw.x is None:
        return None
    out = []
    for name, cols in b.elastic.items():
        v = float(sum(raw.x[c] for c in cols if c >= 0)) * b.elastic_unit[name]
        r = m.row(name)
        rhs = m.row_upper[r] if np.isfinite(m.row_upper[r]) else m.row_lower[r]
        if v > TOL * max(1.0, abs(float(rhs))):
            out.append(Increase(name, round(v, 6), _CAPACITY_UNITS.get(group_of(name), "units")))
    return out


def what_it_takes(p: Problem, options: SolverOptions) -> tuple[str, ...]:
    """Plain lines: the capacity that would let the (forced) problem hold, or, when no
    capacity helps, the diagnosis of its conflicting rules."""
    needs = capacity_needed(p, options)
    if needs:
        return tuple(f"{i.words()} (added, or freed by accounts the rules keep in)" for i in needs)
    from kamopt.model.diagnose import diagnose

    return tuple(diagnose(p, replace(options, gap=max(options.gap, 1e-4))).lines())
