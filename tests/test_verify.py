"""The independent verifier: a satisfied / violated pair per constraint family, exact amounts.

Each violated plan must break exactly the rule under test, by the amount worked out by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import plans, problems

from kamopt.model.optimise import objective_parts
from kamopt.model.problem import Capacity, Forced, Kam, Limit, Pool, Sponsor
from kamopt.model.solution import Assignment
from kamopt.testing import assert_plan_ok, count_limit, plan, tiny_problem, with_limits
from kamopt.verify import evaluate, rule_names, verify


def broken(problem, assignment) -> dict[str, float]:
    """Hard violations of a plan: constraint name -> amount."""
    return {v.constraint: v.amount for v in verify(problem, assignment).violations}


def usage(problem, assignment) -> dict[str, tuple[float, float]]:
    """Usage rows: name -> (limit, used)."""
    return {u.name: (u.limit, u.used) for u in verify(problem, assignment).usage}


# --------------------------------------------------------------------------- admissible, one tier
def test_admissible():
    p = tiny_problem([("A", "silver", 50, 5, 10), ("B", "gold", 90, 5, 10)], pools=[Pool("P", 1, 100, 5)])
    assert broken(p, plan(p, {"A": "silver", "B": "gold"})) == {}
    report = verify(p, plan(p, {"A": "gold", "B": "gold"}))
    assert {v.constraint: v.amount for v in report.violations} == {"admissible[A]": 1.0}
    assert report.violations[0].family == "admissible"
    assert report.violations[0].message == "admissible[A]: given tier gold, not one of its options (silver)"
    # no numbers exist for (A, gold): only B's hours count
    assert usage(p, plan(p, {"A": "gold", "B": "gold"}))["kam_hours[P]"] == (100.0, 10.0)


def test_one_tier_per_account_counts_only_the_chosen_option():
    """An Assignment holds one tier per account, so one_tier holds by construction: only the
    chosen option's hours and value count, never the sum over the account's options."""
    p = tiny_problem([("A", "gold", 100, 10, 60), ("A", "silver", 60, 5, 30)], pools=[Pool("P", 1, 100, 5)])
    assert usage(p, plan(p, {"A": "silver"}))["kam_hours[P]"] == (100.0, 30.0)
    assert evaluate(p, plan(p, {"A": "gold"})).value == 100.0
    with pytest.raises(ValueError, match="1 tiers for 2 accounts"):
        two = tiny_problem([("A", "gold", 1, 0, 0), ("B", "gold", 1, 0, 0)])
        verify(two, Assignment(np.array([0]), np.zeros(0)))


# --------------------------------------------------------------------------- KAM pools and hires
def _pool_problem(max_hire=0):
    pool = Pool("P", fte=1, hours_per_fte=1000, span=2, max_hire=max_hire, hire_cost=70, hire_cost_npv=300)
    return tiny_problem([("A", "gold", 100, 30, 600), ("B", "gold", 90, 20, 550), ("C", "gold", 80, 10, 0)],
                        pools=[pool])


def test_kam_hours_per_pool():
    p = _pool_problem()
    assert broken(p, plan(p, {"A": "gold", "C": "gold"})) == {}
    report = verify(p, plan(p, {"A": "gold", "B": "gold"}))
    assert {v.constraint: v.amount for v in report.violations} == {"kam_hours[P]": 150.0}
    v = report.violations[0]
    assert (v.family, v.limit, v.used, v.unit) == ("kam_hours", 1000.0, 1150.0, "h")
    assert v.message == "kam_hours[P]: uses 1,150 h of 1,000 h (150 h over)"


def test_kam_span_per_pool():
    p = _pool_problem()
    assert broken(p, plan(p, {"A": "gold", "C": "gold"})) == {}
    all_three = plan(p, {"A": "gold", "B": "gold", "C": "gold"})
    assert broken(p, all_three) == {"kam_hours[P]": 150.0, "kam_span[P]": 1.0}


def test_pool_capacity_includes_hires():
    p = _pool_problem(max_hire=1)
    all_three = {"A": "gold", "B": "gold", "C": "gold"}
    assert broken(p, plan(p, all_three, hires={"P": 1})) == {}
    assert usage(p, plan(p, all_three, hires={"P": 1}))["kam_span[P]"] == (4.0, 3.0)
    assert broken(p, plan(p, all_three)) == {"kam_hours[P]": 150.0, "kam_span[P]": 1.0}


def test_hire_limit():
    p = _pool_problem(max_hire=2)
    assert broken(p, plan(p, {}, hires={"P": 2})) == {}
    assert broken(p, plan(p, {}, hires={"P": 3})) == {"hire_limit[P]": 1.0}
    assert broken(p, plan(p, {}, hires={"P": -1})) == {"hire_limit[P]": 1.0}
    fractional = Assignment(tier=np.full(3, -1), hires=np.array([1.5]))
    assert broken(p, fractional) == {"hire_limit[P]": 0.5}
    assert broken(_pool_problem(max_hire=0), plan(p, {}, hires={"P": 1})) == {"hire_limit[P]": 1.0}


# --------------------------------------------------------------------------- named KAMs
def _kam_problem():
    pools = [Pool("EMEA", fte=2, hours_per_fte=100, span=2, max_hire=1, hire_cost_npv=300)]
    kams = [Kam("Ann", pool=0, hours=100, max_accounts=1), Kam("Bob", pool=0, hours=80, max_accounts=2)]
    return tiny_problem([("A", "gold", 100, 10, 60), ("A", "silver", 60, 5, 30), ("B", "silver", 40, 5, 30)],
                        pools=pools, kams=kams,
                        pairs=[("A", "Ann", 1.5, 5.0), ("A", "Bob", 1.0, 20.0), ("B", "Ann", 1.0, 0.0)])


def test_named_kam_hours():
    p = _kam_problem()
    assert broken(p, plan(p, {"A": "silver"}, kam={"A": "Ann"})) == {}  # 30 h x 1.5 = 45 h
    report = verify(p, plan(p, {"A": "gold"}, kam={"A": "Ann"}))  # 60 h x 1.5 = 90 h of 100: fits
    assert report.ok
    p2 = tiny_problem([("A", "gold", 100, 10, 80)], pools=p.pools, kams=p.kams, pairs=[("A", "Ann", 1.5, 0)])
    assert broken(p2, plan(p2, {"A": "gold"}, kam={"A": "Ann"})) == {"kam_hours[Ann]": 20.0}


def test_named_kam_span():
    p = _kam_problem()
    assert broken(p, plan(p, {"A": "silver", "B": "silver"}, kam={"A": "Bob", "B": "Ann"})) == {}
    p2 = tiny_problem(
        [("A", "silver", 60, 5, 0), ("B", "silver", 40, 5, 0)], pools=p.pools, kams=p.kams,
        pairs=[("A", "Ann", 1.0, 0), ("B", "Ann", 1.0, 0)],
    )
    assert broken(p2, plan(p2, {"A": "silver", "B": "silver"}, kam={"A": "Ann", "B": "Ann"})) == {
        "kam_span[Ann]": 1.0}


def test_kam_assign_needs_one_allowed_kam():
    p = _kam_problem()
    assert broken(p, plan(p, {"B": "silver"}, kam={"B": "Ann"})) == {}
    assert broken(p, plan(p, {"B": "silver"})) == {"kam_assign[B]": 1.0}
    assert broken(p, plan(p, {"B": "silver"}, kam={"B": "Bob"})) == {"kam_assign[B]": 1.0}  # no (B, Bob) pair
    assert broken(p, plan(p, {"B": "silver"}, kam={"B": "Zed"})) == {"kam_assign[B]": 1.0}
    assert broken(p, plan(p, {}, kam={"B": "Ann"})) == {"kam_assign[B]": 1.0}  # not key, yet served


def test_new_hire_capacity():
    p = _kam_problem()
    new = {"A": "EMEA (new hire)"}
    assert broken(p, plan(p, {"A": "gold"}, kam=new, hires={"EMEA": 1})) == {}
    rows = usage(p, plan(p, {"A": "gold"}, kam=new, hires={"EMEA": 1}))
    assert rows["kam_hours[EMEA (new hire)]"] == (100.0, 60.0)
    assert broken(p, plan(p, {"A": "gold"}, kam=new)) == {
        "kam_hours[EMEA (new hire)]": 60.0, "kam_span[EMEA (new hire)]": 1.0}
    assert "kam_hours[EMEA]" not in usage(p, plan(p, {}))  # no pool-level rows with named KAMs


# --------------------------------------------------------------------------- support, budget
def test_support_hours():
    p = tiny_problem([("A", "gold", 100, 0, 0), ("A", "silver", 60, 0, 0), ("B", "silver", 40, 0, 0)],
                     support=[Capacity("legal", 10)], support_hours=[[8, 2, 7]])
    assert broken(p, plan(p, {"A": "silver", "B": "silver"})) == {}
    assert broken(p, plan(p, {"A": "gold", "B": "silver"})) == {"support_hours[legal]": 5.0}


def test_budget_includes_hire_cost():
    p = _pool_problem(max_hire=1)
    p = tiny_problem([("A", "gold", 100, 30, 0), ("B", "gold", 90, 20, 0)], pools=p.pools, budget=100.0)
    assert broken(p, plan(p, {"A": "gold", "B": "gold"})) == {}
    report = verify(p, plan(p, {"A": "gold", "B": "gold"}, hires={"P": 1}))  # 50 + 70
    assert {v.constraint: v.amount for v in report.violations} == {"budget": 20.0}
    assert report.violations[0].message == "budget: uses 120 of 100 (20 over)"


# --------------------------------------------------------------------------- sponsors
def _sponsor_problem():
    return tiny_problem(
        [("A", "gold", 100, 0, 0), ("A", "silver", 60, 0, 0), ("B", "gold", 90, 0, 0),
         ("C", "gold", 80, 0, 0)],
        sponsors=[Sponsor("CEO", 1), Sponsor("CFO", 2)], sponsor_tiers=["gold"],
        sponsor_ok={"A": ["CEO"], "B": ["CEO", "CFO"], "C": ["CFO"]},
    )


def test_sponsor_required():
    p = _sponsor_problem()
    assert broken(p, plan(p, {"A": "gold", "B": "gold"}, sponsor={"A": "CEO", "B": "CFO"})) == {}
    assert broken(p, plan(p, {"A": "gold", "B": "gold"}, sponsor={"A": "CEO"})) == {
        "sponsor_required[B]": 1.0}
    # a sponsor where the tier needs none: the MILP has no variable for it
    assert broken(p, plan(p, {"A": "silver"}, sponsor={"A": "CEO"})) == {"sponsor_required[A]": 1.0}
    assert broken(p, plan(p, {"A": "silver"})) == {}


def test_sponsor_affinity():
    p = _sponsor_problem()
    assert broken(p, plan(p, {"C": "gold"}, sponsor={"C": "CFO"})) == {}
    assert broken(p, plan(p, {"C": "gold"}, sponsor={"C": "CEO"})) == {"sponsor_affinity[C]": 1.0}
    assert broken(p, plan(p, {"C": "gold"}, sponsor={"C": "COO"})) == {"sponsor_affinity[C]": 1.0}


def test_sponsor_slots():
    p = _sponsor_problem()
    full = plan(p, {"B": "gold", "C": "gold"}, sponsor={"B": "CFO", "C": "CFO"})
    assert broken(p, full) == {} and usage(p, full)["sponsor_slots[CFO]"] == (2.0, 2.0)
    assert broken(p, plan(p, {"A": "gold", "B": "gold"}, sponsor={"A": "CEO", "B": "CEO"})) == {
        "sponsor_slots[CEO]": 1.0}


def test_sponsor_required_without_any_sponsor():
    p = tiny_problem([("A", "gold", 100, 0, 0), ("A", "silver", 60, 0, 0)], sponsor_tiers=["gold"])
    assert broken(p, plan(p, {"A": "silver"})) == {}
    assert broken(p, plan(p, {"A": "gold"})) == {"sponsor_required[A]": 1.0}


# --------------------------------------------------------------------------- portfolio limits
_LIM = [("A", "gold", 100, 0, 0), ("A", "silver", 60, 0, 0), ("B", "gold", 90, 0, 0),
        ("C", "silver", 30, 0, 0), ("D", "silver", 20, 0, 0)]


def test_min_and_max_key_accounts():
    p = tiny_problem(_LIM)
    p = with_limits(p, count_limit(p, "min_key_accounts", ">=", 2),
                    count_limit(p, "max_key_accounts", "<=", 3))
    assert broken(p, plan(p, {"A": "gold", "B": "gold"})) == {}
    assert broken(p, plan(p, {})) == {"min_key_accounts": 2.0}
    report = verify(p, plan(p, {"A": "gold", "B": "gold", "C": "silver", "D": "silver"}))
    assert {v.constraint: v.amount for v in report.violations} == {"max_key_accounts": 1.0}
    assert report.violations[0].family == "key_accounts"
    assert verify(p, plan(p, {})).violations[0].message == (
        "min_key_accounts: has 0 accounts, needs at least 2 accounts (2 accounts short)")


def test_tier_count():
    p = tiny_problem(_LIM)
    p = with_limits(
        p, count_limit(p, "max_tier_accounts[gold]", "<=", 1, tiers=["gold"], family="tier_count"),
        count_limit(p, "min_tier_accounts[silver]", ">=", 2, tiers=["silver"], family="tier_count"),
    )
    assert broken(p, plan(p, {"A": "gold", "C": "silver", "D": "silver"})) == {}
    assert broken(p, plan(p, {"A": "gold", "B": "gold", "C": "silver"})) == {
        "max_tier_accounts[gold]": 1.0, "min_tier_accounts[silver]": 1.0}


def test_quota_share():
    p = tiny_problem(_LIM)
    p = with_limits(p, count_limit(p, "quota_max_share[retail]", "<=", 0, accounts=["A", "B"], share=0.5,
                                   family="quota"))
    assert broken(p, plan(p, {"A": "gold", "C": "silver"})) == {}
    # 2 retail of 3: 2 - 0.5 x 3 = half an account above the share
    assert broken(p, plan(p, {"A": "gold", "B": "gold", "C": "silver"})) == {"quota_max_share[retail]": 0.5}
    (v,) = verify(p, plan(p, {"A": "gold", "B": "gold", "C": "silver"})).violations
    assert v.message == "quota_max_share[retail]: 66.7 % of key accounts, at most 50 % (0.5 accounts over)"


def test_quota_min_share_is_told_in_percent():
    p = tiny_problem(_LIM)
    p = with_limits(p, count_limit(p, "quota_min_share[retail]", ">=", 0, accounts=["A", "B"], share=0.5,
                                   family="quota"))
    (v,) = verify(p, plan(p, {"A": "gold", "C": "silver", "D": "silver"})).violations  # 1 of 3
    assert v.message == "quota_min_share[retail]: 33.3 % of key accounts, needs at least 50 % (0.5 accounts short)"
    assert broken(p, plan(p, {})) == {}  # no key accounts: no share to fall short of (0 >= 0)


def test_max_new_promotions():
    p = tiny_problem(_LIM, current={"A": "gold"}, demotion="allow")
    newcomer = count_limit(p, "max_new_promotions", "<=", 1, accounts=["B", "C", "D"], family="promotions")
    p = with_limits(p, newcomer)
    assert broken(p, plan(p, {"A": "gold", "B": "gold"})) == {}
    everyone = plan(p, {"A": "gold", "B": "gold", "C": "silver", "D": "silver"})
    assert broken(p, everyone) == {"max_new_promotions": 2.0}


def test_concentration_with_a_measure():
    p = tiny_problem(_LIM)
    revenue = np.array([10.0, 10.0, 30.0, 20.0, 40.0])  # per option: A 10, B 30, C 20, D 40
    north = np.isin(p.opt_account, [0, 1]).astype(float)  # accounts A and B
    coef = revenue * (north - 0.5)  # north at most half of the portfolio's revenue
    p = with_limits(p, Limit("concentration[region:north]", "concentration", coef, "<=", 0.0,
                             unit="units of revenue"))
    assert broken(p, plan(p, {"A": "gold", "D": "silver"})) == {}  # 10 of 50
    report = verify(p, plan(p, {"A": "gold", "B": "gold", "C": "silver"}))  # 40 of 60: 40 - 30 = 10 over
    assert {v.constraint: v.amount for v in report.violations} == {"concentration[region:north]": 10.0}
    assert report.violations[0].unit == "units of revenue"
    shared = with_limits(p, Limit("concentration[region:north]", "concentration", coef, "<=", 0.0,
                                  unit="units of revenue", share=0.5, measure=revenue))
    (v,) = verify(shared, plan(p, {"A": "gold", "B": "gold", "C": "silver"})).violations
    assert v.message == ("concentration[region:north]: 66.7 % of key accounts' revenue, at most 50 % "
                         "(10 units of revenue over)")


def test_soft_limit_goes_to_soft_and_is_priced():
    p = tiny_problem(_LIM)
    p = with_limits(p, count_limit(p, "max_key_accounts", "<=", 1, penalty=25.0))
    ok = verify(p, plan(p, {"A": "gold"}))
    assert ok.soft == {} and ok.parts.soft_penalty == 0.0
    report = verify(p, plan(p, {"A": "gold", "B": "gold", "C": "silver"}))
    assert report.ok and report.violations == []
    assert report.soft == {"max_key_accounts": 2.0}
    assert report.parts.soft_penalty == 50.0
    assert report.parts.total == 100 + 90 + 30 - 50


# --------------------------------------------------------------------------- incumbents, overrides
_INC = [("A", "gold", 100, 0, 0), ("A", "silver", 60, 0, 0), ("B", "gold", 90, 0, 0),
        ("B", "silver", 50, 0, 0), ("C", "silver", 30, 0, 0)]


def test_incumbents_forbid():
    p = tiny_problem(_INC, current={"A": "gold", "B": "silver"}, demotion="forbid")
    assert broken(p, plan(p, {"A": "gold", "B": "gold"})) == {}  # promotion is fine
    assert broken(p, plan(p, {"A": "silver", "B": "silver"})) == {"no_demotion[A]": 1.0}
    assert broken(p, plan(p, {"A": "gold"})) == {"no_demotion[B]": 1.0}


def test_incumbents_tier_down():
    p = tiny_problem(_INC, current={"A": "gold", "B": "silver"}, demotion="tier_down")
    assert broken(p, plan(p, {"A": "silver", "B": "silver"})) == {}
    assert broken(p, plan(p, {"A": "silver"})) == {"keep_key[B]": 1.0}


def test_incumbents_allow():
    p = tiny_problem(_INC, current={"A": "gold", "B": "silver"}, demotion="allow")
    assert broken(p, plan(p, {})) == {}


def test_overrides():
    p = tiny_problem(_INC, forced=(Forced(0, True, tier=1, reason="CEO"), Forced(1, True),
                                   Forced(2, False, reason="churn")))
    assert broken(p, plan(p, {"A": "silver", "B": "gold"})) == {}
    assert broken(p, plan(p, {"A": "gold", "C": "silver"})) == {
        "override_in[A]": 1.0, "override_in[B]": 1.0, "override_out[C]": 1.0}
    messages = [v.message for v in verify(p, plan(p, {"A": "gold", "B": "silver"})).violations]
    assert messages == ["override_in[A]: forced in at silver (CEO), the plan gives gold"]


# --------------------------------------------------------------------------- report, pricing
def test_usage_rows_in_stable_order():
    pools = [Pool("P", 1, 100, 5, max_hire=1), Pool("Q", 1, 100, 5)]
    p = tiny_problem([("A", "gold", 100, 10, 50), ("B", "gold", 80, 10, 50)], pools=pools, pool_of={"B": 1},
                     support=[Capacity("legal", 10)], budget=100.0, sponsors=[Sponsor("CEO", 1)])
    p = with_limits(p, count_limit(p, "min_key_accounts", ">=", 1))
    names = [u.name for u in verify(p, plan(p, {"A": "gold"})).usage]
    assert names == ["kam_hours[P]", "kam_span[P]", "kam_hours[Q]", "kam_span[Q]", "hire_limit[P]",
                     "hire_limit[Q]", "support_hours[legal]", "budget", "sponsor_slots[CEO]",
                     "min_key_accounts"]
    u = verify(p, plan(p, {"A": "gold"})).usage[0]
    assert (u.family, u.limit, u.used, u.slack, u.unit) == ("kam_hours", 100.0, 50.0, 50.0, "h")


def test_evaluate_parts():
    p = _kam_problem()
    p = tiny_problem([("A", "gold", 100, 10, 60), ("B", "silver", 40, 5, 30)], pools=p.pools, kams=p.kams,
                     pairs=[("A", "Bob", 1.0, 20.0)], current={"B": "silver"}, change_penalty=7.0)
    parts = evaluate(p, plan(p, {"A": "gold"}, kam={"A": "Bob"}, hires={"EMEA": 1}))
    assert (parts.value, parts.hiring, parts.change_penalty, parts.soft_penalty) == (120.0, 300.0, 14.0, 0.0)
    assert parts.total == 120 - 300 - 14


def test_assert_plan_ok_lists_violations():
    p = _pool_problem()
    assert_plan_ok(p, plan(p, {"A": "gold"}))
    with pytest.raises(AssertionError, match=r"kam_hours\[P\]: uses 1,150 h of 1,000 h"):
        assert_plan_ok(p, plan(p, {"A": "gold", "B": "gold"}))


@given(st.data())
def test_evaluate_matches_objective_parts(data):
    """The verifier's pricing is written independently of the optimiser's; both must agree."""
    p = data.draw(problems())
    a = data.draw(plans(p))
    mine = evaluate(p, a)
    theirs, soft = objective_parts(p, a)
    for field in ("value", "hiring", "change_penalty", "soft_penalty"):
        assert getattr(mine, field) == pytest.approx(getattr(theirs, field), rel=1e-9, abs=1e-9), field
    assert verify(p, a).soft.keys() == soft.keys()


def test_rule_names_of_violation_messages():
    assert rule_names(["budget: uses 120 of 100 (20 over)"]) == "budget"
    assert rule_names(["budget: x", "kam_span[Ann]: y", "budget: z"]) == "budget and kam_span[Ann]"
    assert rule_names(["a: 1", "b: 2", "c: 3", "d: 4"]) == "a, b and 2 more rules"
    assert rule_names([]) == "rules"
