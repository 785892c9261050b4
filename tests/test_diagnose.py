"""Infeasibility diagnosis: conflicting rules named, smallest relaxations given in the rule's units."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from test_model_build import count_limit, make_problem

from kamopt.model.diagnose import Increase, Relaxation, _grouped_lines, _rows_words, diagnose, pct
from kamopt.model.optimise import optimise
from kamopt.model.problem import Forced, Limit, Pool, Sponsor
from kamopt.model.solution import Status

THREE = [("A", "gold", 100, 10, 300), ("B", "gold", 90, 10, 300), ("C", "gold", 80, 10, 300)]


def share_limit(members, share) -> Limit:
    member = np.array(members, dtype=float)
    return Limit("quota_min_share[ent]", "quota", member - share, ">=", 0.0, share=share,
                 measure=np.ones(member.size))


def small(pool_fte=0.5, **kw):
    p = make_problem(THREE, tiers=("gold",), pools=(Pool("EMEA", pool_fte, 1000, 10),))
    return replace(p, **kw)


def test_capacity_shortfall_names_the_hours_and_the_reachable_count():
    p = small()
    p = replace(p, limits=(count_limit(p, "min_key_accounts", ">=", 3),))
    assert optimise(p).status is Status.INFEASIBLE
    # 3 accounts x 300 h = 900 h against 0.5 FTE x 1000 h = 500 h: 400 h short; 1 fits.
    assert diagnose(p).lines() == ["min_key_accounts = 3 needs 400 more KAM hours in kam_hours[EMEA], "
                                   "or lower it to 1"]


def test_two_capacities_short_at_once_are_both_named():
    p = small(sponsors=(Sponsor("Ana", 1),), sponsor_required=np.array([True]),
              sponsor_ok=np.ones((3, 1), dtype=bool))
    p = replace(p, limits=(count_limit(p, "min_key_accounts", ">=", 2),))
    assert diagnose(p).lines() == [
        "min_key_accounts = 2 needs 100 more KAM hours in kam_hours[EMEA] and 1 more sponsor slot in "
        "sponsor_slots[Ana], or lower it to 1"]


def test_share_conflict_is_told_in_percent_and_counts_the_incumbents():
    # B and C are incumbents (no demotion); only A counts for the quota: at best 1 of 3.
    p = small(pool_fte=10, current_tier=np.array([-1, 0, 0]), limits=(share_limit([1, 0, 0], 0.5),))
    assert optimise(p).status is Status.INFEASIBLE
    (line,) = diagnose(p).lines()
    # B and C are alike: either could give way, so neither is named as the conflict
    assert line.startswith("quota_min_share[ent] = 50 % cannot be met by adding capacity; it conflicts "
                           "with the 2 incumbents that may not be demoted (no_demotion[...]: 1 of them would "
                           "have to give way, e.g. ")
    assert line.endswith("; or lower it to 33.3 %")  # ';': the option is not one of the rows listed


def test_blocking_rows_read_as_one_list():
    rows = ("no_demotion[A]", "no_demotion[B]", "no_demotion[C]", "no_demotion[D]", "budget")
    assert _rows_words(rows) == ("4 incumbents that may not be demoted (no_demotion[...]: A, B, C and 1 more)"
                                 " and budget")
    assert _rows_words(("budget", "kam_hours[EMEA]", "sponsor_slots[Ana]")) == (
        "budget, kam_hours[EMEA] and sponsor_slots[Ana]")
    assert _rows_words(("budget",)) == "budget"


def test_some_rows_of_a_family_read_as_a_choice_among_them():
    """The elastic solve gives way on 2 of 22 incumbents; any 2 would do, so the words say
    how many of how many, with the ones it picked as examples, not as the conflict."""
    rows = ("no_demotion[A]", "no_demotion[B]", "budget")
    assert _rows_words(rows, {"no_demotion": 22}) == (
        "the 22 incumbents that may not be demoted (no_demotion[...]: 2 of them would have to give way, "
        "e.g. A, B) and budget")
    assert _rows_words(rows, {"no_demotion": 2}) == "no_demotion[A], no_demotion[B] and budget"  # all of them


def test_every_rule_that_holds_a_limit_is_named_not_only_the_one_that_gave_way():
    """A and B are incumbents, C is forced in: the maximum of 2 conflicts with all three.
    The elastic solve gives way on one of them (any one does); the others are named too."""
    p = small(pool_fte=10, current_tier=np.array([0, 0, -1]), forced=(Forced(2, True, -1, "board"),))
    p = replace(p, limits=(count_limit(p, "max_key_accounts", "<=", 2),))
    (rel,) = diagnose(p).conflicts
    assert rel.rule == "max_key_accounts" and rel.nearest == 3
    named = {row.split("[")[0] for row in rel.blocked_by + rel.held_with}
    assert named == {"no_demotion", "override_in"}
    assert not set(rel.blocked_by) & set(rel.held_with)
    assert "together they hold it at 3 or more; or raise it to 3" in rel.text


def test_rows_that_gave_way_are_the_whole_conflict_when_they_hold_the_limit_alone():
    # three incumbents against at most 2: breaking the limit by one (half its size) is the
    # cheapest relaxation, and the incumbents alone hold it at 3
    p = small(pool_fte=10, current_tier=np.array([0, 0, 0]))
    p = replace(p, limits=(count_limit(p, "max_key_accounts", "<=", 2),))
    (rel,) = diagnose(p).conflicts
    assert rel.rule == "max_key_accounts" and rel.blocked_by
    assert rel.held_with == () and "together" not in rel.text


def test_the_sample_names_the_concentration_limit_that_needs_one_more_account():
    """Sample, at most 30 key accounts: 29 incumbents, and Healthcare's share of revenue
    (at most 30 %) needs one more account to dilute it. Both are named, and relaxing the
    concentration limit alone is indeed enough."""
    from kamopt import load_policy, screen
    from kamopt.screening import build_problem

    policy = Path(__file__).parent.parent / "policies" / "default.yaml"
    caps = ["portfolio.key_accounts.max=30", "portfolio.key_accounts.min=10"]
    problem, _ = build_problem(screen(load_policy(policy, caps)))
    (rel,) = diagnose(problem).conflicts
    named = rel.blocked_by + rel.held_with
    assert "concentration[industry_revenue:Healthcare]" in named
    assert sum(row.startswith("no_demotion[") for row in named) in (1, 29)  # one gives way, or all hold it
    assert rel.text.startswith("max_key_accounts = 30 cannot be met by adding capacity; it conflicts with ")
    assert rel.text.endswith(": together they hold it at 31 or more; or raise it to 31")
    looser, _ = build_problem(screen(load_policy(policy, [*caps, "portfolio.concentration.industry_revenue"
                                                          ".max_share=0.4"])))
    assert optimise(looser).status is Status.OPTIMAL


def test_incumbents_are_counted_against_the_limit_they_push_not_all_of_them():
    """At most 2 gold accounts against 6 incumbents at gold: the other 23 incumbents can keep
    their tiers without gold, so the conflict is with those 6 (4 must give way)."""
    from kamopt import load_policy, screen
    from kamopt.screening import build_problem

    policy = Path(__file__).parent.parent / "policies" / "default.yaml"
    problem, _ = build_problem(screen(load_policy(policy, ["portfolio.tiers.gold.max=2"])))
    gold = problem.tier_ids.index("gold")
    assert int((problem.current_tier == gold).sum()) == 6 and int((problem.current_tier >= 0).sum()) == 29
    (line,) = diagnose(problem).lines()
    assert line.startswith("max_tier_accounts[gold] = 2 cannot be met by adding capacity; it conflicts with the 6 "
                           "incumbents that may not be demoted and that count towards it (no_demotion[...]: 4 of "
                           "them would have to give way, e.g. ")
    assert line.endswith("; or raise it to 6")
    rows = ("no_demotion[A]", "no_demotion[B]")
    assert _rows_words(rows, {"no_demotion": 6}, scope={"no_demotion": "that count against it"}) == (
        "the 6 incumbents that may not be demoted and that count against it (no_demotion[...]: 2 of them would "
        "have to give way, e.g. A, B)")


def test_rule_against_rule_names_the_other_rule():
    p = small(pool_fte=10)
    p = replace(p, limits=(count_limit(p, "min_key_accounts", ">=", 3), share_limit([1, 0, 0], 0.5)))
    (line,) = diagnose(p).lines()
    assert "conflicts with quota_min_share[ent]" in line or "conflicts with min_key_accounts" in line


def test_forced_account_over_budget_needs_money():
    p = small(pool_fte=10, forced=(Forced(0, True, -1, "board"),), budget=5.0)
    assert diagnose(p).lines() == ["override_in[A]: A cannot be included: it needs 5 more in the budget"]


def test_feasible_policy_says_so():
    d = diagnose(small(pool_fte=10))
    assert d.feasible and d.lines() == ["The policy is feasible: nothing needs to be relaxed."]


def test_following_the_advice_makes_the_policy_feasible():
    p = small()
    p = replace(p, limits=(count_limit(p, "min_key_accounts", ">=", 3),))
    wider = replace(p, pools=(Pool("EMEA", 0.9, 1000, 10),))  # +400 h
    lower = replace(p, limits=(count_limit(p, "min_key_accounts", ">=", 1),))
    assert optimise(wider).status is Status.OPTIMAL
    assert optimise(lower).status is Status.OPTIMAL
    tighter = replace(p, pools=(Pool("EMEA", 0.89, 1000, 10),))  # 10 h short of the advice
    assert optimise(tighter).status is Status.INFEASIBLE


def test_percent_format():
    assert [pct(0.35), pct(1 / 3), pct(0.3), pct(1.0)] == ["35 %", "33.3 %", "30 %", "100 %"]


def test_a_budget_in_the_tens_of_millions_is_not_named_when_it_holds(tmp_path):
    """Slack is priced per share of its row. Priced per euro, a 1,000-account budget's
    slack cost ~2e-8 a unit, under HiGHS's dual tolerance: the solve broke the budget for
    free and the diagnosis named it beside the incumbents."""
    from kamopt import load_policy, screen
    from kamopt.generate import generate
    from kamopt.screening import build_problem

    generate(1000, 1, tmp_path / "g")
    loaded = load_policy(tmp_path / "g" / "policy.yaml", ["portfolio.key_accounts.max=100"])
    problem, _ = build_problem(screen(loaded))
    assert problem.budget > 1e7
    (rel,) = diagnose(problem).conflicts
    assert rel.rule == "max_key_accounts" and rel.blocked_by
    assert {row.split("[")[0] for row in rel.blocked_by} == {"no_demotion"}
    assert rel.held_with == () and "budget" not in rel.text


def test_relative_slack_is_measured_in_rows():
    from kamopt.model.build import build_model

    p = small(pool_fte=10, budget=4e7)
    built = build_model(p, elastic={"budget"}, relative_slack=True)
    m, (up, down) = built.model, built.elastic["budget"]
    assert down == -1 and built.elastic_unit["budget"] == 4e7
    cols, vals = m.row_entries("budget")
    assert vals[list(cols).index(up)] == -4e7
    plain = build_model(p, elastic={"budget"})
    assert plain.elastic_unit["budget"] == 1.0
    assert plain.model.upper[plain.elastic["budget"][0]] == m.upper[up] * 4e7


def test_a_share_limit_is_as_large_as_its_largest_term():
    """A revenue share row has rhs 0: priced per euro, breaking it by one account's revenue
    cost ~1e6 times more than demoting an incumbent, so the incumbent was named instead."""
    from kamopt.model.build import build_model

    p = small(pool_fte=10)
    revenue = np.array([1e6, 2e6, 1e6])
    member = np.array([1.0, 0.0, 0.0])
    lim = Limit("concentration[industry:x]", "concentration", (member - 0.3) * revenue, "<=", 0.0, share=0.3,
                measure=revenue)
    built = build_model(replace(p, limits=(lim,)), elastic={"*"}, relative_slack=True)
    assert built.elastic_unit["concentration[industry:x]"] == 7e5


def test_three_capacities_read_as_a_list_not_a_chain_of_ands():
    p = small(pool_fte=0.5, sponsors=(Sponsor("Ana", 1),), sponsor_required=np.array([True]),
              sponsor_ok=np.ones((3, 1), dtype=bool), budget=15.0)
    p = replace(p, limits=(count_limit(p, "min_key_accounts", ">=", 2),))
    (line,) = diagnose(p).lines()
    assert line == ("min_key_accounts = 2 needs 100 more KAM hours in kam_hours[EMEA], 5 more in the budget and "
                    "1 more sponsor slot in sponsor_slots[Ana], or lower it to 1")


def test_incumbents_short_of_the_same_capacity_are_told_in_one_line():
    def short(account, hours, kind="no_demotion"):
        return Relaxation(rule=f"{kind}[{account}]", kind=kind, text=f"{account} alone",
                          needs=(Increase("support_hours[technical]", hours, "hours"),))

    limit = Relaxation(rule="min_key_accounts", kind="limit", text="the limit")
    many = [short("A", 65), short("B", 5), short("C", 90), short("D", 30)]
    assert _grouped_lines([limit, *many, short("X", 30, "override_in")]) == [
        "the limit",
        "4 incumbents cannot keep their tier (no_demotion[...]: A, B, C and D): on its own, each needs "
        "5 to 90 more support hours in support_hours[technical]",
        "X alone",
    ]
    assert _grouped_lines(many[:2]) == ["A alone", "B alone"]  # two read well enough apart
    crowd = [short(f"A{i:02}", 10) for i in range(25)]
    assert _grouped_lines(crowd) == [f"25 incumbents cannot keep their tier (no_demotion[...]: "
                                     f"{', '.join(f'A{i:02}' for i in range(20))} and 5 more): on its own, each "
                                     f"needs 10 more support hours in support_hours[technical]"]
    other_row = replace(many[3], needs=(Increase("kam_hours[EMEA]", 30, "hours"),))
    assert _grouped_lines([*many[:2], other_row]) == ["A alone", "B alone", "D alone"]  # not the same capacity


def test_the_sample_short_of_support_hours_reads_in_four_lines():
    from kamopt import load_policy, screen
    from kamopt.screening import build_problem

    policy = Path(__file__).parent.parent / "policies" / "default.yaml"
    problem, _ = build_problem(screen(load_policy(policy, ["resources.support.technical.hours=500"])))
    d = diagnose(problem)
    lines = d.lines()
    assert len(d.conflicts) == 16 and len(lines) == 4
    assert lines[1].startswith("14 incumbents cannot keep their tier (no_demotion[...]: ")
    assert lines[1].endswith("): on its own, each needs 5 to 90 more support hours in support_hours[technical]")
    assert lines[-1] == "To keep every rule as set, add 1,230 more support hours in support_hours[technical]."


def test_lines_name_the_capacity_the_joint_fix_adds_where_any_would_do():
    """Sample, Ana Ruiz and Jürgen Weiß without slots, François Dubois with one: two gold
    incumbents lack a sponsor. Ana Ruiz may sponsor anyone, so each line could name her or
    another sponsor with affinity; they name the one the closing advice adds slots to."""
    from kamopt import load_policy, screen
    from kamopt.screening import build_problem

    policy = Path(__file__).parent.parent / "policies" / "default.yaml"
    sets = ['resources.sponsors."Ana Ruiz".slots=0', 'resources.sponsors."Jürgen Weiß".slots=0',
            'resources.sponsors."François Dubois".slots=1']
    problem, _ = build_problem(screen(load_policy(policy, sets)))
    d = diagnose(problem)
    assert [i.row for i in d.capacity] == ["sponsor_slots[Ana Ruiz]"]
    assert len(d.conflicts) == 2
    assert all([i.row for i in c.needs] == ["sponsor_slots[Ana Ruiz]"] for c in d.conflicts)


def test_a_conflict_names_all_three_rules_that_make_it_and_not_the_bystander():
    """At most 1 gold account: A is a gold incumbent, C is forced in at gold, B is a silver
    incumbent that can keep its tier without gold. A, C and the limit conflict, all three
    named whichever the elastic solves give way on; B has no part in it."""
    opts = [(a, t, 100, 10, 10) for a in "ABC" for t in ("gold", "silver")]
    p = make_problem(opts, pools=(Pool("EMEA", 10, 1000, 10),), current={"A": "gold", "B": "silver"},
                     forced=(Forced(2, True, 0, "board"),))
    p = replace(p, limits=(count_limit(p, "max_tier_accounts[gold]", "<=", 1, tiers=("gold",)),))
    (rel,) = diagnose(p).conflicts  # whichever of the three the first elastic solve breaks
    named = {rel.rule, *rel.blocked_by, *rel.held_with}
    assert named == {"no_demotion[A]", "override_in[C]", "max_tier_accounts[gold]"}, rel.text
    assert rel.held_with, rel.text  # the elastic solve gave way on one of the other two only
