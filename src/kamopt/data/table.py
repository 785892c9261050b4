"""Read one data table (accounts, KAMs, fit table, a hand-made plan) from CSV or XLSX.

:func:`read_table` returns a column-oriented :class:`Table`: every cell is kept as stripped
text, and each data row remembers the file line (CSV) or sheet row (XLSX) where it starts,
so every later complaint can point at the place to fix. Numbers are parsed on demand with
:meth:`Table.numbers`, following the decimal / thousands conventions in :class:`TableOptions`.
The module knows nothing about policies; callers pass the options.

Every failure is a :class:`~kamopt.errors.DataError` naming the file and, where it applies,
the line (or sheet row) and the column. CSV files are read as a stream with the ``csv``
module and only strings are stored, so large tables load in modest memory.
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import functools
import io
import math
import os
import re
import stat
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np

from kamopt.errors import DataError, Diagnostic, did_you_mean, one_of, short

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
DELIMITERS = (",", ";", "\t")  # sniffing candidates, in order of preference
THOUSANDS = (",", ".", " ", "'")
SHOW = 10  # how many bad rows an error lists before "and N more"
SHARED_TEXTS = 2048  # a column with more distinct texts than this is not deduplicated
_SNIFF_LINES = 50


@dataclass(frozen=True)
class TableOptions:
    """How to read a table; normally filled from the policy's ``data`` section."""

    delimiter: str | None = None  # None = sniff among ',', ';', '\t' (also accept "tab" -> '\t')
    decimal: str = "."  # "." or ","
    thousands: str | None = None  # None, ",", ".", " " or "'": stripped between digit groups
    encoding: str = "utf-8"  # a UTF-8 BOM is accepted and stripped
    sheet: str | None = None  # XLSX sheet name; None = first sheet


@dataclass(frozen=True)
class Table:
    """One table: header names in file order and the stripped text of every cell."""

    path: str
    columns: tuple[str, ...]
    cells: dict[str, list[str]]
    lines: tuple[int, ...]
    options: TableOptions
    _parsed: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def is_xlsx(self) -> bool:
        return _suffix(self.path) in XLSX_SUFFIXES

    def row_label(self, i: int) -> str:
        """Where data row ``i`` (0-based) is: ``line 17`` (CSV) or ``row 17`` (XLSX)."""
        return f"{'row' if self.is_xlsx else 'line'} {self.lines[i]}"

    def _in_sheet(self) -> str:
        return f" in sheet '{self.options.sheet}'" if self.is_xlsx else ""

    def require(self, *names: str) -> None:
        """Raise one DataError listing every column in ``names`` that the table lacks."""
        missing = [n for n in names if n not in self.cells]
        if not missing:
            return
        present = ", ".join(repr(c) for c in self.columns[:30])
        if len(self.columns) > 30:
            present += f" and {len(self.columns) - 30} more"
        one = len(self.columns) == 1 and any(d in self.columns[0] for d in DELIMITERS)
        diags = [
            Diagnostic(
                f"missing column {short(n)}{self._in_sheet()}",
                file=self.path, field=n, expected=f"a column named {short(n)}",
                found=f"columns {present}",
                hint=did_you_mean(n, self.columns) or (
                    "the header was read as a single column; set data.delimiter in the policy"
                    if one else None),
            )
            for n in missing
        ]
        raise DataError(diags)

    def texts(self, column: str) -> list[str]:
        """The column's cells as text ("" for blank)."""
        self.require(column)
        return list(self.cells[column])

    def _parse(self, column: str) -> tuple[np.ndarray, list[int]]:
        """Cached: values (NaN for blank and bad cells) and the indices of non-numeric cells."""
        if column not in self._parsed:
            self.require(column)
            at_once = _all_numbers(self.cells[column], self.options.decimal, self.options.thousands)
            if at_once is not None:
                self._parsed[column] = (at_once, [])
                return self._parsed[column]
            # Each distinct text is parsed once: text columns (segments, regions, yes/no),
            # which type detection also parses, hold few of them.
            cells = self.cells[column]
            parse = _number_parser(self.options.decimal, self.options.thousands)
            value_of = {text: parse(text) if text else math.nan for text in dict.fromkeys(cells)}
            failed = {text for text, v in value_of.items() if v is None}
            value_of.update(dict.fromkeys(failed, math.nan))
            values = np.fromiter(map(value_of.__getitem__, cells), dtype=np.float64, count=len(cells))
            bad = [i for i, text in enumerate(cells) if text in failed] if failed else []
            self._parsed[column] = (values, bad)
        return self._parsed[column]

    def numbers(self, column: str, *, required: bool = True,
                min_value: float | None = None) -> np.ndarray:
        """The column as a float64 array (a fresh copy); blank cells are NaN when not required.

        Raises one DataError with a diagnostic per kind of problem (non-numeric cells, blank
        cells, values below ``min_value``), each listing the first rows and how many more.
        """
        values, bad = self._parse(column)
        cells = self.cells[column]
        diags = []
        if bad:
            texts = [cells[i] for i in bad]
            hints = [h for h in (_percent_hint(texts, self.options),
                                 _convention_hint(texts, self.options)) if h]
            expected = "a number"
            if len(hints) > 1 or (hints and "data." in hints[0]):
                thousands = self.options.thousands
                sep = f"thousands {thousands!r}" if thousands else "no thousands separator"
                expected += f" with decimal {self.options.decimal!r} and {sep}"
            diags.append(self._rows_diag(column, bad, "not a number", expected=expected,
                                         hint="; ".join(hints) or None))
        if required and "" in cells:
            blank = [i for i, text in enumerate(cells) if not text]
            if blank:
                diags.append(self._rows_diag(column, blank, "blank", expected="a number",
                                             found="a blank cell", values=False))
        if min_value is not None:
            low = np.flatnonzero(values < min_value).tolist()
            if low:
                diags.append(self._rows_diag(column, low, f"below the minimum {min_value:g}",
                                             expected=f"a number >= {min_value:g}"))
        if diags:
            raise DataError(diags)
        return values.copy()

    def numeric_share(self, column: str) -> float:
        """Share of non-blank cells that parse as numbers (0.0 when all are blank)."""
        values, bad = self._parse(column)
        cells = self.cells[column]
        filled = len(cells) - cells.count("")
        return (filled - len(bad)) / filled if filled else 0.0

    def unique_ids(self, column: str) -> list[str]:
        """The column, checked to have no blank and no duplicate values."""
        self.require(column)
        cells = self.cells[column]
        first: dict[str, int] = {}
        dups: dict[str, list[int]] = {}
        for i, text in enumerate(cells):
            j = first.setdefault(text, i)
            if j != i and text:
                dups.setdefault(text, [j]).append(i)
        diags = []
        blank = [i for i, text in enumerate(cells) if not text]
        if blank:
            diags.append(self._rows_diag(column, blank, "blank", expected="an id",
                                         found="a blank cell", values=False))
        for text, rows in list(dups.items())[:SHOW]:
            labels = [self.row_label(i) for i in rows]
            diags.append(Diagnostic(
                f"duplicate id {short(text)}{self._in_sheet()} on "
                f"{', '.join(labels[:-1])} and {labels[-1]}",
                file=self.path, line=self.lines[rows[1]], field=column,
                expected="each id once", found=f"{short(text)} {len(rows)} times"))
        if len(dups) > SHOW:
            diags.append(Diagnostic(f"and {len(dups) - SHOW} more duplicate ids",
                                    file=self.path, field=column))
        if diags:
            raise DataError(diags)
        return list(cells)

    def _rows_diag(self, column: str, rows: list[int], what: str, *, expected: str,
                   found: str | None = None, hint: str | None = None,
                   values: bool = True) -> Diagnostic:
        cells = self.cells[column]
        listed = ", ".join(self.row_label(i) + (f" ({short(cells[i])})" if values else "")
                           for i in rows[:SHOW])
        more = f" and {len(rows) - SHOW} more" if len(rows) > SHOW else ""
        noun = "cell is" if len(rows) == 1 else "cells are"
        return Diagnostic(
            f"{len(rows)} {noun} {what}{self._in_sheet()}: {listed}{more}",
            file=self.path, line=self.lines[rows[0]], field=column, expected=expected,
            found=found if found is not None else short(cells[rows[0]]), hint=hint)


# --------------------------------------------------------------------------- numbers

def _separators(thousands: str | None) -> str:
    return "" if thousands is None else (" \u00a0\u202f" if thousands == " " else thousands)


def _number_pattern(decimal: str, thousands: str | None) -> str:
    """A number as the table's settings write it (no blanks around it)."""
    seps = _separators(thousands)
    whole = "[0-9]+"
    if seps:
        whole = f"(?:[0-9]{{1,3}}(?:[{re.escape(seps)}][0-9]{{3}})+|[0-9]+)"
    dec = re.escape(decimal)
    return rf"[+-]?(?:{whole}(?:{dec}[0-9]*)?|{dec}[0-9]+)(?:[eE][+-]?[0-9]+)?"


def _to_python_float(decimal: str, thousands: str | None) -> dict[int, str | None]:
    """str.translate table that turns a matched number into Python's float syntax."""
    table: dict[int, str | None] = {ord(c): None for c in _separators(thousands)}
    if decimal == ",":
        table[ord(",")] = "."
    return table


@functools.lru_cache(maxsize=None)
def _foreign_character(decimal: str) -> Callable[[str], Any]:
    """search for a character outside digits, signs, exponent, ``decimal`` and ASCII blanks."""
    return re.compile(rf"[^0-9eE+\-{re.escape(decimal)} \t\n\r\f\v]").search


def _all_numbers(cells: Sequence[str], decimal: str, thousands: str | None) -> np.ndarray | None:
    """The column's values at C speed when every cell is blank (NaN) or a finite number
    written without thousands separators (most numeric columns); None sends the caller
    cell by cell, which also finds the bad cells. Gives exactly what the cell parser
    would: on these characters Python's float() accepts the same texts as the number
    pattern (and strips the same blanks), and any other character (a separator, a
    letter, an underscore float() would take) falls back."""
    if not cells or _foreign_character(decimal)("".join(cells)):
        return None
    texts = [c.replace(",", ".") if c else "nan" for c in cells] if decimal == "," else [c or "nan" for c in cells]
    try:
        values = np.fromiter(map(float, texts), dtype=np.float64, count=len(texts))
    except ValueError:  # a text such as "1e", "+-1" or only blanks
        return None
    finite = np.isfinite(values)
    if "" in cells:
        finite[[i for i, c in enumerate(cells) if not c]] = True
    return values if finite.all() else None


@functools.lru_cache(maxsize=None)
def _number_parser(decimal: str, thousands: str | None) -> Callable[[str], float | None]:
    """A function text -> float, or None when the text is not a finite number."""
    match = re.compile(_number_pattern(decimal, thousands)).fullmatch
    table = _to_python_float(decimal, thousands)

    def parse(text: str) -> float | None:
        text = text.strip()
        if not match(text):
            return None
        value = float(text.translate(table) if table else text)
        return value if math.isfinite(value) else None

    return parse


def _percent_hint(texts: list[str], options: TableOptions) -> str | None:
    parse = _number_parser(options.decimal, options.thousands)
    for text in texts[:100]:
        if text.endswith("%") and (value := parse(text[:-1])) is not None:
            return f"write percentages as fractions, e.g. {value / 100:g} for {text}"
    return None


def _convention_hint(texts: list[str], options: TableOptions) -> str | None:
    """``set data.decimal: ',' in the policy`` when a bad cell parses under other settings."""
    current = (options.decimal, options.thousands)
    for text in texts[:100]:
        found: list[tuple[int, str]] = []
        for dec in (options.decimal, "," if options.decimal == "." else "."):
            for sep in (options.thousands, None, *THOUSANDS):
                if sep == dec or (dec, sep) == current or _number_parser(dec, sep)(text) is None:
                    continue
                changes = []
                if dec != options.decimal:
                    changes.append(f"data.decimal: {dec!r}")
                if sep != options.thousands:
                    changes.append(f"data.thousands: {'null' if sep is None else repr(sep)}")
                found.append((len(changes), " and ".join(changes)))
                break
        if found:
            fewest = min(n for n, _ in found)
            return f"set {' or '.join(s for n, s in found if n == fewest)} in the policy"
    return None


# --------------------------------------------------------------------------- reading

def _suffix(path: str) -> str:
    return os.path.splitext(path)[1].lower()


def _fail(file: str, message: str, **where) -> DataError:
    return DataError(Diagnostic(message, file=file, **where))


def _delim_name(d: str) -> str:
    return "tab" if d == "\t" else repr(d)


def _checked(options: TableOptions, shown: str) -> TableOptions:
    """Validated options with the delimiter spelled out ("tab" -> '\\t')."""
    delimiter = options.delimiter
    if delimiter is not None and delimiter.lower() in ("tab", "\\t"):
        delimiter = "\t"
    if delimiter is not None and (len(delimiter) != 1 or delimiter in "\"\r\n"):
        raise _fail(shown, "unusable delimiter", field="data.delimiter",
                    expected="one character such as ',', ';' or 'tab'", found=short(delimiter))
    if options.decimal not in (".", ","):
        raise _fail(shown, "unusable decimal mark", field="data.decimal",
                    expected="'.' or ','", found=short(options.decimal))
    if options.thousands is not None and options.thousands not in THOUSANDS:
        raise _fail(shown, "unusable thousands separator", field="data.thousands",
                    expected="null, ',', '.', ' ' or \"'\"", found=short(options.thousands))
    if options.thousands == options.decimal:
        raise _fail(shown, "the thousands separator equals the decimal mark",
                    field="data.thousands", expected=f"something other than {options.decimal!r}",
                    found=short(options.thousands))
    try:
        codecs.lookup(options.encoding)
    except LookupError:
        raise _fail(shown, "unknown encoding", field="data.encoding",
                    expected="an encoding such as utf-8, latin-1 or cp1252",
                    found=short(options.encoding)) from None
    return replace(options, delimiter=delimiter)


KEEP_TABLES = 4
"""How many tables :func:`keep_tables` keeps (the most recently read)."""

_kept: dict[tuple[str, TableOptions, str], Table] | None = None


def keep_tables(on: bool = True) -> bool:
    """From now on (``on``), keep the last :data:`KEEP_TABLES` tables read with a
    ``fingerprint`` in this process: reading the same bytes again, by the same path and
    with the same options, gives the Table read before (its cells are never changed; the
    numbers parsed from it are kept too). ``on=False`` forgets them. Returns whether they
    were kept before. For compare and frontier runs, which read the same files again and
    again (a run at 5,000 accounts ~0.06 s shorter, at 20,000 ~0.2 s). Off by default: a
    notebook that reads a table once should not keep it alive."""
    global _kept
    before = _kept is not None
    if not on:
        _kept = None
    elif _kept is None:
        _kept = {}
    return before


def read_table(path: str | os.PathLike, options: TableOptions = TableOptions(), *,
               max_bytes: int | None = None, fingerprint: str | None = None) -> Table:
    """Read a CSV (.csv, .txt, .tsv) or XLSX (.xlsx, .xlsm) table; see the module docstring.

    The returned ``Table.options`` holds the delimiter actually used (CSV) or the sheet
    actually read (XLSX). ``fingerprint``: a digest of the file's bytes, read by the
    caller; with it, a table kept by :func:`keep_tables` is reused.
    """
    kept = _kept
    key = (os.fsdecode(os.fspath(path)), options, fingerprint) if fingerprint else None
    if kept is not None and key is not None and key in kept:
        kept[key] = kept.pop(key)  # the most recently used last
        return kept[key]
    table = _read_table(path, options, max_bytes)
    if kept is not None and key is not None:
        kept[key] = table
        while len(kept) > KEEP_TABLES:
            del kept[next(iter(kept))]
    return table


def _read_table(path: str | os.PathLike, options: TableOptions, max_bytes: int | None) -> Table:
    shown = os.fsdecode(os.fspath(path))
    options = _checked(options, shown)
    try:
        info = os.stat(shown)
    except FileNotFoundError:
        folder, name = os.path.split(shown)
        try:
            hint = did_you_mean(name, os.listdir(folder or "."))
        except OSError:
            hint = None
        raise _fail(shown, "file not found", hint=hint) from None
    except (OSError, ValueError) as exc:
        raise _fail(shown, f"cannot open the file: {getattr(exc, 'strerror', None) or exc}"
                    ) from None
    if stat.S_ISDIR(info.st_mode):
        raise _fail(shown, "is a directory, not a file", expected="a .csv or .xlsx file")
    suffix = _suffix(shown)
    if suffix not in CSV_SUFFIXES + XLSX_SUFFIXES:
        raise _fail(shown, "unsupported file type",
                    expected=f"a file ending in {one_of(CSV_SUFFIXES + XLSX_SUFFIXES)}",
                    found=repr(suffix) if suffix else "no extension",
                    hint="save the workbook as .xlsx" if suffix in (".xls", ".ods") else None)
    if max_bytes is not None and info.st_size > max_bytes:
        raise _fail(shown, "the file is too large", expected=f"at most {max_bytes} bytes",
                    found=f"{info.st_size} bytes")
    if info.st_size == 0:
        raise _fail(shown, "the file is empty")
    if suffix in XLSX_SUFFIXES:
        return _read_xlsx(shown, options)
    return _read_csv(shown, options)


def column_letter(k: int) -> str:
    """Spreadsheet column name of the 1-based column ``k``: 1 -> A, 26 -> Z, 27 -> AA.

    Kept here so reading a CSV never imports openpyxl (a third of a second)."""
    letters = ""
    while k > 0:
        k, rest = divmod(k - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _check_header(names: list[str], shown: str, line: int, xlsx: bool) -> tuple[str, ...]:
    diags, seen = [], {}
    for k, name in enumerate(names, 1):
        cell = f"header cell {k}" + (f" (column {column_letter(k)})" if xlsx else "")
        if not name:
            trailing = not xlsx and k == len(names)
            diags.append(Diagnostic(f"{cell} is blank", file=shown, line=line,
                                    expected="a column name", found="a blank cell",
                                    hint="remove the trailing delimiter" if trailing else None))
        elif name in seen:
            diags.append(Diagnostic(f"duplicate column name in header cells {seen[name]} and {k}",
                                    file=shown, line=line, field=name,
                                    expected="unique column names", found=short(name)))
        else:
            seen[name] = k
    if diags:
        raise DataError(diags)
    return tuple(names)


def _build(shown: str, options: TableOptions, header: tuple[str, ...] | None, header_line: int,
           cells: dict[str, list[str]], lines: list[int], what: str = "the file") -> Table:
    if header is None:
        raise _fail(shown, f"{what} is empty")
    if not lines:
        raise _fail(shown, f"{what} has a header but no data rows", line=header_line)
    return Table(shown, header, cells, tuple(lines), options)


def _read_csv(shown: str, options: TableOptions) -> Table:
    encoding = options.encoding
    if codecs.lookup(encoding).name == "utf-8":
        encoding = "utf-8-sig"
    delimiter = options.delimiter
    if delimiter is None and _suffix(shown) == ".tsv":
        delimiter = "\t"
    try:
        if delimiter is None:
            delimiter = _sniff(shown, encoding)
        options = replace(options, delimiter=delimiter)
        return _parse_csv(shown, options, encoding)
    except UnicodeDecodeError:
        line, found = _bad_byte(shown, encoding)
        raise _fail(shown, f"cannot decode the file as {options.encoding}", line=line,
                    expected=f"text encoded as {options.encoding}", found=found,
                    hint=None if codecs.lookup(encoding).name == "iso8859-1"
                    else "set data.encoding: latin-1 in the policy") from None
    except OSError as exc:
        raise _fail(shown, f"cannot read the file: {exc.strerror or exc}") from None


def _sniff(shown: str, encoding: str) -> str:
    """The delimiter giving a consistent column count > 1 over the first lines (else ',')."""
    with open(shown, encoding=encoding, newline="") as f:
        sample = [line for _, line in zip(range(_SNIFF_LINES), f)]
    complete = len(sample) < _SNIFF_LINES
    best, best_score = ",", None
    for rank, d in enumerate(DELIMITERS):
        try:
            records = [r for r in csv.reader(io.StringIO("".join(sample)), delimiter=d)
                       if any(c.strip() for c in r)]
        except csv.Error:
            continue
        if not complete:
            records = records[:-1]  # the sample may end inside a quoted field
        if not records or len(records[0]) < 2:
            continue
        fit = sum(len(r) == len(records[0]) for r in records) / len(records)
        score = (fit == 1.0, fit, -rank)
        if best_score is None or score > best_score:
            best, best_score = d, score
    return best


def _parse_csv(shown: str, options: TableOptions, encoding: str) -> Table:
    delimiter = options.delimiter
    header, header_line, cells, lines = None, 0, {}, []
    shared: list[dict | None] = []
    bad, nbad = [], 0
    with open(shown, encoding=encoding, newline="") as f:
        raw: list[str] = []  # the physical lines of the current record

        def tracked():
            for physical in f:
                raw.append(physical)
                yield physical

        reader = csv.reader(tracked(), delimiter=delimiter)
        while True:
            raw.clear()
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise _fail(shown, f"cannot parse the CSV: {exc}", line=start,
                            hint="an unbalanced quote?") from None
            fields = [c.strip() for c in row]
            if not any(fields):
                continue  # blank line, or only empty fields
            if header is None:
                fields[0] = fields[0].lstrip("\ufeff").strip()
                header, header_line = _check_header(fields, shown, start, False), start
                cells = {name: [] for name in header}
                appends = [cells[name].append for name in header]
                shared = [{} for _ in header]  # per column: one str object per distinct text
                continue
            if len(fields) != len(header):
                nbad += 1
                if len(bad) < SHOW:
                    bad.append(_width_diag(shown, "".join(raw), start, reader.line_num,
                                           len(fields), len(header), delimiter))
                continue
            if not nbad:
                lines.append(start)
                for append, seen, text in zip(appends, shared, fields):
                    # Repeated texts (segments, regions, small scores) share one object: a
                    # million-row table then holds ~40 % fewer strings. A column with many
                    # distinct texts stops being tracked (the dict would cost more than it saves).
                    if seen is not None:
                        text = seen.setdefault(text, text)
                    append(text)
                if len(lines) % 4096 == 0:
                    shared = [None if seen is None or len(seen) > SHARED_TEXTS else seen for seen in shared]
    if nbad > len(bad):
        bad.append(Diagnostic(f"and {nbad - len(bad)} more rows with the wrong number of fields",
                              file=shown))
    if bad:
        raise DataError(bad)
    return _build(shown, options, header, header_line, cells, lines)


def _width_diag(shown: str, text: str, start: int, end: int, found: int, width: int,
                delimiter: str) -> Diagnostic:
    hint = None
    for other in DELIMITERS:
        try:
            fits = len(next(csv.reader(io.StringIO(text), delimiter=other), [])) == width
        except csv.Error:
            fits = False
        if other != delimiter and fits:
            hint = (f"mixed delimiters? this line has {width} fields when split on "
                    f"{_delim_name(other)}")
            break
    if hint is None and end > start:
        hint = f"the record runs from line {start} to line {end}; an unbalanced quote?"
    return Diagnostic(f"wrong number of fields (delimiter {_delim_name(delimiter)})", file=shown,
                      line=start, expected=f"{width} fields like the header",
                      found=f"{found} field{'s' if found != 1 else ''}", hint=hint)


def _bad_byte(shown: str, encoding: str) -> tuple[int | None, str | None]:
    """The 1-based line of the first byte that does not decode, and that byte shown."""
    if encoding == "utf-8-sig":
        encoding = "utf-8"  # same verdicts, but error offsets not shifted by a BOM
    decoder = codecs.getincrementaldecoder(encoding)()
    breaks, last_cr = 0, False
    try:
        with open(shown, "rb") as f:
            while True:
                chunk = f.read(1 << 20)
                pending = decoder.getstate()[0]
                try:
                    decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError as exc:
                    data = pending + chunk
                    before = data[len(pending):max(exc.start, len(pending))]
                    breaks += _line_breaks(before, last_cr)
                    return breaks + 1, repr(data[exc.start:exc.end])
                if not chunk:
                    return None, None
                breaks += _line_breaks(chunk, last_cr)
                last_cr = chunk.endswith(b"\r")
    except OSError:
        return None, None


def _line_breaks(data: bytes, after_cr: bool) -> int:
    lone_cr = data.count(b"\r") - data.count(b"\r\n")
    return data.count(b"\n") + lone_cr - (1 if after_cr and data.startswith(b"\n") else 0)


def _cell_text(value: object) -> str:
    """An XLSX cell value as text: numbers round-trip, dates are ISO, None is ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, _dt.datetime):
        if value.time() == _dt.time() and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value).strip()


def _read_xlsx(shown: str, options: TableOptions) -> Table:
    import openpyxl

    try:
        book = openpyxl.load_workbook(shown, read_only=True, data_only=True)
    except OSError as exc:
        raise _fail(shown, f"cannot read the file: {exc.strerror or exc}") from None
    except Exception as exc:  # openpyxl/zipfile raise many kinds for a broken file
        raise _fail(shown, "not a valid XLSX workbook", expected="an Excel .xlsx or .xlsm file",
                    found=short(f"{type(exc).__name__}: {exc}", 80),
                    hint="if it is a CSV file, give it a .csv extension") from None
    try:
        names = book.sheetnames
        name = options.sheet if options.sheet is not None else (names[0] if names else None)
        if name not in names:
            raise _fail(shown, f"no sheet named {short(name)}", field="data.sheet",
                        expected=f"sheet {one_of(names)}", found=short(name),
                        hint=did_you_mean(name, names))
        sheet = book[name]
        if not hasattr(sheet, "iter_rows"):
            raise _fail(shown, f"sheet {short(name)} is a chart, not a table", field="data.sheet")
        options = replace(options, sheet=name)
        what = f"sheet {short(name)}"
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()  # stored dimensions can be stale; read every row
        header, header_line, cells, lines = None, 0, {}, []
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            values = [_cell_text(v) for v in row]
            if not any(values):
                continue
            if header is None:
                while not values[-1]:
                    values.pop()
                header, header_line = _check_header(values, shown, number, True), number
                cells = {c: [] for c in header}
                appends = [cells[c].append for c in header]
                continue
            width = len(header)
            extra = [k for k in range(width, len(values)) if values[k]]
            if extra:
                raise _fail(shown, f"row {number} of {what} has a value in column "
                            f"{column_letter(extra[0] + 1)}, which has no header",
                            line=number, expected=f"values in the {width} headed columns",
                            found=short(values[extra[0]]))
            values += [""] * (width - len(values))
            lines.append(number)
            for append, text in zip(appends, values):
                append(text)
    except DataError:
        raise
    except Exception as exc:  # a damaged sheet part surfaces only while iterating
        raise _fail(shown, "cannot read the workbook",
                    found=short(f"{type(exc).__name__}: {exc}", 80)) from None
    finally:
        book.close()
    return _build(shown, options, header, header_line, cells, lines, what)
