"""What comes back from the optimiser (or the greedy baseline, or a hand-made plan).

An :class:`Assignment` is a plan as plain decisions: which tier each candidate account
gets, who serves and sponsors it, how many FTE each pool hires. It is what the verifier
checks, whatever produced it. A :class:`Solution` is an assignment plus the solver's
honest account of how good it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np


class Status(str, Enum):
    """How a solve ended. Never compare bare strings; never call a time-out infeasible."""

    OPTIMAL = "optimal"
    """Proven optimal within the requested relative gap."""
    FEASIBLE = "feasible"
    """A solution exists, but the solver stopped (time limit) before proving the gap."""
    INFEASIBLE = "infeasible"
    """Proven: no plan satisfies the hard rules."""
    TIME_LIMIT_NO_SOLUTION = "time_limit_no_solution"
    """Time limit reached before any solution was found (feasibility unknown)."""
    ERROR = "error"
    """The solver failed."""
    UNKNOWN = "unknown"
    """A solver status kamopt does not map; treated as a failure."""
    RULES_BROKEN = "rules_broken"
    """A plan that was not optimised (greedy baseline, hand-made plan) breaks hard rules;
    the verifier lists them. Never produced by a solver."""

    @property
    def has_solution(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE)


NEW_HIRE = "(new hire)"
"""Suffix of the KAM label given to accounts served by hired capacity: ``"EMEA (new hire)"``."""


@dataclass(frozen=True)
class Assignment:
    """A plan as decisions, aligned with ``Problem.account_ids`` and ``Problem.pools``."""

    tier: np.ndarray
    """int per account: tier index, or -1 when the account is not a key account."""
    hires: np.ndarray
    """int per pool: FTE hired."""
    kam: tuple[str, ...] = ()
    """Per account: named KAM id, ``"<pool> (new hire)"``, or ``""``. Empty tuple when
    the problem has no named KAMs (KAM capacity is planned per pool)."""
    sponsor: tuple[str, ...] = ()
    """Per account: sponsor id or ``""``. Empty tuple when the problem has no sponsors."""


@dataclass(frozen=True)
class ObjectiveParts:
    """The objective split into its parts (money, over the horizon)."""

    value: float
    """Sum of the NPV of every key account at its tier, including KAM fit bonuses."""
    hiring: float
    """Discounted cost of the hires over the horizon."""
    change_penalty: float
    """Stability penalty: change_penalty x accounts whose tier changed."""
    soft_penalty: float
    """Penalties paid for violated soft limits."""

    @property
    def total(self) -> float:
        return self.value - self.hiring - self.change_penalty - self.soft_penalty


@dataclass(frozen=True)
class Solution:
    """The optimiser's answer, with an honest status."""

    status: Status
    assignment: Assignment | None
    """None when there is no solution (infeasible, time limit without solution, error)."""
    objective: float | None = None
    """Net objective of the assignment (``ObjectiveParts.total``), without tie-break terms."""
    parts: ObjectiveParts | None = None
    bound: float | None = None
    """Best proven upper bound on the objective (same scale as ``objective``)."""
    gap: float | None = None
    """Relative gap ``(bound - objective) / max(1, |objective|)``."""
    solver: str = ""
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    violations: dict[str, float] = field(default_factory=dict)
    """Soft limit name -> amount of violation (in the limit's unit), only non-zero ones."""
    message: str = ""
    """The solver's own words when something went wrong."""
