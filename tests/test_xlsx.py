"""The generic workbook writer: sheet names, number formats, cell types, safe text, fixed bytes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from openpyxl import load_workbook

from kamopt.report.xlsx import (
    COUNT,
    FTE,
    HOURS,
    MONEY,
    PCT,
    PERCENT,
    SCORE,
    Formatted,
    Sheet,
    column_format,
    workbook_bytes,
)


def read(sheets: list[Sheet]):
    return load_workbook(io.BytesIO(workbook_bytes(sheets)))


@pytest.mark.parametrize("name", ["", "x" * 32, "a[b]", "a:b", "a*b", "a?b", "a/b", "a\\b", "'quoted'"])
def test_invalid_sheet_names_are_refused(name):
    with pytest.raises(ValueError, match="invalid sheet name"):
        Sheet(name, ["a"], [])


def test_sheet_names_must_differ_ignoring_case():
    with pytest.raises(ValueError, match="two sheets named"):
        workbook_bytes([Sheet("Plan", ["a"], []), Sheet("plan", ["a"], [])])


@pytest.mark.parametrize("column, expected", [
    ("hours_load_pct", PCT), ("optimum_vs_greedy_pct", PCT), ("kam_hours", HOURS), ("hours_gold", HOURS),
    ("current_fte", FTE), ("score", SCORE), ("expected_value", MONEY), ("annual_cost", MONEY),
    ("greedy_objective", MONEY), ("budget", MONEY), ("hires", COUNT), ("slots_used", COUNT),
    ("key_accounts", COUNT), ("named_kams", COUNT), ("account_id", None), ("name", None), ("limit", None),
])
def test_column_formats_come_from_the_column_name(column, expected):
    assert column_format(column) == expected


def test_cells_keep_their_types_and_formats():
    rows = [["A1", np.float64(1234.5), np.int64(3), True, None, "", float("nan"), Formatted(0.25, PERCENT)]]
    header = ["id", "annual_cost", "hires", "binding", "note", "blank", "kam_hours", "share"]
    ws = read([Sheet("T", header, rows, formats={"annual_cost": "0.00"})])["T"]
    cells = list(ws[2])
    assert [c.value for c in cells] == ["A1", 1234.5, 3, True, None, None, None, 0.25]
    assert [c.data_type for c in cells[:4]] == ["s", "n", "n", "b"]
    assert cells[1].number_format == "0.00"  # the sheet's override beats the name
    assert cells[2].number_format == COUNT
    assert cells[7].number_format == PERCENT  # a cell's own format beats the column's


def test_every_row_keeps_its_own_numbers():
    """Formatted numbers share one styled cell per column while streaming: no row may see another's."""
    rows = [[i, i * 1.5, f"r{i}"] for i in range(500)]
    ws = read([Sheet("T", ["count", "kam_hours", "name"], rows)])["T"]
    got = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert got == [[i, i * 1.5, f"r{i}"] for i in range(500)]
    assert {ws.cell(i, 2).number_format for i in range(2, 502)} == {HOURS}


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","y")', "+1+1", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_formula_like_text_is_neutralised_string(text):
    ws = read([Sheet("T", [text], [[text]])])["T"]
    for cell in (ws["A1"], ws["A2"]):  # XML readers turn a raw CR into LF
        assert cell.value == "'" + text.replace("\r", "\n") and cell.data_type == "s"


def test_control_characters_do_not_break_the_file():
    ws = read([Sheet("T", ["name"], [["bad\x01name"]])])["T"]
    assert ws["A2"].value == "bad\ufffdname"


def test_layout_frozen_filtered_and_sized():
    rows = [["short", "x" * 100], ["a much longer text", "y"]]
    ws = read([Sheet("T", ["id", "notes"], rows)])["T"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:B3"
    assert len("a much longer text") <= ws.column_dimensions["A"].width < 30
    assert ws.column_dimensions["B"].width == 60
    assert ws["A1"].font.b and ws["A1"].fill.fill_type == "solid"


def test_same_sheets_same_bytes():
    sheets = [Sheet("A", ["x", "annual_cost"], [["a", 1.0]]), Sheet("B", ["y"], [])]
    first = workbook_bytes(sheets)
    assert workbook_bytes(sheets) == first
    assert workbook_bytes([Sheet("A", ["x", "annual_cost"], [["a", 2.0]]), sheets[1]]) != first
    assert read(sheets).sheetnames == ["A", "B"]
