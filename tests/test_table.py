"""Tests for kamopt.data.table: reading CSV/XLSX tables and located errors."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamopt.data import table as table_module
from kamopt.data.table import Table, TableOptions, column_letter, keep_tables, read_table
from kamopt.errors import DataError


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def error_of(fn, *args, **kwargs) -> DataError:
    with pytest.raises(DataError) as info:
        fn(*args, **kwargs)
    return info.value


# ----------------------------------------------------------------- delimiters, encodings


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_sniffs_delimiter(tmp_path, sep):
    text = sep.join(["id", "name", "revenue"]) + "\n"
    text += sep.join(["A1", "Acme", "10"]) + "\n" + sep.join(["B2", "Bolt", "2.5"]) + "\n"
    table = read_table(write(tmp_path, "a.csv", text))
    assert table.columns == ("id", "name", "revenue")
    assert table.options.delimiter == sep
    assert table.texts("name") == ["Acme", "Bolt"]
    assert table.numbers("revenue").tolist() == [10.0, 2.5]
    assert table.lines == (2, 3)
    assert len(table) == 2
    assert table.row_label(1) == "line 3"


def test_semicolon_with_decimal_comma_is_not_mistaken_for_comma(tmp_path):
    path = write(tmp_path, "a.csv", "id;revenue;share\nA;1,5;0,25\nB;2,5;0,75\n")
    table = read_table(path, TableOptions(decimal=","))
    assert table.options.delimiter == ";"
    assert table.numbers("revenue").tolist() == [1.5, 2.5]


def test_tsv_defaults_to_tab_and_tab_option(tmp_path):
    path = write(tmp_path, "a.tsv", "id\tnote\nA\thello, world; ok\n")
    assert read_table(path).texts("note") == ["hello, world; ok"]
    path = write(tmp_path, "b.txt", "id\tnote\nA\tx\n")
    assert read_table(path, TableOptions(delimiter="tab")).columns == ("id", "note")


def test_one_column_file(tmp_path):
    table = read_table(write(tmp_path, "ids.csv", "id\nA\nB\n"))
    assert table.columns == ("id",)
    assert table.unique_ids("id") == ["A", "B"]


def test_bom_is_stripped(tmp_path):
    path = write(tmp_path, "a.csv", "\ufeffid,revenue\r\nA,1\r\n")
    table = read_table(path)
    assert table.columns == ("id", "revenue")
    assert table.texts("id") == ["A"]


def test_latin1_with_option_and_error_without(tmp_path):
    text = "id,name\nA,Acme\nB,Bolt\nC,Société\n"
    path = write(tmp_path, "acc.csv", text, encoding="latin-1")
    assert read_table(path, TableOptions(encoding="latin-1")).texts("name")[2] == "Société"
    err = error_of(read_table, path)
    (d,) = err.diagnostics
    assert d.file == str(path)
    assert d.line == 4
    assert d.hint == "set data.encoding: latin-1 in the policy"
    assert "\\xe9" in d.found


def test_bad_byte_line_far_into_file(tmp_path):
    rows = "".join(f"A{i},{i}\n" for i in range(20000))
    path = write(tmp_path, "big.csv", ("id,n\n" + rows + "Z,\xe9\n").encode("latin-1"))
    assert error_of(read_table, path).diagnostics[0].line == 20002


# ----------------------------------------------------------------- numbers


def test_decimal_comma_and_thousands(tmp_path):
    path = write(tmp_path, "a.csv", 'id;x\nA;"1.234,5"\nB;-2\nC;+0,5\nD;1e6\n')
    x = read_table(path, TableOptions(decimal=",", thousands=".")).numbers("x")
    assert x.tolist() == [1234.5, -2.0, 0.5, 1e6]
    # without thousands='.', '1.234,5' is not a number and the hint says what to set
    err = error_of(read_table(path, TableOptions(decimal=",")).numbers, "x")
    assert err.diagnostics[0].line == 2
    assert "data.thousands: '.'" in err.diagnostics[0].hint


@pytest.mark.parametrize(
    "thousands,cell,value",
    [(",", '"1,234,567.5"', 1234567.5), (" ", "1 234", 1234.0), ("'", "1'234'000", 1234000.0),
     (",", "12", 12.0), (",", '"-1,000"', -1000.0)],
)
def test_thousands_separators(tmp_path, thousands, cell, value):
    path = write(tmp_path, "a.csv", f"id,x\nA,{cell}\n")
    assert read_table(path, TableOptions(thousands=thousands)).numbers("x")[0] == value


def test_thousands_only_between_groups_of_three(tmp_path):
    path = write(tmp_path, "a.csv", 'id,x\nA,"12,34"\nB,",123"\n')
    err = error_of(read_table(path, TableOptions(thousands=",")).numbers, "x")
    assert "2 cells are not a number" in err.diagnostics[0].message


def test_decimal_comma_hint(tmp_path):
    path = write(tmp_path, "acc.csv", 'id,revenue\nA,10\nB,"1,5"\n')
    err = error_of(read_table(path).numbers, "revenue")
    (d,) = err.diagnostics
    assert (d.file, d.line, d.field) == (str(path), 3, "revenue")
    assert d.hint == "set data.decimal: ',' in the policy"
    assert d.expected.startswith("a number")
    assert "decimal '.'" in d.expected
    assert d.found == "'1,5'"


def test_percent_nan_inf_rejected(tmp_path):
    path = write(tmp_path, "a.csv", "id,x\nA,12%\nB,nan\nC,inf\nD,1_000\nE,0x10\n")
    err = error_of(read_table(path).numbers, "x")
    d = err.diagnostics[0]
    assert d.message.startswith("5 cells are not a number")
    assert "line 2 ('12%')" in d.message and "line 4 ('inf')" in d.message
    assert "0.12 for 12%" in d.hint


def test_ten_percent_non_numeric_lists_lines_and_count(tmp_path):
    body = "".join(f"A{i},{'n/a' if i % 10 == 3 else i}\n" for i in range(200))
    path = write(tmp_path, "acc.csv", "id,revenue\n" + body)
    table = read_table(path)
    assert table.numeric_share("revenue") == pytest.approx(0.9)
    err = error_of(table.numbers, "revenue")
    (d,) = err.diagnostics
    assert d.file == str(path) and d.field == "revenue" and d.line == 5
    assert d.expected == "a number"
    assert d.message.startswith("20 cells are not a number: line 5 ('n/a'), line 15 ('n/a')")
    assert "line 95 ('n/a')" in d.message and "line 105" not in d.message
    assert d.message.endswith("and 10 more")


def test_blank_cells_required_or_nan(tmp_path):
    path = write(tmp_path, "acc.csv", "id,x\nA,1\nB,\nC, \n")
    table = read_table(path)
    assert table.texts("x") == ["1", "", ""]
    x = table.numbers("x", required=False)
    assert x[0] == 1 and math.isnan(x[1]) and math.isnan(x[2])
    err = error_of(table.numbers, "x")
    assert err.diagnostics[0].line == 3
    assert "line 3, line 4" in err.diagnostics[0].message


def test_min_value_names_rows(tmp_path):
    path = write(tmp_path, "acc.csv", "id,revenue\nA,5\nB,-1\nC,0\nD,-0.5\n")
    table = read_table(path)
    err = error_of(table.numbers, "revenue", min_value=0)
    (d,) = err.diagnostics
    assert (d.file, d.line, d.field) == (str(path), 3, "revenue")
    assert "line 3 ('-1')" in d.message and "line 5 ('-0.5')" in d.message
    assert d.expected == "a number >= 0"
    assert table.numbers("revenue", min_value=-1).tolist() == [5, -1, 0, -0.5]


def test_numbers_cached_and_copied(tmp_path):
    table = read_table(write(tmp_path, "a.csv", "id,x\nA,1\nB,2\n"))
    first = table.numbers("x")
    first[0] = 99
    assert table.numbers("x").tolist() == [1, 2]
    assert "x" in table._parsed
    assert table.numbers("x").dtype == np.float64


@pytest.fixture
def kept():
    """Tables kept for the test (keep_tables), and the process's setting restored after it."""
    before = keep_tables(False)
    keep_tables(True)  # none kept yet
    yield
    keep_tables(before)


def test_kept_table_is_reused_only_for_the_same_bytes_path_and_options(tmp_path, kept):
    path = write(tmp_path, "a.csv", "id,x\nA,1\nB,2\n")
    first = read_table(path, fingerprint="f1")
    assert first.numbers("x").tolist() == [1, 2]
    assert read_table(path, fingerprint="f1") is first
    assert read_table(path, fingerprint="f1")._parsed is first._parsed  # the parsed numbers too
    # other bytes (another fingerprint), other options or no fingerprint: read again
    path.write_text("id,x\nA,5\nB,6\n", encoding="utf-8")
    changed = read_table(path, fingerprint="f2")
    assert changed is not first and changed.numbers("x").tolist() == [5, 6]
    assert read_table(path, TableOptions(delimiter=","), fingerprint="f2") is not changed
    assert read_table(path) is not read_table(path)


def test_tables_are_not_kept_unless_asked(tmp_path):
    before = keep_tables(False)
    try:
        path = write(tmp_path, "a.csv", "id,x\nA,1\n")
        assert read_table(path, fingerprint="f") is not read_table(path, fingerprint="f")
        assert keep_tables(True) is False and keep_tables(True) is True  # on twice keeps what it has
    finally:
        keep_tables(before)


def test_kept_tables_are_bounded_most_recent_first(tmp_path, kept):
    paths = [write(tmp_path, f"t{i}.csv", f"id,x\nA,{i}\n") for i in range(table_module.KEEP_TABLES + 1)]
    read = [read_table(path, fingerprint=str(i)) for i, path in enumerate(paths[:-1])]
    assert read_table(paths[0], fingerprint="0") is read[0]  # used again: now the most recent
    read_table(paths[-1], fingerprint="last")  # one too many: the least recently used goes
    assert len(table_module._kept) == table_module.KEEP_TABLES
    assert read_table(paths[0], fingerprint="0") is read[0]
    assert [read_table(path, fingerprint=str(i)) is read[i] for i, path in enumerate(paths[2:-1], 2)] == \
        [True] * (table_module.KEEP_TABLES - 2)
    assert read_table(paths[1], fingerprint="1") is not read[1]  # the one that went: read again


def test_a_bad_file_is_not_kept(tmp_path, kept):
    path = write(tmp_path, "a.csv", "id,x\n")
    for _ in range(2):
        assert "no data rows" in str(error_of(read_table, path, fingerprint="f"))
    assert not table_module._kept


# ----------------------------------------------------------------- structure and lines


def test_blank_lines_keep_line_numbers(tmp_path):
    path = write(tmp_path, "acc.csv", "\nid,x\n\nA,1\n\n\nB,oops\n  \nC,3\n")
    table = read_table(path)
    assert table.lines == (4, 7, 9)
    assert error_of(table.numbers, "x").diagnostics[0].line == 7


def test_quoted_newlines_keep_line_numbers(tmp_path):
    text = 'id,note,x\nA,"two\nlines",1\nB,"three\n\nlines",bad\nC,z,3\n'
    path = write(tmp_path, "acc.csv", text)
    table = read_table(path)
    assert table.texts("note") == ["two\nlines", "three\n\nlines", "z"]
    assert table.lines == (2, 4, 7)
    assert error_of(table.numbers, "x").diagnostics[0].line == 4


def test_mixed_delimiters_error(tmp_path):
    path = write(tmp_path, "acc.csv", "id,name,x\nA,Acme,1\nB,Bolt,2\nC;Core;3\nD,Dyn,4\n")
    err = error_of(read_table, path)
    (d,) = err.diagnostics
    assert (d.file, d.line) == (str(path), 4)
    assert d.expected == "3 fields like the header" and d.found == "1 field"
    assert "delimiter ','" in d.message
    assert d.hint.startswith("mixed delimiters?")


def test_wrong_field_count_lists_rows(tmp_path):
    path = write(tmp_path, "acc.csv", "id,x\nA,1\nB,2,3\nC\n")
    err = error_of(read_table, path)
    assert [(d.line, d.found) for d in err.diagnostics] == [(3, "3 fields"), (4, "1 field")]


def test_missing_file_and_directory(tmp_path):
    write(tmp_path, "accounts.csv", "id\nA\n")
    missing = tmp_path / "acounts.csv"
    d = error_of(read_table, missing).diagnostics[0]
    assert d.file == str(missing) and "not found" in d.message
    assert d.hint == "did you mean 'accounts.csv'?"
    d = error_of(read_table, tmp_path).diagnostics[0]
    assert d.file == str(tmp_path) and "directory" in d.message


def test_empty_and_header_only(tmp_path):
    for text in ["", "\n\n  \n", "\ufeff"]:
        path = write(tmp_path, "e.csv", text)
        d = error_of(read_table, path).diagnostics[0]
        assert d.file == str(path) and d.message == "the file is empty"
    path = write(tmp_path, "h.csv", "\nid,x\n\n")
    d = error_of(read_table, path).diagnostics[0]
    assert d.message == "the file has a header but no data rows" and d.line == 2


def test_duplicate_and_blank_headers(tmp_path):
    path = write(tmp_path, "acc.csv", "id,x, x \nA,1,2\n")
    (d,) = error_of(read_table, path).diagnostics
    assert (d.file, d.line, d.field) == (str(path), 1, "x")
    assert "header cells 2 and 3" in d.message
    path = write(tmp_path, "b.csv", "id,,x,\nA,1,2,3\n")
    diags = error_of(read_table, path).diagnostics
    assert ["cell 2" in diags[0].message, "cell 4" in diags[1].message] == [True, True]
    assert diags[1].hint == "remove the trailing delimiter"


def test_duplicate_ids_name_both_lines(tmp_path):
    path = write(tmp_path, "acc.csv", "id,x\nA,1\nB,2\nA,3\nC,4\nB,5\nB,6\n")
    diags = error_of(read_table(path).unique_ids, "id").diagnostics
    assert [(d.file, d.field, d.line) for d in diags] == [
        (str(path), "id", 4), (str(path), "id", 6)]
    assert "on line 2 and line 4" in diags[0].message
    assert "on line 3, line 6 and line 7" in diags[1].message


def test_blank_ids(tmp_path):
    path = write(tmp_path, "acc.csv", "id,x\nA,1\n,2\n")
    (d,) = error_of(read_table(path).unique_ids, "id").diagnostics
    assert (d.line, d.field) == (3, "id")


def test_require_lists_every_missing_column(tmp_path):
    path = write(tmp_path, "acc.csv", "id,revenu,region\nA,1,N\n")
    table = read_table(path)
    table.require("id", "region")
    diags = error_of(table.require, "id", "revenue", "segment").diagnostics
    assert [d.field for d in diags] == ["revenue", "segment"]
    assert diags[0].hint == "did you mean 'revenu'?"
    assert diags[0].file == str(path) and "'revenu'" in diags[0].found
    assert error_of(table.numbers, "revenue").diagnostics[0].field == "revenue"


def test_wrong_delimiter_hint_in_require(tmp_path):
    path = write(tmp_path, "acc.csv", "id;x\nA;1\n")
    table = read_table(path, TableOptions(delimiter=","))
    assert table.columns == ("id;x",)
    assert "data.delimiter" in error_of(table.require, "x").diagnostics[0].hint


def test_max_bytes_and_unsupported_extension(tmp_path):
    path = write(tmp_path, "acc.csv", "id\nA\n")
    assert "too large" in error_of(read_table, path, max_bytes=3).diagnostics[0].message
    assert len(read_table(path, max_bytes=100)) == 1
    pdf = write(tmp_path, "acc.pdf", "id\nA\n")
    d = error_of(read_table, pdf).diagnostics[0]
    assert d.file == str(pdf) and ".csv" in d.expected and ".xlsx" in d.expected
    assert d.found == "'.pdf'"


def test_bad_options(tmp_path):
    path = write(tmp_path, "acc.csv", "id\nA\n")
    assert error_of(read_table, path, TableOptions(decimal=",", thousands=",")).diagnostics[0]
    assert error_of(read_table, path, TableOptions(encoding="nope")).diagnostics[0].field == (
        "data.encoding")


# ----------------------------------------------------------------- XLSX


def make_xlsx(path):
    book = openpyxl.Workbook()
    first = book.active
    first.title = "Notes"
    first.append(["just", "notes"])
    first.append(["x", "y"])
    sheet = book.create_sheet("Accounts")
    sheet.append([None])
    sheet.append(["id", " revenue ", "since", "share"])
    sheet.append(["A1", 12.0, dt.datetime(2024, 3, 1), 0.1])
    sheet.append(["B2", 7, dt.date(2023, 1, 2), None])
    sheet.append([None, None, None, None])
    sheet.append(["C3", 1.25, None, "n/a"])
    sheet.append([None, None])
    book.save(path)


def test_xlsx_values_and_sheet_selection(tmp_path):
    path = tmp_path / "acc.xlsx"
    make_xlsx(path)
    table = read_table(path, TableOptions(sheet="Accounts"))
    assert table.columns == ("id", "revenue", "since", "share")
    assert table.texts("revenue") == ["12", "7", "1.25"]
    assert table.texts("since") == ["2024-03-01", "2023-01-02", ""]
    assert table.texts("share") == ["0.1", "", "n/a"]
    assert table.lines == (3, 4, 6)
    assert table.row_label(2) == "row 6"
    assert table.options.sheet == "Accounts"
    assert table.numbers("revenue").tolist() == [12, 7, 1.25]
    bad, blank = error_of(table.numbers, "share").diagnostics
    assert (bad.file, bad.field, bad.line) == (str(path), "share", 6)
    assert bad.message == "1 cell is not a number in sheet 'Accounts': row 6 ('n/a')"
    assert (blank.file, blank.field, blank.line) == (str(path), "share", 4)
    assert blank.found == "a blank cell"
    assert len(error_of(table.numbers, "share", required=False).diagnostics) == 1
    first = read_table(path)
    assert first.options.sheet == "Notes" and first.columns == ("just", "notes")


def test_xlsx_unknown_sheet(tmp_path):
    path = tmp_path / "acc.xlsx"
    make_xlsx(path)
    (d,) = error_of(read_table, path, TableOptions(sheet="Acounts")).diagnostics
    assert d.file == str(path) and d.field == "data.sheet"
    assert "'Accounts'" in d.expected and "'Notes'" in d.expected
    assert d.hint == "did you mean 'Accounts'?"


def test_xlsx_header_only_and_value_outside_header(tmp_path):
    path = tmp_path / "h.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["id", "x"])
    book.save(path)
    d = error_of(read_table, path).diagnostics[0]
    assert "no data rows" in d.message and d.line == 1
    book.active.append(["A", 1, None, "stray"])
    book.save(path)
    d = error_of(read_table, path).diagnostics[0]
    assert d.line == 2 and "column D" in d.message


def test_csv_renamed_xlsx(tmp_path):
    path = write(tmp_path, "acc.xlsx", "id,x\nA,1\n")
    (d,) = error_of(read_table, path).diagnostics
    assert d.file == str(path) and "not a valid XLSX" in d.message


# ----------------------------------------------------------------- robustness


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300) | st.text(alphabet=',;\t"\n\r ab1.\x00\ufeff', max_size=80)
       .map(lambda s: s.encode("utf-8")))
def test_arbitrary_bytes_give_table_or_data_error(tmp_path, data):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    try:
        table = read_table(path)
    except DataError as exc:
        assert exc.diagnostics and exc.diagnostics[0].file == str(path)
    else:
        assert isinstance(table, Table) and len(table) >= 1
        for column in table.columns:
            assert len(table.cells[column]) == len(table)
            table.numeric_share(column)


def test_repeated_texts_share_one_string_object(tmp_path):
    """A million-row table holds one object per distinct segment, region... not per cell."""
    rows = "\n".join(f"A{i},{'Enterprise' if i % 2 else 'SMB'},{i}" for i in range(50))
    t = read_table(write(tmp_path, "a.csv", f"id,segment,n\n{rows}\n"))
    seg = t.texts("segment")
    assert seg[1] == seg[3] == "Enterprise" and t.cells["segment"][1] is t.cells["segment"][3]
    assert t.numbers("n").tolist() == list(range(50))


@given(st.integers(min_value=1, max_value=16_384))
def test_column_letter_matches_openpyxl(k):
    assert column_letter(k) == openpyxl.utils.get_column_letter(k)


_CELL_PIECES = st.sampled_from(["", " ", "\u00a0", "\t", "\r", "\n", "+", "-", ".", ",", "'", "e", "E", "_", "%",
                                "0", "1", "7", "12", "123", "1,234", "1.234", "1 234", "1\u00a0234", "1'234",
                                "1e400", "inf", "nan", "x"])


@settings(max_examples=400, deadline=None)
@given(cells=st.lists(st.lists(_CELL_PIECES, max_size=5).map("".join), min_size=1, max_size=6),
       decimal=st.sampled_from([".", ","]), thousands=st.sampled_from([None, ",", ".", " ", "'"]))
def test_whole_column_parse_gives_what_the_cell_parser_gives(cells, decimal, thousands):
    """The one-match fast path for all-number columns agrees exactly with cell by cell."""
    from kamopt.data import table as t

    if thousands == decimal:
        return
    fast = t._all_numbers(cells, decimal, thousands)
    parse = t._number_parser(decimal, thousands)
    slow = [parse(c) if c else math.nan for c in cells]
    if fast is not None:  # falling back is always right; a value must be the cell parser's
        assert all(v is not None for v in slow)
        assert [None if math.isnan(v) else v for v in fast.tolist()] == [None if math.isnan(v) else v for v in slow]


@settings(max_examples=300, deadline=None)
@given(cells=st.lists(st.lists(_CELL_PIECES, max_size=4).map("".join), min_size=1, max_size=12),
       decimal=st.sampled_from([".", ","]), thousands=st.sampled_from([None, ",", ".", " ", "'"]))
def test_a_column_parses_to_what_its_cells_parse_to(cells, decimal, thousands):
    """Table._parse (each distinct text parsed once, then mapped) gives every cell's own value
    and lists exactly the cells the cell parser refuses, in order."""
    from kamopt.data import table as t

    if thousands == decimal:
        return
    table = t.Table("x.csv", ("x",), {"x": list(cells)}, tuple(range(2, len(cells) + 2)),
                    t.TableOptions(decimal=decimal, thousands=thousands))
    values, bad = table._parse("x")
    parse = t._number_parser(decimal, thousands)
    slow = [parse(c) if c else math.nan for c in cells]
    assert bad == [i for i, v in enumerate(slow) if v is None]
    assert [None if math.isnan(v) else v for v in values.tolist()] == [
        None if v is None or math.isnan(v) else v for v in slow]
    filled = [c for c in cells if c]
    assert table.numeric_share("x") == ((len(filled) - len(bad)) / len(filled) if filled else 0.0)


@given(st.lists(st.one_of(st.integers(-10**12, 10**12).map(str), st.floats(allow_nan=False, allow_infinity=False)
                          .map(repr), st.floats(-1e6, 1e6).map(lambda v: f" {v:.3e}\t")), min_size=1),
       st.sampled_from([".", ","]))
def test_whole_column_parse_is_taken_for_plain_numbers(cells, decimal):
    from kamopt.data import table as t

    if decimal == ",":
        cells = [c.replace(".", ",") for c in cells]
    fast = t._all_numbers(cells, decimal, None)
    parse = t._number_parser(decimal, None)
    assert fast is not None and fast.tolist() == [parse(c) for c in cells]


def test_whole_column_parse_is_taken_for_a_plain_numeric_column():
    from kamopt.data import table as t

    assert t._all_numbers([" 1,5", "2", "-3e2 ", ",5"], ",", ".").tolist() == [1.5, 2.0, -300.0, 0.5]
    assert t._all_numbers(["1.234,5"], ",", ".") is None  # a separator: cell by cell checks its groups
    assert np.isnan(t._all_numbers(["1", "", "2"], ".", None)).tolist() == [False, True, False]  # blank
    assert t._all_numbers(["1", " ", "2"], ".", None) is None  # blanks only: the cell parser calls it bad
    assert t._all_numbers(["1\n2", "3"], ".", None) is None  # a line break inside a cell
    assert t._all_numbers(["1_000", "nan", "inf"][:1], ".", None) is None  # float() would take it
