"""The report's sections about the plan itself: status, headline, tier mix, sponsorship,
changes from today's portfolio, the portfolio and the excluded accounts.

(Utilisation and marginal values are in :mod:`kamopt.report.html_utilisation`.)
"""

from __future__ import annotations

from typing import Any

from kamopt.report.html_assets import Column, compact, donut, esc, number, percent, table, tier_colour, to_float
from kamopt.report.html_format import fact, gap_text, has_plan, percent_of, row_float, section, tier_names
from kamopt.report.html_inputs import Inputs, Row
from kamopt.verify import rule_names


def _count(n: int, one: str, many: str) -> str:
    """``1 hard rule``, ``3 hard rules``."""
    return f"{number(n)} {one if n == 1 else many}"


def _money(v: float | None, currency: str) -> str:
    return "—" if v is None else f"{number(v)} {esc(currency)}"


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
        lines.append(f"Proven optimal within a relative gap of {fact('gap', gap, gap_text(gap))}"
                     + (f": no plan is better by more than {_money(room, cur)}." if room is not None else "."))
    elif status == "feasible" and (gap is None or room is None):
        lines.append(f"The solver stopped at its time limit ({limit_text}) before it could bound the gap: a "
                     "better plan may exist, by an unknown amount.")
    elif status == "feasible":
        lines.append(f"The solver stopped at its time limit ({limit_text}) with a gap of "
                     f"{fact('gap', gap, gap_text(gap))}: a better plan may exist, worth at most "
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
    if has_plan(s):
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
    broken = rule_names(s.get("greedy_violations", []))  # 'rules' for folders written before the list
    breaks = "" if s.get("greedy_feasible", True) else f", which breaks {esc(broken)}"
    sub = ("over the horizon, discounted; net of cost to serve and hires" if greedy is None else
           f"{fact('optimum_vs_greedy_pct', greedy, f'{greedy:+.1f} %')} vs the rank-and-fill baseline "
           f"({fact('greedy_objective', s.get('greedy_objective'), compact(s.get('greedy_objective')))}"
           f"{breaks})")
    card("Expected net value", fact("objective", obj, number(obj)), sub, cur)
    cost, budget = s.get("annual_cost"), s.get("budget")
    sub = (f"of a budget of {fact('budget', budget, number(budget))} {esc(cur)} "
           f"({percent(100 * cost / budget)})" if cost is not None and budget else "cost to serve plus hires")
    card("Annual cost", fact("annual_cost", cost, number(cost)), sub, cur)
    mix = " · ".join(f"{esc(t)} {fact(f'tiers.{t}', n, number(n))}" for t, n in tiers.items())
    card("Key accounts", fact("key_accounts", s.get("key_accounts"), number(s.get("key_accounts"))), mix)
    hires = s["hires"]
    total = sum(int(v) for v in hires.values() if isinstance(v, (int, float)))
    per_pool = " · ".join(f"{esc(p)} +{fact(f'hires.{p}', n, number(n))}" for p, n in hires.items() if n)
    card("KAM hires", fact("hires_total", total, number(total)), per_pool or "no hires", "FTE")
    ch = s["changes"]
    card("Promotions", fact("changes.promote", ch.get("promote"), number(ch.get("promote"))),
         f"{fact('changes.keep', ch.get('keep'), number(ch.get('keep')))} kept · "
         f"{fact('changes.demote', ch.get('demote'), number(ch.get('demote')))} demoted")
    card("Accounts screened", fact("accounts", s.get("accounts"), number(s.get("accounts"))),
         f"{fact('candidates', s.get('candidates'), number(s.get('candidates')))} candidates · "
         f"{fact('excluded', s.get('excluded'), number(s.get('excluded')))} excluded")
    return f'<div class="kpis" id="headline">{"".join(cards)}</div>'


def tier_section(inp: Inputs) -> str:
    """Tier mix: a donut of key accounts per tier and a table of each tier's value and cost."""
    s, cur = inp.summary, inp.summary.get("currency") or ""
    tiers = tier_names(s)
    sums = {t: {"tier": t, "accounts": 0, "new": 0, "value": 0.0, "cost": 0.0, "hours": 0.0} for t in tiers}
    for r in inp.plan.get("portfolio.csv"):
        t = r.get("decision", "none")
        if t in sums:
            agg = sums[t]
            agg["accounts"] += 1
            agg["new"] += r.get("previous_tier", "none") in ("", "none")
            agg["value"] += row_float(r, "expected_value") or 0.0
            agg["cost"] += row_float(r, "annual_cost") or 0.0
            agg["hours"] += row_float(r, "kam_hours") or 0.0
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
    return section("tiers", "Tier mix", body, "How many key accounts each service tier gets, and what they bring.")


def sponsorship_section(inp: Inputs) -> str:
    """The sponsorship plan: each executive, slots used, and the accounts they sponsor."""
    rows = inp.plan.get("sponsorship.csv")
    if not rows:
        return section("sponsorship", "Executive sponsorship", '<p class="muted">No executive sponsors in this '
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
        used, slots = row_float(first, "slots_used"), row_float(first, "slots")
        table_rows.append({
            "sponsor": f'<span class="who">{esc(sponsor)}</span>', "title": first.get("title", ""),
            "slots": (percent_of(used, slots), f"{esc(first.get('slots_used', ''))} of {esc(first.get('slots', ''))}"),
            "accounts": listing,
        })
    cols = [Column("sponsor", "Executive", "html"), Column("title", "Title"), Column("slots", "Slots used", "htmlnum"),
            Column("accounts", "Sponsored accounts", "html", wrap=True)]
    return section("sponsorship", "Executive sponsorship",
                    table(cols, table_rows, table_id="sponsorship-table", compact=True),
                    "Which member of the leadership team sponsors which strategic account.")


def changes_section(inp: Inputs) -> str:
    """Changes from the current portfolio: a from/to matrix and the accounts that move."""
    s = inp.summary
    tiers = tier_names(s)
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
    lead = (f"{fact('changes.promote', ch.get('promote'), number(ch.get('promote')))} promoted (new key accounts "
            f"or a higher tier), {fact('changes.keep', ch.get('keep'), number(ch.get('keep')))} kept at their "
            f"tier, {fact('changes.demote', ch.get('demote'), number(ch.get('demote')))} demoted.")
    cols = [Column("account_id", "Account"), Column("name", "Name"), Column("previous_tier", "Today"),
            Column("decision", "Plan"), Column("change", "Change"), Column("score", "Score", "num2"),
            Column("expected_value", f"Expected value ({s.get('currency') or ''})", "money"),
            Column("override", "Manual decision", wrap=True)]
    listing = (table(cols, moved, table_id="changes-table") if moved else
               '<p class="muted">No account changes tier.</p>')
    return section("changes", "Changes from the current portfolio", f"<p>{lead}</p>{grid}<h3>Accounts that move "
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
    order = {t: k for k, t in enumerate(tier_names(s))}
    keys = [r for r in inp.plan.get("portfolio.csv") if r.get("decision") in order]
    keys.sort(key=lambda r: (order[r["decision"]], -(row_float(r, "expected_value") or 0.0), r.get("account_id", "")))
    cols = [Column(k, f"{t} ({cur})" if kind == "money" and cur else t, "text" if kind == "wrap" else kind,
                   wrap=kind == "wrap") for k, t, kind in PORTFOLIO_COLUMNS]
    search = ('<input class="filter" type="search" placeholder="Filter: name, id, tier, KAM…" '
              'aria-label="Filter the portfolio" data-table="portfolio-table" data-count="portfolio-count">')
    lead = (f'<span id="portfolio-count">{len(keys)}</span> key accounts. Click a column header to sort '
            "(again to reverse).")
    return section("portfolio", "Portfolio", search + table(cols, keys, table_id="portfolio-table"), lead)


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
        return section("excluded", "Excluded accounts", '<p class="muted">No account is excluded.</p>')
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
    if isinstance(candidates, int) and isinstance(keys, int) and has_plan(inp.summary) and candidates > keys:
        left = candidates - keys
        who = "candidates qualify but were" if left > 1 else "candidate qualifies but was"
        lead += f" A further {number(left)} {who} not chosen: within the limits above, the plan does better without."
    return section("excluded", "Excluded accounts", counts + listing, esc(lead))
