"""The bad-input matrix: every kind of broken file kamopt may be handed, through the real
command line, with the exact outcome.

Each case edits a private copy of the mini instance, runs ``kamopt solve POLICY --out DIR
--force`` over a folder that already holds a good plan, and asserts:

* the exit code (2 for invalid input);
* the message names the file, the line or row, and the field, and says what was expected
  and what was found (each case lists the fragments it needs);
* no traceback;
* the output folder is byte-for-byte what it was (a failed run loses nothing).

Cases whose input is fine (a BOM, blank lines...) must solve and exit 0.
"""

from __future__ import annotations

import errno
import hashlib
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner

from kamopt.cli import main

MINI = Path(__file__).parent / "data" / "mini"

ACCOUNTS_HEADER = "id,name,fit,revenue,is_competitor,current_tier"


def run(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # an uncaught exception is a traceback for a user
    return result.exit_code, result.output


def snapshot(folder: Path) -> dict[str, str]:
    """File -> sha256 of every file under ``folder`` (and the folder's own entries)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@dataclass
class Case:
    edit: Callable[[Path], Path | None]
    """Change the copy: receives the policy path (its folder holds accounts.csv); may return
    another path to hand to ``kamopt solve`` instead (a folder, a scenario)."""
    code: int
    fragments: tuple[str, ...] = ()
    """Regular expressions the output must contain (file, line, field, expected, found)."""


def policy_text(text: str) -> Callable[[Path], None]:
    def edit(policy: Path) -> None:
        policy.write_text(text, encoding="utf-8")
    return edit


def replace_in(name: str, old: str, new: str, count: int = 1) -> Callable[[Path], None]:
    def edit(policy: Path) -> None:
        path = policy.parent / name
        text = path.read_text(encoding="utf-8")
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, count), encoding="utf-8")
    return edit


def policy_edit(old: str, new: str) -> Callable[[Path], None]:
    return replace_in("policy.yaml", old, new)


def scenario(policy: Path, name: str, base_line: str) -> Path:
    path = policy.parent / name
    path.write_text(f"scenario: {path.stem}\n{base_line}\nset:\n  value.horizon_years: 2\n", encoding="utf-8")
    return path


def data_bytes(data: bytes) -> Callable[[Path], None]:
    def edit(policy: Path) -> None:
        (policy.parent / "accounts.csv").write_bytes(data)
    return edit


def data_lines(*lines: str) -> Callable[[Path], None]:
    return data_bytes(("\n".join(lines) + "\n").encode("utf-8"))


GOOD_ROWS = (ACCOUNTS_HEADER, "A1,Alpha,9,2000,no,", "A2,Beta,5,500,no,silver", "A3,Gamma,2,50,yes,",
             "A4,Delta,7,50,yes,gold")


def many_rows(bad_every: int) -> Callable[[Path], None]:
    """40 accounts; every ``bad_every``-th revenue cell is text (10 % when 10)."""
    rows = [ACCOUNTS_HEADER]
    for i in range(1, 41):
        revenue = "n/a" if i % bad_every == 0 else str(100 + i)
        rows.append(f"B{i},Account {i},5,{revenue},no,")
    return data_lines(*rows)


CASES: dict[str, Case] = {
    # ------------------------------------------------------------------ the policy file
    "policy: malformed YAML": Case(
        policy_edit("criteria:\n", "criteria: [\n"), 2, (r"policy\.yaml:\d+", r"(?i)yaml")),
    "policy: a tab in the indentation": Case(
        policy_edit("  fit: {weight", "\tfit: {weight"), 2, (r"policy\.yaml:5:1", r"(?i)tabs")),
    "policy: wrong type": Case(
        policy_edit("fte: 1,", "fte: many,"), 2,
        (r"policy\.yaml:23", r"resources\.kam_pools\.all\.fte", r"many")),
    "policy: unknown key, with a suggestion": Case(
        policy_edit("  kam_pools:", "  kam_pool:"), 2, (r"policy\.yaml:21", r"kam_pool", r"kam_pools")),
    "policy: missing required key": Case(
        policy_edit("data:\n  accounts: accounts.csv\n", ""), 2,
        (r"policy\.yaml:2:1: data: required key 'data' is missing",)),
    "policy: negative capacity": Case(
        policy_edit("fte: 1,", "fte: -1,"), 2, (r"policy\.yaml:23", r"resources\.kam_pools\.all\.fte", r"-1")),
    "policy: NaN capacity": Case(
        policy_edit("hours_per_fte: 200", "hours_per_fte: .nan"), 2,
        (r"policy\.yaml:23", r"hours_per_fte", r"(?i)nan")),
    "policy: infinite capacity": Case(
        policy_edit("hours_per_fte: 200", "hours_per_fte: .inf"), 2,
        (r"policy\.yaml:23", r"hours_per_fte", r"(?i)inf")),
    "policy: weights that do not sum to 1": Case(
        policy_edit("weight: 0.4", "weight: 0.7"), 2,
        (r"policy\.yaml:4:1: criteria: the weights must sum to 1, found 1\.3 \(fit 0\.6 \+ size 0\.7\)",)),
    "policy: an id referenced but not defined": Case(
        policy_edit("value:\n", "portfolio:\n  tiers:\n    platinum: {max: 2}\nvalue:\n"), 2,
        (r"policy\.yaml:26:5: portfolio\.tiers\.platinum: unknown tier 'platinum', expected one of 'gold', 'silver'",)),
    "policy: duplicate ids": Case(
        policy_edit("  silver:\n", "  gold:\n"), 2,
        (r"policy\.yaml:16:3: tiers\.gold: duplicate key 'gold' \(first at line 10\)",)),
    "policy: alias bomb": Case(
        policy_text("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))),
        2, (r"policy\.yaml", r"(?i)alias|too (large|big|many)")),
    "policy: a Python object tag": Case(
        policy_text("data: !!python/object/apply:os.system ['echo pwned']\n"), 2, (r"policy\.yaml:1", r"(?i)tag")),
    "policy: empty file": Case(policy_text(""), 2, (r"policy\.yaml", r"(?i)empty")),
    "policy: a 50 MB file": Case(
        policy_text("# padding\n" * 5_000_000), 2,
        (r"policy\.yaml: the policy file is too large", r"expected at most 5,000,000 bytes, found 50,000,000")),
    "policy: a folder given as the file": Case(lambda p: p.parent, 2, (r"mini: is a folder, not a policy file",)),
    "scenario: its base is itself": Case(
        lambda p: scenario(p, "loop.yaml", "base: loop.yaml"), 2, (r"loop\.yaml", r"(?i)cycle|itself|loop")),
    "scenario: a missing base": Case(
        lambda p: scenario(p, "orphan.yaml", "base: nowhere.yaml"), 2, (r"orphan\.yaml:\d+", r"nowhere\.yaml")),
    # ------------------------------------------------------------------ expressions
    "expression: a call outside the whitelist": Case(
        policy_edit("uplift: revenue * 0.1", "uplift: open('x')"), 2,
        (r"policy\.yaml:14", r"tiers\.gold\.uplift", r"open")),
    "expression: attribute access": Case(
        policy_edit("uplift: revenue * 0.1", "uplift: revenue.real"), 2,
        (r"policy\.yaml:14", r"tiers\.gold\.uplift")),
    "expression: a dunder name": Case(
        policy_edit("uplift: revenue * 0.1", "uplift: __class__"), 2,
        (r"policy\.yaml:14", r"tiers\.gold\.uplift", r"__class__")),
    "expression: very long": Case(
        policy_edit("uplift: revenue * 0.1", "uplift: " + " + ".join(["revenue"] * 3000)), 2,
        (r"policy\.yaml:14", r"tiers\.gold\.uplift", r"at most 2000 characters")),
    "expression: deeply nested": Case(
        policy_edit("uplift: revenue * 0.1", "uplift: " + "(" * 400 + "revenue" + ")" * 400), 2,
        (r"policy\.yaml:14", r"tiers\.gold\.uplift", r"(?i)nest|deep")),
    "expression: division by zero on some rows": Case(
        policy_edit("uplift: revenue * 0.1", "uplift: revenue / (fit - 5)"), 2,
        (r"policy\.yaml:14:5: tiers\.gold\.uplift: division by zero", r"on 1 row: A2 \(line 3 of accounts\.csv\)")),
    # ------------------------------------------------------------------ the data file
    "data: missing file": Case(
        lambda p: (p.parent / "accounts.csv").unlink(), 2, (r"accounts\.csv", r"does not exist")),
    "data: empty file": Case(data_bytes(b""), 2, (r"accounts\.csv", r"(?i)empty")),
    "data: header only": Case(
        data_lines(ACCOUNTS_HEADER), 2, (r"accounts\.csv:1: the file has a header but no data rows",)),
    "data: duplicate ids": Case(
        data_lines(*GOOD_ROWS, "A2,Beta again,5,500,no,"), 2,
        (r"accounts\.csv:6: id: duplicate id 'A2' on line 3 and line 6",)),
    "data: mixed delimiters": Case(
        data_lines(ACCOUNTS_HEADER, "A1,Alpha,9,2000,no,", "A2;Beta;5;500;no;silver", "A3,Gamma,2,50,yes,"),
        2, (r"accounts\.csv:3: wrong number of fields", r"expected 6 fields like the header, found 1 field",
            r"mixed delimiters\?")),
    "data: Latin-1 text without the option": Case(
        data_bytes("\n".join(GOOD_ROWS).replace("Alpha", "Compañía").encode("latin-1") + b"\n"), 2,
        (r"accounts\.csv:2: cannot decode the file as utf-8", r"set data\.encoding: latin-1")),
    "data: decimal commas without the option": Case(
        data_lines(ACCOUNTS_HEADER, 'A1,Alpha,9,"2000,5",no,', "A2,Beta,5,500,no,silver"), 2,
        (r"accounts\.csv:2: revenue: 1 cell is not a number", r"found '2000,5'", r"set data\.decimal: ','")),
    "data: thousands separators without the option": Case(
        data_lines(ACCOUNTS_HEADER, 'A1,Alpha,9,"2,000,000",no,', "A2,Beta,5,500,no,silver"), 2,
        (r"accounts\.csv:2: revenue: 1 cell is not a number", r"found '2,000,000'", r"set data\.thousands: ','")),
    "data: a column with 10 % non-numeric cells": Case(
        many_rows(10), 2, (r"accounts\.csv:11: revenue: 4 cells are not a number: line 11 \('n/a'\), "
                           r"line 21 \('n/a'\), line 31 \('n/a'\), line 41 \('n/a'\)",)),
    # ------------------------------------------------------------------ fine inputs
    "data: a byte-order mark is fine": Case(data_bytes(b"\xef\xbb\xbf" + "\n".join(GOOD_ROWS).encode() + b"\n"), 0),
    "data: blank lines are fine": Case(data_lines(GOOD_ROWS[0], GOOD_ROWS[1], "", GOOD_ROWS[2], "", *GOOD_ROWS[3:]), 0),
    "data: quoted fields with newlines are fine": Case(
        data_lines(ACCOUNTS_HEADER, 'A1,"Alpha\nHoldings",9,2000,no,', *GOOD_ROWS[2:]), 0),
}


@pytest.fixture(scope="module")
def good_plan(tmp_path_factory) -> Path:
    """A folder holding a good plan of the mini instance (what a failed run must not touch)."""
    folder = tmp_path_factory.mktemp("good") / "mini"
    shutil.copytree(MINI, folder)
    out = folder.parent / "plan"
    code, output = run("solve", folder / "policy.yaml", "--out", out)
    assert code == 0, output
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_matrix(name, tmp_path, good_plan):
    case = CASES[name]
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    policy = folder / "policy.yaml"
    policy = case.edit(policy) or policy
    out = tmp_path / "plan"
    shutil.copytree(good_plan, out)
    before = snapshot(out)
    started = time.perf_counter()
    code, output = run("solve", policy, "--out", out, "--force")
    assert code == case.code, output
    assert "Traceback" not in output
    for fragment in case.fragments:
        assert re.search(fragment, output), f"{fragment!r} not in:\n{output}"
    if case.code != 0:
        assert snapshot(out) == before, "a failed run changed the output folder"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["mini", "plan"], "debris left behind"
    assert time.perf_counter() - started < 30, "refused, but not quickly"


# ---------------------------------------------------------------------------- outputs
def test_output_inside_a_file_is_a_clear_error(tmp_path):
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    code, output = run("solve", folder / "policy.yaml", "--out", blocker / "plan")
    assert code == 2 and "a-file" in output and "Traceback" not in output
    assert blocker.read_text(encoding="utf-8") == "x"


class FailingOpen:
    """``open`` for the writers module whose ``n``-th file fails with ``failure`` half-way
    (a disk that fills up, a folder that turns read-only) or is interrupted by Ctrl-C."""

    def __init__(self, n: int, failure: BaseException):
        self.n, self.failure, self.calls = n, failure, 0

    def __call__(self, file, mode="r", *args, **kwargs):
        fh = open(file, mode, *args, **kwargs)
        if "w" not in mode:
            return fh
        self.calls += 1
        if self.calls != self.n:
            return fh
        failure = self.failure

        class HalfWritten:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                fh.close()

            def write(self, text):
                fh.write(text[: len(text) // 2])
                raise failure

        return HalfWritten()


def solve_over_good_plan(tmp_path, good_plan, monkeypatch, failing: FailingOpen) -> tuple[int, str, Path, dict]:
    from kamopt.report import writers

    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    out = tmp_path / "plan"
    shutil.copytree(good_plan, out)
    before = snapshot(out)
    monkeypatch.setattr(writers, "open", failing, raising=False)
    code, output = run("solve", folder / "policy.yaml", "--out", out, "--force")
    assert failing.calls >= failing.n, "the failure was never injected"
    return code, output, out, before


@pytest.mark.parametrize("failure", [
    OSError(errno.ENOSPC, "No space left on device"),
    PermissionError(errno.EACCES, "Permission denied"),
], ids=["disk full", "not writable"])
def test_disk_full_or_unwritable_keeps_the_previous_results(failure, tmp_path, good_plan, monkeypatch):
    """The third file fails half-way: the message names the file and the reason, the
    previous plan is intact and nothing is left behind."""
    code, output, out, before = solve_over_good_plan(tmp_path, good_plan, monkeypatch, FailingOpen(3, failure))
    assert code == 2, output
    assert "Traceback" not in output
    assert re.search(rf"{re.escape(out.name)}[/\\]\w+\.\w+", output), output  # plan/<file>
    assert failure.strerror in output
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mini", "plan"], "debris left behind"


def test_interrupted_mid_write_keeps_the_previous_results(tmp_path, good_plan, monkeypatch):
    code, output, out, before = solve_over_good_plan(
        tmp_path, good_plan, monkeypatch, FailingOpen(2, KeyboardInterrupt()))
    assert code == 130, output
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mini", "plan"], "debris left behind"


# ---------------------------------------------------------------------------- solving
def test_every_account_ineligible_is_a_plan_with_no_key_accounts(tmp_path):
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    replace_in("policy.yaml", "is_competitor == 'no'", "is_competitor == 'never'")(folder / "policy.yaml")
    code, output = run("solve", folder / "policy.yaml", "--out", tmp_path / "plan",
                       "--set", "portfolio.incumbents.exempt_from_rules=false")
    assert code == 0, output
    assert re.search(r"key accounts\s*│\s*0\b", output), output
    excluded = (tmp_path / "plan" / "excluded.csv").read_text(encoding="utf-8").splitlines()
    assert len(excluded) == 1 + 4 and all("not_competitor" in line for line in excluded[1:])


def test_zero_capacity_promotes_no_one_and_says_which_capacity_binds(tmp_path):
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    code, output = run("solve", folder / "policy.yaml", "--out", tmp_path / "plan",
                       "--set", "resources.kam_pools.all.fte=0", "--set", "portfolio.incumbents.demotion=allow")
    assert code == 0, output
    assert re.search(r"key accounts\s*│\s*0\b", output), output


def test_a_missing_solver_is_a_clear_error(tmp_path, monkeypatch):
    from kamopt.model import solvers

    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    monkeypatch.setattr(solvers, "solver_available", lambda name: name == "highs")
    code, output = run("solve", folder / "policy.yaml", "--out", tmp_path / "plan", "--solver", "cbc")
    assert code == 2, output
    assert "solver 'cbc' is not available (available: highs)" in output and "Traceback" not in output
    assert not (tmp_path / "plan").exists()
