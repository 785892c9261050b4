"""The objective split over a few bounded value columns: how HiGHS gets a large model.

HiGHS propagates the objective as one long row against the value of its best plan. Its
rounding heuristics fix the integer columns one at a time and propagate after each fixing;
once the plan is good, each of those propagations scans every objective column, so one
rounding costs (integer columns) x (objective columns). ``perf`` on the 5,000-account
benchmark: 64 % of the first 3 s in that scan (the central rounding of the root node), and
most of the 20,000-account run inside the sub-MIPs' roundings.

Split: the binary columns with a cost are cut into ``k`` groups (in column order); each
group gets a continuous column ``value[g]`` and a row ``value_group[g]``:
``sum(cost_j x_j, j in g) - value[g] = 0``; the objective moves from the binaries to the
``value`` columns. The same problem, the same optimum, each plan the same objective.
HiGHS's presolve would substitute a ``value`` column straight back unless its bound says
more than its row does, so each gets the most its group can be worth in a relaxation
(:class:`GroupRelaxations`): the model without the other groups' columns, each row's bounds
widened by what those columns could add to it. These bounds (about 40 % below the group's
sum of values on the benchmark instances) are what makes the split pay: with bounds no
tighter than 95 % of the way to that sum, the time is the plain model's.

Measured on bare HiGHS (seeds 0-2) in bench/README.md. Only the HiGHS back end sees the
split (:func:`kamopt.model.solvers.run`); every other reader of the model (diagnosis,
estimates, explanations) sees the plain objective.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .linear import LinearModel

VALUE_GROUPS = 16
"""Groups of the split set by :func:`kamopt.model.build.build_model` (models without
named KAMs). 16 was best or level-best on every instance measured (8, 12, 16, 24, 32, 64
groups on 1,000 to 20,000 accounts); see bench/README.md."""

BOUND_MARGIN = 1e-6
"""Each group's bound is loosened by this share of the group's sum of absolute costs, so
that the LP's tolerances can never cut off a plan."""


def value_groups(model: LinearModel, k: int) -> list[np.ndarray]:
    """The columns of each group: binary columns with a nonzero cost, in column order, cut
    into ``min(k, their count)`` runs of near-equal length (none when ``k`` < 1)."""
    model.freeze()
    binary = model.integer & (model.lower >= 0.0) & (model.upper <= 1.0)
    cols = np.flatnonzero(binary & (model.cost != 0.0))
    if k < 1 or cols.size == 0:
        return []
    return [g for g in np.array_split(cols, min(k, cols.size)) if g.size]


@dataclass(frozen=True)
class GroupLp:
    """The LP that bounds one group's value: maximise ``cost . x`` over the columns kept
    (the group's and every column in no group, in model order)."""

    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    start: np.ndarray
    """The kept columns' matrix, compressed by column (rows keep their model index)."""
    index: np.ndarray
    value: np.ndarray


class GroupRelaxations:
    """The relaxation that bounds each group's value: the columns of the other groups are
    dropped, and each row's bounds widened by the least and the most those columns could add
    to it within their bounds. Every plan of the model keeps that LP's rows, so its optimum
    bounds the group's value in every plan. What all groups share (each column's least and
    most contribution to its rows, and their sums over every grouped column) is computed
    once; a group's own part is then taken back out."""

    def __init__(self, model: LinearModel, groups: list[np.ndarray]) -> None:
        self.model = model
        a = model.csc()
        self.per_col = np.diff(a.start)
        self.nz_col = np.repeat(np.arange(model.n_cols), self.per_col)
        lo, up = model.lower[self.nz_col], model.upper[self.nz_col]
        self.least = np.minimum(a.value * lo, a.value * up)
        self.most = np.maximum(a.value * lo, a.value * up)
        self.grouped = np.zeros(model.n_cols, dtype=bool)
        for g in groups:
            self.grouped[g] = True
        nz = self.grouped[self.nz_col]
        self.least_all = np.bincount(a.index[nz], weights=self.least[nz], minlength=model.n_rows)
        self.most_all = np.bincount(a.index[nz], weights=self.most[nz], minlength=model.n_rows)

    def lp(self, group: np.ndarray) -> GroupLp:
        """The LP of one group: maximise its value over its columns and every ungrouped one."""
        m, a = self.model, self.model.csc()
        mine = np.zeros(m.n_cols, dtype=bool)
        mine[group] = True
        nz_mine = mine[self.nz_col]
        rows = a.index[nz_mine]
        least = self.least_all - np.bincount(rows, weights=self.least[nz_mine], minlength=m.n_rows)
        most = self.most_all - np.bincount(rows, weights=self.most[nz_mine], minlength=m.n_rows)
        keep = ~self.grouped | mine
        cols = np.flatnonzero(keep)
        nz_keep = keep[self.nz_col]
        start = np.zeros(cols.size + 1, dtype=np.int64)
        np.cumsum(self.per_col[cols], out=start[1:])
        cost = np.zeros(cols.size)
        cost[np.searchsorted(cols, group)] = m.cost[group]
        return GroupLp(
            cost=cost, lower=m.lower[cols], upper=m.upper[cols],
            row_lower=m.row_lower - most, row_upper=m.row_upper - least,
            start=start, index=a.index[nz_keep], value=a.value[nz_keep],
        )


def group_bound(model: LinearModel, group: np.ndarray, relaxed_max: float | None) -> float:
    """Upper bound of ``value[g]``: the relaxation's optimum plus the margin, never above the
    group's own sum of positive costs (what its row implies); that sum when the relaxation
    gave no optimum."""
    cost = model.cost[group]
    implied = float(np.maximum(cost, 0.0).sum())
    if relaxed_max is None or not np.isfinite(relaxed_max):
        return implied
    return min(implied, relaxed_max + BOUND_MARGIN * max(1.0, float(np.abs(cost).sum())))


def group_values(model: LinearModel, groups: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """``value[g]`` of a column vector of the model (a MIP start extended to the split)."""
    x = np.asarray(x, dtype=float)
    return np.array([float(model.cost[g] @ x[g]) for g in groups])
