"""kamopt's own errors: every user-facing failure names where it happened and what was wrong.

A :class:`Diagnostic` is one located problem (file, line, column, field, expected, found).
A :class:`KamoptError` carries one or more diagnostics and the process exit code the CLI
uses. Library code raises these; the CLI prints them without a traceback.

Exit codes (also documented in the README):

====  =====================================================
0     solved (or command succeeded)
1     usage error (click)
2     invalid input: policy, data, expression, output folder
3     infeasible policy
4     time limit reached without a solution
5     solver error
6     the plan breaks hard rules (``check``; ``solve --method greedy``)
====  =====================================================
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

EXIT_OK = 0
EXIT_USAGE = 1
EXIT_INVALID_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_TIME_LIMIT = 4
EXIT_SOLVER_ERROR = 5
EXIT_RULES_BROKEN = 6


@dataclass(frozen=True)
class Diagnostic:
    """One located problem, in plain words."""

    message: str
    """What is wrong."""
    file: str | None = None
    """The file it is in (policy, data table, plan)."""
    line: int | None = None
    """1-based line in the file (for data tables: the file line where the row starts)."""
    column: int | None = None
    """1-based character column (in the file, or in the expression text)."""
    field: str | None = None
    """The policy key path (``tiers.gold.uplift``) or data column (``revenue``)."""
    expected: str | None = None
    """What was expected, in words."""
    found: str | None = None
    """What was found, shown as text."""
    hint: str | None = None
    """A suggestion, e.g. ``did you mean 'tiers'?``."""

    def located(self, **where: object) -> "Diagnostic":
        """A copy with location fields filled in where they are still empty."""
        updates = {k: v for k, v in where.items() if getattr(self, k) is None and v is not None}
        return replace(self, **updates) if updates else self

    def __str__(self) -> str:
        place = ""
        if self.file:
            place = self.file
            if self.line is not None:
                place += f":{self.line}"
                if self.column is not None:
                    place += f":{self.column}"
            place += ": "
        text = place
        if self.field:
            text += f"{self.field}: "
        text += self.message
        details = []
        if self.expected is not None:
            details.append(f"expected {self.expected}")
        if self.found is not None:
            details.append(f"found {self.found}")
        if details:
            text += f" ({', '.join(details)})"
        if self.hint:
            text += f"; {self.hint}"
        return text


class KamoptError(Exception):
    """Base of every error kamopt raises on purpose. Holds one or more diagnostics."""

    exit_code: int = EXIT_INVALID_INPUT
    kind: str = "error"

    def __init__(self, diagnostics: Diagnostic | str | Iterable[Diagnostic], **where: object):
        if isinstance(diagnostics, str):
            diagnostics = [Diagnostic(diagnostics)]
        elif isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: list[Diagnostic] = [d.located(**where) for d in diagnostics]
        super().__init__(self.render())

    def render(self) -> str:
        """All diagnostics, one per line."""
        return "\n".join(str(d) for d in self.diagnostics)

    def located(self, **where: object) -> "KamoptError":
        """The same error with missing location fields filled in (file, line, field...)."""
        return type(self)([d.located(**where) for d in self.diagnostics])


class PolicyError(KamoptError):
    """The policy file (or a scenario overlay / --set override) is not valid."""

    kind = "policy error"


class DataError(KamoptError):
    """A data table (accounts, KAMs, fit, plan) is missing, unreadable or has bad values."""

    kind = "data error"


class ExpressionError(KamoptError):
    """A safe expression failed to parse, type-check or evaluate.

    ``rows`` (0-based row indices into the evaluated table) is set when evaluation failed
    on particular rows, so the caller can name the accounts and file lines.
    """

    kind = "expression error"

    def __init__(self, diagnostics, rows: Sequence[int] = (), **where: object):
        super().__init__(diagnostics, **where)
        self.rows: tuple[int, ...] = tuple(rows)

    def located(self, **where: object) -> "ExpressionError":
        return ExpressionError([d.located(**where) for d in self.diagnostics], rows=self.rows)


class OutputError(KamoptError):
    """An output folder or file cannot be written (exists without --force, not writable...)."""

    kind = "output error"


class SolverError(KamoptError):
    """The solver is missing or failed; never used for infeasibility or time-outs."""

    kind = "solver error"
    exit_code = EXIT_SOLVER_ERROR


class SolverUnavailable(SolverError):
    """The chosen solver is not installed here: a choice the user can change (exit 2)."""

    exit_code = EXIT_INVALID_INPUT


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """``did you mean 'x'?`` for the closest choice, or ``None`` when nothing is close."""
    close = difflib.get_close_matches(str(word), sorted(set(map(str, choices))), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def one_of(choices: Iterable[str], limit: int = 30) -> str:
    """A readable list of valid choices: ``one of 'a', 'b', 'c'``."""
    items = sorted(set(map(str, choices)))
    shown = ", ".join(f"'{c}'" for c in items[:limit])
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return f"one of {shown}{more}" if items else "nothing (none are defined)"


def short(value: object, limit: int = 60) -> str:
    """A value shown in a message: repr-like, cut to ``limit`` characters."""
    text = repr(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
