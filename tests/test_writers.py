"""Result writing: atomic folders, deterministic numbers, spreadsheet-safe text."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kamopt.errors import OutputError
from kamopt.report.writers import csv_text, fmt, json_text, number_texts, output_folder, safe_text


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_prefixes_are_neutralised(text):
    assert safe_text(text) == "'" + text
    assert fmt(text) == "'" + text


def test_plain_text_and_numbers_are_untouched():
    assert safe_text("Compañía Ñandú S.A.") == "Compañía Ñandú S.A."
    assert [fmt(1.005, 2), fmt(-0.001, 2), fmt(3), fmt(np.float64(2.5)), fmt(True), fmt(None),
            fmt(float("nan"))] == ["1.00", "0.00", "3", "2.50", "true", "", ""]


def test_csv_is_deterministic_with_unix_newlines():
    rows = [["A1", 1.0, "=cmd"], ["A2", None, ""]]
    text = csv_text(["id", "value", "note"], rows)
    assert text == "id,value,note\nA1,1.00,'=cmd\nA2,,\n"
    assert text == csv_text(["id", "value", "note"], rows)


def test_json_refuses_nan():
    assert json.loads(json_text({"a": 1})) == {"a": 1}
    with pytest.raises(ValueError):
        json_text({"a": float("nan")})


def test_folder_appears_only_when_complete(tmp_path):
    out = tmp_path / "run"
    with output_folder(out) as folder:
        folder.text("a.txt", "one")
        assert not out.exists()  # nothing visible until the block ends
    assert (out / "a.txt").read_text(encoding="utf-8") == "one"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_failure_keeps_the_previous_results_and_leaves_no_debris(tmp_path):
    out = tmp_path / "run"
    with output_folder(out) as folder:
        folder.text("a.txt", "old")
    with pytest.raises(RuntimeError), output_folder(out, force=True) as folder:
        folder.text("a.txt", "new")
        raise RuntimeError("crash half-way")
    assert (out / "a.txt").read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_existing_results_need_force_but_an_empty_folder_does_not(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    with output_folder(out) as folder:
        folder.text("a.txt", "first")
    with pytest.raises(OutputError, match="already holds results") as err, output_folder(out):
        pass
    assert "--force" in (err.value.diagnostics[0].hint or "")
    with output_folder(out, force=True) as folder:
        folder.text("b.txt", "replaced")
    assert [p.name for p in out.iterdir()] == ["b.txt"]


def test_results_get_the_usual_permissions_not_owner_only(tmp_path):
    """Temporary files and folders are owner-only; the results must not stay that way."""
    import os
    import stat

    from kamopt.report.writers import output_folder, write_text_atomic

    mask = os.umask(0o022)
    try:
        with output_folder(tmp_path / "out") as folder:
            folder.text("a.txt", "x")
        write_text_atomic(tmp_path / "one.html", "x")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "out" / "a.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "one.html").stat().st_mode) == 0o644


@given(st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=0, max_value=4))
def test_cell_and_column_formatting_agree(value, decimals):
    """fmt (one cell) and number_texts (a column) must write the same text for any float."""
    assert fmt(value, decimals) == fmt(np.float64(value), decimals) == number_texts([value], decimals)[0]
    assert not fmt(value, decimals).startswith("-") or float(fmt(value, decimals)) < 0
