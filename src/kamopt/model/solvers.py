"""Solver back ends: the only module that imports highspy or pulp.

* HiGHS (default) gets the whole :class:`LinearModel` in one ``passModel`` call (CSC arrays).
* CBC goes through PuLP (which bundles it): slower to build, kept as a cross-check.

Every solver status is mapped explicitly to a kamopt :class:`Status`; a status kamopt does
not know becomes ``UNKNOWN``; a time limit is never reported as infeasible.
"""

from __future__ import annotations

import math
import os
import re
import sys
import threading
import time
import warnings
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

import numpy as np

from ..errors import SolverError, SolverUnavailable
from .linear import LinearModel
from .objective_split import GroupRelaxations, group_bound, group_values, value_groups
from .solution import Status

SolverName = Literal["highs", "cbc"]
_FEAS_TOL = 1e-9


@dataclass(frozen=True)
class SolverOptions:
    """How to solve. ``threads = 0`` leaves the solver's default."""

    name: SolverName = "highs"
    time_limit: float = 60
    """Seconds (wall clock)."""
    gap: float = 1e-4
    """Relative MIP gap at which the solver may stop and call the plan optimal."""
    threads: int = 0
    msg: bool = False
    """Show the solver log."""


@dataclass(frozen=True)
class RawResult:
    """A solver's answer on the model's own scale (objective incl. constant and tie-breaks)."""

    status: Status
    x: np.ndarray | None
    """Column values, or None without a solution."""
    objective: float | None
    bound: float | None
    """Best proven upper bound (maximisation), None when unknown."""
    seconds: float
    solver: str
    message: str = ""


# --------------------------------------------------------------------------- availability
SOLVERS: tuple[str, ...] = ("highs", "cbc")
"""Every solver kamopt can drive, default first."""


@lru_cache(maxsize=None)
def solver_available(name: str) -> bool:
    """Whether ``name`` can run here. Only that solver is probed: a HiGHS run never imports
    PuLP or starts CBC to ask."""
    if name == "highs":
        try:
            import highspy  # noqa: F401
        except ImportError:
            return False
        return True
    if name == "cbc":
        try:
            import pulp

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return bool(pulp.PULP_CBC_CMD(msg=False).available())
        except Exception:  # pragma: no cover - pulp missing or broken
            return False
    return False


def available_solvers() -> list[str]:
    """Solvers that can run here, default first."""
    return [name for name in SOLVERS if solver_available(name)]


def require_solver(name: str) -> None:
    """Raise :class:`SolverUnavailable` (exit 2) unless ``name`` can run here."""
    if not solver_available(name):
        avail = available_solvers()
        shown = ", ".join(avail) if avail else "none"
        raise SolverUnavailable(f"solver '{name}' is not available (available: {shown})")


def run(model: LinearModel, options: SolverOptions = SolverOptions(), *, start: np.ndarray | None = None) -> RawResult:
    """Solve ``model`` (maximise). ``start`` (a full column vector) is a MIP start for HiGHS."""
    require_solver(options.name)
    model.freeze()
    if model.n_cols == 0:
        return _trivial(model, options.name)
    if options.name == "highs":
        return _run_highs(model, options, start)
    return _run_cbc(model, options)


def _trivial(model: LinearModel, solver: str) -> RawResult:
    """A model without columns: feasible iff every (empty) row admits 0."""
    ok = bool(np.all(model.row_lower <= _FEAS_TOL) and np.all(model.row_upper >= -_FEAS_TOL))
    if ok:
        return RawResult(Status.OPTIMAL, np.zeros(0), model.constant, model.constant, 0.0, solver)
    bad = [model.row_names[i] for i in np.flatnonzero((model.row_lower > _FEAS_TOL) | (model.row_upper < -_FEAS_TOL))]
    message = "rows without options cannot hold: " + ", ".join(bad[:10])
    return RawResult(Status.INFEASIBLE, None, None, None, 0.0, solver, message)


# --------------------------------------------------------------------------- HiGHS
def _colwise_lp(cost, lower, upper, row_lower, row_upper, start, index, value):
    """A maximising ``highspy.HighsLp`` from column bounds, row bounds and a matrix
    compressed by column (``start`` has one entry more than there are columns)."""
    import highspy

    n_cols, n_rows = len(cost), len(row_lower)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_cols, n_rows
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lower, upper
    lp.row_lower_, lp.row_upper_ = row_lower, row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n_cols, n_rows
    lp.a_matrix_.start_ = np.asarray(start).astype(np.int32)
    lp.a_matrix_.index_ = np.asarray(index).astype(np.int32)
    lp.a_matrix_.value_ = value
    lp.sense_ = highspy.ObjSense.kMaximize
    return lp


def _highs_lp(model: LinearModel, *, integer: bool = True, names: bool = False):
    import highspy

    a = model.csc()
    lp = _colwise_lp(model.cost, model.lower, model.upper, model.row_lower, model.row_upper, a.start, a.index, a.value)
    lp.offset_ = float(model.constant)
    if integer and model.integer.any():
        kinds = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)
        lp.integrality_ = [kinds[i] for i in model.integer.astype(np.int8).tolist()]
    if names:
        lp.col_names_ = _unique(model.col_names, _no_space)
        lp.row_names_ = _unique(model.row_names, _no_space)
    return lp


_highs_used = False
"""Whether this process has made a HiGHS instance (:func:`highs_used`)."""


def highs_used() -> bool:
    """Whether HiGHS has run (or may have run) in this process: its thread pools live on
    in per-thread state that a fork copies without their threads (:mod:`kamopt.runs`
    forks workers only from a process where it has not)."""
    return _highs_used


def quiet_highs():
    """A ``highspy.Highs`` that printed nothing: since HiGHS 1.16 the constructor writes its
    banner straight to file descriptor 1, before ``output_flag`` can be set, which would
    mix solver chatter into kamopt's output. The descriptor is pointed at /dev/null for
    the duration of the constructor only."""
    import highspy

    global _highs_used
    _highs_used = True
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no usable descriptor 1 (embedded interpreters): nothing to hide
        return highspy.Highs()
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    h.setOptionValue("output_flag", False)
    return h


_scheduler = threading.local()
"""``_scheduler.threads``: the thread count this thread's HiGHS scheduler was last started
for (unset: not yet). HiGHS (1.16) keeps one scheduler per calling thread, sized by the
first run on that thread; two threads solve side by side, each on its own pool
(:func:`kamopt.plan.solve` prices the LP relaxation beside the MILP)."""


def _new_highs(options: SolverOptions):
    import highspy

    h = quiet_highs()
    h.setOptionValue("output_flag", bool(options.msg))
    limit = float(options.time_limit) if options.time_limit and math.isfinite(options.time_limit) else highspy.kHighsInf
    h.setOptionValue("time_limit", limit)
    h.setOptionValue("mip_rel_gap", float(options.gap))
    h.setOptionValue("random_seed", 0)
    # HiGHS 1.16 can abort the whole process ("free(): invalid pointer") in the presolve of
    # a MIP restart: the bundled sample with one more account forced in at silver does it.
    # A crash loses the user's run, so no solve restarts (tests/test_solvers.py keeps that case).
    h.setOptionValue("mip_allow_restart", False)
    if options.threads != getattr(_scheduler, "threads", None):
        # HiGHS keeps one thread pool per calling thread, sized by the first run that
        # starts it; it must be reset (on this thread) for another size to apply.
        highspy.Highs.resetGlobalScheduler(True)
        _scheduler.threads = options.threads
    if options.threads > 0:
        h.setOptionValue("threads", int(options.threads))
    # HiGHS's MIP search is deterministic for a fixed thread count and seed; no extra
    # determinism switch exists in highspy 1.x.
    return h


_LIMIT = "limit"
"""Marker: the solver stopped early; FEASIBLE with a solution, TIME_LIMIT_NO_SOLUTION without."""

_HIGHS_CONDITION_MAP: dict[str, Status | str | None] = {
    "kNotset": Status.UNKNOWN,
    "kLoadError": Status.ERROR,
    "kModelError": Status.ERROR,
    "kPresolveError": Status.ERROR,
    "kSolveError": Status.ERROR,
    "kPostsolveError": Status.ERROR,
    "kModelEmpty": Status.OPTIMAL,
    "kOptimal": Status.OPTIMAL,
    "kInfeasible": Status.INFEASIBLE,
    "kUnboundedOrInfeasible": None,  # decided by a re-run without presolve
    "kUnbounded": Status.UNKNOWN,  # cannot happen: every column is bounded
    "kObjectiveBound": _LIMIT,
    "kObjectiveTarget": _LIMIT,
    "kTimeLimit": _LIMIT,
    "kIterationLimit": _LIMIT,
    "kSolutionLimit": _LIMIT,
    "kInterrupt": _LIMIT,
    "kHighsInterrupt": _LIMIT,
    "kMemoryLimit": _LIMIT,
    "kUnknown": Status.UNKNOWN,
}
"""Every HighsModelStatus name -> kamopt status (names not listed -> UNKNOWN)."""


def map_highs_status(model_status, has_solution: bool) -> Status | None:
    """kamopt status of a HighsModelStatus; None for kUnboundedOrInfeasible (needs a re-run)."""
    name = getattr(model_status, "name", str(model_status).rsplit(".", 1)[-1])
    mapped = _HIGHS_CONDITION_MAP.get(name, Status.UNKNOWN)
    if mapped == _LIMIT:
        return Status.FEASIBLE if has_solution else Status.TIME_LIMIT_NO_SOLUTION
    return mapped


def split_bounds(model: LinearModel, groups: list[np.ndarray], options: SolverOptions = SolverOptions()) -> np.ndarray:
    """Upper bound of each group's value (:mod:`.objective_split`): one small LP each, the
    group's relaxation (:class:`.objective_split.GroupRelaxations`) maximised by HiGHS, with
    the MILP's thread count (HiGHS's thread pool is one per calling thread: an LP run here
    with another count would leave the MILP unable to start)."""
    import highspy

    relaxations = GroupRelaxations(model, groups)
    h = _new_highs(replace(options, time_limit=0, msg=False))
    h.setOptionValue("presolve", "off")  # small LPs: 16 at 20,000 accounts 0.29 s -> 0.22 s without it
    upper = np.zeros(len(groups))
    for j, g in enumerate(groups):
        sub = relaxations.lp(g)
        h.passModel(_colwise_lp(sub.cost, sub.lower, sub.upper, sub.row_lower, sub.row_upper,
                                sub.start, sub.index, sub.value))
        h.run()
        optimal = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        upper[j] = group_bound(model, g, h.getInfo().objective_function_value if optimal else None)
    return upper


def _pass_split(h, model: LinearModel, options: SolverOptions, *, names: bool = False) -> list[np.ndarray]:
    """Pass the MILP to ``h``, its objective split over bounded value columns when the model
    asks for it (:mod:`.objective_split`; the ``value`` columns and ``value_group`` rows come
    after the model's own). Returns the groups (empty: no split)."""
    h.passModel(_highs_lp(model, names=names))
    groups = value_groups(model, model.value_groups)
    if not groups:
        return []
    k = len(groups)
    lower = np.array([float(np.minimum(model.cost[g], 0.0).sum()) for g in groups])
    h.addCols(k, np.ones(k), lower, split_bounds(model, groups, options), 0, np.zeros(k, dtype=np.int32),
              np.zeros(0, dtype=np.int32), np.zeros(0))
    for j, g in enumerate(groups):
        cols = np.concatenate([g, [model.n_cols + j]]).astype(np.int32)
        h.addRow(0.0, 0.0, cols.size, cols, np.concatenate([model.cost[g], [-1.0]]))
    moved = np.concatenate(groups).astype(np.int32)
    h.changeColsCost(moved.size, moved, np.zeros(moved.size))
    if names:
        for j in range(k):
            h.passColName(model.n_cols + j, f"value[{j + 1}]")
            h.passRowName(model.n_rows + j, f"value_group[{j + 1}]")
    return groups


def _run_highs(model: LinearModel, options: SolverOptions, start: np.ndarray | None) -> RawResult:
    import highspy

    t0 = time.perf_counter()
    try:
        h = _new_highs(options)
        groups = _pass_split(h, model, options)
        if groups and math.isfinite(options.time_limit or math.inf):
            # the groups' bounds are part of the solve: the time limit holds for both together
            h.setOptionValue("time_limit", max(0.01, float(options.time_limit) - (time.perf_counter() - t0)))
        for key, value in model.highs_options.items():  # what the builder measured best for this model
            h.setOptionValue(key, value)
        if start is not None:
            sol = highspy.HighsSolution()
            x0 = np.asarray(start, dtype=float)
            sol.col_value = np.concatenate([x0, group_values(model, groups, x0)]).tolist()
            h.setSolution(sol)
        status, has_sol, message = _run_and_read(h)
        if status is None:  # unbounded or infeasible: ask again without presolve
            h.setOptionValue("presolve", "off")
            status, has_sol, message = _run_and_read(h)
            if status is None:  # every column is bounded, so this means infeasible
                status = Status.INFEASIBLE
        info = h.getInfo()
        x = (np.asarray(h.getSolution().col_value, dtype=float)[: model.n_cols]  # without the split's columns
             if has_sol and status.has_solution else None)
        objective = model.objective_value(x) if x is not None else None
        bound = None
        if status.has_solution:
            if model.integer.any():
                b = float(info.mip_dual_bound)
                bound = b if math.isfinite(b) else None
            if bound is None and status is Status.OPTIMAL:
                bound = objective
        return RawResult(status, x, objective, bound, time.perf_counter() - t0, "highs", message)
    except Exception as exc:  # the solver failed: report, never call it infeasible
        return RawResult(Status.ERROR, None, None, None, time.perf_counter() - t0, "highs", f"HiGHS failed: {exc}")


def _run_and_read(h) -> tuple[Status | None, bool, str]:
    """Run HiGHS; (kamopt status or None when it must be asked again, has a solution, its words)."""
    import highspy

    h.run()
    ms = h.getModelStatus()
    feasible = int(highspy.SolutionStatus.kSolutionStatusFeasible)
    has_sol = int(h.getInfo().primal_solution_status) == feasible
    return map_highs_status(ms, has_sol), has_sol, h.modelStatusToString(ms)


def solve_lp_relaxation(model: LinearModel, threads: int = 0) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The LP relaxation (integrality dropped) with HiGHS: (column values, row duals).

    Duals are HiGHS's, for the maximisation as stated. Returns ``(None, None)`` when the
    relaxation has no optimal solution (e.g. it is infeasible). ``threads``: the size of
    this thread's HiGHS pool (0: HiGHS's default; a thread of its own needs only 1).
    """
    require_solver("highs")
    import highspy

    model.freeze()
    if model.n_cols == 0:
        return np.zeros(0), np.zeros(model.n_rows)
    h = _new_highs(SolverOptions(threads=threads))
    h.passModel(_highs_lp(model, integer=False))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None, None
    sol = h.getSolution()
    return np.asarray(sol.col_value, dtype=float), np.asarray(sol.row_dual, dtype=float)


def write_mps(model: LinearModel, path: str) -> None:
    """Write the model as HiGHS gets it to solve (with the objective split, when the model
    has one) as (free) MPS; names have blanks replaced by ``_``."""
    require_solver("highs")
    model.freeze()
    h = _new_highs(SolverOptions())
    _pass_split(h, model, SolverOptions(), names=True)  # what kamopt hands HiGHS, the split included
    status = h.writeModel(str(path))
    if int(status) < 0:
        raise SolverError(f"HiGHS could not write {path}")


# --------------------------------------------------------------------------- PuLP / CBC
_PULP_ILLEGAL = str.maketrans("-+[] ->/", "________")


def _no_space(name: str) -> str:
    return re.sub(r"\s+", "_", name)


def _unique(names: list[str], clean) -> list[str]:
    """Clean every name; add ``_2``, ``_3``... where cleaning made two names equal."""
    out: list[str] = []
    seen: set[str] = set()
    for n in names:
        s = clean(n)
        if s in seen:
            k = 2
            while f"{s}_{k}" in seen:
                k += 1
            s = f"{s}_{k}"
        seen.add(s)
        out.append(s)
    return out


def _pulp_problem(model: LinearModel):
    """A ``pulp.LpProblem`` equal to the model: variables in column order, one constraint per
    row (two for a ranged row: ``<name>`` and ``<name>__upper``; free rows are left out)."""
    import pulp

    model.freeze()
    prob = pulp.LpProblem(model.name, pulp.LpMaximize)
    col_names = _unique(model.col_names, lambda n: n.translate(_PULP_ILLEGAL))
    variables = []
    for j, name in enumerate(col_names):
        lo, hi = model.lower[j], model.upper[j]
        lo = float(lo) if math.isfinite(lo) else None
        hi = float(hi) if math.isfinite(hi) else None
        if model.integer[j]:
            cat = pulp.LpBinary if (lo == 0 and hi == 1) else pulp.LpInteger
        else:
            cat = pulp.LpContinuous
        variables.append(prob.add_variable(name, lo, hi, cat=cat))
    nz = np.flatnonzero(model.cost)
    prob.setObjective(
        pulp.LpAffineExpression(
            [(variables[j], float(model.cost[j])) for j in nz.tolist()], constant=float(model.constant)
        )
    )
    a = model.csr()
    row_names = _unique(model.row_names, _no_space)
    for i, name in enumerate(row_names):
        cols, vals = a.slice(i)
        lo, hi = float(model.row_lower[i]), float(model.row_upper[i])
        terms = [(variables[c], float(v)) for c, v in zip(cols.tolist(), vals.tolist())]
        if lo == hi:
            sides = [(pulp.LpConstraintEQ, lo, name)]
        else:
            sides = []
            if math.isfinite(lo):
                sides.append((pulp.LpConstraintGE, lo, name))
            if math.isfinite(hi):
                sides.append((pulp.LpConstraintLE, hi, name if not sides else f"{name}__upper"))
        for sense, rhs, cname in sides:
            prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), sense=sense, rhs=rhs), cname)
    return prob, variables


def write_lp(model: LinearModel, path: str) -> None:
    """Write the model as a CPLEX LP file through PuLP's ``writeLP``.

    Variable names are PuLP-cleaned (``x[A,gold]`` -> ``x_A,gold_``), row names have blanks
    replaced by ``_``. PuLP leaves out the objective constant, so it is added as a comment.
    """
    prob, _ = _pulp_problem(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prob.writeLP(str(path), max_length=10**9)
    if model.constant:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
        lines.insert(1, f"\\* objective constant = {model.constant:.12g} *\\\n")
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(lines)


def map_pulp_status(status: int, sol_status: int) -> Status:
    """kamopt status from PuLP's ``prob.status`` and ``prob.sol_status`` (CBC)."""
    import pulp

    if sol_status == pulp.LpSolutionOptimal and status == pulp.LpStatusOptimal:
        return Status.OPTIMAL
    if sol_status == pulp.LpSolutionIntegerFeasible:
        return Status.FEASIBLE
    if sol_status == pulp.LpSolutionInfeasible or status == pulp.LpStatusInfeasible:
        return Status.INFEASIBLE
    if sol_status == pulp.LpSolutionNoSolutionFound and status == pulp.LpStatusNotSolved:
        return Status.TIME_LIMIT_NO_SOLUTION  # CBC "Stopped" without a solution
    if sol_status == pulp.LpSolutionUnbounded or status == pulp.LpStatusUnbounded:
        return Status.UNKNOWN  # cannot happen: every column is bounded
    return Status.UNKNOWN


def _run_cbc(model: LinearModel, options: SolverOptions) -> RawResult:
    import pulp

    t0 = time.perf_counter()
    try:
        prob, variables = _pulp_problem(model)
        limit = float(options.time_limit) if options.time_limit and math.isfinite(options.time_limit) else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            solver = pulp.PULP_CBC_CMD(
                msg=bool(options.msg), timeLimit=limit, gapRel=float(options.gap),
                threads=int(options.threads) if options.threads > 0 else None,
            )
            prob.solve(solver)
        status = map_pulp_status(prob.status, prob.sol_status)
        status_text = pulp.LpStatus.get(prob.status, prob.status)
        message = f"{status_text} / {pulp.LpSolution.get(prob.sol_status, prob.sol_status)}"
        x = None
        objective = bound = None
        if status.has_solution:
            vals = np.array([np.nan if v.varValue is None else v.varValue for v in variables], dtype=float)
            unused = np.isnan(vals)  # variables in no row and not in the objective
            vals[unused] = np.clip(0.0, model.lower[unused], model.upper[unused])
            x = vals
            objective = model.objective_value(x)
            bound = objective if status is Status.OPTIMAL else None
        return RawResult(status, x, objective, bound, time.perf_counter() - t0, "cbc", message)
    except Exception as exc:
        return RawResult(Status.ERROR, None, None, None, time.perf_counter() - t0, "cbc", f"CBC failed: {exc}")
