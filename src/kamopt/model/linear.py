"""A solver-neutral sparse MILP (maximisation), built with vectorised adds.

:class:`LinearModel` holds columns (name, bounds, integrality, objective coefficient), rows
(name, bounds; equality = equal bounds; ``-inf``/``inf`` for a missing side) and the
constraint matrix as COO triplets collected while building. :meth:`LinearModel.freeze`
concatenates everything into numpy arrays and compressed column (CSC) / row (CSR) form,
which the solver layer hands to HiGHS in one call. Names are unique (asserted).

After freezing, the bound and cost arrays are plain numpy arrays that a caller working on a
:meth:`LinearModel.copy` may edit (the diagnosis does: it frees rows, fixes slacks and sets
its own objective). The sparsity pattern is shared between copies and never edited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

INF = float("inf")


@dataclass(frozen=True)
class Compressed:
    """A compressed sparse matrix: ``start`` (len major+1), ``index`` (minor), ``value``."""

    start: np.ndarray
    index: np.ndarray
    value: np.ndarray

    def slice(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Minor indices and values of major line ``i`` (a column of CSC, a row of CSR)."""
        a, b = self.start[i], self.start[i + 1]
        return self.index[a:b], self.value[a:b]


def _compress(major: np.ndarray, minor: np.ndarray, value: np.ndarray, n_major: int) -> Compressed:
    """Sort triplets by (major, minor), sum duplicates, drop zeros, and compress."""
    order = np.lexsort((minor, major))
    major, minor, value = major[order], minor[order], value[order]
    if major.size:
        new = np.ones(major.size, dtype=bool)
        new[1:] = (major[1:] != major[:-1]) | (minor[1:] != minor[:-1])
        firsts = np.flatnonzero(new)
        value = np.add.reduceat(value, firsts)
        major, minor = major[firsts], minor[firsts]
        keep = value != 0.0
        major, minor, value = major[keep], minor[keep], value[keep]
    start = np.zeros(n_major + 1, dtype=np.int64)
    np.cumsum(np.bincount(major, minlength=n_major), out=start[1:])
    return Compressed(start, minor.astype(np.int64), value.astype(np.float64))


class LinearModel:
    """A sparse mixed-integer linear model, maximised: ``max cost.x + constant``."""

    def __init__(self, name: str = "kamopt") -> None:
        self.name = name
        self.constant = 0.0
        """Objective constant (added to ``cost . x``)."""
        self.highs_options: dict[str, bool | int | float | str] = {}
        """HiGHS options this model is solved with, on top of kamopt's (set by the builder
        from measurements: :func:`kamopt.model.build.build_model`)."""
        self.value_groups = 0
        """Groups the HiGHS back end splits the objective into (0: none); see
        :mod:`kamopt.model.objective_split`. Set by the builder; copies keep it."""
        self.col_names: list[str] = []
        self.row_names: list[str] = []
        self._col_index: dict[str, int] = {}
        self._row_index: dict[str, int] = {}
        self._cols: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._rows: list[tuple[np.ndarray, np.ndarray]] = []
        self._coo: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._frozen = False
        self._csc: Compressed | None = None
        self._csr: Compressed | None = None

    # ------------------------------------------------------------------ building
    @property
    def n_cols(self) -> int:
        return len(self.col_names)

    @property
    def n_rows(self) -> int:
        return len(self.row_names)

    def add_columns(
        self,
        names: Sequence[str],
        lb: float | np.ndarray,
        ub: float | np.ndarray,
        integer: bool | np.ndarray,
        cost: float | np.ndarray,
    ) -> np.ndarray:
        """Add ``len(names)`` columns; scalars broadcast. Returns their indices."""
        self._thaw()
        n = len(names)
        first = self.n_cols
        for k, name in enumerate(names):
            assert name not in self._col_index, f"duplicate column name {name!r}"
            self._col_index[name] = first + k
        self.col_names.extend(names)
        self._cols.append(
            (
                np.broadcast_to(np.asarray(lb, dtype=float), (n,)).copy(),
                np.broadcast_to(np.asarray(ub, dtype=float), (n,)).copy(),
                np.broadcast_to(np.asarray(integer, dtype=bool), (n,)).copy(),
                np.broadcast_to(np.asarray(cost, dtype=float), (n,)).copy(),
            )
        )
        return np.arange(first, first + n, dtype=np.int64)

    def add_row(
        self,
        name: str,
        cols: Iterable[int] | np.ndarray,
        coefs: float | Iterable[float] | np.ndarray,
        lo: float = -INF,
        hi: float = INF,
    ) -> int:
        """Add one row ``lo <= sum(coefs * x[cols]) <= hi``; returns its index."""
        cols = np.asarray(list(cols) if not isinstance(cols, np.ndarray) else cols, dtype=np.int64)
        coefs = np.broadcast_to(np.asarray(coefs, dtype=float), cols.shape)
        return int(
            self.add_rows([name], [lo], [hi], np.zeros(cols.size, dtype=np.int64), cols, coefs)[0]
        )

    def add_rows(
        self,
        names: Sequence[str],
        lo: float | np.ndarray | Sequence[float],
        hi: float | np.ndarray | Sequence[float],
        row: np.ndarray,
        col: np.ndarray,
        coef: float | np.ndarray,
    ) -> np.ndarray:
        """Add ``len(names)`` rows at once.

        The matrix entries are triplets: ``row`` is the position within ``names`` (0-based),
        ``col`` the column index, ``coef`` the coefficient (scalar broadcasts). Duplicate
        (row, col) entries are summed. Returns the new row indices.
        """
        self._thaw()
        n = len(names)
        first = self.n_rows
        for k, name in enumerate(names):
            assert name not in self._row_index, f"duplicate row name {name!r}"
            self._row_index[name] = first + k
        self.row_names.extend(names)
        row = np.asarray(row, dtype=np.int64)
        col = np.asarray(col, dtype=np.int64)
        assert row.shape == col.shape
        assert row.size == 0 or (row.min() >= 0 and row.max() < n)
        self._rows.append(
            (
                np.broadcast_to(np.asarray(lo, dtype=float), (n,)).copy(),
                np.broadcast_to(np.asarray(hi, dtype=float), (n,)).copy(),
            )
        )
        self._coo.append(
            (row + first, col, np.broadcast_to(np.asarray(coef, dtype=float), row.shape).copy())
        )
        return np.arange(first, first + n, dtype=np.int64)

    def add_entries(self, row: np.ndarray, col: np.ndarray, coef: float | np.ndarray) -> None:
        """Add matrix entries to existing rows (global row and column indices)."""
        self._thaw()
        row = np.asarray(row, dtype=np.int64)
        col = np.asarray(col, dtype=np.int64)
        self._coo.append((row, col, np.broadcast_to(np.asarray(coef, dtype=float), row.shape).copy()))

    def col(self, name: str) -> int:
        """Index of a column by name (KeyError when unknown)."""
        return self._col_index[name]

    def row(self, name: str) -> int:
        """Index of a row by name (KeyError when unknown)."""
        return self._row_index[name]

    def has_row(self, name: str) -> bool:
        return name in self._row_index

    # ------------------------------------------------------------------ frozen form
    def _thaw(self) -> None:
        assert not getattr(self, "_copied", False), "cannot add to a copied model"
        self._frozen = False
        self._csc = self._csr = None

    def freeze(self) -> "LinearModel":
        """Concatenate the pieces into arrays (idempotent). Returns ``self``."""
        if self._frozen:
            return self
        if self._cols:
            parts = list(zip(*self._cols))
            self.lower, self.upper, self.integer, self.cost = (np.concatenate(p) for p in parts)
        else:
            self.lower = self.upper = self.cost = np.zeros(0)
            self.integer = np.zeros(0, dtype=bool)
        self._cols = [(self.lower, self.upper, self.integer, self.cost)]
        if self._rows:
            los, his = zip(*self._rows)
            self.row_lower, self.row_upper = np.concatenate(los), np.concatenate(his)
        else:
            self.row_lower = self.row_upper = np.zeros(0)
        self._rows = [(self.row_lower, self.row_upper)]
        if self._coo:
            r, c, v = (np.concatenate(p) for p in zip(*self._coo))
        else:
            r = c = np.zeros(0, dtype=np.int64)
            v = np.zeros(0)
        self._coo = [(r, c, v)]
        self._frozen = True
        return self

    def csc(self) -> Compressed:
        """The matrix by column: ``start`` has ``n_cols + 1`` entries, ``index`` are rows."""
        self.freeze()
        if self._csc is None:
            r, c, v = self._coo[0]
            self._csc = _compress(c, r, v, self.n_cols)
        return self._csc

    def csr(self) -> Compressed:
        """The matrix by row: ``start`` has ``n_rows + 1`` entries, ``index`` are columns."""
        self.freeze()
        if self._csr is None:
            r, c, v = self._coo[0]
            self._csr = _compress(r, c, v, self.n_rows)
        return self._csr

    def row_entries(self, name_or_index: str | int) -> tuple[np.ndarray, np.ndarray]:
        """Column indices and coefficients of one row."""
        i = self.row(name_or_index) if isinstance(name_or_index, str) else name_or_index
        return self.csr().slice(i)

    def activity(self, x: np.ndarray) -> np.ndarray:
        """Row activities ``A @ x``."""
        a = self.csr()
        out = np.zeros(self.n_rows)
        if a.value.size:
            rows = np.repeat(np.arange(self.n_rows), np.diff(a.start))
            np.add.at(out, rows, a.value * np.asarray(x, dtype=float)[a.index])
        return out

    def objective_value(self, x: np.ndarray) -> float:
        self.freeze()
        return float(self.cost @ np.asarray(x, dtype=float) + self.constant)

    def restricts(self, other: "LinearModel") -> bool:
        """Whether this model is ``other`` with tighter (or equal) bounds only: the same
        columns, rows, matrix, costs, constant and integrality, every column and row bound
        inside ``other``'s. Then every plan feasible here is feasible there with the same
        objective, so ``other``'s proven bound holds here too."""
        self.freeze()
        other.freeze()
        if (self.col_names != other.col_names or self.row_names != other.row_names
                or self.constant != other.constant or not np.array_equal(self.cost, other.cost)
                or not np.array_equal(self.integer, other.integer)):
            return False
        mine, theirs = self.csc(), other.csc()
        if not (np.array_equal(mine.start, theirs.start) and np.array_equal(mine.index, theirs.index)
                and np.array_equal(mine.value, theirs.value)):
            return False
        return bool(np.all(self.lower >= other.lower) and np.all(self.upper <= other.upper)
                    and np.all(self.row_lower >= other.row_lower) and np.all(self.row_upper <= other.row_upper))

    def copy(self) -> "LinearModel":
        """A frozen copy whose bounds and costs may be edited; the matrix is shared."""
        self.freeze()
        self.csc()
        self.csr()
        other = LinearModel.__new__(LinearModel)
        other.__dict__.update(self.__dict__)
        other.highs_options = dict(self.highs_options)
        other.lower, other.upper = self.lower.copy(), self.upper.copy()
        other.integer, other.cost = self.integer.copy(), self.cost.copy()
        other.row_lower, other.row_upper = self.row_lower.copy(), self.row_upper.copy()
        other._cols = [(other.lower, other.upper, other.integer, other.cost)]
        other._rows = [(other.row_lower, other.row_upper)]
        other._copied = True
        return other
