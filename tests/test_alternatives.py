"""Near-optimal alternatives: distinct, within the bound, verified, as far apart as brute force
says is possible, written as plan folders; the CLI's exit codes and errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from reference import _tier_vectors

import kamopt
from kamopt.alternatives import distance_terms, find_alternatives, parse_within, plan_distance
from kamopt.cli import main
from kamopt.errors import PolicyError
from kamopt.generate import generate
from kamopt.model.solution import Assignment
from kamopt.verify import verify

TINY_POLICY = """\
data: {accounts: accounts.csv, columns: {id: account_id}}
criteria: {fit: {weight: 1, column: fit}}
tiers:
  gold: {kam_hours: 100, cost_to_serve: 10, uplift: revenue * 0.1}
  silver: {kam_hours: 40, cost_to_serve: 5, uplift: revenue * 0.05}
resources:
  kam_pools: {all: {fte: 1, hours_per_fte: 260, span_of_control: 4}}
portfolio: {key_accounts: {max: 4}}
value: {horizon_years: 1, discount_rate: 0, ramp_up: [1]}
solver: {gap: 0}
"""
TINY_ACCOUNTS = """\
account_id,fit,revenue,current_tier
A1,9,1000,
A2,8,930,
A3,7,860,gold
A4,6,790,
A5,5,700,
"""


def rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny")
    (folder / "policy.yaml").write_text(TINY_POLICY, encoding="utf-8")
    (folder / "accounts.csv").write_text(TINY_ACCOUNTS, encoding="utf-8")
    return folder / "policy.yaml"


@pytest.fixture(scope="module")
def tiny_optimum(tiny):
    return kamopt.solve(kamopt.load_policy(tiny), marginal_values=False)


def feasible_plans(plan) -> list[tuple[np.ndarray, float]]:
    """Every tier vector that keeps the rules, with its objective (verifier only: no MILP)."""
    p = plan.problem
    out = []
    for tier in _tier_vectors(p):
        report = verify(p, Assignment(tier, np.zeros(len(p.pools), dtype=np.int64)))
        if report.ok:
            out.append((tier, report.parts.total))
    return out


# --------------------------------------------------------------------------- parsing
@pytest.mark.parametrize("text, share", [("1%", 0.01), ("1 %", 0.01), ("0.01", 0.01), ("0", 0.0),
                                         ("100%", 1.0), ("2.5%", 0.025), (0.05, 0.05)])
def test_within_reads_percentages_and_shares(text, share):
    assert parse_within(text) == pytest.approx(share)


@pytest.mark.parametrize("text, message", [("abc", "not a number"), ("5", "more than 100 %"),
                                           ("-1%", "0 or more"), ("150%", "more than 100 %"), ("nan", "0 or more")])
def test_bad_within_is_an_error_naming_the_option(text, message):
    with pytest.raises(PolicyError) as info:
        parse_within(text)
    d = info.value.diagnostics[0]
    assert message in d.message and d.file == f"--within {text}"
    if text == "5":
        assert "5%" in (d.hint or "")


# --------------------------------------------------------------------------- distance
@pytest.mark.parametrize("how", ["decisions", "accounts"])
def test_the_linear_distance_equals_the_counted_distance(tiny_optimum, how):
    p = tiny_optimum.problem
    vectors = list(_tier_vectors(p))
    for ref in vectors[::7]:
        coef, const = distance_terms(p, ref, how)
        for tier in vectors[::5]:
            x = (tier[p.opt_account] == p.opt_tier).astype(float)
            assert const + coef @ x == plan_distance(tier, ref, how)


def test_distances_count_what_they_say():
    a, b = np.array([0, 1, -1, -1]), np.array([1, 1, 0, -1])
    assert plan_distance(a, b, "decisions") == 2  # a tier change and an entry
    assert plan_distance(a, b, "accounts") == 1  # only the entry


# --------------------------------------------------------------------------- against brute force
@pytest.mark.parametrize("how", ["decisions", "accounts"])
@pytest.mark.parametrize("within", [0.05, 0.15, 0.4])
def test_the_first_alternative_is_as_far_from_the_optimum_as_any_plan_within_the_bound(tiny_optimum, how, within):
    best = tiny_optimum.solution.objective
    floor = best - within * abs(best)
    opt = tiny_optimum.solution.assignment.tier
    distances = [plan_distance(t, opt, how) for t, v in feasible_plans(tiny_optimum) if v >= floor - 1e-6]
    farthest = max(distances)
    result = find_alternatives(tiny_optimum, within=within, count=1, distance=how)
    if farthest == 0:
        assert not result.alternatives and "no other portfolio" in result.stop_reason
        return
    alt = result.alternatives[0]
    assert alt.min_distance == farthest == plan_distance(alt.tiers, opt, how)
    assert alt.objective >= floor - 1e-6 and alt.search_status == "optimal"


def test_asking_for_more_lists_every_plan_within_the_bound_then_says_why_it_stopped(tiny_optimum):
    plans = feasible_plans(tiny_optimum)
    best = tiny_optimum.solution.objective
    # the widest bound that holds at most 12 plans, so that all of them can be asked for
    within = max(w for w in (0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
                 if sum(v >= best - w * abs(best) - 1e-6 for _, v in plans) <= 12)
    inside = {tuple(t.tolist()) for t, v in plans if v >= best - within * abs(best) - 1e-6}
    assert len(inside) >= 3
    result = find_alternatives(tiny_optimum, within=within, count=50)
    found = {tuple(a.tiers.tolist()) for a in result.found}
    assert found == inside and len(result.found) == len(inside)
    assert "no other portfolio" in result.stop_reason


def test_within_zero_finds_only_ties(tiny_optimum):
    result = find_alternatives(tiny_optimum, within=0.0, count=2)
    best = tiny_optimum.solution.objective
    ties = [t for t, v in feasible_plans(tiny_optimum) if abs(v - best) <= 1e-6]
    assert len(result.alternatives) == min(2, len(ties) - 1)
    assert all(a.objective == pytest.approx(best, abs=1e-6) for a in result.alternatives)
    if len(ties) == 1:
        assert "no other portfolio" in result.stop_reason


# --------------------------------------------------------------------------- a realistic instance
@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("alt") / "g"
    generate(150, 5, out, pools=3, sponsors=4)
    folder = tmp_path_factory.mktemp("alt-out") / "a"
    result = kamopt.solve_alternatives(out / "policy.yaml", "1%", 3, folder)
    return result, folder


def test_alternatives_are_distinct_within_the_bound_and_verified(generated):
    result, _ = generated
    assert len(result.alternatives) == 3 and not result.stop_reason
    best = result.optimum.solution.objective
    for a in result.alternatives:
        assert a.objective >= best - 0.01 * abs(best) - 1e-6 * abs(best)
        assert a.plan.check.ok and not a.plan.violations
        assert a.plan.status.value == "feasible" and a.plan.solution.bound >= a.objective
        earlier = result.found[: result.found.index(a)]
        assert min(plan_distance(a.tiers, b.tiers) for b in earlier) == a.min_distance >= 1
    assert result.alternatives[0].min_distance >= result.alternatives[-1].min_distance


def test_files_one_plan_folder_each_and_the_table(generated):
    result, folder = generated
    table = rows(folder / "alternatives.csv")
    assert [r["plan"] for r in table] == ["optimum", "alt-1", "alt-2", "alt-3"]
    for r, a in zip(table, result.found):
        summary = json.loads((folder / a.label / "summary.json").read_text(encoding="utf-8"))
        assert summary["verified"] is True and r["verified"] == "true"
        assert float(r["objective"]) == pytest.approx(summary["objective"], abs=0.01)
        assert float(r["below_optimum_pct"]) <= 1.0 + 1e-6
        for b in result.found:
            assert int(r[f"distance_{b.label}"]) == plan_distance(a.tiers, b.tiers)
        assert (folder / a.label / "portfolio.csv").exists()
    info = json.loads((folder / "alternatives.json").read_text(encoding="utf-8"))
    assert info["found"] == 3 and info["within"] == 0.01 and info["distance"] == "decisions"


# --------------------------------------------------------------------------- CLI
def test_cli_prints_the_side_by_side_table_and_is_reproducible(tiny, tmp_path):
    outputs = []
    for name in ("a", "b"):
        r = CliRunner().invoke(main, ["alternatives", str(tiny), "--within", "15%", "--count", "2",
                                      "--out", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
        outputs.append(r.output)
    assert "alt-1" in outputs[0] and "distance to optimum" in outputs[0]
    for f in ("alternatives.csv", "alternatives.json", "alt-1/portfolio.csv", "optimum/resources.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_cli_says_why_it_found_fewer(tiny, tmp_path):
    r = CliRunner().invoke(main, ["alternatives", str(tiny), "--within", "0", "--count", "3",
                                  "--out", str(tmp_path / "z")])
    assert r.exit_code == 0, r.output
    assert "no other portfolio" in r.output


@pytest.mark.parametrize("args, code, text", [
    (["--within", "abc"], 2, "--within abc"),
    (["--within", "5"], 2, "5%"),
    (["--count", "0"], 1, "--count"),
    (["--distance", "tiers"], 1, "--distance"),
    (["--set", "portfolio.key_accounts.max=0"], 3, "cannot be met"),
])
def test_cli_exit_codes(tiny, tmp_path, args, code, text):
    r = CliRunner().invoke(main, ["alternatives", str(tiny), "--out", str(tmp_path / "o"), *args])
    assert r.exit_code == code, r.output
    assert text in r.output


def test_cli_refuses_an_existing_folder_without_force(tiny, tmp_path):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "x.txt").write_text("keep", encoding="utf-8")
    r = CliRunner().invoke(main, ["alternatives", str(tiny), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and (tmp_path / "o" / "x.txt").exists()
