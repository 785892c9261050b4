"""Properties of the optimiser over random small problems, checked against independent code:
the verifier, a brute-force optimum and the greedy baseline.

Run with ``KAMOPT_HYPOTHESIS=dev`` for 200 random examples instead of 60 derandomized ones.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import Phase, assume, find, given, settings
from hypothesis import strategies as st
from reference import brute_force, search_size
from strategies import problems

from kamopt.greedy import greedy
from kamopt.model.optimise import optimise
from kamopt.model.problem import Capacity, Kam, Problem, Sponsor
from kamopt.model.solution import Assignment, Solution, Status
from kamopt.model.solvers import SolverOptions
from kamopt.verify import evaluate, verify

OPTIONS = SolverOptions(gap=0, time_limit=20)
BRUTE_FORCE_MAX = 2000
"""Largest (tier vector x hire vector) count brute-forced (about 0.5 s at most)."""


def solve(p: Problem) -> Solution:
    s = optimise(p, OPTIONS)
    assert s.status in (Status.OPTIMAL, Status.INFEASIBLE), (s.status, s.message)
    return s


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


@given(problems())
def test_verifier_accepts_every_optimal_plan(p):
    s = solve(p)
    if s.status == Status.OPTIMAL:
        report = verify(p, s.assignment)
        assert report.ok, [v.message for v in report.violations]
        assert close(report.parts.total, s.objective)
        assert report.soft == s.violations


@given(problems(max_accounts=5))
def test_optimum_equals_brute_force(p):
    assume(search_size(p) <= BRUTE_FORCE_MAX)
    best, plan = brute_force(p)
    s = solve(p)
    if best is None:
        assert s.status == Status.INFEASIBLE
    else:
        assert verify(p, plan).ok and close(evaluate(p, plan).total, best)
        assert s.status == Status.OPTIMAL, f"brute force found {best}"
        assert close(s.objective, best), (s.objective, best)


@given(problems())
def test_sponsor_flows_per_account_give_the_same_optimum(p):
    """Past SPONSOR_CLASSES_UP_TO sponsored accounts each is its own sponsor class: the same
    problem, so the same optimum, and the plan keeps every rule."""
    from kamopt.model import build

    by_class = solve(p)
    saved = build.SPONSOR_CLASSES_UP_TO
    build.SPONSOR_CLASSES_UP_TO = 0
    try:
        per_account = solve(p)
    finally:
        build.SPONSOR_CLASSES_UP_TO = saved
    assert per_account.status == by_class.status
    if per_account.status == Status.OPTIMAL:
        assert close(per_account.objective, by_class.objective), (per_account.objective, by_class.objective)
        assert verify(p, per_account.assignment).ok


@given(problems())
def test_optimum_at_least_greedy(p):
    report = verify(p, greedy(p))
    assume(report.ok)  # about 40% of the problems
    s = solve(p)
    assert s.status == Status.OPTIMAL
    assert s.objective >= report.parts.total - 1e-6 * max(1.0, abs(report.parts.total))


def more_capacity(p: Problem) -> Problem:
    """The same problem with more of every capacity: FTE, named KAMs, support, budget, sponsor slots."""
    return dataclasses.replace(
        p,
        pools=tuple(dataclasses.replace(q, fte=q.fte + 1) for q in p.pools),
        kams=tuple(Kam(k.id, k.pool, k.hours * 2 + 10, k.max_accounts + 1) for k in p.kams),
        support=tuple(Capacity(c.id, c.limit * 2 + 10) for c in p.support),
        budget=None if p.budget is None else p.budget * 2 + 10,
        sponsors=tuple(Sponsor(e.id, e.slots + 1) for e in p.sponsors),
    )


@given(problems())
def test_more_capacity_never_lowers_the_optimum(p):
    before = solve(p)
    after = solve(more_capacity(p))
    if before.status == Status.OPTIMAL:
        assert after.status == Status.OPTIMAL
        assert after.objective >= before.objective - 1e-6 * max(1.0, abs(before.objective))


@given(problems(), st.sampled_from(["forbid", "tier_down"]))
def test_incumbents_are_kept(p, demotion):
    p = dataclasses.replace(p, demotion=demotion)
    s = solve(p)
    if s.status == Status.OPTIMAL:
        cur = np.full(p.n_accounts, -1)
        cur[: len(p.current_tier)] = p.current_tier
        inc = np.flatnonzero(cur >= 0)
        tier = s.assignment.tier[inc]
        assert (tier >= 0).all()
        if demotion == "forbid":
            assert (tier <= cur[inc]).all()


@given(problems())
def test_optimising_twice_gives_the_same_plan(p):
    first, second = solve(p), solve(p)
    assert first.status == second.status
    if first.assignment is not None:
        a, b = first.assignment, second.assignment
        assert np.array_equal(a.tier, b.tier) and np.array_equal(a.hires, b.hires)
        assert a.kam == b.kam and a.sponsor == b.sponsor


def test_strategies_cover_the_features():
    """Guard against a strategy change that silently stops exercising a family."""
    features = {
        "named KAMs": lambda p: bool(p.kams),
        "sponsors": lambda p: bool(p.sponsors) and bool(np.any(p.sponsor_required)),
        "hiring": lambda p: any(q.max_hire for q in p.pools),
        "soft limits": lambda p: any(lim.penalty is not None for lim in p.limits),
        "hard limits": lambda p: any(lim.penalty is None for lim in p.limits),
        "overrides": lambda p: bool(p.forced),
        "incumbents": lambda p: bool((p.current_tier >= 0).any()),
        "support": lambda p: bool(p.support),
        "budget": lambda p: p.budget is not None,
        "negative values": lambda p: bool((p.value < 0).any()),
    }
    quick = settings(phases=[Phase.generate], database=None)  # the first example will do: no shrinking
    for name, feature in features.items():
        assert feature(find(problems(), feature, settings=quick)), name


@given(problems())
def test_problems_are_small_and_valid(p):
    assert 2 <= p.n_accounts <= 6 and 1 <= len(p.tier_ids) <= 3 and 1 <= len(p.pools) <= 2
    assert all(p.options_of(a).size for a in range(p.n_accounts))
    assert verify(p, Assignment(np.full(p.n_accounts, -1), np.zeros(len(p.pools), dtype=np.int64))).usage
