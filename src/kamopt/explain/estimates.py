"""The estimate level: what each option is worth at the LP relaxation's prices
(:func:`lp_net_values`), the cheapest move per account (:func:`estimated_moves`), and
``explanations.csv`` for every account (:func:`explanations_table`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kamopt.errors import SolverError
from kamopt.explain.blockers import kept_in, move_blockers, plan_usage
from kamopt.marginal import PricedLp, plan_lp, priced_lp
from kamopt.model.optimise import chosen_options
from kamopt.model.problem import Problem
from kamopt.plan import Plan
from kamopt.report.plan_tables import change_of

_OWN_FAMILIES = ("one_tier", "incumbents", "overrides")
"""Row families that belong to one account: their duals are that account's own rent,
not a price of anything other accounts could use, so estimates leave them out."""


def lp_net_values(problem: Problem, lp: PricedLp | None = None) -> np.ndarray | None:
    """Per option: what it adds to the objective at the LP relaxation's prices.

    ``net[o] = c[o] - sum_r dual[r] * A[r, o]``: its objective coefficient (value, change
    penalty; no tie-break) minus the price of every row it uses, priced by the row duals
    of the pricing LP (:class:`kamopt.marginal.PricedLp`: ``lp`` when the caller has it,
    else solved here), except the account's own rows (``one_tier``, incumbent and
    override rows), whose duals are that account's rent. None when the relaxation has no
    optimal solution.
    """
    lp = lp if lp is not None else priced_lp(problem)
    if lp.dual is None:
        return None
    b, m = lp.built, lp.model
    price = np.array(lp.dual, dtype=float)
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
            net = lp_net_values(p, plan_lp(plan))
        except SolverError:  # no HiGHS here: no estimates, the rest of the table stands
            net = None
        if net is not None:
            estimated = True
            target, shortfall, lost = estimated_moves(p, asg.tier, net)
            moving = np.flatnonzero(target >= 0)
            found = move_blockers(p, asg, plan_usage(plan), moving, target[moving])
            for a, bl in zip(moving.tolist(), found):
                blocking[a] = "; ".join(b.constraint for b in bl)
        for a, rules in kept_in(p, asg.tier).items():
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
