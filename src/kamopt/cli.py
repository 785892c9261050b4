"""kamopt's command line: parse options, call the library, print results.

Nothing here computes anything; every command is a thin layer over :mod:`kamopt.api`.
Errors are printed as located diagnostics, never as tracebacks (``--debug`` shows one).
"""

from __future__ import annotations

import functools
import gc
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Sequence

import click
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from kamopt import __version__
from kamopt.errors import KamoptError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class KamoptGroup(click.Group):
    """Runs a command and turns kamopt's errors into messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        debug = "--debug" in sys.argv
        try:
            return super().invoke(ctx)
        except KamoptError as e:
            if debug:
                raise
            err.print(f"[bold red]kamopt: {e.kind}[/]", highlight=False)
            for d in e.diagnostics:
                err.print(f"  {d}", markup=False)
            ctx.exit(e.exit_code)
        except KeyboardInterrupt:
            err.print("kamopt: interrupted; no partial results were written")
            ctx.exit(130)
        except click.UsageError as e:  # exit 1, as documented: 2 means invalid input
            e.exit_code = 1
            raise
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as e:  # a bug: say so plainly, keep the traceback for --debug
            if debug:
                raise
            err.print(f"[bold red]kamopt: internal error[/] {type(e).__name__}: {e}", markup=True)
            err.print("  run again with --debug for the traceback, and please report it")
            ctx.exit(70)


def print_changes(loaded, adjustments: tuple[str, ...] = ()) -> None:
    """Say which scenario is running and every change it and ``--set`` made to the policy."""
    if loaded.scenario is not None:
        sc = loaded.scenario
        about = f": {sc.description}" if sc.description else ""
        out.print(f"scenario {sc.name} ({sc.path}, based on {sc.base}){about}", markup=False)
    for line in loaded.overrides:
        out.print(f"  change {line}", markup=False)
    for line in adjustments:
        out.print(f"  change {line}", markup=False)


def common(fn: Callable) -> Callable:
    """Options every command takes."""

    @click.option("--debug", is_flag=True, help="Show the traceback on errors.")
    @functools.wraps(fn)
    def wrapper(*args, debug: bool = False, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


policy_arg = click.argument(
    "policy", type=click.Path(exists=False, dir_okay=True, path_type=Path), metavar="POLICY"
)
set_option = click.option(
    "--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
    help="Override a policy value, e.g. --set portfolio.key_accounts.max=40 (repeatable).",
)
out_option = click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the results (written atomically).",
)
force_option = click.option("--force", is_flag=True, help="Replace an existing results folder.")


@click.group(cls=KamoptGroup, context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="kamopt")
def main() -> None:
    """kamopt: choose key accounts and staff them, with evidence.

    \b
    Typical session:
      kamopt validate policies/default.yaml
      kamopt screen policies/default.yaml --out out/screen
      kamopt solve policies/default.yaml --out out/plan
      kamopt check policies/default.yaml out/plan
    """


@main.command(context_settings=CONTEXT)
@policy_arg
@set_option
@common
def validate(policy: Path, overrides: tuple[str, ...]) -> None:
    """Check a policy and its data; report every problem at once.

    Reads the policy, the data tables it names, and compiles and evaluates every rule
    and expression. Exits 0 when valid, 2 with located errors otherwise.

    \b
    Example:
      kamopt validate policies/default.yaml
    """
    from kamopt import api
    from kamopt.report.screening_tables import screening_summary

    loaded = api.load_policy(policy, overrides)
    s = api.screen(loaded)
    summary = screening_summary(s)
    p = loaded.policy
    out.print(
        f"[green]valid[/]: {escape(str(loaded.path))} — {summary['accounts']} accounts, "
        f"{len(p.tiers)} tiers, {len(p.resources.kam_pools)} KAM pools, "
        f"{len(p.resources.sponsors)} sponsors; {summary['candidates']} candidates"
    )
    print_changes(loaded, s.data.adjustments)


@main.command(context_settings=CONTEXT)
@policy_arg
@out_option
@set_option
@force_option
@common
def screen(policy: Path, out_dir: Path, overrides: tuple[str, ...], force: bool) -> None:
    """Screen every account: rules passed or failed, score, each tier's value and needs.

    Writes screening.csv (every account), excluded.csv (with the rules that excluded
    them) and screening.json (counts and fingerprints).

    \b
    Example:
      kamopt screen policies/default.yaml --out out/screen
    """
    from kamopt import api
    from kamopt.report.screening_tables import screening_summary
    from kamopt.report.writers import check_output_dir

    check_output_dir(out_dir, force)  # fail before the work, not after it
    s = api.screen(api.load_policy(policy, overrides))
    print_changes(s.loaded, s.data.adjustments)
    api.write_screening(s, out_dir, force=force)
    summary = screening_summary(s)
    table = RichTable(title=escape(f"Screening — {s.loaded.policy.name}"), title_justify="left")
    table.add_column("")
    table.add_column("accounts", justify="right")
    table.add_row("in the table", str(summary["accounts"]))
    table.add_row("eligible", str(summary["eligible"]))
    table.add_row("candidates", str(summary["candidates"]))
    for rule, n in summary["failing_each_rule"].items():
        table.add_row(escape(f"  failing {rule}"), str(n))
    for tier, n in summary["admitted_per_tier"].items():
        table.add_row(escape(f"  admitted to {tier}"), str(n))
    out.print(table)
    out.print(escape(f"written to {out_dir}/: screening.csv, excluded.csv, screening.json"))


solver_options = [
    click.option("--solver", type=click.Choice(["highs", "cbc"]), default=None,
                 help="Solver (default: the policy's, normally highs)."),
    click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None,
                 metavar="SECONDS", help="Solver time limit (default: the policy's)."),
    click.option("--gap", type=click.FloatRange(0, 1), default=None,
                 help="Relative optimality gap to stop at, e.g. 0.0001 (default: the policy's)."),
    click.option("--threads", type=click.IntRange(min=0), default=None,
                 help="Solver threads; 0 = solver default."),
]


def with_solver_options(fn: Callable) -> Callable:
    for option in reversed(solver_options):
        fn = option(fn)
    return fn


def _money(value: float | None, currency: str) -> str:
    return "—" if value is None else f"{value:,.0f} {currency}"


SHOWN_VIOLATIONS = 20
"""Violations printed one per line under a plan's summary; the rest are counted by family."""


def print_plan(plan, title: str) -> None:
    """The short summary table of a plan."""
    from kamopt.report.plan_tables import summary
    from kamopt.verify import rule_names

    info = summary(plan)
    cur = info["currency"]
    table = RichTable(title=escape(title), title_justify="left", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    status = info["status"]
    style = {"optimal": "green", "feasible": "yellow"}.get(status, "red")
    gap = info["gap"]
    table.add_row("status", f"[{style}]{status}[/]" + (f"  (gap {gap:.4%})" if gap is not None else ""))
    table.add_row("objective", _money(info["objective"], cur))
    if info["bound"] is not None:
        table.add_row("bound", _money(info["bound"], cur))
    table.add_row("greedy baseline", _money(info["greedy_objective"], cur))
    if not info["greedy_feasible"]:
        table.add_row("greedy breaks", f"[red]{escape(rule_names(info['greedy_violations']))}[/]")
    hand_made = plan.solution.solver == "plan file"
    if info["optimum_vs_greedy_pct"] is not None and plan.method == "optimal":
        label = "this plan vs greedy" if hand_made else "optimum vs greedy"
        table.add_row(label, f"{info['optimum_vs_greedy_pct']:+.1f} %")
    tiers = ", ".join(f"{t} {n}" for t, n in info["tiers"].items())
    table.add_row("key accounts", escape(f"{info['key_accounts']}  ({tiers})"))
    ch = info["changes"]
    table.add_row("changes", f"{ch['promote']} promoted, {ch['keep']} kept, {ch['demote']} demoted")
    hires = ", ".join(f"{p} +{n}" for p, n in info["hires"].items() if n) or "none"
    table.add_row("hires", escape(hires))
    if info["annual_cost"] is not None:
        budget = f" of {_money(info['budget'], cur)}" if info["budget"] is not None else ""
        table.add_row("annual cost", _money(info["annual_cost"], cur) + budget)
    if info["soft_violations"]:
        table.add_row("soft limits broken",
                      escape(", ".join(f"{k} by {v:g}" for k, v in info["soft_violations"].items())))
    checked = "[green]passed[/]" if info["verified"] else f"[red]{len(info['violations'])} violations[/]"
    if plan.check is not None:
        table.add_row("independent check", checked)
    if not hand_made:
        table.add_row("solve time", f"{info['solve_seconds']:.2f} s ({info['solver']})")
    out.print(table)
    for line in info["violations"][:SHOWN_VIOLATIONS]:
        out.print(f"  [red]violation[/] {escape(line)}", highlight=False)
    rest = plan.violations[SHOWN_VIOLATIONS:]
    if rest:
        families: dict[str, int] = {}
        for v in rest:
            families[v.family] = families.get(v.family, 0) + 1
        where = "" if hand_made else " (all in violations.csv)"
        out.print(escape(f"  ... and {len(rest)} more: " + ", ".join(f"{n} {fam}" for fam, n in families.items())
                         + where))
    if plan.diagnosis:
        out.print("[bold red]The policy cannot be met.[/] What conflicts, and the smallest relaxations:")
        for line in plan.diagnosis:
            out.print(f"  - {line}", markup=False)
    print_marginal_values(plan)


def print_marginal_values(plan, top: int = 5) -> None:
    """The most valuable capacities and limits: what one more step of each is worth."""
    from kamopt.marginal import top_lines

    lines = top_lines(plan, top)
    if lines:
        exact = any(mv.marginal_value is not None for mv in plan.marginal)
        how = "re-solved" if exact else "LP estimates; --marginal-values re-solves"
        out.print(escape(f"Marginal values, one more step of each ({how}; all in resources.csv):"))
        for line in lines:
            out.print(f"  {escape(line)}", highlight=False)


def plan_exit_code(plan) -> int:
    return plan.exit_code


@main.command(context_settings=CONTEXT)
@policy_arg
@out_option
@set_option
@with_solver_options
@click.option("--method", type=click.Choice(["optimal", "greedy"]), default="optimal", show_default=True,
              help="optimal: solve the MILP; greedy: the spreadsheet baseline (rank by score, fill).")
@click.option("--marginal-values/--no-marginal-values", "marginal_values", default=None,
              help="Also re-solve once per capacity and binding portfolio limit, moved one step, for exact "
                   "marginal values (default: the policy's analysis.marginal_values.exact). LP estimates are "
                   "always computed.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes for --marginal-values (default: one per core).")
@force_option
@common
def solve(policy: Path, out_dir: Path, overrides: tuple[str, ...], solver: str | None,
          time_limit: float | None, gap: float | None, threads: int | None, method: str,
          marginal_values: bool | None, jobs: int | None, force: bool) -> None:
    """Choose the key-account portfolio and staff it; verify the plan independently.

    Writes portfolio.csv (every account: decision, change, score, value, KAM, sponsor),
    resources.csv (every capacity: limit, used, slack, hires, marginal value), excluded.csv,
    violations.csv and summary.json. When the policy cannot be met, writes summary.json
    and diagnosis.txt naming the conflicting limits and the smallest relaxations.

    \b
    Exit codes: 0 solved, 2 invalid input, 3 infeasible, 4 time limit without a solution,
    5 solver error, 6 the plan breaks rules (greedy).

    \b
    Example:
      kamopt solve policies/default.yaml --out out/plan
      kamopt solve policies/default.yaml --out out/plan --force --set portfolio.key_accounts.max=40
      kamopt solve policies/default.yaml --out out/plan --force --marginal-values --jobs 2
    """
    from kamopt import api
    from kamopt.report.writers import check_output_dir

    check_output_dir(out_dir, force)  # fail before the work, not after it
    loaded = api.load_policy(policy, overrides)
    plan = api.solve(loaded, method=method, solver=solver, time_limit=time_limit, gap=gap, threads=threads,
                     marginal_values=False)
    exact = loaded.policy.analysis.marginal_values.exact if marginal_values is None else marginal_values
    if exact and method == "optimal" and plan.solution.assignment is not None:
        with RunProgress("marginal values") as progress:
            api.marginal_values(plan, workers=jobs, on_event=progress)
    print_changes(loaded, plan.screening.data.adjustments)
    api.write_plan(plan, out_dir, force=force)
    print_plan(plan, f"Plan — {loaded.name}")
    out.print(escape(f"written to {out_dir}/"))
    sys.exit(plan_exit_code(plan))


@main.command(context_settings=CONTEXT)
@policy_arg
@click.argument("plan", type=click.Path(exists=True, path_type=Path), metavar="PLAN")
@set_option
@click.option("--hire", "hires", multiple=True, metavar="POOL=FTE",
              help="Hires of a hand-made plan, e.g. --hire Iberia=1 (repeatable).")
@click.option("--optimum/--no-optimum", default=True, show_default=True,
              help="Also solve the policy and show the optimum beside the plan.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write the checked plan's files here (portfolio.csv with the KAMs and sponsors "
                   "kamopt assigned, resources.csv, violations.csv, summary.json, plan.xlsx...).")
@force_option
@common
def check(policy: Path, plan: Path, overrides: tuple[str, ...], hires: tuple[str, ...],
          optimum: bool, out_dir: Path | None, force: bool) -> None:
    """Verify a plan against the policy, from its files alone.

    PLAN is a folder written by `kamopt solve`, or a hand-made CSV with columns
    account_id and tier (optional: kam, sponsor). Recomputes every resource use, cost,
    count, quota, sponsor and KAM assignment and incumbent rule, and lists each
    violation with its constraint name and amount. Exits 0 when the plan keeps every
    rule, 6 when it breaks any. A plan that names no KAMs (or no sponsors) where the
    policy has named ones gets them from kamopt: the staffing of its tiers and hires
    that breaks the least capacity. --out writes the checked plan's files.

    \b
    Example:
      kamopt check policies/default.yaml out/plan
      kamopt check policies/default.yaml my_spreadsheet_plan.csv --hire Iberia=1 --out out/checked
    """
    from kamopt import api
    from kamopt.errors import PolicyError

    if out_dir is not None:
        from kamopt.report.writers import check_output_dir

        check_output_dir(out_dir, force)  # fail before the work, not after it
    hire_counts = {}
    for spec in hires:
        pool, _, count = spec.partition("=")
        if not pool or not count.strip().isdigit():
            raise PolicyError(f"--hire {spec}: expected POOL=FTE with a whole number of FTE")
        hire_counts[pool] = int(count)
    loaded = api.load_policy(policy, overrides)
    checked, best = api.check(loaded, plan, hires=hire_counts or None, with_optimum=optimum)
    print_changes(loaded, checked.screening.data.adjustments)
    print_plan(checked, f"Check of {plan} — {loaded.policy.name}")
    if checked.solution.message:
        out.print(escape(f"note: {checked.solution.message}"))
    if out_dir is not None:
        api.write_plan(checked, out_dir, force=force)
        out.print(escape(f"written to {out_dir}/"))
    if best is not None and best.solution.objective is not None:
        diff = (checked.solution.objective or 0) - best.solution.objective
        cur = loaded.policy.currency
        out.print(f"optimum: {_money(best.solution.objective, cur)}; this plan: "
                  f"{_money(checked.solution.objective, cur)} ({_money(diff, cur)})")
    elif best is not None:  # no optimum to show beside the plan: say why
        if best.diagnosis:
            out.print("[bold red]optimum: none: the policy cannot be met by any plan.[/] What conflicts, and the "
                      "smallest relaxations:")
            for line in best.diagnosis:
                out.print(f"  - {line}", markup=False)
        else:
            out.print(escape(f"optimum: none: {best.solution.status.value}"
                             + (f" ({best.solution.message})" if best.solution.message else "")))
    sys.exit(plan_exit_code(checked))


@main.command(context_settings=CONTEXT)
@policy_arg
@click.argument("plan", type=click.Path(exists=True, path_type=Path), metavar="PLAN")
@click.argument("account_id", metavar="ACCOUNT_ID")
@set_option
@click.option("--tier", "tiers", multiple=True, metavar="TIER",
              help="Give the entry threshold for this tier only (repeatable; default: every higher tier it "
                   "qualifies for).")
@click.option("--estimate", is_flag=True,
              help="Skip the exact re-solves; give the LP estimates of explanations.csv.")
@click.option("--gap", type=click.FloatRange(0, 1), default=None,
              help="Relative gap of the exact re-solves (default: 1e-6, or the policy's if smaller; the "
                   "policy's on models over 5,000 account-tier options).")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
              help="Time limit per re-solve (default: the policy's, at most 30 s).")
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON data.")
@common
def explain(policy: Path, plan: Path, account_id: str, overrides: tuple[str, ...], tiers: tuple[str, ...],
            estimate: bool, gap: float | None, time_limit: float | None, as_json: bool) -> None:
    """Explain why one account is in or out of a plan, and what it would take to change that.

    PLAN is a folder written by `kamopt solve` (or a plan CSV, as for `kamopt check`).
    Tells the eligibility rules the account passes and fails, its score and each
    criterion's part, its value and needs per tier, the decision, the constraints that
    block a higher tier (by name, with what is missing), the expected value it would need
    to enter each tier (the entry threshold, from exact re-solves of the MILP) and, for an
    account that is in, the value the plan would lose if it were forced out.

    \b
    Example:
      kamopt explain policies/default.yaml out/plan A-0042
      kamopt explain policies/default.yaml out/plan A-0042 --tier bronze --json
    """
    from kamopt import api
    from kamopt.explain import explanation_lines
    from kamopt.report.writers import clean_floats, json_text

    loaded = api.load_policy(policy, overrides)
    e = api.explain_account(loaded, plan, account_id, exact=not estimate, tiers=tiers or None, gap=gap,
                    time_limit=time_limit)
    if as_json:
        data = e.to_dict()
        data["overrides"] = list(loaded.overrides)
        click.echo(json_text(clean_floats(data)), nl=False)
        return
    print_changes(loaded)
    for line in explanation_lines(e):
        out.print(line, markup=False)


class RunProgress:
    """A progress bar on stderr for commands that run several solves; shows what is running."""

    def __init__(self, what: str):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.labels: list[str] = []
        self.running: dict[int, str] = {}
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal)
        self.task = self.progress.add_task(what, total=None)
        self.what = what

    def __enter__(self) -> "RunProgress":
        return self  # shown from the first run on (see __call__)

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def __call__(self, kind: str, payload) -> None:
        if kind == "begin":  # the runs, known once the inputs are checked (a sweep's diagnoses: a second batch)
            # The worker processes start after "begin": the display's refresh thread is
            # stopped until the first run starts, so they can be forked (runs.fork_is_safe).
            self.progress.stop()
            self.labels = [spec.label for spec in payload]
            self.progress.update(self.task, total=len(self.labels), completed=0)
            return
        self.progress.start()  # once: later calls find it started
        if kind == "update":  # a finished run's outcome replaced (a sweep's edge, diagnosed)
            return
        if kind == "start":
            self.running[payload] = self.labels[payload]
        else:
            self.running.pop(payload.index, None)
            self.progress.advance(self.task)
        now = ", ".join(self.running.values())
        self.progress.update(self.task, description=escape(f"{self.what}: {now}" if now else self.what))


def solver_kwargs(solver, time_limit, gap, threads) -> dict:
    return {k: v for k, v in dict(solver=solver, time_limit=time_limit, gap=gap, threads=threads).items()
            if v is not None}


@main.command(context_settings=CONTEXT)
@policy_arg
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="SCENARIO...")
@out_option
@set_option
@with_solver_options
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: one per core).")
@force_option
@common
def compare(policy: Path, scenarios: tuple[Path, ...], out_dir: Path, overrides: tuple[str, ...],
            solver: str | None, time_limit: float | None, gap: float | None, threads: int | None,
            jobs: int | None, force: bool) -> None:
    """Solve the base policy and each what-if scenario; compare them side by side.

    Each SCENARIO is a scenario file laid over POLICY (see scenarios/README.md). Runs go
    in parallel worker processes. Writes comparison.csv (one row per run), changes.csv
    (accounts that enter, leave or change tier against the base), plan.xlsx, and one
    plan folder per run. Ctrl-C keeps the runs that finished.

    \b
    Exit codes: 0 every run solved, 2 invalid input, otherwise the worst run's code
    (3 infeasible, 4 time limit without a plan, ...); 130 interrupted.

    \b
    Example:
      kamopt compare policies/default.yaml scenarios/*.yaml --out out/compare
    """
    from kamopt import api

    with RunProgress("solving") as progress:  # bad input fails inside, before any solve
        cmp = api.compare(policy, scenarios, out_dir, overrides=overrides,
                          solver=solver_kwargs(solver, time_limit, gap, threads), workers=jobs, force=force,
                          on_event=progress)
    print_comparison(cmp)
    finish_runs(cmp, out_dir, "runs", f"comparison.csv, changes.csv, plan.xlsx, and a plan folder per run "
                f"({', '.join(cmp.labels)})")


def finish_runs(result, out_dir: Path, noun: str, written: str) -> None:
    """Say what a several-solve command wrote (or kept, when interrupted) and exit with its code."""
    if result.interrupted:
        err.print(escape(f"kamopt: interrupted; kept the {result.finished} of {len(result.specs)} {noun} that "
                         f"finished in {out_dir}/"))
        sys.exit(130)
    out.print(escape(f"written to {out_dir}/: {written}"))
    sys.exit(result.exit_code)


@main.command(context_settings=CONTEXT)
@policy_arg
@click.option("--vary", "path", required=True, metavar="KEY.PATH",
              help="The policy value to sweep, e.g. portfolio.key_accounts.max or resources.budget.")
@click.option("--values", "values_text", required=True, metavar="START:STOP:STEP",
              help="Values to try: START:STOP:STEP (STOP included) or a list a,b,c.")
@out_option
@set_option
@with_solver_options
@click.option("--step-cost", type=float, default=None, metavar="MONEY",
              help="Cost of one more step of the swept value (e.g. a sponsor slot's yearly cost); "
                   "recommends the last point whose next step adds less than it. Default: the knee.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: one per core).")
@force_option
@common
def frontier(policy: Path, path: str, values_text: str, out_dir: Path, overrides: tuple[str, ...],
             solver: str | None, time_limit: float | None, gap: float | None, threads: int | None,
             step_cost: float | None, jobs: int | None, force: bool) -> None:
    """Sweep one policy value: how value, cost and the portfolio change, and where to stop.

    Writes frontier.csv (per value: objective, marginal value, cost, counts,
    utilisation, status), entries.csv (when each account enters, and those that later
    leave), frontier.png/.svg (value and marginal value, recommended point marked),
    frontier.json and plan.xlsx (the recommended point's plan). Where the policy stops
    being feasible, says which limits conflict and the smallest relaxations. Ctrl-C keeps
    the points that finished.

    \b
    Example:
      kamopt frontier policies/default.yaml --vary portfolio.key_accounts.max --values 30:70:5 --out out/frontier
    """
    from kamopt import api
    from kamopt.sweep import parse_values

    values = parse_values(values_text)
    with RunProgress(f"sweeping {path}") as progress:  # bad input fails inside, before any solve
        f = api.frontier(policy, path, values, out_dir, overrides=overrides,
                         solver=solver_kwargs(solver, time_limit, gap, threads), workers=jobs,
                         step_cost=step_cost, force=force, on_event=progress)
    print_frontier(f)
    finish_runs(f, out_dir, "points", "frontier.csv, entries.csv, frontier.json, frontier.png, frontier.svg, "
                "plan.xlsx")


@main.command(context_settings=CONTEXT)
@click.argument("plan", type=click.Path(path_type=Path), metavar="PLAN")
@click.option("--out", "out_file", required=True, type=click.Path(path_type=Path), metavar="FILE",
              help="The report file to write, e.g. report.html (written atomically).")
@click.option("--compare", "compare_dir", type=click.Path(path_type=Path), default=None, metavar="DIR",
              help="A folder written by `kamopt compare`: adds the scenario table.")
@click.option("--frontier", "frontier_dir", type=click.Path(path_type=Path), default=None, metavar="DIR",
              help="A folder written by `kamopt frontier`: adds the frontier chart and table.")
@click.option("--force", is_flag=True, help="Replace an existing report file.")
@common
def report(plan: Path, out_file: Path, compare_dir: Path | None, frontier_dir: Path | None, force: bool) -> None:
    """Write the executive report: one self-contained HTML page for the leadership team.

    PLAN is a folder written by `kamopt solve` (or by `kamopt compare`: its base plan is
    reported and the comparison shown). The page shows the status and gap, the headline
    (value, cost, key accounts per tier, hires), tier mix, utilisation and marginal
    values, the sponsorship plan, changes from today's portfolio, the sortable portfolio,
    excluded accounts with reasons, and the fingerprints. It loads nothing from the
    network, prints well, and the same folders give the same bytes.

    \b
    Example:
      kamopt report out/plan --out out/report.html
      kamopt report out/compare --frontier out/frontier --out out/report.html --force
    """
    from kamopt import api

    written = api.write_report(plan, out_file, compare=compare_dir, frontier=frontier_dir, force=force)
    out.print(escape(f"report written to {written}"))


def print_frontier(f) -> None:
    from kamopt.sweep import entries_table, frontier_table, show_value

    header, rows = frontier_table(f)
    col = {name: j for j, name in enumerate(header)}
    table = RichTable(title=escape(f"Frontier of {f.path} (policy: {f.base_value})"), title_justify="left",
                      box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True, show_edge=False)
    shown = {"value": "value", "status": "status", "objective": "objective", "marginal_value": "marginal",
             "annual_cost": "cost/yr", "key_accounts": "accounts", "hires_total": "hires",
             "kam_hours_used_pct": "KAM h", "accounts_in": "in", "accounts_out": "out"}
    for name, title in shown.items():
        table.add_column(escape(title), justify="left" if name == "status" else "right", no_wrap=True)
    for row in rows:
        cells = [show_value(row[0])] + [_compact(row[col[n]], n) for n in list(shown)[1:]]
        style = "bold" if row[col["recommended"]] else None
        table.add_row(*[escape(c) for c in cells], style=style)
    out.print(table)
    r = f.recommendation
    if r.index is not None:
        out.print(escape(f"recommended: {f.path} = {show_value(f.values[r.index])} — rule: {r.rule}; {r.reason}"))
    else:
        out.print(escape(f"no recommendation: {r.reason}"))
    _, entries = entries_table(f)
    again = [e for e in entries if e[4] is not None]
    if again:
        listed = ", ".join(f"{e[0]} (in at {show_value(e[2])}, out at {show_value(e[4])})" for e in again[:6])
        more = f" and {len(again) - 6} more" if len(again) > 6 else ""
        out.print(escape(f"not nested: {len(again)} accounts enter and later leave: {listed}{more}"))
    for o in f.outcomes:
        if o is not None and o.error:
            out.print(escape(f"{f.path} = {o.label}: {o.error}"))
    infeasible = [f.outcomes[k].label for k in f.infeasible()]
    if infeasible:
        out.print(escape(f"infeasible at {', '.join(infeasible)}; where the policy stops being feasible, "
                         "what conflicts and the smallest relaxations:"))
        for k in f.infeasible_edges():
            lines = f.diagnosis(k) or ["not diagnosed (stopped)"]
            out.print(escape(f"  {f.path} = {f.outcomes[k].label}: {lines[0]}"), soft_wrap=True)
            for line in lines[1:]:
                out.print(escape(f"    {line}"), soft_wrap=True)
            out.print(escape(f"    the plan files of that point: {f.solve_command(k)}"), soft_wrap=True)


def print_comparison(cmp) -> None:
    """The comparison side by side: one column per run, one row per figure."""
    from kamopt.whatif import changes_table, comparison_table

    header, rows = comparison_table(cmp)
    skip = {"scenario", "file", "exit_code", "error", "diagnosis"}
    shown = [(j, name) for j, name in enumerate(header) if name not in skip]
    cells = [[_cell(row[j], name) for j, name in shown] for row in rows]  # per run
    widths = [max(len(str(row[0])), *map(len, c)) for row, c in zip(rows, cells)]
    label_width = max(len(name) for _, name in shown)
    for k, block in enumerate(column_blocks(label_width, widths, out.width)):
        title = "Comparison" if k == 0 else "Comparison (continued: base and the next runs)"
        table = RichTable(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("", no_wrap=True)
        for r in block:
            table.add_column(escape(str(rows[r][0])), justify="right", no_wrap=True)
        for i, (_, name) in enumerate(shown):
            table.add_row(escape(name), *[escape(cells[r][i]) for r in block])
        out.print(table)
    for o in cmp.outcomes:
        if o is not None and o.error:
            out.print(escape(f"{o.label}: {o.error}"))
        elif o is not None and o.summary and o.summary.get("diagnosis"):
            out.print(escape(f"{o.label}: the policy cannot be met. What conflicts, and the smallest relaxations:"))
            for line in o.summary["diagnosis"]:
                out.print(escape(f"  - {line}"), soft_wrap=True)
    _, changes = changes_table(cmp)
    for label in cmp.labels[1:]:
        mine = [c for c in changes if c[0] == label]
        if mine:
            shown = ", ".join(f"{c[1]} {'+' if c[3] == 'enters' else '-' if c[3] == 'leaves' else '~'}"
                              for c in mine[:8])
            more = f" and {len(mine) - 8} more" if len(mine) > 8 else ""
            out.print(escape(f"{label} vs base: {shown}{more}  (+ enters, - leaves, ~ changes tier)"))


def column_blocks(label_width: int, widths: Sequence[int], room: int) -> list[list[int]]:
    """Split a table's run columns into blocks that fit ``room`` characters beside the
    label column, so a narrow terminal gets several tables instead of cells cut or wrapped
    mid-number. Every block after the first starts with column 0 again (the base, which
    the others are read against); a block holds at least one other column, even one too
    wide for the room (the terminal squeezes it then)."""
    def used(block: list[int]) -> int:  # the label, then each column with a space either side
        return label_width + sum(widths[r] + 2 for r in block)

    blocks: list[list[int]] = [[0]] if widths else []
    for r in range(1, len(widths)):
        if len(blocks[-1]) > 1 and used(blocks[-1] + [r]) > room:
            blocks.append([0])
        blocks[-1].append(r)
    return blocks


def _compact(value, name: str) -> str:
    """A table cell in few characters: money in k or M, percentages without decimals."""
    if isinstance(value, float) and name in ("objective", "marginal_value", "annual_cost"):
        return f"{value / 1e6:,.2f} M" if abs(value) >= 1e6 else f"{value / 1e3:,.0f} k"
    if isinstance(value, float) and name.endswith("_pct"):
        return f"{value:.0f} %"
    return _cell(value, name)


def _cell(value, name: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if name == "gap_pct":
            return f"{value:.4f} %"
        if name.endswith("_pct") or "_pct[" in name:
            return f"{value:,.1f} %"
        return f"{value:,.0f}"
    return str(value)


@main.command(context_settings=CONTEXT)
@policy_arg
@click.option("--within", "within_text", default="1%", show_default=True, metavar="SHARE",
              help="How far below the optimum an alternative may be: a percentage (1%) or a share (0.01).")
@click.option("--count", type=click.IntRange(min=1, max=50), default=3, show_default=True,
              help="Most alternatives to find.")
@click.option("--distance", type=click.Choice(["decisions", "accounts"]), default="decisions", show_default=True,
              help="decisions: an account counts when it enters, leaves or changes tier; accounts: only "
                   "entering or leaving counts.")
@out_option
@set_option
@with_solver_options
@force_option
@common
def alternatives(policy: Path, within_text: str, count: int, distance: str, out_dir: Path,
                 overrides: tuple[str, ...], solver: str | None, time_limit: float | None, gap: float | None,
                 threads: int | None, force: bool) -> None:
    """Near-optimal alternatives: portfolios almost as good as the optimum, as different as possible.

    Solves the policy, then finds up to COUNT portfolios whose objective is at most
    WITHIN below the optimum's and that differ most from it and from each other (the
    smallest distance to any earlier plan is maximised), so leadership sees the real
    choices; --time-limit applies to each search. Every alternative keeps every rule and is checked by the independent
    verifier. Writes a plan folder per plan (optimum, alt-1, alt-2, ...),
    alternatives.csv (objective, % below the optimum, accounts in and out, the distance
    between every two plans) and alternatives.json. Stops early, saying why, when no
    other portfolio exists within the bound.

    \b
    Exit codes: 0 solved, 2 invalid input, 3 infeasible, 4 time limit without a plan.

    \b
    Example:
      kamopt alternatives policies/default.yaml --within 1% --count 3 --out out/alternatives
    """
    from kamopt import api
    from kamopt.alternatives import parse_within

    within = parse_within(within_text)  # bad input fails before any solve
    with RunProgress("alternatives") as progress:
        progress.progress.update(progress.task, total=count)
        result = api.solve_alternatives(policy, within, count, out_dir, distance=distance, overrides=overrides,
                                  solver=solver_kwargs(solver, time_limit, gap, threads), force=force,
                                  on_found=lambda alt: progress.progress.advance(progress.task))
    print_changes(result.optimum.loaded, result.optimum.screening.data.adjustments)
    if not result.found:
        print_plan(result.optimum, f"Plan — {result.optimum.loaded.name}")
    else:
        print_alternatives(result)
    if result.stop_reason:
        out.print(escape(f"found {len(result.alternatives)} of {count}: {result.stop_reason}"))
    out.print(escape(f"written to {out_dir}/: alternatives.csv, alternatives.json, and a plan folder per plan "
                     f"({', '.join(a.label for a in result.found) or 'optimum'})"))
    sys.exit(result.exit_code)


def print_alternatives(result) -> None:
    """The optimum and its alternatives side by side: one column per plan."""
    from kamopt.alternatives import alternatives_table

    header, rows = alternatives_table(result)
    col = {name: j for j, name in enumerate(header)}
    cur = result.optimum.loaded.policy.currency
    table = RichTable(title=escape(f"Alternatives within {result.within:.2%} of the optimum "
                                   f"(distance: {result.distance})"),
                      title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("", no_wrap=True)
    for row in rows:
        table.add_column(escape(row[0]), justify="right")
    shown = [("objective", f"objective ({cur})"), ("below_optimum_pct", "below optimum"),
             ("annual_cost", f"annual cost ({cur})"), ("key_accounts", "key accounts"),
             ("accounts_in", "accounts in"), ("accounts_out", "accounts out"), ("tier_changes", "tier changes"),
             *[(f"distance_{r[0]}", f"distance to {r[0]}") for r in rows], ("verified", "verified")]
    for name, title in shown:
        cells = []
        for row in rows:
            v = row[col[name]]
            if name == "below_optimum_pct":
                cells.append(f"{v:.3f} %")
            elif name == "verified":
                cells.append("yes" if v else "NO")
            elif isinstance(v, float):
                cells.append(f"{v:,.0f}")
            else:
                cells.append(str(v))
        table.add_row(escape(title), *[escape(c) for c in cells])
    out.print(table)
    for row in rows[1:]:
        moves = [f"+{x}" for x in row[col["entering"]].split("; ") if x][:6]
        moves += [f"-{x}" for x in row[col["leaving"]].split("; ") if x][:6]
        if moves:
            out.print(escape(f"{row[0]} vs optimum: {', '.join(moves)}"
                             + (" ..." if row[col["accounts_in"]] + row[col["accounts_out"]] > len(moves) else "")))


@main.command(context_settings=CONTEXT)
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
@common
def schema(out_file: Path | None) -> None:
    """Print the JSON Schema of policy files (for editor validation and completion).

    \b
    Example:
      kamopt schema --out kamopt-policy.schema.json
    """
    from kamopt.policy.schema import json_schema
    from kamopt.report.writers import write_text_atomic

    text = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
    if out_file is None:
        click.echo(text, nl=False)
    else:
        write_text_atomic(out_file, text)
        out.print(escape(f"written to {out_file}"))


@main.command(context_settings=CONTEXT)
@out_option
@force_option
@common
def sample(out_dir: Path, force: bool) -> None:
    """Copy the bundled sample (reference policy and data) into a folder to start from.

    \b
    Example:
      kamopt sample --out my-programme
      kamopt solve my-programme/policy.yaml --out out/plan
    """
    from kamopt.report.writers import output_folder

    source = resources.files("kamopt") / "sample"
    with output_folder(out_dir, force) as folder:
        for item in sorted(source.iterdir(), key=lambda p: p.name):
            if item.name.endswith((".csv", ".yaml")):
                folder.binary(item.name, item.read_bytes())
    out.print(escape(f"sample policy and data written to {out_dir}/ (start with policy.yaml)"))


@main.command(context_settings=CONTEXT)
@click.option("--accounts", type=click.IntRange(1, 2_000_000), required=True, help="Number of accounts.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@out_option
@click.option("--named-kams/--no-named-kams", default=None,
              help="Write named KAMs and a fit table (default: up to 5,000 accounts).")
@click.option("--pools", type=click.IntRange(1, 20), default=8, show_default=True, help="KAM pools.")
@click.option("--sponsors", type=click.IntRange(0, 50), default=20, show_default=True,
              help="Executive sponsors.")
@force_option
@common
def generate(accounts: int, seed: int, out_dir: Path, named_kams: bool | None, pools: int,
             sponsors: int, force: bool) -> None:
    """Generate a realistic synthetic instance (policy + data) of any size, reproducibly.

    \b
    Example:
      kamopt generate --accounts 5000 --seed 7 --out out/gen5k
      kamopt solve out/gen5k/policy.yaml --out out/gen5k-plan
    """
    from kamopt.generate import generate as _generate

    # written atomically: with --force the old folder is replaced only once the new one is complete
    inst = _generate(accounts, seed, out_dir, named_kams=named_kams, pools=pools, sponsors=sponsors, force=force)
    kams = f", {inst.n_kams} named KAMs" if inst.kams is not None else ""
    out.print(escape(f"generated {inst.n_accounts:,} accounts ({inst.n_incumbents} key accounts today), "
                     f"{inst.n_pools} KAM pools, {inst.n_sponsors} sponsors{kams} (seed {seed}) in {out_dir}/"))


def run() -> None:
    """The ``kamopt`` command: :func:`main`, then the process ends. What kamopt built lives
    until then, so the interpreter's last garbage collection would only walk it (the policy
    schema's validators above all: ~50 ms of a 0.85 s solve of 1,000 accounts); frozen,
    those objects are skipped. Files are written and closed before this point, and exit
    handlers still run. Not in :func:`main`, which tests and scripts call many times in
    one process: there, frozen objects would never be collected."""
    try:
        main()
    finally:
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    run()
