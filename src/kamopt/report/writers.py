"""Writing results: atomically, deterministically, safely for spreadsheets.

* **Atomic folders.** A command writes all its files into a temporary sibling folder and
  renames it into place at the end, so a failed or interrupted run leaves no
  half-written results. An existing result folder is replaced only with ``force``.
* **Deterministic.** Numbers are written with fixed decimals (no ``-0.00``), CSV lines
  end in ``\\n``, JSON keys keep a fixed order: the same inputs give the same bytes.
* **Two files at once.** A big file (a plan's workbook) can be written by a forked child
  process while this one writes the rest (:meth:`OutputFolder.binary_beside`): the same
  bytes, on the core a single Python process leaves idle.
* **Formula injection.** Text cells that begin with ``=``, ``+``, ``-``, ``@``, tab or
  carriage return get a leading apostrophe (OWASP's advice), so no spreadsheet runs them.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from kamopt.errors import Diagnostic, OutputError

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """A text cell that no spreadsheet will treat as a formula."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def fmt(value: Any, decimals: int = 2) -> str:
    """A cell as text: numbers with fixed decimals, bools as true/false, text neutralised."""
    kind = type(value)  # exact types first: this runs once per CSV cell
    if kind is str:
        return safe_text(value)
    if kind is float:
        if not math.isfinite(value):
            return ""
        text = f"{value:.{decimals}f}"
        if text[0] == "-" and not text.strip("-0."):
            text = text[1:]  # no "-0.00"
        return text
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return fmt(float(value), decimals)
    if hasattr(value, "item"):  # numpy scalar
        return fmt(value.item(), decimals)
    return safe_text(str(value))


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]], decimals: int = 2) -> str:
    """CSV text with kamopt's formatting rules."""
    buf = io.StringIO()
    write_csv(buf, header, rows, decimals)
    return buf.getvalue()


def write_csv(fh, header: Sequence[str], rows: Iterable[Sequence[Any]], decimals: int = 2,
              formatted: bool = False) -> None:
    """Stream CSV lines to ``fh`` with kamopt's formatting rules (one row in memory at a time).

    ``formatted``: the cells are final text already (see :func:`number_texts`, and
    :func:`safe_text` on every text cell), written as they are.
    """
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow([safe_text(h) for h in header])
    if formatted:
        writer.writerows(rows)
        return
    # Once per cell (820,000 at 20,000 accounts): text and floats as fmt gives them,
    # without a call; anything else through it.
    spec = f".{decimals}f"
    isfinite = math.isfinite
    for row in rows:
        cells = []
        for c in row:
            kind = type(c)
            if kind is str:
                cells.append("'" + c if c.startswith(FORMULA_PREFIXES) else c)
            elif kind is float:
                if not isfinite(c):
                    cells.append("")
                    continue
                text = format(c, spec)
                if text[0] == "-" and not text.strip("-0."):
                    text = text[1:]  # no "-0.00"
                cells.append(text)
            else:
                cells.append(fmt(c, decimals))
        writer.writerow(cells)


def number_texts(values: Any, decimals: int = 2) -> list[str]:
    """:func:`fmt` of every float in an array, vectorised (same text, ~10x faster)."""
    out = [f"{v:.{decimals}f}" for v in np.asarray(values, dtype=float).tolist()]
    negative_zero = f"-{0:.{decimals}f}"
    return ["" if t in ("nan", "inf", "-inf") else t[1:] if t == negative_zero else t for t in out]


def bool_texts(values: Any) -> list[str]:
    """:func:`fmt` of every boolean in an array."""
    return ["true" if v else "false" for v in np.asarray(values, dtype=bool).tolist()]


def json_text(obj: Any) -> str:
    """JSON text: 2-space indent, UTF-8, keys in insertion order, NaN refused."""
    return json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def clean_floats(obj: Any, decimals: int = 6) -> Any:
    """Round floats in nested data so JSON output is stable across platforms."""
    if isinstance(obj, float):
        if not math.isfinite(obj):
            return None
        r = round(obj, decimals)
        return 0.0 if r == 0 else r
    if isinstance(obj, dict):
        return {k: clean_floats(v, decimals) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_floats(v, decimals) for v in obj]
    if hasattr(obj, "item"):
        return clean_floats(obj.item(), decimals)
    return obj


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _usual_mode(path: str | Path, folder: bool) -> None:
    """mkstemp/mkdtemp make owner-only entries; results get the mode a plain write would."""
    with contextlib.suppress(OSError):
        os.chmod(path, (0o777 if folder else 0o666) & ~_umask())


def write_text_atomic(path: Path, text: str) -> None:
    """Write one file atomically: a temporary file in the same folder, then rename."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise OutputError(Diagnostic(f"cannot write here: {err.strerror}", file=str(path))) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        _usual_mode(tmp, folder=False)
        os.replace(tmp, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(Diagnostic(f"cannot write the file: {err.strerror}", file=str(path))) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def make_parent(out: Path) -> Path:
    """Create the folder that will hold ``out`` if it is missing; returns it."""
    parent = Path(out).resolve().parent
    if not parent.exists():
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputError(Diagnostic(f"cannot create the folder: {err.strerror}", file=str(parent))) from None
    return parent


def check_output_dir(out: Path, force: bool) -> None:
    """Fail early (before any work) if ``out`` cannot receive results."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(Diagnostic("exists and is not a folder", file=str(out)))
    if out.exists() and any(out.iterdir()) and not force:
        raise OutputError(
            Diagnostic(
                "the output folder already holds results", file=str(out),
                hint="use --force to replace them, or choose another --out",
            )
        )
    parent = make_parent(out)
    if not os.access(parent, os.W_OK):
        raise OutputError(Diagnostic("the folder is not writable", file=str(parent)))


class OutputFolder:
    """Files being written into a temporary folder that becomes ``out`` on commit.

    Errors name the file where it will be (``out/<name>``), not the temporary folder."""

    def __init__(self, tmp: Path, out: Path | None = None):
        self.path = tmp
        self.out = Path(out) if out is not None else tmp

    def _failed(self, name: str, err: OSError) -> OutputError:
        return OutputError(Diagnostic(f"cannot write the file: {err.strerror}", file=str(self.out / name)))

    def text(self, name: str, text: str) -> Path:
        target = self.path / name
        try:
            with open(target, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        except OSError as err:
            raise self._failed(name, err) from None
        return target

    def csv(self, name: str, header: Sequence[str], rows: Iterable[Sequence[Any]], decimals: int = 2,
            formatted: bool = False) -> Path:
        """A CSV file, streamed row by row (see :func:`write_csv`)."""
        target = self.path / name
        try:
            with open(target, "w", encoding="utf-8", newline="") as fh:
                write_csv(fh, header, rows, decimals, formatted)
        except OSError as err:
            raise self._failed(name, err) from None
        return target

    def json(self, name: str, obj: Any) -> Path:
        return self.text(name, json_text(clean_floats(obj)))

    def binary(self, name: str, data: bytes) -> Path:
        target = self.path / name
        try:
            with open(target, "wb") as fh:
                fh.write(data)
        except OSError as err:
            raise self._failed(name, err) from None
        return target

    @contextlib.contextmanager
    def binary_beside(self, name: str, make: Callable[[], bytes], fork: bool = True) -> Iterator[None]:
        """Write ``name`` (the bytes ``make()`` returns) while the block writes the rest:
        in a forked child process, on the core the block leaves idle (Python runs one
        thread at a time: a process is the only way to write two files at once). The
        file is there when the block ends, the same bytes either way.

        The child only builds bytes and writes a file: it never runs the solver (whose
        thread pool a fork does not copy) and leaves by ``os._exit``. Whenever the child
        cannot do it (no ``fork`` on this platform, ``fork=False``, the child failed or
        took far longer than the block), the file is written here, after the block, where
        an error is raised as usual. Ctrl-C or an error in the block stops the child."""
        pid = _fork() if fork else None
        if pid == 0:  # the child
            code = 1
            try:
                self.binary(name, make())
                code = 0
            finally:
                os._exit(code)
        started = time.perf_counter()
        code = None
        try:
            yield
            if pid is not None:
                patience = max(CHILD_PATIENCE_S, 10 * (time.perf_counter() - started))
                code = _wait(pid, patience)  # the child is gone after this, however it ended
                pid = None
        except BaseException:
            if pid is not None:
                _stop(pid)
            raise
        if code != 0:
            self.binary(name, make())


CHILD_PATIENCE_S = 30.0
"""How long :meth:`OutputFolder.binary_beside` waits at least for its child after the
block (and ten times the block's own time when longer) before it stops the child and
writes the file itself: a child stuck for any reason costs time, never the results."""


def _fork() -> int | None:
    """``os.fork()`` where forking is safe and cheap (Linux); None elsewhere or when it fails."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return None
    with warnings.catch_warnings():
        # Python >= 3.12 warns when the process has other threads (HiGHS's idle pool
        # workers): the child needs none of their locks (see binary_beside).
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return os.fork()
        except OSError:
            return None


def _wait(pid: int, patience: float) -> int | None:
    """The child's exit code, or None when it took longer than ``patience`` seconds (it is
    stopped then)."""
    deadline = time.perf_counter() + patience
    delay = 0.0005
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.perf_counter() >= deadline:
            _stop(pid)
            return None
        time.sleep(delay)
        delay = min(2 * delay, 0.005)


def _stop(pid: int) -> None:
    """Kill a child and reap it (so no zombie is left)."""
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.waitpid(pid, 0)


@contextlib.contextmanager
def output_folder(out: Path, force: bool = False) -> Iterator[OutputFolder]:
    """Write a result folder atomically.

    Files go to a hidden temporary folder beside ``out``; when the block ends without an
    error the temporary folder replaces ``out`` (the old one, if any, is removed only
    then). On any error, or Ctrl-C, the temporary folder is deleted and ``out`` is
    untouched.
    """
    out = Path(out)
    check_output_dir(out, force)
    parent = out.resolve().parent
    try:
        tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out.name}.", suffix=".tmp"))
        _usual_mode(tmp, folder=True)
    except OSError as err:
        raise OutputError(Diagnostic(f"cannot write here: {err.strerror}", file=str(parent))) from None
    try:
        yield OutputFolder(tmp, out)
        _fsync_dir(tmp)
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out.name}.", suffix=".old"))
            os.replace(out, old / "previous")
        try:
            os.replace(tmp, out)
        except OSError:
            if old is not None:
                os.replace(old / "previous", out)  # put the old results back
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(Diagnostic(f"cannot write the results: {err.strerror}", file=str(out))) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        for child in path.iterdir():
            if child.is_file():
                with open(child, "rb") as fh:
                    os.fsync(fh.fileno())
