"""The resourcing plan as tables: hiring.csv, sponsorship.csv and support.csv.

resources.csv lists the verifier's rows one by one (each named KAM, each pool's hired
capacity); these tables regroup them the way a planner asks: per pool, per executive,
per support function. Every used figure is summed from the verifier's usage rows, never
recomputed, so these files and resources.csv cannot disagree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kamopt.model.solution import NEW_HIRE
from kamopt.plan import Plan
from kamopt.verify import Usage, VerifyReport, verify

Table = tuple[list[str], list[list[Any]]]


def _report(plan: Plan) -> VerifyReport:
    """The verifier's report on the plan (computed here if the plan carries none)."""
    return plan.check if plan.check is not None else verify(plan.problem, plan.solution.assignment)


def _pct(used: float, capacity: float) -> float | None:
    """Load in percent; None when there is no capacity to load."""
    return 100.0 * used / capacity if capacity > 0 else None


def _pool_rows(plan: Plan, q: int) -> list[str]:
    """Names of the resource rows that hold pool ``q``'s KAM capacity: the pool itself when
    KAMs are planned per pool, else each of its named KAMs and its hired capacity."""
    p = plan.problem
    if not p.kams:
        return [p.pools[q].id]
    return [k.id for k in p.kams if k.pool == q] + [f"{p.pools[q].id} {NEW_HIRE}"]


def _sum(rows: dict[str, Usage], names: list[str]) -> tuple[float, float]:
    """(limit, used) summed over the usage rows that exist (the verifier skips a pool's
    hired capacity when the pool cannot hire and nobody is labelled a new hire)."""
    found = [rows[n] for n in names if n in rows]
    return sum(u.limit or 0.0 for u in found), sum(u.used for u in found)


def hiring_table(plan: Plan) -> Table:
    """One row per KAM pool, in policy order: headcount, hires and their annual cost, and the
    pool's KAM hours and span of control after hiring, with how much of each the plan uses."""
    header = ["pool", "label", "current_fte", "hires", "max_hires", "resulting_fte", "hire_cost",
              "hours_capacity", "hours_used", "hours_load_pct", "span_capacity", "key_accounts",
              "span_load_pct", "named_kams"]
    a = plan.solution.assignment
    if a is None:
        return header, []
    p = plan.problem
    usage = _report(plan).usage
    hours = {u.name[len("kam_hours["):-1]: u for u in usage if u.family == "kam_hours"}
    span = {u.name[len("kam_span["):-1]: u for u in usage if u.family == "kam_span"}
    pools = plan.loaded.policy.resources.kam_pools
    rows = []
    for q, pool in enumerate(p.pools):
        hires = int(a.hires[q])
        names = _pool_rows(plan, q)
        h_cap, h_used = _sum(hours, names)
        s_cap, s_used = _sum(span, names)
        rows.append([
            pool.id, pools[pool.id].label or pool.id, pool.fte, hires, pool.max_hire, pool.fte + hires,
            hires * pool.hire_cost, h_cap, h_used, _pct(h_used, h_cap), s_cap, int(round(s_used)),
            _pct(s_used, s_cap), sum(k.pool == q for k in p.kams) if p.kams else None,
        ])
    return header, rows


def sponsorship_table(plan: Plan) -> Table:
    """One row per (sponsor, sponsored key account): sponsors in policy order, accounts in input
    order. A sponsor without accounts keeps one row with blank account fields, so every
    executive shows; a sponsor the policy does not know (a hand-made plan) comes last."""
    header = ["sponsor", "title", "slots", "slots_used", "account_id", "account_name", "tier"]
    a = plan.solution.assignment
    if a is None:
        return header, []
    p, s = plan.problem, plan.screening
    policy_sponsors = plan.loaded.policy.resources.sponsors
    accounts: dict[str, list[int]] = {sp.id: [] for sp in p.sponsors}
    for i, sponsor in enumerate(a.sponsor):
        if sponsor and a.tier[i] >= 0:
            accounts.setdefault(sponsor, []).append(i)
    slots = {sp.id: sp.slots for sp in p.sponsors}
    rows = []
    for sponsor, served in accounts.items():
        known = policy_sponsors.get(sponsor)
        first = [sponsor, (known.title or "") if known else "", slots.get(sponsor), len(served)]
        if not served:
            rows.append(first + ["", "", ""])
        for i in served:
            r = int(plan.index.rows[i])
            rows.append(first + [s.data.ids[r], s.data.names[r], p.tier_ids[int(a.tier[i])]])
    return header, rows


def support_table(plan: Plan) -> Table:
    """One row per support function: hours available, used (the verifier's figure), slack and
    utilisation, and the used hours split by tier."""
    p = plan.problem
    header = ["function", "label", "hours_capacity", "hours_used", "hours_slack", "utilisation_pct"]
    header += [f"hours_{t}" for t in p.tier_ids]
    a = plan.solution.assignment
    if a is None:
        return header, []
    used = {u.name: u for u in _report(plan).usage if u.family == "support_hours"}
    chosen = (np.asarray(a.tier)[p.opt_account] == p.opt_tier).astype(float)
    functions = plan.loaded.policy.resources.support
    rows = []
    for f, cap in enumerate(p.support):
        u = used[f"support_hours[{cap.id}]"]
        per_tier = np.bincount(p.opt_tier, weights=np.asarray(p.support_hours[f], dtype=float) * chosen,
                               minlength=len(p.tier_ids))
        rows.append([cap.id, functions[cap.id].label or cap.id, u.limit, u.used, u.slack,
                     _pct(u.used, u.limit or 0.0), *(float(h) for h in per_tier)])
    return header, rows
