"""kamopt's Python API: what the CLI calls, for notebooks and scripts.

    >>> import kamopt
    >>> policy = kamopt.load_policy("policies/default.yaml")
    >>> screening = kamopt.screen(policy)
    >>> plan = kamopt.solve(policy)              # optimise, verify, compare with greedy
    >>> kamopt.write_plan(plan, "out/plan")

Every function raises :class:`kamopt.KamoptError` (with located diagnostics) on bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from kamopt.data.accounts import AccountData, load_data
from kamopt.policy.loader import LoadedPolicy, load_policy
from kamopt.screening import Screening
from kamopt.screening import screen as _screen

PolicyLike = LoadedPolicy | str | Path


def as_policy(policy: PolicyLike, overrides: Sequence[str] = ()) -> LoadedPolicy:
    """A loaded policy from a path (applying ``overrides``) or an already loaded one."""
    if isinstance(policy, LoadedPolicy):
        if overrides:
            raise TypeError("overrides apply when loading: pass a path, or load_policy(path, overrides)")
        return policy
    return load_policy(policy, overrides)


def screen(policy: PolicyLike, data: AccountData | None = None) -> Screening:
    """Eligibility, scores, and each tier's value and needs for every account.

    ``data`` defaults to the tables named in the policy's ``data`` section.
    """
    loaded = as_policy(policy)
    return _screen(loaded, data if data is not None else load_data(loaded))


def solve(
    policy: PolicyLike,
    data: AccountData | None = None,
    *,
    method: str = "optimal",
    solver: str | None = None,
    time_limit: float | None = None,
    gap: float | None = None,
    threads: int | None = None,
    marginal_values: bool | None = None,
    workers: int | None = None,
):
    """Choose and staff the key-account portfolio. Returns a :class:`kamopt.plan.Plan`.

    The plan carries the solution with its honest status (``plan.status``), the
    independent verifier's report (``plan.check``), the greedy baseline, and, when the
    policy cannot be met, a diagnosis (``plan.diagnosis``). Solver settings default to
    the policy's ``solver`` section. ``plan.marginal`` holds the marginal value of every
    capacity and portfolio limit: LP estimates always, exact re-solved values with
    ``marginal_values=True`` (in ``workers`` processes; None: the policy's
    ``analysis.marginal_values.exact``).
    """
    from kamopt.plan import solve as _solve

    return _solve(as_policy(policy), data, method=method, solver=solver,
                  time_limit=time_limit, gap=gap, threads=threads,
                  marginal_values=marginal_values, workers=workers)


def marginal_values(plan, *, workers: int | None = None, on_event=None):
    """Exact marginal values of a solved plan: the MILP re-solved once per capacity (KAM pool
    FTE, sponsor slots, support hours, budget) and per binding portfolio limit, each moved
    one step (``analysis.marginal_values.steps``), in ``workers`` processes (default: one
    per core). Returns the :class:`kamopt.marginal.MarginalValue` list, also stored on the
    plan (``plan.marginal``) so ``write_plan`` puts it into resources.csv and summary.json.
    """
    from kamopt.marginal import marginal_values as _marginal_values

    return _marginal_values(plan, workers=workers, on_event=on_event)


def solve_alternatives(policy: PolicyLike, within: float | str = 0.01, count: int = 3, out: str | Path | None = None, *,
                 distance: str = "decisions", overrides: Sequence[str] = (), solver: dict | None = None,
                 force: bool = False, on_found=None):
    """Near-optimal alternatives: solve the policy, then find up to ``count`` portfolios whose
    objective is within ``within`` of the optimum (a share, ``0.01``, or text, ``"1%"``) and
    that differ from it and from each other as much as possible (``distance``: ``decisions``
    counts an account whose tier or membership differs, ``accounts`` membership only).

    Each alternative is checked by the independent verifier. With ``out``, writes the
    optimum's and each alternative's plan folder (``optimum``, ``alt-1``...),
    ``alternatives.csv`` and ``alternatives.json``. Returns a
    :class:`kamopt.alternatives.Alternatives` (``.found``: the optimum first;
    ``.stop_reason`` when fewer than ``count`` exist within the bound).
    """
    from kamopt.alternatives import find_alternatives, parse_within, write_alternatives
    from kamopt.plan import solve as _solve
    from kamopt.report.writers import check_output_dir

    share = parse_within(within)
    if out is not None:
        check_output_dir(Path(out), force)  # fail before the work, not after it
    loaded = as_policy(policy, overrides)
    optimum = _solve(loaded, marginal_values=False, **(solver or {}))
    result = find_alternatives(optimum, within=share, count=count, distance=distance, on_found=on_found)
    if out is not None:
        write_alternatives(result, out, force=force)
    return result


def check(policy: PolicyLike, plan: str | Path, *, hires: dict[str, int] | None = None,
          with_optimum: bool = False):
    """Verify a plan (a ``kamopt solve`` folder or a hand-made CSV) against a policy.

    Returns ``(checked, optimum)``: the checked plan (``checked.violations`` lists every
    broken rule by constraint name) and, with ``with_optimum``, the solved policy.
    """
    from kamopt.plan import check as _check

    return _check(as_policy(policy), Path(plan), hires=hires, with_optimum=with_optimum)


def explain_account(policy: PolicyLike, plan, account_id: str, *, exact: bool = True,
            tiers: Sequence[str] | None = None, gap: float | None = None, time_limit: float | None = None):
    """Why one account is in or out of a plan, and what it would take to change that.

    ``plan`` is a folder written by ``kamopt solve`` (read back as :func:`check` does), a
    hand-made plan CSV, or a :class:`kamopt.plan.Plan` (``policy`` is then ignored).
    Returns a :class:`kamopt.explain.Explanation` (data; ``kamopt.explain.explanation_lines``
    gives it in words): rules passed and failed, score and each criterion's part, value
    and needs per tier, the decision, the constraints that block a higher tier, the entry
    threshold per tier and, for an account that is in, the value lost if forced out.
    ``exact`` re-solves the MILP (relative gap ``gap``, default 1e-6 or the policy's if
    smaller, the policy's on models over 5,000 account-tier options; ``time_limit`` per
    solve, default the policy's capped at 30 s); ``exact=False`` gives the LP estimates of
    ``explanations.csv`` instead. An unknown ``account_id`` raises
    :class:`kamopt.KamoptError` with a did-you-mean.
    """
    from kamopt.explain import explain_account as _explain
    from kamopt.plan import Plan
    from kamopt.plan import check as _check

    if not isinstance(plan, Plan):
        plan, _ = _check(as_policy(policy), Path(plan))
    return _explain(plan, account_id, exact=exact, tiers=tiers, gap=gap, time_limit=time_limit)


def write_plan(plan, out: str | Path, *, force: bool = False) -> Path:
    """Write a plan's files (portfolio.csv, resources.csv, ..., summary.json) atomically."""
    from kamopt.report.plan_tables import write_plan as _write
    from kamopt.report.writers import output_folder

    with output_folder(Path(out), force) as folder:
        _write(plan, folder)
    return Path(out)


def write_screening(screening: Screening, out: str | Path, *, force: bool = False) -> Path:
    """Write screening.csv, excluded.csv and screening.json atomically."""
    from kamopt.report.screening_tables import write_screening as _write
    from kamopt.report.writers import output_folder

    with output_folder(Path(out), force) as folder:
        _write(screening, folder)
    return Path(out)


def compare(policy: str | Path, scenarios: Sequence[str | Path], out: str | Path, *,
            overrides: Sequence[str] = (), solver: dict | None = None, workers: int | None = None,
            force: bool = False, on_event=None):
    """Solve the base policy and each scenario file in parallel; write and return the comparison.

    Returns a :class:`kamopt.whatif.Comparison` (``.outcomes`` per run, base first;
    ``.interrupted`` when Ctrl-C stopped it). ``solver`` holds solver settings
    (``{"time_limit": 30}``); ``workers`` defaults to one per core.
    """
    from kamopt.whatif import compare as _compare

    return _compare(policy, scenarios, out, overrides=overrides, solver=solver, workers=workers,
                    force=force, on_event=on_event)


def frontier(policy: str | Path, path: str, values: Sequence[float], out: str | Path, *,
             overrides: Sequence[str] = (), solver: dict | None = None, workers: int | None = None,
             step_cost: float | None = None, force: bool = False, on_event=None):
    """Solve the policy once per value of the key ``path``; write and return the frontier.

    Returns a :class:`kamopt.sweep.Frontier` (``.outcomes`` per value,
    ``.recommendation`` with the rule that chose it). ``kamopt.sweep.parse_values``
    reads ``"20:70:5"``-style ranges.
    """
    from kamopt.sweep import frontier as _frontier

    return _frontier(policy, path, values, out, overrides=overrides, solver=solver, workers=workers,
                     step_cost=step_cost, force=force, on_event=on_event)


def write_report(plan_dir: str | Path, out: str | Path, *, compare: str | Path | None = None,
           frontier: str | Path | None = None, force: bool = False) -> Path:
    """Write the executive report: one self-contained HTML page, built from files alone.

    ``plan_dir`` is a folder written by ``kamopt solve`` (or by ``kamopt compare``: its
    base plan is reported, and the folder is the comparison unless ``compare`` names
    another). ``compare`` and ``frontier`` add the scenario table and the frontier chart
    from folders written by ``kamopt compare`` and ``kamopt frontier``. The page needs no
    network; the same folders give the same bytes. ``out`` (a file) is written atomically
    and replaced only with ``force``. Returns ``out``.
    """
    from kamopt.report.html import write_report

    return write_report(plan_dir, out, compare=compare, frontier=frontier, force=force)


__all__ = [
    "AccountData", "LoadedPolicy", "Screening", "as_policy", "check", "compare", "explain_account", "frontier",
    "load_data", "load_policy", "marginal_values", "screen", "solve", "solve_alternatives", "write_plan",
    "write_report", "write_screening",
]
