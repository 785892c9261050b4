"""One measured solve, in its own process (so peak memory is this run's alone).

    python bench/solve_one.py POLICY OUT_DIR GAP TIME_LIMIT [SOLVER [THREADS]]

Prints one JSON line: stage times, status, objective, greedy objective, peak RSS. Writes
the plan to OUT_DIR, as `kamopt solve --gap GAP --time-limit TIME_LIMIT [--solver SOLVER]
[--threads THREADS]` does, and nothing else: the process's wall time is the end-to-end
time (the model for the bare-solver floor comes from bench/export_mps.py, in a process of
its own). SOLVER: ``highs`` (default) or ``cbc``; THREADS 0 (default) leaves the solver's
default.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time

T0 = time.perf_counter()

import kamopt  # noqa: E402
from kamopt.report.plan_tables import write_plan  # noqa: E402
from kamopt.report.writers import output_folder  # noqa: E402


def peak_rss_mib() -> float:
    """This process's peak resident memory. VmHWM, not getrusage's ru_maxrss: the latter
    survives exec, so a child started by a big parent would report the parent's peak."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(policy: str, out_dir: str, gap: str, time_limit: str, solver: str = "highs",
         threads: str = "0") -> None:
    t_import = time.perf_counter() - T0
    t = time.perf_counter()
    plan = kamopt.solve(kamopt.load_policy(policy), gap=float(gap), time_limit=float(time_limit), solver=solver,
                        threads=int(threads) if int(threads) > 0 else None)
    t_pipeline = time.perf_counter() - t
    t = time.perf_counter()
    with output_folder(out_dir, True) as folder:
        write_plan(plan, folder)
    t_write = time.perf_counter() - t
    end_to_end = time.perf_counter() - T0
    peak_mib = peak_rss_mib()
    sol = plan.solution
    print(json.dumps({
        "accounts": plan.screening.n,
        "candidates": plan.problem.n_accounts,
        "options": plan.problem.n_options,
        "solver": sol.solver,
        "status": sol.status.value,
        "objective": sol.objective,
        "gap": sol.gap,
        "greedy_objective": plan.greedy_objective,
        "greedy_feasible": plan.greedy_feasible,
        "key_accounts": int((sol.assignment.tier >= 0).sum()) if sol.assignment is not None else None,
        "import_s": t_import,
        "build_s": sol.build_seconds,
        "solver_s": sol.solve_seconds,
        "pipeline_s": t_pipeline,
        "write_s": t_write,
        "end_to_end_s": end_to_end,
        "peak_mib": peak_mib,
        "verified": plan.check is not None and plan.check.ok,
    }))


if __name__ == "__main__":
    main(*sys.argv[1:7])
    # exit as the kamopt command does (kamopt.cli.run): the objects built live until the
    # end, and the last garbage collection would only walk them. Every measured process
    # ends so, the floor and the peer too, so that no ratio gains from it.
    gc.freeze()
