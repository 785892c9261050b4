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
):
    """Choose and staff the key-account portfolio. Returns a :class:`kamopt.plan.Plan`.

    The plan carries the solution with its honest status (``plan.status``), the
    independent verifier's report (``plan.check``), the greedy baseline, and, when the
    policy cannot be met, a diagnosis (``plan.diagnosis``). Solver settings default to
    the policy's ``solver`` section.
    """
    from kamopt.plan import solve as _solve

    return _solve(as_policy(policy), data, method=method, solver=solver,
                  time_limit=time_limit, gap=gap, threads=threads)


def check(policy: PolicyLike, plan: str | Path, *, hires: dict[str, int] | None = None,
          with_optimum: bool = False):
    """Verify a plan (a ``kamopt solve`` folder or a hand-made CSV) against a policy.

    Returns ``(checked, optimum)``: the checked plan (``checked.violations`` lists every
    broken rule by constraint name) and, with ``with_optimum``, the solved policy.
    """
    from kamopt.plan import check as _check

    return _check(as_policy(policy), Path(plan), hires=hires, with_optimum=with_optimum)


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


__all__ = ["AccountData", "LoadedPolicy", "Screening", "as_policy", "check", "compare", "frontier", "load_data",
           "load_policy", "screen", "solve", "write_plan", "write_screening"]
