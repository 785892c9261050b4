"""Marginal values: what one more unit of each capacity and binding portfolio limit is worth.

An *item* is something a planner can buy or negotiate one more step of:

* ``kam_fte[<pool>]``: one more FTE in a KAM pool (step ``kam_fte``, default 1). Per pool,
  the FTE moves both its rows, ``kam_hours[<pool>]`` by ``hours_per_fte`` and
  ``kam_span[<pool>]`` by ``span``. With named KAMs there are no pool rows: one more FTE
  is one more *unnamed* person of the pool, with the pool's hours and span, who may serve
  any of its accounts (hours factor 1, no fit bonus) at no extra cost — the capacity a hire
  brings, without the hire's cost. resources.csv shows it on the pool's
  ``(new hire)`` rows when the pool can hire (that is the same capacity); for a pool that
  cannot hire it is in summary.json only;
* ``sponsor_slots[<sponsor>]``, ``support_hours[<function>]``, ``budget``: one row each;
* every portfolio limit (``max_key_accounts``, ``min_tier_accounts[gold]``, quotas,
  ``max_new_promotions``, concentration), relaxed by one step: a max raised, a min
  lowered; a share limit's share moved by ``portfolio_shares`` (default one point).

Two figures per item, both in money over the horizon (the objective's unit):

* ``lp_estimate``: the LP relaxation's row dual times the step — the quick estimate, for
  every item, on every solve (one LP). HiGHS reports duals of the maximisation as stated,
  ``dual = d objective / d bound``, so raising an upper bound by ``step`` is worth
  ``dual * step`` and lowering a lower bound ``-dual * step``; a pool's FTE adds up its two
  rows; a share limit's share moves its row like a bound moved by ``step`` times the
  measure the LP portfolio holds. The LP is the model as built, with two changes that do
  not move its optimum: a sponsor's per-class column bounds (implied by its slots row) are
  lifted so the dual lands on the slots row, and with named KAMs each pool gets an unnamed
  person of zero capacity, whose row duals price the first hours of one more.
* ``marginal_value`` (exact, on request): the MILP re-solved with the item moved one step,
  minus the base objective. Each re-solve starts from the base plan (still feasible, as the
  item was relaxed), so the value is never negative. Re-solves run on the base problem
  with one number changed — no re-reading or re-screening — in parallel worker processes.
  Every capacity is re-solved; a portfolio limit only when it binds (a limit with slack
  gets status ``not_binding``). Both solves stop at the requested gap, so the true value
  lies in ``[marginal_low, marginal_high]``: the moved objective minus the base bound, and
  the moved bound minus the base objective.
"""

from __future__ import annotations

import multiprocessing
import signal
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from kamopt.model.build import Built, build_model
from kamopt.model.linear import LinearModel
from kamopt.model.optimise import optimise
from kamopt.model.problem import Kam, KamPairs, Limit, Problem
from kamopt.model.solution import NEW_HIRE, Assignment, Status
from kamopt.model.solvers import SolverOptions, solve_lp_relaxation, solver_available
from kamopt.verify import verify

if TYPE_CHECKING:  # pragma: no cover
    from kamopt.plan import Plan

EXTRA_FTE = "(extra FTE)"
"""Suffix of the unnamed person that prices one more FTE of a pool with named KAMs."""

MARGINAL_COLUMNS = ("step", "step_unit", "lp_estimate", "marginal_value", "marginal_low", "marginal_high",
                    "marginal_status")
"""Columns resources.csv gains (after ``binding``)."""

COUNT_FAMILIES = ("key_accounts", "tier_count", "quota", "promotions")


@dataclass(frozen=True)
class MarginalValue:
    """One item's marginal value: what moving it one step in the relaxing direction is worth."""

    item: str
    """``kam_fte[<pool>]``, ``sponsor_slots[<sponsor>]``, ``support_hours[<function>]``,
    ``budget``, or a portfolio limit's name."""
    kind: str
    """The step it takes: ``kam_fte``, ``sponsor_slots``, ``support_hours``, ``budget``,
    ``portfolio_limits`` or ``portfolio_shares``."""
    index: int
    """Position of the pool, sponsor, support function or limit in the problem (-1: budget)."""
    limit: float | None
    """Its value today: FTE, slots, hours, budget, a count limit, or a share."""
    step: float
    """How far it moves: up for capacities and maxima, down for minima."""
    unit: str
    """Unit of ``limit`` and ``step``: FTE, slots, h, money, accounts, share (or the limit's unit)."""
    direction: int
    """+1: the limit is raised; -1: it is lowered."""
    rows: tuple[str, ...]
    """The resources.csv rows that show it."""
    binding: bool
    """The base plan uses all of it (no slack on one of its rows)."""
    lp_estimate: float | None = None
    """LP-relaxation dual times the step (None when the LP has no optimum)."""
    marginal_value: float | None = None
    """Re-solved objective minus the base objective (None: not computed)."""
    marginal_low: float | None = None
    """Lower end of the range the true value is proven to lie in (the solves' gaps)."""
    marginal_high: float | None = None
    """Upper end of that range."""
    status: str = ""
    """``optimal`` (both solves within the gap), ``feasible`` (one stopped at the time
    limit), ``not_binding``, ``not_relaxable`` (a min at 0, a share at 0 or 1), a failed
    re-solve's status, or ``""`` when not computed."""
    objective: float | None = None
    """Objective of the re-solved plan."""
    verified: bool | None = None
    """The independent verifier passed the re-solved plan against the moved problem."""

    def as_dict(self) -> dict[str, Any]:
        """For summary.json (no position, no run times: the file stays reproducible)."""
        out = asdict(self)
        out.pop("index")
        out["rows"] = list(self.rows)
        return out


# --------------------------------------------------------------------------- items
def _steps(plan: "Plan") -> tuple[Any, dict[str, float]]:
    spec = plan.loaded.policy.analysis.marginal_values
    return spec.steps, dict(spec.step_overrides)


def _is_share(lim: Limit) -> bool:
    return lim.share is not None and lim.measure is not None


def items(plan: "Plan") -> list[MarginalValue]:
    """Every capacity and portfolio limit of the plan's problem, with its step (no values yet).

    Order: pools, sponsors, support functions, budget (policy order), then portfolio limits.
    """
    p = plan.problem
    steps, overrides = _steps(plan)
    usage = {u.name: u for u in plan.check.usage} if plan.check is not None else {}

    def binds(names: Sequence[str]) -> bool:
        for n in names:
            u = usage.get(n)
            if u is not None and u.slack is not None and u.limit is not None \
                    and u.slack <= 1e-6 * max(1.0, abs(u.limit)):
                return True
        return False

    out: list[MarginalValue] = []
    for q, pool in enumerate(p.pools):
        name = f"kam_fte[{pool.id}]"
        if p.kams:
            own = [f"kam_{w}[{k.id}]" for k in p.kams if k.pool == q for w in ("hours", "span")]
            hired = [n for n in (f"kam_hours[{pool.id} {NEW_HIRE}]", f"kam_span[{pool.id} {NEW_HIRE}]")
                     if n in usage]
            rows = tuple(hired)
            # a hire-capacity row at 0 of 0 has no slack but binds nothing
            watched = own + [n for n in hired if (usage[n].limit or 0) > 0]
        else:
            rows = tuple(n for n in (f"kam_hours[{pool.id}]", f"kam_span[{pool.id}]") if n in usage)
            watched = list(rows)
        out.append(MarginalValue(name, "kam_fte", q, pool.fte, float(overrides.get(name, steps.kam_fte)), "FTE",
                                 1, rows, binds(watched)))
    for e, s in enumerate(p.sponsors):
        name = f"sponsor_slots[{s.id}]"
        out.append(MarginalValue(name, "sponsor_slots", e, float(s.slots),
                                 float(overrides.get(name, steps.sponsor_slots)), "slots", 1, (name,), binds([name])))
    for f, cap in enumerate(p.support):
        name = f"support_hours[{cap.id}]"
        out.append(MarginalValue(name, "support_hours", f, float(cap.limit),
                                 float(overrides.get(name, steps.support_hours)), "h", 1, (name,), binds([name])))
    if p.budget is not None:
        out.append(MarginalValue("budget", "budget", -1, float(p.budget), float(overrides.get("budget", steps.budget)),
                                 "money", 1, ("budget",), binds(["budget"])))
    x = np.zeros(p.n_options)
    if plan.solution.assignment is not None and p.n_options:
        x[np.asarray(plan.solution.assignment.tier)[p.opt_account] == p.opt_tier] = 1.0
    for j, lim in enumerate(p.limits):
        share = _is_share(lim)
        u = usage.get(lim.name)
        binding = binds([lim.name]) or (lim.penalty is not None and u is not None and (u.slack or 0.0) < 0)
        if share and u is not None and u.slack is not None:  # its row is in units of the measure
            binding = binding or u.slack <= 1e-6 * max(1.0, float(np.asarray(lim.measure, dtype=float) @ x))
        kind = "portfolio_shares" if share else "portfolio_limits"
        default = steps.portfolio_shares if share else steps.portfolio_limits
        out.append(MarginalValue(
            lim.name, kind, j, float(lim.share) if share else float(lim.rhs),
            float(overrides.get(lim.name, default)), "share" if share else lim.unit,
            1 if lim.sense == "<=" else -1, (lim.name,), binding,
        ))
    return out


# --------------------------------------------------------------------------- moved problems
def _extra_person(p: Problem, q: int, fte: float) -> Problem:
    """``p`` with one unnamed person of ``fte`` FTE in pool ``q`` (named-KAM problems only):
    the pool's hours and span per FTE, allowed for every account of the pool, factor 1, no bonus."""
    pool = p.pools[q]
    taken = {k.id for k in p.kams}
    kid = f"{pool.id} {EXTRA_FTE}"
    while kid in taken:
        kid += "'"
    kam = Kam(id=kid, pool=q, hours=pool.hours_per_fte * fte, max_accounts=pool.span * fte)
    accounts = np.flatnonzero(np.asarray(p.pool) == q).astype(np.int64)
    pairs = p.kam_pairs
    n = accounts.size
    k = len(p.kams)
    new_pairs = KamPairs(
        account=np.concatenate([np.asarray(pairs.account, dtype=np.int64), accounts]),
        kam=np.concatenate([np.asarray(pairs.kam, dtype=np.int64), np.full(n, k, dtype=np.int64)]),
        hours_factor=np.concatenate([np.asarray(pairs.hours_factor, dtype=float), np.ones(n)]),
        value_bonus=np.concatenate([np.asarray(pairs.value_bonus, dtype=float), np.zeros(n)]),
    )
    return replace(p, kams=(*p.kams, kam), kam_pairs=new_pairs)


def moved_share_limit(lim: Limit, share: float) -> Limit:
    """A share limit with its share bound set to ``share`` (the row's coefficients follow)."""
    numerator, measure = lim.shares()
    return replace(lim, coef=numerator - share * measure, share=share)


def relaxable(p: Problem, mv: MarginalValue) -> bool:
    """False when the relaxing direction is already at its end (a min at 0, a share at 0 or 1)."""
    if mv.kind in ("portfolio_limits", "portfolio_shares") and mv.direction < 0:
        return (mv.limit or 0.0) > 0
    if mv.kind == "portfolio_shares":
        return (mv.limit or 0.0) < 1
    return True


def moved_problem(p: Problem, mv: MarginalValue) -> Problem:
    """The problem with the item moved one step in its relaxing direction."""
    d = mv.step
    if mv.kind == "kam_fte":
        if p.kams:
            return _extra_person(p, mv.index, d)
        pools = list(p.pools)
        pools[mv.index] = replace(pools[mv.index], fte=pools[mv.index].fte + d)
        return replace(p, pools=tuple(pools))
    if mv.kind == "sponsor_slots":
        sponsors = list(p.sponsors)
        sponsors[mv.index] = replace(sponsors[mv.index], slots=int(sponsors[mv.index].slots + d))
        return replace(p, sponsors=tuple(sponsors))
    if mv.kind == "support_hours":
        support = list(p.support)
        support[mv.index] = replace(support[mv.index], limit=support[mv.index].limit + d)
        return replace(p, support=tuple(support))
    if mv.kind == "budget":
        return replace(p, budget=float(p.budget) + d)
    limits = list(p.limits)
    lim = limits[mv.index]
    if mv.kind == "portfolio_shares":
        limits[mv.index] = moved_share_limit(lim, min(1.0, max(0.0, float(lim.share) + mv.direction * d)))
    else:
        limits[mv.index] = replace(lim, rhs=max(0.0, lim.rhs + mv.direction * d) if mv.direction < 0
                                   else lim.rhs + d)
    return replace(p, limits=tuple(limits))


# --------------------------------------------------------------------------- LP estimate
@dataclass(frozen=True)
class PricedLp:
    """The LP relaxation that prices rows, solved once per plan and shared by the marginal
    values' ``lp_estimate`` (:func:`lp_estimates`) and the thresholds of explanations.csv
    (:func:`kamopt.explain.lp_net_values`). It is the model as built with the two changes
    the module docstring gives (sponsor class bounds lifted; with named KAMs a
    zero-capacity unnamed person per pool), neither of which moves the LP optimum."""

    built: Built
    """The pricing problem's model; its ``x`` columns are the problem's options, in order."""
    model: LinearModel
    """``built.model`` with the sponsor class bounds lifted: the LP that was solved."""
    x: np.ndarray | None
    """Column values; None when the relaxation has no optimal solution."""
    dual: np.ndarray | None
    """Row duals (HiGHS's, for the maximisation as stated); None as ``x``."""
    extra_kam: dict[int, str]
    """Pool index -> id of its zero-capacity person (named KAMs only)."""

    def row_dual(self, name: str) -> float:
        """The dual of a row by name (0 for a row the model does not have)."""
        assert self.dual is not None
        return float(self.dual[self.model.row(name)]) if self.model.has_row(name) else 0.0


def priced_lp(p: Problem, threads: int = 0) -> PricedLp:
    """Build and solve the pricing LP of ``p`` (HiGHS; raises SolverError without it);
    ``threads`` as :func:`kamopt.model.solvers.solve_lp_relaxation` takes it."""
    lp_problem = p
    extra: dict[int, str] = {}
    if p.kams:
        for q in range(len(p.pools)):
            before = len(lp_problem.kams)
            lp_problem = _extra_person(lp_problem, q, 0.0)
            extra[q] = lp_problem.kams[before].id
    built = build_model(lp_problem)
    model = built.model.copy()
    for cls in built.sponsor_classes:  # y <= slots is implied by the slots row: price the row
        model.upper[cls.y] = cls.accounts.size
    x, dual = solve_lp_relaxation(model, threads)
    return PricedLp(built, model, x, dual, extra)


def plan_lp(plan: "Plan") -> PricedLp:
    """:func:`priced_lp` of the plan's problem, solved on first use and kept on the plan."""
    if plan.priced_lp is None:
        plan.priced_lp = priced_lp(plan.problem)
    assert isinstance(plan.priced_lp, PricedLp)
    return plan.priced_lp


def lp_estimates(p: Problem, todo: list[MarginalValue], lp: PricedLp | None = None) -> list[MarginalValue]:
    """Fill ``lp_estimate`` of every item from one LP relaxation (see the module docstring):
    ``lp``, the problem's :class:`PricedLp` when the caller has it, or solved here."""
    if lp is None:
        if not solver_available("highs"):
            return todo
        lp = priced_lp(p)
    if lp.x is None or lp.dual is None:
        return todo
    d = lp.row_dual
    x_opt = lp.x[lp.built.x]
    out = []
    for mv in todo:
        if mv.kind == "kam_fte":
            pool = p.pools[mv.index]
            who = lp.extra_kam[mv.index] if p.kams else pool.id
            per_fte = d(f"kam_hours[{who}]") * pool.hours_per_fte + d(f"kam_span[{who}]") * pool.span
            est = per_fte * mv.step
        elif mv.kind in ("portfolio_limits", "portfolio_shares"):
            lim = p.limits[mv.index]
            moved = mv.step
            if mv.kind == "portfolio_shares":
                moved *= float(np.asarray(lim.measure, dtype=float) @ x_opt)
            est = d(lim.name) * mv.direction * moved
        else:
            est = d(mv.item) * mv.step
        out.append(replace(mv, lp_estimate=0.0 if abs(est) < 1e-9 else est))
    return out


def estimate(plan: "Plan") -> list[MarginalValue]:
    """Items with their LP estimates (the cheap part every solve computes), unless the
    policy turns the estimate off (``analysis.marginal_values.lp_estimate: false``)."""
    if plan.solution.assignment is None:
        return []
    todo = items(plan)
    if not plan.loaded.policy.analysis.marginal_values.lp_estimate:
        return todo
    if not solver_available("highs"):
        return todo
    return lp_estimates(plan.problem, todo, plan_lp(plan))


# --------------------------------------------------------------------------- exact values
_BASE: tuple[Problem, Assignment, SolverOptions] | None = None


def _init_worker(problem: Problem, start: Assignment, options: SolverOptions) -> None:
    global _BASE
    _BASE = (problem, start, options)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C


def _resolve(task: tuple[int, MarginalValue]) -> tuple[int, dict[str, Any]]:
    """Re-solve one moved problem from the base plan (in a worker, or here)."""
    index, mv = task
    problem, start, options = _BASE
    moved = moved_problem(problem, mv)
    sol = optimise(moved, options, start=start)
    verified = verify(moved, sol.assignment).ok if sol.assignment is not None else None
    return index, dict(status=sol.status.value, objective=sol.objective, bound=sol.bound, verified=verified)


def _in_worker() -> bool:
    """True inside a daemonic worker (compare/frontier runs), which may not start workers itself."""
    return bool(multiprocessing.current_process().daemon)


def _run(tasks: list[tuple[int, MarginalValue]], base: tuple[Problem, Assignment, SolverOptions],
         workers: int, notify: Callable[[str, Any], None]) -> dict[int, dict[str, Any]]:
    """Re-solve every task; results by item index. Events carry the task's position."""
    global _BASE
    position = {i: k for k, (i, _) in enumerate(tasks)}
    results: dict[int, dict[str, Any]] = {}
    if workers <= 1 or len(tasks) <= 1 or _in_worker():
        saved, _BASE = _BASE, base
        try:
            for i, mv in tasks:
                notify("start", position[i])
                results[i] = _resolve((i, mv))[1]
                notify("done", _Done(position[i]))
        finally:
            _BASE = saved
        return results
    from kamopt.runs import _context

    pool = _context().Pool(min(workers, len(tasks)), initializer=_init_worker, initargs=base)
    try:
        for i, res in pool.imap_unordered(_resolve, tasks, chunksize=1):
            results[i] = res
            notify("done", _Done(position[i]))
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    return results


@dataclass(frozen=True)
class _Done:
    """Progress payload (``kamopt.cli.RunProgress`` reads ``index``)."""

    index: int


@dataclass(frozen=True)
class _Label:
    label: str


def exact(plan: "Plan", todo: list[MarginalValue] | None = None, *, workers: int | None = None,
          on_event: Callable[[str, Any], None] | None = None) -> list[MarginalValue]:
    """Exact marginal values: one MILP re-solve per capacity and binding portfolio limit.

    ``todo`` defaults to the plan's items with their LP estimates. ``workers`` defaults
    to one per core; inside a compare/frontier worker the re-solves run one after another.
    ``on_event`` gets ``("begin", [labels])`` and ``("done", payload.index)`` per re-solve.
    """
    from kamopt.runs import default_workers

    sol = plan.solution
    if todo is None:
        todo = plan.marginal or estimate(plan)
    if sol.assignment is None or sol.objective is None:
        return todo
    p = plan.problem
    out = list(todo)
    tasks: list[tuple[int, MarginalValue]] = []
    for i, mv in enumerate(out):
        if not relaxable(p, mv):
            out[i] = replace(mv, status="not_relaxable")
        elif mv.kind in ("portfolio_limits", "portfolio_shares") and not mv.binding:
            out[i] = replace(mv, status="not_binding")
        else:
            tasks.append((i, mv))
    notify = on_event or (lambda kind, payload: None)
    notify("begin", [_Label(mv.item) for _, mv in tasks])
    results = _run(tasks, (p, sol.assignment, plan.options), workers or default_workers(), notify)
    base_ok = sol.status == Status.OPTIMAL
    for i, mv in tasks:
        res = results[i]
        if res["objective"] is None:
            out[i] = replace(mv, status=res["status"])
            continue
        value = res["objective"] - sol.objective
        # relaxing never loses value, so the proven range starts at 0 at worst
        low = max(0.0, res["objective"] - sol.bound) if sol.bound is not None else None
        high = res["bound"] - sol.objective if res["bound"] is not None else None
        status = "optimal" if base_ok and res["status"] == Status.OPTIMAL.value else (
            res["status"] if res["status"] != Status.OPTIMAL.value else Status.FEASIBLE.value)
        out[i] = replace(mv, marginal_value=_clean(value), marginal_low=_clean(low), marginal_high=_clean(high),
                         status=status, objective=res["objective"], verified=res["verified"])
    return out


def _clean(v: float | None) -> float | None:
    """Round-off below a cent is noise: report 0, never -0.0."""
    if v is None:
        return None
    return 0.0 if abs(v) < 5e-3 else v


def attach(plan: "Plan", *, exact_values: bool | None = None, workers: int | None = None,
           on_event: Callable[[str, Any], None] | None = None) -> "Plan":
    """Give an optimised plan its marginal values (LP estimates; exact ones when asked,
    ``exact_values=None`` meaning as the policy's ``analysis.marginal_values.exact`` says)."""
    if plan.method != "optimal" or plan.solution.assignment is None:
        return plan
    plan.marginal = estimate(plan)
    if exact_values is None:
        exact_values = plan.loaded.policy.analysis.marginal_values.exact
    if exact_values:
        plan.marginal = exact(plan, plan.marginal, workers=workers, on_event=on_event)
    return plan


def marginal_values(plan: "Plan", *, workers: int | None = None,
                    on_event: Callable[[str, Any], None] | None = None) -> list[MarginalValue]:
    """Exact marginal values of a solved plan (re-solves in ``workers`` processes); they are
    also stored on the plan, so ``write_plan`` puts them into resources.csv and summary.json."""
    if plan.method != "optimal":
        raise ValueError("marginal values are computed for optimised plans (method 'optimal')")
    plan.marginal = exact(plan, plan.marginal or estimate(plan), workers=workers, on_event=on_event)
    return plan.marginal


# --------------------------------------------------------------------------- outputs
def resource_cells(plan: "Plan") -> dict[str, list[Any]]:
    """resources.csv row name -> its :data:`MARGINAL_COLUMNS` cells."""
    out: dict[str, list[Any]] = {}
    for mv in plan.marginal:
        cells = [mv.step if mv.unit != "slots" and mv.kind != "portfolio_limits" else int(mv.step), mv.unit,
                 mv.lp_estimate, mv.marginal_value, mv.marginal_low, mv.marginal_high, mv.status]
        for row in mv.rows:
            out[row] = cells
    return out


def summary_entries(plan: "Plan") -> list[dict[str, Any]]:
    """summary.json's ``marginal_values``: one entry per item, in item order."""
    return [mv.as_dict() for mv in plan.marginal]


def _show_step(mv: MarginalValue) -> str:
    sign = "+" if mv.direction > 0 else "-"
    if mv.unit == "share":
        return f"{sign}{mv.step * 100:g} pt"
    if mv.unit == "money":
        return f"{sign}{mv.step:,.0f}"
    return f"{sign}{mv.step:g} {mv.unit}"


def top_lines(plan: "Plan", top: int = 5) -> list[str]:
    """The most valuable items, one line each, for the printed summary."""
    cur = plan.loaded.policy.currency
    exact_known = any(mv.marginal_value is not None for mv in plan.marginal)

    def worth(mv: MarginalValue) -> float:
        v = mv.marginal_value if exact_known else mv.lp_estimate
        return v if v is not None else 0.0

    ranked = sorted((mv for mv in plan.marginal if worth(mv) > 0.5), key=lambda mv: (-worth(mv), mv.item))
    lines = []
    for mv in ranked[:top]:
        lp = "—" if mv.lp_estimate is None else f"{mv.lp_estimate:,.0f}"
        if exact_known:
            caveat = "" if mv.status == "optimal" else f", {mv.status}"
            text = f"{mv.marginal_value:,.0f} {cur} (LP estimate {lp}{caveat})"
        else:
            text = f"LP estimate {lp} {cur}"
        lines.append(f"{mv.item} {_show_step(mv)}: {text}")
    return lines


__all__ = ["MARGINAL_COLUMNS", "MarginalValue", "PricedLp", "attach", "estimate", "exact", "items", "lp_estimates",
           "marginal_values", "moved_problem", "plan_lp", "priced_lp", "resource_cells", "summary_entries",
           "top_lines"]
