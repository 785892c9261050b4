"""The objective split HiGHS gets (kamopt.model.objective_split): the same optimum as the
plain model, group bounds that no plan exceeds, and the MPS export showing what HiGHS gets."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from strategies import problems
from test_solvers import knapsack

from kamopt.model.build import build_model
from kamopt.model.linear import LinearModel
from kamopt.model.objective_split import VALUE_GROUPS, value_groups
from kamopt.model.solution import Status
from kamopt.model.solvers import SolverOptions, run, split_bounds, write_mps

EXACT = SolverOptions(gap=0, time_limit=20)


def with_groups(model: LinearModel, k: int) -> LinearModel:
    out = model.copy()
    out.value_groups = k
    return out


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def test_the_builder_splits_models_without_named_kams_only():
    assert build_model(knapsack(20)).model.value_groups == VALUE_GROUPS
    # the diagnosis's elastic models keep the plain objective
    assert build_model(knapsack(20), elastic={"*"}).model.value_groups == 0


def test_groups_are_the_binary_columns_with_a_cost_in_order():
    m = build_model(knapsack(20)).model
    groups = value_groups(m, 4)
    assert len(groups) == 4
    cols = np.concatenate(groups)
    assert np.array_equal(cols, np.sort(cols))
    assert np.array_equal(cols, np.flatnonzero(m.integer & (m.upper <= 1) & (m.cost != 0)))
    assert max(g.size for g in groups) - min(g.size for g in groups) <= 1
    assert value_groups(m, 0) == []
    assert len(value_groups(m, 10_000)) == cols.size  # never an empty group


@given(problems(), st.integers(1, 3))
def test_the_split_keeps_the_optimum(p, k):
    m = build_model(p).model
    plain, split = run(with_groups(m, 0), EXACT), run(with_groups(m, k), EXACT)
    assert split.status == plain.status
    if plain.status == Status.OPTIMAL:
        assert close(split.objective, plain.objective), (split.objective, plain.objective)
        assert split.x.size == m.n_cols  # the split's own columns are not handed back
        act = m.activity(split.x)
        assert np.all(act >= m.row_lower - 1e-6) and np.all(act <= m.row_upper + 1e-6)


@given(problems(max_accounts=5), st.integers(1, 3))
def test_no_plan_is_worth_more_in_a_group_than_its_bound(p, k):
    """The bound of each group is at least its best value over every plan of the model (the
    MILP maximising that group's value alone): the split never cuts off a plan."""
    m = build_model(p).model
    groups = value_groups(m, k)
    for g, bound in zip(groups, split_bounds(m, groups)):
        alone = with_groups(m, 0)
        alone.cost[:] = 0.0
        alone.cost[g] = m.cost[g]
        alone.constant = 0.0
        best = run(alone, EXACT)
        if best.status == Status.OPTIMAL:
            assert best.objective <= bound + 1e-6 * max(1.0, abs(bound)), (best.objective, bound)


def test_bounds_are_tighter_than_the_rows_imply_where_capacity_binds():
    """The split only pays (and HiGHS's presolve only keeps it) when a bound says more than
    the group's sum of values: on a capacity-bound instance every group's does."""
    m = build_model(knapsack(60)).model
    groups = value_groups(m, 4)
    implied = np.array([np.maximum(m.cost[g], 0).sum() for g in groups])
    assert np.all(split_bounds(m, groups) < 0.9 * implied)


def test_the_mps_export_is_the_split_model_and_solves_to_the_same_optimum(tmp_path):
    import highspy

    m = build_model(knapsack(60)).model
    path = tmp_path / "model.mps"
    write_mps(m, str(path))
    text = path.read_text()
    assert text.count("value_group[") >= VALUE_GROUPS and "value[16]" in text
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.readModel(str(path))
    h.run()
    direct = run(with_groups(m, 0), EXACT)
    assert close(h.getInfo().objective_function_value, direct.objective)


def test_the_split_solves_with_any_thread_count():
    """HiGHS keeps one thread pool per calling thread: the split's bound LPs must run with
    the MILP's thread count, or the MILP cannot start (compare and frontier use one thread)."""
    m = build_model(knapsack(60)).model
    first = run(m, EXACT)
    assert first.status == Status.OPTIMAL
    for threads in (1, 2, 1, 0):
        again = run(m, SolverOptions(gap=0, time_limit=20, threads=threads))
        assert again.status == Status.OPTIMAL, (threads, again.message)
        assert close(again.objective, first.objective)
