"""Solve a Problem: build the MILP, run the solver, decode the plan, price it honestly;
and staff a plan whose tiers are fixed (:func:`staff`: a sheet of tiers that names no
KAMs, or a time-limited plan with named KAMs, re-staffed).

The reported objective is recomputed from the decoded :class:`Assignment` and the problem
arrays (no tie-break terms, no solver round-off). The reported bound is the solver's bound
on the model objective, which includes the tiny tie-break terms (at most
``2e-6 * max(1, max|value|)`` in total, see :mod:`kamopt.model.build`); it is raised to the
plan's objective where the tie-breaks put it below, so the gap is never negative.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from .build import CAPACITY_GROUPS, RULE_FAMILIES, Built, build_model, current_tiers
from .problem import Problem
from .solution import NEW_HIRE, Assignment, ObjectiveParts, Solution, Status
from .solvers import SolverOptions, run
from .transport import integral_flow


def chosen_options(problem: Problem, tier: np.ndarray) -> np.ndarray:
    """Option index per account for a tier vector (-1 where not key or no such option)."""
    out = np.full(problem.n_accounts, -1, dtype=np.int64)
    if problem.n_options:
        t = np.asarray(tier, dtype=np.int64)[problem.opt_account]
        hit = np.flatnonzero(t == problem.opt_tier)
        out[problem.opt_account[hit]] = hit
    return out


def limit_violations(problem: Problem, x_opt: np.ndarray) -> dict[str, float]:
    """Soft limit name -> violation (> 1e-9 only) for a 0/1 vector over options."""
    out: dict[str, float] = {}
    for lim in problem.limits:
        if lim.penalty is None:
            continue
        lhs = float(np.asarray(lim.coef, dtype=float) @ x_opt)
        v = lim.rhs - lhs if lim.sense == ">=" else lhs - lim.rhs
        if v > 1e-9:
            out[lim.name] = v
    return out


def objective_parts(problem: Problem, a: Assignment) -> tuple[ObjectiveParts, dict[str, float]]:
    """Price an assignment: value (incl. KAM fit bonus), hiring, change penalty, soft penalties."""
    p = problem
    opt = chosen_options(p, a.tier)
    x_opt = np.zeros(p.n_options)
    x_opt[opt[opt >= 0]] = 1.0
    value = float(np.asarray(p.value, dtype=float) @ x_opt)
    if p.kams and p.kam_pairs is not None and a.kam:
        kam_index = {k.id: i for i, k in enumerate(p.kams)}
        bonus = {
            (int(acc), int(k)): float(b)
            for acc, k, b in zip(p.kam_pairs.account, p.kam_pairs.kam, p.kam_pairs.value_bonus)
        }
        for acc, label in enumerate(a.kam):
            if a.tier[acc] >= 0 and label in kam_index:
                value += bonus.get((acc, kam_index[label]), 0.0)
    hires = np.asarray(a.hires, dtype=float)
    hiring = float(sum(pool.hire_cost_npv * hires[q] for q, pool in enumerate(p.pools))) if len(hires) else 0.0
    changed = int(np.count_nonzero(np.asarray(a.tier) != current_tiers(p)))
    violations = limit_violations(p, x_opt)
    pen = {lim.name: lim.penalty for lim in p.limits if lim.penalty is not None}
    soft = float(sum(pen[n] * v for n, v in violations.items()))
    return ObjectiveParts(value, hiring, p.change_penalty * changed, soft), violations


def decode(built: Built, x: np.ndarray) -> Assignment:
    """Turn column values into an Assignment (deterministic)."""
    p = built.problem
    on = x[built.x] > 0.5
    tier = np.full(p.n_accounts, -1, dtype=np.int64)
    tier[p.opt_account[on]] = p.opt_tier[on]
    hires = np.zeros(len(p.pools), dtype=np.int64)
    can = built.hire >= 0
    hires[can] = np.rint(x[built.hire[can]]).astype(np.int64)

    kam: tuple[str, ...] = ()
    if p.kams:
        labels = [""] * p.n_accounts
        zon = np.flatnonzero(x[built.z_col] > 0.5) if built.z_col.size else np.zeros(0, dtype=np.int64)
        for i in zon.tolist():
            o = built.z_option[i]
            if on[o]:
                labels[p.opt_account[o]] = p.kams[built.z_kam[i]].id
        for o in np.flatnonzero(built.w >= 0).tolist():
            if on[o] and x[built.w[o]] > 0.5:
                a = p.opt_account[o]
                labels[a] = f"{p.pools[p.pool[a]].id} {NEW_HIRE}"
        kam = tuple(labels)

    sponsor: tuple[str, ...] = ()
    if p.sponsors:
        names = [""] * p.n_accounts
        req = np.asarray(p.sponsor_required, dtype=bool)
        opt = chosen_options(p, tier)
        classes = built.sponsor_classes
        members = []
        for cls in classes:
            m = [a for a in cls.accounts.tolist() if tier[a] >= 0 and req.size and req[tier[a]]]
            m.sort(key=lambda a: (-float(p.value[opt[a]]), a))
            members.append(m)
        counts = integral_flow(  # y is continuous: split it into whole accounts per sponsor
            [len(m) for m in members], [cls.sponsors.tolist() for cls in classes],
            [int(s.slots) for s in p.sponsors], [x[cls.y] for cls in classes],
        )
        for cls, m, cnt in zip(classes, members, counts):
            queue = [e for e, c in zip(cls.sponsors.tolist(), cnt) for _ in range(c)]
            for a, e in zip(m, queue):
                names[a] = p.sponsors[e].id
        sponsor = tuple(names)
    return Assignment(tier=tier, hires=hires, kam=kam, sponsor=sponsor)


def start_vector(built: Built, a: Assignment) -> np.ndarray:
    """A full column vector for a MIP start from an assignment (slacks computed)."""
    p, m = built.problem, built.model
    x = np.zeros(m.n_cols)
    opt = chosen_options(p, a.tier)
    x[built.x[opt[opt >= 0]]] = 1.0
    can = built.hire >= 0
    x[built.hire[can]] = np.asarray(a.hires, dtype=float)[can]
    if p.kams and a.kam:
        kam_index = {k.id: i for i, k in enumerate(p.kams)}
        for i in range(built.z_col.size):
            o = built.z_option[i]
            acc = p.opt_account[o]
            if opt[acc] == o and kam_index.get(a.kam[acc]) == built.z_kam[i]:
                x[built.z_col[i]] = 1.0
        for o in np.flatnonzero(built.w >= 0).tolist():
            acc = p.opt_account[o]
            if opt[acc] == o and a.kam[acc].endswith(NEW_HIRE):
                x[built.w[o]] = 1.0
    if a.sponsor:
        sp_index = {s.id: i for i, s in enumerate(p.sponsors)}
        for cls in built.sponsor_classes:
            pos = {e: k for k, e in enumerate(cls.sponsors.tolist())}
            for acc in cls.accounts.tolist():
                e = sp_index.get(a.sponsor[acc])
                if e in pos:
                    x[cls.y[pos[e]]] += 1.0
    x_opt = x[built.x]
    for name, v in limit_violations(p, x_opt).items():
        x[built.slack[name]] = v
    return x


POLISH_SHARE = 0.2
"""With named KAMs, the share of the time limit kept back to re-staff a plan that the
time limit stopped short of the gap (:func:`staff`, its tiers and hires fixed). Measured
on 5,000 accounts with named KAMs (60 s): HiGHS stopped at 344.65 M (0.29 % gap); the
best staffing of the same tiers, found from that plan in ~10 s, is worth 345.15 M."""


def optimise(
    problem: Problem, options: SolverOptions = SolverOptions(), *, start: Assignment | None = None
) -> Solution:
    """Solve the problem and return an honest :class:`Solution`.

    With named KAMs and HiGHS, the MILP gets ``1 - POLISH_SHARE`` of the time limit; when
    it stops there short of the gap, the rest goes to re-staffing its plan (:func:`staff`),
    kept when it is worth more and keeps every rule."""
    t0 = time.perf_counter()
    built = build_model(problem)
    build_seconds = time.perf_counter() - t0
    x0 = start_vector(built, start) if start is not None and options.name == "highs" else None
    polish = bool(problem.kams) and options.name == "highs"
    first = replace(options, time_limit=options.time_limit * (1.0 - POLISH_SHARE)) if polish else options
    raw = run(built.model, first, start=x0)
    if not raw.status.has_solution or raw.x is None:
        return Solution(
            status=raw.status, assignment=None, solver=raw.solver, build_seconds=build_seconds,
            solve_seconds=raw.seconds, message=raw.message, bound=raw.bound,
        )
    assignment = decode(built, raw.x)
    seconds, message = raw.seconds, raw.message
    if polish and raw.status == Status.FEASIBLE:
        t1 = time.perf_counter()
        left = max(1.0, options.time_limit - (t1 - t0))
        assignment, note = _restaffed(problem, assignment, replace(options, time_limit=left))
        seconds += time.perf_counter() - t1
        message = f"{message}; {note}" if message and note else message or note
    parts, violations = objective_parts(problem, assignment)
    objective = parts.total
    gap = bound = None
    if raw.bound is not None:
        # The solver's bound includes the tie-break terms (|total| <= 2e-6 * max|value|),
        # which can put it a hair below the plan's own value: never report a bound below
        # the plan, nor a negative gap.
        bound = max(raw.bound, objective)
        gap = (bound - objective) / max(1.0, abs(objective))
    return Solution(
        status=raw.status, assignment=assignment, objective=objective, parts=parts, bound=bound,
        gap=gap, solver=raw.solver, build_seconds=build_seconds, solve_seconds=seconds,
        violations=violations, message=message,
    )


def _restaffed(problem: Problem, plan: Assignment, options: SolverOptions) -> tuple[Assignment, str]:
    """The plan re-staffed (:func:`staff`) when that is worth more and keeps every rule,
    with a note saying what it gained ("" when the plan stays as it was)."""
    from kamopt.verify import verify

    better = staff(problem, plan, options)
    if better is None:
        return plan, ""
    before, after = objective_parts(problem, plan)[0].total, objective_parts(problem, better)[0].total
    if after <= before + 1e-6 * max(1.0, abs(before)) or not verify(problem, better).ok:
        return plan, ""
    return better, (f"the plan's KAMs and sponsors re-assigned with its tiers fixed: +{after - before:,.0f} "
                    f"({POLISH_SHARE:.0%} of the time limit kept for it)")


STAFFING_ROWS = {*RULE_FAMILIES, *CAPACITY_GROUPS, "kam_assign", "sponsor_cover"}
"""Rows :func:`staff` may break (at a price): every rule and capacity, and the rows that
give each key account a KAM and a sponsor, so a plan no staffing fits still gets one."""


def staff(problem: Problem, plan: Assignment, options: SolverOptions = SolverOptions(), *,
          hire: bool = False) -> Assignment | None:
    """Named KAMs and sponsors for a plan's tiers and hires, as kamopt would choose them
    (a hand-made plan that names none). Tiers and hires stay as the plan has them (with
    ``hire``, hires may also go up to each pool's limit, at their cost: what staffing the
    tiers takes); the staffing is the one that breaks the least capacity (each unit over a
    row costs more than every fit bonus together) and, among those, earns the most fit
    bonus. Returns the plan with the ``kam`` and ``sponsor`` it found (and the hires, with
    ``hire``), or None when the solver gives no staffing (time limit); the caller keeps
    what the plan named itself."""
    built = build_model(problem, elastic=STAFFING_ROWS)
    m = built.model
    m.freeze()
    chosen = chosen_options(problem, plan.tier)
    on = np.zeros(problem.n_options)
    on[chosen[chosen >= 0]] = 1.0
    m.lower[built.x] = on
    m.upper[built.x] = on
    can = np.flatnonzero(built.hire >= 0)
    m.lower[built.hire[can]] = plan.hires[can]
    if not hire:
        m.upper[built.hire[can]] = plan.hires[can]
    bonus = float(np.abs(m.cost[built.z_col]).sum()) if built.z_col.size else 0.0
    for up, down in built.elastic.values():
        for col in (up, down):
            if col >= 0:
                m.cost[col] = -10.0 * (1.0 + bonus)
    # the plan's own staffing, when it names one, is where the solver starts: it can only improve on it
    named = any(plan.kam) or any(plan.sponsor)
    start = start_vector(built, plan) if options.name == "highs" and named else None
    raw = run(m, options, start=start)
    if not raw.status.has_solution or raw.x is None:
        return None
    found = decode(built, raw.x)
    return Assignment(tier=plan.tier, hires=found.hires if hire else plan.hires, kam=found.kam, sponsor=found.sponsor)


NOT_RESOLVED = "not re-solved: "
"""Start of the solver message of a plan taken by :func:`from_relaxation`."""


def from_relaxation(problem: Problem, options: SolverOptions, relaxed_problem: Problem, relaxed: Solution,
                    note: str = "a looser problem") -> Solution | None:
    """The relaxed problem's plan as this problem's optimum, proven without a solve, or None.

    It holds when (1) this problem's model is the relaxed one with tighter bounds only
    (:meth:`LinearModel.restricts`: same columns, rows, matrix and objective), so the
    relaxed bound is a bound here too; (2) the plan's column vector keeps every row and
    column bound here (the caller also runs the verifier); and (3) its objective here is
    within ``options.gap`` of that bound. A sweep over a limit reuses the loosest point's
    plan for every point it still fits: e.g. every ``key_accounts.max`` at or above the
    count the unconstrained optimum chose.
    """
    if relaxed.assignment is None or relaxed.bound is None or not relaxed.status.has_solution:
        return None
    t0 = time.perf_counter()
    built = build_model(problem)
    if not built.model.restricts(build_model(relaxed_problem).model):
        return None
    m = built.model
    x = start_vector(built, relaxed.assignment)
    act = m.activity(x)
    tol = 1e-6 * np.maximum(1.0, np.abs(act))
    if (np.any(x < m.lower - 1e-9) or np.any(x > m.upper + 1e-9)
            or np.any(act < m.row_lower - tol) or np.any(act > m.row_upper + tol)):
        return None
    parts, violations = objective_parts(problem, relaxed.assignment)
    objective = parts.total
    bound = max(relaxed.bound, objective)
    gap = (bound - objective) / max(1.0, abs(objective))
    if gap > options.gap:
        return None
    return Solution(
        status=Status.OPTIMAL, assignment=relaxed.assignment, objective=objective, parts=parts, bound=bound,
        gap=gap, solver=relaxed.solver, build_seconds=time.perf_counter() - t0, solve_seconds=0.0,
        violations=violations,
        message=f"{NOT_RESOLVED}the plan of {note} keeps every rule here and its bound proves it optimal",
    )
