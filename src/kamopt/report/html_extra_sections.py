"""The report's sections beyond the plan itself: the scenario comparison and the frontier
(when their folders are given), and "About this plan" with the fingerprints."""

from __future__ import annotations

from kamopt.report.html_assets import (
    BAR,
    Bar,
    Column,
    bar_chart,
    compact,
    esc,
    frontier_chart,
    key_values,
    number,
    plain,
    table,
    to_float,
)
from kamopt.report.html_format import fact, gap_text, row_float, section
from kamopt.report.html_inputs import Inputs

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
            (k not in ("error", "diagnosis") or any(r.get(k) for r in runs))]
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
    return section("scenarios", "Scenarios", chart + grid + listing,
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
    chart = frontier_chart([x for x, _ in ok], [row_float(r, "objective") for _, r in ok],
                           [row_float(r, "marginal_value") for _, r in ok], recommended=rec, x_label=vary, currency=cur,
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
    for edge in info.get("infeasible_edges") or []:  # where the policy stops being feasible, and why
        said = " ".join(str(line) for line in edge.get("diagnosis") or []) or "not diagnosed"
        recommendation += f"<p>Infeasible at {esc(plain(edge.get('value')))}: {esc(said)}</p>"
    cols = [Column("value", "Value", "num"), Column("status", "Status"),
            Column("objective", f"Expected net value ({cur})", "money"),
            Column("marginal_value", f"Marginal value ({cur})", "money"),
            Column("annual_cost", f"Annual cost ({cur})", "money"), Column("key_accounts", "Key accounts", "int"),
            Column("hires_total", "Hires", "int"), Column("kam_hours_used_pct", "KAM hours used", "pct"),
            Column("recommended", "Recommended")]
    shown = [{**r, "recommended": "yes" if r.get("recommended") == "true" else ""} for r in rows]
    return section("frontier", "Frontier", recommendation + chart + table(cols, shown, table_id="frontier-table"),
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
        solver += f", gap target {gap_text(s['requested_gap'])}"
    if s.get("solve_seconds") is not None:
        solver += f"; solved in {number(s['solve_seconds'], 2)} s"
    items.append(("Method and solver", solver))
    for key, label in (("policy_sha256", "Policy fingerprint"), ("data_sha256", "Data fingerprint")):
        items.append((label, f"<code>{fact(key, s.get(key), esc(s.get(key) or '—'))}</code>"))
    items.append(("Plan made by", f"kamopt {esc(s.get('kamopt_version', '?'))}"))
    items.append(("Report made by", f"kamopt {esc(__version__)} (<code>kamopt report</code>)"))
    return section("about", "About this plan", key_values(items),
                    "The fingerprints identify the exact policy and data this plan was computed from.")
