"""Scenario files: a what-if as a short list of changes laid over a base policy.

A scenario file names its base policy and says what changes, nothing else::

    scenario: budget-cut                 # name shown in outputs (default: the file name)
    description: Finance asks for 20 % less.
    base: ../policies/default.yaml       # relative to this file; may itself be a scenario
    set:                                 # new values for existing keys
      resources.kam_pools.Iberia.hiring.max_fte: 0
    scale:                               # multiply numbers (or per-account expressions)
      resources.budget: 0.8
    add:                                 # new ids in a collection, or items appended to a list
      resources.sponsors:
        Elena Martín: {title: CHRO, slots: 2}
    remove:                              # ids or keys to delete (a key goes back to its default)
      - resources.sponsors.Ana Ruiz
    adjust:                              # changes to the account data (appended to data.adjust)
      - {field: expansion_potential, where: "segment == 'SMB'", scale: 1.2}

Rules, stated once (docs in scenarios/README.md):

* **Deep merge.** Keys under ``set`` and ``scale`` may be dotted paths or nested
  mappings; either way each leaf is one change and everything else in the base stays.
  A list is a single value: ``set`` replaces it whole, ``add`` appends to it.
* **Precedence.** base policy < scenario < ``--set`` on the command line. A scenario
  based on another scenario applies after it.
* **No silent mistakes.** Every path is checked against the schema; an id that does not
  exist is an error (new ids go under ``add``); touching the same key twice in one
  scenario (also through a dotted and a nested spelling, or a key and its parent) is an
  error naming both lines.
* Changes apply in the order remove, add, set, scale, adjust; as no key is touched twice,
  the order never changes the result.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kamopt.errors import Diagnostic, PolicyError, did_you_mean, one_of
from kamopt.policy.paths import Path_, Position, add_items, dotted, remove_item, scale_value, set_value, split_key

SCENARIO_KEYS = ("scenario", "description", "base", "set", "scale", "add", "remove", "adjust")


@dataclass(frozen=True)
class ScenarioInfo:
    """Which scenario a loaded policy is."""

    name: str
    description: str
    path: Path
    """The scenario file."""
    base: Path
    """The plain policy file at the root of the chain of bases."""


def is_scenario(data: Any) -> bool:
    """A scenario file is a mapping with a ``base`` key (policies have none)."""
    return isinstance(data, dict) and "base" in data


def base_path(scn: dict, positions: dict[Path_, Position], file: Path) -> Path:
    """The base policy a scenario names, checked: known keys only, base a file that exists."""
    problems = []
    for key in scn:
        if key not in SCENARIO_KEYS:
            problems.append(_diag(positions, (key,), str(file), f"unknown key '{key}' in a scenario file",
                                  hint=did_you_mean(str(key), SCENARIO_KEYS), expected=one_of(SCENARIO_KEYS)))
    for key in ("scenario", "description", "base"):
        if key in scn and not isinstance(scn[key], str):
            problems.append(_diag(positions, (key,), str(file), f"'{key}' must be text", found=_kind(scn[key])))
    if problems:
        raise PolicyError(problems)
    base = Path(os.path.normpath(file.parent / scn["base"]))
    if not base.is_file():
        raise PolicyError(_diag(positions, ("base",), str(file),
                                f"the base policy does not exist: {base}" if not base.exists()
                                else f"the base is not a file: {base}",
                                expected="a path to a policy file, relative to this scenario"))
    return base


def overlay(data: dict, positions: dict[Path_, Position], scn: dict, scn_positions: dict[Path_, Position],
            file: str) -> list[str]:
    """Apply a scenario's changes to the base policy's data in place; returns the change log."""
    sets = _leaves(scn, scn_positions, "set", file)
    scales = _leaves(scn, scn_positions, "scale", file)
    adds = _collections(scn, scn_positions, file)
    removes = _removals(scn, scn_positions, file)
    adjust = scn.get("adjust")
    if adjust is not None and not isinstance(adjust, list):
        raise PolicyError(_diag(scn_positions, ("adjust",), file, "'adjust' must be a list of data changes",
                                found=_kind(adjust)))
    touched = [(tuple(c.parts), c.origin) for c in removes + sets + scales]
    for c in adds:
        keys = list(c.value) if isinstance(c.value, dict) else []
        touched.extend((tuple(c.parts) + (k,), c.origin) for k in keys)
    _no_overlap(touched)
    log: list[str] = []
    for c in sorted(removes, key=_removal_order):
        log.append(remove_item(data, positions, c.parts, c.origin))
    for c in adds:
        log.extend(add_items(data, positions, c.parts, c.value, c.origin, c.value_positions(scn_positions)))
    for c in sets:
        log.append(set_value(data, positions, c.parts, c.value, c.origin, c.value_positions(scn_positions)))
    for c in scales:
        if isinstance(c.value, bool) or not isinstance(c.value, (int, float)):
            raise PolicyError(Diagnostic("a scale factor must be a number", file=c.origin[0], line=c.origin[1],
                                         column=c.origin[2], found=_kind(c.value)))
        log.append(scale_value(data, positions, c.parts, c.value, c.origin))
    if adjust:
        here = Change(["data", "adjust"], adjust, scn_positions.get(("adjust",), (file, None, None)), ("adjust",))
        # not logged here: the data log says the same with the number of accounts changed
        add_items(data, positions, here.parts, adjust, here.origin, here.value_positions(scn_positions))
    return log


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class Change:
    """One change of a scenario: a policy key path, the new value, and where it was written."""

    parts: list[Any]
    value: Any
    origin: Position
    scn_path: Path_
    """Where the value sits in the scenario file's data."""

    def value_positions(self, scn_positions: dict[Path_, Position]) -> dict[Path_, Position]:
        """The scenario's positions under the value, re-rooted at the value."""
        n = len(self.scn_path)
        return {p[n:]: pos for p, pos in scn_positions.items() if p[:n] == self.scn_path}


def _section(scn: dict, positions, key: str, file: str) -> dict:
    value = scn.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PolicyError(_diag(positions, (key,), file, f"'{key}' must be a mapping of key paths",
                                found=_kind(value)))
    return value


def _steps(key: Any, here: Path_, positions, file: str) -> list[Any]:
    try:
        return split_key(str(key))
    except ValueError as err:
        raise PolicyError(_diag(positions, here, file, str(err))) from None


def _leaves(scn: dict, positions, key: str, file: str) -> list[Change]:
    """``set``/``scale`` flattened to one change per leaf; dotted keys split at the top level."""
    out: list[Change] = []

    def walk(mapping: dict, scn_path: Path_, parts: list[Any]) -> None:
        for k, v in mapping.items():
            here = scn_path + (k,)
            steps = _steps(k, here, positions, file) if scn_path == (key,) else [k]
            if isinstance(v, dict) and v:
                walk(v, here, parts + steps)
            else:
                out.append(Change(parts + steps, v, positions.get(here, (file, None, None)), here))

    walk(_section(scn, positions, key, file), (key,), [])
    return out


def _collections(scn: dict, positions, file: str) -> list[Change]:
    """``add``: one change per collection path (its value holds the new entries)."""
    return [
        Change(_steps(k, ("add", k), positions, file), v, positions.get(("add", k), (file, None, None)), ("add", k))
        for k, v in _section(scn, positions, "add", file).items()
    ]


def _removals(scn: dict, positions, file: str) -> list[Change]:
    value = scn.get("remove")
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise PolicyError(_diag(positions, ("remove",), file, "'remove' must be a list of key paths",
                                expected="e.g. [resources.sponsors.Ana Ruiz]"))
    return [Change(_steps(v, ("remove", i), positions, file), None,
                   positions.get(("remove", i), (file, None, None)), ("remove", i))
            for i, v in enumerate(value)]


def _removal_order(change: Change) -> tuple:
    """Removals from the same list go from the highest index down, so indices stay the base's."""
    parts = change.parts
    last = parts[-1]
    return ([str(p) for p in parts[:-1]], -int(last) if str(last).isdigit() else 0, str(last))


def _no_overlap(touched: list[tuple[tuple[str, ...], Position]]) -> None:
    """No key is changed twice, and no key together with a key inside it."""
    seen = sorted(touched, key=lambda t: [str(p) for p in t[0]])
    problems = []
    for (a, pa), (b, pb) in zip(seen, seen[1:]):
        if b[: len(a)] == a:
            what = "twice" if a == b else f"both as {dotted(a)} and inside it ({dotted(b)})"
            first = f"line {pa[1]}" if pa[1] else "another change"
            problems.append(Diagnostic(f"{dotted(b)} is changed {what} (first at {first})",
                                       file=pb[0], line=pb[1], column=pb[2]))
    if problems:
        raise PolicyError(problems)


def _diag(positions, path: Path_, file: str, message: str, **details: Any) -> Diagnostic:
    pos = positions.get(path) or positions.get(path[:1]) or (file, None, None)
    # a place in the scenario file: its keys as written there (a dotted key stays one text)
    where = ".".join(str(p) for p in path)
    return Diagnostic(message, file=pos[0], line=pos[1], column=pos[2], field=where, **details)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)
