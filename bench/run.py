"""kamopt benchmark suite: one command, every measure of issue 7, interleaved.

    make bench                                  # or: .venv/bin/python bench/run.py
    .venv/bin/python bench/run.py --quick       # smoke run (300 / 1,000 accounts), prints only
    .venv/bin/python bench/run.py --only solve,plain --sizes 1000,5000   # a subset

Generates instances with `kamopt generate` (seed 1, so every run measures the same
models), then measures, interleaving what it compares so that load on the machine hits
both sides alike:

* screening  - screening of a 100,000-account instance, per 100,000 accounts;
* solve      - per size (1,000 / 5,000 / 20,000 accounts, pool-level KAM capacity): model
               build, solver, end-to-end process wall time and peak memory of a
               `kamopt solve` process (bench/solve_one.py), against HiGHS alone on the
               same model read from MPS (bench/bare_highs.py, the floor); optimum vs greedy;
* named      - the same on the 1,000 and 5,000 instances with named KAMs (kams.csv, fit);
* plain      - inside the solve / named rows: the same problem written the obvious way in
               PuLP (bench/plain_pulp.py), the peer baseline, and its objective as a
               cross-check of kamopt's formulation;
* cbc        - inside the solve rows: `kamopt solve --solver cbc` against HiGHS;
* compare    - `kamopt compare POLICY S1..S5` (5 generated what-if scenarios) against
               sequential `kamopt solve` processes of the base and each scenario;
* frontier   - a 20-point `kamopt frontier` against one solve and against single
               `kamopt solve` processes of its points.

Writes bench/results.md and bench/results.json (a subset run writes
bench/results-partial.*; --quick writes nothing). Figures are medians of --repeat runs;
compare ratios, not seconds, across machines. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable
PARTS = ("screening", "solve", "named", "plain", "cbc", "compare", "frontier")


def kamopt_command() -> list[str]:
    """The `kamopt` command line of this interpreter's environment."""
    exe = Path(PY).with_name("kamopt")
    if exe.exists():
        return [str(exe)]
    return [PY, "-c", "import sys; from kamopt.cli import main; sys.exit(main())"]


KAMOPT = kamopt_command()


# --------------------------------------------------------------------------- processes
def last_json(text: str) -> dict:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line in the output")


def timed_json(args: list[str], *, fatal: bool = True, timeout: float | None = None) -> tuple[float, dict]:
    """Run a helper script; (process wall seconds, its JSON line). A failure stops the
    benchmark, unless ``fatal`` is false: then the dict is ``{"error": ...}``."""
    t = time.perf_counter()
    # own process group: a time-out also ends the solver processes it started (PuLP's cbc)
    proc = subprocess.Popen([PY, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        error = f"killed after {timeout:.0f} s"
    else:
        if proc.returncode == 0:
            return time.perf_counter() - t, last_json(stdout)
        error = f"exit {proc.returncode}: {(stderr.strip().splitlines() or ['?'])[-1][:200]}"
    if fatal:
        raise SystemExit(f"{' '.join(args)} failed ({error}):\n{stderr[-3000:]}")
    print(f"  {Path(args[0]).name} failed: {error}", file=sys.stderr, flush=True)
    return time.perf_counter() - t, {"error": error}


def timed_cli(args: list[str], ok: tuple[int, ...] = (0, 3, 4)) -> tuple[float, int]:
    """Run a `kamopt` command; (process wall seconds, exit code). Exit codes outside ``ok``
    (0 solved, 3 infeasible, 4 time limit without a plan) stop the benchmark."""
    t = time.perf_counter()
    done = subprocess.run([*KAMOPT, *args], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    if done.returncode not in ok:
        raise SystemExit(f"kamopt {' '.join(args)} exited {done.returncode}:\n"
                         f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return wall, done.returncode


def cli_solver_args(opts) -> list[str]:
    out = ["--gap", str(opts.gap), "--time-limit", str(opts.time_limit)]
    return out + (["--threads", str(opts.threads)] if opts.threads > 0 else [])


def med(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def rel_diff(a: float | None, b: float | None) -> float | None:
    """``(a - b) / max(1, |b|)``: positive when ``a`` is the better (higher) objective."""
    if a is None or b is None:
        return None
    return (a - b) / max(1.0, abs(b))


def instance(work: Path, accounts: int, named_kams: bool) -> Path:
    """The policy of the seeded instance of this size (generated on first use)."""
    from kamopt.generate import generate

    folder = work / f"solve-{accounts}{'-kams' if named_kams else ''}"
    if not folder.exists():
        generate(accounts, 1, folder, named_kams=named_kams)
    return folder / "policy.yaml"


def label(accounts: int, named_kams: bool) -> str:
    return f"{accounts:,}" + (" (named KAMs)" if named_kams else "")


# --------------------------------------------------------------------------- screening
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


# --------------------------------------------------------------------------- solve rows
def bench_solve(work: Path, accounts: int, named_kams: bool, opts, *, plain: bool, cbc: bool) -> dict:
    """kamopt vs bare HiGHS (vs plain PuLP) interleaved; CBC once, in the first round."""
    policy = instance(work, accounts, named_kams)
    tag = f"{accounts}{'-kams' if named_kams else ''}"
    mps = work / f"model-{tag}.mps"
    gap, limit, threads = str(opts.gap), str(opts.time_limit), str(opts.threads)
    ours, bare, peer = [], [], []
    cbc_row = None
    wanted = opts.repeat
    # the plain peer takes minutes at 20,000 accounts: there it runs in the first round only
    # (like CBC); kamopt and the bare floor, ~10 s each, keep their medians
    peer_rounds = 1 if accounts >= 20_000 else opts.repeat
    subprocess.run([PY, str(HERE / "export_mps.py"), str(policy), str(mps)], check=True)  # unmeasured
    for i in range(wanted):  # interleaved: kamopt, HiGHS, PuLP, kamopt, HiGHS, PuLP...
        wall, info = timed_json([str(HERE / "solve_one.py"), str(policy), str(work / f"plan-{tag}"),
                                 gap, limit, "highs", threads])
        ours.append({**info, "process_s": wall})
        wall, info = timed_json([str(HERE / "bare_highs.py"), str(mps), gap, limit, threads])
        bare.append({**info, "process_s": wall})
        # the secondary measures may fail or hang without losing the run: reported as such
        guard = 4 * opts.time_limit + 600
        if plain and i < peer_rounds and not (peer and "error" in peer[-1]):
            wall, info = timed_json([str(HERE / "plain_pulp.py"), str(policy), gap, limit, threads],
                                    fatal=False, timeout=guard)
            peer.append({**info, "process_s": wall})
        if cbc and i == 0:
            wall, info = timed_json([str(HERE / "solve_one.py"), str(policy), str(work / f"plan-{tag}-cbc"),
                                     gap, limit, "cbc", threads], fatal=False, timeout=guard)
            cbc_row = {**info, "process_s": wall}
        if ours[0]["status"] != "optimal":
            break  # time-limited: another run would measure the time limit again

    first = ours[0]
    row = {
        "label": label(accounts, named_kams), "accounts": accounts, "named_kams": named_kams,
        "candidates": first["candidates"], "options": first["options"],
        "status": first["status"], "gap": first["gap"], "key_accounts": first["key_accounts"],
        "verified": all(r["verified"] for r in ours),
        "objective": first["objective"], "greedy_objective": first["greedy_objective"],
        "greedy_feasible": first["greedy_feasible"],
        "build_s": med(ours, "build_s"), "solver_s": med(ours, "solver_s"),
        "end_to_end_s": med(ours, "process_s"), "in_process_s": med(ours, "end_to_end_s"),
        "import_s": med(ours, "import_s"), "write_s": med(ours, "write_s"),
        "peak_mib": max(r["peak_mib"] for r in ours),
        "bare_solve_s": med(bare, "solve_s"), "bare_process_s": med(bare, "process_s"),
        "bare_objective": bare[0]["objective"], "bare_status": bare[0]["status"], "bare_gap": bare[0]["gap"],
        "runs": len(ours), "time_limit": opts.time_limit,
        "kamopt_runs": ours, "bare_runs": bare,
    }
    row["ratio_end_to_end_vs_bare"] = row["end_to_end_s"] / row["bare_process_s"]
    row["ratio_solver_vs_bare"] = row["solver_s"] / row["bare_solve_s"]
    row["optimum_vs_greedy_pct"] = None
    if row["greedy_objective"] and row["objective"] is not None:
        row["optimum_vs_greedy_pct"] = 100 * (row["objective"] - row["greedy_objective"]) / abs(row["greedy_objective"])
    if peer and "error" in peer[-1]:
        row["plain"] = {"error": peer[-1]["error"], "process_s": peer[-1]["process_s"]}
    elif peer:
        p0 = peer[0]
        row["plain"] = {
            "solver": p0["solver"], "status": p0["status"], "objective": p0["objective"], "gap": p0["gap"],
            "variables": p0["variables"], "constraints": p0["constraints"],
            "process_s": med(peer, "process_s"), "model_s": med(peer, "model_s"),
            "solve_s": med(peer, "solve_s"), "screen_s": med(peer, "screen_s"),
            "peak_mib": max(r["peak_mib"] for r in peer), "runs": peer,
        }
        row["ratio_kamopt_vs_plain"] = row["end_to_end_s"] / row["plain"]["process_s"]
        row["objective_rel_diff_vs_plain"] = rel_diff(row["objective"], p0["objective"])
    if cbc_row is not None and "error" in cbc_row:
        row["cbc"] = {"error": cbc_row["error"], "process_s": cbc_row["process_s"]}
    elif cbc_row is not None:
        row["cbc"] = {
            "status": cbc_row["status"], "time_limited": cbc_row["status"] != "optimal",
            "objective": cbc_row["objective"], "gap": cbc_row["gap"],
            "process_s": cbc_row["process_s"], "build_s": cbc_row["build_s"], "solver_s": cbc_row["solver_s"],
            "peak_mib": cbc_row["peak_mib"], "verified": cbc_row["verified"],
            "objective_rel_diff_vs_highs": rel_diff(cbc_row["objective"], row["objective"]),
            "ratio_vs_highs": cbc_row["process_s"] / row["end_to_end_s"],
        }
    return row


# --------------------------------------------------------------------------- compare
def write_scenarios(work: Path, accounts: int, policy: Path) -> list[Path]:
    """Five what-if files over the generated policy (ids read from it)."""
    import yaml

    spec = yaml.safe_load(policy.read_text(encoding="utf-8"))
    res, pf = spec["resources"], spec["portfolio"]
    folder = work / f"scenarios-{accounts}"
    folder.mkdir(parents=True, exist_ok=True)
    base = os.path.relpath(policy, folder)
    hiring = [pid for pid, pool in res["kam_pools"].items() if pool.get("hiring")]
    names = [n for n in ("Elena Martín", "Kenji Tanaka", "Olga Petrova", "Samir Haddad", "Ingrid Nilsen")
             if n not in res["sponsors"]][:2]
    rule = spec["eligibility"]["solvency"]
    solvency = ("eligibility.solvency.rule" if isinstance(rule, dict) else "eligibility.solvency")
    push = max(1, round(0.12 * pf["key_accounts"]["max"]))
    files = {
        "hiring-freeze": {
            "description": "Headcount freeze: no KAM pool may hire.",
            "set": {"resources": {"kam_pools": {pid: {"hiring": {"max_fte": 0}} for pid in hiring}}},
        },
        "budget-cut": {"description": "Finance cuts the annual budget by 20 %.",
                       "scale": {"resources.budget": 0.8}},
        "more-sponsors": {
            "description": "Two more executives sponsor key accounts.",
            "add": {"resources.sponsors": {
                names[0]: {"title": "CHRO", "slots": 3,
                           "affinity": "industry in ['Retail', 'Healthcare', 'Public Administration', 'Insurance']"},
                names[1]: {"title": "CDO", "slots": 3,
                           "affinity": "industry in ['Telecom', 'Banking', 'Manufacturing', 'Logistics']"},
            }},
        },
        "strict-solvency": {"description": "Credit score of at least 6 (was 4).",
                            "set": {solvency: "credit_score >= 6"}},
        "public-sector-push": {
            "description": f"At least {push} public-sector key accounts (soft), potential +40 %.",
            "add": {"portfolio.quotas": {"public_sector_push": {
                "accounts": "segment == 'Public Sector'", "min": push, "soft": {"penalty": 50000}}}},
            "adjust": [{"field": "expansion_potential", "where": "segment == 'Public Sector'", "scale": 1.4,
                        "reason": "e-government offer"}],
        },
    }
    paths = []
    for name, body in files.items():
        path = folder / f"{name}.yaml"
        doc = {"scenario": name, "description": body.pop("description"), "base": base, **body}
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
        paths.append(path)
    return paths


def read_summary(folder: Path) -> dict:
    try:
        return json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def bench_compare(work: Path, accounts: int, opts) -> dict:
    """One `kamopt compare` process against sequential `kamopt solve` processes, interleaved."""
    from kamopt.whatif import BASE, folder_name

    policy = instance(work, accounts, False)
    scenarios = write_scenarios(work, accounts, policy)
    solver = cli_solver_args(opts)
    runs = [(BASE, policy)] + [(p.stem, p) for p in scenarios]
    compares, singles = [], []
    cmp_dir = work / f"compare-{accounts}"
    for _ in range(opts.multi_repeat):
        wall, code = timed_cli(["compare", str(policy), *map(str, scenarios), "--out", str(cmp_dir), "--force",
                                *solver])
        compares.append({"wall_s": wall, "exit": code})
        one = {}
        for name, path in runs:
            out = work / f"single-{accounts}-{name}"
            wall, code = timed_cli(["solve", str(path), "--out", str(out), "--force", *solver])
            s = read_summary(out)
            one[name] = {"wall_s": wall, "exit": code, "status": s.get("status"), "objective": s.get("objective")}
        singles.append(one)
    per_run = {}
    for name, _ in runs:
        s = read_summary(cmp_dir / folder_name(name))
        single_obj = singles[0][name]["objective"]
        per_run[name] = {
            "single_s": statistics.median(r[name]["wall_s"] for r in singles),
            "single_status": singles[0][name]["status"], "single_objective": single_obj,
            "compare_status": s.get("status"), "compare_objective": s.get("objective"),
            "objective_rel_diff": rel_diff(s.get("objective"), single_obj),
        }
    compare_s = statistics.median(r["wall_s"] for r in compares)
    sum5 = sum(per_run[name]["single_s"] for name, _ in runs[1:])
    sum6 = sum5 + per_run[BASE]["single_s"]
    diffs = [abs(r["objective_rel_diff"]) for r in per_run.values() if r["objective_rel_diff"] is not None]
    return {
        "accounts": accounts, "scenarios": [p.stem for p in scenarios], "workers": os.cpu_count(),
        "compare_s": compare_s, "compare_exit": compares[0]["exit"],
        "singles_5_s": sum5, "singles_6_s": sum6,
        "ratio_vs_5_singles": compare_s / sum5, "ratio_vs_6_singles": compare_s / sum6,
        "max_objective_rel_diff": max(diffs) if diffs else None,
        "per_run": per_run, "runs": len(compares), "compare_runs": compares, "single_runs": singles,
    }


# --------------------------------------------------------------------------- frontier
def bench_frontier(work: Path, accounts: int, opts) -> dict:
    """A `kamopt frontier` process against one solve and against single solves of its points."""
    from frontier import sweep_values

    policy = instance(work, accounts, False)
    values = sweep_values(policy, opts.frontier_points)
    solver = cli_solver_args(opts)
    sampled = accounts >= opts.frontier_sample_from and 0 < opts.frontier_singles < len(values)
    if sampled:
        k = opts.frontier_singles
        picks = sorted({values[round(i * (len(values) - 1) / max(1, k - 1))] for i in range(k)})
    else:
        picks = list(values)
    one, _ = timed_cli(["solve", str(policy), "--out", str(work / f"one-{accounts}"), "--force", *solver])
    front_dir = work / f"front-{accounts}"
    sweep, code = timed_cli(["frontier", str(policy), "--vary", "portfolio.key_accounts.max",
                             "--values", ",".join(map(str, values)), "--out", str(front_dir), "--force", *solver])
    info = json.loads((front_dir / "frontier.json").read_text(encoding="utf-8"))
    singles = []
    for v in picks:
        out = work / f"point-{accounts}-{v}"
        wall, code_v = timed_cli(["solve", str(policy), "--set", f"portfolio.key_accounts.max={v}",
                                  "--out", str(out), "--force", *solver])
        singles.append({"value": v, "wall_s": wall, "exit": code_v, "status": read_summary(out).get("status")})
    measured = sum(r["wall_s"] for r in singles)
    total = measured * len(values) / len(picks)
    return {
        "accounts": accounts, "points": len(values), "values": f"{values[0]}..{values[-1]}",
        "one_solve_s": one, "frontier_s": sweep, "frontier_exit": code, "ratio_vs_one": sweep / one,
        "singles_measured": len(picks), "singles_estimated": sampled,
        "singles_measured_s": measured, "singles_s": total, "ratio_vs_singles": sweep / total,
        "singles_infeasible": sum(r["exit"] == 3 for r in singles),
        "points_solved": info.get("points_solved"), "recommended": info.get("recommended_value"),
        "rule": info.get("rule"), "single_runs": singles,
    }


# --------------------------------------------------------------------------- report
def goals(result: dict) -> list[dict]:
    """Each goal of issue 7: what it asks, what was measured, met or not."""
    out: list[dict] = []
    rows = {(r["accounts"], r["named_kams"]): r for r in result.get("solve", [])}

    def add(goal: str, target: str, measured: str | None, met: bool | None, floor: str | None = None) -> None:
        out.append({"goal": goal, "target": target, "measured": measured or "not measured",
                    "met": met if measured else None, "floor": floor})

    for n, limit in ((5000, 2.0), (20000, 15.0)):
        r = rows.get((n, False))
        if r is None:
            add(f"{n:,} accounts end to end, gap 0.01 %", f"< {limit:g} s", None, None)
            continue
        ok = r["end_to_end_s"] < limit and r["status"] == "optimal" and (r["gap"] or 0) <= result["gap"] + 1e-12
        bare = r["bare_process_s"]
        add(f"{n:,} accounts end to end, gap {100 * result['gap']:g} %", f"< {limit:g} s",
            f"{r['end_to_end_s']:.2f} s ({r['status']}, gap {100 * (r['gap'] or 0):.3f} %)", ok,
            f"bare HiGHS alone {bare:.2f} s: {'within' if bare < limit else 'misses'} the target")
    for r in result.get("solve", []):
        room = 1.3 * r["bare_process_s"] - r["solver_s"]
        outside = r["end_to_end_s"] - r["solver_s"]
        add(f"end to end / bare HiGHS, {r['label']}", "<= 1.3 x",
            f"{r['ratio_end_to_end_vs_bare']:.2f} x", r["ratio_end_to_end_vs_bare"] <= 1.3,
            f"room outside HiGHS {room:.2f} s; kamopt takes {outside:.2f} s there "
            f"(import {r['import_s']:.2f} s, writing {r['write_s']:.2f} s); "
            f"bare HiGHS spends {r['bare_process_s'] - r['bare_solve_s']:.2f} s there")
    if not result.get("solve"):
        add("end to end / bare HiGHS", "<= 1.3 x", None, None)
    peers = [r for r in result.get("solve", []) if "plain" in r]
    for r in peers:
        if "error" in r["plain"]:
            add(f"faster than plain PuLP, {r['label']}", ">= 3 x (kamopt / plain <= 0.33)",
                f"plain PuLP failed ({r['plain']['error']})", None)
            continue
        speedup = 1 / r["ratio_kamopt_vs_plain"]
        at_floor = r["plain"]["process_s"] / r["bare_process_s"]
        add(f"faster than plain PuLP, {r['label']}", ">= 3 x (kamopt / plain <= 0.33)",
            f"{speedup:.2f} x (kamopt / plain {r['ratio_kamopt_vs_plain']:.2f})", speedup >= 3,
            f"bare HiGHS alone {at_floor:.2f} x faster than plain: "
            f"{'within' if at_floor >= 3 else 'misses'} the target"
            + ("" if r["status"] == "optimal" else " (kamopt and the floor stop at the time limit)"))
    if not peers:
        add("faster than plain PuLP", ">= 3 x (kamopt / plain <= 0.33)", None, None)
    s = result.get("screening")
    add("screening per 100,000 accounts", "< 1 s",
        f"{s['screen_s_per_100k']:.3f} s" if s else None, s is not None and s["screen_s_per_100k"] < 1)
    for f in result.get("frontier", []):
        add(f"{f['points']}-point frontier / one solve, {f['accounts']:,} accounts", "<= 5 x",
            f"{f['ratio_vs_one']:.2f} x", f["ratio_vs_one"] <= 5)
    if not result.get("frontier"):
        add("20-point frontier / one solve", "<= 5 x", None, None)
    r = rows.get((20000, False))
    add("peak memory, 20,000 accounts", "< 1 GiB (1,024 MiB)",
        f"{r['peak_mib']:.0f} MiB" if r else None, r is not None and r["peak_mib"] < 1024)
    return out


def _f(x: float | None, fmt: str = ".2f", none: str = "—") -> str:
    return none if x is None else format(x, fmt)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:+.4f} %"


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        "# kamopt benchmark results", "",
        f"{m['date']} · {m['cores']} cores ({m['cpu']}) · Python {m['python']} · kamopt {m['kamopt']} · "
        f"HiGHS {m['highs']} · PuLP {m['pulp']} · medians of {result['repeat']} runs · "
        f"gap {100 * result['gap']:g} % · time limit {result['time_limit']:g} s · "
        f"threads {result['threads'] or 'solver default'} · whole run {result['duration_s'] / 60:.1f} min", "",
        f"Command: `{result['command']}`", "",
    ]
    g = result["goals"]
    if g:
        lines += ["## Goals (issue 7)", "", "| goal | target | measured | met | the solver's floor |",
                  "|---|---|---|---|---|"]
        for x in g:
            met = "—" if x["met"] is None else ("yes" if x["met"] else "**no**")
            lines.append(f"| {x['goal']} | {x['target']} | {x['measured']} | {met} | {x.get('floor') or '—'} |")
        lines += ["", "The solver's floor: where the goal stands if kamopt added nothing to HiGHS solving "
                  "kamopt's own model (the bare HiGHS process below, its wall time as the end-to-end time). "
                  "A goal the floor misses cannot be met by any work outside the solver, only by a model "
                  "HiGHS solves faster (or another machine). For the ratio to bare HiGHS: the time the goal "
                  "leaves kamopt outside HiGHS (1.3 x the bare process, less kamopt's solver time) against "
                  "what kamopt spends there.", ""]
    s = result.get("screening")
    if s:
        lines += ["## Screening", "",
                  "| accounts | read tables (s) | screening (s) | screening per 100,000 (s) | goal |",
                  "|---:|---:|---:|---:|---|",
                  f"| {s['accounts']:,} | {s['read_s']:.2f} | {s['screen_s']:.3f} | "
                  f"{s['screen_s_per_100k']:.3f} | < 1 s |", ""]
    solves = result.get("solve", [])
    if solves:
        lines += [
            "## Solve: kamopt against bare HiGHS", "",
            "| instance | options | status (gap) | key accounts | build (s) | solver (s) | end to end (s) | "
            "peak MiB | bare HiGHS (s) | bare status | end to end / bare | solver / bare solve | runs |",
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
        ]
        for r in solves:
            lines.append(
                f"| {r['label']} | {r['options']:,} | {r['status']} ({100 * (r['gap'] or 0):.3f} %) | "
                f"{r['key_accounts']} | {r['build_s']:.2f} | {r['solver_s']:.2f} | {r['end_to_end_s']:.2f} | "
                f"{r['peak_mib']:.0f} | {r['bare_process_s']:.2f} | {r['bare_status']} | "
                f"{r['ratio_end_to_end_vs_bare']:.2f} x | {r['ratio_solver_vs_bare']:.2f} x | {r['runs']} |")
        lines += [
            "", "End to end: wall time of a whole `kamopt solve`-equivalent process (bench/solve_one.py: "
            "interpreter start, import, read, screen, build, solve, verify, greedy baseline, write the plan). "
            "Bare HiGHS: wall time of a process that only imports highspy, reads the same model as MPS and "
            "solves it with the same gap, time limit and threads (the floor). A time-limited instance runs once.",
            "",
        ]
    peers = [r for r in solves if "plain" in r]
    if peers:
        backend = next((r["plain"]["solver"] for r in peers if "solver" in r["plain"]), "HiGHS")
        lines += [
            "## Peer baseline: the same problem written plainly in PuLP", "",
            "| instance | plain variables / rows | plain status (gap) | plain model (s) | plain solve (s) | "
            "plain end to end (s) | plain peak MiB | kamopt end to end (s) | kamopt / plain | "
            "objective kamopt vs plain |",
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in peers:
            p = r["plain"]
            if "error" in p:
                lines.append(f"| {r['label']} | — | failed: {p['error']} | — | — | {p['process_s']:.2f} | — | "
                             f"{r['end_to_end_s']:.2f} | — | — |")
                continue
            lines.append(
                f"| {r['label']} | {p['variables']:,} / {p['constraints']:,} | {p['status']} "
                f"({_f(None if p['gap'] is None else 100 * p['gap'], '.3f')} %) | {p['model_s']:.2f} | "
                f"{p['solve_s']:.2f} | {p['process_s']:.2f} | {p['peak_mib']:.0f} | {r['end_to_end_s']:.2f} | "
                f"{r['ratio_kamopt_vs_plain']:.2f} | {_pct(r['objective_rel_diff_vs_plain'])} |")
        lines += [
            "", "Plain: bench/plain_pulp.py, kamopt's screening and Problem, then one dict of variables and one "
            "`lpSum` per constraint (binary sponsor per allowed pair, no aggregation, no MIP start), solved "
            f"by PuLP's {backend} with the same gap, time limit and threads. Its process "
            "does less than kamopt's (no verification, greedy baseline or plan files). kamopt / plain below "
            "0.33 meets the goal. The objective difference is (kamopt - plain) / |plain|: both solve the same "
            "problem to the same gap, so it should stay within about twice the gap.", "",
        ]
    cbcs = [r for r in solves if "cbc" in r]
    if cbcs:
        lines += [
            "## CBC against HiGHS (kamopt solve --solver cbc)", "",
            "| instance | CBC status | CBC build (s) | CBC solver (s) | CBC end to end (s) | HiGHS end to end (s) | "
            "CBC / HiGHS | objective CBC vs HiGHS | verified |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for r in cbcs:
            c = r["cbc"]
            if "error" in c:
                lines.append(f"| {r['label']} | failed: {c['error']} | — | — | {c['process_s']:.2f} | "
                             f"{r['end_to_end_s']:.2f} | — | — | — |")
                continue
            status = c["status"] + (" (time limit)" if c["time_limited"] and c["status"] == "feasible" else "")
            lines.append(
                f"| {r['label']} | {status} | {c['build_s']:.2f} | {c['solver_s']:.2f} | {c['process_s']:.2f} | "
                f"{r['end_to_end_s']:.2f} | {c['ratio_vs_highs']:.2f} x | {_pct(c['objective_rel_diff_vs_highs'])} | "
                f"{'yes' if c['verified'] else 'no'} |")
        lines += ["", "CBC gets the same gap and time limit (one run each); a negative objective difference "
                  "means CBC's plan is worse. \"time limit\": CBC stopped at the time limit with a plan.", ""]
    cmps = result.get("compare", [])
    if cmps:
        lines += [
            "## Compare: 5 scenarios in one `kamopt compare` against single solves", "",
            "| accounts | compare (s) | 5 scenario solves (s) | base + 5 solves (s) | compare / 5 solves | "
            "compare / 6 solves | statuses | max objective difference | runs |",
            "|---:|---:|---:|---:|---:|---:|---|---:|---:|",
        ]
        for c in cmps:
            statuses = ", ".join(f"{k}: {v['compare_status']}" for k, v in c["per_run"].items())
            lines.append(
                f"| {c['accounts']:,} | {c['compare_s']:.1f} | {c['singles_5_s']:.1f} | {c['singles_6_s']:.1f} | "
                f"{c['ratio_vs_5_singles']:.2f} | {c['ratio_vs_6_singles']:.2f} | {statuses} | "
                f"{_pct(c['max_objective_rel_diff'])} | {c['runs']} |")
        lines += ["", f"Scenarios (bench/run.py writes them over the generated policy): "
                  f"{', '.join(cmps[0]['scenarios'])}. `kamopt compare` also solves the base policy, in "
                  f"{cmps[0]['workers']} worker processes; the single solves are sequential `kamopt solve` "
                  "processes, one per scenario (and one for the base, for the like-for-like ratio).", ""]
    fronts = result.get("frontier", [])
    if fronts:
        lines += [
            "## Frontier: one `kamopt frontier` against single solves", "",
            "| accounts | points | max key accounts swept | one solve (s) | frontier (s) | frontier / one solve | "
            "single solves of the points (s) | frontier / single solves | points with a plan | recommended |",
            "|---:|---:|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for f in fronts:
            singles = f"{f['singles_s']:.1f}"
            if f["singles_estimated"]:
                singles += f" (est. from {f['singles_measured']})"
            lines.append(
                f"| {f['accounts']:,} | {f['points']} | {f['values']} | {f['one_solve_s']:.1f} | "
                f"{f['frontier_s']:.1f} | {f['ratio_vs_one']:.2f} | {singles} | {f['ratio_vs_singles']:.2f} | "
                f"{f['points_solved']} | {_f(f['recommended'], 'g')} ({f['rule']}) |")
        lines += ["", "The frontier sweeps `portfolio.key_accounts.max`; single solves are `kamopt solve "
                  "--set portfolio.key_accounts.max=V` processes (an infeasible point also runs the diagnosis, "
                  "as a user would get). \"est. from k\": k evenly spaced points were solved and their total "
                  "scaled to all points.", ""]
    if solves:
        lines += ["## Solution quality: optimum against the greedy baseline", "",
                  "| instance | optimum | greedy | greedy keeps every rule | optimum vs greedy | verified |",
                  "|---|---:|---:|---|---:|---|"]
        for r in solves:
            lines.append(
                f"| {r['label']} | {_f(r['objective'], ',.0f')} | {_f(r['greedy_objective'], ',.0f')} | "
                f"{'yes' if r['greedy_feasible'] else 'no'} | "
                f"{'—' if r['optimum_vs_greedy_pct'] is None else format(r['optimum_vs_greedy_pct'], '+.1f') + ' %'}"
                f" | {'yes' if r['verified'] else 'no'} |")
        lines += ["", "Greedy: kamopt's spreadsheet baseline (incumbents first, then best score first, highest "
                  "tier whose resources still fit, no hiring), priced by the same verifier; a greedy plan "
                  "that breaks a rule (\"no\") makes the percentage flattering.", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,5000,20000", help="solve sizes, pool-level KAMs (accounts)")
    ap.add_argument("--named-sizes", default="1000,5000", help="solve sizes with named KAMs")
    ap.add_argument("--cbc-sizes", default="1000,5000,20000", help="solve sizes also run with CBC")
    ap.add_argument("--compare-sizes", default="1000,5000")
    ap.add_argument("--frontier-sizes", default="1000,5000")
    ap.add_argument("--frontier-points", type=int, default=20)
    ap.add_argument("--frontier-singles", type=int, default=5,
                    help="at sizes >= --frontier-sample-from, solve this many of the points singly and scale "
                         "their total to all points (0: solve every point)")
    ap.add_argument("--frontier-sample-from", type=int, default=5000)
    ap.add_argument("--screen", type=int, default=100_000, help="screening size (accounts)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs per solve row (medians; the plain peer runs once at 20,000)")
    ap.add_argument("--multi-repeat", type=int, default=1, help="runs of the compare measure")
    ap.add_argument("--gap", type=float, default=1e-4)
    ap.add_argument("--time-limit", type=float, default=60.0,
                    help="solver seconds, every side (HiGHS may overrun it inside a sub-MIP)")
    ap.add_argument("--threads", type=int, default=0, help="solver threads, every side (0: solver default)")
    ap.add_argument("--only", default=None, help=f"comma-separated parts to run, of: {', '.join(PARTS)} "
                    "(plain and cbc run inside the solve rows, so they imply solve)")
    ap.add_argument("--skip", default="", help="comma-separated parts to leave out")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: small sizes, one run, every measure; prints, writes no results")
    ap.add_argument("--work", type=Path, default=None, help="keep generated instances and outputs here")
    ap.add_argument("--out", default=None, help="results file stem in bench/ (default: results, or "
                    "results-partial for --only / --skip runs)")
    ap.add_argument("--named-kams", action="store_true",
                    help="compatibility: same as --only named --out results-named-kams")
    args = ap.parse_args()

    parts = set(PARTS) if args.only is None else {p.strip() for p in args.only.split(",") if p.strip()}
    if args.named_kams:
        parts = {"named", "plain"} if args.only is None else parts | {"named"}
        args.out = args.out or "results-named-kams"
    parts -= {p.strip() for p in args.skip.split(",") if p.strip()}
    unknown = parts - set(PARTS)
    if unknown:
        ap.error(f"unknown part(s): {', '.join(sorted(unknown))} (known: {', '.join(PARTS)})")
    if "cbc" in parts or ("plain" in parts and "named" not in parts):
        parts.add("solve")
    partial = parts != set(PARTS)
    sizes, named_sizes, cbc_sizes = ints(args.sizes), ints(args.named_sizes), ints(args.cbc_sizes)
    compare_sizes, frontier_sizes = ints(args.compare_sizes), ints(args.frontier_sizes)
    if args.quick:
        sizes, named_sizes, cbc_sizes = [300, 1000], [300], [300]
        compare_sizes, frontier_sizes = [300], [300, 1000]
        args.frontier_points, args.frontier_singles, args.frontier_sample_from = 5, 2, 1000
        args.screen, args.repeat, args.multi_repeat = 10_000, 1, 1

    import highspy  # noqa: F401
    import pulp

    import kamopt
    from kamopt.model.solvers import quiet_highs

    started = time.perf_counter()
    result: dict = {"screening": None, "solve": [], "compare": [], "frontier": []}

    def say(text: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {text}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if "screening" in parts:
            s = bench_screening(work, args.screen, args.repeat)
            say(f"screening {args.screen:,}: {s['screen_s']:.3f} s ({s['screen_s_per_100k']:.3f} s per 100,000)")
            result["screening"] = s
        rows = [(n, False) for n in sizes if "solve" in parts] + [(n, True) for n in named_sizes if "named" in parts]
        for n, named in rows:
            row = bench_solve(work, n, named, args, plain="plain" in parts,
                              cbc="cbc" in parts and not named and n in cbc_sizes)
            text = (f"solve {row['label']}: {row['status']} end to end {row['end_to_end_s']:.2f} s, "
                    f"bare {row['bare_process_s']:.2f} s ({row['ratio_end_to_end_vs_bare']:.2f} x)")
            if "plain" in row and "error" not in row["plain"]:
                text += (f", plain PuLP {row['plain']['process_s']:.2f} s (kamopt / plain "
                         f"{row['ratio_kamopt_vs_plain']:.2f}, objective {_pct(row['objective_rel_diff_vs_plain'])})")
            if "cbc" in row and "error" not in row["cbc"]:
                text += f", CBC {row['cbc']['process_s']:.2f} s {row['cbc']['status']}"
            say(text)
            result["solve"].append(row)
        if "compare" in parts:
            for n in compare_sizes:
                c = bench_compare(work, n, args)
                say(f"compare {n:,}: {c['compare_s']:.1f} s vs 5 solves {c['singles_5_s']:.1f} s "
                    f"({c['ratio_vs_5_singles']:.2f}), base + 5 {c['singles_6_s']:.1f} s "
                    f"({c['ratio_vs_6_singles']:.2f})")
                result["compare"].append(c)
        if "frontier" in parts:
            for n in frontier_sizes:
                f = bench_frontier(work, n, args)
                say(f"frontier {n:,}: {f['points']} points {f['frontier_s']:.1f} s, one solve {f['one_solve_s']:.1f} s "
                    f"({f['ratio_vs_one']:.2f} x), single solves {f['singles_s']:.1f} s "
                    f"({f['ratio_vs_singles']:.2f})")
                result["frontier"].append(f)

    h = quiet_highs()
    command = "python bench/run.py " + " ".join(sys.argv[1:])
    result = {
        "command": command.strip(), "quick": args.quick, "parts": sorted(parts),
        "gap": args.gap, "time_limit": args.time_limit, "threads": args.threads,
        "repeat": args.repeat, "duration_s": time.perf_counter() - started,
        "machine": {"date": datetime.datetime.now().isoformat(timespec="minutes"), "cores": os.cpu_count(),
                    "cpu": cpu_model(), "python": platform.python_version(), "kamopt": kamopt.__version__,
                    "highs": f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}",
                    "pulp": pulp.__version__},
        **result,
    }
    result["goals"] = goals(result)
    if args.quick:
        print(markdown(result))
        return
    stem = args.out or ("results-partial" if partial else "results")
    (HERE / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (HERE / f"{stem}.md").write_text(markdown(result), encoding="utf-8")
    say(f"written {HERE / stem}.md and {stem}.json")


if __name__ == "__main__":
    main()
