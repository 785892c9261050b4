"""Result writing: atomic folders, deterministic numbers, spreadsheet-safe text."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import time

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


CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6),
    st.sampled_from(["=1+1", "+1", "-1", "@x", "\tx", "\rx", "", "-0.00", -0.0, -0.004, -1e-9, 0.005]),
    st.none(), st.booleans(),
    st.integers(min_value=-10**20, max_value=10**20), st.floats(width=32).map(np.float32),
    st.integers(min_value=-5, max_value=5).map(np.int64), st.booleans().map(np.bool_),
)


@given(st.lists(st.lists(CELLS, max_size=6), max_size=5), st.integers(min_value=0, max_value=4))
def test_csv_rows_write_each_cell_as_fmt_does(rows, decimals):
    """write_csv formats text and floats inline (it runs once per cell): every row must
    still be the CSV line of fmt's text for each cell, whatever its type."""
    want = io.StringIO()
    writer = csv.writer(want, lineterminator="\n")
    writer.writerow(["h"])
    writer.writerows([fmt(c, decimals) for c in row] for row in rows)
    assert csv_text(["h"], rows, decimals) == want.getvalue()


# --------------------------------------------------------------------------- a file written beside
def _pid_bytes() -> bytes:
    return str(os.getpid()).encode()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks on Linux only (elsewhere: in-process)")
def test_a_file_beside_is_written_by_a_child_process_while_the_block_runs(tmp_path):
    with output_folder(tmp_path / "run") as folder:
        with folder.binary_beside("big.bin", _pid_bytes):
            folder.text("small.txt", "x")
        assert int((folder.path / "big.bin").read_bytes()) != os.getpid()  # there when the block ends
    assert (tmp_path / "run" / "small.txt").exists()
    with output_folder(tmp_path / "here") as folder, folder.binary_beside("big.bin", _pid_bytes, fork=False):
        pass
    assert int((tmp_path / "here" / "big.bin").read_bytes()) == os.getpid()


def test_when_the_child_fails_the_file_is_written_here_where_errors_are_raised(tmp_path):
    parent = os.getpid()

    def only_here() -> bytes:
        if os.getpid() != parent:
            raise RuntimeError("the child fails")
        return b"written here"

    with output_folder(tmp_path / "run") as folder, folder.binary_beside("big.bin", only_here):
        pass
    assert (tmp_path / "run" / "big.bin").read_bytes() == b"written here"

    def fails() -> bytes:
        raise RuntimeError("no bytes")

    with pytest.raises(RuntimeError, match="no bytes"), output_folder(tmp_path / "bad") as folder:
        with folder.binary_beside("big.bin", fails):
            pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks on Linux only (elsewhere: in-process)")
def test_a_stuck_child_is_stopped_and_the_file_written_here(tmp_path, monkeypatch):
    import kamopt.report.writers as writers

    monkeypatch.setattr(writers, "CHILD_PATIENCE_S", 0.2)
    parent = os.getpid()
    pids = tmp_path / "child.pid"

    def stuck_in_the_child() -> bytes:
        if os.getpid() != parent:
            pids.write_text(str(os.getpid()))
            time.sleep(600)
        return b"written here"

    with output_folder(tmp_path / "run") as folder, folder.binary_beside("big.bin", stuck_in_the_child):
        pass
    assert (tmp_path / "run" / "big.bin").read_bytes() == b"written here"
    with pytest.raises(ProcessLookupError):  # stopped and reaped: no such process any more
        os.kill(int(pids.read_text()), 0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks on Linux only (elsewhere: in-process)")
def test_an_error_in_the_block_stops_the_child_and_leaves_nothing(tmp_path):
    parent = os.getpid()
    pids = tmp_path.parent / f"{tmp_path.name}.child.pid"

    def slow_in_the_child() -> bytes:
        if os.getpid() != parent:
            pids.write_text(str(os.getpid()))
            time.sleep(600)
        return b""

    with pytest.raises(KeyboardInterrupt), output_folder(tmp_path / "run") as folder:
        with folder.binary_beside("big.bin", slow_in_the_child):
            for _ in range(2000):  # until the child has started
                if pids.exists() and pids.read_text():
                    break
                time.sleep(0.005)
            raise KeyboardInterrupt
    with pytest.raises(ProcessLookupError):
        os.kill(int(pids.read_text()), 0)
    assert list(tmp_path.iterdir()) == []


def test_a_plan_folder_is_the_same_bytes_with_its_workbook_written_beside_or_here(tmp_path, monkeypatch):
    """write_plan hands plan.xlsx to a child process from WORKBOOK_BESIDE_ACCOUNTS accounts."""
    from pathlib import Path

    import kamopt
    import kamopt.report.plan_tables as plan_tables

    plan = kamopt.solve(kamopt.load_policy(Path(__file__).parent.parent / "policies" / "default.yaml"))
    folders = {}
    for label, threshold in (("beside", 0), ("here", 10**9)):
        monkeypatch.setattr(plan_tables, "WORKBOOK_BESIDE_ACCOUNTS", threshold)
        with output_folder(tmp_path / label) as folder:
            plan_tables.write_plan(plan, folder)
        folders[label] = {p.name: p.read_bytes() for p in sorted((tmp_path / label).iterdir())}
    assert "plan.xlsx" in folders["here"] and folders["beside"] == folders["here"]
