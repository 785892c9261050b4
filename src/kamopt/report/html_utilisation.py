"""The report's utilisation section: how much of each capacity and limit the plan uses,
and what one more step of each is worth (summary.json's marginal values, resources.csv's
marginal columns, or "not computed")."""

from __future__ import annotations

from typing import Any

from kamopt.report.html_assets import (
    ACCENT,
    BAR,
    Bar,
    Column,
    bar_chart,
    compact,
    esc,
    number,
    percent,
    plain,
    table,
    to_float,
)
from kamopt.report.html_format import percent_of, row_float, section
from kamopt.report.html_inputs import Inputs, Row


def _bar(label: str, used: float | None, limit: float | None, unit: str, worth: str = "", note: str = "") -> Bar:
    pct = percent_of(used, limit)
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
    groups.append(("Budget", [_bar("budget", row_float(r, "used"), row_float(r, "limit"), cur, worth.get("budget", ""))
                              for r in res if r.get("family") == "budget"]))
    if plan.get("hiring.csv"):
        pools = [_bar(r["pool"], row_float(r, "hours_used"), row_float(r, "hours_capacity"), "h",
                      worth.get(f"kam_fte[{r['pool']}]", ""),
                      f"{r.get('key_accounts', '')} key accounts; {r.get('hires', '0')} hired")
                 for r in plan.get("hiring.csv")]
    else:
        pools = [_bar(r["resource"], row_float(r, "used"), row_float(r, "limit"), "h")
                 for r in res if r.get("family") == "kam_hours"]
    groups.append(("KAM hours per pool (after hires)", pools))
    groups.append(("Support hours", [
        _bar(r.get("label") or r["function"], row_float(r, "hours_used"), row_float(r, "hours_capacity"), "h",
             worth.get(f"support_hours[{r['function']}]", "")) for r in plan.get("support.csv")]))
    groups.append(("Executive sponsor slots", [
        _bar(r["resource"], row_float(r, "used"), row_float(r, "limit"), "slots",
             worth.get(r.get("constraint", ""), ""))
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
    return section("utilisation", "Utilisation and marginal values", body,
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
    limit, used = row_float(r, "limit"), row_float(r, "used")
    step_unit = r.get("step_unit") or r.get("unit", "")
    return {
        "constraint": r.get("constraint", ""), "limit": limit, "used": used, "slack": row_float(r, "slack"),
        "unit": r.get("unit", ""), "use_pct": percent_of(used, limit) if limit and limit > 0 else None,
        "binding": "yes" if r.get("binding") == "true" else "",
        "step": _step_text(row_float(r, "step"), step_unit, 1, currency) if row_float(r, "step") is not None else "—",
        "exact": _exact(r.get("marginal_value"), r.get("marginal_low"), r.get("marginal_high"),
                        r.get("marginal_status", "")),
        "lp": _estimate(r.get("lp_estimate")),
    }
