"""Many solves at once: what ``compare`` and ``frontier`` run, in worker processes.

A *run* is one policy (a path, maybe a scenario) with ``--set`` overrides, solved and
boiled down to an :class:`Outcome`: small, picklable, enough to compare runs (the summary,
the portfolio by account id, resource usage) and, when asked, the plan's files and
workbook sheets. Runs are grouped in *chains*: the runs of a chain go in order in one
worker, each starting the solver from the previous plan (a sweep's warm start); chains
run in parallel, as many at once as there are workers. *Anchors* (a sweep's end points)
run first; a later run takes an anchor's plan without a solve when it is proven optimal
there too (:func:`kamopt.model.optimise.from_relaxation`). Each run's solver gets one
thread unless told otherwise, so results never depend on the number of workers.

*Edges* (``RunSpec.diagnose_edge``): a run solved for its status only is diagnosed after
all when it is infeasible next to a run of its chain that has a plan (where a sweep stops
being feasible), by its chain's worker, right away: the diagnosis then runs while other
chains still solve. Its outcome reaches the caller as an ``("update", outcome)`` event
that replaces the status-only one.

Interruption: Ctrl-C stops the workers at once; the outcomes that finished are kept and
returned with ``interrupted=True`` (the caller writes them and says so). Workers ignore
Ctrl-C themselves so that only the parent decides.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import pickle
import queue as queue_module
import signal
import sys
import threading
import time
import warnings
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from kamopt.data.table import keep_tables
from kamopt.errors import KamoptError

EXIT_INTERNAL = 70


@dataclass(frozen=True)
class RunSpec:
    """One solve to do."""

    label: str
    policy: str
    """Path of the policy or scenario file."""
    overrides: tuple[str, ...] = ()
    solver: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments for :func:`kamopt.plan.solve`: solver, time_limit, gap, threads."""
    out: str | None = None
    """Folder to write the plan's files into (inside the caller's temporary folder)."""
    want_sheets: bool = False
    """Return the plan's workbook sheets (for a workbook the caller assembles)."""
    diagnose: bool = True
    """Diagnose an infeasible run (a sweep's infeasible points need only their status)."""
    threads_each: int = 0
    """Solver threads when neither ``solver`` nor the policy sets them (0 = the solver's
    default; :func:`run_all` makes it 1)."""
    diagnose_edge: bool = False
    """With ``diagnose`` off: diagnose the run anyway when it is infeasible next to a run
    of its chain with a plan (see the module docstring)."""


@dataclass
class Outcome:
    """What one run gave: a plan's essentials, or the reason there is none."""

    index: int
    label: str
    exit_code: int
    """The exit code ``kamopt solve`` would give: 0 solved, 3 infeasible, ..."""
    summary: dict[str, Any] | None = None
    """The plan's summary.json content."""
    portfolio: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Key accounts: account id -> (tier, name)."""
    order: tuple[str, ...] = ()
    """Every account id in table order (to list accounts in a stable order)."""
    usage: list[tuple[str, str, float | None, float]] = field(default_factory=list)
    """Capacity and limit rows: (family, resource, limit, used), e.g. ``("kam_hours", "Iberia", 3200, 2950)``."""
    sheets: bytes | None = None
    """The plan's workbook sheets when asked for (``RunSpec.want_sheets``), pickled and
    deflated: a sweep keeps every point's and uses one (:meth:`workbook_sheets`). As
    objects, 20,000 accounts took ~12 MB per run (20 points: 240 MB in the caller)."""
    error: str | None = None
    """Located error text when the run failed before giving a plan."""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """The run finished (with a plan or an honest status such as infeasible)."""
        return self.summary is not None and self.error is None

    @property
    def has_plan(self) -> bool:
        return self.ok and self.summary["objective"] is not None

    def workbook_sheets(self) -> list[Any]:
        """The plan's workbook sheets (:func:`kamopt.report.xlsx.plan_sheets`); empty when
        the run has none (not asked for, or no plan)."""
        return pickle.loads(zlib.decompress(self.sheets)) if self.sheets else []

    def used_pct(self, family: str, resource: str | None = None) -> float | None:
        """Percent used of a family's capacity (all its rows, or one resource's)."""
        used, limit = self.use(family, resource)
        return 100.0 * used / limit if limit > 0 else None

    def use(self, family: str, resource: str | None = None) -> tuple[float, float]:
        """(used, limit) summed over a family's rows (or one resource's row)."""
        used = limit = 0.0
        for fam, res, lim, u in self.usage:
            if fam == family and (resource is None or res == resource) and lim is not None:
                used, limit = used + u, limit + lim
        return used, limit


def ids_over(outcomes: Sequence[Outcome | None]) -> tuple[list[str], list[str], list[str]]:
    """Tier, pool and support function ids over every run with a plan, in order of first appearance."""
    tiers: dict[str, None] = {}
    pools: dict[str, None] = {}
    support: dict[str, None] = {}
    for o in outcomes:
        if o is None or not o.has_plan:
            continue
        tiers.update(dict.fromkeys(o.summary["tiers"]))
        pools.update(dict.fromkeys(o.summary["hires"]))
        support.update(dict.fromkeys(res for fam, res, *_ in o.usage if fam == "support_hours"))
    return list(tiers), list(pools), list(support)


DIAGNOSIS_SEPARATOR = " | "
"""Between the lines of a run's diagnosis in one CSV cell (frontier.csv, comparison.csv)."""


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_one(index: int, spec: RunSpec, warm: Any = None, relaxed: Sequence[Any] = ()) -> tuple[Outcome, Any]:
    """Solve one run; never raises. Returns the outcome and a :class:`kamopt.plan.PlanRef`
    of its plan (None when it failed), for the next run's warm start or as a relaxation.

    ``warm`` and ``relaxed`` are passed to :func:`kamopt.plan.solve`."""
    from kamopt.plan import PlanRef, solve
    from kamopt.policy.loader import load_policy
    from kamopt.report.plan_tables import summary, write_plan
    from kamopt.report.writers import OutputFolder

    t0 = time.perf_counter()
    try:
        loaded = load_policy(spec.policy, spec.overrides)
        solver = dict(spec.solver)
        if solver.get("threads") is None and loaded.policy.solver.threads == 0 and spec.threads_each > 0:
            solver["threads"] = spec.threads_each
        plan = solve(loaded, warm=warm, relaxed=relaxed, diagnose=spec.diagnose, **solver)
        if spec.out is not None:
            folder = Path(spec.out)
            folder.mkdir(parents=True, exist_ok=True)
            write_plan(plan, OutputFolder(folder))
        s = plan.screening
        tiers = plan.tier_of_row()
        portfolio = {s.data.ids[r]: (s.tier_ids[t], s.data.names[r]) for r, t in enumerate(tiers.tolist()) if t >= 0}
        usage = [(u.family, u.resource, u.limit, u.used) for u in plan.check.usage] if plan.check else []
        sheets = None
        if spec.want_sheets and plan.solution.assignment is not None:
            from kamopt.report.xlsx import plan_sheets

            sheets = zlib.compress(pickle.dumps(plan_sheets(plan), protocol=pickle.HIGHEST_PROTOCOL), 1)
        outcome = Outcome(index, spec.label, plan.exit_code, summary(plan), portfolio, tuple(s.data.ids),
                          usage, sheets, seconds=time.perf_counter() - t0)
        return outcome, PlanRef(plan.problem, plan.solution, f"run {spec.label}")
    except KamoptError as e:
        text = f"{e.kind}: " + "; ".join(str(d) for d in e.diagnostics)
        return Outcome(index, spec.label, e.exit_code, error=text, seconds=time.perf_counter() - t0), None
    except Exception as e:  # a bug in one run must not take the others down
        return Outcome(index, spec.label, EXIT_INTERNAL, error=f"internal error {type(e).__name__}: {e}",
                       seconds=time.perf_counter() - t0), None


def _run_chain(specs: Sequence[tuple[int, RunSpec]], report: Callable[[str, Any], None],
               known: dict[int, Any] | None = None, relaxed: Sequence[Any] = ()) -> None:
    """Run a chain in order, each run warm-started from the previous plan. ``known``: runs
    done already (their PlanRef), skipped but still passed on as warm starts. Every plan is
    reported as ``("ref", (index, ref))`` too, for callers that keep them; an edge's
    diagnosis as ``("update", outcome)``, before the ``done`` of the run that showed it."""
    known = known or {}
    ref = None
    prev: tuple[int, RunSpec, Any] | None = None
    diagnosed: set[int] = set()

    def diagnosis(index: int, spec: RunSpec) -> Outcome:
        diagnosed.add(index)
        return run_one(index, replace(spec, diagnose=True), relaxed=relaxed)[0]

    for index, spec in specs:
        edge = spec.diagnose_edge and not spec.diagnose and prev is not None
        solved = index not in known
        if solved:
            report("start", index)
            outcome, ref = run_one(index, spec, warm=ref, relaxed=relaxed)
        else:
            ref = known[index]
        if edge and _has_plan(ref) and _infeasible(prev[2]) and prev[0] not in diagnosed:
            report("update", diagnosis(prev[0], prev[1]))  # the sweep becomes feasible here
        elif edge and _infeasible(ref) and _has_plan(prev[2]) and index not in diagnosed:
            if solved:  # the sweep stops being feasible here: reported diagnosed at once
                outcome = diagnosis(index, spec)
            else:
                report("update", diagnosis(index, spec))
        if solved:
            report("ref", (index, ref))  # before "done": the caller may stop listening at the last "done"
            report("done", outcome)
        prev = (index, spec, ref)


def _has_plan(ref: Any) -> bool:
    return ref is not None and ref.solution.assignment is not None


def _infeasible(ref: Any) -> bool:
    from kamopt.model.solution import Status

    return ref is not None and ref.solution.status == Status.INFEASIBLE


# --------------------------------------------------------------------------- workers

_QUEUE: Any = None


def _worker_init(q) -> None:
    global _QUEUE
    _QUEUE = q
    keep_tables()  # the runs of a compare or a sweep read the same files
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C for everyone


def _worker_chain(specs: Sequence[tuple[int, RunSpec]], known: dict[int, Any], relaxed: Sequence[Any],
                  want_refs: Sequence[int]) -> None:
    def put(kind: str, payload: Any) -> None:
        if kind != "ref" or payload[0] in want_refs:  # plans are sent back only when needed
            _QUEUE.put((kind, payload))

    _run_chain(specs, put, known, relaxed)


WORKER_MODULES = ("kamopt.plan", "kamopt.report.plan_tables", "kamopt.report.xlsx")
"""What every worker imports: loaded once before the workers start, so each starts with it."""


def start_workers(workers: int | None = None) -> None:
    """Get the workers' start ready now, when more than one worker will run: import what
    they need here when they will be forked from this process, or start the worker
    server, whose own import of kamopt (~0.5 s) then overlaps the caller's preparation
    (reading every run's policy) instead of following it."""
    if max(1, workers or default_workers()) <= 1:
        return
    method = _context().get_start_method()
    if method == "fork":
        for name in WORKER_MODULES:
            importlib.import_module(name)
    elif method == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def fork_is_safe() -> bool:
    """Whether worker processes may be forked from this one: on Linux, when this process
    runs no Python thread but this one (a fork copies the calling thread alone, and with
    it every lock another thread might hold) and HiGHS has never run here (its thread
    pools live in per-thread state that a fork copies without their threads: a worker
    could wait on them forever). The one other thread such a process has is numpy's
    OpenBLAS pool, which OpenBLAS itself shuts down around a fork (``pthread_atfork``).
    That is the ``kamopt`` command's case; a notebook, a test suite or a progress
    display's thread rule it out."""
    from kamopt.model.solvers import highs_used

    if not sys.platform.startswith("linux") or "fork" not in multiprocessing.get_all_start_methods():
        return False
    return threading.active_count() == 1 and not highs_used()


def _context():
    """How worker processes start: forked from this process when :func:`fork_is_safe`
    (at once, with kamopt imported: ~0.3 s sooner), else from a clean server process.

    The forkserver starts fresh, imports kamopt once, and forks workers from that clean
    state: a process where HiGHS has run (a notebook, or a test suite) or that has other
    threads never forks its own workers.
    """
    if fork_is_safe():
        return multiprocessing.get_context("fork")
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(list(WORKER_MODULES))
        return ctx
    return multiprocessing.get_context("spawn")


def run_all(
    specs: Sequence[RunSpec],
    chains: Sequence[Sequence[int]] | None = None,
    *,
    workers: int | None = None,
    on_event: Callable[[str, Any], None] | None = None,
    anchors: Sequence[int] = (),
    early: int = 0,
    order: Callable[[list[list[int]], Sequence[Outcome | None]], list[list[int]]] | None = None,
) -> tuple[list[Outcome | None], bool]:
    """Run every spec; returns the outcomes in spec order (None where not run) and
    whether Ctrl-C stopped the runs.

    ``chains`` group spec indices that run in order with warm starts (default: every
    spec alone). ``anchors``: spec indices solved first (in parallel), whose plans every
    other run may take without a solve when they are proven optimal there too (a sweep's
    end points: see :func:`kamopt.model.optimise.from_relaxation`); they keep their place
    in their chains as warm starts; the first ``early`` chains run beside the anchors (so
    no worker idles while a long anchor solves) and do without their plans; the other
    chains start as soon as the anchors are done, most runs left first, or in the order
    ``order(chains, outcomes)`` gives them, from the anchors' outcomes (the order changes
    no result, only the wall time). Which runs may use the anchors depends on these
    arguments only, never on the worker count.
    ``on_event(kind, payload)`` is called in this process
    with ``("begin", specs)`` once, then ``("start", index)`` and ``("done", outcome)`` per
    run, for progress displays, and ``("update", outcome)`` when an edge's diagnosis
    replaces a run's outcome (module docstring).
    """
    chains = [list(c) for c in (chains if chains is not None else [[i] for i in range(len(specs))])]
    anchors = [a for a in dict.fromkeys(anchors) if 0 <= a < len(specs)]
    workers = max(1, min(workers or default_workers(), len(chains) + len(anchors)))
    # One solver thread per run (unless the user or the policy chose a count): the runs
    # themselves fill the cores, and HiGHS's search depends on its thread count, so a fixed
    # count gives the same plans whatever the number of workers or cores. Two HiGHS runs
    # with two threads each on two cores would only fight for them (its tree search is
    # mostly serial: on the 5,000-account benchmark one thread takes ~1.35x two, so two
    # single-thread runs side by side finish ~1.5x sooner than two 2-thread runs in turn).
    specs = [replace(s, threads_each=1) if s.threads_each == 0 else s for s in specs]
    outcomes: list[Outcome | None] = [None] * len(specs)
    known: dict[int, Any] = {}
    notify = on_event or (lambda kind, payload: None)
    notify("begin", list(specs))

    def record(kind: str, payload: Any) -> None:
        if kind == "ref":
            if payload[0] in anchors:
                known[payload[0]] = payload[1]  # None when the run failed
            return
        if kind in ("done", "update"):
            outcomes[payload.index] = payload
        notify(kind, payload)

    every = sorted({i for c in chains for i in c} | set(anchors))

    def stages() -> Iterator[tuple[list[list[int]], dict[int, Any], list[Any], list[int]]]:
        """(chains, runs done before, relaxations, runs to wait for before the next stage):
        the anchors alone first, beside the early chains, then the other chains with the
        anchors' plans, as soon as the anchors are done (the early chains run on). Those
        start with the chains that have the most runs left (or as ``order`` says), so a
        long one does not start last and run alone at the end."""
        if anchors:
            yield [[a] for a in anchors] + chains[:early], {}, [], list(anchors)
            done_before = dict(known)
            rest = sorted(chains[early:], key=lambda c: -sum(i not in done_before for i in c))
            if order is not None:
                rest = order(rest, list(outcomes))
            yield rest, done_before, [known[a] for a in anchors if known.get(a) is not None], every
        else:
            yield chains, {}, [], every

    if workers == 1:
        kept = keep_tables()
        try:
            for group, done_before, relaxed, _ in stages():
                for chain in group:
                    _run_chain([(i, specs[i]) for i in chain], record, done_before, relaxed)
        except KeyboardInterrupt:
            return outcomes, True
        finally:
            keep_tables(kept)
        return outcomes, False

    ctx = _context()
    q = ctx.Queue()
    with warnings.catch_warnings():
        # Python >= 3.12 warns on any fork while another thread exists: fork_is_safe has
        # ruled out all but numpy's OpenBLAS pool, which OpenBLAS itself handles
        warnings.simplefilter("ignore", DeprecationWarning)
        pool = ctx.Pool(workers, initializer=_worker_init, initargs=(q,))
    try:
        running: list[tuple[list[int], Any]] = []
        for group, done_before, relaxed, wait_for in stages():
            running += [(chain, pool.apply_async(_worker_chain, ([(i, specs[i]) for i in chain], done_before,
                                                                 relaxed, anchors)))
                        for chain in group]
            _collect(q, running, wait_for, specs, outcomes, record)
        pool.close()
        pool.join()
        _drain(q, record)  # an edge's diagnosis found after the last run it waited for
        return outcomes, False
    except KeyboardInterrupt:
        pool.terminate()
        pool.join()
        def keep(kind: str, payload: Any) -> None:  # what finished just before the interruption
            if kind in ("done", "update"):
                outcomes[payload.index] = payload

        _drain(q, keep)
        return outcomes, True


def _drain(q, record: Callable[[str, Any], None]) -> None:
    """Pass on the events still in the queue (the workers have stopped)."""
    while True:
        try:
            kind, payload = q.get_nowait()
        except (queue_module.Empty, OSError, ValueError):
            return
        record(kind, payload)


def _collect(q, running: Sequence[tuple[Sequence[int], Any]], wait_for: Sequence[int], specs: Sequence[RunSpec],
             outcomes: list[Outcome | None], record: Callable[[str, Any], None]) -> None:
    """Relay the workers' events until every run in ``wait_for`` is done. ``running``:
    the chains submitted so far with their async results (a chain whose worker died has
    its runs that never finished recorded as failed, so nothing waits forever)."""
    while any(outcomes[i] is None for i in wait_for):
        try:
            kind, payload = q.get(timeout=0.2)
        except queue_module.Empty:
            for chain, res in running:
                if res.ready() and not res.successful():
                    for i in chain:
                        if outcomes[i] is None:
                            record("done", Outcome(i, specs[i].label, EXIT_INTERNAL,
                                                   error="the worker process failed"))
            continue
        record(kind, payload)
