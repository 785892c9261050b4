"""Excel workbooks: the planners' plan.xlsx, and any tables a command wants in one file.

A :class:`Sheet` is a table (name, header, rows) like the ones the CSVs hold, and
:func:`workbook_bytes` turns a list of them into one .xlsx file::

    workbook_bytes(plan_sheets(plan) + [Sheet("Scenarios", header, rows)])

Every sheet gets the same treatment:

* a bold, filled header row, frozen (``A2``), with an autofilter over the table;
* number formats per column, inferred from the column name (:func:`column_format`) unless
  ``Sheet.formats`` says otherwise; one cell can carry its own format (:class:`Formatted`);
* column widths from the longest text in each column, capped at 60 characters;
* **formula injection**: text is neutralised exactly as in the CSVs (:func:`safe_text`, a
  leading apostrophe before ``=``, ``+``, ``-``, ``@``, tab or CR) and stored as a string
  cell, never a formula; numbers stay numeric cells;
* **deterministic bytes**: openpyxl stamps the save time into ``docProps/core.xml`` and into
  every zip entry; both are replaced by fixed dates, so the same tables give the same file.

Sheets are streamed with openpyxl's write-only mode, about a fifth faster than building
them in memory with the same formatting (a 20,000-row portfolio sheet: ~4.3 s against
~5.4 s on a 2-core machine; openpyxl's own XML writing is ~3 s of it). Styles go on
``WriteOnlyCell`` objects, made only where a cell needs one; widths, panes and the filter
are set before the first row, as streaming requires.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator, Mapping, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.xml.functions import tostring

from kamopt.plan import Plan
from kamopt.report.plan_tables import portfolio_table, resources_table, summary
from kamopt.report.resourcing_tables import hiring_table, sponsorship_table, support_table
from kamopt.report.screening_tables import excluded_table
from kamopt.report.writers import safe_text

MONEY = "#,##0"
HOURS = "#,##0.0"
FTE = "0.0"
PCT = "0.0"
"""Percentage points (85.3 means 85.3 %), as the CSVs' ``*_pct`` columns hold them."""
PERCENT = "0.0%"
"""A real percent cell: the value is a fraction (0.853 shows as 85.3%)."""
COUNT = "0"
SCORE = "0.00"

MAX_WIDTH = 60
"""Widest column, in characters: a long note runs past its column rather than push the table away."""
MAX_TEXT = 32_767
"""Longest text Excel keeps in one cell."""
FIXED_DATE = datetime(2000, 1, 1)
"""Created/modified date written into every workbook (the real time would change the bytes)."""
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
"""Time stamp of every zip entry (the earliest a zip can hold)."""

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_BAD_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")

_MONEY_WORDS = {"value", "cost", "objective", "budget", "bound", "npv"}
_COUNT_WORDS = {"hires", "slots", "accounts", "kams", "count", "candidates", "excluded"}


def column_format(column: str) -> str | None:
    """The number format a column gets from its name (words split on ``_``), first match wins:
    ends in ``pct`` -> :data:`PCT`; ``hours`` -> :data:`HOURS`; ``fte`` -> :data:`FTE`;
    ``score`` -> :data:`SCORE`; ``value``, ``cost``, ``objective``, ``budget``, ``bound``,
    ``npv`` -> :data:`MONEY`; ``hires``, ``slots``, ``accounts``, ``kams``, ``count``,
    ``candidates``, ``excluded`` -> :data:`COUNT`; anything else: None (Excel's General)."""
    words = column.lower().split("_")
    if words[-1] == "pct":
        return PCT
    for word, fmt in (("hours", HOURS), ("fte", FTE), ("score", SCORE)):
        if word in words:
            return fmt
    if _MONEY_WORDS.intersection(words):
        return MONEY
    if _COUNT_WORDS.intersection(words):
        return COUNT
    return None


@dataclass(frozen=True)
class Formatted:
    """A cell value with its own number format, for tables whose columns mix units (Summary)."""

    value: Any
    number_format: str


@dataclass
class Sheet:
    """One worksheet: a table with a header row.

    Cells may be text, numbers (numpy scalars too), booleans, None or ``""`` (empty), or a
    :class:`Formatted` value. Non-finite numbers are written as empty cells, like the CSVs.
    """

    name: str
    """Sheet tab name: 1-31 characters, none of ``[ ] : * ? / \\``, no apostrophe at either end."""
    header: Sequence[str]
    rows: Sequence[Sequence[Any]]
    formats: Mapping[str, str | None] = field(default_factory=dict)
    """Column name -> number format, overriding :func:`column_format` (None = General)."""

    def __post_init__(self) -> None:
        n = self.name
        if not n or len(n) > 31 or _BAD_SHEET_NAME.search(n) or n.startswith("'") or n.endswith("'"):
            raise ValueError(f"invalid sheet name {n!r}: 1-31 characters, none of [ ] : * ? / \\, "
                             "no apostrophe at either end")

    def column_formats(self) -> list[str | None]:
        return [self.formats[c] if c in self.formats else column_format(c) for c in self.header]


def workbook_bytes(sheets: Sequence[Sheet]) -> bytes:
    """An .xlsx file holding the sheets, in order; the same sheets always give the same bytes."""
    seen: set[str] = set()
    for sheet in sheets:
        if sheet.name.lower() in seen:
            raise ValueError(f"two sheets named {sheet.name!r} (Excel ignores case)")
        seen.add(sheet.name.lower())
    wb = Workbook(write_only=True)
    wb.properties.creator = "kamopt"
    wb.properties.created = FIXED_DATE
    for sheet in sheets:
        _write_sheet(wb, sheet)
    buf = io.BytesIO()
    wb.save(buf)
    wb.properties.modified = FIXED_DATE  # save() stamped the current time
    return _fixed_zip(buf.getvalue(), {"docProps/core.xml": tostring(wb.properties.to_tree())})


def _write_sheet(wb: Workbook, sheet: Sheet) -> None:
    """Stream one sheet: widths, panes and filter first (write-only sheets need them before
    any row), then the header and the rows."""
    ws = wb.create_sheet(sheet.name)
    formats = sheet.column_formats()
    widths = [len(str(h)) + 3 for h in sheet.header]  # room for the filter button
    rows = [[_value(c) for c in row] for row in sheet.rows]
    for row in rows:
        for j, value in enumerate(row):
            if value is not None:
                widths[j] = max(widths[j], _shown_width(value, formats[j]))
    for j, width in enumerate(widths):
        ws.column_dimensions[get_column_letter(j + 1)].width = min(MAX_WIDTH, width + 2)
    ws.freeze_panes = "A2"
    if sheet.header:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(sheet.header))}{len(rows) + 1}"
    ws.append([_header_cell(ws, h) for h in sheet.header])
    templates = [_styled(ws, value=None, number_format=fmt) if fmt else None for fmt in formats]
    for row in rows:
        ws.append(_cells(ws, row, templates))


def _text(value: Any) -> str:
    """Text as the CSVs write it (neutralised), minus what XML cannot hold: control
    characters become U+FFFD, and text past Excel's cell limit is cut."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", safe_text(str(value)))[:MAX_TEXT]


def _value(value: Any) -> Any:
    """A table cell made plain: numpy scalars unwrapped, blanks and non-finite numbers to None,
    text neutralised. :class:`Formatted` keeps its format around the plain value."""
    if isinstance(value, Formatted):
        inner = _value(value.value)
        return None if inner is None else Formatted(inner, value.number_format)
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else None
    text = _text(value)
    return text or None


def _shown_width(value: Any, fmt: str | None) -> int:
    """About how many characters a cell shows (enough to size its column)."""
    if isinstance(value, Formatted):
        value, fmt = value.value, value.number_format
    if isinstance(value, str):
        return len(value)
    if isinstance(value, bool):
        return 5
    spec = {MONEY: ",.0f", COUNT: ",.0f", HOURS: ",.1f", PCT: ".1f", SCORE: ".2f", PERCENT: ".1%"}
    return len(format(value, spec.get(fmt, ".10g")))


def _header_cell(ws: Any, text: str) -> WriteOnlyCell:
    cell = _styled(ws, _text(text))
    cell.font = HEADER_FONT
    cell.fill = HEADER_FILL
    return cell


def _styled(ws: Any, value: Any, number_format: str | None = None) -> WriteOnlyCell:
    """A cell that carries a style (text cells are marked string explicitly)."""
    cell = WriteOnlyCell(ws, value)
    if isinstance(value, str):
        cell.data_type = "s"
    if number_format:
        cell.number_format = number_format
    return cell


def _cells(ws: Any, row: Sequence[Any], templates: Sequence[WriteOnlyCell | None]) -> Iterator[Any]:
    """One row to stream, as plain values where no style is needed.

    * Text is always a string cell: after :func:`safe_text` it cannot start with ``=``, and
      cells that were neutralised are marked string explicitly all the same.
    * A number in a formatted column reuses that column's styled template cell: a write-only
      sheet writes each cell as it is yielded, so one template per column serves every row
      (a new styled cell per number costs a fifth of the time on a large portfolio).
    """
    for value, template in zip(row, templates):
        if isinstance(value, Formatted):  # rare: a template of its own
            value, template = value.value, _styled(ws, None, value.number_format)
        if isinstance(value, str):
            yield _styled(ws, value) if value.startswith("'") else value
        elif template is None or value is None or isinstance(value, bool):
            yield value
        else:
            template.value = value
            yield template


def _fixed_zip(data: bytes, replace: Mapping[str, bytes]) -> bytes:
    """The zip again, entries in the same order and compression, with fixed time stamps and
    permissions (and the given entries' contents replaced)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            fixed.compress_type = info.compress_type
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, replace.get(info.filename, src.read(info)))
    return out.getvalue()


# --------------------------------------------------------------------------- the plan workbook
PLAN_SHEETS = ("Summary", "Portfolio", "Resources", "Hiring", "Sponsorship", "Support", "Excluded")


def plan_sheets(plan: Plan) -> list[Sheet]:
    """The planners' workbook: the headline figures, then each plan CSV as a sheet."""
    return [
        summary_sheet(plan),
        Sheet("Portfolio", *portfolio_table(plan)),
        Sheet("Resources", *resources_table(plan)),
        Sheet("Hiring", *hiring_table(plan)),
        Sheet("Sponsorship", *sponsorship_table(plan)),
        Sheet("Support", *support_table(plan)),
        Sheet("Excluded", *excluded_table(plan.screening)),
    ]


def summary_sheet(plan: Plan) -> Sheet:
    """Item / value pairs from summary.json, each value with the format its unit needs.

    Run times are left out (they are in summary.json) so the workbook is byte-identical
    for the same inputs."""
    info = summary(plan)
    cur = info["currency"]

    def fraction(pct: float | None) -> float | None:
        return None if pct is None else pct / 100.0

    hires = info["hires"]
    soft = "; ".join(f"{name} by {amount:g}" for name, amount in info["soft_violations"].items())
    rows: list[list[Any]] = [
        ["policy", info["policy"]],
        ["status", info["status"]],
        ["method", info["method"]],
        [f"objective ({cur})", Formatted(info["objective"], MONEY)],
        [f"bound ({cur})", Formatted(info["bound"], MONEY)],
        ["gap", Formatted(info["gap"], "0.000%")],
        ["solver", info["solver"]],
        ["accounts", Formatted(info["accounts"], COUNT)],
        ["candidates", Formatted(info["candidates"], COUNT)],
        ["key accounts", Formatted(info["key_accounts"], COUNT)],
        *([f"key accounts: {tier}", Formatted(n, COUNT)] for tier, n in info["tiers"].items()),
        *([f"changes: {change}", Formatted(n, COUNT)] for change, n in info["changes"].items()),
        ["hires (FTE)", Formatted(sum(hires.values()), COUNT)],
        *([f"hires: {pool}", Formatted(n, COUNT)] for pool, n in hires.items() if n),
        [f"annual cost ({cur})", Formatted(info["annual_cost"], MONEY)],
        [f"budget ({cur})", Formatted(info["budget"], MONEY)],
        [f"greedy objective ({cur})", Formatted(info["greedy_objective"], MONEY)],
        ["greedy feasible", info["greedy_feasible"]],
        ["optimum vs greedy", Formatted(fraction(info["optimum_vs_greedy_pct"]), PERCENT)],
        ["verified", info["verified"]],
        ["rules broken", Formatted(len(info["violations"]), COUNT)],
        ["soft limits broken", soft],
        ["scenario", (info["scenario"] or {}).get("name", "")],
        ["policy changes", "; ".join(info["overrides"])],
        ["data changes", "; ".join(info["data_adjustments"])],
        ["policy sha256", info["policy_sha256"]],
        ["data sha256", info["data_sha256"]],
        ["kamopt version", info["kamopt_version"]],
    ]
    return Sheet("Summary", ["item", "value"], rows, formats={"value": None})
