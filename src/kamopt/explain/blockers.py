"""What stands in an account's way in a plan as it stands: the capacities and limits a move
in or up would break (:func:`move_blockers`), and the rules that keep it in
(:func:`own_rules`, :func:`kept_in`)."""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

from kamopt.explain.facts import TOL, Blocker
from kamopt.model.optimise import chosen_options
from kamopt.model.problem import Problem
from kamopt.model.solution import NEW_HIRE, Assignment
from kamopt.plan import Plan
from kamopt.verify import Usage, verify


def plan_usage(plan: Plan) -> list[Usage]:
    """Each row's use and slack in the plan (the ``usage`` :func:`move_blockers` takes):
    from the plan's own check when it has one, else verified here."""
    if plan.check is not None:
        return plan.check.usage
    return verify(plan.problem, plan.solution.assignment).usage


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
        tol = TOL * np.maximum(1.0, np.abs(limit))
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
        fits = (allowed & (free_slots >= 1 - TOL)[None, :]).any(axis=1) if n_sp else np.zeros(n, dtype=bool)
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
            elif nh_s[i] < 1 - TOL:
                add(i, f"kam_span[{pool.id} {NEW_HIRE}]", "kam_span", "accounts", 1.0, nh_s[i],
                    note=hire_note(int(q[i])))


def own_rules(p: Problem, account: int) -> list[str]:
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


def kept_in(p: Problem, tier: np.ndarray) -> dict[int, list[str]]:
    """Key accounts of a plan that a rule keeps in: account -> its rules (see :func:`own_rules`)."""
    forced_in = {f.account for f in p.forced if f.include}
    cur = np.full(p.n_accounts, -1, dtype=np.int64)
    m = min(p.n_accounts, len(p.current_tier))
    cur[:m] = np.asarray(p.current_tier[:m], dtype=np.int64)
    keep = (np.asarray(tier) >= 0) & (cur >= 0) & (p.demotion != "allow")
    keep[[a for a in forced_in if tier[a] >= 0]] = True
    return {a: own_rules(p, a) for a in np.flatnonzero(keep).tolist()}
