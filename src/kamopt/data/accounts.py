"""Account, KAM and fit tables as typed fields, mapped by the policy's ``data`` section.

Columns become *fields*: the policy's ``data.columns`` maps a field name to a header;
unmapped headers are available under a normalised name (``Annual Revenue`` ->
``annual_revenue``). A field is a number when at least half of its non-blank cells are
numbers (its bad cells are then reported, row by row, the moment an expression uses it),
otherwise text. Numbers are parsed lazily, only for fields the policy uses.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kamopt.data.table import Table, TableOptions, read_table
from kamopt.errors import DataError, Diagnostic, PolicyError, did_you_mean, one_of
from kamopt.policy.expr import Kind
from kamopt.policy.loader import LoadedPolicy

MAX_TABLE_BYTES = 2_000_000_000
"""Largest data table read (2 GB)."""

TEXT_FIELDS = ("id", "name", "current_tier", "current_sponsor")
"""Fields with a meaning to kamopt; always text."""


def normalise(header: str) -> str:
    """A header as a field name: lower case, runs of other characters as ``_``."""
    name = re.sub(r"[^0-9a-z_]+", "_", header.strip().lower()).strip("_")
    if not name:
        return "_"
    return "_" + name if name[0].isdigit() else name


@dataclass
class Fields:
    """A table's columns as named, typed fields; numbers parsed on first use."""

    table: Table
    column_of: dict[str, str]
    """field -> column header."""
    kinds: dict[str, Kind]
    defaults: dict[str, float | str] = field(default_factory=dict)
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.table)

    def array(self, name: str) -> np.ndarray:
        """The field as float64 (number) or fixed-width unicode (text) array.

        Unicode arrays (not object arrays) let ``segment == 'Enterprise'`` and ``in [...]``
        compare in C: about ten times faster on large tables.
        """
        if name not in self._cache:
            column = self.column_of[name]
            default = self.defaults.get(name)
            if self.kinds[name] == "number":
                values = self.table.numbers(column, required=default is None)
                if default is not None:
                    values = np.where(np.isnan(values), float(default), values)
            else:
                texts = self.table.texts(column)
                if default is not None:
                    texts = [t if t != "" else str(default) for t in texts]
                values = np.array(texts, dtype=str)
            self._cache[name] = values
        return self._cache[name]

    def replace(self, name: str, values: np.ndarray) -> None:
        """Use ``values`` for the field from now on (a what-if adjustment)."""
        self._cache[name] = values

    def columns(self, names) -> dict[str, np.ndarray]:
        return {n: self.array(n) for n in names}

    def texts(self, name: str) -> list[str]:
        return self.table.texts(self.column_of[name])


@dataclass
class AccountData:
    """Everything read from the policy's data tables."""

    accounts: Fields
    ids: tuple[str, ...]
    names: tuple[str, ...]
    kams: Table | None = None
    kam_fit: Table | None = None
    sha256: str = ""
    """Fingerprint of every data file read, in order."""
    files: tuple[str, ...] = ()
    adjustments: tuple[str, ...] = ()
    """The policy's ``data.adjust`` changes as applied, with the number of accounts each changed."""

    def label(self, row: int) -> str:
        """``A-0042 (line 44 of accounts.csv)``: an account as users should see it."""
        t = self.accounts.table
        return f"{self.ids[row]} ({t.row_label(row)} of {Path(t.path).name})"


def table_options(loaded: LoadedPolicy) -> TableOptions:
    spec = loaded.policy.data
    return TableOptions(
        delimiter=None if spec.delimiter == "auto" else ("\t" if spec.delimiter == "tab" else spec.delimiter),
        decimal=spec.decimal,
        thousands=spec.thousands,
        encoding=spec.encoding,
        sheet=spec.sheet,
    )


def _hash_into(path: Path, *digests: Any) -> None:
    """Feed the file's bytes to every digest."""
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            for d in digests:
                d.update(chunk)


def load_data(loaded: LoadedPolicy) -> AccountData:
    """Read the account table (and the KAM and fit tables) named by the policy."""
    spec = loaded.policy.data
    options = table_options(loaded)
    digest = hashlib.sha256()
    files = []

    def read(key: str, relative: str) -> Table:
        nonlocal digest
        path = loaded.resolve(relative)
        if not path.exists():
            raise DataError(
                loaded.error(("data", key), f"the {key} table does not exist: {path}")
            )
        # The bytes' digest before the table: a worker process that read the same bytes
        # before reuses its table (kamopt.data.table.keep_tables). A file read_table would
        # refuse is left to it: it says what is wrong.
        fingerprint = None
        if path.is_file() and path.stat().st_size <= MAX_TABLE_BYTES:
            own, before = hashlib.sha256(), digest.copy()
            try:
                _hash_into(path, own, digest)
                fingerprint = own.hexdigest()
            except OSError:  # read_table fails too, and says why
                digest = before
        table = read_table(path, options, max_bytes=MAX_TABLE_BYTES, fingerprint=fingerprint)
        if fingerprint is None:
            _hash_into(path, digest)
        files.append(str(path))
        return table

    table = read("accounts", spec.accounts)
    fields = map_fields(loaded, table)
    ids = tuple(table.unique_ids(fields.column_of["id"]))
    names = tuple(fields.texts("name")) if "name" in fields.column_of else ids
    kams = read("kams", spec.kams) if spec.kams else None
    fit = read("kam_fit", spec.kam_fit) if spec.kam_fit else None
    return AccountData(
        accounts=fields, ids=ids, names=names, kams=kams, kam_fit=fit,
        sha256=digest.hexdigest(), files=tuple(files), adjustments=adjust_fields(loaded, fields),
    )


def adjust_fields(loaded: LoadedPolicy, fields: Fields) -> tuple[str, ...]:
    """Apply ``data.adjust`` in order to the fields (what-if data changes); returns the log.

    Each change replaces the field's values for every later use (expressions, scores,
    outputs), so a later ``where`` sees the earlier changes. The files are not touched.
    """
    from kamopt.errors import ExpressionError
    from kamopt.policy.expr import caret, compile_expression

    log = []
    n = len(fields)
    for i, adj in enumerate(loaded.policy.data.adjust):
        path = ("data", "adjust", i)
        if adj.field not in fields.column_of:
            raise PolicyError(loaded.error(
                path + ("field",), f"no field '{adj.field}' in the account table",
                expected=one_of(fields.column_of), hint=did_you_mean(adj.field, fields.column_of),
            ))
        kind = fields.kinds[adj.field]
        if kind == "text" and adj.set is None:
            raise PolicyError(loaded.error(
                path + ("field",), f"'{adj.field}' is a text field: it can be set, not scaled or added to",
                expected="set: <text>", found="scale" if adj.scale is not None else "add",
            ))
        if kind == "number" and isinstance(adj.set, str):
            raise PolicyError(loaded.error(path + ("set",), f"'{adj.field}' is a number field",
                                           expected="a number", found=f"text '{adj.set}'"))
        try:
            where = compile_expression(adj.where, fields.kinds, "bool")
            mask = where.evaluate(fields.columns(sorted(where.names)), n)
        except ExpressionError as err:
            d = err.diagnostics[0]
            message = d.message
            if d.column is not None:
                message += "\n    " + caret(adj.where, d.column).replace("\n", "\n    ")
            raise PolicyError(loaded.error(path + ("where",), message, expected=d.expected, found=d.found)) from None
        values = fields.array(adj.field).copy()
        if adj.scale is not None:
            values[mask] = values[mask] * adj.scale
        elif adj.add is not None:
            values[mask] = values[mask] + adj.add
        elif kind == "number":
            values[mask] = float(adj.set)
        else:
            values = np.where(mask, str(adj.set), values)
        fields.replace(adj.field, values)
        count = int(mask.sum())
        reason = f": {adj.reason}" if adj.reason else ""
        log.append(f"data.adjust[{i}]: {adj.describe()} ({count} account{'s' * (count != 1)}){reason}")
    return tuple(log)


def map_fields(loaded: LoadedPolicy, table: Table) -> Fields:
    """Apply ``data.columns`` and infer each field's kind."""
    spec = loaded.policy.data
    headers = list(table.columns)
    column_of: dict[str, str] = {}
    problems: list[Diagnostic] = []
    mapped_headers = set()
    for fld, header in spec.columns.items():
        if header not in table.columns:
            problems.append(
                loaded.error(
                    ("data", "columns", fld),
                    f"column '{header}' is not in {Path(table.path).name}",
                    expected=one_of(headers), hint=did_you_mean(header, headers),
                )
            )
            continue
        column_of[fld] = header
        mapped_headers.add(header)
    for header in headers:
        if header in mapped_headers:
            continue
        name = normalise(header)
        if name in column_of:
            if name in spec.columns:
                continue  # a mapped field shadows an unmapped header of the same name
            problems.append(
                Diagnostic(
                    f"columns '{column_of[name]}' and '{header}' both become field '{name}'",
                    file=table.path, line=1, hint="map one of them in data.columns",
                )
            )
            continue
        column_of[name] = header
    if "id" not in column_of:
        candidates = [h for h in headers if "id" in normalise(h).split("_")]
        problems.append(
            Diagnostic(
                "no account id column",
                file=table.path, line=1, field="id",
                expected="a column 'account_id', or data.columns.id naming yours",
                found=f"columns {', '.join(headers)}",
                hint=f"did you mean data.columns: {{id: '{candidates[0]}'}}?" if candidates else None,
            )
        )
    if problems:
        raise (PolicyError if any(d.file == str(loaded.path) for d in problems) else DataError)(problems)
    kinds: dict[str, Kind] = {}
    for name, header in column_of.items():
        if name in TEXT_FIELDS:
            kinds[name] = "text"
        else:
            share = table.numeric_share(header)
            default = spec.defaults.get(name)
            kinds[name] = "number" if share >= 0.5 or (
                share == 0 and isinstance(default, (int, float)) and not _has_text(table, header)
            ) else "text"
    for name in spec.defaults:
        if name not in column_of:
            raise PolicyError(
                loaded.error(
                    ("data", "defaults", name), f"no field '{name}' in the account table",
                    expected=one_of(column_of), hint=did_you_mean(name, column_of),
                )
            )
    return Fields(table=table, column_of=column_of, kinds=kinds, defaults=dict(spec.defaults))


def _has_text(table: Table, header: str) -> bool:
    return any(t != "" for t in table.texts(header))
