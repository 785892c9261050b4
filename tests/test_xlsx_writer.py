"""The direct .xlsx writer: what Excel (here openpyxl) reads back, and a well-formed, fixed package."""

from __future__ import annotations

import copy
import io
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from kamopt.report.xlsx import (
    COUNT,
    HOURS,
    MAX_TEXT,
    MAX_WIDTH,
    MONEY,
    PERCENT,
    SCORE,
    ZIP_DATE,
    Formatted,
    Sheet,
    _Book,
    workbook_bytes,
)

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def load(data: bytes):
    return load_workbook(io.BytesIO(data))


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def column(ws, j: int) -> list:
    return [ws.cell(i, j) for i in range(2, ws.max_row + 1)]


# --------------------------------------------------------------------------- values and types
NUMBERS = [0, 1, -7, 2**53 + 1, 10**15, 0.1, 1e-12, -2.5e-300, 1.7976931348623157e308, 123456789.12345679,
           2.0, -0.0, 1 / 3]


def test_numbers_round_trip_exactly_as_numeric_cells():
    ws = load(workbook_bytes([Sheet("T", ["x"], [[v] for v in NUMBERS])]))["T"]
    cells = column(ws, 1)
    assert [c.value for c in cells] == NUMBERS
    assert [type(c.value) for c in cells] == [type(v) for v in NUMBERS]  # 2.0 stays a float
    assert {c.data_type for c in cells} == {"n"}


def test_numpy_scalars_booleans_and_blanks():
    row = [np.int64(3), np.float64(0.1), np.float32(0.5), np.bool_(True), True, False, None, "",
           float("nan"), float("inf"), -np.inf, np.float64("nan")]
    ws = load(workbook_bytes([Sheet("T", [f"c{j}" for j in range(len(row))], [row])]))["T"]
    cells = list(ws[2])
    assert [c.value for c in cells] == [3, 0.1, 0.5, True, True, False] + [None] * 6
    assert [c.data_type for c in cells[:6]] == ["n", "n", "n", "b", "b", "b"]
    assert type(cells[0].value) is int and type(cells[1].value) is float


CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6), st.sampled_from(["", "=1", "dup"]),
    st.none(), st.booleans(), st.integers(min_value=-10**20, max_value=10**20),
    st.floats(width=32).map(np.float32), st.integers(min_value=-5, max_value=5).map(np.int64),
    st.floats(allow_nan=False).map(lambda v: Formatted(v, MONEY)),
)


@given(st.lists(st.lists(CELLS, max_size=4), max_size=5))
def test_sheet_cells_are_what_the_cell_function_gives(rows):
    """The sheet loop writes text, floats, ints and None inline (it runs once per cell):
    each cell, the column widths and the string count must be what _Book._cell gives."""
    sheet = Sheet("T", ["a", "b", "c", "d"], rows, formats={"b": MONEY, "c": PERCENT})
    book, reference = _Book(), _Book()
    data, widths = book._sheet_data(sheet)
    formats = [f or None for f in sheet.column_formats()]
    styles = [reference.xf(f) for f in formats]
    for col, h in zip("ABCD", sheet.header):  # the header row first, as the sheet does (same string indices)
        reference._header_cell(col, h)
    want_widths = [len(h) + 3 for h in sheet.header]
    want = []
    for n, row in enumerate(rows, start=2):
        cells = []
        for j, value in enumerate(row):
            cell = reference._cell(value, styles[j], formats[j])
            if cell is not None:
                cells.append(f'<c r="{"ABCD"[j]}{n}"{cell[0]}')
                want_widths[j] = max(want_widths[j], cell[1])
        want.append(f'<row r="{n}">{"".join(cells)}</row>')
    assert data.split("</row>", 1)[1] == "".join(want)
    assert widths == want_widths
    assert (book.string_cells, book.strings) == (reference.string_cells, reference.strings)


TEXTS = ['<b>&amp; "quoted" \'single\'', "Zürich — ✓ 東京 🚀", "  padded  ", "two\nlines", "_x0041_ literal",
         "]]>", "plain"]


def test_text_round_trips_as_strings():
    data = workbook_bytes([Sheet("T", ["name"], [[t] for t in TEXTS])])
    cells = column(load(data)["T"], 1)
    assert [c.value for c in cells] == TEXTS
    assert {c.data_type for c in cells} == {"s"}
    # Excel would read a bare _x0041_ as "A"; openpyxl reads both forms back as written
    assert b"<t xml:space=\"preserve\">_x005F_x0041_ literal</t>" in parts(data)["xl/sharedStrings.xml"]


@pytest.mark.parametrize("text", ["=1+1", "+A1", "-5", "@SUM(A1:A2)", "=cmd|' /C calc'!A0"])
def test_formula_like_text_stays_neutralised_text(text):
    data = workbook_bytes([Sheet("T", ["name", "n"], [[text, 1]])])
    cell = load(data)["T"]["A2"]
    assert cell.value == "'" + text and cell.data_type == "s"
    assert not any(b"<f>" in body or b"<f " in body for body in parts(data).values())


def test_control_characters_become_replacement_characters_and_long_text_is_cut():
    bad = "".join(chr(c) for c in range(32)) + "ok"
    ws = load(workbook_bytes([Sheet("T", ["a", "b"], [[bad, "x" * (MAX_TEXT + 10)]])]))["T"]
    kept = {"\t", "\n", "\r"}
    expected = "".join(c if c in kept else "\ufffd" for c in bad[:32]).replace("\r", "\n") + "ok"
    assert ws["A2"].value == expected  # a leading NUL is no formula sign: no apostrophe
    assert ws["B2"].value == "x" * MAX_TEXT


def test_non_characters_and_lone_surrogates_become_replacement_characters():
    ws = load(workbook_bytes([Sheet("T", ["a"], [["a\ufffeb\uffffc\ud800d"]])]))["T"]
    assert ws["A2"].value == "a\ufffdb\ufffdc\ufffdd"


def test_other_objects_are_written_as_their_text():
    class Code:
        def __str__(self) -> str:
            return "=code"

    ws = load(workbook_bytes([Sheet("T", ["a", "b"], [[Code(), np.str_("np text")]])]))["T"]
    assert ws["A2"].value == "'=code" and ws["B2"].value == "np text"


def test_repeated_text_is_stored_once():
    rows = [["gold" if i % 2 else "silver", f"id{i}"] for i in range(100)]
    sst = ET.fromstring(parts(workbook_bytes([Sheet("T", ["tier", "id"], rows)]))["xl/sharedStrings.xml"])
    texts = [si.find(f"{MAIN}t").text for si in sst]
    assert len(texts) == len(set(texts)) == 2 + 2 + 100  # header, tiers, ids
    assert sst.get("count") == "202" and sst.get("uniqueCount") == "104"


def test_a_row_longer_than_the_header_is_refused():
    with pytest.raises(ValueError, match="3 cells for 2 columns"):
        workbook_bytes([Sheet("T", ["a", "b"], [[1, 2, 3]])])


# --------------------------------------------------------------------------- formats and layout
def test_number_formats_per_column_and_per_cell():
    header = ["annual_cost", "kam_hours", "score", "hires", "plain", "custom", "value"]
    rows = [[1.5, 2.5, 0.25, 3, 4.5, 5.5, Formatted(0.125, PERCENT)],
            [Formatted(7, '#,##0 "EUR"'), 1.0, 1.0, 1, 1.0, 1.0, Formatted(np.float64(12.0), MONEY)],
            [None, None, None, None, None, None, Formatted("text", MONEY)]]
    data = workbook_bytes([Sheet("T", header, rows, formats={"custom": "0.000", "value": None})])
    ws = load(data)["T"]
    assert [c.number_format for c in ws[2]] == [MONEY, HOURS, SCORE, COUNT, "General", "0.000", PERCENT]
    assert ws["A3"].number_format == '#,##0 "EUR"' and ws["A3"].value == 7
    assert ws["G3"].number_format == MONEY and ws["G3"].value == 12.0
    assert ws["G4"].value == "text" and ws["G4"].number_format == "General"  # text keeps no number format
    styles = ET.fromstring(parts(data)["xl/styles.xml"])
    custom = {int(f.get("numFmtId")): f.get("formatCode") for f in styles.iter(f"{MAIN}numFmt")}
    assert min(custom) == 164 and "0.000" in custom.values() and '#,##0 "EUR"' in custom.values()


def test_header_is_bold_filled_frozen_and_filtered():
    ws = load(workbook_bytes([Sheet("T", ["id", "annual_cost", "notes"], [["a", 1, "x"], ["b", 2, None]])]))["T"]
    for cell in ws[1]:
        assert cell.font.b and cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb.endswith("DDEBF7")
        assert cell.data_type == "s"
    assert not ws["A2"].font.b and ws["A2"].fill.fill_type is None
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:C3"
    assert [c.value for c in ws[1]] == ["id", "annual_cost", "notes"]


def test_column_widths_follow_the_longest_shown_value():
    header = ["id", "annual_cost", "flag", "notes", "h"]
    rows = [["abc", 1234567.0, True, "n" * 200, 1], ["abcdefghij", 5.0, False, "short", 2]]
    ws = load(workbook_bytes([Sheet("T", header, rows)]))["T"]
    widths = [ws.column_dimensions[letter].width for letter in "ABCDE"]
    assert widths == [len("abcdefghij") + 2, len("annual_cost") + 3 + 2, len("flag") + 3 + 2, MAX_WIDTH, 1 + 3 + 2]
    wide = load(workbook_bytes([Sheet("T", ["annual_cost"], [[123456789012.0]])]))["T"]
    assert wide.column_dimensions["A"].width == len("123,456,789,012") + 2


def test_many_columns_get_excel_letters():
    header = [f"c{j}" for j in range(30)]
    ws = load(workbook_bytes([Sheet("T", header, [list(range(30))])]))["T"]
    assert ws.auto_filter.ref == "A1:AD2" and ws["AD2"].value == 29 and ws["Z1"].value == "c25"


def test_sheet_order_and_names_with_special_characters():
    names = ["R&D <2024>", "Bob's plan", "Zürich ✓", "a\"b"]
    data = workbook_bytes([Sheet(n, ["x", "y"], [[1, 2], [3, 4]]) for n in names] + [Sheet("Empty", [], [])])
    wb = load(data)
    assert wb.sheetnames == names + ["Empty"]
    assert wb["Bob's plan"]["B3"].value == 4
    book = ET.fromstring(parts(data)["xl/workbook.xml"])
    defined = [(d.get("name"), d.get("localSheetId"), d.get("hidden"), d.text) for d in book.iter(f"{MAIN}definedName")]
    assert defined == [("_xlnm._FilterDatabase", str(i), "1", "'" + n.replace("'", "''") + "'!$A$1:$B$3")
                       for i, n in enumerate(names)]


def test_empty_sheets_are_valid():
    sheets = [Sheet("Nothing", [], []), Sheet("Header only", ["a", "annual_cost"], []),
              Sheet("Blank rows", ["a"], [[None], [""], [float("nan")]]), Sheet("Blank header", ["", "b"], [[1, 2]])]
    data = workbook_bytes(sheets)
    wb = load(data)
    assert wb.sheetnames == [s.name for s in sheets]
    assert wb["Nothing"].max_row == 1 and wb["Nothing"]["A1"].value is None
    assert wb["Nothing"].auto_filter.ref is None and wb["Nothing"].freeze_panes == "A2"
    assert wb["Header only"].auto_filter.ref == "A1:B1"
    assert [c.value for c in wb["Header only"][1]] == ["a", "annual_cost"]
    assert wb["Blank rows"].auto_filter.ref == "A1:A4" and wb["Blank rows"]["A2"].value is None
    blank = wb["Blank header"]["A1"]
    assert blank.value is None and blank.font.b  # styled like the rest of the header
    assert all(ET.fromstring(body) is not None for name, body in parts(data).items() if name.endswith(".xml"))


def test_no_text_at_all_leaves_out_the_string_table():
    data = workbook_bytes([Sheet("Nothing", [], [])])
    names = parts(data)
    assert "xl/sharedStrings.xml" not in names and b"sharedStrings" not in names["[Content_Types].xml"]
    assert load(data).sheetnames == ["Nothing"]


# --------------------------------------------------------------------------- the package
SAMPLE = [Sheet("Summary", ["item", "value"], [["objective", Formatted(1.5e6, MONEY)], ["verified", True]],
                formats={"value": None}),
          Sheet("Portfolio", ["account_id", "name", "expected_value", "kam_hours"],
                [[f"A{i}", f"name {i} & co", i * 10.5, np.float64(i / 3)] for i in range(50)])]


def test_same_sheets_give_the_same_bytes():
    first = workbook_bytes(SAMPLE)
    assert workbook_bytes(SAMPLE) == first
    assert workbook_bytes(copy.deepcopy(SAMPLE)) == first
    changed = copy.deepcopy(SAMPLE)
    changed[1].rows[3][2] = 0.1
    assert workbook_bytes(changed) != first


def test_the_package_is_complete_and_well_formed():
    data = workbook_bytes(SAMPLE)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        infos = z.infolist()
        bodies = {i.filename: z.read(i) for i in infos}
    assert [i.filename for i in infos] == [
        "[Content_Types].xml", "_rels/.rels", "docProps/app.xml", "docProps/core.xml", "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/sharedStrings.xml",
        "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"]
    for info in infos:
        assert info.date_time == ZIP_DATE and info.external_attr == 0o644 << 16, info.filename
        assert info.compress_type == zipfile.ZIP_DEFLATED, info.filename
    trees = {name: ET.fromstring(body) for name, body in bodies.items()}  # every part parses
    types = trees["[Content_Types].xml"]
    overrides = {o.get("PartName") for o in types if o.get("PartName")}
    assert overrides == {"/" + name for name in bodies if not name.endswith(".rels") and name != "[Content_Types].xml"}
    rels = {r.get("Target") for r in trees["xl/_rels/workbook.xml.rels"]}
    assert rels == {"worksheets/sheet1.xml", "worksheets/sheet2.xml", "styles.xml", "sharedStrings.xml"}
    core = bodies["docProps/core.xml"].decode()
    assert core.count("2000-01-01T00:00:00Z") == 2 and "<dc:creator>kamopt</dc:creator>" in core
    wb = load(data)
    assert wb.properties.creator == "kamopt"


def test_every_cell_style_exists_in_the_style_sheet():
    data = workbook_bytes(SAMPLE)
    bodies = parts(data)
    styles = ET.fromstring(bodies["xl/styles.xml"])
    xfs = styles.find(f"{MAIN}cellXfs")
    assert int(xfs.get("count")) == len(xfs)
    assert len(styles.find(f"{MAIN}fills")) == 3 and len(styles.find(f"{MAIN}fonts")) == 2
    used = {int(c.get("s", 0)) for name in ("xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml")
            for c in ET.fromstring(bodies[name]).iter(f"{MAIN}c")}
    assert used <= set(range(len(xfs)))


def test_writing_does_not_import_openpyxl():
    script = textwrap.dedent("""
        import io, sys, zipfile
        from kamopt.report.xlsx import Formatted, Sheet, workbook_bytes
        data = workbook_bytes([Sheet("T", ["id", "annual_cost"], [["a", 1.5], ["b", Formatted(2, "0.0%")]])])
        assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
        assert "openpyxl" not in sys.modules, sorted(m for m in sys.modules if m.startswith("openpyxl"))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
