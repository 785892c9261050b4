"""The report's inputs: the plan folder (and optionally a ``kamopt compare`` and a
``kamopt frontier`` folder) read into :class:`Inputs`, every file checked to be one kamopt
wrote, with a located error otherwise.

:func:`read_inputs` is the entry point; :func:`resolve` finds the plan inside a comparison
folder. Nothing here builds HTML.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from kamopt.errors import DataError, Diagnostic
from kamopt.report.writers import FORMULA_PREFIXES

Row = dict[str, str]

PLAN_TABLES = {
    "portfolio.csv": ("account_id", "name", "decision", "previous_tier", "change"),
    "resources.csv": ("constraint", "family", "resource", "limit", "used", "slack", "unit"),
    "hiring.csv": ("pool", "hires", "hours_capacity", "hours_used"),
    "sponsorship.csv": ("sponsor", "slots", "slots_used", "account_id", "account_name", "tier"),
    "support.csv": ("function", "hours_capacity", "hours_used"),
    "excluded.csv": ("account_id", "name", "reason"),
}
"""The plan files the report reads, with the columns it needs from each."""
NEEDED_WITH_A_PLAN = ("portfolio.csv", "resources.csv")
"""Files every plan folder with a solution holds (infeasible ones hold only the others)."""


@dataclass
class Tables:
    """A folder's CSV tables: rows (dicts of text) and header, by file name."""

    path: Path
    rows: dict[str, list[Row]] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str) -> list[Row]:
        return self.rows.get(name, [])

    def has(self, name: str, column: str) -> bool:
        return column in self.columns.get(name, [])


@dataclass
class Inputs:
    """Everything the report shows."""

    summary: dict[str, Any]
    plan: Tables
    compare: Tables | None = None
    frontier: Tables | None = None
    frontier_info: dict[str, Any] = field(default_factory=dict)


def _unquote(text: str) -> str:
    """Undo the writers' spreadsheet guard: ``'=x`` in a CSV is the text ``=x``."""
    return text[1:] if text[:1] == "'" and text[1:2] and text[1] in FORMULA_PREFIXES else text


def read_csv(path: Path, needed: Sequence[str] = ()) -> tuple[list[str], list[Row]]:
    """A CSV written by kamopt: header and rows as dicts of text; a clear error if it is not one."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = [_unquote(h) for h in next(reader, [])]
            rows = [dict(zip(header, (_unquote(c) for c in line))) for line in reader if line]
    except OSError as err:
        raise DataError(Diagnostic(f"cannot read the file: {err.strerror}", file=str(path))) from None
    except (UnicodeDecodeError, csv.Error) as err:
        raise DataError(Diagnostic(f"is not a readable CSV table ({err})", file=str(path))) from None
    missing = [c for c in needed if c not in header]
    if missing:
        raise DataError(Diagnostic(f"is not a table kamopt wrote: no column {', '.join(missing)}", file=str(path),
                                   hint="was it edited by hand? solve again to rewrite it"))
    return header, rows


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from a file kamopt wrote; located errors otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise DataError(Diagnostic(f"cannot read the file: {err.strerror}", file=str(path))) from None
    except UnicodeDecodeError:
        raise DataError(Diagnostic("is not UTF-8 text", file=str(path))) from None
    except json.JSONDecodeError as err:
        raise DataError(Diagnostic(f"is not valid JSON: {err.msg}", file=str(path), line=err.lineno,
                                   column=err.colno, hint="was it edited by hand? solve again to rewrite it")) from None
    if not isinstance(data, dict):
        raise DataError(Diagnostic("is not a JSON object", file=str(path), found=type(data).__name__))
    return data


def _check_summary(summary: dict[str, Any], path: Path) -> dict[str, Any]:
    """The summary.json fields the report relies on, with their types checked."""
    expected = {"status": str, "tiers": dict, "hires": dict, "changes": dict}
    for key, kind in expected.items():
        if not isinstance(summary.get(key), kind):
            raise DataError(Diagnostic("is not a plan summary kamopt wrote", file=str(path), field=key,
                                       expected=f"a {'text' if kind is str else 'mapping'}",
                                       found="nothing" if key not in summary else repr(summary[key])[:40]))
    numbers = [(key, summary.get(key)) for key in ("objective", "bound", "gap", "annual_cost", "budget",
                                                  "key_accounts", "time_limit", "requested_gap")]
    numbers += [(f"{key}.{k}", v) for key in ("tiers", "hires", "changes") for k, v in summary[key].items()]
    for key, value in numbers:
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise DataError(Diagnostic("is not a number", file=str(path), field=key, found=repr(value)[:40]))
    return summary


def _folder(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError(Diagnostic(f"no such {what} folder", file=str(path)))
    if not path.is_dir():
        raise DataError(Diagnostic(f"is not a folder (expected the {what} folder)", file=str(path)))
    return path


def resolve(plan: Path, compare: Path | None) -> tuple[Path, Path | None]:
    """The plan folder and the comparison folder, when PLAN is a ``kamopt compare`` folder
    (its base run is the plan, and the folder is the comparison unless ``--compare`` says otherwise)."""
    plan = _folder(plan, "plan")
    if (plan / "summary.json").is_file():
        return plan, compare
    if (plan / "comparison.csv").is_file():
        base = plan / "base"
        if not (base / "summary.json").is_file():
            raise DataError(Diagnostic("this comparison folder holds no base plan (base/summary.json)",
                                       file=str(plan)))
        return base, compare if compare is not None else plan
    if (plan / "frontier.csv").is_file():
        raise DataError(Diagnostic("is a frontier folder, which holds no plan", file=str(plan),
                                   hint="give a plan folder as PLAN and this folder as --frontier"))
    raise DataError(Diagnostic("is not a plan folder (it has no summary.json)", file=str(plan),
                               hint="PLAN is a folder written by `kamopt solve --out` or `kamopt compare --out`"))


def read_inputs(plan: str | Path, compare: str | Path | None = None,
                frontier: str | Path | None = None) -> Inputs:
    """Read and check every folder the report shows (see :func:`resolve`)."""
    plan_dir, compare_dir = resolve(Path(plan), None if compare is None else Path(compare))
    summary = _check_summary(read_json(plan_dir / "summary.json"), plan_dir / "summary.json")
    tables = Tables(plan_dir)
    for name, needed in PLAN_TABLES.items():
        path = plan_dir / name
        if path.is_file():
            tables.columns[name], tables.rows[name] = read_csv(path, needed)
        elif name in NEEDED_WITH_A_PLAN and summary.get("objective") is not None:
            raise DataError(Diagnostic(f"the plan folder has no {name}", file=str(plan_dir),
                                       hint="it may be incomplete: solve again to rewrite it"))
    inputs = Inputs(summary, tables)
    if compare_dir is not None:
        folder = _folder(compare_dir, "comparison")
        if not (folder / "comparison.csv").is_file():
            raise DataError(Diagnostic("is not a comparison folder (it has no comparison.csv)", file=str(folder),
                                       hint="--compare takes a folder written by `kamopt compare --out`"))
        inputs.compare = _tables(folder, {"comparison.csv": ("scenario", "status", "objective"),
                                          "changes.csv": ("scenario", "account_id", "change")})
    if frontier is not None:
        folder = _folder(Path(frontier), "frontier")
        if not (folder / "frontier.csv").is_file():
            raise DataError(Diagnostic("is not a frontier folder (it has no frontier.csv)", file=str(folder),
                                       hint="--frontier takes a folder written by `kamopt frontier --out`"))
        inputs.frontier = _tables(folder, {"frontier.csv": ("value", "status", "objective", "marginal_value")})
        if (folder / "frontier.json").is_file():
            inputs.frontier_info = read_json(folder / "frontier.json")
    return inputs


def _tables(folder: Path, wanted: dict[str, Sequence[str]]) -> Tables:
    tables = Tables(folder)
    for name, needed in wanted.items():
        if (folder / name).is_file():
            tables.columns[name], tables.rows[name] = read_csv(folder / name, needed)
    return tables
