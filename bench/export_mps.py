"""The model kamopt solves for a policy, written as MPS for the bare-solver floor.

    python bench/export_mps.py POLICY MPS_PATH

Screens the policy's accounts and builds the model exactly as `kamopt solve` does, then
writes it to MPS_PATH as HiGHS gets it (the objective split over bounded value columns
included: kamopt.model.objective_split; the LPs that bound them are kamopt's time, not the
floor's) and the model's own HiGHS options (which MPS has no place for) to
MPS_PATH.options.json, for bench/bare_highs.py. Its own process, run before the measured
ones: the export is not part of a solve, so no measured process pays for it.
"""

from __future__ import annotations

import json
import sys

import kamopt
from kamopt.model.build import build_model
from kamopt.model.solvers import write_mps
from kamopt.screening import build_problem


def main(policy: str, mps_path: str) -> None:
    problem, _ = build_problem(kamopt.screen(kamopt.load_policy(policy)))
    model = build_model(problem).model
    write_mps(model, mps_path)
    with open(mps_path + ".options.json", "w", encoding="utf-8") as fh:
        json.dump(model.highs_options, fh)


if __name__ == "__main__":
    main(*sys.argv[1:3])
