"""Small helpers the report's sections share: a CSV cell as a number, a gap as a percentage,
a summary.json figure tied to its exact value, a section's frame, the plan's tier names."""

from __future__ import annotations

import json
from typing import Any

from kamopt.report.html_assets import esc, to_float
from kamopt.report.html_inputs import Row


def row_float(row: Row, key: str) -> float | None:
    """A CSV cell as a number; None for blanks and non-numbers."""
    return to_float(row.get(key))


def gap_text(gap: float | None) -> str:
    """A relative gap as a percentage (``0.01 %``), ``—`` when there is none."""
    return "—" if gap is None else f"{100 * gap:.3g} %"


def fact(key: str, value: Any, shown: str) -> str:
    """A number from summary.json with its exact value attached (``data-key``, ``data-value``), so
    tests and tools can check the page against the file."""
    return f'<span class="fact" data-key="{esc(key)}" data-value="{esc(json.dumps(value))}">{shown}</span>'


def section(sid: str, title: str, body: str, lead: str = "") -> str:
    """A page section: its anchor, heading, optional lead paragraph (markup) and body."""
    intro = f'<p class="lead">{lead}</p>' if lead else ""
    return f'<section id="{sid}"><h2>{esc(title)}</h2>{intro}{body}</section>'


def tier_names(s: dict[str, Any]) -> list[str]:
    """The policy's tiers, in summary.json's order."""
    return [str(t) for t in s["tiers"]]


def has_plan(s: dict[str, Any]) -> bool:
    """Whether the solve produced a plan (infeasible and timed-out solves have none)."""
    return s.get("objective") is not None


def percent_of(used: float | None, limit: float | None) -> float | None:
    """``used`` as a percentage of ``limit``; None without both or with a zero limit."""
    return 100.0 * used / limit if used is not None and limit else None
