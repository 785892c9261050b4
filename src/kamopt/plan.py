"""A solved plan and the evidence behind it: the pipeline from policy to verified plan.

``solve(policy)`` screens the accounts, builds the numeric problem, optimises it (or
runs the greedy baseline), verifies the result independently, runs the greedy baseline
for comparison, and diagnoses infeasibility. ``check(policy, plan)`` verifies a plan
someone else made (a previous run's folder, or a hand-made CSV).
"""

from __future__ import annotations

import contextlib
import csv
import json
import shlex
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Literal, Sequence

import numpy as np

from kamopt import __version__
from kamopt.data.accounts import AccountData, load_data
from kamopt.data.table import TableOptions, read_table
from kamopt.errors import (
    EXIT_INFEASIBLE,
    EXIT_OK,
    EXIT_RULES_BROKEN,
    EXIT_SOLVER_ERROR,
    EXIT_TIME_LIMIT,
    DataError,
    Diagnostic,
    did_you_mean,
    one_of,
)
from kamopt.greedy import greedy
from kamopt.model.optimise import from_relaxation, optimise, staff
from kamopt.model.problem import Problem
from kamopt.model.solution import Assignment, Solution, Status
from kamopt.model.solvers import SolverOptions, require_solver, solver_available
from kamopt.policy.loader import LoadedPolicy
from kamopt.screening import ProblemIndex, Screening, build_problem
from kamopt.screening import screen as _screen
from kamopt.verify import VerifyReport, Violation, verify

Method = Literal["optimal", "greedy"]


@dataclass
class Plan:
    """A plan with its evidence. ``solution.assignment`` is None when there is no plan."""

    screening: Screening
    problem: Problem
    index: ProblemIndex
    solution: Solution
    method: Method
    options: SolverOptions
    check: VerifyReport | None
    """The independent verifier's report on the plan (None without a plan)."""
    greedy: Assignment
    greedy_check: VerifyReport
    diagnosis: list[str] = field(default_factory=list)
    """Plain-language infeasibility diagnosis (empty unless infeasible)."""
    extra_violations: list[Violation] = field(default_factory=list)
    """Violations found outside the problem (a hand-made plan promoting an excluded account)."""
    marginal: list = field(default_factory=list)
    """Marginal values of capacities and portfolio limits (:class:`kamopt.marginal.MarginalValue`):
    LP estimates for every optimised plan, exact re-solved values when asked for."""
    priced_lp: object = field(default=None, repr=False, compare=False)
    """The LP relaxation that prices rows (:class:`kamopt.marginal.PricedLp`), once
    computed: marginal estimates and explanations.csv share the one solve
    (:func:`kamopt.marginal.plan_lp`)."""

    @property
    def loaded(self) -> LoadedPolicy:
        return self.screening.loaded

    @property
    def status(self) -> Status:
        return self.solution.status

    @property
    def violations(self) -> list[Violation]:
        """Every rule the plan breaks: first those outside the problem (an account the plan
        may not hold at all), then the verifier's."""
        return self.extra_violations + (self.check.violations if self.check else [])

    @property
    def exit_code(self) -> int:
        """What ``kamopt solve`` exits with: 0 solved, 3 infeasible, 4 time limit without a
        plan, 5 solver error, 6 the plan breaks rules."""
        if self.violations or self.status == Status.RULES_BROKEN:
            return EXIT_RULES_BROKEN
        return {
            Status.OPTIMAL: EXIT_OK, Status.FEASIBLE: EXIT_OK, Status.INFEASIBLE: EXIT_INFEASIBLE,
            Status.TIME_LIMIT_NO_SOLUTION: EXIT_TIME_LIMIT,
        }.get(self.status, EXIT_SOLVER_ERROR)

    @property
    def greedy_objective(self) -> float:
        return self.greedy_check.parts.total

    @property
    def greedy_feasible(self) -> bool:
        return self.greedy_check.ok

    def tier_of_row(self) -> np.ndarray:
        """int (table rows): tier index per account in the table, -1 for none."""
        out = np.full(self.screening.n, -1, dtype=np.int64)
        a = self.solution.assignment
        if a is not None:
            out[self.index.rows] = a.tier
        return out


@dataclass(frozen=True)
class PlanRef:
    """What a neighbouring solve needs of a finished one (small enough to send between
    processes): its problem and solution, for a warm start or as a proven relaxation."""

    problem: Problem
    solution: Solution
    label: str = ""
    """How messages name it, e.g. ``run 797`` (a frontier point is labelled by its value)."""


def solver_options(
    loaded: LoadedPolicy,
    *,
    solver: str | None = None,
    time_limit: float | None = None,
    gap: float | None = None,
    threads: int | None = None,
) -> SolverOptions:
    """The policy's solver settings with any explicit overrides applied."""
    spec = loaded.policy.solver
    require_solver(solver or spec.name)  # before any work: the choice is the user's to change
    return SolverOptions(
        name=solver or spec.name,
        time_limit=time_limit if time_limit is not None else spec.time_limit,
        gap=gap if gap is not None else spec.gap,
        threads=threads if threads is not None else spec.threads,
    )


def solve(
    loaded: LoadedPolicy,
    data: AccountData | None = None,
    *,
    method: Method = "optimal",
    solver: str | None = None,
    time_limit: float | None = None,
    gap: float | None = None,
    threads: int | None = None,
    warm: Plan | PlanRef | None = None,
    relaxed: Sequence[Plan | PlanRef] = (),
    diagnose: bool = True,
    marginal_values: bool | None = None,
    workers: int | None = None,
) -> Plan:
    """Screen, optimise (or run greedy), verify, compare with greedy, diagnose.

    ``warm``: a plan of a neighbouring policy (the previous point of a sweep) to start
    the solver from, used when it has the same accounts and resources and keeps every rule.
    ``relaxed``: plans of looser neighbouring policies (a sweep's end points): when one
    keeps every rule here and its proven bound shows it optimal here, it is taken without
    a solve (:func:`kamopt.model.optimise.from_relaxation` says exactly when).
    ``diagnose=False`` skips the infeasibility diagnosis (another MILP per infeasible
    run), for sweeps whose infeasible points need only their status.
    ``marginal_values``: also re-solve once per capacity and binding portfolio limit for
    exact marginal values, in ``workers`` processes (None: as the policy's
    ``analysis.marginal_values.exact`` says); LP estimates are always computed.
    """
    screening = _screen(loaded, data if data is not None else load_data(loaded))
    options = solver_options(loaded, solver=solver, time_limit=time_limit, gap=gap, threads=threads)
    problem, index = build_problem(screening)
    start = warm.solution.assignment if warm is not None and _same_shape(warm.problem, problem) else None
    looser = [r for r in relaxed if _same_shape(r.problem, problem)]
    plan = _solve_screened(screening, problem, index, options, method, warm=start, diagnose=diagnose,
                           relaxed=looser)
    from kamopt.marginal import attach

    return attach(plan, exact_values=marginal_values, workers=workers)


def _same_shape(a: Problem, b: Problem) -> bool:
    """Plans of ``a`` mean the same in ``b``: same accounts, tiers, pools, KAMs and sponsors."""
    return (a.account_ids == b.account_ids and a.tier_ids == b.tier_ids
            and [p.id for p in a.pools] == [p.id for p in b.pools]
            and [k.id for k in a.kams] == [k.id for k in b.kams]
            and [s.id for s in a.sponsors] == [s.id for s in b.sponsors])


def _solve_screened(screening: Screening, problem: Problem, index: ProblemIndex, options: SolverOptions,
                    method: Method = "optimal", warm: Assignment | None = None, diagnose: bool = True,
                    relaxed: Sequence[Plan | PlanRef] = ()) -> Plan:
    """:func:`solve` from an existing screening and its problem (``check`` reuses its own).

    ``warm`` is a plan of a neighbouring problem (the previous point of a sweep): the
    solver starts from it when it keeps every rule here and beats the greedy plan.
    """
    pricing = _priced_beside(problem) if method == "optimal" else None
    baseline = greedy(problem)
    baseline_check = verify(problem, baseline)
    start = baseline if baseline_check.ok else None
    if warm is not None and method != "greedy":
        warm_check = verify(problem, warm)
        if warm_check.ok and (start is None or warm_check.parts.total > baseline_check.parts.total):
            start = warm
    if method == "greedy":
        status = Status.FEASIBLE if baseline_check.ok else Status.RULES_BROKEN
        solution = Solution(
            status=status, assignment=baseline, objective=baseline_check.parts.total,
            parts=baseline_check.parts, solver="greedy", violations=dict(baseline_check.soft),
        )
    else:
        solution = None
        for ref in relaxed:
            if ref.solution.assignment is not None and verify(problem, ref.solution.assignment).ok:
                solution = from_relaxation(problem, options, ref.problem, ref.solution,
                                           note=getattr(ref, "label", "") or "a looser policy")
                if solution is not None:
                    break
        if solution is None:
            solution = optimise(problem, options, start=start)
    if method == "greedy":
        report = baseline_check  # the plan is the baseline: it was just verified
    else:
        report = verify(problem, solution.assignment) if solution.assignment is not None else None
    diagnosis: list[str] = []
    if solution.status == Status.INFEASIBLE and diagnose:
        from kamopt.model.diagnose import diagnose as find_conflicts

        diagnosis = find_conflicts(problem, replace(options, gap=max(options.gap, 1e-4))).lines()
    return Plan(
        screening=screening, problem=problem, index=index, solution=solution, method=method,
        options=options, check=report, greedy=baseline, greedy_check=baseline_check,
        diagnosis=diagnosis, priced_lp=pricing() if pricing is not None else None,
    )


def _priced_beside(problem: Problem) -> Callable[[], object] | None:
    """Start the pricing LP of ``problem`` (:func:`kamopt.marginal.priced_lp`: marginal
    estimates and explanations.csv need it) in a thread, to run while the MILP solves, and
    return the call that waits for it. HiGHS lets go of the GIL while it solves and gives
    each calling thread a pool of its own, and its MILP search is mostly serial: the LP
    takes the core the MILP leaves idle (20,000 accounts: ~0.4 s off the run). None
    without HiGHS. The call gives None when the LP failed: :func:`kamopt.marginal.plan_lp`
    then solves it again when asked, and raises its error there, as it always did."""
    if not solver_available("highs"):
        return None
    from kamopt.marginal import priced_lp

    done: list[object] = []

    def price() -> None:
        with contextlib.suppress(Exception):
            done.append(priced_lp(problem, threads=1))  # an LP: no pool of idle threads for it

    thread = threading.Thread(target=price, name="kamopt-pricing-lp", daemon=True)
    thread.start()

    def result() -> object:
        thread.join()
        return done[0] if done else None

    return result


# --------------------------------------------------------------------------- check


def _no_portfolio(folder: Path) -> Diagnostic:
    """Why a plan folder holds no portfolio.csv: its solve found no plan (its summary.json
    says how it ended), or it is not a folder ``kamopt solve`` wrote."""
    where = dict(file=str(folder / "portfolio.csv"))
    try:
        status = json.loads((folder / "summary.json").read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError, AttributeError):
        status = None
    if status == Status.INFEASIBLE.value:
        return Diagnostic("no portfolio: this folder's solve found the policy infeasible, so it holds no plan",
                          hint="diagnosis.txt there says what conflicts", **where)
    if isinstance(status, str):
        return Diagnostic(f"no portfolio: this folder's solve ended '{status}' without a plan", **where)
    return Diagnostic("no portfolio.csv: not a folder written by kamopt solve",
                      expected="a kamopt solve folder, or a CSV with account_id and tier columns", **where)


def read_assignment(
    screening: Screening,
    problem: Problem,
    index: ProblemIndex,
    plan_path: Path,
    hires: dict[str, int] | None = None,
) -> tuple[Assignment, list[Violation]]:
    """A plan from a folder written by ``kamopt solve`` or a hand-made CSV.

    The CSV needs ``account_id`` and ``tier`` (or ``decision``) columns; ``kam`` and
    ``sponsor`` are optional. Accounts it does not list are not key accounts. Hires come
    from the folder's ``resources.csv``, or from ``hires`` (pool -> FTE).
    """
    plan_path = Path(plan_path)
    csv_path = plan_path / "portfolio.csv" if plan_path.is_dir() else plan_path
    if plan_path.is_dir() and not csv_path.exists():
        raise DataError(_no_portfolio(plan_path))
    table = read_table(csv_path, TableOptions())
    tier_col = "tier" if "tier" in table.columns else "decision"
    table.require("account_id", tier_col)
    ids = table.texts("account_id")
    tiers = table.texts(tier_col)
    kams = table.texts("kam") if "kam" in table.columns else [""] * len(table)
    sponsors = table.texts("sponsor") if "sponsor" in table.columns else [""] * len(table)
    row_of = {a: i for i, a in enumerate(screening.data.ids)}
    problem_pos = {int(r): i for i, r in enumerate(index.rows)}
    tier_index = {t: i for i, t in enumerate(screening.tier_ids)}
    n = problem.n_accounts
    tier = np.full(n, -1, dtype=np.int64)
    kam = [""] * n
    sponsor = [""] * n
    extra: list[Violation] = []
    problems: list[Diagnostic] = []
    seen: dict[str, int] = {}
    for i, account in enumerate(ids):
        where = dict(file=str(csv_path), line=table.lines[i])
        if account in seen:
            problems.append(Diagnostic(f"account '{account}' is listed twice (first at line {seen[account]})",
                                       field="account_id", **where))
            continue
        seen[account] = table.lines[i]
        if account not in row_of:
            problems.append(Diagnostic(f"no account '{account}' in the account table", field="account_id",
                                       hint=did_you_mean(account, row_of), **where))
            continue
        t = tiers[i].strip()
        if t in ("", "none", "-"):
            continue
        if t not in tier_index:
            problems.append(Diagnostic(f"unknown tier '{t}'", field=tier_col,
                                       expected=f"none or {one_of(tier_index)}",
                                       hint=did_you_mean(t, tier_index), **where))
            continue
        r = row_of[account]
        if r not in problem_pos:
            reason = screening.reasons[r] or "not a candidate"
            extra.append(Violation(
                constraint=f"admissible[{account}]", family="admissible", limit=None, used=None,
                amount=1.0, unit="accounts",
                message=f"admissible[{account}]: promoted to {t} but {reason}",
            ))
            continue
        a = problem_pos[r]
        tier[a] = tier_index[t]
        kam[a] = _plain_kam(kams[i], problem)
        sponsor[a] = sponsors[i].strip()
    if problems:
        raise DataError(problems)
    hire_counts = np.zeros(len(problem.pools), dtype=np.int64)
    given = dict(hires or {})
    if not given and plan_path.is_dir() and (plan_path / "resources.csv").exists():
        given = _hires_from_resources(plan_path / "resources.csv")
    pool_index = {p.id: j for j, p in enumerate(problem.pools)}
    for pool, count in given.items():
        if pool not in pool_index:
            raise DataError(Diagnostic(f"unknown KAM pool '{pool}' in hires", expected=one_of(pool_index),
                                       hint=did_you_mean(pool, pool_index)))
        hire_counts[pool_index[pool]] = int(count)
    assignment = Assignment(
        tier=tier, hires=hire_counts,
        kam=tuple(kam) if problem.kams else (),
        sponsor=tuple(sponsor) if problem.sponsors else (),
    )
    return assignment, extra


def _plain_kam(text: str, problem: Problem) -> str:
    """The plan's KAM column as the verifier expects it ('' when KAMs are planned per pool)."""
    if not problem.kams:
        return ""
    return text.strip()


def _hires_from_resources(path: Path) -> dict[str, int]:
    """Pool -> FTE hired, from the ``hire_limit[<pool>]`` rows of a plan's resources.csv."""
    out: dict[str, int] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("family") == "hire_limit" and row.get("hires") not in (None, ""):
                out[row.get("resource", "")] = int(float(row["hires"]))
    return out


def check(
    loaded: LoadedPolicy,
    plan_path: Path,
    *,
    hires: dict[str, int] | None = None,
    with_optimum: bool = False,
    data: AccountData | None = None,
) -> tuple[Plan, Plan | None]:
    """Verify a plan from its files; optionally solve the policy to show the optimum beside it."""
    screening = _screen(loaded, data if data is not None else load_data(loaded))
    problem, index = build_problem(screening)
    assignment, extra = read_assignment(screening, problem, index, plan_path, hires)
    options = solver_options(loaded)
    assignment, note = _staffed(problem, assignment, options)
    report = verify(problem, assignment)
    baseline = greedy(problem)
    status = Status.FEASIBLE if report.ok and not extra else Status.RULES_BROKEN
    solution = Solution(status=status, assignment=assignment, objective=report.parts.total,
                        parts=report.parts, solver="plan file", violations=dict(report.soft), message=note)
    plan = Plan(
        screening=screening, problem=problem, index=index, solution=solution, method="optimal",
        options=options, check=report, greedy=baseline,
        greedy_check=verify(problem, baseline), extra_violations=extra,
    )
    optimum = _solve_screened(screening, problem, index, plan.options) if with_optimum else None
    return plan, optimum


def _staffed(problem: Problem, a: Assignment, options: SolverOptions) -> tuple[Assignment, str]:
    """The plan with named KAMs and sponsors filled in by kamopt when it names none of
    them (a spreadsheet of tiers: :func:`kamopt.model.optimise.staff`), and a note that
    says so ("" when the plan named its own)."""
    key = np.flatnonzero(a.tier >= 0)
    req = np.asarray(problem.sponsor_required, dtype=bool)
    sponsored = [i for i in key.tolist() if req.size and req[a.tier[i]]]
    want_kams = bool(problem.kams) and key.size > 0 and not any(a.kam[i] for i in key.tolist())
    want_sponsors = bool(problem.sponsors) and bool(sponsored) and not any(a.sponsor[i] for i in sponsored)
    if not (want_kams or want_sponsors):
        return a, ""
    what = " or ".join(w for w, on in (("KAMs", want_kams), ("sponsors", want_sponsors)) if on)
    found = staff(problem, a, options)
    if found is None:
        return a, f"the plan names no {what}, and the solver found no staffing in its time limit"
    staffed = Assignment(tier=a.tier, hires=a.hires, kam=found.kam if want_kams else a.kam,
                         sponsor=found.sponsor if want_sponsors else a.sponsor)
    note = (f"the plan names no {what}: kamopt assigned them (the staffing of these tiers and hires that "
            "breaks the least capacity, then earns the most fit bonus)")
    unstaffed = want_kams and any(v.family == "kam_assign" for v in verify(problem, staffed).violations)
    if unstaffed:  # would hires staff every account? say which, as the --hire to give
        more = staff(problem, a, options, hire=True)
        if more is not None and not any(v.family == "kam_assign" for v in verify(problem, more).violations):
            extra = [f"--hire {shlex.quote(f'{q.id}={int(n)}')}" for q, n, g in
                     zip(problem.pools, more.hires.tolist(), a.hires.tolist()) if n > g]
            if extra:
                note += f"; some accounts get no KAM without hires: {' '.join(extra)} would staff every one"
    return staffed, note


def plan_fingerprints(plan: Plan) -> dict[str, str]:
    return {
        "policy_sha256": plan.loaded.sha256,
        "data_sha256": plan.screening.data.sha256,
        "kamopt_version": __version__,
    }


__all__ = ["Plan", "check", "read_assignment", "solve", "solver_options"]
