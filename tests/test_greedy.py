"""The greedy (spreadsheet) baseline: ranking, resources, sponsors, kept accounts, maxima."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given
from strategies import problems

from kamopt.greedy import greedy
from kamopt.model.problem import Capacity, Forced, Kam, Pool, Sponsor
from kamopt.testing import count_limit, tiny_problem, with_limits
from kamopt.verify import verify


def tiers_of(problem, assignment) -> dict[str, str]:
    """Key accounts of a plan: account id -> tier id."""
    tiers = assignment.tier.tolist()
    return {problem.account_ids[a]: problem.tier_ids[t] for a, t in enumerate(tiers) if t >= 0}


def test_ranks_by_score_then_input_order():
    p = tiny_problem([("A", "gold", 10, 0, 0), ("B", "gold", 10, 0, 0), ("C", "gold", 10, 0, 0)],
                     pools=[Pool("P", fte=1, hours_per_fte=100, span=2)], score={"A": 3, "B": 9, "C": 3})
    assert tiers_of(p, greedy(p)) == {"B": "gold", "A": "gold"}  # C ties with A but comes later


def test_takes_the_highest_tier_with_positive_value_that_fits():
    p = tiny_problem([("A", "gold", 100, 0, 60), ("A", "silver", 50, 0, 30), ("B", "gold", -5, 0, 0),
                      ("B", "silver", 20, 0, 0), ("C", "silver", -1, 0, 0)],
                     pools=[Pool("P", fte=1, hours_per_fte=50, span=5)])
    assert tiers_of(p, greedy(p)) == {"A": "silver", "B": "silver"}  # A gold needs 60 h of 50; C loses money


def test_stops_nothing_early_when_a_resource_runs_out():
    p = tiny_problem([("A", "gold", 100, 80, 0), ("B", "gold", 90, 50, 0), ("C", "gold", 10, 20, 0)],
                     score={"A": 9, "B": 8, "C": 1}, budget=100.0,
                     support=[Capacity("legal", 5)], support_hours=[[1, 1, 4]])
    assert tiers_of(p, greedy(p)) == {"A": "gold", "C": "gold"}  # B breaks the budget, C still fits after it
    p = dataclasses.replace(p, budget=150.0)
    assert tiers_of(p, greedy(p)) == {"A": "gold", "B": "gold"}  # now C breaks the support hours (6 of 5)


def test_no_hiring():
    p = tiny_problem([("A", "gold", 100, 0, 80), ("B", "gold", 90, 0, 80)],
                     pools=[Pool("P", fte=1, hours_per_fte=100, span=5, max_hire=2)])
    g = greedy(p)
    assert g.hires.tolist() == [0] and tiers_of(p, g) == {"A": "gold"}


def test_sponsor_scarcity():
    p = tiny_problem([("A", "gold", 100, 0, 0), ("B", "gold", 90, 0, 0), ("B", "silver", 40, 0, 0),
                      ("C", "gold", 80, 0, 0)],
                     sponsors=[Sponsor("CEO", 1), Sponsor("CFO", 1)], sponsor_tiers=["gold"],
                     sponsor_ok={"A": ["CEO"], "B": ["CEO"], "C": ["CEO", "CFO"]},
                     score={"A": 9, "B": 8, "C": 7})
    g = greedy(p)
    assert tiers_of(p, g) == {"A": "gold", "B": "silver", "C": "gold"}
    assert g.sponsor == ("CEO", "", "CFO")
    assert verify(p, g).ok


def test_named_kam_with_most_spare_hours():
    kams = [Kam("Ann", pool=0, hours=100, max_accounts=1), Kam("Bob", pool=0, hours=120, max_accounts=3)]
    p = tiny_problem([("A", "gold", 100, 0, 50), ("B", "gold", 90, 0, 50), ("C", "gold", 80, 0, 50)],
                     pools=[Pool("P", fte=0, hours_per_fte=100, span=1)], kams=kams,
                     score={"A": 9, "B": 8, "C": 7},
                     pairs=[(a, k, 1.0, 0) for a in "ABC" for k in ("Ann", "Bob")])
    g = greedy(p)
    # A -> Bob (120 spare), B -> Ann (100 > 70), C: Ann full (span), Bob has 70 h spare -> Bob
    assert g.kam == ("Bob", "Ann", "Bob") and verify(p, g).ok  # pool FTE 0 does not matter with named KAMs


def test_forced_and_incumbents_first():
    p = tiny_problem([("A", "gold", 100, 0, 60), ("B", "gold", 90, 0, 60), ("B", "silver", 40, 0, 30),
                      ("C", "gold", 80, 0, 60), ("D", "silver", 70, 0, 10)],
                     pools=[Pool("P", fte=1, hours_per_fte=100, span=5)],
                     score={"A": 9, "B": 1, "C": 1, "D": 8},
                     current={"B": "silver"}, demotion="allow",
                     forced=(Forced(2, True, tier=1), Forced(3, False)))
    g = greedy(p)
    # C forced in (silver is no option: highest admissible, gold); B kept at silver; D forced out;
    # then A (best score) no longer fits: 60 + 30 + 60 > 100 even without A.
    assert tiers_of(p, g) == {"B": "silver", "C": "gold"}
    assert [v.constraint for v in verify(p, g).violations] == ["override_in[C]"]  # C is not at silver


def test_kept_accounts_take_a_named_kam_with_room_when_one_has():
    # Ann has the most spare hours, but her one account slot goes to A; B, an incumbent too,
    # goes to Bob, who has room, rather than over Ann's span.
    kams = [Kam("Ann", pool=0, hours=500, max_accounts=1), Kam("Bob", pool=0, hours=100, max_accounts=3)]
    p = tiny_problem([("A", "gold", 100, 0, 50), ("B", "gold", 90, 0, 50)],
                     pools=[Pool("P", fte=0, hours_per_fte=100, span=1)], kams=kams,
                     current={"A": "gold", "B": "gold"},
                     pairs=[(a, k, 1.0, 0) for a in "AB" for k in ("Ann", "Bob")])
    g = greedy(p)
    assert g.kam == ("Ann", "Bob") and verify(p, g).ok


def test_kept_accounts_go_over_a_named_kam_when_none_has_room():
    kams = [Kam("Ann", pool=0, hours=500, max_accounts=1), Kam("Bob", pool=0, hours=100, max_accounts=1)]
    p = tiny_problem([("A", "gold", 100, 0, 50), ("B", "gold", 90, 0, 50), ("C", "gold", 80, 0, 50)],
                     pools=[Pool("P", fte=0, hours_per_fte=100, span=1)], kams=kams,
                     current={"A": "gold", "B": "gold", "C": "gold"},
                     pairs=[(a, k, 1.0, 0) for a in "ABC" for k in ("Ann", "Bob")])
    g = greedy(p)
    # A -> Ann, B -> Bob (the only one with room), C: nobody has room -> most spare hours (Ann)
    assert g.kam == ("Ann", "Bob", "Ann")
    assert {v.constraint: v.amount for v in verify(p, g).violations} == {"kam_span[Ann]": 1.0}


def test_kept_accounts_may_break_capacity_and_the_verifier_says_so():
    p = tiny_problem([("A", "gold", 100, 0, 80), ("B", "gold", 90, 0, 80)], pools=[Pool("P", 1, 100, 5)],
                     current={"A": "gold", "B": "gold"})
    g = greedy(p)
    assert tiers_of(p, g) == {"A": "gold", "B": "gold"}
    assert {v.constraint: v.amount for v in verify(p, g).violations} == {"kam_hours[P]": 60.0}


def test_hard_maxima_are_respected_soft_ones_ignored():
    p = tiny_problem([("A", "gold", 100, 0, 0), ("A", "silver", 50, 0, 0), ("B", "gold", 90, 0, 0),
                      ("B", "silver", 45, 0, 0), ("C", "silver", 30, 0, 0)], score={"A": 9, "B": 8, "C": 7})
    gold_max = count_limit(p, "max_tier_accounts[gold]", "<=", 1, tiers=["gold"], family="tier_count")
    assert tiers_of(with_limits(p, gold_max), greedy(with_limits(p, gold_max))) == {
        "A": "gold", "B": "silver", "C": "silver"}
    key_max = count_limit(p, "max_key_accounts", "<=", 2)
    assert tiers_of(with_limits(p, key_max), greedy(with_limits(p, key_max))) == {"A": "gold", "B": "gold"}
    soft = dataclasses.replace(key_max, penalty=1.0)
    assert len(tiers_of(p, greedy(with_limits(p, soft)))) == 3


def test_min_limits_may_be_broken():
    p = tiny_problem([("A", "gold", 100, 0, 0), ("B", "gold", -10, 0, 0)])
    p = with_limits(p, count_limit(p, "min_key_accounts", ">=", 2))
    assert {v.constraint: v.amount for v in verify(p, greedy(p)).violations} == {"min_key_accounts": 1.0}


@given(problems())
def test_deterministic_and_within_capacity(p):
    """Same plan twice; never hires; and without kept accounts (incumbents, forced) the fill
    breaks no capacity and no hard maximum it checks."""
    g = greedy(p)
    again = greedy(p)
    assert np.array_equal(g.tier, again.tier) and g.kam == again.kam and g.sponsor == again.sponsor
    assert not g.hires.any()
    assert all(g.tier[f.account] < 0 for f in p.forced if not f.include)
    free = dataclasses.replace(p, forced=(), current_tier=np.full(p.n_accounts, -1))
    checked = {"kam_hours", "kam_span", "support_hours", "budget", "sponsor_slots", "sponsor_required",
               "sponsor_affinity", "kam_assign", "admissible", "hire_limit"}
    monotone = {lim.name for lim in p.limits
                if lim.penalty is None and lim.sense == "<=" and (lim.coef >= 0).all()}
    report = verify(free, greedy(free))
    assert [v for v in report.violations if v.family in checked or v.constraint in monotone] == []
