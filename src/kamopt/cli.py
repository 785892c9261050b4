"""kamopt's command line: parse options, call the library, print results.

Nothing here computes anything; every command is a thin layer over :mod:`kamopt.api`.
Errors are printed as located diagnostics, never as tracebacks (``--debug`` shows one).
"""

from __future__ import annotations

import functools
import json
import shutil
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import click
from rich.console import Console
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
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as e:  # a bug: say so plainly, keep the traceback for --debug
            if debug:
                raise
            err.print(f"[bold red]kamopt: internal error[/] {type(e).__name__}: {e}", markup=True)
            err.print("  run again with --debug for the traceback, and please report it")
            ctx.exit(70)


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
        f"[green]valid[/]: {loaded.path} — {summary['accounts']} accounts, "
        f"{len(p.tiers)} tiers, {len(p.resources.kam_pools)} KAM pools, "
        f"{len(p.resources.sponsors)} sponsors; {summary['candidates']} candidates"
    )
    for line in loaded.overrides:
        out.print(f"  override {line}", markup=False)


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
    from kamopt.report.screening_tables import screening_summary, write_screening
    from kamopt.report.writers import check_output_dir, output_folder

    check_output_dir(out_dir, force)
    s = api.screen(api.load_policy(policy, overrides))
    with output_folder(out_dir, force) as folder:
        write_screening(s, folder)
    summary = screening_summary(s)
    table = RichTable(title=f"Screening — {s.loaded.policy.name}", title_justify="left")
    table.add_column("")
    table.add_column("accounts", justify="right")
    table.add_row("in the table", str(summary["accounts"]))
    table.add_row("eligible", str(summary["eligible"]))
    table.add_row("candidates", str(summary["candidates"]))
    for rule, n in summary["failing_each_rule"].items():
        table.add_row(f"  failing {rule}", str(n))
    for tier, n in summary["admitted_per_tier"].items():
        table.add_row(f"  admitted to {tier}", str(n))
    out.print(table)
    out.print(f"written to {out_dir}/: screening.csv, excluded.csv, screening.json")


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
        out.print(f"written to {out_file}")


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
    out.print(f"sample policy and data written to {out_dir}/ (start with policy.yaml)")


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
    from kamopt.report.writers import check_output_dir

    check_output_dir(out_dir, force)
    if out_dir.exists() and force:
        shutil.rmtree(out_dir)
    inst = _generate(accounts, seed, out_dir, named_kams=named_kams, pools=pools, sponsors=sponsors)
    out.print(f"generated {accounts:,} accounts (seed {seed}) in {out_dir}/")
    del inst


def run() -> None:  # pragma: no cover - console entry point alias
    main()


if __name__ == "__main__":  # pragma: no cover
    main()



