"""kamopt frontier: value parsing, the recommendation rules, monotonicity, entries, determinism."""

from __future__ import annotations

import csv
import json
import shlex
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

import kamopt
from kamopt.cli import main
from kamopt.errors import PolicyError
from kamopt.generate import generate
from kamopt.runs import Outcome
from kamopt.sweep import Frontier, parse_values, recommend

MAX = "portfolio.key_accounts.max"


def rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def python(code: str, *args: str, timeout: float = 120) -> str:
    """Run ``code`` in a fresh interpreter (a process of its own: no HiGHS run, no thread
    of this test run's); its standard output, once it has exited cleanly."""
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def instance(tmp_path_factory) -> Path:
    """A generated 200-account instance: solves in a fraction of a second, several limits bind."""
    out = tmp_path_factory.mktemp("inst") / "g200"
    generate(200, 3, out)
    return out / "policy.yaml"


@pytest.fixture(scope="module")
def sweep(instance, tmp_path_factory):
    """A 12-point sweep of the max number of key accounts, in two worker processes."""
    out = tmp_path_factory.mktemp("front") / "f"
    f = kamopt.frontier(instance, MAX, parse_values("18:40:2"), out, workers=2, solver={"gap": 1e-6})
    return f, out


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "text, values",
    [
        ("20:30:5", [20, 25, 30]),
        ("20:29:5", [20, 25]),
        ("30:20:-5", [20, 25, 30]),
        ("0.1:0.3:0.1", [0.1, 0.2, 0.3]),
        ("45,20,30", [20, 30, 45]),
    ],
)
def test_parse_values(text, values):
    assert parse_values(text) == pytest.approx(values)


@pytest.mark.parametrize("text", ["20:30", "20:30:0", "30:20:5", "a,b", "", "1,1", "0:1000:1"])
def test_bad_values_are_refused_with_the_option_named(text):
    with pytest.raises(PolicyError) as info:
        parse_values(text)
    assert info.value.diagnostics[0].file == f"--values {text}"


# --------------------------------------------------------------------------- the rules


def test_knee_of_a_concave_curve():
    x = [0, 1, 2, 3, 4, 5]
    y = [0, 60, 90, 100, 100, 100]  # steep, then flat: the bend is at 2-3
    r = recommend(x, y)
    assert r.rule == "knee" and r.index in (2, 3)


def test_step_cost_rule_stops_before_the_first_step_worth_less_than_its_cost():
    x = [10, 20, 30, 40]
    y = [100, 180, 230, 250]  # steps add 80, 50, 20
    assert recommend(x, y, step_cost=60).index == 1  # 20 -> 30 adds 50 < 60
    assert recommend(x, y, step_cost=10).index == 3  # every step pays
    assert "less than its cost" in recommend(x, y, step_cost=60).reason


def test_a_straight_line_has_no_knee_and_a_flat_one_takes_the_smallest_value():
    assert recommend([1, 2, 3, 4], [10, 20, 30, 40]).rule == "no knee"
    assert recommend([1, 2, 3, 4], [10, 20, 30, 40]).index == 3
    flat = recommend([1, 2, 3], [5.0, 5.0, 5.0])
    assert flat.rule == "flat" and flat.index == 0


def test_points_without_a_plan_are_skipped():
    assert recommend([1, 2, 3], [None, None, None]).index is None
    assert recommend([1, 2, 3], [None, 7.0, None]).index == 1


# --------------------------------------------------------------------------- a real sweep


def test_value_never_falls_when_the_limit_is_relaxed(sweep):
    f, out = sweep
    points = [r for r in rows(out / "frontier.csv") if r["objective"]]
    assert len(points) >= 6
    summaries = [o.summary for o in f.outcomes if o is not None and o.has_plan]
    for a, b in zip(summaries, summaries[1:]):
        # a looser limit cannot do worse: the next point's bound is at least this point's plan
        assert a["objective"] <= b["bound"] + 1e-6 * abs(b["bound"])
        assert b["objective"] >= a["objective"] - 1e-5 * abs(a["objective"])


def test_marginal_values_are_differences_of_the_objective(sweep):
    _, out = sweep
    points = [r for r in rows(out / "frontier.csv") if r["objective"]]
    for a, b in zip(points, points[1:]):
        assert float(b["marginal_value"]) == pytest.approx(float(b["objective"]) - float(a["objective"]), abs=0.02)
        step = float(b["value"]) - float(a["value"])
        assert float(b["marginal_value_per_unit"]) == pytest.approx(float(b["marginal_value"]) / step, abs=0.02)


def test_entries_match_the_points(sweep):
    f, out = sweep
    entries = rows(out / "entries.csv")
    solved = [(v, o) for v, o in zip(f.values, f.outcomes) if o is not None and o.has_plan]
    first_value, first = solved[0]
    at_first = {e["account_id"] for e in entries if float(e["enters_at"]) == first_value}
    assert at_first == set(first.portfolio)
    for e in entries:
        ins = [v for v, o in solved if e["account_id"] in o.portfolio]
        assert float(e["enters_at"]) == min(ins)
        assert int(e["points_in"]) == len(ins)
        if e["leaves_at"]:
            assert float(e["leaves_at"]) > float(e["enters_at"])
            assert not any(v == float(e["leaves_at"]) for v in ins)
    info = json.loads((out / "frontier.json").read_text(encoding="utf-8"))
    assert info["accounts_entering_then_leaving"] == [e["account_id"] for e in entries if e["leaves_at"]]


def test_exactly_one_point_is_recommended_and_the_workbook_holds_its_plan(sweep):
    import openpyxl

    f, out = sweep
    recommended = [r for r in rows(out / "frontier.csv") if r["recommended"] == "true"]
    assert len(recommended) == 1
    info = json.loads((out / "frontier.json").read_text(encoding="utf-8"))
    assert float(recommended[0]["value"]) == info["recommended_value"] and info["rule"]
    wb = openpyxl.load_workbook(out / "plan.xlsx")
    assert wb.sheetnames[0] == "Summary" and wb.sheetnames[-2:] == ["Frontier", "Entries"]
    keys = {r[0]: r[1] for r in wb["Summary"].iter_rows(min_row=2, values_only=True)}
    chosen = f.outcomes[f.recommendation.index].summary
    assert keys["key accounts"] == chosen["key_accounts"]


def test_every_point_keeps_its_sheets_packed_and_they_unpack_to_its_plan(sweep):
    """Points keep their workbook sheets as deflated bytes (a sweep of big plans would hold
    every point's sheets as objects in the caller); unpacked, they are the point's plan."""
    f, _ = sweep
    with_plan = [o for o in f.outcomes if o is not None and o.has_plan]
    assert with_plan and all(isinstance(o.sheets, bytes) for o in with_plan)
    for o in with_plan:
        sheets = o.workbook_sheets()
        assert [s.name for s in sheets][:2] == ["Summary", "Portfolio"]
        summary = dict((row[0], row[1]) for row in sheets[0].rows)
        assert summary["key accounts"].value == o.summary["key_accounts"]
    assert all(o.workbook_sheets() == [] for o in f.outcomes if o is not None and not o.has_plan)


def test_chart_files_are_real_images(sweep):
    _, out = sweep
    png = (out / "frontier.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    svg = (out / "frontier.svg").read_text(encoding="utf-8")
    assert "<svg" in svg and "</svg>" in svg and len(svg) > 10_000


def test_chart_leaves_the_process_backend_alone():
    """No pyplot, no backend switch: a notebook's figures and backend survive a frontier."""
    code = (
        "import matplotlib, sys\n"
        "matplotlib.use('svg')\n"
        "from kamopt.report.chart import frontier_chart, warm\n"
        "warm()\n"
        "png, svg = frontier_chart([1, 2, 3], [10.0, 20.0, 25.0], [None, 10.0, 5.0], recommended=1, x_label='x')\n"
        "assert png[:4] == b'\\x89PNG' and b'<svg' in svg\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
        "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend()\n"
    )
    python(code)


def test_same_sweep_gives_the_same_files_whatever_the_worker_count(instance, sweep, tmp_path):
    _, out = sweep
    kamopt.frontier(instance, MAX, parse_values("18:40:2"), tmp_path / "one", workers=1, solver={"gap": 1e-6})
    for name in ("frontier.csv", "entries.csv", "frontier.json", "frontier.svg", "frontier.png", "plan.xlsx"):
        assert (tmp_path / "one" / name).read_bytes() == (out / name).read_bytes(), name


def test_a_fresh_process_forks_its_workers_and_gets_the_same_files(instance, sweep, tmp_path):
    """The kamopt command's process (no HiGHS run yet, no other thread) forks its workers
    (:func:`kamopt.runs.fork_is_safe`); the files are those of workers from the server."""
    _, out = sweep
    code = (
        "import sys, kamopt, kamopt.runs as runs\n"
        "used = []\n"
        "context = runs._context\n"
        "runs._context = lambda: used.append(context().get_start_method()) or context()\n"
        "kamopt.frontier(sys.argv[1], sys.argv[2], [float(v) for v in range(18, 41, 2)], sys.argv[3],\n"
        "                workers=2, solver={'gap': 1e-6})\n"
        "print(' '.join(used))\n"
    )
    used = python(code, str(instance), MAX, str(tmp_path / "forked"), timeout=300).split()
    assert used and set(used) == {"fork"}, used
    for name in ("frontier.csv", "entries.csv", "frontier.json", "frontier.svg", "frontier.png", "plan.xlsx"):
        assert (tmp_path / "forked" / name).read_bytes() == (out / name).read_bytes(), name


def test_workers_are_forked_only_from_a_process_without_threads_or_highs():
    code = (
        "import threading, kamopt.runs as runs\n"
        "from kamopt.model.solvers import quiet_highs\n"
        "fresh = runs.fork_is_safe()\n"
        "stop = threading.Event()\n"
        "t = threading.Thread(target=stop.wait); t.start()\n"
        "with_thread = runs.fork_is_safe()\n"
        "stop.set(); t.join()\n"
        "after_thread = runs.fork_is_safe()\n"
        "quiet_highs()\n"
        "print(fresh, with_thread, after_thread, runs.fork_is_safe(), runs._context().get_start_method())\n"
    )
    said = python(code).split()
    if sys.platform.startswith("linux"):
        assert said == ["True", "False", "True", "False", "forkserver"]
    else:
        assert said[:4] == ["False"] * 4


def test_value_never_falls_with_more_budget(instance, tmp_path):
    budget = kamopt.load_policy(instance).policy.resources.budget
    values = [round(budget * k) for k in (0.95, 1.0, 1.1, 1.3)]
    f = kamopt.frontier(instance, "resources.budget", values, tmp_path / "b", workers=1, solver={"gap": 1e-6})
    objs = [o.summary["objective"] for o in f.outcomes if o.has_plan]
    assert len(objs) >= 3
    assert all(b >= a - 1e-5 * abs(a) for a, b in zip(objs, objs[1:]))


def test_interruption_keeps_the_points_that_finished(instance, tmp_path):
    seen = []

    def stop_after_two(kind, payload):
        if kind == "done":
            seen.append(payload.index)
            if len(seen) == 2:
                raise KeyboardInterrupt

    f = kamopt.frontier(instance, MAX, [18, 22, 26, 30, 34], tmp_path / "i", workers=1, on_event=stop_after_two)
    assert f.interrupted and f.finished == 2
    assert seen == [0, 4]  # the two ends go first (see test_points_within_a_looser_plan_are_not_re_solved)
    table = rows(tmp_path / "i" / "frontier.csv")
    for k, r in enumerate(table):
        if k in seen:
            assert r["status"] in ("optimal", "feasible", "infeasible"), r
        else:
            assert r["status"] == "not run (interrupted)", r


# --------------------------------------------------------------------------- command line


def test_cli_frontier_prints_the_recommendation_and_writes_the_folder(instance, tmp_path):
    r = CliRunner().invoke(main, ["frontier", str(instance), "--vary", MAX, "--values", "18,26,34",
                                  "--out", str(tmp_path / "c"), "--jobs", "1"])
    assert r.exit_code == 0, r.output
    assert "recommended: portfolio.key_accounts.max = " in r.output and "rule:" in r.output
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [
        "entries.csv", "frontier.csv", "frontier.json", "frontier.png", "frontier.svg", "plan.xlsx"]


def _point(k: int, status: str | None) -> Outcome | None:
    """A finished point: 'optimal' (a plan), 'infeasible', 'error', or None (not run)."""
    if status is None:
        return None
    if status == "error":
        return Outcome(k, str(k), 2, error="bad")
    return Outcome(k, str(k), 0 if status == "optimal" else 3,
                   summary={"status": status, "objective": 1.0 if status == "optimal" else None})


@pytest.mark.parametrize("statuses, edges", [
    (["infeasible", "infeasible", "optimal", "optimal"], [1]),      # a max swept up: feasible from 3rd on
    (["optimal", "optimal", "infeasible", "infeasible"], [2]),      # a min swept up: infeasible past 2nd
    (["infeasible", "optimal", "infeasible"], [0, 2]),
    (["infeasible", "infeasible", "infeasible"], [2]),              # no plan anywhere: the last one
    (["infeasible", None, "optimal"], []),                          # the neighbour did not run: no edge known
    (["optimal", "error", "optimal"], []),
])
def test_infeasible_edges_are_where_the_policy_stops_being_feasible(statuses, edges):
    f = Frontier(MAX, list(range(len(statuses))), "", [], [_point(k, st) for k, st in enumerate(statuses)],
                 False, recommend([], []), None, "EUR")
    assert f.infeasible_edges() == edges


def test_the_edge_is_diagnosed_as_kamopt_solve_diagnoses_it(instance, tmp_path):
    """Only the infeasible point next to a feasible one gets the diagnosis (another MILP),
    in frontier.csv, frontier.json and the CLI; the same text `kamopt solve` gives there."""
    r = CliRunner().invoke(main, ["frontier", str(instance), "--vary", MAX, "--values", "17:26:3",
                                  "--out", str(tmp_path / "c"), "--jobs", "1"])
    assert r.exit_code == 0, r.output
    assert "infeasible at 17, 20; where the policy stops being feasible" in r.output
    lines = r.output.splitlines()
    at = next(k for k, x in enumerate(lines) if x.strip().startswith(f"{MAX} = "))
    assert lines[at].strip().startswith(f"{MAX} = 20: max_key_accounts = 20 ")  # 20, next to 23, not 17
    command = next(x for x in lines[at:] if "the plan files of that point: kamopt solve " in x)
    args = shlex.split(command.split(": ", 1)[1])[2:]  # the command's arguments, after 'kamopt solve'
    assert args[-2:] == ["--out", "OUT"]
    d = CliRunner().invoke(main, ["solve", *args[:-1], str(tmp_path / "d")])
    assert d.exit_code == 3 and "cannot be met" in d.output, d.output
    said = json.loads((tmp_path / "d" / "summary.json").read_text(encoding="utf-8"))["diagnosis"]
    assert said and lines[at].strip() == f"{MAX} = 20: {said[0]}"
    table = {row["value"]: row for row in rows(tmp_path / "c" / "frontier.csv")}
    assert table["20"]["diagnosis"] == " | ".join(said)
    assert table["17"]["status"] == "infeasible" and table["17"]["diagnosis"] == ""
    assert table["23"]["diagnosis"] == ""
    info = json.loads((tmp_path / "c" / "frontier.json").read_text(encoding="utf-8"))
    assert info["infeasible_values"] == [17, 20]
    assert [(e["value"], e["diagnosis"]) for e in info["infeasible_edges"]] == [(20, said)]
    assert info["infeasible_edges"][0]["command"] == command.split(": ", 1)[1].strip()


@pytest.mark.parametrize("values, updates", [
    ([17, 20, 23], 1),  # the run after the edge shows it: the edge's outcome is updated
    ([23, 20, 17], 0),  # the edge itself shows it, after a plan: diagnosed before it is reported
])
def test_an_edge_within_a_chain_is_diagnosed_by_its_worker(instance, tmp_path, values, updates):
    """17 and 20 are infeasible, 23 is not: 20 is diagnosed in the chain (no second batch
    of runs), with the text `kamopt solve` gives there."""
    events = []
    f = kamopt.frontier(instance, MAX, values, tmp_path / "e", workers=1,
                        on_event=lambda kind, payload: events.append(kind))
    assert events.count("begin") == 1 and events.count("update") == updates and events.count("done") == 3
    plan = kamopt.solve(kamopt.load_policy(instance, [f"{MAX}=20"]))
    assert f.infeasible_edges() == [1] and f.diagnosis(1) == plan.diagnosis and plan.diagnosis
    assert f.diagnosis(values.index(17)) == []


def test_an_edge_across_chains_is_diagnosed_after_the_sweep_and_ctrl_c_there_keeps_every_point(instance, tmp_path):
    values = [17, 18, 19, 20, 21, 23]  # chains of 5: the edge 21 and its neighbour 23 are in different chains
    seen = []

    def record(kind, payload):
        if kind == "begin":
            seen.append([spec.label for spec in payload])

    f = kamopt.frontier(instance, MAX, values, tmp_path / "a", workers=2, on_event=record)
    assert seen == [[str(v) for v in values], ["21 (diagnosis)"]]
    assert f.infeasible_edges() == [4] and f.diagnosis(4) and not f.interrupted

    def stop_in_the_diagnosis(kind, payload):
        if kind == "begin":
            seen.append(kind)
        elif kind == "start" and seen.count("begin") == 2:
            raise KeyboardInterrupt

    seen.clear()
    f = kamopt.frontier(instance, MAX, values, tmp_path / "k", workers=1, on_event=stop_in_the_diagnosis)
    assert f.interrupted and f.finished == 6 and f.infeasible_edges() == [4] and f.diagnosis(4) == []
    table = rows(tmp_path / "k" / "frontier.csv")
    assert [r["status"] for r in table] == ["infeasible"] * 5 + ["optimal"]
    assert all(r["diagnosis"] == "" for r in table)


def test_cli_frontier_table_fits_an_80_column_terminal(instance, tmp_path):
    r = CliRunner().invoke(main, ["frontier", str(instance), "--vary", MAX, "--values", "17:26:3",
                                  "--out", str(tmp_path / "c"), "--jobs", "1"], terminal_width=80)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    head = next(k for k, x in enumerate(lines) if x.startswith("value "))
    table = lines[head:head + 6]  # header, rule, the 4 points
    assert table[0].split() == ["value", "status", "objective", "marginal", "cost/yr", "accounts", "hires",
                                "KAM", "h", "in", "out"]
    assert all(len(x) <= 80 and "…" not in x for x in table)
    assert table[2].split()[:2] == ["17", "infeasible"]


def test_cli_frontier_refuses_an_unknown_path_before_solving(instance, tmp_path):
    r = CliRunner().invoke(main, ["frontier", str(instance), "--vary", "portfolio.key_acounts.max",
                                  "--values", "1:3:1", "--out", str(tmp_path / "c")])
    assert r.exit_code == 2
    assert "unknown key 'key_acounts'" in r.output and "did you mean 'key_accounts'" in r.output
    assert "--vary portfolio.key_acounts.max (at 1): unknown key" in r.output  # as the user wrote it, not --set
    assert not (tmp_path / "c").exists()


def test_cli_frontier_says_which_value_of_the_sweep_breaks_the_policy(instance, tmp_path):
    r = CliRunner().invoke(main, ["frontier", str(instance), "--vary", "portfolio.key_accounts.max",
                                  "--values", "0,1000", "--set", "portfolio.key_accounts.min=5",
                                  "--out", str(tmp_path / "c")])
    assert r.exit_code == 2
    assert "min (5) is above max (0)" in r.output
    assert "with --vary portfolio.key_accounts.max (at 0)" in r.output
    assert not (tmp_path / "c").exists()


# --------------------------------------------------------------------------- reuse of a looser plan


def test_points_within_a_looser_plan_are_not_re_solved(instance, tmp_path):
    """Sweeping the max past what the unconstrained optimum takes: the loosest point's plan
    is proven optimal at every value it fits, without a solve; values below it are solved."""
    loosest = kamopt.solve(kamopt.load_policy(instance, (f"{MAX}=1000",)), solver="highs", gap=1e-6)
    count = int((loosest.tier_of_row() >= 0).sum())
    values = [count - 2, count - 1, count, count + 5, 1000]
    f = kamopt.frontier(instance, MAX, values, tmp_path / "r", workers=1, solver={"gap": 1e-6})
    messages = [o.summary["solver_message"] for o in f.outcomes]
    reused = [m.startswith("not re-solved") for m in messages]
    assert reused == [False, False, True, True, False], messages  # 1000 is the end point, solved
    assert [r["solved"] for r in rows(tmp_path / "r" / "frontier.csv")] == ["true", "true", "false", "false", "true"]
    for o, v in zip(f.outcomes, values):
        alone = kamopt.solve(kamopt.load_policy(instance, (f"{MAX}={v}",)), gap=1e-6)
        assert o.summary["objective"] == pytest.approx(alone.solution.objective, rel=2e-6), v
        assert o.summary["status"] == "optimal" and o.summary["verified"]
    assert f.outcomes[2].summary["objective"] == f.outcomes[4].summary["objective"]


def test_a_restriction_is_recognised_only_when_bounds_alone_tighten():
    from kamopt.model.linear import LinearModel

    def model(hi=10.0, cost=1.0, col_hi=1.0):
        m = LinearModel()
        cols = m.add_columns(["a", "b"], 0.0, col_hi, True, 0.0)
        m.add_row("cap", cols, [3.0, 4.0], -float("inf"), hi)
        m.freeze()
        m.cost[:] = [cost, 2.0]
        return m

    loose = model()
    assert model(hi=7).restricts(loose) and loose.restricts(loose)
    assert not loose.restricts(model(hi=7))          # looser, not tighter
    assert not model(cost=1.5).restricts(loose)       # another objective
    assert model(col_hi=0.0).restricts(loose) and not loose.restricts(model(col_hi=0.0))


def test_a_looser_plan_that_breaks_a_rule_here_or_misses_the_gap_is_not_taken(instance):
    from kamopt.model.optimise import from_relaxation
    from kamopt.model.solvers import SolverOptions

    loose = kamopt.solve(kamopt.load_policy(instance, (f"{MAX}=1000",)), gap=1e-6)
    n = int((loose.tier_of_row() >= 0).sum())
    tight = kamopt.solve(kamopt.load_policy(instance, (f"{MAX}={n - 1}",)), gap=1e-6)
    fits = kamopt.solve(kamopt.load_policy(instance, (f"{MAX}={n}",)), gap=1e-6)
    opts = SolverOptions(gap=1e-6)
    assert from_relaxation(tight.problem, opts, loose.problem, loose.solution) is None  # one account too many
    taken = from_relaxation(fits.problem, opts, loose.problem, loose.solution)
    assert taken is not None and taken.objective == pytest.approx(loose.solution.objective)
    assert from_relaxation(loose.problem, opts, fits.problem, fits.solution) is None  # a tighter point proves nothing
    widened = replace(loose.solution, bound=loose.solution.objective * (1 + 1e-3))
    assert from_relaxation(fits.problem, opts, loose.problem, widened) is None  # bound too far off


def test_after_the_anchors_the_chains_with_most_runs_left_start_first(instance):
    """Anchors first; then, as soon as they are done, the chain with the most runs still to
    solve (it would otherwise run alone at the end). Order changes no result."""
    from kamopt.runs import RunSpec, run_all

    specs = [RunSpec(str(v), str(instance), (f"{MAX}={v}",), {"gap": 1e-6}, diagnose=False)
             for v in (20, 24, 28, 32, 36, 40)]
    chains, anchors = [[0, 1], [2, 3, 4, 5]], [0, 5]
    started: list[int] = []
    one, _ = run_all(specs, chains, workers=1, anchors=anchors,
                     on_event=lambda kind, payload: started.append(payload) if kind == "start" else None)
    assert started == [0, 5, 2, 3, 4, 1]
    two, _ = run_all(specs, chains, workers=2, anchors=anchors, early=1)
    assert [o.summary["objective"] for o in one] == [o.summary["objective"] for o in two]
    assert [o.summary["status"] for o in one] == [o.summary["status"] for o in two]


def test_an_order_given_for_after_the_anchors_is_followed_and_sees_their_outcomes(instance):
    """``order`` gets the chains left and the outcomes so far (the anchors'), and the chains
    start in the order it returns; the results are those of the default order."""
    from kamopt.runs import RunSpec, run_all

    specs = [RunSpec(str(v), str(instance), (f"{MAX}={v}",), {"gap": 1e-6}, diagnose=False)
             for v in (20, 24, 28, 32, 36, 40)]
    chains, anchors = [[0, 1], [2, 3, 4, 5]], [0, 5]
    seen: list[tuple[list[list[int]], list[int]]] = []

    def reverse(rest, outcomes):
        seen.append((rest, [i for i, o in enumerate(outcomes) if o is not None]))
        return rest[::-1]

    started: list[int] = []
    one, _ = run_all(specs, chains, workers=1, anchors=anchors, order=reverse,
                     on_event=lambda kind, payload: started.append(payload) if kind == "start" else None)
    assert seen == [([[2, 3, 4, 5], [0, 1]], [0, 5])]  # the default order, and the anchors done
    assert started == [0, 5, 1, 2, 3, 4]
    default, _ = run_all(specs, chains, workers=1, anchors=anchors)
    assert [(o.summary["status"], o.summary["objective"], o.portfolio) for o in one] == \
        [(o.summary["status"], o.summary["objective"], o.portfolio) for o in default]


def ends(values, tight_seconds=0.5, loose_seconds=5.0, used=759.0, tight_plan=False, upward=True):
    """End-point outcomes of a sweep of a maximum (``upward``) or a minimum: the loose end
    has a plan that uses ``used`` of the swept limit; the tight end is infeasible unless
    ``tight_plan``."""
    lo, hi = values[0], values[-1]
    v_loose, v_tight = (hi, lo) if upward else (lo, hi)

    def usage(limit):
        return [("budget", "", 1e6, 9e5), ("key_accounts", "", float(limit), used)]

    loose = Outcome(0, str(v_loose), 0, {"objective": 100.0}, usage=usage(v_loose), seconds=loose_seconds)
    tight = (Outcome(0, str(v_tight), 0, {"objective": 50.0}, usage=usage(v_tight), seconds=tight_seconds)
             if tight_plan else Outcome(0, str(v_tight), 3, {"objective": None}, seconds=tight_seconds))
    a, b = (tight, loose) if upward else (loose, tight)
    return [a] + [None] * (len(values) - 2) + [b]


@pytest.mark.parametrize("tight_plan", [False, True])
def test_points_near_the_loosest_plans_use_of_the_limit_are_expected_to_take_longest(tight_plan):
    from kamopt.sweep import NEAR, expected_costs

    values = [427, 524, 622, 700, 719, 739, 758, 778, 797]
    cost = expected_costs(values, ends(values, tight_plan=tight_plan))
    below, above = cost[:7], cost[7:]
    assert below == sorted(below)  # closer below 759: longer
    assert cost[6] == pytest.approx(0.5 + 4.5 / (1 + (1 / 759 / NEAR) ** 2))
    assert above == [0.5 / 4] * 2  # 778 and 797 fit the loosest plan: not solved
    # a sweep of a minimum: the small values are the loose ones
    values = [100, 150, 200, 250]
    cost = expected_costs(values, ends(values, used=160.0, upward=False, tight_plan=tight_plan))
    assert cost[:2] == [0.5 / 4] * 2 and cost[2] > cost[3]


def test_the_chains_near_the_loosest_plans_use_start_first_in_a_sweep():
    """The 5,000-account benchmark sweep's shape (chains of five; the loosest plan has 759
    key accounts): the chain just below 759 starts before the longer chain further down,
    which started first by runs left and ended the sweep ~3 s later, alone."""
    from kamopt.sweep import expected_costs

    values = [427, 446, 466, 485, 505, 524, 544, 563, 583, 602, 622, 641, 661, 680, 700, 719, 739, 758, 778, 797]
    cost = expected_costs(values, ends(values, tight_seconds=0.75, loose_seconds=5.0))
    near, lower = [15, 16, 17, 18], [10, 11, 12, 13, 14]
    assert sum(cost[i] for i in near) > sum(cost[i] for i in lower)


@pytest.mark.parametrize("change", ["no plan", "no row", "two rows", "same value", "short"])
def test_no_guess_when_the_ends_say_too_little(change):
    from kamopt.sweep import expected_costs

    values = [10, 20, 30]
    outcomes = ends(values, used=25.0)
    if change == "no plan":
        outcomes[-1] = replace(outcomes[-1], summary={"objective": None})
    elif change == "no row":  # the swept value is no row's limit (a path that scales several rows)
        outcomes[-1] = replace(outcomes[-1], usage=[("budget", "", 1e6, 9e5)])
    elif change == "two rows":
        outcomes[-1] = replace(outcomes[-1], usage=[("kam_span", "A", 30.0, 3.0), ("key_accounts", "", 30.0, 25.0)])
    elif change == "same value":
        values = [30, 30, 30]
    else:
        outcomes = outcomes[:2]
    assert expected_costs(values, outcomes) is None


def test_the_frontier_starts_the_chains_its_guess_says_are_longest_first(instance, tmp_path, monkeypatch):
    """After the end points (and the middle chain beside them), the frontier starts the
    chains in the order of ``expected_costs`` from the ends' outcomes; the files are those
    of the default order."""
    import kamopt.sweep as sweep_module

    values = parse_values("18:40:2")  # 12 points: chains 0-4, 5-9, 10-11; ends 0 and 11
    calls = []

    def top_dearest(vals, outcomes):
        calls.append([i for i, o in enumerate(outcomes) if o is not None])
        return [0.0] * (len(vals) - 2) + [100.0, 0.0]  # the point below the top end: the longest

    def run(out, guess):
        if guess is not None:
            monkeypatch.setattr(sweep_module, "expected_costs", guess)
        started = []
        kamopt.frontier(instance, MAX, values, out, workers=1, solver={"gap": 1e-6},
                        on_event=lambda kind, payload: started.append(payload) if kind == "start" else None)
        return started

    default = run(tmp_path / "default", None)
    guessed = run(tmp_path / "guessed", top_dearest)
    # chains after the reverse: [10, 11], [5..9], [0..4]; the middle one, [5..9], beside the ends
    assert default[:2] == guessed[:2] == [0, 11] and default[2:7] == guessed[2:7] == [5, 6, 7, 8, 9]
    assert len(calls) == 1 and set(calls[0]) >= {0, 11}  # asked once, the ends done
    assert default[7:] == [1, 2, 3, 4, 10]  # most runs left first
    assert guessed[7:] == [10, 1, 2, 3, 4]
    for name in ("frontier.csv", "entries.csv", "frontier.json"):
        assert (tmp_path / "guessed" / name).read_bytes() == (tmp_path / "default" / name).read_bytes()
