"""kamopt benchmark: a 20-point frontier against one solve of the same instance.

    .venv/bin/python bench/frontier.py [--sizes 1000,5000] [--points 20] [--work DIR]

For each size, on the instance `bench/run.py` uses (same generator, same seed), measures
in one run, interleaved, the process wall time of

* one `kamopt solve` of the policy as generated, and
* `kamopt frontier --vary portfolio.key_accounts.max` over ``--points`` values spread
  evenly from the policy's minimum to its maximum number of key accounts,

and reports the ratio frontier / one solve (issue 4's goal: at most 5 on the 5,000-account
instance). Both use the same gap and time limit. Writes bench/frontier-results.md and .json.

`bench/run.py` measures the same thing as part of the whole suite (and adds the frontier
against single solves of its points); this script stays as the quick standalone check.

    .venv/bin/python bench/frontier.py --timeline 5000 [--points 20] [--work DIR]

sweeps that instance once in this process and prints its timeline instead: when each run
started and ended (seconds from the sweep's start), how long it took, its status, and
whether it was solved or took the loosest point's plan; then the sum of the runs against
the sweep's wall time. What it took to see where a sweep's time goes (bench/README "What
was tried": the longest chains first). Writes no results file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KAMOPT = str(Path(sys.executable).with_name("kamopt"))


def wall(args: list[str]) -> float:
    t = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t
    if done.returncode not in (0,):
        raise SystemExit(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds


def sweep_values(policy: Path, points: int) -> list[int]:
    """``points`` values of ``portfolio.key_accounts.max``, evenly from the policy's minimum
    to its maximum number of key accounts (fewer when they round to the same integer)."""
    import kamopt

    limits = kamopt.load_policy(policy).policy.portfolio.key_accounts
    lo, hi = int(limits.min or 1), int(limits.max)
    return sorted({round(lo + k * (hi - lo) / max(1, points - 1)) for k in range(points)})


def instance(work: Path, accounts: int, points: int) -> tuple[Path, list[int]]:
    """The policy of the generated instance `bench/run.py` uses (made when missing) and the
    ``points`` values of the sweep."""
    from kamopt.generate import generate

    folder = work / f"solve-{accounts}"
    if not folder.exists():
        generate(accounts, 1, folder, named_kams=False)
    policy = folder / "policy.yaml"
    return policy, sweep_values(policy, points)


def bench(work: Path, accounts: int, points: int, gap: float, time_limit: float) -> dict:
    policy, values = instance(work, accounts, points)
    solver = ["--gap", str(gap), "--time-limit", str(time_limit)]
    one = wall([KAMOPT, "solve", str(policy), "--out", str(work / f"one-{accounts}"), "--force", *solver])
    sweep = wall([KAMOPT, "frontier", str(policy), "--vary", "portfolio.key_accounts.max",
                  "--values", ",".join(map(str, values)), "--out", str(work / f"front-{accounts}"), "--force",
                  *solver])
    info = json.loads((work / f"front-{accounts}" / "frontier.json").read_text(encoding="utf-8"))
    return {"accounts": accounts, "points": len(values), "values": f"{values[0]}..{values[-1]}",
            "one_solve_s": one, "frontier_s": sweep, "ratio": sweep / one,
            "points_solved": info["points_solved"], "recommended": info["recommended_value"], "rule": info["rule"]}


def timeline(work: Path, accounts: int, points: int, gap: float, time_limit: float) -> None:
    """One in-process sweep of the instance, printed run by run (see the module docstring)."""
    import kamopt
    from kamopt.model.optimise import NOT_RESOLVED

    policy, values = instance(work, accounts, points)
    started: dict[int, float] = {}
    rows: list[tuple[float, float, str, str]] = []
    t0 = time.perf_counter()

    def event(kind: str, payload) -> None:
        now = time.perf_counter() - t0
        if kind == "start":
            started[payload] = now
        elif kind in ("done", "update"):
            o = payload
            what = (o.summary or {}).get("status") or o.error or "?"
            note = "diagnosis" if kind == "update" else (
                "not solved" if str((o.summary or {}).get("solver_message", "")).startswith(NOT_RESOLVED) else "")
            start = now - o.seconds if kind == "update" else started.get(o.index, now)  # a diagnosis: a run of its own
            rows.append((start, now, f"{values[o.index]:g}", f"{o.seconds:6.2f} s  {what}  {note}"))

    f = kamopt.frontier(policy, "portfolio.key_accounts.max", values, work / f"timeline-{accounts}", force=True,
                        solver={"gap": gap, "time_limit": time_limit}, on_event=event)
    wall_s = time.perf_counter() - t0
    print(f"{accounts:,} accounts, {len(values)} points, {values[0]}..{values[-1]}")
    print("  start     end  value     run")
    for start, end, value, text in rows:
        print(f"{start:7.2f} {end:7.2f} {value:>6} {text}")
    total = sum(o.seconds for o in f.outcomes if o is not None)
    print(f"sweep {wall_s:.2f} s; the runs kept {total:.2f} s in all (half: {total / 2:.2f} s; an edge's "
          "status-only run, replaced by its diagnosis, not counted)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,5000")
    ap.add_argument("--points", type=int, default=20)
    ap.add_argument("--gap", type=float, default=1e-4)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--work", type=Path, default=None, help="keep generated instances here")
    ap.add_argument("--timeline", type=int, metavar="ACCOUNTS", default=None,
                    help="print one in-process sweep of this size run by run instead")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.timeline is not None:
            timeline(work, args.timeline, args.points, args.gap, args.time_limit)
            return
        for n in (int(s) for s in args.sizes.split(",")):
            row = bench(work, n, args.points, args.gap, args.time_limit)
            print(f"{n:,} accounts: one solve {row['one_solve_s']:.1f} s, {row['points']}-point frontier "
                  f"{row['frontier_s']:.1f} s, ratio {row['ratio']:.2f}", flush=True)
            rows.append(row)
    result = {"command": "python bench/frontier.py", "date": datetime.date.today().isoformat(),
              "cores": os.cpu_count(), "gap": args.gap, "time_limit": args.time_limit, "rows": rows}
    (HERE / "frontier-results.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    lines = [f"# Frontier benchmark ({result['date']}, {result['cores']} cores)", "",
             f"`{result['command']}`: gap {args.gap:g}, time limit {args.time_limit:g} s per solve, "
             "process wall times measured in one run.", "",
             "| accounts | points | max key accounts swept | one solve | frontier | frontier / one solve | "
             "points with a plan | recommended (rule) |", "|---:|---:|---|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['accounts']:,} | {r['points']} | {r['values']} | {r['one_solve_s']:.1f} s | "
                     f"{r['frontier_s']:.1f} s | {r['ratio']:.2f} | {r['points_solved']} | "
                     f"{r['recommended']:g} ({r['rule']}) |")
    (HERE / "frontier-results.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"written {HERE / 'frontier-results.md'}")


if __name__ == "__main__":
    main()
