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
* **deterministic bytes**: fixed dates in ``docProps/core.xml`` and on every zip entry, a
  fixed entry order: the same tables give the same file.

The file is written directly, not through openpyxl: the SpreadsheetML parts are built as
text and zipped. openpyxl spent ~20 µs a cell on its cell objects and XML serialisation
(a 20,000-row, 15-column sheet: ~7 s, against ~0.8 s here, a third of it compression) and
a few tenths of a second just to import. The package holds only what Excel needs to open
it as written:

* ``[Content_Types].xml``, ``_rels/.rels``, ``docProps/core.xml`` (creator, fixed dates),
  ``docProps/app.xml``, ``xl/workbook.xml`` (sheet list, and the hidden
  ``_xlnm._FilterDatabase`` name Excel keeps for each autofilter), ``xl/_rels/workbook.xml.rels``;
* ``xl/styles.xml``: Calibri 11 and its bold, the two fills Excel requires plus the header's
  light blue, and one cell format per (number format, header) pair the sheets use; custom
  number formats get ids from 164, the built-in ones keep theirs;
* ``xl/sharedStrings.xml``: each distinct text once (tier names, pools and statuses repeat on
  every row), which keeps the file small and escapes each text only once;
* ``xl/worksheets/sheetN.xml``: the frozen pane, column widths, the cells and the autofilter.
  Numbers are written with ``repr`` so they read back exactly; booleans are ``t="b"`` cells.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, Sequence

from kamopt.data.table import column_letter
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

HEADER_FILL = "DDEBF7"
"""Background of the header row (RGB)."""
_BAD_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")
_ILLEGAL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
"""Characters XML 1.0 cannot hold: control characters (openpyxl's ``ILLEGAL_CHARACTERS_RE``),
the non-characters U+FFFE/U+FFFF and lone surrogates (which UTF-8 cannot even encode)."""

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
    book = _Book()
    worksheets = [book.sheet_xml(sheet, selected=i == 0) for i, sheet in enumerate(sheets)]
    n = len(sheets)
    parts = {
        "[Content_Types].xml": _content_types(n, shared_strings=bool(book.strings)),
        "_rels/.rels": _ROOT_RELS,
        "docProps/app.xml": _APP,
        "docProps/core.xml": _core(),
        "xl/workbook.xml": _workbook(sheets),
        "xl/_rels/workbook.xml.rels": _workbook_rels(n, shared_strings=bool(book.strings)),
        "xl/styles.xml": book.styles_xml(),
    }
    if book.strings:
        parts["xl/sharedStrings.xml"] = book.shared_strings_xml()
    for i, xml in enumerate(worksheets, start=1):
        parts[f"xl/worksheets/sheet{i}.xml"] = xml
    return _zip(parts)


# --------------------------------------------------------------------------- cell values
def _text(value: Any) -> str:
    """Text as the CSVs write it (neutralised), minus what XML cannot hold: control
    characters become U+FFFD, and text past Excel's cell limit is cut."""
    return _ILLEGAL_CHARACTERS.sub("\ufffd", safe_text(str(value)))[:MAX_TEXT]


def _plain(value: Any) -> Any:
    """A number as Python's own int or float (numpy scalars unwrapped, subclasses such as
    IntEnum dropped); other values as they are."""
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


_WIDTH_SPECS = {MONEY: ",.0f", COUNT: ",.0f", HOURS: ",.1f", PCT: ".1f", SCORE: ".2f", PERCENT: ".1%"}
"""How a number shows in each format, near enough to size its column (others: ``.10g``).
A column is as wide as its longest text or number so shown; a boolean counts 5."""


# --------------------------------------------------------------------------- XML text
def _escape(text: str) -> str:
    """Text for an XML element (``&``, ``<``, ``>`` escaped)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(text: str) -> str:
    """Text for a double-quoted XML attribute."""
    return _escape(text).replace('"', "&quot;")


_EXCEL_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")


def _string_item(text: str) -> str:
    """One shared string. Excel reads ``_xHHHH_`` in a string as the character HHHH, so a
    literal one gets its underscore escaped (``_x005F_``) and shows as written."""
    if "_x" in text:
        text = _EXCEL_ESCAPE.sub(r"_x005F_\1", text)
    return f'<si><t xml:space="preserve">{_escape(text)}</t></si>'


def _table_corner(sheet: Sheet) -> tuple[str, int] | None:
    """Column and row of the table's bottom-right cell, or None for a sheet without columns."""
    return (column_letter(len(sheet.header)), len(sheet.rows) + 1) if sheet.header else None


_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9, "0.00%": 10,
                    "0.00E+00": 11, "@": 49}
"""Number formats Excel knows by id: they need no entry in styles.xml."""
_FIRST_CUSTOM_FORMAT = 164


# --------------------------------------------------------------------------- sheets, strings, styles
class _Book:
    """What the sheets of one workbook share: the string table and the cell formats.

    Both are numbered in order of first use, so the same sheets give the same numbers."""

    def __init__(self) -> None:
        self.strings: dict[str, int] = {}
        """Shared text -> its index in sharedStrings.xml."""
        self.string_cells = 0
        self._texts: dict[str, tuple[str, int]] = {}
        """Cell text as given -> the end of its cell element and its width (each text once)."""
        self.xfs: dict[tuple[str | None, bool], int] = {(None, False): 0}
        """(number format, header) -> cell format index in styles.xml; 0 is the plain cell."""

    def xf(self, number_format: str | None, header: bool = False) -> int:
        key = (number_format or None, header)
        if key not in self.xfs:
            self.xfs[key] = len(self.xfs)
        return self.xfs[key]

    def string(self, text: str) -> int:
        """Index of a (neutralised) text in the string table, added if new."""
        return self.strings.setdefault(text, len(self.strings))

    def sheet_xml(self, sheet: Sheet, selected: bool) -> str:
        """``xl/worksheets/sheetN.xml``: view (frozen header), column widths, cells, filter."""
        data, widths = self._sheet_data(sheet)
        corner = _table_corner(sheet)
        ref = f"A1:{corner[0]}{corner[1]}" if corner else None
        cols = "".join(f'<col min="{j}" max="{j}" width="{min(MAX_WIDTH, w + 2)}" customWidth="1"/>'
                       for j, w in enumerate(widths, start=1))
        return "".join([
            _XML, f'<worksheet xmlns="{_MAIN}" xmlns:r="{_DOC_RELS}">',
            f'<dimension ref="{ref or "A1"}"/>',
            '<sheetViews><sheetView ', 'tabSelected="1" ' if selected else "", 'workbookViewId="0">',
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>',
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>',
            '<sheetFormatPr defaultRowHeight="15"/>',
            f"<cols>{cols}</cols>" if cols else "",
            "<sheetData>", data, "</sheetData>",
            f'<autoFilter ref="{ref}"/>' if ref else "",
            '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>',
            "</worksheet>",
        ])

    def _sheet_data(self, sheet: Sheet) -> tuple[str, list[int]]:
        """The ``<row>`` elements, and each column's width in characters (before padding)."""
        formats = [fmt or None for fmt in sheet.column_formats()]
        letters = [column_letter(j) for j in range(1, len(formats) + 1)]
        styles = [self.xf(fmt) for fmt in formats]
        widths = [len(str(h)) + 3 for h in sheet.header]  # room for the filter button
        head = "".join(self._header_cell(col, _text(h)) for col, h in zip(letters, sheet.header))
        rows = [f'<row r="1">{head}</row>']
        # The loop runs once per cell (a million at 20,000 accounts): text, floats, ints and
        # None take what :meth:`_cell` would give without a call; anything else goes through it.
        refs = [f'<c r="{letter}' for letter in letters]
        number_open = [f'" s="{xf}"><v>' if xf else '"><v>' for xf in styles]
        specs = [_WIDTH_SPECS.get(fmt, ".10g") for fmt in formats]
        texts, text_cell, cell_of, isfinite = self._texts, self._text_cell, self._cell, math.isfinite
        known_texts = 0  # text cells found in ``texts``: :meth:`_text_cell` counts the others
        for n, row in enumerate(sheet.rows, start=2):
            if len(row) > len(letters):
                raise ValueError(f"sheet {sheet.name!r}, row {n}: {len(row)} cells for {len(letters)} columns")
            cells = []
            for j, value in enumerate(row):
                kind = type(value)
                if kind is str:
                    cell = texts.get(value)
                    if cell is None:
                        cell = text_cell(value)
                        if cell is None:
                            continue
                    else:
                        known_texts += 1
                    cells.append(f'{refs[j]}{n}"{cell[0]}')
                    width = cell[1]
                elif kind is float or kind is int:
                    if kind is float and not isfinite(value):
                        continue
                    cells.append(f"{refs[j]}{n}{number_open[j]}{value!r}</v></c>")
                    width = len(format(value, specs[j]))
                elif value is None:
                    continue
                else:
                    cell = cell_of(value, styles[j], formats[j])
                    if cell is None:
                        continue
                    cells.append(f'{refs[j]}{n}"{cell[0]}')
                    width = cell[1]
                if width > widths[j]:
                    widths[j] = width
            rows.append(f'<row r="{n}">{"".join(cells)}</row>')
        self.string_cells += known_texts
        return "".join(rows), widths

    def _header_cell(self, column: str, text: str) -> str:
        """A bold, filled header cell (styled even when empty, so the whole row looks alike)."""
        xf = self.xf(None, header=True)
        if not text:
            return f'<c r="{column}1" s="{xf}"/>'
        self.string_cells += 1
        return f'<c r="{column}1" s="{xf}" t="s"><v>{self.string(text)}</v></c>'

    def _cell(self, value: Any, xf: int, fmt: str | None) -> tuple[str, int] | None:
        """A cell element after its reference (``' t="s"><v>3</v></c>'``) and its shown width,
        or None for an empty cell. ``xf`` and ``fmt`` are the column's cell and number format.

        Plain text, floats and ints (nearly every cell) are told apart by their exact type
        first; anything else is made plain (:func:`_plain`) and sorted out after."""
        kind = type(value)
        if kind is str:
            return self._text_cell(value)
        if kind is not float and kind is not int:
            if isinstance(value, Formatted):
                return self._cell(value.value, self.xf(value.number_format), value.number_format)
            value = _plain(value)
            if value is None:
                return None
            if isinstance(value, bool):
                return (' t="b"><v>1</v></c>' if value else ' t="b"><v>0</v></c>'), 5
            if not isinstance(value, (int, float)):
                return self._text_cell(str(value))
        if type(value) is float and not math.isfinite(value):
            return None
        width = len(format(value, _WIDTH_SPECS.get(fmt, ".10g")))
        return (f' s="{xf}"><v>{value!r}</v></c>' if xf else f"><v>{value!r}</v></c>"), width

    def _text_cell(self, value: str) -> tuple[str, int] | None:
        """A text cell (see :meth:`_cell`), or None for empty text. Each distinct text is
        neutralised (:func:`_text`) and looked up once: tables repeat most of theirs."""
        if not value:
            return None
        known = self._texts.get(value)
        if known is None:
            text = _text(value)
            known = self._texts[value] = (f' t="s"><v>{self.string(text)}</v></c>', len(text))
        self.string_cells += 1
        return known

    def shared_strings_xml(self) -> str:
        items = "".join(_string_item(text) for text in self.strings)
        return (f'{_XML}<sst xmlns="{_MAIN}" count="{self.string_cells}" uniqueCount="{len(self.strings)}">'
                f"{items}</sst>")

    def styles_xml(self) -> str:
        """``xl/styles.xml``: fonts, fills, borders and the cell formats the sheets use."""
        custom: dict[str, int] = {}
        for fmt, _ in self.xfs:
            if fmt and fmt not in _BUILTIN_FORMATS and fmt not in custom:
                custom[fmt] = _FIRST_CUSTOM_FORMAT + len(custom)
        num_fmts = "".join(f'<numFmt numFmtId="{i}" formatCode="{_attr(fmt)}"/>' for fmt, i in custom.items())
        xfs = []
        for fmt, header in self.xfs:
            fmt_id = _BUILTIN_FORMATS.get(fmt, custom.get(fmt, 0)) if fmt else 0
            xfs.append(f'<xf numFmtId="{fmt_id}" fontId="{int(header)}" fillId="{2 if header else 0}" borderId="0"'
                       f' xfId="0"{_applied(fmt_id, header)}/>')
        font = '<sz val="11"/><name val="Calibri"/><family val="2"/>'
        return "".join([
            _XML, f'<styleSheet xmlns="{_MAIN}">',
            f'<numFmts count="{len(custom)}">{num_fmts}</numFmts>' if custom else "",
            f'<fonts count="2"><font>{font}</font><font><b/>{font}</font></fonts>',
            '<fills count="3"><fill><patternFill patternType="none"/></fill>',
            '<fill><patternFill patternType="gray125"/></fill>',
            f'<fill><patternFill patternType="solid"><fgColor rgb="FF{HEADER_FILL}"/><bgColor indexed="64"/>'
            "</patternFill></fill></fills>",
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>',
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>',
            f'<cellXfs count="{len(xfs)}">', *xfs, "</cellXfs>",
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>',
            "</styleSheet>",
        ])


def _applied(fmt_id: int, header: bool) -> str:
    """The apply* flags of a cell format that differs from the plain cell."""
    flags = ' applyNumberFormat="1"' if fmt_id else ""
    return flags + (' applyFont="1" applyFill="1"' if header else "")


# --------------------------------------------------------------------------- package parts
_ROOT_RELS = (
    f'{_XML}<Relationships xmlns="{_PKG_RELS}">'
    f'<Relationship Id="rId1" Type="{_DOC_RELS}/officeDocument" Target="xl/workbook.xml"/>'
    f'<Relationship Id="rId2" Type="{_PKG_RELS}/metadata/core-properties" Target="docProps/core.xml"/>'
    f'<Relationship Id="rId3" Type="{_DOC_RELS}/extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>"
)
_APP = (
    f'{_XML}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>kamopt</Application></Properties>"
)


def _content_types(n_sheets: int, shared_strings: bool) -> str:
    office = "application/vnd.openxmlformats-officedocument"
    sheets = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                     f'ContentType="{office}.spreadsheetml.worksheet+xml"/>' for i in range(1, n_sheets + 1))
    strings = (f'<Override PartName="/xl/sharedStrings.xml" ContentType="{office}.spreadsheetml.sharedStrings+xml"/>'
               if shared_strings else "")
    return (
        f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{office}.spreadsheetml.sheet.main+xml"/>'
        f"{sheets}"
        f'<Override PartName="/xl/styles.xml" ContentType="{office}.spreadsheetml.styles+xml"/>'
        f"{strings}"
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        f'<Override PartName="/docProps/app.xml" ContentType="{office}.extended-properties+xml"/>'
        "</Types>"
    )


def _core() -> str:
    """``docProps/core.xml``: the creator and the fixed created/modified dates."""
    date = FIXED_DATE.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"{_XML}"
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<dc:creator>kamopt</dc:creator>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{date}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{date}</dcterms:modified>'
        "</cp:coreProperties>"
    )


def _workbook(sheets: Sequence[Sheet]) -> str:
    """``xl/workbook.xml``: the sheets in order, and the hidden filter range Excel keeps per sheet."""
    entries = "".join(f'<sheet name="{_attr(s.name)}" sheetId="{i}" r:id="rId{i}"/>'
                      for i, s in enumerate(sheets, start=1))
    names = []
    for i, sheet in enumerate(sheets):
        corner = _table_corner(sheet)
        if corner:
            quoted = sheet.name.replace("'", "''")
            names.append(f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
                         f"'{_escape(quoted)}'!$A$1:${corner[0]}${corner[1]}</definedName>")
    defined = f"<definedNames>{''.join(names)}</definedNames>" if names else ""
    return (f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_DOC_RELS}"><workbookPr/>'
            f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{entries}</sheets>{defined}'
            '<calcPr calcId="191029"/></workbook>')


def _workbook_rels(n_sheets: int, shared_strings: bool) -> str:
    rels = [f'<Relationship Id="rId{i}" Type="{_DOC_RELS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, n_sheets + 1)]
    rels.append(f'<Relationship Id="rId{n_sheets + 1}" Type="{_DOC_RELS}/styles" Target="styles.xml"/>')
    if shared_strings:
        rels.append(f'<Relationship Id="rId{n_sheets + 2}" Type="{_DOC_RELS}/sharedStrings" '
                    'Target="sharedStrings.xml"/>')
    return f'{_XML}<Relationships xmlns="{_PKG_RELS}">{"".join(rels)}</Relationships>'


def _zip(parts: Mapping[str, str]) -> bytes:
    """The parts zipped in the given order, each with the same time stamp and permissions."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever the platform: the same bytes everywhere
            info.external_attr = 0o644 << 16
            zf.writestr(info, text.encode("utf-8"), compresslevel=1)  # 3 x faster than 6, files 1.25 x larger
    return out.getvalue()


# --------------------------------------------------------------------------- the plan workbook
PLAN_SHEETS = ("Summary", "Portfolio", "Resources", "Hiring", "Sponsorship", "Support", "Excluded", "Explanations")
"""Sheets of the plan.xlsx that ``kamopt solve`` writes (compare and frontier workbooks
take the first seven, without Explanations, and add their own)."""

_RESOURCE_FORMATS = {"lp_estimate": MONEY, "marginal_low": MONEY, "marginal_high": MONEY}
"""resources.csv columns in money whose names do not say so."""


Table = tuple[Sequence[str], Sequence[Sequence[Any]]]


def plan_tables(plan: Plan) -> dict[str, Table]:
    """The tables behind both the plan CSVs and their sheets, by sheet name: a caller writing
    both (:func:`kamopt.report.plan_tables.write_plan`) builds each once (a 20,000-account
    portfolio table takes ~0.15 s)."""
    return {
        "Portfolio": portfolio_table(plan),
        "Resources": resources_table(plan),
        "Hiring": hiring_table(plan),
        "Sponsorship": sponsorship_table(plan),
        "Support": support_table(plan),
        "Excluded": excluded_table(plan.screening),
    }


def plan_sheets(plan: Plan, explanations: Table | None = None, tables: dict[str, Table] | None = None) -> list[Sheet]:
    """The planners' workbook: the headline figures, then each plan CSV as a sheet.

    ``explanations``: the :func:`kamopt.explain.explanations_table` of the plan (the caller
    has it for explanations.csv already) to add as the last sheet. ``tables``: the plan's
    :func:`plan_tables`, when the caller has them already."""
    t = tables if tables is not None else plan_tables(plan)
    sheets = [
        summary_sheet(plan),
        Sheet("Portfolio", *t["Portfolio"]),
        Sheet("Resources", *t["Resources"], formats=_RESOURCE_FORMATS),
        Sheet("Hiring", *t["Hiring"]),
        Sheet("Sponsorship", *t["Sponsorship"]),
        Sheet("Support", *t["Support"]),
        Sheet("Excluded", *t["Excluded"]),
    ]
    if explanations is not None:
        header, rows = explanations
        formats: dict[str, str | None] = {"threshold": MONEY, "shortfall": MONEY}
        formats.update({c: SCORE for c in header if c.startswith("contrib_")})
        sheets.append(Sheet("Explanations", header, rows, formats=formats))
    return sheets


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
        ["greedy breaks", "; ".join(info["greedy_violations"])],
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
