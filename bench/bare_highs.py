"""The floor: HiGHS alone on an MPS file, with the options kamopt gives it (gap, time limit,
threads, seed, MIP restarts off, and the model's own options from ``MODEL.mps.options.json``
when export_mps.py wrote one: the root reduced-cost heuristic off without named KAMs).

    python bench/bare_highs.py MODEL.mps GAP TIME_LIMIT [THREADS]

THREADS 0 (default) leaves HiGHS's default, as kamopt does.

Prints one JSON line: read and solve seconds, status, objective.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time

import highspy


def quiet_highs() -> highspy.Highs:
    """HiGHS >= 1.16 prints a banner from its constructor; keep stdout for the JSON line.
    (Inlined rather than imported from kamopt, so that this process loads HiGHS only.)"""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def main(path: str, gap: str, time_limit: str, threads: str = "0") -> None:
    h = quiet_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", float(gap))
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_allow_restart", False)  # as kamopt sets it (kamopt.model.solvers._new_highs)
    extra = path + ".options.json"  # the model's own options (LinearModel.highs_options), from export_mps.py
    if os.path.exists(extra):
        with open(extra, encoding="utf-8") as fh:
            for key, value in json.load(fh).items():
                h.setOptionValue(key, value)
    if int(threads) > 0:
        h.setOptionValue("threads", int(threads))
    t = time.perf_counter()
    h.readModel(path)
    read_s = time.perf_counter() - t
    t = time.perf_counter()
    h.run()
    solve_s = time.perf_counter() - t
    print(json.dumps({"read_s": read_s, "solve_s": solve_s, "total_s": read_s + solve_s,
                      "status": h.modelStatusToString(h.getModelStatus()),
                      "gap": h.getInfo().mip_gap,
                      "objective": h.getInfo().objective_function_value}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
    # exit as the kamopt command does (kamopt.cli.run): the objects built live until the
    # end, and the last garbage collection would only walk them. Every measured process
    # ends so, the floor and the peer too, so that no ratio gains from it.
    gc.freeze()
