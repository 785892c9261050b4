"""Test-wide settings: hypothesis profiles and a hang guard.

* Hypothesis: ``ci`` (default; 60 derandomized examples, reproducible) and ``dev`` (200
  random examples), chosen with ``KAMOPT_HYPOTHESIS=dev``.
* Hang guard: every test runs under ``faulthandler.dump_traceback_later``; a test stuck for
  longer than ``HANG_SECONDS`` dumps every thread's traceback to the real stderr and exits,
  instead of hanging CI.
"""

from __future__ import annotations

import faulthandler
import os

import pytest
from hypothesis import settings

settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile("dev" if os.environ.get("KAMOPT_HYPOTHESIS") == "dev" else "ci")

HANG_SECONDS = 300
_stderr_fd: int | None = None
"""A copy of the terminal's stderr: while a test runs, pytest captures fd 2 into a file that a
hard exit would throw away, so the traceback must go to a descriptor taken before that."""


def pytest_configure(config: pytest.Config) -> None:
    """Keep a copy of stderr (pytest does not capture during configuration)."""
    global _stderr_fd
    _stderr_fd = os.dup(2)


def pytest_unconfigure(config: pytest.Config) -> None:
    global _stderr_fd
    if _stderr_fd is not None:
        os.close(_stderr_fd)
        _stderr_fd = None


def _guarded():
    """Arm the hang guard around one phase of a test; disarm it however the phase ends."""
    fd = _stderr_fd if _stderr_fd is not None else 2
    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True, file=fd)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    """Fixtures (a module's shared solve) can hang too."""
    yield from _guarded()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    yield from _guarded()
