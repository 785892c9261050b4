"""``kamopt report``: the executive report, one self-contained HTML page built from a plan folder.

The page is built from files alone — the folder ``kamopt solve --out`` wrote, and
optionally a ``kamopt compare`` and a ``kamopt frontier`` folder — so it can be made
long after the solve, on another machine, and it shows exactly what those files say:
the headline numbers are summary.json's, the tables are the CSVs' rows.

Sections: the status, stated honestly (optimal, feasible with its gap, infeasible with
the diagnosis, time limit without a plan); the headline (expected value, cost, key
accounts per tier, hires, changes); tier mix; utilisation per resource with marginal
values when the plan has them (summary.json's ``marginal_values``, resources.csv's marginal
columns), "not computed" otherwise; the sponsorship plan; changes from the current
portfolio; the portfolio (sortable, filterable); excluded accounts with reasons; the
scenario comparison and the frontier when given; and the fingerprints.

The page loads nothing: styles, script and charts (inline SVG) are in the file, and its
Content-Security-Policy blocks any network reference. Every text from the data is
HTML-escaped. The same folders give the same bytes (no clock, no paths).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from kamopt.errors import DataError, Diagnostic, OutputError
from kamopt.report.html_assets import (
    ACCENT,
    BAR,
    CSP,
    SCRIPT,
    STYLE,
    Bar,
    Column,
    bar_chart,
    compact,
    donut,
    esc,
    frontier_chart,
    key_values,
    number,
    percent,
    plain,
    table,
    tier_colour,
    to_float,
)
from kamopt.report.writers import FORMULA_PREFIXES, make_parent, write_text_atomic

Row = dict[str, str]

PLAN_TABLES = {
    "portfolio.csv": ("account_id", "name", "decision", "previous_tier", "change"),
    "resources.csv": ("constraint", "family", "resource", "limit", "used", "slack", "unit"),
    "hiring.csv": ("pool", "hires", "hours_capacity", "hours_used"),
    "sponsorship.csv": ("sponsor", "slots", "slots_used", "account_id", "account_name", "tier"),
    "support.csv": ("function", "hours_capacity", "hours_used"),
    "excluded.csv": ("account_id", "name", "reason"),
}
"""The plan files the report reads, with the columns it needs from each."""
NEEDED_WITH_A_PLAN = ("portfolio.csv", "resources.csv")
"""Files every plan folder with a solution holds (infeasible ones hold only the others)."""


# --------------------------------------------------------------------------- reading


@dataclass
class Tables:
    """A folder's CSV tables: rows (dicts of text) and header, by file name."""

    path: Path
    rows: dict[str, list[Row]] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str) -> list[Row]:
        return self.rows.get(name, [])

    def has(self, name: str, column: str) -> bool:
        return column in self.columns.get(name, [])


@dataclass
class Inputs:
    """Everything the report shows."""

    summary: dict[str, Any]
    plan: Tables
    compare: Tables | None = None
    frontier: Tables | None = None
    frontier_info: dict[str, Any] = field(default_factory=dict)


def _unquote(text: str) -> str:
    """Undo the writers' spreadsheet guard: ``'=x`` in a CSV is the text ``=x``."""
    return text[1:] if text[:1] == "'" and text[1:2] and text[1] in FORMULA_PREFIXES else text


def read_csv(path: Path, needed: Sequence[str] = ()) -> tuple[list[str], list[Row]]:
    """A CSV written by kamopt: header and rows as dicts of text; a clear error if it is not one."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = [_unquote(h) for h in next(reader, [])]
            rows = [dict(zip(header, (_unquote(c) for c in line))) for line in reader if line]
    except OSError as err:
        raise DataError(Diagnostic(f"cannot read the file: {err.strerror}", file=str(path))) from None
    except (UnicodeDecodeError, csv.Error) as err:
        raise DataError(Diagnostic(f"is not a readable CSV table ({err})", file=str(path))) from None
    missing = [c for c in needed if c not in header]
    if missing:
        raise DataError(Diagnostic(f"is not a table kamopt wrote: no column {', '.join(missing)}", file=str(path),
                                   hint="was it edited by hand? solve again to rewrite it"))
    return header, rows


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from a file kamopt wrote; located errors otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise DataError(Diagnostic(f"cannot read the file: {err.strerror}", file=str(path))) from None
    except UnicodeDecodeError:
        raise DataError(Diagnostic("is not UTF-8 text", file=str(path))) from None
    except json.JSONDecodeError as err:
        raise DataError(Diagnostic(f"is not valid JSON: {err.msg}", file=str(path), line=err.lineno,
                                   column=err.colno, hint="was it edited by hand? solve again to rewrite it")) from None
    if not isinstance(data, dict):
        raise DataError(Diagnostic("is not a JSON object", file=str(path), found=type(data).__name__))
    return data


def _check_summary(summary: dict[str, Any], path: Path) -> dict[str, Any]:
    """The summary.json fields the report relies on, with their types checked."""
    expected = {"status": str, "tiers": dict, "hires": dict, "changes": dict}
    for key, kind in expected.items():
        if not isinstance(summary.get(key), kind):
            raise DataError(Diagnostic("is not a plan summary kamopt wrote", file=str(path), field=key,
                                       expected=f"a {'text' if kind is str else 'mapping'}",
                                       found="nothing" if key not in summary else repr(summary[key])[:40]))
    numbers = [(key, summary.get(key)) for key in ("objective", "bound", "gap", "annual_cost", "budget",
                                                  "key_accounts", "time_limit", "requested_gap")]
    numbers += [(f"{key}.{k}", v) for key in ("tiers", "hires", "changes") for k, v in summary[key].items()]
    for key, value in numbers:
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise DataError(Diagnostic("is not a number", file=str(path), field=key, found=repr(value)[:40]))
    return summary


def _folder(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError(Diagnostic(f"no such {what} folder", file=str(path)))
    if not path.is_dir():
        raise DataError(Diagnostic(f"is not a folder (expected the {what} folder)", file=str(path)))
    return path


def resolve(plan: Path, compare: Path | None) -> tuple[Path, Path | None]:
    """The plan folder and the comparison folder, when PLAN is a ``kamopt compare`` folder
    (its base run is the plan, and the folder is the comparison unless ``--compare`` says otherwise)."""
    plan = _folder(plan, "plan")
    if (plan / "summary.json").is_file():
        return plan, compare
    if (plan / "comparison.csv").is_file():
        base = plan / "base"
        if not (base / "summary.json").is_file():
            raise DataError(Diagnostic("this comparison folder holds no base plan (base/summary.json)",
                                       file=str(plan)))
        return base, compare if compare is not None else plan
    if (plan / "frontier.csv").is_file():
        raise DataError(Diagnostic("is a frontier folder, which holds no plan", file=str(plan),
                                   hint="give a plan folder as PLAN and this folder as --frontier"))
    raise DataError(Diagnostic("is not a plan folder (it has no summary.json)", file=str(plan),
                               hint="PLAN is a folder written by `kamopt solve --out` or `kamopt compare --out`"))


def read_inputs(plan: str | Path, compare: str | Path | None = None,
                frontier: str | Path | None = None) -> Inputs:
    """Read and check every folder the report shows (see :func:`resolve`)."""
    plan_dir, compare_dir = resolve(Path(plan), None if compare is None else Path(compare))
    summary = _check_summary(read_json(plan_dir / "summary.json"), plan_dir / "summary.json")
    tables = Tables(plan_dir)
    for name, needed in PLAN_TABLES.items():
        path = plan_dir / name
        if path.is_file():
            tables.columns[name], tables.rows[name] = read_csv(path, needed)
        elif name in NEEDED_WITH_A_PLAN and summary.get("objective") is not None:
            raise DataError(Diagnostic(f"the plan folder has no {name}", file=str(plan_dir),
                                       hint="it may be incomplete: solve again to rewrite it"))
    inputs = Inputs(summary, tables)
    if compare_dir is not None:
        folder = _folder(compare_dir, "comparison")
        if not (folder / "comparison.csv").is_file():
            raise DataError(Diagnostic("is not a comparison folder (it has no comparison.csv)", file=str(folder),
                                       hint="--compare takes a folder written by `kamopt compare --out`"))
        inputs.compare = _tables(folder, {"comparison.csv": ("scenario", "status", "objective"),
                                          "changes.csv": ("scenario", "account_id", "change")})
    if frontier is not None:
        folder = _folder(Path(frontier), "frontier")
        if not (folder / "frontier.csv").is_file():
            raise DataError(Diagnostic("is not a frontier folder (it has no frontier.csv)", file=str(folder),
                                       hint="--frontier takes a folder written by `kamopt frontier --out`"))
        inputs.frontier = _tables(folder, {"frontier.csv": ("value", "status", "objective", "marginal_value")})
        if (folder / "frontier.json").is_file():
            inputs.frontier_info = read_json(folder / "frontier.json")
    return inputs


def _tables(folder: Path, wanted: dict[str, Sequence[str]]) -> Tables:
    tables = Tables(folder)
    for name, needed in wanted.items():
        if (folder / name).is_file():
            tables.columns[name], tables.rows[name] = read_csv(folder / name, needed)
    return tables


# --------------------------------------------------------------------------- small helpers


def _f(row: Row, key: str) -> float | None:
    return to_float(row.get(key))


def _count(n: int, one: str, many: str) -> str:
    """``1 hard rule``, ``3 hard rules``."""
    return f"{number(n)} {one if n == 1 else many}"


def _money(v: float | None, currency: str) -> str:
    return "—" if v is None else f"{number(v)} {esc(currency)}"


def _gap(gap: float | None) -> str:
    return "—" if gap is None else f"{100 * gap:.3g} %"


def _fact(key: str, value: Any, shown: str) -> str:
    """A number from summary.json with its exact value attached (``data-key``, ``data-value``), so
    tests and tools can check the page against the file."""
    return f'<span class="fact" data-key="{esc(key)}" data-value="{esc(json.dumps(value))}">{shown}</span>'


def _section(sid: str, title: str, body: str, lead: str = "") -> str:
    intro = f'<p class="lead">{lead}</p>' if lead else ""
    return f'<section id="{sid}"><h2>{esc(title)}</h2>{intro}{body}</section>'


def _tiers(s: dict[str, Any]) -> list[str]:
    return [str(t) for t in s["tiers"]]


def _has_plan(s: dict[str, Any]) -> bool:
    return s.get("objective") is not None


# --------------------------------------------------------------------------- sections


STATUS_TITLES = {
    "optimal": ("optimal", "Optimal plan"),
    "feasible": ("feasible", "Feasible plan, not proven optimal"),
    "infeasible": ("bad", "No plan: the policy cannot be met"),
    "time_limit_no_solution": ("bad", "No plan: the time limit was reached first"),
    "rules_broken": ("bad", "This plan breaks hard rules"),
    "error": ("bad", "No plan: the solver failed"),
}


def status_section(s: dict[str, Any]) -> str:
    """The solve's status in plain words: proven or not, the gap, why there is no plan."""
    status, cur = s["status"], s.get("currency") or ""
    tone, title = STATUS_TITLES.get(status, ("bad", f"No plan: the solver ended with status '{status}'"))
    obj, bound, gap, limit = s.get("objective"), s.get("bound"), s.get("gap"), s.get("time_limit")
    room = bound - obj if obj is not None and bound is not None else None
    limit_text = f"{number(limit, 0)} s" if limit is not None else "its limit"
    lines = []
    if status == "optimal" and gap is None:
        lines.append("Proven optimal.")
    elif status == "optimal":
        lines.append(f"Proven optimal within a relative gap of {_fact('gap', gap, _gap(gap))}"
                     + (f": no plan is better by more than {_money(room, cur)}." if room is not None else "."))
    elif status == "feasible" and (gap is None or room is None):
        lines.append(f"The solver stopped at its time limit ({limit_text}) before it could bound the gap: a "
                     "better plan may exist, by an unknown amount.")
    elif status == "feasible":
        lines.append(f"The solver stopped at its time limit ({limit_text}) with a gap of "
                     f"{_fact('gap', gap, _gap(gap))}: a better plan may exist, worth at most "
                     f"{_money(room, cur)} more (bound {_money(bound, cur)}).")
    elif status == "infeasible":
        lines.append("No portfolio meets every hard rule of the policy. What conflicts, and the smallest "
                     "relaxations that would make it feasible:" if s.get("diagnosis") else
                     "No portfolio meets every hard rule of the policy (no diagnosis was recorded: "
                     "<code>kamopt solve</code> gives it).")
    elif status == "time_limit_no_solution":
        lines.append(f"The solver reached its time limit ({limit_text}) before it found any plan. This does not "
                     "mean the policy is infeasible: allow more time (<code>--time-limit</code>) or relax limits.")
    elif status == "rules_broken":
        lines.append(f"The {esc(s.get('method', ''))} plan breaks "
                     f"{_count(len(s.get('violations') or []), 'hard rule', 'hard rules')}, listed below.")
    else:
        lines.append(f"Solver message: {esc(s.get('solver_message') or 'none')}.")
    body = "".join(f"<p>{line}</p>" for line in lines)
    if status == "infeasible" and s.get("diagnosis"):
        body += '<ul class="lines diagnosis">' + "".join(f"<li>{esc(d)}</li>" for d in s["diagnosis"]) + "</ul>"
    if _has_plan(s):
        violations = s.get("violations") or []
        if s.get("verified"):
            body += ("<p>Independent check: <strong>passed</strong> — resource use, costs and every rule were "
                     "recomputed from the plan itself, not taken from the solver.</p>")
        elif violations:
            shown = "".join(f"<li>{esc(v)}</li>" for v in violations[:50])
            more = f"<li>… and {len(violations) - 50} more (violations.csv)</li>" if len(violations) > 50 else ""
            body += (f"<p>Independent check: <strong>{_count(len(violations), 'hard rule', 'hard rules')} broken"
                     "</strong>:</p>"
                     f'<ul class="lines violations">{shown}{more}</ul>')
        soft = s.get("soft_violations") or {}
        if soft:
            items = ", ".join(f"<code>{esc(k)}</code> by {number(to_float(v), 2).removesuffix('.00')}"
                              for k, v in soft.items())
            body += f"<p>Soft limits broken (each penalised in the objective): {items}.</p>"
    badge = f'<span class="badge {tone}" id="status-badge" data-status="{esc(status)}">{esc(status)}</span>'
    return f'<div class="status {tone}" id="status"><h2>{esc(title)} {badge}</h2>{body}</div>'


def headline_section(s: dict[str, Any]) -> str:
    """The strip of key figures, each tied to its summary.json value."""
    cur = s.get("currency") or ""
    tiers = s["tiers"]
    cards = []

    def card(label: str, value: str, sub: str = "", unit: str = "") -> None:
        unit_html = f'<span class="unit">{esc(unit)}</span>' if unit else ""
        cards.append(f'<div class="kpi"><div class="label">{esc(label)}</div><div class="value">{value}{unit_html}'
                     f'</div><div class="sub">{sub}</div></div>')

    obj = s.get("objective")
    greedy = s.get("optimum_vs_greedy_pct")
    sub = ("over the horizon, discounted; net of cost to serve and hires" if greedy is None else
           f"{_fact('optimum_vs_greedy_pct', greedy, f'{greedy:+.1f} %')} vs the rank-and-fill baseline "
           f"({_fact('greedy_objective', s.get('greedy_objective'), compact(s.get('greedy_objective')))}"
           + ("" if s.get("greedy_feasible", True) else ", which breaks rules") + ")")
    card("Expected net value", _fact("objective", obj, number(obj)), sub, cur)
    cost, budget = s.get("annual_cost"), s.get("budget")
    sub = (f"of a budget of {_fact('budget', budget, number(budget))} {esc(cur)} "
           f"({percent(100 * cost / budget)})" if cost is not None and budget else "cost to serve plus hires")
    card("Annual cost", _fact("annual_cost", cost, number(cost)), sub, cur)
    mix = " · ".join(f"{esc(t)} {_fact(f'tiers.{t}', n, number(n))}" for t, n in tiers.items())
    card("Key accounts", _fact("key_accounts", s.get("key_accounts"), number(s.get("key_accounts"))), mix)
    hires = s["hires"]
    total = sum(int(v) for v in hires.values() if isinstance(v, (int, float)))
    per_pool = " · ".join(f"{esc(p)} +{_fact(f'hires.{p}', n, number(n))}" for p, n in hires.items() if n)
    card("KAM hires", _fact("hires_total", total, number(total)), per_pool or "no hires", "FTE")
    ch = s["changes"]
    card("Promotions", _fact("changes.promote", ch.get("promote"), number(ch.get("promote"))),
         f"{_fact('changes.keep', ch.get('keep'), number(ch.get('keep')))} kept · "
         f"{_fact('changes.demote', ch.get('demote'), number(ch.get('demote')))} demoted")
    card("Accounts screened", _fact("accounts", s.get("accounts"), number(s.get("accounts"))),
         f"{_fact('candidates', s.get('candidates'), number(s.get('candidates')))} candidates · "
         f"{_fact('excluded', s.get('excluded'), number(s.get('excluded')))} excluded")
    return f'<div class="kpis" id="headline">{"".join(cards)}</div>'


def tier_section(inp: Inputs) -> str:
    """Tier mix: a donut of key accounts per tier and a table of each tier's value and cost."""
    s, cur = inp.summary, inp.summary.get("currency") or ""
    tiers = _tiers(s)
    sums = {t: {"tier": t, "accounts": 0, "new": 0, "value": 0.0, "cost": 0.0, "hours": 0.0} for t in tiers}
    for r in inp.plan.get("portfolio.csv"):
        t = r.get("decision", "none")
        if t in sums:
            agg = sums[t]
            agg["accounts"] += 1
            agg["new"] += r.get("previous_tier", "none") in ("", "none")
            agg["value"] += _f(r, "expected_value") or 0.0
            agg["cost"] += _f(r, "annual_cost") or 0.0
            agg["hours"] += _f(r, "kam_hours") or 0.0
    slices = [(t, float(s["tiers"][t]), tier_colour(t, k)) for k, t in enumerate(tiers)]
    chart = donut(slices, chart_id="chart-tier-mix", label="Key accounts per tier",
                  centre=number(s.get("key_accounts")), centre_note="key accounts")
    total_value = sum(a["value"] for a in sums.values())
    rows = []
    for k, t in enumerate(tiers):
        a = sums[t]
        swatch = f'<span class="swatch" style="background:{tier_colour(t, k)}"></span>'
        rows.append({"tier": f'<span class="nowrap">{swatch}{esc(t)}</span>',
                     "accounts": a["accounts"], "new": a["new"], "value": a["value"],
                     "share": 100 * a["value"] / total_value if total_value else None,
                     "cost": a["cost"], "hours": a["hours"]})
    cols = [Column("tier", "Tier", "html"), Column("accounts", "Accounts", "int"), Column("new", "New", "int"),
            Column("value", f"Value ({cur})", "money"), Column("share", "Share", "pct"),
            Column("cost", f"Cost/yr ({cur})", "money"), Column("hours", "KAM h", "money")]
    body = f'<div class="grid2"><div>{chart}</div><div>{table(cols, rows, table_id="tier-table", sortable=False)}'
    body += "</div></div>"
    return _section("tiers", "Tier mix", body, "How many key accounts each service tier gets, and what they bring.")


def _pct_of(used: float | None, limit: float | None) -> float | None:
    return 100.0 * used / limit if used is not None and limit else None


def _bar(label: str, used: float | None, limit: float | None, unit: str, worth: str = "", note: str = "") -> Bar:
    pct = _pct_of(used, limit)
    colour = ACCENT if pct is not None and pct >= 99.5 else BAR
    text = f"{percent(pct, 0)} · {compact(used)} of {compact(limit)} {unit}".strip() + (f" · {worth}" if worth else "")
    return Bar(label, pct or 0.0, text, colour, note)


MARGINAL_WORDS = {"not_binding": "0 (has slack)", "not_relaxable": "cannot be relaxed", "": "not computed"}


def _step_text(step: float | None, unit: str, direction: Any = 1, currency: str = "") -> str:
    """``+1 FTE``, ``+100 h``, ``-1 accounts``, ``+1 pt`` (a share), ``+50,000 EUR`` (money)."""
    if step is None:
        return "—"
    sign = "-" if direction == -1 else "+"
    if unit == "share":
        return f"{sign}{plain(100 * step)} pt"
    if unit == "money":
        return f"{sign}{number(step)} {currency}".strip()
    return f"{sign}{plain(step)} {unit}".strip()


def _exact(value: Any, low: Any, high: Any, status: str) -> tuple[float | None, str]:
    """(sort key, markup) of an exact marginal value, its proven range, or why there is none."""
    v = to_float(value)
    if v is None:
        return (0.0 if status == "not_binding" else None,
                f'<span class="muted">{esc(MARGINAL_WORDS.get(status, status.replace("_", " ")))}</span>')
    lo, hi = to_float(low), to_float(high)
    shown = number(v)
    if lo is not None and hi is not None and hi - lo > 0.5:
        shown += f' <span class="muted">({esc(compact(lo))} to {esc(compact(hi))})</span>'
    if status and status != "optimal":
        shown += f' <span class="muted">{esc(status.replace("_", " "))}</span>'
    return v, shown


def _estimate(value: Any) -> tuple[float | None, str]:
    v = to_float(value)
    return v, number(v) if v is not None else '<span class="muted">not computed</span>'


def marginal_items(s: dict[str, Any]) -> list[dict[str, Any]]:
    """summary.json's marginal values (one per capacity or limit a planner can move), as table rows."""
    items, currency = s.get("marginal_values"), s.get("currency") or ""
    rows = []
    for k, m in enumerate(items if isinstance(items, list) else []):
        if not isinstance(m, dict):
            continue
        unit = str(m.get("unit") or "")
        limit = to_float(m.get("limit"))
        exact = _exact(m.get("marginal_value"), m.get("marginal_low"), m.get("marginal_high"),
                       str(m.get("status") or ""))
        lp = _estimate(m.get("lp_estimate"))
        rows.append({
            "item": str(m.get("item", "")), "order": k,
            "limit": (limit, esc("—" if limit is None else percent(100 * limit, 1) if unit == "share" else
                                 f"{plain(limit)} {unit if unit not in ('money', 'share') else ''}".strip())),
            "step": _step_text(to_float(m.get("step")), unit, m.get("direction", 1), currency),
            "binding": "yes" if m.get("binding") else "", "exact": exact, "lp": lp,
            "worth": exact[0] if exact[0] is not None else lp[0],
        })
    return rows


def _worth_text(row: dict[str, Any] | None, currency: str) -> str:
    """``+1 FTE: 403 k EUR`` (exact) or ``+1 FTE ≈ 403 k EUR`` (LP estimate) for a bar."""
    if row is None:
        return ""
    if row["exact"][0] is not None:
        return f"{row['step']}: {compact(row['exact'][0])} {currency}"
    if row["lp"][0] is not None:
        return f"{row['step']} ≈ {compact(row['lp'][0])} {currency}"
    return ""


def utilisation_section(inp: Inputs) -> str:
    """Utilisation per resource (chart), and what one more unit of each capacity or limit is worth."""
    cur, plan = inp.summary.get("currency") or "", inp.plan
    res = plan.get("resources.csv")
    items = marginal_items(inp.summary)
    worth = {r["item"]: _worth_text(r, cur) for r in items}
    groups: list[tuple[str, list[Bar]]] = []
    groups.append(("Budget", [_bar("budget", _f(r, "used"), _f(r, "limit"), cur, worth.get("budget", ""))
                              for r in res if r.get("family") == "budget"]))
    if plan.get("hiring.csv"):
        pools = [_bar(r["pool"], _f(r, "hours_used"), _f(r, "hours_capacity"), "h",
                      worth.get(f"kam_fte[{r['pool']}]", ""),
                      f"{r.get('key_accounts', '')} key accounts; {r.get('hires', '0')} hired")
                 for r in plan.get("hiring.csv")]
    else:
        pools = [_bar(r["resource"], _f(r, "used"), _f(r, "limit"), "h") for r in res if r.get("family") == "kam_hours"]
    groups.append(("KAM hours per pool (after hires)", pools))
    groups.append(("Support hours", [
        _bar(r.get("label") or r["function"], _f(r, "hours_used"), _f(r, "hours_capacity"), "h",
             worth.get(f"support_hours[{r['function']}]", "")) for r in plan.get("support.csv")]))
    groups.append(("Executive sponsor slots", [
        _bar(r["resource"], _f(r, "used"), _f(r, "limit"), "slots", worth.get(r.get("constraint", ""), ""))
        for r in res if r.get("family") == "sponsor_slots"]))
    chart = bar_chart(groups, chart_id="chart-utilisation", label="Utilisation per resource", scale_max=100,
                      marker=100)
    body = chart + "<h3>What one more unit is worth</h3>" + _marginal_tables(inp, items, res)
    rows = [_resource_row(r, cur) for r in res]
    cols = [Column("constraint", "Limit"), Column("limit", "Capacity", "num1"), Column("used", "Used", "num1"),
            Column("slack", "Slack", "num1"), Column("unit", "Unit"), Column("use_pct", "Used %", "pct"),
            Column("binding", "Binds"), Column("step", "Step"),
            Column("exact", f"Value of one more step ({cur})", "htmlnum"),
            Column("lp", f"LP-dual estimate ({cur})", "htmlnum")]
    body += (f"<details><summary>All capacities and limits, as the verifier counts them ({len(rows)})</summary>"
             f"{table(cols, rows, table_id='resources-table')}</details>")
    return _section("utilisation", "Utilisation and marginal values", body,
                    "How much of each scarce resource the plan uses (bars in red are used up), and what one more "
                    "step of each would add to the expected net value.")


def _marginal_tables(inp: Inputs, items: list[dict[str, Any]], res: list[Row]) -> str:
    """The items worth a look (binding or valuable), best first; every item behind a click."""
    cur = inp.summary.get("currency") or ""
    explain = ("Value of one more step: the plan solved again with that one limit moved by its step, minus "
               "this plan's value (in brackets, the range proven when the solves stop at a gap). "
               "LP-dual estimate: the linear relaxation's shadow price times the step, a quick guide only.")
    if not items:
        rows = [_resource_row(r, cur) for r in res if _worth_showing(r)]
        cols = [Column("constraint", "Limit"), Column("limit", "Capacity", "num1"), Column("used", "Used", "num1"),
                Column("unit", "Unit"), Column("step", "Step"),
                Column("exact", f"Value of one more step ({cur})", "htmlnum"),
                Column("lp", f"LP-dual estimate ({cur})", "htmlnum")]
        computed = inp.plan.has("resources.csv", "marginal_value") or inp.plan.has("resources.csv", "lp_estimate")
        note = explain if computed else "Marginal values were not computed for this plan."
        listing = (table(cols, rows, table_id="binding-table") if rows else
                   '<p class="muted">No capacity or limit is used up.</p>')
        return f'{listing}<p class="muted" id="marginal-note">{esc(note)}</p>'
    cols = [Column("item", "Capacity or limit"), Column("limit", "Today", "htmlnum"), Column("step", "Step"),
            Column("binding", "Used up"), Column("exact", f"Value of one more step ({cur})", "htmlnum"),
            Column("lp", f"LP-dual estimate ({cur})", "htmlnum")]
    ranked = sorted(items, key=lambda r: (-(r["worth"] or 0.0), r["order"]))
    top = [r for r in ranked if r["binding"] or (r["worth"] or 0.0) > 0.5]
    listing = (table(cols, top, table_id="marginal-table") if top else
               '<p class="muted">No capacity or limit is used up.</p>')
    return (f'{listing}<p class="muted" id="marginal-note">{esc(explain)}</p>'
            f"<details><summary>Every capacity and limit ({len(items)})</summary>"
            f"{table(cols, items, table_id='marginal-all-table')}</details>")


def _worth_showing(r: Row) -> bool:
    """A binding limit that constrains something (not an empty capacity nobody uses), or one with a value."""
    for key in ("marginal_value", "lp_estimate"):
        v = to_float(r.get(key))
        if v is not None and abs(v) > 0.5:
            return True
    empty = (to_float(r.get("limit")) or 0.0) == 0.0 and (to_float(r.get("used")) or 0.0) == 0.0
    return r.get("binding") == "true" and not empty


def _resource_row(r: Row, currency: str) -> dict[str, Any]:
    """A resources.csv row for display, with its marginal columns when the file has them."""
    limit, used = _f(r, "limit"), _f(r, "used")
    step_unit = r.get("step_unit") or r.get("unit", "")
    return {
        "constraint": r.get("constraint", ""), "limit": limit, "used": used, "slack": _f(r, "slack"),
        "unit": r.get("unit", ""), "use_pct": _pct_of(used, limit) if limit and limit > 0 else None,
        "binding": "yes" if r.get("binding") == "true" else "",
        "step": _step_text(_f(r, "step"), step_unit, 1, currency) if _f(r, "step") is not None else "—",
        "exact": _exact(r.get("marginal_value"), r.get("marginal_low"), r.get("marginal_high"),
                        r.get("marginal_status", "")),
        "lp": _estimate(r.get("lp_estimate")),
    }


def sponsorship_section(inp: Inputs) -> str:
    """The sponsorship plan: each executive, slots used, and the accounts they sponsor."""
    rows = inp.plan.get("sponsorship.csv")
    if not rows:
        return _section("sponsorship", "Executive sponsorship", '<p class="muted">No executive sponsors in this '
                        "plan.</p>")
    by: dict[str, list[Row]] = {}
    for r in rows:
        by.setdefault(r["sponsor"], []).append(r)
    table_rows = []
    for sponsor, items in by.items():
        first = items[0]
        accounts = [r for r in items if r.get("account_id")]
        lines = "".join(f"<li>{esc(r.get('account_name', ''))} <span class=\"muted\">{esc(r['account_id'])} · "
                        f"{esc(r.get('tier', ''))}</span></li>" for r in accounts)
        listing = ('<span class="muted">no account</span>' if not accounts else
                   f'<ul class="accounts">{lines}</ul>' if len(accounts) <= 6 else
                   f'<details><summary>{len(accounts)} accounts</summary><ul class="accounts">{lines}</ul></details>')
        used, slots = _f(first, "slots_used"), _f(first, "slots")
        table_rows.append({
            "sponsor": f'<span class="who">{esc(sponsor)}</span>', "title": first.get("title", ""),
            "slots": (_pct_of(used, slots), f"{esc(first.get('slots_used', ''))} of {esc(first.get('slots', ''))}"),
            "accounts": listing,
        })
    cols = [Column("sponsor", "Executive", "html"), Column("title", "Title"), Column("slots", "Slots used", "htmlnum"),
            Column("accounts", "Sponsored accounts", "html", wrap=True)]
    return _section("sponsorship", "Executive sponsorship",
                    table(cols, table_rows, table_id="sponsorship-table", compact=True),
                    "Which member of the leadership team sponsors which strategic account.")


def changes_section(inp: Inputs) -> str:
    """Changes from the current portfolio: a from/to matrix and the accounts that move."""
    s = inp.summary
    tiers = _tiers(s)
    states = tiers + ["none"]
    matrix = {(a, b): 0 for a in states for b in states}
    moved = []
    for r in inp.plan.get("portfolio.csv"):
        prev = r.get("previous_tier") or "none"
        new = r.get("decision") or "none"
        if (prev, new) in matrix:
            matrix[(prev, new)] += 1
        if r.get("change") in ("promote", "demote"):
            moved.append(r)
    head = "".join(f'<th scope="col" class="n">{esc(b if b != "none" else "not key")}</th>' for b in states)
    body_rows = []
    for a in states:
        cells = "".join(f'<td class="n{" same" if a == b and a != "none" else ""}">'
                        f"{number(matrix[(a, b)]) if matrix[(a, b)] else '·'}</td>" for b in states)
        body_rows.append(f'<tr><th scope="row">{esc(a if a != "none" else "not key today")}</th>{cells}</tr>')
    grid = ('<div class="table-wrap"><table class="data compact" id="transition-table"><caption>today (rows) → '
            f'this plan (columns)</caption><thead><tr><th scope="col"></th>{head}</tr></thead><tbody>'
            f'{"".join(body_rows)}</tbody></table></div>')
    ch = s["changes"]
    lead = (f"{_fact('changes.promote', ch.get('promote'), number(ch.get('promote')))} promoted (new key accounts "
            f"or a higher tier), {_fact('changes.keep', ch.get('keep'), number(ch.get('keep')))} kept at their "
            f"tier, {_fact('changes.demote', ch.get('demote'), number(ch.get('demote')))} demoted.")
    cols = [Column("account_id", "Account"), Column("name", "Name"), Column("previous_tier", "Today"),
            Column("decision", "Plan"), Column("change", "Change"), Column("score", "Score", "num2"),
            Column("expected_value", f"Expected value ({s.get('currency') or ''})", "money"),
            Column("override", "Manual decision", wrap=True)]
    listing = (table(cols, moved, table_id="changes-table") if moved else
               '<p class="muted">No account changes tier.</p>')
    return _section("changes", "Changes from the current portfolio", f"<p>{lead}</p>{grid}<h3>Accounts that move "
                    f"({len(moved)})</h3>{listing}")


PORTFOLIO_COLUMNS = [
    ("account_id", "Account", "text"), ("name", "Name", "text"), ("decision", "Tier", "text"),
    ("previous_tier", "Today", "text"), ("change", "Change", "text"), ("score", "Score", "num2"),
    ("expected_value", "Value", "money"), ("annual_cost", "Cost/yr", "money"), ("kam_hours", "KAM h", "num1"),
    ("pool", "Pool", "text"), ("kam", "KAM", "text"), ("sponsor", "Sponsor", "text"),
    ("override", "Manual decision", "wrap"),
]


def portfolio_section(inp: Inputs) -> str:
    """The key accounts, best tier first and by expected value; sortable and filterable."""
    s, cur = inp.summary, inp.summary.get("currency") or ""
    order = {t: k for k, t in enumerate(_tiers(s))}
    keys = [r for r in inp.plan.get("portfolio.csv") if r.get("decision") in order]
    keys.sort(key=lambda r: (order[r["decision"]], -(_f(r, "expected_value") or 0.0), r.get("account_id", "")))
    cols = [Column(k, f"{t} ({cur})" if kind == "money" and cur else t, "text" if kind == "wrap" else kind,
                   wrap=kind == "wrap") for k, t, kind in PORTFOLIO_COLUMNS]
    search = ('<input class="filter" type="search" placeholder="Filter: name, id, tier, KAM…" '
              'aria-label="Filter the portfolio" data-table="portfolio-table" data-count="portfolio-count">')
    lead = (f'<span id="portfolio-count">{len(keys)}</span> key accounts. Click a column header to sort '
            "(again to reverse).")
    return _section("portfolio", "Portfolio", search + table(cols, keys, table_id="portfolio-table"), lead)


def _reason_group(r: Row) -> str:
    """The reason an account is excluded, without its account-specific details."""
    if r.get("failed_rules"):
        return "fails " + ", ".join(r["failed_rules"].split())
    reason = r.get("reason", "")
    if reason.startswith("forced out"):
        return "forced out (manual decision)"
    return reason.split(" (", 1)[0] or "other"


def excluded_section(inp: Inputs) -> str:
    """Excluded accounts: counts per reason, then every account with its reason."""
    rows = inp.plan.get("excluded.csv")
    if not rows:
        return _section("excluded", "Excluded accounts", '<p class="muted">No account is excluded.</p>')
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(_reason_group(r), []).append(r)
    summary_rows = [{"reason": g, "accounts": len(items), "share": 100 * len(items) / len(rows),
                     "today": sum(1 for r in items if r.get("current_tier"))}
                    for g, items in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
    counts = table([Column("reason", "Reason", wrap=True), Column("accounts", "Accounts", "int"),
                    Column("share", "Share", "pct"), Column("today", "Key accounts today", "int")],
                   summary_rows, table_id="excluded-reasons", sortable=False, compact=True)
    cols = [Column("account_id", "Account"), Column("name", "Name"), Column("reason", "Reason", wrap=True),
            Column("score", "Score", "num2"), Column("current_tier", "Tier today")]
    search = ('<input class="filter" type="search" placeholder="Filter excluded accounts…" '
              'aria-label="Filter the excluded accounts" data-table="excluded-table" data-count="excluded-count">')
    listing = (f'<details><summary>Every excluded account (<span id="excluded-count">{len(rows)}</span>)</summary>'
               f"{search}{table(cols, rows, table_id='excluded-table')}</details>")
    candidates, keys = inp.summary.get("candidates"), inp.summary.get("key_accounts")
    lead = (f"{number(len(rows))} account cannot be a key account under this policy." if len(rows) == 1 else
            f"{number(len(rows))} accounts cannot be key accounts under this policy.")
    if isinstance(candidates, int) and isinstance(keys, int) and _has_plan(inp.summary) and candidates > keys:
        left = candidates - keys
        who = "candidates qualify but were" if left > 1 else "candidate qualifies but was"
        lead += f" A further {number(left)} {who} not chosen: within the limits above, the plan does better without."
    return _section("excluded", "Excluded accounts", counts + listing, esc(lead))


COMPARE_LABELS = {
    "status": "Status", "gap_pct": "Gap %", "objective": "Expected net value", "objective_change": "Change vs base",
    "objective_change_pct": "Change vs base %", "annual_cost": "Annual cost", "budget_used_pct": "Budget used %",
    "key_accounts": "Key accounts", "promoted": "Promoted", "demoted": "Demoted", "hires_total": "Hires (FTE)",
    "kam_hours_used_pct": "KAM hours used %", "sponsor_slots_used": "Sponsor slots used",
    "sponsor_slots": "Sponsor slots", "sponsor_slots_used_pct": "Sponsor slots used %",
    "accounts_in": "Accounts in vs base", "accounts_out": "Accounts out vs base",
    "tier_changed": "Accounts changing tier", "verified": "Independently verified", "error": "Error",
}


def _compare_label(key: str) -> str:
    if key in COMPARE_LABELS:
        return COMPARE_LABELS[key]
    if key.startswith("tier_"):
        return f"Key accounts: {key[5:]}"
    if key.startswith("hires["):
        return f"Hires: {key[6:-1]}"
    if key.startswith("support_used_pct["):
        return f"Support used %: {key[17:-1]}"
    return key


def _compare_cell(key: str, value: str) -> str:
    v = to_float(value)
    if value == "" or value is None:
        return '<td class="n">—</td>'
    if v is None:
        return f'<td class="n">{esc({"true": "yes", "false": "no"}.get(value, value))}</td>'
    decimals = 4 if key == "gap_pct" else 1 if key.endswith("_pct") or "_pct[" in key else 0
    return f'<td class="n">{number(v, decimals)}</td>'


def compare_section(inp: Inputs) -> str:
    """The scenario table (one column per run) and the accounts each scenario moves."""
    assert inp.compare is not None
    cur = inp.summary.get("currency") or ""
    runs = inp.compare.get("comparison.csv")
    header = inp.compare.columns.get("comparison.csv", [])
    keys = [k for k in header if k not in ("scenario", "file", "exit_code") and
            (k != "error" or any(r.get("error") for r in runs))]
    head = "".join(f'<th scope="col" class="n">{esc(r.get("scenario", ""))}</th>' for r in runs)
    body = "".join(f'<tr><th scope="row">{esc(_compare_label(k))}</th>'
                   + "".join(_compare_cell(k, r.get(k, "")) for r in runs) + "</tr>" for k in keys)
    grid = ('<div class="table-wrap"><table class="data compact" id="compare-table"><thead><tr><th scope="col"></th>'
            f"{head}</tr></thead><tbody>{body}</tbody></table></div>")
    bars = [Bar(r.get("scenario", ""), to_float(r.get("objective")) or 0.0,
                f"{compact(to_float(r.get('objective')))} {cur}" if to_float(r.get("objective")) is not None
                else r.get("status", ""), BAR if k else "#1f3a5f") for k, r in enumerate(runs)]
    chart = bar_chart([("Expected net value per scenario", bars)], chart_id="chart-compare",
                      label="Expected net value per scenario")
    changes = inp.compare.get("changes.csv")
    cols = [Column("scenario", "Scenario"), Column("account_id", "Account"), Column("name", "Name"),
            Column("change", "Change"), Column("base_tier", "Base"), Column("scenario_tier", "Scenario")]
    listing = (f"<details><summary>Accounts that enter, leave or change tier against the base ({len(changes)})"
               f"</summary>{table(cols, changes, table_id='compare-changes')}</details>" if changes else "")
    return _section("scenarios", "Scenarios", chart + grid + listing,
                    "The base policy and each what-if scenario, solved side by side.")


def frontier_section(inp: Inputs) -> str:
    """The frontier: value and marginal value per swept value, the recommended point and its rule."""
    assert inp.frontier is not None
    info, cur = inp.frontier_info, inp.summary.get("currency") or ""
    rows = inp.frontier.get("frontier.csv")
    xs = [to_float(r.get("value")) for r in rows]
    ok = [(x, r) for x, r in zip(xs, rows) if x is not None]
    rec = next((k for k, (_, r) in enumerate(ok) if r.get("recommended") == "true"), None)
    vary = str(info.get("vary") or "the swept value")
    chart = frontier_chart([x for x, _ in ok], [_f(r, "objective") for _, r in ok],
                           [_f(r, "marginal_value") for _, r in ok], recommended=rec, x_label=vary, currency=cur,
                           chart_id="chart-frontier")
    lead = f"The plan solved once per value of <code>{esc(vary)}</code>"
    if info.get("base_value") not in (None, ""):
        lead += f" (the policy says {esc(info['base_value'])})"
    lead += "."
    recommendation = ""
    if rec is not None:
        recommendation = (f"<p><strong>Recommended: {esc(plain(ok[rec][0]))}</strong> — rule: "
                          f"{esc(info.get('rule', ''))}; {esc(info.get('reason', ''))}</p>")
    elif info.get("reason"):
        recommendation = f"<p>No recommendation: {esc(info['reason'])}</p>"
    leaving = info.get("accounts_entering_then_leaving") or []
    if leaving:
        many = len(leaving) > 1
        recommendation += (f'<p class="muted">Not nested: {len(leaving)} account{"s" if many else ""} '
                           f'enter{"" if many else "s"} the portfolio and leave{"" if many else "s"} it '
                           f"again further along the sweep ({esc(', '.join(map(str, leaving[:10])))}"
                           f"{' …' if len(leaving) > 10 else ''}).</p>")
    cols = [Column("value", "Value", "num"), Column("status", "Status"),
            Column("objective", f"Expected net value ({cur})", "money"),
            Column("marginal_value", f"Marginal value ({cur})", "money"),
            Column("annual_cost", f"Annual cost ({cur})", "money"), Column("key_accounts", "Key accounts", "int"),
            Column("hires_total", "Hires", "int"), Column("kam_hours_used_pct", "KAM hours used", "pct"),
            Column("recommended", "Recommended")]
    shown = [{**r, "recommended": "yes" if r.get("recommended") == "true" else ""} for r in rows]
    return _section("frontier", "Frontier", recommendation + chart + table(cols, shown, table_id="frontier-table"),
                    lead)


def about_section(inp: Inputs) -> str:
    """How the plan was made, and the fingerprints that tie this page to its inputs."""
    from kamopt import __version__

    s = inp.summary
    items = [("Policy", esc(s.get("policy", "")))]
    sc = s.get("scenario")
    if isinstance(sc, dict):
        items.append(("Scenario", esc(f"{sc.get('name', '')}: {sc.get('description') or ''}".rstrip(": "))))
    for key, label in (("overrides", "Overrides"), ("data_adjustments", "Data adjustments")):
        if s.get(key):
            items.append((label, "<br>".join(f"<code>{esc(x)}</code>" for x in s[key])))
    solver = f"method {esc(s.get('method', '?'))}, solver {esc(s.get('solver', '?'))}"
    if s.get("time_limit") is not None:
        solver += f", time limit {number(s['time_limit'])} s"
    if s.get("requested_gap") is not None:
        solver += f", gap target {_gap(s['requested_gap'])}"
    if s.get("solve_seconds") is not None:
        solver += f"; solved in {number(s['solve_seconds'], 2)} s"
    items.append(("Method and solver", solver))
    for key, label in (("policy_sha256", "Policy fingerprint"), ("data_sha256", "Data fingerprint")):
        items.append((label, f"<code>{_fact(key, s.get(key), esc(s.get(key) or '—'))}</code>"))
    items.append(("Plan made by", f"kamopt {esc(s.get('kamopt_version', '?'))}"))
    items.append(("Report made by", f"kamopt {esc(__version__)} (<code>kamopt report</code>)"))
    return _section("about", "About this plan", key_values(items),
                    "The fingerprints identify the exact policy and data this plan was computed from.")


# --------------------------------------------------------------------------- the page


def render(inp: Inputs) -> str:
    """The whole page as text."""
    s = inp.summary
    title = f"Key account plan — {s.get('policy', 'kamopt')}"
    sub = []
    sc = s.get("scenario")
    if isinstance(sc, dict) and sc.get("name"):
        sub.append(f"scenario {sc['name']}" + (f": {sc['description']}" if sc.get("description") else ""))
    accounts = s.get("accounts")
    sub.append(f"{number(accounts) if isinstance(accounts, int) else '?'} accounts screened; "
               f"currency {s.get('currency', '')}")
    parts: list[tuple[str, str, str]] = []  # (anchor, menu label, html)
    parts.append(("status", "Status", status_section(s)))
    if _has_plan(s):
        parts.append(("headline", "Headline", headline_section(s)))
        parts.append(("tiers", "Tier mix", tier_section(inp)))
        parts.append(("utilisation", "Utilisation", utilisation_section(inp)))
        parts.append(("sponsorship", "Sponsorship", sponsorship_section(inp)))
        parts.append(("changes", "Changes", changes_section(inp)))
        parts.append(("portfolio", "Portfolio", portfolio_section(inp)))
    parts.append(("excluded", "Excluded", excluded_section(inp)))
    if inp.compare is not None:
        parts.append(("scenarios", "Scenarios", compare_section(inp)))
    if inp.frontier is not None:
        parts.append(("frontier", "Frontier", frontier_section(inp)))
    parts.append(("about", "About", about_section(inp)))
    toc = "".join(f'<a href="#{a}">{esc(label)}</a>' for a, label, _ in parts)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="kamopt report">',
        f"<title>{esc(title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        f'<header class="top"><h1>{esc(title)}</h1><p>{esc(" · ".join(sub))}</p></header>',
        f'<nav class="toc" aria-label="Sections">{toc}</nav>',
        "<main>",
        *(html for _, _, html in parts),
        "</main>",
        f'<footer>kamopt report · policy {esc(str(s.get("policy_sha256", ""))[:12])} · data '
        f'{esc(str(s.get("data_sha256", ""))[:12])}</footer>',
        f"<script>{SCRIPT}</script>",
        "</body>",
        "</html>",
        "",
    ])


def check_output_file(out: Path, force: bool) -> None:
    """Fail before any work if ``out`` cannot receive the report (a folder; an existing file without force)."""
    if out.is_dir():
        raise OutputError(Diagnostic("is a folder; --out names the report file", file=str(out),
                                     hint="e.g. --out report.html"))
    if out.exists() and not force:
        raise OutputError(Diagnostic("the report file already exists", file=str(out),
                                     hint="use --force to replace it, or choose another --out"))
    make_parent(out)


def write_report(plan: str | Path, out: str | Path, *, compare: str | Path | None = None,
                 frontier: str | Path | None = None, force: bool = False) -> Path:
    """Build the report from the folders and write it to ``out`` atomically; returns ``out``."""
    out = Path(out)
    check_output_file(out, force)
    text = render(read_inputs(plan, compare, frontier))
    write_text_atomic(out, text)  # with the usual permissions of a new file: a report is made to be shared
    return out

