"""A plan as files: portfolio.csv, resources.csv, excluded.csv, violations.csv, summary.json,
the resourcing files hiring.csv, sponsorship.csv, support.csv with the workbook plan.xlsx,
and explanations.csv (why each account is in or out: :mod:`kamopt.explain`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from kamopt.plan import Plan, plan_fingerprints
from kamopt.report.screening_tables import excluded_table
from kamopt.report.writers import OutputFolder


def change_of(previous: int, decision: int) -> str:
    """promote / keep / demote / none, from tier indices (0 = highest, -1 = none)."""
    if previous < 0:
        return "none" if decision < 0 else "promote"
    if decision < 0 or decision > previous:
        return "demote"
    return "keep" if decision == previous else "promote"


def portfolio_table(plan: Plan) -> tuple[list[str], list[list[Any]]]:
    """Every account: decision, previous tier, change, score, value, who serves and sponsors it."""
    s = plan.screening
    a = plan.solution.assignment
    tiers = plan.tier_of_row()
    pos = {int(r): i for i, r in enumerate(plan.index.rows)}
    forced = {int(r): f for r, f in s.forced.items()}
    bonus = _kam_bonus(plan)
    header = ["account_id", "name", "decision", "previous_tier", "change", "score",
              "expected_value", "best_value", "annual_cost", "kam_hours", "pool", "kam", "sponsor",
              "override", "status", "notes"]
    rows = []
    for r in range(s.n):
        d, c = int(tiers[r]), int(s.current_tier[r])
        i = pos.get(r)
        admitted = np.flatnonzero(s.admitted[r])
        best = float(s.value[r, admitted].max()) if admitted.size else None
        kam = sponsor = ""
        if d >= 0 and a is not None and i is not None:
            kam = a.kam[i] if a.kam else s.pool_ids[s.pool[r]]
            sponsor = a.sponsor[i] if a.sponsor else ""
        f = forced.get(r)
        override = f"{'include' if f.include else 'exclude'}: {f.reason}" if f else ""
        rows.append([
            s.data.ids[r], s.data.names[r], s.tier_ids[d] if d >= 0 else "none",
            s.tier_ids[c] if c >= 0 else "none", change_of(c, d), round(float(s.score[r]), 4),
            float(s.value[r, d] + bonus.get(i, 0.0)) if d >= 0 else None, best,
            float(s.cost[r, d]) if d >= 0 else None,
            float(s.kam_hours[r, d]) if d >= 0 else None,
            s.pool_ids[s.pool[r]] if s.pool[r] >= 0 else "", kam, sponsor, override,
            "candidate" if i is not None else f"excluded: {s.reasons[r]}", s.notes[r],
        ])
    return header, rows


def _kam_bonus(plan: Plan) -> dict[int, float]:
    """Problem account -> fit bonus of its assigned named KAM."""
    p, a = plan.problem, plan.solution.assignment
    if a is None or not p.kams or p.kam_pairs is None or not a.kam:
        return {}
    kam_index = {k.id: j for j, k in enumerate(p.kams)}
    pairs = {(int(x), int(k)): float(b) for x, k, b in
             zip(p.kam_pairs.account, p.kam_pairs.kam, p.kam_pairs.value_bonus)}
    return {i: pairs.get((i, kam_index[k]), 0.0) for i, k in enumerate(a.kam) if k in kam_index}


def resources_table(plan: Plan) -> tuple[list[str], list[list[Any]]]:
    """Every capacity and limit row: limit, used, slack, hires, whether it binds, and the
    marginal value of one more step of it (:data:`kamopt.marginal.MARGINAL_COLUMNS`)."""
    from kamopt.marginal import MARGINAL_COLUMNS, resource_cells

    header = ["constraint", "family", "resource", "limit", "used", "slack", "unit", "hires", "binding",
              *MARGINAL_COLUMNS]
    marginal = resource_cells(plan)
    blank = [None] * len(MARGINAL_COLUMNS)
    rows = []
    if plan.check is None:
        return header, rows
    a = plan.solution.assignment
    hires = {pool.id: int(a.hires[j]) for j, pool in enumerate(plan.problem.pools)} if a is not None else {}
    for u in plan.check.usage:
        resource = u.resource
        # hires show on the pool's own rows: hire_limit[<pool>], and kam_hours/kam_span[<pool>]
        h = hires.get(resource, "") if u.family in ("hire_limit", "kam_hours", "kam_span") else ""
        binding = u.slack is not None and u.limit is not None and abs(u.slack) <= 1e-6 * max(1.0, abs(u.limit))
        rows.append([u.name, u.family, resource, u.limit, u.used, u.slack, u.unit, h, binding,
                     *marginal.get(u.name, blank)])
    return header, rows


def violations_table(plan: Plan) -> tuple[list[str], list[list[Any]]]:
    header = ["constraint", "family", "kind", "limit", "used", "amount", "unit", "message"]
    rows = [[v.constraint, v.family, "hard", v.limit, v.used, v.amount, v.unit, v.message]
            for v in plan.violations]
    for name, amount in sorted(plan.solution.violations.items()):
        rows.append([name, "soft", "soft", None, None, amount, "", f"{name}: soft limit broken by {amount:g}"])
    return header, rows


def summary(plan: Plan) -> dict[str, Any]:
    """summary.json: status, objective and bound, counts, hires, greedy comparison, fingerprints."""
    loaded, sol, s = plan.loaded, plan.solution, plan.screening
    tiers = plan.tier_of_row()
    changes = [change_of(int(c), int(d)) for c, d in zip(s.current_tier, tiers)]
    a = sol.assignment
    hires = {pool.id: int(a.hires[j]) for j, pool in enumerate(plan.problem.pools)} if a is not None else {}
    annual_cost = None
    if a is not None:
        cost = float(sum(s.cost[r, t] for r, t in enumerate(tiers) if t >= 0))
        cost += sum(pool.hire_cost * hires[pool.id] for pool in plan.problem.pools)
        annual_cost = cost
    parts = sol.parts
    greedy_obj = plan.greedy_objective
    out: dict[str, Any] = {
        "status": sol.status.value,
        "method": plan.method,
        "objective": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "requested_gap": plan.options.gap,
        "time_limit": plan.options.time_limit,
        "solver": sol.solver,
        "solve_seconds": round(sol.solve_seconds, 3),
        "build_seconds": round(sol.build_seconds, 3),
        "policy": loaded.policy.name,
        "currency": loaded.policy.currency,
        "objective_parts": None if parts is None else {
            "value": parts.value, "hiring": parts.hiring,
            "change_penalty": parts.change_penalty, "soft_penalty": parts.soft_penalty,
        },
        "key_accounts": int((tiers >= 0).sum()),
        "tiers": {t: int((tiers == k).sum()) for k, t in enumerate(s.tier_ids)},
        "changes": {c: changes.count(c) for c in ("promote", "keep", "demote", "none")},
        "hires": hires,
        "annual_cost": annual_cost,
        "budget": loaded.policy.resources.budget,
        "accounts": s.n,
        "candidates": int(s.candidate.sum()),
        "excluded": int((~s.candidate).sum()),
        "greedy_objective": greedy_obj,
        "greedy_feasible": plan.greedy_feasible,
        "greedy_violations": [v.message for v in plan.greedy_check.violations],
        "greedy_key_accounts": int((plan.greedy.tier >= 0).sum()),
        "optimum_vs_greedy_pct": (
            100.0 * (sol.objective - greedy_obj) / abs(greedy_obj)
            if sol.objective is not None and greedy_obj not in (0, None) else None
        ),
        "verified": plan.check is not None and not plan.violations,
        "violations": [v.message for v in plan.violations],
        "soft_violations": dict(sorted(sol.violations.items())),
        "diagnosis": plan.diagnosis,
        "scenario": None if loaded.scenario is None else {
            "name": loaded.scenario.name, "description": loaded.scenario.description,
            "file": str(loaded.scenario.path), "base": str(loaded.scenario.base),
        },
        "overrides": list(loaded.overrides),
        "data_adjustments": list(s.data.adjustments),
        "solver_message": sol.message,
        "marginal_values": [mv.as_dict() for mv in plan.marginal],
        **plan_fingerprints(plan),
    }
    return out


WORKBOOK_BESIDE_ACCOUNTS = 2_000
"""From this many accounts in the table, plan.xlsx is written by a child process while
this one writes the CSVs (:meth:`OutputFolder.binary_beside`; the same bytes). Measured
(medians of 4): 5,000 accounts 0.47 s -> 0.39 s for the plan folder, 20,000 accounts
1.61 s -> 1.38 s; at 1,000 accounts the two ways are level (0.09 s)."""


def write_plan(plan: Plan, folder: OutputFolder) -> None:
    """Write every plan file into an output folder (see the module docstring)."""
    if plan.solution.assignment is not None:
        from kamopt.explain import explanations_table  # here: explain builds on this module
        from kamopt.report.xlsx import plan_sheets, plan_tables, workbook_bytes  # here: xlsx builds on this module

        tables = plan_tables(plan)  # each table once, for its CSV and its sheet
        explanations = explanations_table(plan)
        def workbook() -> bytes:
            return workbook_bytes(plan_sheets(plan, explanations, tables))

        with folder.binary_beside("plan.xlsx", workbook, fork=plan.screening.n >= WORKBOOK_BESIDE_ACCOUNTS):
            folder.csv("portfolio.csv", *tables["Portfolio"])
            folder.csv("resources.csv", *tables["Resources"])
            folder.csv("violations.csv", *violations_table(plan))
            folder.csv("hiring.csv", *tables["Hiring"])
            folder.csv("sponsorship.csv", *tables["Sponsorship"])
            folder.csv("support.csv", *tables["Support"])
            folder.csv("explanations.csv", *explanations)
            folder.csv("excluded.csv", *tables["Excluded"])
    else:
        folder.csv("excluded.csv", *excluded_table(plan.screening))
    folder.json("summary.json", summary(plan))
    if plan.diagnosis:
        folder.text("diagnosis.txt", "\n".join(plan.diagnosis) + "\n")
