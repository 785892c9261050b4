"""Explanations: why an account is in or out, and what it would take to change that.

Entry thresholds and values lost are checked against brute-force enumeration on small
random problems (the reported threshold is right: just above it the account enters,
just below it does not); blockers against the verifier; the per-account facts against
screening; explanations.csv against portfolio.csv; the CLI end to end.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from reference import brute_force, search_size
from strategies import problems

import kamopt
from kamopt.cli import main
from kamopt.errors import DataError
from kamopt.explain import (
    Resolver,
    estimated_moves,
    explain_account,
    explanation_lines,
    explanations_table,
    lp_net_values,
    move_blockers,
)
from kamopt.model.optimise import chosen_options
from kamopt.model.problem import Problem
from kamopt.model.solution import Assignment, Status
from kamopt.model.solvers import SolverOptions
from kamopt.verify import verify

MINI = Path(__file__).parent / "data" / "mini"
EXACT = SolverOptions(gap=0, time_limit=20)
BIG = 1e5
"""A bonus (or malus) that dwarfs every value and penalty of the random problems."""
DELTA = 0.01
"""Values of the random problems are whole numbers (penalties in quarters): a hundredth
above or below a threshold is never a tie."""
BRUTE_FORCE_MAX = 600
FEW = settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def with_value(p: Problem, option: int, value: float) -> Problem:
    values = np.array(p.value, dtype=float)
    values[option] = value
    return dataclasses.replace(p, value=values)


def best_using(p: Problem, option: int, uses: bool) -> float | None:
    """Brute force: the best plan that puts the option's account at its tier (``uses``) or
    not, or None when no plan keeps the rules so. A huge bonus (malus) on the option makes
    the unconstrained optimum take it (avoid it) whenever some plan can."""
    v = float(p.value[option])
    best, plan = brute_force(with_value(p, option, v + (BIG if uses else -BIG)))
    if best is None:
        return None
    a, t = int(p.opt_account[option]), int(p.opt_tier[option])
    if (int(plan.tier[a]) == t) != uses:
        return None
    return best - (BIG if uses else 0.0)


def enters(p: Problem, option: int) -> bool | None:
    """Brute force: does an optimal plan put the option's account at its tier? (None: no plan)"""
    best, plan = brute_force(p)
    if best is None:
        return None
    return int(plan.tier[int(p.opt_account[option])]) == int(p.opt_tier[option])


# --------------------------------------------------------------------------- brute force
@FEW
@given(problems(max_accounts=4), st.data())
def test_entry_threshold_matches_brute_force(p, data):
    assume(search_size(p) <= BRUTE_FORCE_MAX)
    res = Resolver(p, EXACT)
    base = res.optimum()
    assume(base.status == Status.OPTIMAL)
    unused = [o for o in range(p.n_options)
              if int(base.assignment.tier[p.opt_account[o]]) != int(p.opt_tier[o])]
    assume(unused)
    o = data.draw(st.sampled_from(unused))
    forced = res.forced_in(int(p.opt_account[o]), o)
    if forced.status == Status.INFEASIBLE:
        assert best_using(p, o, True) is None
        return
    assert forced.status == Status.OPTIMAL
    threshold, low, high = res.threshold(o, forced)
    assert high - low < DELTA / 10  # exact: the re-solves proved a zero gap
    # against the reference: threshold = value + (best without it there) - (best with it there)
    with_it, without = best_using(p, o, True), best_using(p, o, False)
    assert with_it is not None
    if without is not None:
        assert threshold == pytest.approx(float(p.value[o]) + without - with_it, abs=1e-6)
    # the definition: just above it enters, just below it does not
    assert enters(with_value(p, o, threshold + DELTA), o) is True
    if without is not None:
        assert enters(with_value(p, o, threshold - DELTA), o) is False
    assert threshold >= float(p.value[o]) - 1e-9  # an unused option is not worth more than it is


@FEW
@given(problems(max_accounts=4), st.data())
def test_value_lost_if_forced_out_is_the_difference_of_two_optima(p, data):
    assume(search_size(p) <= BRUTE_FORCE_MAX)
    res = Resolver(p, EXACT)
    base = res.optimum()
    assume(base.status == Status.OPTIMAL)
    inside = np.flatnonzero(base.assignment.tier >= 0).tolist()
    assume(inside)
    a = data.draw(st.sampled_from(inside))
    out = res.forced_out(a)
    best, _ = brute_force(p)
    # the reference optimum without the account: every one of its options heavily penalised
    values = np.array(p.value, dtype=float)
    values[p.options_of(a)] -= BIG
    alone, plan = brute_force(dataclasses.replace(p, value=values))
    reference = None if alone is None or plan.tier[a] >= 0 else best - alone
    if out.status == Status.INFEASIBLE:
        assert reference is None
        return
    lost, low, high = res.lost(out)
    assert high - low < 1e-3
    assert reference is not None and lost == pytest.approx(reference, abs=1e-6)
    assert lost >= -1e-9


@FEW
@given(problems(max_accounts=5), st.data())
def test_blockers_are_what_the_verifier_finds_after_the_move(p, data):
    """Without named KAMs and sponsors, a move's hard blockers are exactly the rows the
    verifier reports broken once the account is moved."""
    p = dataclasses.replace(p, kams=(), kam_pairs=None, sponsors=(),
                            sponsor_required=np.zeros(len(p.tier_ids), dtype=bool),
                            sponsor_ok=np.zeros((p.n_accounts, 0), dtype=bool))
    base = Resolver(p, EXACT).optimum()
    assume(base.status == Status.OPTIMAL)
    plan = base.assignment
    report = verify(p, plan)
    assert report.ok
    o = data.draw(st.integers(0, p.n_options - 1))
    a = int(p.opt_account[o])
    assume(int(plan.tier[a]) != int(p.opt_tier[o]))
    (found,) = move_blockers(p, plan, report.usage, np.array([a]), np.array([o]))
    tier = plan.tier.copy()
    tier[a] = p.opt_tier[o]
    moved = verify(p, Assignment(tier, plan.hires))
    broken = {v.constraint for v in moved.violations
              if v.family not in ("no_demotion", "keep_key", "override_in", "override_out")}
    assert {b.constraint for b in found if b.soft_penalty is None} == broken
    for b in found:
        assert b.missing > 0


@FEW
@given(problems(max_accounts=5))
def test_estimates_are_consistent(p):
    base = Resolver(p, EXACT).optimum()
    assume(base.status == Status.OPTIMAL)
    net = lp_net_values(p)
    assume(net is not None)
    target, shortfall, lost = estimated_moves(p, base.assignment.tier, net)
    cur = chosen_options(p, base.assignment.tier)
    for a in range(p.n_accounts):
        if target[a] >= 0:
            assert int(p.opt_account[target[a]]) == a and shortfall[a] >= 0
            if cur[a] >= 0:
                assert p.opt_tier[target[a]] < p.opt_tier[cur[a]]  # only ever a higher tier
        assert (cur[a] >= 0) == (not np.isnan(lost[a]))
        if cur[a] >= 0:
            assert lost[a] >= 0


# --------------------------------------------------------------------------- a real policy
@pytest.fixture
def mini(tmp_path) -> Path:
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    return folder / "policy.yaml"


DISPLACE = ["portfolio.incumbents.demotion=allow", "portfolio.key_accounts.max=1"]
"""With demotion allowed (so the competitor A4 is excluded) and room for one key account,
A1 is in at gold (190) and the incumbent A2 (silver, 21) is out: to displace A1 it would
need 190 at silver."""


def test_explain_in_out_and_excluded_accounts(mini):
    plan = kamopt.solve(kamopt.load_policy(mini, DISPLACE))
    assert dict(zip(plan.problem.account_ids, plan.solution.assignment.tier.tolist())) == {"A1": 0, "A2": -1}

    out = explain_account(plan, "A2")
    assert out.status == "out" and out.decision == "none" and out.previous_tier == "silver"
    assert out.change == "demote"
    (silver,) = out.entries  # gold does not admit it (score 5.4 < 6)
    assert silver.tier == "silver" and silver.method == "exact" and silver.feasible and silver.proven
    # OPT = 190 (A1 at gold); with A2 in, A1 must go: OPT_forced = 21; threshold = 21 + 190 - 21
    assert silver.threshold == pytest.approx(190.0, abs=1e-6) and silver.shortfall == pytest.approx(169.0)
    assert silver.low == pytest.approx(190.0, abs=1e-3) and silver.high == pytest.approx(190.0, abs=1e-3)
    assert [(b.constraint, b.needs, b.free) for b in silver.blockers] == [("max_key_accounts", 1.0, 0.0)]
    assert out.best_entry is silver and out.exit is None
    assert out.tiers[0].why_not == "needs score 6 (has 5.40)"

    inside = explain_account(plan, "A1")
    assert inside.status == "in" and inside.decision == "gold" and inside.entries == ()  # already at the top
    assert inside.exit.feasible and inside.exit.proven
    assert inside.exit.value_lost == pytest.approx(190.0 - 21.0, abs=1e-6)  # A2 takes its place

    excluded = explain_account(plan, "A3")
    assert excluded.status == "excluded" and excluded.reason == "fails not_competitor"
    assert [(r.rule, r.passed) for r in excluded.rules] == [("not_competitor", False)]
    assert excluded.entries == () and excluded.exit is None
    assert all(not t.qualifies and t.why_not == "fails not_competitor" for t in excluded.tiers)


def test_facts_match_screening(mini):
    plan = kamopt.solve(kamopt.load_policy(mini))
    s = plan.screening
    for r, account in enumerate(s.data.ids):
        e = explain_account(plan, account, exact=False)
        assert e.score == pytest.approx(float(s.score[r]))
        assert sum(c.contribution for c in e.contributions) == pytest.approx(float(s.score[r]))
        assert [c.score for c in e.contributions] == pytest.approx(s.criterion_scores[r].tolist())
        assert [r_.passed for r_ in e.rules] == s.rule_pass[r].tolist()
        assert [t.value for t in e.tiers] == pytest.approx(s.value[r].tolist())
        assert [t.kam_hours for t in e.tiers] == pytest.approx(s.kam_hours[r].tolist())
        assert [t.qualifies for t in e.tiers] == (s.admitted[r] & s.candidate[r]).tolist()
    a1 = explain_account(plan, "A1", exact=False)
    assert [(c.criterion, c.weight, c.score) for c in a1.contributions] == [("fit", 0.6, 9.0), ("size", 0.4, 10.0)]


def test_a_move_that_no_plan_allows_says_what_capacity_it_needs(mini):
    # the incumbents A2 (silver, 50 h) and A4 (gold, 100 h) take 150 of the 200 h: A1 fits
    # only at silver; at gold it would need 50 more hours whatever else moves
    plan = kamopt.solve(kamopt.load_policy(mini))
    e = explain_account(plan, "A1")
    assert e.status == "in" and e.decision == "silver"
    (gold,) = e.entries
    assert not gold.feasible and gold.threshold is None
    assert [(b.constraint, b.needs, b.free) for b in gold.blockers] == [("kam_hours[all]", 50.0, 0.0)]
    assert any("50 more KAM hours in kam_hours[all]" in line for line in gold.needs)
    assert e.exit.value_lost == pytest.approx(96.0)
    kept = explain_account(plan, "A4")
    assert not kept.exit.feasible and kept.exit.kept_by == ("no_demotion[A4]",)
    text = "\n".join(explanation_lines(e))
    assert "cannot be at gold" in text and "50 more KAM hours" in text and "would lose 96 EUR (exact)" in text


def test_unknown_account_is_a_located_error_with_did_you_mean(mini):
    plan = kamopt.solve(kamopt.load_policy(mini))
    with pytest.raises(DataError, match="no account 'A1x'") as err:
        explain_account(plan, "A1x")
    assert err.value.diagnostics[0].hint == "did you mean 'A1'?"


# --------------------------------------------------------------------------- explanations.csv
def rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_explanations_csv_has_every_account_and_agrees_with_the_portfolio(mini, tmp_path):
    plan = kamopt.solve(kamopt.load_policy(mini, DISPLACE))
    out = kamopt.write_plan(plan, tmp_path / "p")
    expl = rows(out / "explanations.csv")
    portfolio = rows(out / "portfolio.csv")
    assert [r["account_id"] for r in expl] == [r["account_id"] for r in portfolio] == ["A1", "A2", "A3", "A4"]
    for e, q in zip(expl, portfolio):
        assert (e["decision"], e["previous_tier"], e["change"]) == (q["decision"], q["previous_tier"], q["change"])
        assert e["status"] == ("excluded" if q["status"] != "candidate" else "in" if q["decision"] != "none" else "out")
    by = {r["account_id"]: r for r in expl}
    assert by["A3"]["failed_rules"] == "not_competitor" and by["A3"]["threshold_method"] == ""
    assert by["A4"]["status"] == "excluded" and by["A4"]["reason"] == "fails not_competitor"
    assert by["A2"]["status"] == "out" and by["A2"]["target_tier"] == "silver"
    assert by["A2"]["blocking"] == "max_key_accounts" and by["A2"]["threshold_method"] == "estimate"
    assert float(by["A2"]["threshold"]) >= float(by["A2"]["target_value"]) == 21.0
    assert by["A1"]["value_lost_if_out"] != "" and float(by["A1"]["value_lost_if_out"]) >= 0
    assert by["A1"]["target_tier"] == "" and by["A1"]["threshold_method"] == "estimate"
    assert by["A1"]["qualifying_tiers"] == "gold silver" and by["A2"]["qualifying_tiers"] == "silver"
    assert by["A1"]["contrib_fit"] == "5.40" and by["A1"]["contrib_size"] == "4.00"


def test_explanations_csv_on_a_generated_instance(tmp_path):
    from kamopt.generate import generate

    generate(300, 5, tmp_path / "g", named_kams=True)
    plan = kamopt.solve(kamopt.load_policy(tmp_path / "g" / "policy.yaml"), time_limit=20)
    header, table = explanations_table(plan)
    assert len(table) == plan.screening.n
    col = {h: j for j, h in enumerate(header)}
    tiers = plan.tier_of_row()
    for r, row in enumerate(table):
        d = int(tiers[r])
        assert row[col["decision"]] == (plan.screening.tier_ids[d] if d >= 0 else "none")
        if row[col["threshold"]] is not None:
            assert row[col["threshold"]] >= row[col["target_value"]] - 1e-9
            assert row[col["threshold_method"]] == "estimate"
        if row[col["status"]] == "excluded":
            assert row[col["threshold"]] is None and row[col["value_lost_if_out"]] is None
        if row[col["value_lost_if_out"]] is not None:
            assert row[col["status"]] == "in" and row[col["value_lost_if_out"]] >= 0


def test_explanations_csv_neutralises_formulas(mini, tmp_path):
    accounts = mini.parent / "accounts.csv"
    accounts.write_text(accounts.read_text(encoding="utf-8").replace("Beta", "=HYPERLINK(1)"), encoding="utf-8")
    out = kamopt.write_plan(kamopt.solve(kamopt.load_policy(mini)), tmp_path / "p")
    assert {r["account_id"]: r["name"] for r in rows(out / "explanations.csv")}["A2"] == "'=HYPERLINK(1)"


# --------------------------------------------------------------------------- command line
def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture
def solved(mini, tmp_path):
    sets = [x for s in DISPLACE for x in ("--set", s)]
    assert run("solve", mini, "--out", tmp_path / "p", *sets).exit_code == 0
    return mini, tmp_path / "p", sets


def test_cli_explains_an_out_account(solved):
    mini, plan, sets = solved
    r = run("explain", mini, plan, "A2", *sets)
    assert r.exit_code == 0, r.output
    assert "OUT: a candidate the plan leaves out (previous tier silver; change: demote)" in r.output
    assert "At silver, blocked by: max_key_accounts: needs 1 account, 0 accounts free (1 account short)" in r.output
    assert "To be at silver it would need an expected value of 190 EUR (now 21 EUR: 169 EUR short; exact)" in r.output
    assert "gold: does not qualify — needs score 6 (has 5.40)" in r.output


def test_cli_explains_in_and_excluded_accounts(solved):
    mini, plan, sets = solved
    r = run("explain", mini, plan, "A1", *sets)
    assert r.exit_code == 0 and "IN: a key account at gold" in r.output
    assert "If forced out, the plan would lose 169 EUR (exact)" in r.output
    r = run("explain", mini, plan, "A3", *sets)
    assert r.exit_code == 0 and "EXCLUDED: fails not_competitor" in r.output
    assert "Eligibility: fails not_competitor (is_competitor == 'no')" in r.output


def test_cli_unknown_account_exits_2_with_did_you_mean(solved):
    mini, plan, sets = solved
    r = run("explain", mini, plan, "a1", *sets)
    assert r.exit_code == 2
    assert "no account 'a1'" in r.output and "did you mean 'A1'?" in r.output
    assert "Traceback" not in r.output


def test_cli_json_is_the_data(solved):
    mini, plan, sets = solved
    r = run("explain", mini, plan, "A2", "--json", "--tier", "silver", *sets)
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["account_id"] == "A2" and data["status"] == "out"
    (entry,) = data["entries"]
    assert entry["tier"] == "silver" and entry["threshold"] == pytest.approx(190.0)
    assert entry["shortfall"] == pytest.approx(169.0) and data["best_entry"] == "silver"
    assert entry["blockers"][0]["constraint"] == "max_key_accounts" and entry["blockers"][0]["missing"] == 1
    assert data["overrides"]


def test_cli_estimate_and_unknown_tier(solved):
    mini, plan, sets = solved
    r = run("explain", mini, plan, "A2", "--estimate", *sets)
    assert r.exit_code == 0 and "estimate from LP prices" in r.output
    r = run("explain", mini, plan, "A2", "--tier", "gld", *sets)
    assert r.exit_code == 2 and "did you mean 'gold'?" in r.output


def test_api_explain_reads_a_plan_folder(solved):
    mini, plan, sets = solved
    e = kamopt.explain_account(kamopt.load_policy(mini, [s for s in sets if s != "--set"]), plan, "A2")
    assert e.status == "out" and e.best_entry.threshold == pytest.approx(190.0)


def test_explain_a_hand_made_plan(mini):
    """A plan CSV that leaves A1 out although it fits at silver: explain says the best plan
    has it there, and how far below that plan the one given is."""
    (mini.parent / "hand.csv").write_text("account_id,tier\nA2,silver\nA4,gold\n", encoding="utf-8")
    e = kamopt.explain_account(mini, mini.parent / "hand.csv", "A1")
    assert e.status == "out" and e.plan_objective == pytest.approx(16.0) and e.optimum == pytest.approx(112.0)
    gold, silver = e.entries
    assert not gold.feasible
    assert silver.feasible and silver.in_best and silver.shortfall == pytest.approx(0.0, abs=1e-6)
    assert silver.blockers == ()
    text = "\n".join(explanation_lines(e))
    assert "The best plan found has it at silver" in text and "the plan given is 96 EUR below that plan" in text


@pytest.mark.parametrize("needs, free, said", [
    (210.6, 48.6744, "kam_hours[K-011]: needs 211 h, 49 h free (162 h short)"),  # one precision per sentence
    (60.0, 20.0, "kam_hours[K-011]: needs 60 h, 20 h free (40 h short)"),
    (12.5, 2.25, "kam_hours[K-011]: needs 12.5 h, 2.25 h free (10.25 h short)"),
])
def test_a_blocker_reads_its_figures_at_one_precision(needs, free, said):
    from kamopt.explain.facts import Blocker
    from kamopt.explain.words import blocker_words

    assert blocker_words(Blocker("kam_hours[K-011]", "kam_hours", "h", needs, free)) == said
