"""The frontier: sweep one policy value and watch value, cost and the portfolio move.

``kamopt frontier POLICY --vary portfolio.key_accounts.max --values 20:70:5`` solves the
policy once per value (in worker processes; each worker takes a run of neighbouring
values in order and starts each solve from the previous plan) and reports, per point,
the objective and its marginal change, the cost, counts, hires and utilisation; the
order in which accounts enter the portfolio and those that enter and later leave (the
optimum is not always nested); and a recommended point, saying which rule chose it:

* ``step cost`` (when ``--step-cost`` gives the cost of one more step of the swept value,
  e.g. the yearly cost of one more sponsor slot): the last point before the first step
  whose marginal value falls below that cost;
* ``knee`` (otherwise): the point of the value curve farthest from the straight line
  between its ends (both axes scaled to 0-1): where more of the swept value stops
  paying as much. A curve that is nearly straight has no knee, and the output says so.

Both end points are solved first; the looser one's plan is taken without a solve at
every point where :func:`kamopt.model.optimise.from_relaxation` proves it optimal too
(``solved`` is false there in frontier.csv).

The objective is already net of cost to serve and hiring, so a step whose marginal value
is zero or negative is never worth taking whatever the rule. Infeasible points are solved
for their status only; those next to a feasible point (:meth:`Frontier.infeasible_edges`:
where the policy stops being feasible) are then solved once more with the diagnosis (an
elastic MILP each), which frontier.csv, frontier.json and the CLI give beside the ``kamopt
solve`` line of that point (:meth:`Frontier.solve_command`).

Output folder: frontier.csv, entries.csv, frontier.json, frontier.png, frontier.svg and
plan.xlsx (the recommended point's plan with Frontier and Entries sheets).
"""

from __future__ import annotations

import math
import shlex
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from kamopt.errors import Diagnostic, PolicyError
from kamopt.model.optimise import NOT_RESOLVED
from kamopt.policy.loader import load_policy
from kamopt.report.chart import warm as warm_chart
from kamopt.report.writers import output_folder
from kamopt.runs import DIAGNOSIS_SEPARATOR, Outcome, RunSpec, default_workers, ids_over, run_all, start_workers

MAX_POINTS = 200
CHAIN = 5
"""Points per chain: solved in order in one worker, each from the previous plan."""
KNEE_MIN_DISTANCE = 0.02
"""A curve whose farthest point is closer than this to its chord (on 0-1 axes) has no knee."""
NEAR = 0.07
"""How close (relative) to the loosest plan's use of the swept limit a point's solve is
expected to be about as long as the loosest point's own (:func:`expected_costs`). On the
5,000-account benchmark sweep of ``key_accounts.max`` (the loosest plan has 759 key
accounts), the points 0-7 % below 759 took 5-10 s each with one thread, those 10-20 %
below 1-3 s, those further down about 1 s."""


def parse_values(text: str) -> list[float]:
    """``START:STOP:STEP`` (STOP included when the steps land on it) or ``a,b,c``."""
    origin = f"--values {text}"
    try:
        if ":" in text:
            parts = [float(p) for p in text.split(":")]
            if len(parts) != 3:
                raise ValueError
            start, stop, step = parts
            if step == 0 or (stop - start) / step < 0:
                raise PolicyError(Diagnostic("the step must go from START towards STOP", file=origin,
                                             expected="START:STOP:STEP, e.g. 20:70:5"))
            count = int(math.floor((stop - start) / step + 1e-9)) + 1
            if count > MAX_POINTS:
                raise PolicyError(Diagnostic(f"{count} points is too many", file=origin,
                                             expected=f"at most {MAX_POINTS} points"))
            values = [start + k * step for k in range(count)]
        else:
            values = [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise PolicyError(Diagnostic("cannot read the values", file=origin,
                                     expected="START:STOP:STEP (e.g. 20:70:5) or a list (e.g. 20,30,45)")) from None
    values = [round(v, 10) for v in values]
    if not values or any(not math.isfinite(v) for v in values):
        raise PolicyError(Diagnostic("no values to sweep", file=origin, expected="finite numbers"))
    if len(set(values)) != len(values):
        raise PolicyError(Diagnostic("a value is listed twice", file=origin))
    if len(values) > MAX_POINTS:
        raise PolicyError(Diagnostic(f"{len(values)} points is too many", file=origin,
                                     expected=f"at most {MAX_POINTS} points"))
    return sorted(values)


def show_value(v: float) -> str:
    """A swept value as written in ``--set`` and in tables: ``45``, ``0.35``, ``1800000``."""
    return str(int(v)) if float(v).is_integer() else f"{v:.10g}"


@dataclass(frozen=True)
class Recommendation:
    index: int | None
    """Index of the recommended point, or None when no point solved."""
    rule: str
    """``step cost``, ``knee``, ``no knee``, ``flat`` or ``single point``."""
    reason: str


@dataclass
class Frontier:
    """A sweep's points and what each gave."""

    path: str
    values: list[float]
    base_value: str
    specs: list[RunSpec]
    outcomes: list[Outcome | None]
    interrupted: bool
    recommendation: Recommendation
    step_cost: float | None
    currency: str

    @property
    def finished(self) -> int:
        return sum(o is not None for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        codes = [o.exit_code for o in self.outcomes if o is not None]
        return 0 if any(c == 0 for c in codes) else max(codes, default=0)

    def objectives(self) -> list[float | None]:
        return [o.summary["objective"] if o is not None and o.has_plan else None for o in self.outcomes]

    def infeasible(self) -> list[int]:
        """Points proven infeasible, in value order."""
        return [k for k, o in enumerate(self.outcomes)
                if o is not None and o.ok and o.summary["status"] == "infeasible"]

    def infeasible_edges(self) -> list[int]:
        """Infeasible points next to a point with a plan: where the policy stops being
        feasible, so their diagnosis says what to change (the last infeasible point when no
        point has a plan). Points in value order."""
        infeasible = set(self.infeasible())
        bad = [k in infeasible for k in range(len(self.outcomes))]
        good = [o is not None and o.has_plan for o in self.outcomes]
        if not any(good):
            return [max(k for k, b in enumerate(bad) if b)] if any(bad) else []
        return [k for k, b in enumerate(bad)
                if b and ((k > 0 and good[k - 1]) or (k + 1 < len(good) and good[k + 1]))]

    def diagnosis(self, k: int) -> list[str]:
        """The diagnosis of point ``k`` (which limits conflict, the smallest relaxations):
        given for the infeasible edges, empty for every other point."""
        o = self.outcomes[k]
        return list(o.summary.get("diagnosis") or []) if o is not None and o.ok else []

    def solve_command(self, k: int) -> str:
        """The ``kamopt solve`` command line of point ``k`` (it diagnoses an infeasible point)."""
        spec = self.specs[k]
        return " ".join(["kamopt solve", shlex.quote(spec.policy),
                         *(f"--set {shlex.quote(o)}" for o in spec.overrides), "--out OUT"])


def recommend(x: Sequence[float], y: Sequence[float | None], step_cost: float | None = None) -> Recommendation:
    """The recommended point of a value curve, with the rule that chose it (module docstring)."""
    pts = [(i, float(x[i]), float(v)) for i, v in enumerate(y) if v is not None]
    if not pts:
        return Recommendation(None, "none", "no point of the sweep has a plan")
    if len(pts) == 1:
        return Recommendation(pts[0][0], "single point", "only one point of the sweep has a plan")
    if step_cost is not None:
        for (i0, x0, y0), (_, x1, y1) in zip(pts, pts[1:]):
            gain = y1 - y0
            if gain < step_cost:
                return Recommendation(i0, "step cost", f"the step from {show_value(x0)} to {show_value(x1)} adds "
                                      f"{gain:,.0f}, less than its cost of {step_cost:,.0f}")
        return Recommendation(pts[-1][0], "step cost", f"every step adds more than its cost of {step_cost:,.0f}; "
                              "the sweep may end too early")
    ys = [p[2] for p in pts]
    span_y = max(ys) - min(ys)
    if span_y <= 1e-6 * max(1.0, max(abs(v) for v in ys)):
        return Recommendation(pts[0][0], "flat", "the value does not change over the sweep: the smallest value "
                              "does as well as any")
    x0, xn = pts[0][1], pts[-1][1]
    best, best_d = pts[0][0], 0.0
    for i, xv, yv in pts:
        u = (xv - x0) / (xn - x0)
        w = (yv - min(ys)) / span_y
        chord = (pts[0][2] - min(ys)) / span_y + u * (pts[-1][2] - pts[0][2]) / span_y
        d = abs(w - chord)
        if d > best_d + 1e-12:
            best, best_d = i, d
    if best_d < KNEE_MIN_DISTANCE:
        top = max(pts, key=lambda p: (p[2], -p[1]))
        return Recommendation(top[0], "no knee", "the value changes about the same with every step (no knee); "
                              "recommended: the best value of the sweep")
    return Recommendation(best, "knee", f"the value curve bends most at {show_value(x[best])}: past it each "
                          f"step adds less (it lies {best_d:.2f} off the straight line between the ends, "
                          "on 0-1 scales)")


def frontier(
    policy: str | Path,
    path: str,
    values: Sequence[float],
    out: str | Path,
    *,
    overrides: Sequence[str] = (),
    solver: dict[str, Any] | None = None,
    workers: int | None = None,
    step_cost: float | None = None,
    force: bool = False,
    on_event: Callable[[str, Any], None] | None = None,
) -> Frontier:
    """Solve the policy at each value of ``path``; write the frontier folder and return it."""
    from kamopt.report.writers import check_output_dir

    out = Path(out)
    check_output_dir(out, force)
    start_workers(workers)
    specs, base_value, currency = plan_points(policy, path, values, overrides=overrides, solver=solver)
    # Chains of neighbouring points share warm starts. Their length depends on the sweep
    # only, never on the worker count, so the same sweep gives the same files anywhere.
    chains = [list(range(k, min(k + CHAIN, len(specs)))) for k in range(0, len(specs), CHAIN)]
    # Larger values usually mean larger portfolios and longer solves: start those first, so
    # the short chains fill the gaps at the end instead of a long one running alone.
    chains.reverse()
    n_workers = max(1, workers or default_workers())
    with output_folder(out, force) as folder:
        # Both ends are solved first: on a sweep of a limit one of them is the loosest
        # point, and its plan is taken without a solve wherever it is proven optimal too
        # (e.g. every key_accounts.max at or above the count it chose). The middle chain,
        # the least likely to fall within it, runs beside them (it holds neither end).
        ends = sorted({0, len(specs) - 1})
        early = 0
        if len(chains) >= 3:
            chains.insert(0, chains.pop(len(chains) // 2))
            early = 1
        # The main process only waits while the workers solve: it imports the chart's
        # matplotlib meanwhile (the import lock makes the later import wait, never repeat),
        # from the first run on: the workers have started then (a thread running before
        # would keep them from being forked, :func:`kamopt.runs.fork_is_safe`).
        chart = threading.Thread(target=warm_chart, name="kamopt-chart-import", daemon=True)

        def event(kind: str, payload: Any) -> None:
            if kind == "start" and chart.ident is None:
                chart.start()
            if on_event is not None:
                on_event(kind, payload)

        def longest_first(rest: list[list[int]], done: Sequence[Outcome | None]) -> list[list[int]]:
            cost = expected_costs(values, done)
            if cost is None:
                return rest
            return sorted(rest, key=lambda chain: -sum(cost[i] for i in chain if i not in ends))

        outcomes, interrupted = run_all(specs, chains, workers=n_workers, on_event=event, anchors=ends,
                                        early=early, order=longest_first)
        f = Frontier(path, list(values), base_value, specs, outcomes, interrupted, Recommendation(None, "", ""),
                     step_cost, currency)
        if not interrupted:
            f.interrupted = diagnose_edges(f, n_workers, on_event)
        f.recommendation = recommend(f.values, f.objectives(), step_cost)
        write_frontier(f, folder)
    return f


def expected_costs(values: Sequence[float], outcomes: Sequence[Outcome | None]) -> list[float] | None:
    """A guess at each point's solve time from the end points' outcomes, so that the chains
    expected to take longest start first (the order changes no result, only the wall time);
    None when the ends say too little (then the chains with the most runs start first).

    The looser end is the one with a plan worth more. Its usage row whose limit is the
    swept value (the row the path sets: ``key_accounts`` for ``portfolio.key_accounts.max``)
    tells how much of the limit the loosest plan uses, ``u``. Points on the loose side of
    ``u`` take that plan without a solve (:func:`kamopt.model.optimise.from_relaxation`):
    a quarter of the tight end's time (reading and checking). The others bind the limit
    harder the further they are from ``u``; those close to it are as hard as the looser
    end, those far from it as quick as the tight end: between the two ends' times, by
    ``1 / (1 + (d / NEAR)^2)`` with ``d`` the distance to ``u`` relative to ``u``."""
    if len(values) < 2 or len(outcomes) != len(values):
        return None
    a, b = outcomes[0], outcomes[-1]
    if a is None or b is None or not (a.has_plan or b.has_plan):
        return None
    if a.has_plan and (not b.has_plan or a.summary["objective"] > b.summary["objective"]):
        loose, tight, v_loose, v_tight = a, b, values[0], values[-1]
    else:
        loose, tight, v_loose, v_tight = b, a, values[-1], values[0]

    def same(x: float | None, y: float) -> bool:
        return x is not None and abs(x - y) <= 1e-9 * max(1.0, abs(y))

    rows = [j for j, (_, _, limit, _) in enumerate(loose.usage) if same(limit, v_loose)]
    if tight.has_plan and len(tight.usage) == len(loose.usage):
        rows = [j for j in rows if same(tight.usage[j][2], v_tight)]
    if len(rows) != 1 or v_loose == v_tight:
        return None
    used = loose.usage[rows[0]][3]
    upward = v_loose > v_tight  # a maximum: the larger values are the looser
    quick, hard = tight.seconds, loose.seconds
    costs = []
    for v in values:
        if (v >= used) if upward else (v <= used):
            costs.append(quick / 4)
        else:
            d = abs(used - v) / max(abs(used), 1e-9)
            costs.append(quick + (hard - quick) / (1.0 + (d / NEAR) ** 2))
    return costs


def diagnose_edges(f: Frontier, workers: int, on_event: Callable[[str, Any], None] | None = None) -> bool:
    """Solve the infeasible edges of a sweep that have no diagnosis yet again, with the
    diagnosis (most were diagnosed in their chain already: ``RunSpec.diagnose_edge``);
    their outcomes replace the status-only ones. Returns whether Ctrl-C stopped it (the
    points keep their status then)."""
    edges = [k for k in f.infeasible_edges() if not f.diagnosis(k)]
    if not edges:
        return False
    specs = [replace(f.specs[k], label=f"{f.specs[k].label} (diagnosis)", diagnose=True, want_sheets=False)
             for k in edges]
    found, stopped = run_all(specs, workers=workers, on_event=on_event)
    for k, o in zip(edges, found):
        before = f.outcomes[k]
        if o is not None and o.ok and o.summary["status"] == "infeasible" and before is not None:
            f.outcomes[k] = replace(o, index=k, label=before.label)
    return stopped


def plan_points(policy: str | Path, path: str, values: Sequence[float], *, overrides: Sequence[str] = (),
                solver: dict[str, Any] | None = None) -> tuple[list[RunSpec], str, str]:
    """One run per value, each policy checked now (a bad path or value fails before any solve)."""
    specs = []
    base_value = ""
    currency = ""
    for v in values:
        setting = f"{path}={show_value(v)}"
        try:
            loaded = load_policy(policy, (*overrides, setting))
        except PolicyError as err:  # located where the user wrote it: --vary, not --set
            origin, said = f"--set {setting}", f"--vary {path} (at {show_value(v)})"
            raise PolicyError([replace(d, file=said) if d.file == origin
                               else replace(d, hint="; ".join(filter(None, (d.hint, f"with {said}"))))
                               for d in err.diagnostics]) from None
        if not base_value:
            base_value = loaded.overrides[-1].split(": ", 1)[1].split(" -> ")[0]
            currency = loaded.policy.currency
        specs.append(RunSpec(show_value(v), str(policy), (*overrides, setting), dict(solver or {}), want_sheets=True,
                             diagnose=False, diagnose_edge=True))
    return specs, base_value, currency


# --------------------------------------------------------------------------- tables


def frontier_table(f: Frontier) -> tuple[list[str], list[list[Any]]]:
    """One row per point: value, objective and its marginal change, cost, counts, utilisation."""
    tiers, _, support = ids_over(f.outcomes)
    header = ["value", "status", "gap_pct", "objective", "marginal_value", "marginal_value_per_unit",
              "annual_cost", "marginal_cost", "key_accounts"] + [f"tier_{t}" for t in tiers]
    header += ["hires_total", "kam_hours_used_pct", "sponsor_slots_used_pct", "budget_used_pct"]
    header += [f"support_used_pct[{s}]" for s in support]
    header += ["accounts_in", "accounts_out", "recommended", "solved", "diagnosis", "error"]
    rows = []
    prev: tuple[float, Outcome] | None = None
    for k, (v, o) in enumerate(zip(f.values, f.outcomes)):
        rec = f.recommendation.index is not None and f.values[f.recommendation.index] == v
        shown = int(v) if float(v).is_integer() else v  # a count or a whole amount: 88, not 88.00
        if o is None or not o.has_plan:
            status = "not run (interrupted)" if o is None else o.summary["status"] if o.ok else "error"
            error = None if o is None else o.error
            diagnosis = DIAGNOSIS_SEPARATOR.join(f.diagnosis(k)) or None
            rows.append([shown, status] + [None] * (len(header) - 6) + [False, o is not None, diagnosis, error])
            continue
        s = o.summary
        obj, cost = s["objective"], s["annual_cost"]
        if prev is not None:
            pv, po = prev
            d_obj = obj - po.summary["objective"]
            d_cost = cost - po.summary["annual_cost"]
            per_unit = d_obj / (v - pv)
            entered = sum(1 for a in o.portfolio if a not in po.portfolio)
            left = sum(1 for a in po.portfolio if a not in o.portfolio)
        else:
            d_obj = d_cost = per_unit = None
            entered = left = None
        row = [shown, s["status"], None if s["gap"] is None else 100.0 * s["gap"], obj, d_obj, per_unit, cost, d_cost,
               s["key_accounts"]] + [s["tiers"].get(t, 0) for t in tiers]
        row += [sum(s["hires"].values()), o.used_pct("kam_hours"), o.used_pct("sponsor_slots"),
                o.used_pct("budget")]
        row += [o.used_pct("support_hours", sp) for sp in support]
        row += [entered, left, rec, not s["solver_message"].startswith(NOT_RESOLVED), None, None]
        rows.append(row)
        prev = (v, o)
    return header, rows


def entries_table(f: Frontier) -> tuple[list[str], list[list[Any]]]:
    """Each account that is a key account at some point: when it enters, and if it leaves again."""
    header = ["account_id", "name", "enters_at", "tier_at_entry", "leaves_at", "back_at", "points_in",
              "at_recommended"]
    solved = [(v, o) for v, o in zip(f.values, f.outcomes) if o is not None and o.has_plan]
    if not solved:
        return header, []
    order = solved[0][1].order
    position = {a: k for k, a in enumerate(order)}
    rec = f.recommendation.index
    rec_portfolio = f.outcomes[rec].portfolio if rec is not None and f.outcomes[rec] is not None else {}
    rows = []
    ever = {a for _, o in solved for a in o.portfolio}
    for a in ever:
        flags = [a in o.portfolio for _, o in solved]
        first = flags.index(True)
        leaves = next((k for k in range(first + 1, len(flags)) if not flags[k]), None)
        back = next((k for k in range(leaves + 1, len(flags)) if flags[k]), None) if leaves is not None else None
        tier, name = solved[first][1].portfolio[a]
        rows.append((first, position.get(a, len(order)), [
            a, name, solved[first][0], tier, None if leaves is None else solved[leaves][0],
            None if back is None else solved[back][0], sum(flags), a in rec_portfolio]))
    rows.sort(key=lambda r: (r[0], r[1]))
    return header, [r[2] for r in rows]


def write_frontier(f: Frontier, folder) -> None:
    """frontier.csv, entries.csv, frontier.json, the chart (PNG and SVG) and plan.xlsx."""
    from kamopt.report.chart import frontier_chart
    from kamopt.report.xlsx import Sheet, workbook_bytes

    header, rows = frontier_table(f)
    folder.csv("frontier.csv", header, rows, decimals=4 if any(not float(v).is_integer() for v in f.values) else 2)
    e_header, e_rows = entries_table(f)
    folder.csv("entries.csv", e_header, e_rows)
    r = f.recommendation
    left_again = [row[0] for row in e_rows if row[4] is not None]
    folder.json("frontier.json", {
        "vary": f.path, "base_value": f.base_value, "values": f.values,
        "recommended_value": None if r.index is None else f.values[r.index],
        "rule": r.rule, "reason": r.reason, "step_cost": f.step_cost,
        "points_solved": sum(o is not None and o.has_plan for o in f.outcomes), "points": len(f.values),
        "interrupted": f.interrupted, "accounts_entering_then_leaving": left_again,
        "infeasible_values": [f.values[k] for k in f.infeasible()],
        "infeasible_edges": [{"value": f.values[k], "diagnosis": f.diagnosis(k), "command": f.solve_command(k)}
                             for k in f.infeasible_edges()],
    })
    col = {name: j for j, name in enumerate(header)}
    xs = [row[col["value"]] for row in rows]
    png, svg = frontier_chart(
        xs, [row[col["objective"]] for row in rows], [row[col["marginal_value"]] for row in rows],
        recommended=r.index, x_label=f.path, currency=f.currency, rule=r.rule,
    )
    folder.binary("frontier.png", png)
    folder.binary("frontier.svg", svg)
    rec = f.outcomes[r.index] if r.index is not None else None
    sheets = rec.workbook_sheets() if rec is not None else []
    folder.binary("plan.xlsx", workbook_bytes(sheets + [Sheet("Frontier", header, rows),
                                                        Sheet("Entries", e_header, e_rows)]))
