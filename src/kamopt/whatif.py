"""What-if comparison: solve a base policy and scenarios side by side (``kamopt compare``).

The base and every scenario are solved in worker processes (:mod:`kamopt.runs`); each
gets its own plan folder, and the comparison boils them down to one row per run:
objective and its change against the base, cost, key accounts per tier, hires per pool,
utilisation of KAM hours, sponsor slots, support functions and budget, status and gap,
and the accounts that enter or leave the portfolio relative to the base.

Output folder (written atomically; a Ctrl-C keeps the runs that finished, and says so)::

    comparison.csv    one row per run (base first), the table printed side by side
    changes.csv       per scenario, each account that enters, leaves or changes tier
    plan.xlsx         the base plan's sheets plus Scenarios and Scenario changes
    base/, <scenario>/   each run's full plan folder (as ``kamopt solve`` writes it)
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from kamopt.errors import Diagnostic, PolicyError
from kamopt.policy.loader import LoadedPolicy, load_policy
from kamopt.report.writers import output_folder
from kamopt.runs import DIAGNOSIS_SEPARATOR, Outcome, RunSpec, ids_over, run_all, start_workers

BASE = "base"


@dataclass
class Comparison:
    """The runs of a comparison (base first) and what each gave."""

    specs: list[RunSpec]
    outcomes: list[Outcome | None]
    interrupted: bool
    tier_ids: list[str]
    pool_ids: list[str]
    support_ids: list[str]
    currency: str

    @property
    def labels(self) -> list[str]:
        return [s.label for s in self.specs]

    @property
    def finished(self) -> int:
        return sum(o is not None for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        """The worst run's exit code (0 when every run solved)."""
        codes = [o.exit_code for o in self.outcomes if o is not None]
        return max(codes, default=0)


def root_of(loaded: LoadedPolicy) -> Path:
    """The plain policy file under a (possibly scenario) policy."""
    return (loaded.scenario.base if loaded.scenario else loaded.path).resolve()


def folder_name(label: str) -> str:
    """A run's label as a folder name: letters, digits, ``.``, ``_`` and ``-`` only."""
    return re.sub(r"[^0-9A-Za-z._-]+", "-", label).strip("-.") or "scenario"


def plan_runs(policy: str | Path, scenarios: Sequence[str | Path], *, overrides: Sequence[str] = (),
              solver: dict[str, Any] | None = None) -> tuple[list[RunSpec], LoadedPolicy]:
    """The base and one run per scenario, each checked now so a typo fails before any solve."""
    base = load_policy(policy, overrides)
    specs = [RunSpec(BASE, str(policy), tuple(overrides), dict(solver or {}), want_sheets=True)]
    seen = {BASE: str(policy)}
    problems = []
    for path in scenarios:
        loaded = load_policy(path, overrides)
        if loaded.scenario is None:
            problems.append(Diagnostic("is a policy, not a scenario file (a scenario names its base policy)",
                                       file=str(path), hint="add 'base: <policy file>' and the changes"))
            continue
        if root_of(loaded) != root_of(base):
            problems.append(Diagnostic(
                f"this scenario is based on {loaded.scenario.base}, not on {root_of(base)}",
                file=str(path), field="base", hint="compare scenarios of the same base policy"))
            continue
        label = folder_name(loaded.scenario.name)
        if label in seen:
            problems.append(Diagnostic(f"two runs are named '{label}' (the other is {seen[label]})",
                                       file=str(path), field="scenario", hint="give each scenario its own name"))
            continue
        seen[label] = str(path)
        specs.append(RunSpec(label, str(path), tuple(overrides), dict(solver or {})))
    if problems:
        raise PolicyError(problems)
    return specs, base


def compare(
    policy: str | Path,
    scenarios: Sequence[str | Path],
    out: str | Path,
    *,
    overrides: Sequence[str] = (),
    solver: dict[str, Any] | None = None,
    workers: int | None = None,
    force: bool = False,
    on_event: Callable[[str, Any], None] | None = None,
) -> Comparison:
    """Solve the base policy and each scenario, write the comparison folder, return it."""
    from kamopt.report.writers import check_output_dir

    out = Path(out)
    check_output_dir(out, force)
    start_workers(workers)
    specs, base = plan_runs(policy, scenarios, overrides=overrides, solver=solver)
    with output_folder(out, force) as folder:
        specs = [RunSpec(s.label, s.policy, s.overrides, s.solver, str(folder.path / s.label), s.want_sheets)
                 for s in specs]
        outcomes, interrupted = run_all(specs, workers=workers, on_event=on_event)
        for spec, o in zip(specs, outcomes):
            if o is None and spec.out is not None:  # stopped mid-write: keep no half plan
                shutil.rmtree(spec.out, ignore_errors=True)
        cmp = Comparison(specs, outcomes, interrupted, *ids_over(outcomes), currency=base.policy.currency)
        write_comparison(cmp, folder)
    return cmp


def comparison_table(cmp: Comparison) -> tuple[list[str], list[list[Any]]]:
    """One row per run: the figures a strategy team compares. A run without a plan
    (infeasible, or none within the time limit) has only its status, and its diagnosis."""
    header = ["scenario", "file", "status", "exit_code", "gap_pct", "objective", "objective_change",
              "objective_change_pct", "annual_cost", "budget_used_pct", "key_accounts"]
    header += [f"tier_{t}" for t in cmp.tier_ids]
    header += ["promoted", "demoted", "hires_total"] + [f"hires[{p}]" for p in cmp.pool_ids]
    header += ["kam_hours_used_pct", "sponsor_slots_used", "sponsor_slots", "sponsor_slots_used_pct"]
    header += [f"support_used_pct[{f}]" for f in cmp.support_ids]
    header += ["accounts_in", "accounts_out", "tier_changed", "verified", "error", "diagnosis"]
    base = cmp.outcomes[0] if cmp.outcomes and cmp.outcomes[0] is not None and cmp.outcomes[0].has_plan else None
    rows = []
    for spec, o in zip(cmp.specs, cmp.outcomes):
        if o is None:
            rows.append([spec.label, spec.policy, "not run (interrupted)"] + [None] * (len(header) - 3))
            continue
        if not o.ok:
            rows.append([spec.label, spec.policy, "error", o.exit_code] + [None] * (len(header) - 6) + [o.error, None])
            continue
        s = o.summary
        if not o.has_plan:  # infeasible, or no plan in time: nothing to count (no "29 demoted"), say why
            cells = {"scenario": spec.label, "file": spec.policy, "status": s["status"], "exit_code": o.exit_code,
                     "diagnosis": DIAGNOSIS_SEPARATOR.join(s.get("diagnosis") or []) or None}
            rows.append([cells.get(name) for name in header])
            continue
        obj = s["objective"]
        base_obj = base.summary["objective"] if base is not None else None
        change = obj - base_obj if obj is not None and base_obj is not None else None
        sponsors = o.use("sponsor_slots")
        entered, left, moved = _moves(base, o) if base is not None and o.has_plan else ([], [], [])
        row = [spec.label, spec.policy, s["status"], o.exit_code,
               None if s["gap"] is None else 100.0 * s["gap"], obj, change,
               100.0 * change / abs(base_obj) if change is not None and base_obj else None,
               s["annual_cost"], o.used_pct("budget"), s["key_accounts"]]
        row += [s["tiers"].get(t, 0) for t in cmp.tier_ids]
        row += [s["changes"]["promote"], s["changes"]["demote"], sum(s["hires"].values())]
        row += [s["hires"].get(p) for p in cmp.pool_ids]
        row += [o.used_pct("kam_hours"), sponsors[0], sponsors[1], o.used_pct("sponsor_slots")]
        row += [o.used_pct("support_hours", f) for f in cmp.support_ids]
        row += [len(entered), len(left), len(moved), s["verified"], None, None]
        rows.append(row)
    return header, rows


def _moves(base: Outcome, o: Outcome) -> tuple[list[str], list[str], list[str]]:
    """Account ids that enter, leave, or change tier against the base, in table order."""
    order = base.order
    entered = [a for a in order if a in o.portfolio and a not in base.portfolio]
    left = [a for a in order if a in base.portfolio and a not in o.portfolio]
    moved = [a for a in order if a in o.portfolio and a in base.portfolio and o.portfolio[a][0] != base.portfolio[a][0]]
    return entered, left, moved


def changes_table(cmp: Comparison) -> tuple[list[str], list[list[Any]]]:
    """Per scenario, every account whose place differs from the base plan."""
    header = ["scenario", "account_id", "name", "change", "base_tier", "scenario_tier"]
    rows: list[list[Any]] = []
    base = cmp.outcomes[0] if cmp.outcomes and cmp.outcomes[0] is not None and cmp.outcomes[0].has_plan else None
    if base is None:
        return header, rows
    for o in cmp.outcomes[1:]:
        if o is None or not o.has_plan:
            continue
        entered, left, moved = _moves(base, o)
        for kind, ids in (("enters", entered), ("leaves", left), ("changes tier", moved)):
            for a in ids:
                b = base.portfolio.get(a)
                n = o.portfolio.get(a)
                rows.append([o.label, a, (n or b)[1], kind, b[0] if b else "none", n[0] if n else "none"])
    return header, rows


def write_comparison(cmp: Comparison, folder) -> None:
    """comparison.csv, changes.csv and plan.xlsx into an output folder."""
    from kamopt.report.xlsx import Sheet, workbook_bytes

    header, rows = comparison_table(cmp)
    folder.csv("comparison.csv", header, rows)
    ch_header, ch_rows = changes_table(cmp)
    folder.csv("changes.csv", ch_header, ch_rows)
    base = cmp.outcomes[0] if cmp.outcomes else None
    sheets = base.workbook_sheets() if base is not None else []
    sheets += [Sheet("Scenarios", header, rows), Sheet("Scenario changes", ch_header, ch_rows)]
    folder.binary("plan.xlsx", workbook_bytes(sheets))
