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


__all__ = ["AccountData", "LoadedPolicy", "Screening", "as_policy", "load_data", "load_policy", "screen"]
