"""kamopt compare on the bundled sample: real differences between what-ifs, and the files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import kamopt
from kamopt.cli import main
from kamopt.errors import PolicyError
from kamopt.whatif import comparison_table

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "policies" / "default.yaml"
SCENARIOS = ROOT / "scenarios"


def rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "c"
    r = CliRunner().invoke(main, ["compare", str(POLICY), str(SCENARIOS / "hiring-freeze.yaml"),
                                  str(SCENARIOS / "budget-cut.yaml"), "--out", str(out), "--jobs", "2"])
    assert r.exit_code == 0, r.output
    return out, r.output


def summary_of(out: Path, run: str) -> dict:
    return json.loads((out / run / "summary.json").read_text(encoding="utf-8"))


def test_every_run_has_its_plan_folder_and_a_row(compared):
    out, output = compared
    table = rows(out / "comparison.csv")
    assert [r["scenario"] for r in table] == ["base", "hiring-freeze", "budget-cut"]
    for r in table:
        s = summary_of(out, r["scenario"])
        assert r["status"] == s["status"] == "optimal"
        assert float(r["objective"]) == pytest.approx(s["objective"], abs=0.01)
        assert (out / r["scenario"] / "portfolio.csv").exists()
    assert summary_of(out, "hiring-freeze")["scenario"]["name"] == "hiring-freeze"
    assert "hiring-freeze" in output and "budget-cut" in output


def test_hiring_freeze_hires_nothing_and_cannot_beat_the_base(compared):
    out, _ = compared
    base, freeze = summary_of(out, "base"), summary_of(out, "hiring-freeze")
    assert sum(base["hires"].values()) >= 1  # the base does hire, so the freeze bites
    assert sum(freeze["hires"].values()) == 0
    assert freeze["objective"] <= base["bound"] + 1e-6 * abs(base["bound"])
    row = rows(out / "comparison.csv")[1]
    assert float(row["hires_total"]) == 0 and float(row["objective_change"]) <= 0


def test_budget_cut_stays_inside_the_smaller_budget(compared):
    out, _ = compared
    cut = summary_of(out, "budget-cut")
    assert cut["budget"] == pytest.approx(0.8 * summary_of(out, "base")["budget"])
    assert cut["annual_cost"] <= cut["budget"] + 1e-6
    assert any(line.startswith("resources.budget: ") for line in cut["overrides"])


def test_changes_list_exactly_the_accounts_that_differ_from_the_base(compared):
    out, _ = compared

    def tiers(run):
        return {r["account_id"]: r["decision"] for r in rows(out / run / "portfolio.csv") if r["decision"] != "none"}

    base = tiers("base")
    changes = rows(out / "changes.csv")
    table = {r["scenario"]: r for r in rows(out / "comparison.csv")}
    for run in ("hiring-freeze", "budget-cut"):
        other = tiers(run)
        mine = {r["account_id"]: r for r in changes if r["scenario"] == run}
        assert {a for a, r in mine.items() if r["change"] == "enters"} == set(other) - set(base)
        assert {a for a, r in mine.items() if r["change"] == "leaves"} == set(base) - set(other)
        moved = {a for a in set(base) & set(other) if base[a] != other[a]}
        assert {a for a, r in mine.items() if r["change"] == "changes tier"} == moved
        assert int(table[run]["accounts_in"]) == len(set(other) - set(base))


def test_workbook_has_the_base_plan_and_the_scenarios(compared):
    import openpyxl

    out, _ = compared
    wb = openpyxl.load_workbook(out / "plan.xlsx")
    assert wb.sheetnames[:2] == ["Summary", "Portfolio"]
    assert wb.sheetnames[-2:] == ["Scenarios", "Scenario changes"]
    names = [r[0] for r in wb["Scenarios"].iter_rows(min_row=2, values_only=True)]
    assert names == ["base", "hiring-freeze", "budget-cut"]


def test_a_scenario_of_another_base_or_a_plain_policy_is_refused(tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text((ROOT / "tests" / "data" / "mini" / "policy.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "accounts.csv").write_text(
        (ROOT / "tests" / "data" / "mini" / "accounts.csv").read_text(encoding="utf-8"), encoding="utf-8")
    foreign = tmp_path / "foreign.yaml"
    foreign.write_text("base: other.yaml\nset: {resources.kam_pools.all.fte: 2}\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="is based on"):
        kamopt.compare(POLICY, [foreign], tmp_path / "out")
    with pytest.raises(PolicyError, match="is a policy, not a scenario"):
        kamopt.compare(POLICY, [other], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_interrupted_compare_keeps_finished_runs_and_no_half_plans(tmp_path):
    def stop_after_base(kind, payload):
        if kind == "done":
            raise KeyboardInterrupt

    cmp = kamopt.compare(POLICY, [SCENARIOS / "budget-cut.yaml", SCENARIOS / "strict-solvency.yaml"],
                         tmp_path / "c", workers=1, solver={"gap": 0.01}, on_event=stop_after_base)
    assert cmp.interrupted and cmp.finished == 1
    table = rows(tmp_path / "c" / "comparison.csv")
    assert [r["status"] for r in table][1:] == ["not run (interrupted)"] * 2
    assert (tmp_path / "c" / "base" / "summary.json").exists()
    assert not (tmp_path / "c" / "budget-cut").exists()


def test_comparison_rows_line_up_with_the_header(compared):
    out, _ = compared
    with open(out / "comparison.csv", encoding="utf-8", newline="") as fh:
        lines = list(csv.reader(fh))
    assert len({len(line) for line in lines}) == 1


def test_failed_run_is_reported_not_raised(tmp_path):
    from kamopt.runs import Outcome, RunSpec
    from kamopt.whatif import Comparison

    cmp = Comparison([RunSpec("base", "p.yaml"), RunSpec("x", "x.yaml")],
                     [None, Outcome(1, "x", 3, error="infeasible: no plan")], False, [], [], [], "EUR")
    header, table = comparison_table(cmp)
    assert table[1][header.index("status")] == "error" and "infeasible" in table[1][header.index("error")]
    assert all(len(r) == len(header) for r in table)


def test_a_scenario_no_plan_can_meet_has_its_status_and_diagnosis_and_no_counts(tmp_path):
    """Counting an infeasible run's empty plan said '29 demoted' and 'verified: no'."""
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(f"scenario: tiny\nbase: {POLICY.resolve()}\nset:\n  portfolio.key_accounts.max: 30\n",
                        encoding="utf-8")
    out = tmp_path / "c"
    r = CliRunner().invoke(main, ["compare", str(POLICY), str(scenario), "--out", str(out), "--jobs", "1"])
    assert r.exit_code == 3, r.output
    tiny = rows(out / "comparison.csv")[1]
    assert tiny["scenario"] == "tiny" and tiny["status"] == "infeasible"
    assert all(tiny[k] == "" for k in ("key_accounts", "demoted", "promoted", "verified", "accounts_out"))
    assert tiny["diagnosis"].startswith("max_key_accounts = 30 cannot be met by adding capacity")
    assert "tiny: the policy cannot be met. What conflicts, and the smallest relaxations:" in r.output
    assert (out / "tiny" / "diagnosis.txt").read_text(encoding="utf-8").startswith(tiny["diagnosis"].split(" | ")[0])


def test_ctrl_c_on_the_command_line_keeps_finished_runs_and_exits_130(tmp_path):
    """A real SIGINT to a running `kamopt compare`: the base finishes, the rest is dropped."""
    import os
    import signal
    import subprocess
    import sys
    import time

    kamopt_bin = Path(sys.executable).with_name("kamopt")
    out = tmp_path / "c"
    proc = subprocess.Popen(
        [str(kamopt_bin), "compare", str(POLICY), str(SCENARIOS / "budget-cut.yaml"),
         str(SCENARIOS / "strict-solvency.yaml"), str(SCENARIOS / "more-sponsors.yaml"), "--out", str(out),
         "--jobs", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(tmp_path.glob(".c.*.tmp/base/summary.json")):
        time.sleep(0.05)
    assert list(tmp_path.glob(".c.*.tmp/base/summary.json")), "the base run never finished"
    # summary.json is the last file of the base's folder; a moment later the run is recorded
    # and the next (a few seconds of solving) has started: interrupt that one
    time.sleep(1.0)
    os.kill(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted; kept the" in stderr and "Traceback" not in stderr + stdout
    table = rows(out / "comparison.csv")
    kept = [r["scenario"] for r in table if r["status"] != "not run (interrupted)"]
    assert kept[0] == "base" and len(kept) < 4
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(kept)
    assert not list(tmp_path.glob(".c.*"))  # no temporary folder left behind


@pytest.mark.parametrize("given, policy_threads, expected", [
    ({}, 0, 1),                 # nobody chose: one thread per run, whatever the worker count
    ({"threads": 2}, 0, 2),     # --threads wins
    ({}, 3, None),              # the policy's solver.threads is left to apply
])
def test_each_run_gets_one_solver_thread_unless_told(monkeypatch, tmp_path, given, policy_threads, expected):
    import kamopt.plan
    from kamopt.runs import RunSpec, run_all

    seen = []

    def fake_solve(loaded, **kwargs):
        seen.append(kwargs.get("threads"))
        raise RuntimeError("stop here")

    monkeypatch.setattr(kamopt.plan, "solve", fake_solve)
    overrides = (f"solver.threads={policy_threads}",)
    outcomes, _ = run_all([RunSpec("a", str(POLICY), overrides, dict(given))], workers=1)
    assert seen == [expected]
    assert outcomes[0].error == "internal error RuntimeError: stop here"


@pytest.mark.parametrize("kept_before", [False, True])
def test_runs_in_this_process_share_their_tables_and_leave_the_setting_as_it_was(monkeypatch, kept_before):
    """A compare's runs read the same files: with one worker (this process) the second run
    reuses the first one's tables (in worker processes, _worker_init keeps them); the
    caller's own keep_tables setting is back afterwards."""
    import kamopt.data.accounts
    from kamopt.data.table import keep_tables
    from kamopt.runs import RunSpec, run_all

    tables = []
    read = kamopt.data.accounts.read_table

    def spy(*args, **kwargs):
        tables.append(read(*args, **kwargs))
        return tables[-1]

    monkeypatch.setattr(kamopt.data.accounts, "read_table", spy)
    before = keep_tables(kept_before)
    try:
        specs = [RunSpec(name, str(POLICY), (), {"method": "greedy"}) for name in ("a", "b")]
        outcomes, _ = run_all(specs, workers=1)
        assert [o.error for o in outcomes] == [None, None]  # greedy plans (exit 6: they break a rule)
        assert len(tables) == 6  # accounts, KAMs and fit table, per run
        assert [t is u for t, u in zip(tables[:3], tables[3:])] == [True] * 3
        assert keep_tables(kept_before) is kept_before
    finally:
        keep_tables(before)


@pytest.mark.parametrize("widths, room, blocks", [
    ([10, 10, 10], 200, [[0, 1, 2]]),                 # fits: one table
    ([10, 10, 10, 10], 60, [[0, 1, 2], [0, 3]]),      # 20 + 4 x 12 = 68 > 60: base repeated in the next
    ([10, 40, 10], 60, [[0, 1], [0, 2]]),
    ([10, 60, 10], 60, [[0, 1], [0, 2]]),             # too wide even beside the base alone: still shown
    ([], 80, []),
])
def test_a_comparison_too_wide_for_the_terminal_is_split_into_blocks(widths, room, blocks):
    from kamopt.cli import column_blocks

    assert column_blocks(20, widths, room) == blocks


def test_cli_compare_in_a_narrow_terminal_cuts_no_cell(tmp_path):
    r = CliRunner().invoke(main, ["compare", str(POLICY), *map(str, sorted(SCENARIOS.glob("*.yaml"))),
                                  "--out", str(tmp_path / "c"), "--jobs", "2"], terminal_width=80)
    assert r.exit_code == 0, r.output
    assert "Comparison (continued: base and the next runs)" in r.output
    table = [line for line in r.output.splitlines() if " vs base: " not in line and "written to" not in line]
    assert all(len(line) <= 80 and "…" not in line for line in table)
    for line in table:
        if line.strip().startswith("budget_used_pct"):
            assert line.rstrip().endswith("%")  # '84.7 %' on one line, never '84.7' over '%'
