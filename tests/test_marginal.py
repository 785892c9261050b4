"""Marginal values: each exact value is the difference of two independent solves, the LP
estimate has the right sign and scale, the CLI writes the columns, workers change nothing."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import kamopt
from kamopt.cli import main
from kamopt.errors import KamoptError
from kamopt.generate import generate
from kamopt.marginal import MARGINAL_COLUMNS, moved_problem
from kamopt.model.build import build_model
from kamopt.model.solvers import solve_lp_relaxation

EXACT = ["solver.gap=0"]  # both sides proven optimal: differences are exact, not within a gap


def rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _instance(tmp_path_factory, named: bool) -> Path:
    out = tmp_path_factory.mktemp("mv") / ("named" if named else "pools")
    generate(150, 5, out, named_kams=named, pools=3, sponsors=4)
    return out / "policy.yaml"


@pytest.fixture(scope="module")
def pools_policy(tmp_path_factory) -> Path:
    """KAM capacity planned per pool: every item has a policy key to move with --set."""
    return _instance(tmp_path_factory, named=False)


@pytest.fixture(scope="module")
def named_policy(tmp_path_factory) -> Path:
    return _instance(tmp_path_factory, named=True)


@pytest.fixture(scope="module")
def pools_plan(pools_policy):
    return kamopt.solve(kamopt.load_policy(pools_policy, EXACT), marginal_values=True, workers=1)


@pytest.fixture(scope="module")
def named_plan(named_policy):
    return kamopt.solve(kamopt.load_policy(named_policy, EXACT), marginal_values=True, workers=1)


def _num(x: float) -> str:
    return repr(int(x)) if float(x) == int(x) else repr(float(x))


def set_line(plan, mv) -> str | None:
    """The --set override that moves the item one step, or None when the policy has no such key
    (a concentration limit's share is one key for every group)."""
    p = plan.problem
    if mv.kind == "kam_fte":
        pool = p.pools[mv.index]
        return f"resources.kam_pools.{pool.id}.fte={_num(pool.fte + mv.step)}"
    if mv.kind == "sponsor_slots":
        return f"resources.sponsors.{p.sponsors[mv.index].id}.slots={int(mv.limit + mv.step)}"
    if mv.kind == "support_hours":
        return f"resources.support.{p.support[mv.index].id}.hours={_num(mv.limit + mv.step)}"
    if mv.kind == "budget":
        return f"resources.budget={_num(mv.limit + mv.step)}"
    lim = p.limits[mv.index]
    if lim.family == "concentration":
        return None
    new = mv.limit + mv.direction * mv.step
    return f"{lim.source}={round(new, 10) if mv.kind == 'portfolio_shares' else int(new)}"


# --------------------------------------------------------------------------- exact = two solves
def test_every_exact_value_is_the_difference_of_two_independent_solves(pools_policy, pools_plan):
    plan = pools_plan
    base = plan.solution.objective
    checked = 0
    picked = [mv for mv in plan.marginal if mv.marginal_value is not None]
    assert {mv.kind for mv in picked} >= {"kam_fte", "sponsor_slots", "support_hours", "budget", "portfolio_limits"}
    for mv in picked:
        line = set_line(plan, mv)
        if line is None:
            continue
        moved = kamopt.solve(kamopt.load_policy(pools_policy, [*EXACT, line]), marginal_values=False)
        assert moved.status.value == "optimal", line
        assert mv.status == "optimal" and mv.verified
        assert mv.marginal_value == pytest.approx(moved.solution.objective - base, abs=1e-6 * abs(base)), line
        assert mv.marginal_value >= 0
        assert mv.marginal_low <= mv.marginal_value <= mv.marginal_high
        checked += 1
    assert checked >= 10
    assert any(mv.marginal_value > 0 for mv in picked)  # the instance has scarce capacities


def test_a_share_limit_moves_its_share_like_the_policy_key(pools_policy):
    """A binding quota share, moved 5 points by a per-item step: the same as --set on its share."""
    quota = "portfolio.quotas.enterprise_core.min_share"
    setup = [*EXACT, f"{quota}=0.6",
             'analysis.marginal_values.step_overrides={"quota_min_share[enterprise_core]": 0.05}']
    plan = kamopt.solve(kamopt.load_policy(pools_policy, setup), marginal_values=True, workers=1)
    mv = next(m for m in plan.marginal if m.item == "quota_min_share[enterprise_core]")
    assert mv.binding and mv.kind == "portfolio_shares" and mv.direction == -1 and mv.step == 0.05
    assert set_line(plan, mv) == f"{quota}=0.55"
    moved = kamopt.solve(kamopt.load_policy(pools_policy, [*EXACT, f"{quota}=0.55"]), marginal_values=False)
    lim = next(x for x in moved.problem.limits if x.name == mv.item)
    assert np.allclose(moved_problem(plan.problem, mv).limits[mv.index].coef, lim.coef)
    base = plan.solution.objective
    assert mv.marginal_value > 0
    assert mv.marginal_value == pytest.approx(moved.solution.objective - base, abs=1e-6 * abs(base))


def test_one_more_fte_with_named_kams_is_one_more_person_in_the_kam_table(named_policy, named_plan, tmp_path):
    """With named KAMs one more FTE is an unnamed person of the pool: the same as a new row in
    kams.csv with the pool's hours per FTE and span, who may serve any of its accounts."""
    plan = named_plan
    mv = max((m for m in plan.marginal if m.kind == "kam_fte"), key=lambda m: m.marginal_value)
    assert mv.marginal_value > 0
    folder = tmp_path / "inst"
    shutil.copytree(named_policy.parent, folder)
    pool = plan.problem.pools[mv.index]
    with open(folder / "kams.csv", "a", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerow(["K-EXTRA", "New Person", pool.id, pool.hours_per_fte,
                                                      int(pool.span)])
    moved = kamopt.solve(kamopt.load_policy(folder / "policy.yaml", EXACT), marginal_values=False)
    assert moved.status.value == "optimal"
    base = plan.solution.objective
    assert mv.marginal_value == pytest.approx(moved.solution.objective - base, abs=1e-6 * abs(base))
    # and resources.csv shows it on the pool's hired-capacity rows when the pool can hire
    if pool.max_hire > 0:
        assert mv.rows == (f"kam_hours[{pool.id} (new hire)]", f"kam_span[{pool.id} (new hire)]")


def test_non_binding_limits_are_not_re_solved_and_minima_move_down(pools_plan):
    for mv in pools_plan.marginal:
        if mv.kind in ("portfolio_limits", "portfolio_shares") and not mv.binding:
            assert mv.status == "not_binding" and mv.marginal_value is None
        if mv.item.startswith(("min_", "quota_min")):
            assert mv.direction == -1


# --------------------------------------------------------------------------- the LP estimate
def test_a_capacity_with_room_to_spare_is_worth_nothing_both_ways(pools_policy):
    plan = kamopt.solve(kamopt.load_policy(pools_policy, [*EXACT, "resources.budget=1000000000"]),
                        marginal_values=True, workers=1)
    budget = next(mv for mv in plan.marginal if mv.item == "budget")
    assert not budget.binding
    assert budget.lp_estimate == 0.0 and budget.marginal_value == 0.0


@pytest.mark.parametrize("which", ["pools_plan", "named_plan"])
def test_lp_estimate_is_the_dual_slope_it_bounds_the_lp_gain_from_above(which, request):
    """The LP value is concave in a right-hand side, so dual x step is never below what the
    step really adds to the LP; and relaxing never loses value, so no estimate is negative."""
    plan = request.getfixturevalue(which)
    p = plan.problem
    x0, _ = solve_lp_relaxation(build_model(p).model)
    base_lp = build_model(p).model.objective_value(x0)
    seen = 0
    for mv in plan.marginal:
        assert mv.lp_estimate is not None and mv.lp_estimate >= 0, mv.item
        moved = build_model(moved_problem(p, mv)).model
        x, _ = solve_lp_relaxation(moved)
        gain = moved.objective_value(x) - base_lp
        assert gain <= mv.lp_estimate + 1e-6 * max(1.0, abs(base_lp)), mv.item
        seen += gain > 1
    assert seen >= 1


def test_the_estimate_of_a_small_step_is_the_lp_gain(pools_policy):
    """One hour of the scarcest support function: the dual prices it exactly."""
    plan = kamopt.solve(kamopt.load_policy(pools_policy, EXACT), marginal_values=False)
    best = max((mv for mv in plan.marginal if mv.kind == "support_hours"), key=lambda mv: mv.lp_estimate)
    assert best.lp_estimate > 0
    one = kamopt.solve(kamopt.load_policy(pools_policy, [
        *EXACT, f'analysis.marginal_values.step_overrides={{"{best.item}": 1}}']), marginal_values=False)
    mv = next(m for m in one.marginal if m.item == best.item)
    assert mv.step == 1 and mv.lp_estimate == pytest.approx(best.lp_estimate / 100)
    p = one.problem
    base_model = build_model(p).model
    moved_model = build_model(moved_problem(p, mv)).model
    gain = moved_model.objective_value(solve_lp_relaxation(moved_model)[0]) - \
        base_model.objective_value(solve_lp_relaxation(base_model)[0])
    assert gain == pytest.approx(mv.lp_estimate, rel=1e-6)


def test_every_solve_has_estimates_but_no_exact_values_unless_asked(pools_policy):
    plan = kamopt.solve(kamopt.load_policy(pools_policy))
    assert plan.marginal and all(mv.lp_estimate is not None for mv in plan.marginal)
    assert all(mv.marginal_value is None and mv.status == "" for mv in plan.marginal)
    greedy = kamopt.solve(kamopt.load_policy(pools_policy), method="greedy")
    assert greedy.marginal == []
    with pytest.raises(ValueError, match="optimised"):
        kamopt.marginal_values(greedy)


@pytest.mark.parametrize("which", ["pools_policy", "named_policy"])
def test_estimates_and_explanations_price_with_one_lp_solve(which, request, monkeypatch, tmp_path):
    """The marginal values' LP estimate and explanations.csv's thresholds come from the
    same LP relaxation, solved once per plan (it was two solves of two models)."""
    import kamopt.marginal as marginal_module
    from kamopt.explain import lp_net_values
    from kamopt.marginal import plan_lp, priced_lp
    from kamopt.report.plan_tables import write_plan
    from kamopt.report.writers import output_folder

    plan = kamopt.solve(kamopt.load_policy(request.getfixturevalue(which)))
    calls = []
    monkeypatch.setattr(marginal_module, "solve_lp_relaxation",
                        lambda m, threads=0: calls.append(m) or solve_lp_relaxation(m, threads))
    with output_folder(tmp_path / "plan", True) as folder:
        write_plan(plan, folder)
    assert calls == []  # the solve priced it once already; writing the plan reuses it
    kept = plan_lp(plan)
    fresh = priced_lp(plan.problem)
    assert len(calls) == 1 and fresh is not kept
    assert np.array_equal(lp_net_values(plan.problem, kept), lp_net_values(plan.problem, fresh))
    assert (tmp_path / "plan" / "explanations.csv").read_text(encoding="utf-8").count(",estimate") > 0


@pytest.mark.parametrize("threads", [1, 0])
def test_the_lp_priced_beside_the_milp_is_the_lp_priced_alone(pools_policy, threads, monkeypatch):
    """The solve prices the LP in a thread while HiGHS solves the MILP (each thread on its
    own HiGHS pool), once: the same LP as one solved alone, and the MILP still solves, with
    the one thread compare and frontier give it or with HiGHS's default."""
    import threading

    import kamopt.marginal as marginal_module

    priced_lp = marginal_module.priced_lp
    where: list[str] = []
    monkeypatch.setattr(marginal_module, "priced_lp",
                        lambda p, threads=0: where.append(threading.current_thread().name) or priced_lp(p, threads))
    plan = kamopt.solve(kamopt.load_policy(pools_policy), threads=threads)
    assert where == ["kamopt-pricing-lp"]
    assert plan.status.value == "optimal" and plan.check.ok
    alone = priced_lp(plan.problem)
    assert plan.priced_lp is not None and plan.priced_lp is not alone
    assert np.array_equal(plan.priced_lp.x, alone.x) and np.array_equal(plan.priced_lp.dual, alone.dual)


def test_a_pricing_lp_that_fails_beside_the_milp_is_priced_again_in_the_solve(pools_policy, monkeypatch):
    """The LP solved beside the MILP may fail there: the solve then prices it again in its
    own thread, where an error is raised as it was before the LP moved beside the MILP."""
    import threading

    import kamopt.marginal as marginal_module

    real = marginal_module.priced_lp
    where: list[str] = []

    def fails_beside(problem, threads=0):
        where.append(threading.current_thread().name)
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("the pricing LP failed")
        return real(problem, threads)

    monkeypatch.setattr(marginal_module, "priced_lp", fails_beside)
    plan = kamopt.solve(kamopt.load_policy(pools_policy), marginal_values=False)
    assert where == ["kamopt-pricing-lp", "MainThread"]
    assert plan.status.value == "optimal" and plan.priced_lp is not None
    assert any(mv.lp_estimate for mv in plan.marginal)

    def always_fails(problem, threads=0):
        raise RuntimeError("the pricing LP failed")

    monkeypatch.setattr(marginal_module, "priced_lp", always_fails)
    with pytest.raises(RuntimeError, match="pricing LP failed"):
        kamopt.solve(kamopt.load_policy(pools_policy), marginal_values=False)


# --------------------------------------------------------------------------- policy
def test_steps_come_from_the_policy_with_per_item_overrides(pools_policy):
    plan = kamopt.solve(kamopt.load_policy(pools_policy, [
        "analysis.marginal_values.steps.support_hours=50", "analysis.marginal_values.steps.budget=20000",
        'analysis.marginal_values.step_overrides={"support_hours[logistics]": 7, "max_key_accounts": 2}',
    ]))
    steps = {mv.item: mv.step for mv in plan.marginal}
    assert steps["support_hours[technical]"] == 50 and steps["support_hours[logistics]"] == 7
    assert steps["budget"] == 20000 and steps["max_key_accounts"] == 2 and steps["sponsor_slots[Ana Ruiz]"] == 1
    assert steps["quota_min_share[enterprise_core]"] == 0.01


@pytest.mark.parametrize("override, message", [
    ('{"support_hours[legal]": 5}', "unknown id 'legal'"),
    ('{"kam_fte": 1}', "unknown item 'kam_fte'"),
    ('{"sponsor_slots[Ana Ruiz]": 1.5}', "whole number"),
    ('{"quota_min_share[enterprise_core]": 2}', "at most 1"),
])
def test_bad_step_overrides_are_located_errors(pools_policy, override, message):
    with pytest.raises(KamoptError) as info:
        kamopt.load_policy(pools_policy, [f"analysis.marginal_values.step_overrides={override}"])
    text = " ".join(str(d) for d in info.value.diagnostics)
    assert message in text and "step_overrides" in text


def test_the_policy_can_turn_the_estimate_off(pools_policy):
    plan = kamopt.solve(kamopt.load_policy(pools_policy, ["analysis.marginal_values.lp_estimate=false"]))
    assert plan.marginal and all(mv.lp_estimate is None for mv in plan.marginal)
    assert kamopt.marginal_values(plan, workers=1)[0].marginal_value is not None


def test_the_policy_can_ask_for_exact_values(pools_policy):
    plan = kamopt.solve(kamopt.load_policy(pools_policy, ["analysis.marginal_values.exact=true"]), workers=1)
    assert any(mv.marginal_value is not None for mv in plan.marginal)


# --------------------------------------------------------------------------- files and CLI
@pytest.fixture(scope="module")
def cli_runs(pools_policy, tmp_path_factory):
    """The same solve with exact values in one and in two worker processes, and without them."""
    out = tmp_path_factory.mktemp("cli")
    runs = {}
    for name, extra in (("one", ["--marginal-values", "--jobs", "1"]), ("two", ["--marginal-values", "--jobs", "2"]),
                        ("plain", [])):
        r = CliRunner().invoke(main, ["solve", str(pools_policy), "--out", str(out / name), *extra])
        assert r.exit_code == 0, r.output
        runs[name] = (out / name, r.output)
    return runs


def test_cli_flag_writes_the_columns_and_the_summary(cli_runs):
    folder, output = cli_runs["one"]
    table = rows(folder / "resources.csv")
    assert list(table[0])[-len(MARGINAL_COLUMNS):] == list(MARGINAL_COLUMNS)
    budget = next(r for r in table if r["constraint"] == "budget")
    assert budget["step"] == "10000.00" and budget["step_unit"] == "money"
    assert budget["marginal_value"] != "" and budget["marginal_status"] == "optimal"
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    items = {m["item"]: m for m in summary["marginal_values"]}
    assert float(budget["marginal_value"]) == pytest.approx(items["budget"]["marginal_value"], abs=0.01)
    assert {"item", "kind", "step", "unit", "direction", "rows", "binding", "lp_estimate", "marginal_value",
            "marginal_low", "marginal_high", "status"} <= set(items["budget"])
    assert "Marginal values" in output and "re-solved" in output


def test_without_the_flag_the_estimate_is_there_and_the_exact_value_empty(cli_runs):
    folder, output = cli_runs["plain"]
    budget = next(r for r in rows(folder / "resources.csv") if r["constraint"] == "budget")
    assert budget["lp_estimate"] != "" and budget["marginal_value"] == "" and budget["marginal_status"] == ""


def test_rows_without_an_item_have_blank_marginal_cells(cli_runs):
    folder, _ = cli_runs["one"]
    hires = [r for r in rows(folder / "resources.csv") if r["family"] == "hire_limit"]
    assert hires and all(r[c] == "" for r in hires for c in MARGINAL_COLUMNS)


def test_workers_do_not_change_the_results(cli_runs):
    one, _ = cli_runs["one"]
    two, _ = cli_runs["two"]
    assert (one / "resources.csv").read_bytes() == (two / "resources.csv").read_bytes()
    marginal = [json.loads((f / "summary.json").read_text(encoding="utf-8"))["marginal_values"] for f in (one, two)]
    assert marginal[0] == marginal[1]


def test_pool_rows_carry_the_fte_step(cli_runs, pools_plan):
    folder, _ = cli_runs["one"]
    table = {r["constraint"]: r for r in rows(folder / "resources.csv")}
    pool = pools_plan.problem.pools[0].id
    for row in (f"kam_hours[{pool}]", f"kam_span[{pool}]"):
        assert table[row]["step"] == "1.00" and table[row]["step_unit"] == "FTE"
    assert table[f"kam_hours[{pool}]"]["marginal_value"] == table[f"kam_span[{pool}]"]["marginal_value"]


def test_infeasible_policies_have_no_marginal_values(pools_policy):
    impossible = ["portfolio.key_accounts.min=0", "portfolio.key_accounts.max=2"]  # fewer than the incumbents
    plan = kamopt.solve(kamopt.load_policy(pools_policy, impossible), marginal_values=True)
    assert plan.status.value == "infeasible" and plan.marginal == []


def test_exact_values_are_deterministic_in_process(pools_policy, pools_plan):
    again = kamopt.solve(kamopt.load_policy(pools_policy, EXACT), marginal_values=True, workers=1)
    assert [mv.as_dict() for mv in again.marginal] == [mv.as_dict() for mv in pools_plan.marginal]
    assert np.isfinite([mv.lp_estimate for mv in again.marginal]).all()
