"""Solver adapters: honest status mapping, HiGHS and CBC agree, MPS export round-trips."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from test_model_build import count_limit, make_problem

from kamopt.model.build import build_model
from kamopt.model.optimise import optimise
from kamopt.model.problem import Capacity, Pool, Problem, Sponsor
from kamopt.model.solution import Status
from kamopt.model.solvers import (
    _HIGHS_CONDITION_MAP,
    SolverOptions,
    available_solvers,
    map_highs_status,
    map_pulp_status,
    write_mps,
)


def knapsack(n: int = 60, seed: int = 3) -> Problem:
    """A random multi-resource instance with sponsors, support and a budget."""
    rng = np.random.default_rng(seed)
    options = []
    for i in range(n):
        for tier, scale in (("gold", 3.0), ("silver", 1.8), ("bronze", 1.0)):
            options.append((f"A{i:03d}", tier, float(rng.integers(20, 200)) * scale,
                            float(rng.integers(5, 40)) * scale, float(rng.integers(40, 160)) * scale))
    p = make_problem(options, tiers=("gold", "silver", "bronze"),
                     pools=(Pool("North", 2, 1600, 12, max_hire=2, hire_cost=90, hire_cost_npv=250),
                            Pool("South", 1.5, 1600, 10, max_hire=1, hire_cost=80, hire_cost_npv=220)),
                     pool_of={f"A{i:03d}": i % 2 for i in range(n)},
                     support=(Capacity("technical", 900.0),),
                     support_hours=[[h / 4 for h in (o[4] for o in options)]],
                     sponsors=(Sponsor("Ana", 3), Sponsor("Luis", 2)),
                     sponsor_required=np.array([True, False, False]), budget=2500.0)
    return replace(p, limits=(count_limit(p, "max_key_accounts", "<=", n // 3),))


def test_every_highs_status_maps_and_a_time_limit_is_never_infeasible():
    for name in _HIGHS_CONDITION_MAP:
        status = type("S", (), {"name": name})()
        with_solution = map_highs_status(status, True)
        without = map_highs_status(status, False)
        if name in ("kTimeLimit", "kIterationLimit", "kSolutionLimit", "kInterrupt", "kMemoryLimit"):
            assert (with_solution, without) == (Status.FEASIBLE, Status.TIME_LIMIT_NO_SOLUTION)
        if name != "kInfeasible":
            assert Status.INFEASIBLE not in (with_solution, without)
    assert map_highs_status(type("S", (), {"name": "kSomethingNew"})(), True) is Status.UNKNOWN


def test_pulp_statuses_map_honestly():
    import pulp

    assert map_pulp_status(pulp.LpStatusOptimal, pulp.LpSolutionOptimal) is Status.OPTIMAL
    assert map_pulp_status(pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible) is Status.FEASIBLE
    assert map_pulp_status(pulp.LpStatusInfeasible, pulp.LpSolutionInfeasible) is Status.INFEASIBLE
    assert map_pulp_status(pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound) is Status.TIME_LIMIT_NO_SOLUTION


def test_highs_and_cbc_agree_on_the_optimum():
    assert available_solvers()[0] == "highs" and "cbc" in available_solvers()
    p = knapsack()
    highs = optimise(p, SolverOptions("highs", gap=0))
    cbc = optimise(p, SolverOptions("cbc", gap=0))
    assert highs.status is cbc.status is Status.OPTIMAL
    assert highs.objective == pytest.approx(cbc.objective, rel=1e-9)
    assert highs.gap == pytest.approx(0, abs=1e-6) and highs.bound >= highs.objective - 1e-6


def test_stopping_at_once_is_reported_as_a_time_limit_not_as_infeasible():
    solution = optimise(knapsack(200), SolverOptions("highs", time_limit=1e-9))
    assert solution.status in (Status.TIME_LIMIT_NO_SOLUTION, Status.FEASIBLE)
    assert (solution.assignment is None) == (solution.status is Status.TIME_LIMIT_NO_SOLUTION)


def test_a_models_own_highs_options_are_applied_over_kamopts():
    from kamopt.model.solvers import run

    model = build_model(knapsack(200)).model
    assert run(model, SolverOptions("highs", time_limit=60)).status is Status.OPTIMAL
    model.highs_options["time_limit"] = 0.0  # the model's word is the last
    assert run(model, SolverOptions("highs", time_limit=60)).status in (
        Status.TIME_LIMIT_NO_SOLUTION, Status.FEASIBLE)


def test_infeasible_is_proven_by_both_solvers():
    p = knapsack(12)
    p = replace(p, limits=(count_limit(p, "min_key_accounts", ">=", 13),))
    for name in ("highs", "cbc"):
        solution = optimise(p, SolverOptions(name))
        assert solution.status is Status.INFEASIBLE and solution.assignment is None


def test_mps_export_solves_to_the_same_objective_in_bare_highs(tmp_path):
    import highspy

    from kamopt.model.solvers import quiet_highs

    p = knapsack()
    built = build_model(p)
    path = tmp_path / "model.mps"
    write_mps(built.model, str(path))
    h = quiet_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.readModel(str(path))
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    ours = optimise(p, SolverOptions(gap=0))
    model_objective = h.getInfo().objective_function_value
    # the model's objective carries tie-break terms of at most 2e-6 * max|value|
    assert model_objective == pytest.approx(ours.bound, abs=2e-6 * float(np.abs(p.value).max()) + 1e-6)


def test_unknown_solver_is_a_clear_error():
    from kamopt.errors import SolverError

    with pytest.raises(SolverError, match="solver 'gurobi' is not available"):
        optimise(knapsack(3), SolverOptions("gurobi"))  # type: ignore[arg-type]


def test_solving_prints_nothing(capfd):
    """HiGHS >= 1.16 prints a banner when constructed; kamopt's output must stay its own."""
    optimise(knapsack(5), SolverOptions("highs"))
    out, err = capfd.readouterr()
    assert "HiGHS" not in out and "HiGHS" not in err


@pytest.mark.parametrize("accounts, seed, named_kams", [(150, 1, False), (150, 2, True), (400, 3, False)])
def test_highs_and_cbc_agree_on_generated_instances(tmp_path, accounts, seed, named_kams):
    """Both solvers, proving optimality (gap 0), find the same objective on realistic
    instances with every feature the generator draws (hires, sponsors, quotas, soft limits)."""
    import kamopt
    from kamopt.generate import generate

    generate(accounts, seed, tmp_path / "inst", named_kams=named_kams)
    policy = kamopt.load_policy(tmp_path / "inst" / "policy.yaml")
    plans = {name: kamopt.solve(policy, solver=name, gap=0.0, time_limit=120) for name in ("highs", "cbc")}
    for name, plan in plans.items():
        assert plan.status is Status.OPTIMAL, name
        assert plan.check is not None and plan.check.ok, name
    assert plans["highs"].solution.objective == pytest.approx(plans["cbc"].solution.objective, rel=1e-7)


def test_a_model_that_crashed_highs_restarts_solves(tmp_path):
    """HiGHS 1.16 aborted the process (free(): invalid pointer) in a MIP restart on the
    sample with A-0006 forced in at silver; kamopt turns restarts off. Run in a child
    process: a regression would kill it, not the test run."""
    import shutil
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    folder = tmp_path / "sample"
    shutil.copytree(root / "src" / "kamopt" / "sample", folder)
    policy = folder / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    anchor = "    - account: A-0013"
    assert anchor in text
    policy.write_text(text.replace(anchor, "    - {account: A-0006, action: include, tier: silver, reason: test}\n"
                                           + anchor, 1), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "kamopt.cli", "solve", str(policy), "--out", str(tmp_path / "p")],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"status": "optimal"' in (tmp_path / "p" / "summary.json").read_text(encoding="utf-8")
