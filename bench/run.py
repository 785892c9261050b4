"""kamopt benchmark: screening throughput and end-to-end solves against bare HiGHS.

    make bench                      # or: .venv/bin/python bench/run.py [--quick]

Generates instances with `kamopt generate` (seeded, so every run measures the same
models), then measures in one run, interleaving what it compares (kamopt, bare HiGHS,
kamopt, bare HiGHS, ...) so that machine noise hits both alike:

* screening of a 100,000-account instance (rules, scores, per-tier values and needs);
* for 1,000 / 5,000 / 20,000 accounts: model build, solver, end-to-end `kamopt solve`
  process wall time and peak memory, and HiGHS alone on the same model read from MPS.

Writes bench/results.md and bench/results.json. Figures are medians of --repeat runs;
compare ratios, not seconds, across machines.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable


def timed_json(args: list[str]) -> tuple[float, dict]:
    """Run a helper script; (process wall seconds, its JSON line)."""
    t = time.perf_counter()
    done = subprocess.run([PY, *args], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return wall, json.loads(done.stdout.strip().splitlines()[-1])


def bench_screening(work: Path, accounts: int, repeat: int) -> dict:
    import kamopt
    from kamopt.data.accounts import load_data
    from kamopt.generate import generate
    from kamopt.screening import screen

    folder = work / f"screen-{accounts}"
    if not folder.exists():
        generate(accounts, 1, folder, named_kams=False)
    loaded = kamopt.load_policy(folder / "policy.yaml")
    t = time.perf_counter()
    data = load_data(loaded)
    read_s = time.perf_counter() - t
    times = []
    for _ in range(repeat):
        data = load_data(loaded)  # fresh parse caches: screening parses the numbers it uses
        t = time.perf_counter()
        s = screen(loaded, data)
        times.append(time.perf_counter() - t)
    per_100k = statistics.median(times) * 100_000 / accounts
    return {"accounts": accounts, "read_s": read_s, "screen_s": statistics.median(times),
            "screen_s_per_100k": per_100k, "candidates": int(s.candidate.sum()), "runs": times}


def bench_solve(work: Path, accounts: int, repeat: int, gap: float, time_limit: float, named_kams: bool) -> dict:
    from kamopt.generate import generate

    folder = work / f"solve-{accounts}{'-kams' if named_kams else ''}"
    if not folder.exists():
        generate(accounts, 1, folder, named_kams=named_kams)
    policy = folder / "policy.yaml"
    # both sides get the same gap (--gap, 0.01 % by default) and time limit (--time-limit)
    mps = work / f"model-{accounts}.mps"
    ours, bare = [], []
    runs = 1 if accounts >= 20_000 else repeat  # the largest instance runs once (minutes per run)
    for _ in range(runs):  # interleaved: kamopt, HiGHS, kamopt, HiGHS...
        wall, info = timed_json([str(HERE / "solve_one.py"), str(policy), str(work / f"plan-{accounts}"), str(mps),
                                 str(gap), str(time_limit)])
        info["process_s"] = wall
        ours.append(info)
        wall, info = timed_json([str(HERE / "bare_highs.py"), str(mps), str(gap), str(time_limit)])
        info["process_s"] = wall
        bare.append(info)

    def med(rows, key):
        return statistics.median(r[key] for r in rows)

    first = ours[0]
    row = {
        "accounts": accounts, "candidates": first["candidates"], "options": first["options"],
        "status": first["status"], "gap": first["gap"], "key_accounts": first["key_accounts"],
        "verified": all(r["verified"] for r in ours),
        "objective": first["objective"], "greedy_objective": first["greedy_objective"],
        "greedy_feasible": first["greedy_feasible"],
        "build_s": med(ours, "build_s"), "solver_s": med(ours, "solver_s"),
        "end_to_end_s": med(ours, "process_s"), "in_process_s": med(ours, "end_to_end_s"),
        "import_s": med(ours, "import_s"), "peak_mib": max(r["peak_mib"] for r in ours),
        "bare_solve_s": med(bare, "solve_s"), "bare_process_s": med(bare, "process_s"),
        "bare_objective": bare[0]["objective"], "bare_status": bare[0]["status"], "bare_gap": bare[0]["gap"],
        "runs": runs, "time_limit": time_limit,
    }
    row["ratio_end_to_end_vs_bare"] = row["end_to_end_s"] / row["bare_process_s"]
    row["ratio_solver_vs_bare"] = row["solver_s"] / row["bare_solve_s"]
    if row["greedy_objective"] and row["objective"] is not None:
        row["optimum_vs_greedy_pct"] = 100 * (row["objective"] - row["greedy_objective"]) / abs(row["greedy_objective"])
    return row


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        "# kamopt benchmark results", "",
        f"{m['date']} · {m['cores']} cores · Python {m['python']} · HiGHS {m['highs']} · "
        f"`{result['command']}` · medians of {result['repeat']} runs", "",
        "## Screening", "",
        "| accounts | read tables (s) | screening (s) | screening per 100,000 (s) | goal |",
        "|---:|---:|---:|---:|---|",
    ]
    s = result["screening"]
    lines.append(f"| {s['accounts']:,} | {s['read_s']:.2f} | {s['screen_s']:.3f} | "
                 f"{s['screen_s_per_100k']:.3f} | < 1 s |")
    lines += [
        "", f"## Solve (gap {100 * result['gap']:g} %, time limit {result['time_limit']:g} s)", "",
        "| accounts | options | status (gap) | key accounts | build (s) | solver (s) | end to end (s) | "
        "peak MiB | bare HiGHS (s) | bare status | end to end / bare | optimum vs greedy | runs |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in result["solve"]:
        greedy = f"+{r['optimum_vs_greedy_pct']:.1f} %" if r.get("optimum_vs_greedy_pct") is not None else "—"
        lines.append(
            f"| {r['accounts']:,} | {r['options']:,} | {r['status']} ({100 * (r['gap'] or 0):.3f} %) | "
            f"{r['key_accounts']} | {r['build_s']:.2f} | {r['solver_s']:.2f} | {r['end_to_end_s']:.2f} | "
            f"{r['peak_mib']:.0f} | {r['bare_process_s']:.2f} | {r['bare_status']} | "
            f"{r['ratio_end_to_end_vs_bare']:.2f} x | {greedy} | {r['runs']} |")
    lines += [
        "", "End to end is the wall time of a whole `kamopt solve` process (interpreter start, "
        "import, read, screen, build, solve, verify, greedy baseline, write). Bare HiGHS is the "
        "wall time of a process that only imports highspy, reads the same model as MPS and solves "
        "it with the same gap and time limit. Goals: 5,000 accounts < 2 s, 20,000 < 15 s, "
        "end to end <= 1.3 x bare.", "",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,5000,20000", help="solve sizes (accounts)")
    ap.add_argument("--screen", type=int, default=100_000, help="screening size (accounts)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--gap", type=float, default=1e-4)
    ap.add_argument("--time-limit", type=float, default=60.0,
                    help="solver seconds, both sides (HiGHS may overrun it inside a sub-MIP)")
    ap.add_argument("--quick", action="store_true", help="small sizes, one run: a smoke test")
    ap.add_argument("--work", type=Path, default=None, help="keep generated instances here")
    ap.add_argument("--named-kams", action="store_true", help="plan named KAMs (kams.csv, fit table)")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    if args.quick:
        sizes, args.screen, args.repeat = [300, 1000], 10_000, 1

    import kamopt
    from kamopt.model.solvers import quiet_highs

    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        screening = bench_screening(work, args.screen, args.repeat)
        print(f"screening {args.screen:,}: {screening['screen_s']:.3f} s", flush=True)
        solves = []
        for n in sizes:
            row = bench_solve(work, n, args.repeat, args.gap, args.time_limit, args.named_kams)
            print(f"solve {n:,}: {row['status']} end-to-end {row['end_to_end_s']:.2f} s, "
                  f"bare {row['bare_process_s']:.2f} s, ratio {row['ratio_end_to_end_vs_bare']:.2f}", flush=True)
            solves.append(row)
    h = quiet_highs()
    result = {
        "command": "python bench/run.py" + (" --quick" if args.quick else "")
        + (" --named-kams" if args.named_kams else ""),
        "named_kams": args.named_kams, "gap": args.gap, "time_limit": args.time_limit,
        "repeat": args.repeat,
        "machine": {"date": datetime.date.today().isoformat(), "cores": os.cpu_count(),
                    "python": platform.python_version(), "kamopt": kamopt.__version__,
                    "highs": f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"},
        "screening": screening, "solve": solves,
    }
    if not args.quick:
        stem = "results-named-kams" if args.named_kams else "results"
        (HERE / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        (HERE / f"{stem}.md").write_text(markdown(result), encoding="utf-8")
        print(f"written {HERE / stem}.md and {stem}.json")
    else:
        print(markdown(result))


if __name__ == "__main__":
    main()
