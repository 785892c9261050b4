"""Staffing a plan's tiers: kamopt check on a sheet of tiers, and the re-staffing of a
time-limited plan with named KAMs (``kamopt.model.optimise.staff`` / ``POLISH_SHARE``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import kamopt
import kamopt.model.optimise as optimise_module
from kamopt.data.accounts import load_data
from kamopt.generate import generate
from kamopt.greedy import greedy
from kamopt.model.optimise import objective_parts, optimise, staff, start_vector
from kamopt.model.solution import Assignment, Status
from kamopt.model.solvers import SolverOptions
from kamopt.screening import build_problem, screen
from kamopt.verify import verify


@pytest.fixture(scope="module")
def named(tmp_path_factory):
    """A generated instance with named KAMs and fit bonuses, and its greedy plan (which keeps every rule)."""
    out = tmp_path_factory.mktemp("staff") / "g"
    generate(300, 1, out, named_kams=True, pools=3, sponsors=5)
    loaded = kamopt.load_policy(out / "policy.yaml")
    problem, _ = build_problem(screen(loaded, load_data(loaded)))
    plan = greedy(problem)
    assert problem.kams and verify(problem, plan).ok
    return problem, plan


def value(problem, a: Assignment) -> float:
    return objective_parts(problem, a)[0].total


def test_staffing_keeps_tiers_and_hires_and_is_worth_no_less(named):
    problem, plan = named
    found = staff(problem, plan)
    assert found is not None and verify(problem, found).ok
    assert np.array_equal(found.tier, plan.tier) and np.array_equal(found.hires, plan.hires)
    assert value(problem, found) > value(problem, plan)  # greedy's first KAM with room is not the best fit
    unnamed = replace(plan, kam=("",) * len(plan.kam), sponsor=("",) * len(plan.sponsor))
    assert not verify(problem, unnamed).ok  # nobody named: every key account breaks kam_assign
    again = staff(problem, unnamed)
    assert again is not None and verify(problem, again).ok
    assert value(problem, again) == pytest.approx(value(problem, found), rel=1e-4)


def test_a_time_limited_plan_with_named_kams_is_re_staffed(named, monkeypatch):
    """The MILP 'stops at its time limit' with the greedy plan; the time kept back
    re-staffs it: same tiers, worth at least as much, and the message says what it gained."""
    problem, plan = named
    real = optimise_module.run
    calls = []

    def stopped_with_greedy(model, options, start=None):
        calls.append(options.time_limit)
        raw = real(model, options, start=start)
        if len(calls) > 1:
            return raw
        built = optimise_module.build_model(problem)
        return replace(raw, status=Status.FEASIBLE, x=start_vector(built, plan))

    monkeypatch.setattr(optimise_module, "run", stopped_with_greedy)
    sol = optimise(problem, SolverOptions(time_limit=30))
    assert calls[0] == pytest.approx(30 * (1 - optimise_module.POLISH_SHARE)) and len(calls) == 2
    assert np.array_equal(sol.assignment.tier, plan.tier) and verify(problem, sol.assignment).ok
    gained = sol.objective - value(problem, plan)
    assert gained > 0 and "re-assigned with its tiers fixed: +" in sol.message
    assert sol.status is Status.FEASIBLE and sol.gap is not None and sol.gap >= 0


def test_without_named_kams_nothing_is_held_back(tmp_path, monkeypatch):
    generate(150, 2, tmp_path / "g", named_kams=False, pools=3, sponsors=4)
    loaded = kamopt.load_policy(tmp_path / "g" / "policy.yaml")
    problem, _ = build_problem(screen(loaded, load_data(loaded)))
    limits = []
    real = optimise_module.run
    monkeypatch.setattr(optimise_module, "run",
                        lambda m, o, start=None: limits.append(o.time_limit) or real(m, o, start=start))
    optimise(problem, SolverOptions(time_limit=30))
    assert limits == [30]
