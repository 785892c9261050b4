"""The command line end to end, through click's runner: every command, every exit code,
every class of bad input (each a located message, never a traceback)."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import kamopt
from kamopt.cli import main

MINI = Path(__file__).parent / "data" / "mini"
README = Path(__file__).parent.parent / "README.md"


@pytest.fixture
def mini(tmp_path) -> Path:
    """A private copy of the mini policy and its data; returns the policy path."""
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    return folder / "policy.yaml"


def run(*args: str):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)
    # No command may end in an uncaught exception (that would be a traceback for a user).
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# --------------------------------------------------------------------------- exit 0
def test_validate_reports_counts(mini):
    r = run("validate", mini)
    assert r.exit_code == 0, r.output
    assert "valid" in r.output and "4 accounts" in r.output and "3 candidates" in r.output


def test_screen_writes_every_account_and_the_excluded(mini, tmp_path):
    r = run("screen", mini, "--out", tmp_path / "s")
    assert r.exit_code == 0, r.output
    screened = rows(tmp_path / "s" / "screening.csv")
    assert [x["account_id"] for x in screened] == ["A1", "A2", "A3", "A4"]
    assert screened[0]["name"] == "Compañía Ñandú S.A."
    assert screened[0]["gold_value"] == "190.00" and screened[0]["score"] == "9.40"
    (excluded,) = rows(tmp_path / "s" / "excluded.csv")
    assert excluded["account_id"] == "A3" and excluded["failed_rules"] == "not_competitor"


def test_solve_writes_the_plan_and_exits_0(mini, tmp_path):
    r = run("solve", mini, "--out", tmp_path / "p")
    assert r.exit_code == 0, r.output
    out = tmp_path / "p"
    assert sorted(p.name for p in out.iterdir()) == [
        "excluded.csv", "explanations.csv", "hiring.csv", "plan.xlsx", "portfolio.csv", "resources.csv",
        "sponsorship.csv", "summary.json", "support.csv", "violations.csv"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for key in ("status", "objective", "bound", "gap", "solver", "solve_seconds", "greedy_objective",
                "policy_sha256", "data_sha256", "kamopt_version"):
        assert key in summary, key
    assert summary["status"] == "optimal" and summary["verified"] is True
    # 200 h of KAM time: A1 gold (100 h) and the two incumbents at silver/gold would need 250 h,
    # so the incumbents A2 (silver, 50 h) and A4 (gold, 100 h) stay and A1 fits only at silver.
    decisions = {x["account_id"]: x["decision"] for x in rows(out / "portfolio.csv")}
    assert decisions == {"A1": "silver", "A2": "silver", "A3": "none", "A4": "gold"}
    assert summary["objective"] == pytest.approx(96 + 21 - 5 - 2 * 0)  # values net of cost
    assert "independent check" in r.output and "passed" in r.output


def test_check_accepts_the_solved_plan(mini, tmp_path):
    assert run("solve", mini, "--out", tmp_path / "p").exit_code == 0
    r = run("check", mini, tmp_path / "p")
    assert r.exit_code == 0, r.output
    assert "passed" in r.output and "optimum" in r.output


# --------------------------------------------------------------------------- exit 2
def test_unknown_key_is_located_with_did_you_mean(mini):
    edit(mini, "  gold:\n    min_score: 6", "  gold:\n    min_scor: 6")
    r = run("validate", mini)
    assert r.exit_code == 2
    assert re.search(r"policy\.yaml:\d+:\d+: tiers\.gold\.min_scor", r.output)
    assert "did you mean 'min_score'" in r.output
    assert "Traceback" not in r.output


def test_every_policy_error_is_reported_at_once(mini):
    edit(mini, "  gold:\n    min_score: 6", "  gold:\n    min_score: high")
    edit(mini, "horizon_years: 1", "horizon_years: -1")
    r = run("validate", mini)
    assert r.exit_code == 2
    assert "tiers.gold.min_score" in r.output and "value.horizon_years" in r.output


def test_yaml_tags_that_build_objects_are_refused(mini):
    edit(mini, "value:\n", "evil: !!python/object/apply:os.system ['echo hacked']\nvalue:\n")
    r = run("validate", mini)
    assert r.exit_code == 2 and "hacked" not in r.output
    assert "tag" in r.output.lower()


def test_expression_syntax_error_points_at_the_character(mini):
    edit(mini, "is_competitor == 'no'", "is_competitor === 'no'")
    r = run("validate", mini)
    assert r.exit_code == 2
    assert "eligibility.not_competitor" in r.output and "^" in r.output


def test_missing_column_names_the_file_and_column(mini):
    edit(mini.parent / "accounts.csv", "id,name,fit,", "id,name,fitness,")
    r = run("validate", mini)
    assert r.exit_code == 2
    assert "fit" in r.output and "fitness" in r.output


def test_non_numeric_cell_names_file_line_and_column(mini):
    edit(mini.parent / "accounts.csv", "A2,Beta,5,500", "A2,Beta,5,lots")
    r = run("validate", mini)
    assert r.exit_code == 2
    assert "accounts.csv" in r.output and "line 3" in r.output and "revenue" in r.output
    assert "lots" in r.output
    # revenue feeds a criterion and two tiers' uplift: the bad cell is still reported once
    assert r.output.count("accounts.csv:3: revenue") == 1, r.output


def test_duplicate_ids_are_an_error(mini):
    edit(mini.parent / "accounts.csv", "A2,Beta", "A1,Beta")
    r = run("validate", mini)
    assert r.exit_code == 2 and "A1" in r.output and "accounts.csv" in r.output


def test_empty_table_is_an_error(mini):
    (mini.parent / "accounts.csv").write_text("id,name,fit,revenue,is_competitor,current_tier\n",
                                              encoding="utf-8")
    r = run("validate", mini)
    assert r.exit_code == 2 and "accounts.csv" in r.output and "no" in r.output.lower()


def test_missing_policy_file(tmp_path):
    r = run("validate", tmp_path / "nope.yaml")
    assert r.exit_code == 2 and "nope.yaml" in r.output


def test_bad_override_is_located(mini):
    r = run("validate", mini, "--set", "tiers.gold.min_score=lots")
    assert r.exit_code == 2 and "tiers.gold.min_score" in r.output


def test_existing_output_needs_force_and_is_left_untouched(mini, tmp_path):
    out = tmp_path / "p"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    r = run("solve", mini, "--out", out)
    assert r.exit_code == 2 and "--force" in r.output
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_failed_run_leaves_no_partial_folder(mini, tmp_path):
    edit(mini.parent / "accounts.csv", "A2,Beta,5,500", "A2,Beta,5,lots")
    r = run("solve", mini, "--out", tmp_path / "p")
    assert r.exit_code == 2
    assert not (tmp_path / "p").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".p", "p."))]


# --------------------------------------------------------------------------- exits 3, 4, 5, 6
def test_infeasible_exits_3_with_a_diagnosis(mini, tmp_path):
    r = run("solve", mini, "--out", tmp_path / "p", "--set", "portfolio.key_accounts.min=3",
            "--set", "resources.kam_pools.all.fte=0.5")
    assert r.exit_code == 3, r.output
    diagnosis = (tmp_path / "p" / "diagnosis.txt").read_text(encoding="utf-8")
    assert "min_key_accounts = 3 needs" in diagnosis and "kam_hours[all]" in diagnosis
    summary = json.loads((tmp_path / "p" / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "infeasible" and summary["diagnosis"]
    assert "cannot be met" in r.output


def stub_status(monkeypatch, status):
    from kamopt.model import optimise as optimise_module
    from kamopt.model.solvers import RawResult

    monkeypatch.setattr(optimise_module, "run", lambda model, options, start=None:
                        RawResult(status, None, None, None, 0.5, "highs", "stub"))


def test_time_limit_without_solution_exits_4_and_is_not_called_infeasible(mini, tmp_path, monkeypatch):
    from kamopt.model.solution import Status

    stub_status(monkeypatch, Status.TIME_LIMIT_NO_SOLUTION)
    r = run("solve", mini, "--out", tmp_path / "p")
    assert r.exit_code == 4, r.output
    summary = json.loads((tmp_path / "p" / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "time_limit_no_solution"
    assert "infeasible" not in r.output.lower()
    assert not (tmp_path / "p" / "diagnosis.txt").exists()


def test_solver_error_exits_5(mini, tmp_path, monkeypatch):
    from kamopt.model.solution import Status

    stub_status(monkeypatch, Status.ERROR)
    r = run("solve", mini, "--out", tmp_path / "p")
    assert r.exit_code == 5, r.output


def test_greedy_that_breaks_a_minimum_exits_6(mini, tmp_path):
    # greedy has no hiring and fills by score; a minimum of 3 key accounts needs 250 h of 200 h
    r = run("solve", mini, "--out", tmp_path / "p", "--method", "greedy",
            "--set", "portfolio.key_accounts.min=3", "--set", "resources.kam_pools.all.fte=0.5")
    assert r.exit_code == 6, r.output
    assert "violation" in r.output


def test_the_rules_the_greedy_baseline_breaks_are_named(tmp_path):
    # the bundled sample: greedy fills by score and falls short of the enterprise share
    r = run("solve", Path(__file__).parents[1] / "policies" / "default.yaml", "--out", tmp_path / "p")
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "p" / "summary.json").read_text(encoding="utf-8"))
    assert summary["greedy_feasible"] is False
    assert [m.split(":")[0] for m in summary["greedy_violations"]] == ["quota_min_share[enterprise_core]"]
    assert re.search(r"greedy breaks\s+│ quota_min_share\[enterprise_core\]", r.output), r.output


def test_check_of_a_hand_made_plan_lists_violations_with_amounts(mini, tmp_path):
    plan = tmp_path / "plan.csv"
    plan.write_text("account_id,tier\nA1,gold\nA2,gold\nA4,gold\n", encoding="utf-8")
    r = run("check", mini, plan, "--no-optimum")
    assert r.exit_code == 6, r.output
    assert "admissible[A2]" in r.output  # A2 scores 5.4: gold needs 6
    plan.write_text("account_id,tier\nA1,gold\nA2,silver\nA4,gold\n", encoding="utf-8")
    r = run("check", mini, plan, "--no-optimum")
    assert r.exit_code == 6, r.output
    assert re.search(r"kam_hours\[all\]: uses 250 h of 200 h \(50 h over\)", r.output), r.output


def test_check_puts_an_account_the_plan_may_not_hold_first_and_counts_the_rest(tmp_path):
    # the bundled sample, a spreadsheet with three accounts: 29 incumbents left out, and
    # A-0001 (admitted to no tier) at gold, which is what the planner must see first
    plan = tmp_path / "plan.csv"
    plan.write_text("account_id,tier\nA-0001,gold\nA-0006,silver\nA-0010,bronze\n", encoding="utf-8")
    r = run("check", Path(__file__).parents[1] / "policies" / "default.yaml", plan, "--no-optimum")
    assert r.exit_code == 6, r.output
    shown = [x.strip() for x in r.output.splitlines() if x.strip().startswith("violation ")]
    assert len(shown) == 20 and shown[0].startswith("violation admissible[A-0001]: promoted to gold")
    rest = next(x for x in r.output.splitlines() if x.strip().startswith("... and "))
    assert rest.strip() == "... and 14 more: 13 no_demotion, 1 override_in"  # no file to point to
    assert not any("kam_assign" in x for x in shown)  # the sheet names no KAMs: kamopt staffed it


def test_check_against_a_policy_no_plan_can_meet_says_so_with_the_diagnosis(tmp_path):
    # the sample's incumbents alone are 29: at most 10 key accounts, no optimum exists
    plan = tmp_path / "plan.csv"
    plan.write_text("account_id,tier\nA-0006,silver\n", encoding="utf-8")
    r = run("check", Path(__file__).parents[1] / "policies" / "default.yaml", plan,
            "--set", "portfolio.key_accounts.max=10", "--set", "portfolio.key_accounts.min=1")
    assert r.exit_code == 6, r.output
    assert "optimum: none: the policy cannot be met by any plan." in r.output
    assert "  - max_key_accounts = 10 cannot be met by adding capacity; it conflicts with " in r.output


def test_a_plan_folder_without_a_portfolio_says_why(mini, tmp_path):
    infeasible = tmp_path / "infeasible"  # what kamopt solve leaves when no plan exists
    infeasible.mkdir()
    (infeasible / "summary.json").write_text('{"status": "infeasible"}', encoding="utf-8")
    r = run("explain", mini, infeasible, "A1")
    assert r.exit_code == 2
    assert "found the policy infeasible, so it holds no plan; diagnosis.txt there says what conflicts" in r.output
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run("check", mini, empty)
    assert r.exit_code == 2 and "not a folder written by kamopt solve" in r.output and "Traceback" not in r.output


def test_check_names_unknown_accounts_and_tiers(mini, tmp_path):
    plan = tmp_path / "plan.csv"
    plan.write_text("account_id,tier\nA9,gold\nA1,platinum\n", encoding="utf-8")
    r = run("check", mini, plan, "--no-optimum")
    assert r.exit_code == 2
    assert "plan.csv:2: account_id: no account 'A9'" in r.output
    assert "plan.csv:3: tier: unknown tier 'platinum'" in r.output


def test_unknown_option_is_a_usage_error(mini):
    for args in (("solve", mini, "--frobnicate"), ("nonsense",), ("solve",), ("solve", mini, "--method", "magic")):
        r = run(*args)
        assert r.exit_code == 1, (args, r.output)
        assert "Usage:" in r.output


def test_internal_error_is_one_line_not_a_traceback(mini, tmp_path, monkeypatch):
    from kamopt import api

    def boom(*a, **k):
        raise RuntimeError("kaput")

    monkeypatch.setattr(api, "solve", boom)
    r = run("solve", mini, "--out", tmp_path / "p")
    assert r.exit_code == 70
    assert "internal error" in r.output and "kaput" in r.output and "Traceback" not in r.output


def test_interrupt_leaves_nothing_behind(mini, tmp_path, monkeypatch):
    from kamopt import api

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "solve", interrupted)
    r = run("solve", mini, "--out", tmp_path / "p")
    assert r.exit_code == 130 and not (tmp_path / "p").exists()


# --------------------------------------------------------------------------- outputs
def test_formula_like_text_is_neutralised(mini, tmp_path):
    edit(mini.parent / "accounts.csv", "A2,Beta", 'A2,"=HYPERLINK(""http://x"",""y"")"')
    assert run("solve", mini, "--out", tmp_path / "p").exit_code == 0
    names = {x["account_id"]: x["name"] for x in rows(tmp_path / "p" / "portfolio.csv")}
    assert names["A2"].startswith("'=HYPERLINK")


def test_same_inputs_give_byte_identical_outputs(mini, tmp_path):
    for name in ("a", "b"):
        assert run("solve", mini, "--out", tmp_path / name).exit_code == 0
    for file in sorted((tmp_path / "a").iterdir()):
        first, second = file.read_bytes(), (tmp_path / "b" / file.name).read_bytes()
        if file.name == "summary.json":  # wall-clock seconds are the documented exception
            first, second = (re.sub(rb'"(solve|build)_seconds": [0-9.e-]+', b"", x) for x in (first, second))
        assert first == second, file.name


def test_schema_is_json_schema(tmp_path):
    r = run("schema")
    assert r.exit_code == 0
    schema = json.loads(r.output)
    assert {"data", "criteria", "tiers", "resources", "portfolio", "value", "solver"} <= set(schema["properties"])
    assert run("schema", "--out", tmp_path / "s.json").exit_code == 0
    assert json.loads((tmp_path / "s.json").read_text(encoding="utf-8")) == schema


# --------------------------------------------------------------------------- documentation
def test_every_command_is_documented_in_the_readme_and_has_help_with_an_example():
    readme = README.read_text(encoding="utf-8")
    for name in main.commands:
        assert f"kamopt {name}" in readme, f"README does not document `kamopt {name}`"
        r = run(name, "--help")
        assert r.exit_code == 0 and "Example" in r.output, name


def test_readme_quick_start_has_exactly_two_commands():
    readme = README.read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = quick.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]


def test_policy_reference_is_up_to_date():
    from kamopt.policy.reference import reference

    committed = (Path(__file__).parent.parent / "docs" / "policy.md").read_text(encoding="utf-8")
    assert committed == reference(), "regenerate: python -m kamopt.policy.reference > docs/policy.md"


@pytest.mark.parametrize("named_kams", [False, True])
def test_check_reads_back_the_hires_of_a_solved_plan(mini, tmp_path, named_kams):
    # 100 h of KAM time cannot carry three key accounts (250 h): the plan must hire one FTE
    hiring = ["--set", "portfolio.key_accounts.min=3", "--set", "resources.kam_pools.all.fte=0.5",
              "--set", "resources.kam_pools.all.hiring={max_fte: 1, cost_per_fte: 1}"]
    if named_kams:  # one named KAM with 100 h; hired capacity shows as "all (new hire)"
        (mini.parent / "kams.csv").write_text("kam_id,name,pool,hours,max_accounts\nK1,Ana,all,100,5\n",
                                              encoding="utf-8")
        hiring[3:4] = ["data.kams=kams.csv", "--set", "resources.kam_pools.all.fte=null"]
    r = run("solve", mini, "--out", tmp_path / "p", *hiring)
    assert r.exit_code == 0, r.output
    hire = [x for x in rows(tmp_path / "p" / "resources.csv") if x["constraint"] == "hire_limit[all]"]
    assert hire[0]["hires"] == "1"
    r = run("check", mini, tmp_path / "p", "--no-optimum", *hiring)
    assert r.exit_code == 0, r.output
    assert "all +1" in r.output and "passed" in r.output


def test_generate_writes_an_instance_that_validates(tmp_path):
    out = tmp_path / "gen"
    r = run("generate", "--accounts", "60", "--seed", "3", "--out", out)
    assert r.exit_code == 0, r.output
    assert "generated 60 accounts" in r.output
    assert run("validate", out / "policy.yaml").exit_code == 0
    first = (out / "accounts.csv").read_bytes()
    assert run("generate", "--accounts", "60", "--seed", "3", "--out", out).exit_code == 2  # no --force
    assert run("generate", "--accounts", "60", "--seed", "3", "--out", out, "--force").exit_code == 0
    assert (out / "accounts.csv").read_bytes() == first


def test_sample_copies_the_bundled_policy_and_data(tmp_path):
    r = run("sample", "--out", tmp_path / "s")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [
        "accounts.csv", "kam_fit.csv", "kams.csv", "policy.yaml"]
    assert run("validate", tmp_path / "s" / "policy.yaml").exit_code == 0


def test_a_spreadsheet_of_tiers_is_staffed_by_kamopt_before_it_is_checked(tmp_path):
    """The bundled sample has named KAMs and sponsors; a planner's sheet has tiers only.
    The optimum's tiers and hire, so given, pass the check at the optimum's value."""
    policy = Path(__file__).parents[1] / "policies" / "default.yaml"
    best = kamopt.solve(kamopt.load_policy(policy))
    a, p = best.solution.assignment, best.problem
    sheet = tmp_path / "tiers.csv"
    sheet.write_text("account_id,tier\n" + "".join(f"{p.account_ids[i]},{p.tier_ids[t]}\n"
                                                    for i, t in enumerate(a.tier.tolist()) if t >= 0),
                     encoding="utf-8")
    hires = {pool.id: int(n) for pool, n in zip(p.pools, a.hires.tolist()) if n}
    assert hires  # the optimum hires: without the hire the sheet cannot be staffed (below)
    checked, _ = kamopt.check(policy, sheet, hires=hires)
    assert checked.violations == [] and "kamopt assigned them" in checked.solution.message
    key = [i for i, t in enumerate(checked.solution.assignment.tier.tolist()) if t >= 0]
    assert all(checked.solution.assignment.kam[i] for i in key)
    gap = best.solution.gap or 0.0
    assert abs(checked.solution.objective - best.solution.objective) <= 2 * gap * abs(best.solution.objective) + 1

    short, _ = kamopt.check(policy, sheet)  # no hire: the least it can break is a KAM for a few accounts
    families = {v.family for v in short.violations}
    assert families == {"kam_assign"}, short.violations
    missing = [v.constraint for v in short.violations]
    hired_pool = next(iter(hires))
    assert all(p.pools[p.pool[p.account_ids.index(c[len("kam_assign["):-1])]].id == hired_pool for c in missing)
    assert short.solution.message.endswith(f"--hire {hired_pool}={hires[hired_pool]} would staff every one")
    assert "--hire" not in checked.solution.message  # given the hire, there is nothing to suggest

    r = run("check", policy, sheet, "--no-optimum", *[f"--hire={k}={v}" for k, v in hires.items()],
            "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    assert "note: the plan names no KAMs or sponsors: kamopt assigned them" in r.output
    with open(tmp_path / "out" / "portfolio.csv", encoding="utf-8", newline="") as fh:
        rows = [row for row in csv.DictReader(fh) if row["decision"] != "none"]
    assert len(rows) == len(key) and all(row["kam"] for row in rows)


def test_check_refuses_a_results_folder_before_the_work(mini, tmp_path):
    plan = tmp_path / "plan.csv"
    plan.write_text("account_id,tier\nA1,gold\n", encoding="utf-8")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "summary.json").write_text("{}", encoding="utf-8")
    r = run("check", mini, plan, "--no-optimum", "--out", tmp_path / "out")
    assert r.exit_code == 2 and "use --force" in r.output and "Check of" not in r.output, r.output
    assert (tmp_path / "out" / "summary.json").read_text(encoding="utf-8") == "{}"


def test_a_plan_that_names_its_kams_keeps_them(tmp_path):
    policy = Path(__file__).parents[1] / "policies" / "default.yaml"
    best = kamopt.solve(kamopt.load_policy(policy))
    folder = kamopt.write_plan(best, tmp_path / "plan")
    checked, _ = kamopt.check(policy, folder)
    assert checked.solution.message == "" and checked.violations == []
    assert checked.solution.assignment.kam == best.solution.assignment.kam
    assert checked.solution.assignment.sponsor == best.solution.assignment.sponsor


def test_the_kamopt_command_keeps_exit_codes_and_skips_the_last_collection(tmp_path):
    """The console command is ``kamopt.cli:run``: the command's exit code, its messages, and
    the objects it built frozen for the exit (a garbage collection that only walked them)."""
    import subprocess
    import sys

    kamopt_bin = Path(sys.executable).with_name("kamopt")
    ok = subprocess.run([str(kamopt_bin), "--version"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "kamopt, version" in ok.stdout
    bad = subprocess.run([str(kamopt_bin), "solve", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "does not exist" in bad.stderr and "Traceback" not in bad.stderr
    code = ("import atexit, gc, sys\n"
            "atexit.register(lambda: print('frozen', gc.get_freeze_count(), file=sys.stderr))\n"
            "sys.argv = ['kamopt', '--version']\n"
            "from kamopt.cli import run\n"
            "run()\n")
    frozen = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert frozen.returncode == 0
    assert int(frozen.stderr.split("frozen")[1]) > 10_000
