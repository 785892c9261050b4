"""kamopt's command line: parse options, call the library, print results.

Nothing here computes anything; every command is a thin layer over :mod:`kamopt.api`.
Errors are printed as located diagnostics, never as tracebacks (``--debug`` shows one).
"""

from __future__ import annotations

import functools
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import click
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


def print_plan(plan, title: str) -> None:
    """The short summary table of a plan."""
    from kamopt.report.plan_tables import summary

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
    table.add_row("greedy baseline", _money(info["greedy_objective"], cur)
                  + ("" if info["greedy_feasible"] else "  [red](breaks rules)[/]"))
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
    for line in info["violations"][:20]:
        out.print(f"  [red]violation[/] {escape(line)}", highlight=False)
    if len(info["violations"]) > 20:
        out.print(f"  ... and {len(info['violations']) - 20} more in violations.csv")
    if plan.diagnosis:
        out.print("[bold red]The policy cannot be met.[/] What conflicts, and the smallest relaxations:")
        for line in plan.diagnosis:
            out.print(f"  - {line}", markup=False)


def plan_exit_code(plan) -> int:
    from kamopt.errors import EXIT_INFEASIBLE, EXIT_OK, EXIT_RULES_BROKEN, EXIT_SOLVER_ERROR, EXIT_TIME_LIMIT
    from kamopt.model.solution import Status

    if plan.violations or plan.status == Status.RULES_BROKEN:
        return EXIT_RULES_BROKEN
    return {
        Status.OPTIMAL: EXIT_OK, Status.FEASIBLE: EXIT_OK, Status.INFEASIBLE: EXIT_INFEASIBLE,
        Status.TIME_LIMIT_NO_SOLUTION: EXIT_TIME_LIMIT,
    }.get(plan.status, EXIT_SOLVER_ERROR)


@main.command(context_settings=CONTEXT)
@policy_arg
@out_option
@set_option
@with_solver_options
@click.option("--method", type=click.Choice(["optimal", "greedy"]), default="optimal", show_default=True,
              help="optimal: solve the MILP; greedy: the spreadsheet baseline (rank by score, fill).")
@force_option
@common
def solve(policy: Path, out_dir: Path, overrides: tuple[str, ...], solver: str | None,
          time_limit: float | None, gap: float | None, threads: int | None, method: str,
          force: bool) -> None:
    """Choose the key-account portfolio and staff it; verify the plan independently.

    Writes portfolio.csv (every account: decision, change, score, value, KAM, sponsor),
    resources.csv (every capacity: limit, used, slack, hires), excluded.csv,
    violations.csv and summary.json. When the policy cannot be met, writes summary.json
    and diagnosis.txt naming the conflicting limits and the smallest relaxations.

    \b
    Exit codes: 0 solved, 2 invalid input, 3 infeasible, 4 time limit without a solution,
    5 solver error, 6 the plan breaks rules (greedy).

    \b
    Example:
      kamopt solve policies/default.yaml --out out/plan
      kamopt solve policies/default.yaml --out out/plan --force --set portfolio.key_accounts.max=40
    """
    from kamopt import api
    from kamopt.report.writers import check_output_dir

    check_output_dir(out_dir, force)  # fail before the work, not after it
    loaded = api.load_policy(policy, overrides)
    plan = api.solve(loaded, method=method, solver=solver, time_limit=time_limit, gap=gap, threads=threads)
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
@common
def check(policy: Path, plan: Path, overrides: tuple[str, ...], hires: tuple[str, ...],
          optimum: bool) -> None:
    """Verify a plan against the policy, from its files alone.

    PLAN is a folder written by `kamopt solve`, or a hand-made CSV with columns
    account_id and tier (optional: kam, sponsor). Recomputes every resource use, cost,
    count, quota, sponsor and KAM assignment and incumbent rule, and lists each
    violation with its constraint name and amount. Exits 0 when the plan keeps every
    rule, 6 when it breaks any.

    \b
    Example:
      kamopt check policies/default.yaml out/plan
      kamopt check policies/default.yaml my_spreadsheet_plan.csv --hire Iberia=1
    """
    from kamopt import api
    from kamopt.errors import PolicyError

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
    if best is not None and best.solution.objective is not None:
        diff = (checked.solution.objective or 0) - best.solution.objective
        cur = loaded.policy.currency
        out.print(f"optimum: {_money(best.solution.objective, cur)}; this plan: "
                  f"{_money(checked.solution.objective, cur)} ({_money(diff, cur)})")
    sys.exit(plan_exit_code(checked))


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


def run() -> None:  # pragma: no cover - console entry point alias
    main()


if __name__ == "__main__":  # pragma: no cover
    main()



