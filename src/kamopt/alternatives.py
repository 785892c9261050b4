"""Near-optimal alternatives: portfolios almost as good as the optimum that differ from it most.

One optimal plan hides how many other plans are nearly as good. After solving the policy,
:func:`find_alternatives` looks for up to ``count`` portfolios whose objective is at least
``optimum - within * |optimum|`` and that differ as much as possible from the optimum and
from each other, so a leadership team sees the real choices, not one answer.

**Distance.** Two plans are compared account by account:

* ``decisions`` (default): an account counts once when its decision differs — it enters,
  leaves, or changes tier (gold to silver counts as one difference, like entering or
  leaving);
* ``accounts``: only membership counts (who is a key account); tier changes are free.

Staffing (hires, which KAM, which sponsor) follows the portfolio and does not count.

**Search.** Alternative ``k`` solves the policy's own MILP (every rule kept) with two
additions: the objective row ``objective >= floor`` and a column ``min_distance`` with one
row per earlier plan ``P`` (the optimum, alt-1, ..., alt-(k-1)):
``distance(x, P) >= min_distance >= 1``. For a 0/1 option vector ``x`` and a plan ``P``,
``distance_decisions(x, P) = sum_{a in P} (1 - x[a, P(a)]) + sum_{a not in P} sum_t x[a, t]``
(and with ``1 - sum_t x[a, t]`` for ``a in P`` under ``accounts``), linear in ``x``. It
maximises ``min_distance`` (max-min: far from *every* earlier plan, not just on average)
plus, as a tie-break worth less than one account, ``0.5 * (objective - floor) / (bound -
floor)`` with the optimum's bound: among the most different plans, the most valuable.
Each search ends when ``count`` alternatives are found, or when none exists within the
bound (the MILP is infeasible: every plan within the bound is one already listed), or
when the solver stops without one; the reason is reported. The floor is measured from the
optimum as found: with a gap, an alternative may even beat it (``below_optimum`` < 0).

**Evidence.** Every alternative is checked by the independent verifier and priced from its
assignment alone; it is written as a full plan folder (``alt-1``, ...) beside the
optimum's (``optimum``), with ``alternatives.csv`` comparing them. An alternative's
``summary.json`` has status ``feasible`` with the optimum's bound and the gap to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from kamopt.errors import EXIT_RULES_BROKEN, Diagnostic, PolicyError
from kamopt.model.build import build_model
from kamopt.model.linear import INF
from kamopt.model.optimise import decode, objective_parts
from kamopt.model.problem import Problem
from kamopt.model.solution import Assignment, Solution, Status
from kamopt.model.solvers import SolverOptions, run

if TYPE_CHECKING:  # pragma: no cover
    from kamopt.plan import Plan

Distance = Literal["decisions", "accounts"]
DISTANCES: tuple[str, ...] = ("decisions", "accounts")
WITHIN_TOL = 1e-7
"""Relative tolerance of the objective floor check (solver round-off)."""


# --------------------------------------------------------------------------- parsing
def parse_within(text: str | float) -> float:
    """``"1%"``, ``"1 %"`` or ``"0.01"`` -> 0.01. A fraction between 0 and 1; a bare number
    above 1 is refused (write ``5%``, not ``5``)."""
    origin = f"--within {text}"
    raw = str(text).strip()
    pct = raw.endswith("%")
    number = raw[:-1].strip() if pct else raw
    try:
        value = float(number)
    except ValueError:
        raise PolicyError(Diagnostic(f"'{raw}' is not a number or a percentage", file=origin,
                                     expected="a share such as 0.01, or a percentage such as 1%")) from None
    if not math.isfinite(value) or value < 0:
        raise PolicyError(Diagnostic(f"'{raw}' must be 0 or more", file=origin,
                                     expected="a share such as 0.01, or a percentage such as 1%"))
    if pct:
        value /= 100.0
    if value > 1:
        hint = f"did you mean {number}%?" if not pct else None
        raise PolicyError(Diagnostic(f"'{raw}' is more than 100 % of the optimum", file=origin,
                                     expected="a share between 0 and 1, or a percentage up to 100%", hint=hint))
    return value


# --------------------------------------------------------------------------- distance
def distance_terms(problem: Problem, tier: np.ndarray, how: Distance = "decisions") -> tuple[np.ndarray, float]:
    """``distance(x, P) = constant + coef . x`` over the option columns, for a plan's tiers."""
    p = problem
    tier = np.asarray(tier, dtype=np.int64)
    key = tier[p.opt_account] >= 0
    coef = np.where(key, 0.0, 1.0)  # not key in P: any option of it is a difference
    if how == "decisions":
        coef[key & (p.opt_tier == tier[p.opt_account])] = -1.0  # leaving P's option
    else:
        coef[key] = -1.0  # leaving the portfolio, whatever the tier
    return coef, float(np.count_nonzero(tier >= 0))


def plan_distance(a: np.ndarray, b: np.ndarray, how: Distance = "decisions") -> int:
    """Accounts whose decision (``decisions``) or membership (``accounts``) differs."""
    a, b = np.asarray(a), np.asarray(b)
    if how == "decisions":
        return int(np.count_nonzero(a != b))
    return int(np.count_nonzero((a >= 0) != (b >= 0)))


# --------------------------------------------------------------------------- results
@dataclass
class Alternative:
    """One plan of the set: the optimum (``label == "optimum"``) or an alternative."""

    label: str
    plan: "Plan"
    search_status: str = ""
    """How the search that found it ended: ``optimal`` (its distance is the largest
    possible) or ``feasible`` (the solver stopped at the time limit). Empty for the optimum."""
    min_distance: int | None = None
    """Its distance to the nearest earlier plan (what the search maximised)."""

    @property
    def tiers(self) -> np.ndarray:
        return self.plan.solution.assignment.tier

    @property
    def objective(self) -> float:
        return float(self.plan.solution.objective)


@dataclass
class Alternatives:
    """The optimum and its alternatives, with the bound they were found within."""

    optimum: "Plan"
    within: float
    count: int
    distance: Distance
    floor: float | None = None
    """Lowest objective an alternative may have (None without an optimum)."""
    found: list[Alternative] = field(default_factory=list)
    """The optimum first, then alt-1, alt-2, ..."""
    stop_reason: str = ""
    """Why fewer than ``count`` alternatives were found (empty when all were)."""

    @property
    def alternatives(self) -> list[Alternative]:
        return self.found[1:]

    @property
    def exit_code(self) -> int:
        """The optimum's exit code (0 when solved, 3 infeasible...), or 6 when an
        alternative failed verification (a bug, reported rather than hidden)."""
        code = self.optimum.exit_code
        if code == 0 and any(a.plan.violations for a in self.alternatives):
            return EXIT_RULES_BROKEN
        return code


# --------------------------------------------------------------------------- search
def _search(problem: Problem, options: SolverOptions, previous: list[np.ndarray], floor: float, best: float,
            how: Distance) -> tuple[Status, Assignment | None, float, str]:
    """One max-min-distance MILP. Returns (status, assignment, seconds, solver message).

    ``best`` bounds every plan's objective (the optimum's bound), so the value tie-break
    ``0.5 * (objective - floor) / (best - floor)`` stays below half an account."""
    built = build_model(problem)
    m = built.model
    m.freeze()
    value = m.cost.copy()
    value[built.x] -= built.tiebreak  # the objective as reported, no tie-break terms
    constant = float(m.constant)
    nz = np.flatnonzero(value)
    m.add_row("objective_floor", nz, value[nz], floor - constant, INF)
    t = int(m.add_columns(["min_distance"], 1.0, float(max(1, problem.n_accounts)), False, 0.0)[0])
    for k, tier in enumerate(previous):
        coef, const = distance_terms(problem, tier, how)
        cols = np.append(built.x, t)
        m.add_row(f"distance[{k}]", cols, np.append(coef, -1.0), -const, INF)
    m.freeze()
    cost = np.zeros(m.n_cols)
    cost[t] = 1.0
    span = best - floor
    if span > 0:
        cost[: value.size] += 0.5 * value / span
    m.cost[:] = cost
    m.constant = 0.0
    raw = run(m, options)
    if not raw.status.has_solution or raw.x is None:
        return raw.status, None, raw.seconds, raw.message
    return raw.status, decode(built, raw.x), raw.seconds, raw.message


def _alternative_plan(base: "Plan", assignment: Assignment, status: Status, seconds: float, message: str) -> "Plan":
    """A Plan for an alternative: priced and verified from its assignment alone."""
    from kamopt.plan import Plan
    from kamopt.verify import verify

    problem = base.problem
    parts, soft = objective_parts(problem, assignment)
    objective = parts.total
    bound = base.solution.bound
    if bound is not None:
        bound = max(bound, objective)
    gap = (bound - objective) / max(1.0, abs(objective)) if bound is not None else None
    solution = Solution(status=Status.FEASIBLE, assignment=assignment, objective=objective, parts=parts,
                        bound=bound, gap=gap, solver=base.solution.solver, solve_seconds=seconds,
                        violations=soft, message=message)
    return Plan(screening=base.screening, problem=problem, index=base.index, solution=solution,
                method="optimal", options=base.options, check=verify(problem, assignment),
                greedy=base.greedy, greedy_check=base.greedy_check)


def find_alternatives(optimum: "Plan", *, within: float, count: int, distance: Distance = "decisions",
                      on_found=None) -> Alternatives:
    """Up to ``count`` plans within ``within`` (a share, 0.01 = 1 %) of ``optimum``'s objective,
    each as far as possible from the optimum and from the ones before (see the module docstring).

    ``on_found(alternative)`` is called as each one is found (progress)."""
    if distance not in DISTANCES:
        raise ValueError(f"distance must be one of {DISTANCES}, not {distance!r}")
    if count < 1:
        raise ValueError("count must be at least 1")
    if not 0 <= within <= 1:
        raise ValueError("within must be between 0 and 1")
    result = Alternatives(optimum=optimum, within=within, count=count, distance=distance)
    sol = optimum.solution
    if sol.assignment is None or sol.objective is None:
        result.stop_reason = f"no optimum to compare with (status {sol.status.value})"
        return result
    best = float(sol.objective)
    result.floor = best - within * abs(best)
    result.found.append(Alternative("optimum", optimum))
    for k in range(1, count + 1):
        previous = [a.tiers for a in result.found]
        top = max(best, sol.bound if sol.bound is not None else best)  # no plan is worth more than the bound
        status, assignment, seconds, message = _search(optimum.problem, optimum.options, previous,
                                                       result.floor, top, distance)
        if assignment is None:
            if status == Status.INFEASIBLE:
                result.stop_reason = (f"no other portfolio is within {within:.4%} of the optimum "
                                      f"(every plan within the bound is listed)")
            elif status == Status.TIME_LIMIT_NO_SOLUTION:
                result.stop_reason = (f"the solver reached its time limit ({optimum.options.time_limit:g} s) before "
                                      f"finding alternative {k}; none is proven not to exist")
            else:
                result.stop_reason = f"the search for alternative {k} ended with status {status.value}: {message}"
            break
        nearest = min(plan_distance(assignment.tier, t, distance) for t in previous)
        text = (f"alternative {k}: within {within:.4%} of the optimum, {nearest} {distance} from the nearest "
                f"earlier plan")
        plan = _alternative_plan(optimum, assignment, status, seconds, text)
        alt = Alternative(f"alt-{k}", plan, search_status=status.value, min_distance=nearest)
        result.found.append(alt)
        if on_found is not None:
            on_found(alt)
    return result


# --------------------------------------------------------------------------- outputs
def alternatives_table(result: Alternatives) -> tuple[list[str], list[list[Any]]]:
    """alternatives.csv: one row per plan (optimum first): objective, % below the optimum,
    key accounts, accounts in/out and tier changes against the optimum, the distance to every
    plan of the set, verification, and the accounts that enter and leave."""
    labels = [a.label for a in result.found]
    header = ["plan", "search_status", "objective", "below_optimum", "below_optimum_pct", "annual_cost",
              "key_accounts", "accounts_in", "accounts_out", "tier_changes", "min_distance",
              *[f"distance_{label}" for label in labels], "verified", "entering", "leaving"]
    if not result.found:
        return header, []
    opt = result.found[0]
    best = opt.objective
    ids = opt.plan.problem.account_ids
    rows = []
    for a in result.found:
        t0, t = opt.tiers, a.tiers
        entering = [ids[i] for i in np.flatnonzero((t >= 0) & (t0 < 0)).tolist()]
        leaving = [ids[i] for i in np.flatnonzero((t < 0) & (t0 >= 0)).tolist()]
        retier = int(np.count_nonzero((t >= 0) & (t0 >= 0) & (t != t0)))
        below = best - a.objective
        cost = _annual_cost(a.plan)
        rows.append([
            a.label, a.search_status, a.objective, below, 100.0 * below / max(1.0, abs(best)), cost,
            int(np.count_nonzero(t >= 0)), len(entering), len(leaving), retier, a.min_distance,
            *[plan_distance(t, b.tiers, result.distance) for b in result.found],
            not a.plan.violations, "; ".join(entering), "; ".join(leaving),
        ])
    return header, rows


def _annual_cost(plan: "Plan") -> float:
    p, a = plan.problem, plan.solution.assignment
    opt = np.flatnonzero(a.tier[p.opt_account] == p.opt_tier)
    hires = sum(pool.hire_cost * int(a.hires[q]) for q, pool in enumerate(p.pools))
    return float(np.asarray(p.cost, dtype=float)[opt].sum() + hires)


def alternatives_summary(result: Alternatives) -> dict[str, Any]:
    """alternatives.json: the bound, the distance, why the search stopped, and the table."""
    header, rows = alternatives_table(result)
    return {
        "within": result.within,
        "count": result.count,
        "distance": result.distance,
        "optimum_status": result.optimum.status.value,
        "objective_floor": result.floor,
        "found": len(result.alternatives),
        "stop_reason": result.stop_reason,
        "plans": [dict(zip(header, row)) for row in rows],
    }


def write_alternatives(result: Alternatives, out: str | Path, *, force: bool = False) -> Path:
    """Write ``optimum/``, ``alt-1/``... (full plan folders), alternatives.csv and
    alternatives.json, atomically."""
    from kamopt.report.plan_tables import write_plan
    from kamopt.report.writers import OutputFolder, output_folder

    out = Path(out)
    with output_folder(out, force) as folder:
        plans = result.found or [Alternative("optimum", result.optimum)]
        for a in plans:
            sub = folder.path / a.label
            sub.mkdir()
            write_plan(a.plan, OutputFolder(sub, out / a.label))
        folder.csv("alternatives.csv", *alternatives_table(result))
        folder.json("alternatives.json", alternatives_summary(result))
    return out


__all__ = ["Alternative", "Alternatives", "alternatives_summary", "alternatives_table", "distance_terms",
           "find_alternatives", "parse_within", "plan_distance", "write_alternatives"]
