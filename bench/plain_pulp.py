"""The peer baseline: the same problem written "the obvious way" in PuLP, in its own process.

    python bench/plain_pulp.py POLICY GAP TIME_LIMIT [THREADS]

What a competent analyst would write without kamopt's model builder: kamopt's own
screening (``kamopt.screening.screen``) and numeric :class:`~kamopt.model.problem.Problem`
(``build_problem``) give the numbers, then one dictionary per variable family and one
``lpSum`` per constraint, solved by PuLP's HiGHS interface (``pulp.HiGHS``, the highspy
API; ``pulp.HiGHS_CMD`` when the installed PuLP has no highspy) with the same gap, time
limit and threads as kamopt.

Variables: binary ``x[(account, tier)]`` per admissible option; integer ``hire[pool]``
(pools that may hire); binary ``s[(account, sponsor)]`` per allowed (account, sponsor) pair
(the obvious formulation, not kamopt's aggregated sponsor classes); with named KAMs,
binary ``z[(account, tier, kam)]`` per option and allowed KAM and ``w[(account, tier)]``
(served by a new hire); continuous ``slack[limit]`` per soft portfolio limit.

Constraints: one tier per account; KAM hours and span per pool with hires (or, with
named KAMs, per KAM plus the new-hire rows of each hiring pool); support hours; budget;
sponsor cover (an account at a sponsored tier gets exactly one allowed sponsor) and
sponsor slots; every portfolio limit of ``problem.limits`` (coefficients, sense, rhs; a
soft one gets a slack charged at its penalty); incumbents per the demotion rule; manual
overrides. Objective: value + KAM fit bonus - hiring NPV - change penalty - soft
penalties (no tie-break terms: it is compared with kamopt's reported objective, which
has none either). No MIP start: the obvious model has no greedy warm start.

Prints one JSON line: status, objective, gap, stage times (import, read, screen, model,
solve), end-to-end seconds, peak memory, model size.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

import pulp  # noqa: E402
from solve_one import peak_rss_mib  # noqa: E402  (bench/ is the script's folder)

import kamopt  # noqa: E402
from kamopt.data.accounts import load_data  # noqa: E402
from kamopt.screening import build_problem, screen  # noqa: E402


def plain_model(p) -> tuple[pulp.LpProblem, dict]:
    """The Problem as a PuLP model, written the obvious way."""
    prob = pulp.LpProblem("kam_plain", pulp.LpMaximize)
    accounts, tiers = p.account_ids, p.tier_ids
    options = [(accounts[a], tiers[t]) for a, t in zip(p.opt_account.tolist(), p.opt_tier.tolist())]
    opt_acc = p.opt_account.tolist()
    opt_tier = p.opt_tier.tolist()
    options_of: dict[int, list[int]] = {}
    for o, a in enumerate(opt_acc):
        options_of.setdefault(a, []).append(o)

    # ---- variables
    x = pulp.LpVariable.dicts("x", options, cat=pulp.LpBinary)
    hire = {q.id: pulp.LpVariable(f"hire_{i}", 0, q.max_hire, cat=pulp.LpInteger)
            for i, q in enumerate(p.pools) if q.max_hire > 0}
    required = [bool(r) for r in p.sponsor_required.tolist()] if len(p.sponsor_required) else []
    sponsored_accounts = sorted({a for a, t in zip(opt_acc, opt_tier) if required and required[t]})
    pairs = [(accounts[a], p.sponsors[e].id) for a in sponsored_accounts
             for e in range(len(p.sponsors)) if p.sponsor_ok[a, e]]
    s = pulp.LpVariable.dicts("s", pairs, cat=pulp.LpBinary)
    z: dict = {}
    w: dict = {}
    bonus: dict = {}
    kams_of: dict[int, list[tuple[int, float]]] = {}
    if p.kams:
        for a, k, f, b in zip(p.kam_pairs.account.tolist(), p.kam_pairs.kam.tolist(),
                              p.kam_pairs.hours_factor.tolist(), p.kam_pairs.value_bonus.tolist()):
            kams_of.setdefault(a, []).append((k, f))
            bonus[(a, k)] = b
        z_keys = [(accounts[a], tiers[t], p.kams[k].id)
                  for o, (a, t) in enumerate(zip(opt_acc, opt_tier)) for k, _ in kams_of.get(a, [])]
        z = pulp.LpVariable.dicts("z", z_keys, cat=pulp.LpBinary)
        w_keys = [options[o] for o, a in enumerate(opt_acc) if p.pools[int(p.pool[a])].id in hire]
        w = pulp.LpVariable.dicts("w", w_keys, cat=pulp.LpBinary)

    # ---- objective
    incumbent = {a: int(c) for a, c in enumerate(p.current_tier.tolist()) if c >= 0}
    changes = []  # one term per account: 1 when its tier changes
    constant_changes = 0
    for a in range(p.n_accounts):
        if a in incumbent:
            cur = [o for o in options_of.get(a, []) if opt_tier[o] == incumbent[a]]
            if cur:
                changes.append(1 - x[options[cur[0]]])
            else:
                constant_changes += 1
        else:
            changes.extend(x[options[o]] for o in options_of.get(a, []))
    slack = {}
    for lim in p.limits:
        if lim.penalty is not None:
            slack[lim.name] = pulp.LpVariable(f"slack_{len(slack)}", 0)
    prob += (
        pulp.lpSum(float(p.value[o]) * x[options[o]] for o in range(p.n_options))
        + pulp.lpSum(bonus[(a, k)] * z[(accounts[a], tiers[opt_tier[o]], p.kams[k].id)]
                     for o, a in enumerate(opt_acc) for k, _ in kams_of.get(a, []) if bonus[(a, k)])
        - pulp.lpSum(q.hire_cost_npv * hire[q.id] for q in p.pools if q.id in hire)
        - p.change_penalty * (pulp.lpSum(changes) + constant_changes)
        - pulp.lpSum(lim.penalty * slack[lim.name] for lim in p.limits if lim.name in slack)
    )

    # ---- one tier per account
    for a, opts in options_of.items():
        prob += pulp.lpSum(x[options[o]] for o in opts) <= 1, f"one_tier_{a}"

    # ---- KAM capacity
    in_pool: dict[int, list[int]] = {}
    for o, a in enumerate(opt_acc):
        in_pool.setdefault(int(p.pool[a]), []).append(o)
    if not p.kams:
        for qi, q in enumerate(p.pools):
            opts = in_pool.get(qi, [])
            h = hire.get(q.id, 0)
            prob += (pulp.lpSum(float(p.kam_hours[o]) * x[options[o]] for o in opts)
                     <= q.hours_per_fte * (q.fte + h)), f"kam_hours_{qi}"
            prob += pulp.lpSum(x[options[o]] for o in opts) <= q.span * (q.fte + h), f"kam_span_{qi}"
    else:
        for o, a in enumerate(opt_acc):  # the option's KAM: a named one, or a new hire
            served = [z[(accounts[a], tiers[opt_tier[o]], p.kams[k].id)] for k, _ in kams_of.get(a, [])]
            if options[o] in w:
                served.append(w[options[o]])
            prob += pulp.lpSum(served) == x[options[o]], f"kam_assign_{o}"
        load: dict[int, list] = {k: [] for k in range(len(p.kams))}
        count: dict[int, list] = {k: [] for k in range(len(p.kams))}
        for o, a in enumerate(opt_acc):
            for k, f in kams_of.get(a, []):
                var = z[(accounts[a], tiers[opt_tier[o]], p.kams[k].id)]
                load[k].append(float(p.kam_hours[o]) * f * var)
                count[k].append(var)
        for k, kam in enumerate(p.kams):
            prob += pulp.lpSum(load[k]) <= kam.hours, f"kam_hours_{k}"
            prob += pulp.lpSum(count[k]) <= kam.max_accounts, f"kam_span_{k}"
        for qi, q in enumerate(p.pools):
            if q.id not in hire:
                continue
            opts = [o for o in in_pool.get(qi, []) if options[o] in w]
            prob += (pulp.lpSum(float(p.kam_hours[o]) * w[options[o]] for o in opts)
                     <= q.hours_per_fte * hire[q.id]), f"new_hire_hours_{qi}"
            prob += pulp.lpSum(w[options[o]] for o in opts) <= q.span * hire[q.id], f"new_hire_span_{qi}"

    # ---- support hours, budget
    for i, fn in enumerate(p.support):
        prob += pulp.lpSum(float(p.support_hours[i, o]) * x[options[o]]
                           for o in range(p.n_options) if p.support_hours[i, o]) <= fn.limit, f"support_{i}"
    if p.budget is not None:
        prob += (pulp.lpSum(float(p.cost[o]) * x[options[o]] for o in range(p.n_options))
                 + pulp.lpSum(q.hire_cost * hire[q.id] for q in p.pools if q.id in hire)
                 <= p.budget), "budget"

    # ---- sponsors: cover and slots
    for a in sponsored_accounts:
        covered = pulp.lpSum(x[options[o]] for o in options_of[a] if required[opt_tier[o]])
        prob += pulp.lpSum(s[(accounts[a], p.sponsors[e].id)] for e in range(len(p.sponsors))
                           if p.sponsor_ok[a, e]) == covered, f"sponsor_cover_{a}"
    for e, sp in enumerate(p.sponsors):
        prob += pulp.lpSum(s[(accounts[a], sp.id)] for a in sponsored_accounts
                           if p.sponsor_ok[a, e]) <= sp.slots, f"sponsor_slots_{e}"

    # ---- portfolio limits (hard or soft)
    for i, lim in enumerate(p.limits):
        lhs = pulp.lpSum(float(c) * x[options[o]] for o, c in enumerate(lim.coef.tolist()) if c)
        if lim.name in slack:
            lhs += slack[lim.name] if lim.sense == ">=" else -slack[lim.name]
        prob += (lhs >= lim.rhs) if lim.sense == ">=" else (lhs <= lim.rhs), f"limit_{i}"

    # ---- incumbents (demotion rule) and manual overrides
    if p.demotion != "allow":
        for a, cur in incumbent.items():
            opts = [o for o in options_of.get(a, []) if p.demotion == "tier_down" or opt_tier[o] <= cur]
            prob += pulp.lpSum(x[options[o]] for o in opts) == 1, f"incumbent_{a}"
    for i, f in enumerate(p.forced):
        opts = [o for o in options_of.get(f.account, []) if not f.include or f.tier < 0 or opt_tier[o] == f.tier]
        prob += pulp.lpSum(x[options[o]] for o in opts) == (1 if f.include else 0), f"override_{i}"
    return prob, {"x": x, "s": s, "z": z, "w": w, "hire": hire}


def solver(gap: float, time_limit: float, threads: int):
    """PuLP's HiGHS: the highspy API when available, else the HiGHS command line."""
    kw = {"msg": False, "gapRel": gap, "timeLimit": time_limit}
    if threads > 0:
        kw["threads"] = threads
    if "HiGHS" in pulp.listSolvers(onlyAvailable=True):
        return pulp.HiGHS(**kw), "HiGHS"
    return pulp.HiGHS_CMD(**kw), "HiGHS_CMD"


def main(policy: str, gap: str, time_limit: str, threads: str = "0") -> None:
    t_import = time.perf_counter() - T0
    t = time.perf_counter()
    loaded = kamopt.load_policy(policy)
    data = load_data(loaded)
    t_read = time.perf_counter() - t
    t = time.perf_counter()
    problem, _ = build_problem(screen(loaded, data))
    t_screen = time.perf_counter() - t
    t = time.perf_counter()
    prob, _ = plain_model(problem)
    t_model = time.perf_counter() - t
    backend, name = solver(float(gap), float(time_limit), int(threads))
    t = time.perf_counter()
    sys.stdout.flush()
    saved = os.dup(1)  # HiGHS >= 1.16 prints a banner from its constructor: keep stdout for the JSON line
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                prob.solve(backend)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    t_solve = time.perf_counter() - t
    end_to_end = time.perf_counter() - T0
    gap_found = None
    has_solution = prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    status = ("optimal" if prob.sol_status == pulp.LpSolutionOptimal
              else "feasible" if prob.sol_status == pulp.LpSolutionIntegerFeasible
              else pulp.LpStatus.get(prob.status, str(prob.status)).lower())
    model = getattr(prob, "solverModel", None)  # pulp.HiGHS keeps its highspy.Highs here
    if model is not None:
        info = model.getInfo()
        gap_found = float(info.mip_gap)
        if has_solution and int(info.primal_solution_status) != 2:  # PuLP calls any time-out "feasible"
            has_solution, status = False, "time_limit_no_solution"
    print(json.dumps({
        "solver": f"pulp.{name}", "pulp": pulp.__version__,
        "status": status, "objective": pulp.value(prob.objective) if has_solution else None,
        "gap": gap_found, "variables": prob.numVariables(), "constraints": prob.numConstraints(),
        "import_s": t_import, "read_s": t_read, "screen_s": t_screen, "model_s": t_model, "solve_s": t_solve,
        "end_to_end_s": end_to_end, "peak_mib": peak_rss_mib(),
    }), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:5])
    # exit as the kamopt command does (kamopt.cli.run): the objects built live until the
    # end, and the last garbage collection would only walk them. Every measured process
    # ends so, the floor and the peer too, so that no ratio gains from it.
    gc.freeze()
