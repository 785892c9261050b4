"""``kamopt report``: the executive report, one self-contained HTML page built from a plan folder.

The page is built from files alone — the folder ``kamopt solve --out`` wrote, and
optionally a ``kamopt compare`` and a ``kamopt frontier`` folder — so it can be made
long after the solve, on another machine, and it shows exactly what those files say:
the headline numbers are summary.json's, the tables are the CSVs' rows.

Sections: the status, stated honestly (optimal, feasible with its gap, infeasible with
the diagnosis, time limit without a plan); the headline (expected value, cost, key
accounts per tier, hires, changes); tier mix; utilisation per resource with marginal
values when the plan has them (summary.json's ``marginal_values``, resources.csv's marginal
columns), "not computed" otherwise; the sponsorship plan; changes from the current
portfolio; the portfolio (sortable, filterable); excluded accounts with reasons; the
scenario comparison and the frontier when given; and the fingerprints.

The page loads nothing: styles, script and charts (inline SVG) are in the file, and its
Content-Security-Policy blocks any network reference. Every text from the data is
HTML-escaped. The same folders give the same bytes (no clock, no paths).

Here: the page's assembly (:func:`render`) and writing (:func:`write_report`). The parts:
:mod:`~kamopt.report.html_inputs` reads and checks the folders;
:mod:`~kamopt.report.html_plan_sections`, :mod:`~kamopt.report.html_utilisation` and
:mod:`~kamopt.report.html_extra_sections` build the sections, with the helpers they share
in :mod:`~kamopt.report.html_format`; :mod:`~kamopt.report.html_assets` holds the styles,
script, tables and charts.
"""

from __future__ import annotations

from pathlib import Path

from kamopt.errors import Diagnostic, OutputError
from kamopt.report.html_assets import CSP, SCRIPT, STYLE, esc, number
from kamopt.report.html_extra_sections import about_section, compare_section, frontier_section
from kamopt.report.html_format import has_plan
from kamopt.report.html_inputs import Inputs, read_inputs
from kamopt.report.html_plan_sections import (
    changes_section,
    excluded_section,
    headline_section,
    portfolio_section,
    sponsorship_section,
    status_section,
    tier_section,
)
from kamopt.report.html_utilisation import utilisation_section
from kamopt.report.writers import make_parent, write_text_atomic


def render(inp: Inputs) -> str:
    """The whole page as text."""
    s = inp.summary
    title = f"Key account plan — {s.get('policy', 'kamopt')}"
    sub = []
    sc = s.get("scenario")
    if isinstance(sc, dict) and sc.get("name"):
        sub.append(f"scenario {sc['name']}" + (f": {sc['description']}" if sc.get("description") else ""))
    accounts = s.get("accounts")
    sub.append(f"{number(accounts) if isinstance(accounts, int) else '?'} accounts screened; "
               f"currency {s.get('currency', '')}")
    parts: list[tuple[str, str, str]] = []  # (anchor, menu label, html)
    parts.append(("status", "Status", status_section(s)))
    if has_plan(s):
        parts.append(("headline", "Headline", headline_section(s)))
        parts.append(("tiers", "Tier mix", tier_section(inp)))
        parts.append(("utilisation", "Utilisation", utilisation_section(inp)))
        parts.append(("sponsorship", "Sponsorship", sponsorship_section(inp)))
        parts.append(("changes", "Changes", changes_section(inp)))
        parts.append(("portfolio", "Portfolio", portfolio_section(inp)))
    parts.append(("excluded", "Excluded", excluded_section(inp)))
    if inp.compare is not None:
        parts.append(("scenarios", "Scenarios", compare_section(inp)))
    if inp.frontier is not None:
        parts.append(("frontier", "Frontier", frontier_section(inp)))
    parts.append(("about", "About", about_section(inp)))
    toc = "".join(f'<a href="#{a}">{esc(label)}</a>' for a, label, _ in parts)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="kamopt report">',
        f"<title>{esc(title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        f'<header class="top"><h1>{esc(title)}</h1><p>{esc(" · ".join(sub))}</p></header>',
        f'<nav class="toc" aria-label="Sections">{toc}</nav>',
        "<main>",
        *(html for _, _, html in parts),
        "</main>",
        f'<footer>kamopt report · policy {esc(str(s.get("policy_sha256", ""))[:12])} · data '
        f'{esc(str(s.get("data_sha256", ""))[:12])}</footer>',
        f"<script>{SCRIPT}</script>",
        "</body>",
        "</html>",
        "",
    ])


def check_output_file(out: Path, force: bool) -> None:
    """Fail before any work if ``out`` cannot receive the report (a folder; an existing file without force)."""
    if out.is_dir():
        raise OutputError(Diagnostic("is a folder; --out names the report file", file=str(out),
                                     hint="e.g. --out report.html"))
    if out.exists() and not force:
        raise OutputError(Diagnostic("the report file already exists", file=str(out),
                                     hint="use --force to replace it, or choose another --out"))
    make_parent(out)


def write_report(plan: str | Path, out: str | Path, *, compare: str | Path | None = None,
                 frontier: str | Path | None = None, force: bool = False) -> Path:
    """Build the report from the folders and write it to ``out`` atomically; returns ``out``."""
    out = Path(out)
    check_output_file(out, force)
    text = render(read_inputs(plan, compare, frontier))
    write_text_atomic(out, text)  # with the usual permissions of a new file: a report is made to be shared
    return out

