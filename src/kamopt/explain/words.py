"""An explanation in plain words: figures with their units, blockers, and the lines the
CLI prints (:func:`explanation_lines`)."""

from __future__ import annotations

from kamopt.explain.facts import Blocker, Explanation


def _num(x: float, scale: float | None = None) -> str:
    """Whole numbers as they are; others to the unit from 100 on, else to two decimals.
    ``scale``: the largest figure of the sentence, whose precision the others take (so
    "needs 211 h, 49 h free", not "needs 211 h, 48.67 h free")."""
    if abs(x - round(x)) < 1e-6:
        return f"{int(round(x)):,}"
    if max(abs(x), abs(scale or 0.0)) >= 100:
        return f"{x:,.0f}"
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def money(x: float | None, currency: str) -> str:
    return "—" if x is None else f"{_num(x)} {currency}".rstrip()


def _qty(x: float, unit: str, currency: str, scale: float | None = None) -> str:
    if unit == "money":
        return money(x, currency)
    shown = _num(x, scale)
    if shown == "1" and unit in ("accounts", "slots"):
        unit = unit[:-1]
    return f"{shown} {unit}"


def blocker_words(b: Blocker, currency: str = "") -> str:
    """``kam_hours[Iberia]: needs 130 h, 20 h free (110 h short)``."""
    if b.soft_penalty is not None:
        already = f"; already broken by {_qty(-b.free, b.unit, currency)}" if b.free < 0 else ""
        text = (f"{b.constraint} (soft{already}): would be broken by {_qty(b.missing, b.unit, currency)} more, "
                f"at a penalty of {money(b.soft_penalty, currency)} per unit")
    else:
        scale = max(abs(b.needs), abs(b.free), abs(b.missing))
        text = (f"{b.constraint}: needs {_qty(b.needs, b.unit, currency, scale)}, "
                f"{_qty(max(b.free, 0.0), b.unit, currency, scale)} free ({_qty(b.missing, b.unit, currency, scale)}"
                " short)")
    return text + (f"; {b.note}" if b.note else "")


def _how(method: str, proven: bool, low: float | None, high: float | None, currency: str) -> str:
    """How sure a figure is, in words."""
    if method == "estimate":
        return "estimate from LP prices; kamopt explain without --estimate gives the exact figure"
    if low is None or high is None:
        return "best found; no bound proven"
    if high - low <= max(0.01, 1e-9 * abs(high)):
        return "exact"
    span = f"proven between {money(low, currency)} and {money(high, currency)}"
    return f"{span}, the re-solves' gap" if proven else f"best found; {span}"


def explanation_lines(e: Explanation) -> list[str]:
    """The explanation in plain words, one finding per line (the CLI prints these)."""
    cur = e.currency
    lines = [f"{e.account_id} — {e.name}"]
    what = {"in": f"IN: a key account at {e.decision}", "out": "OUT: a candidate the plan leaves out",
            "excluded": f"EXCLUDED: {e.reason}"}[e.status]
    lines.append(f"Decision: {what} (previous tier {e.previous_tier}; change: {e.change})")
    if e.rules:
        passed = [f"{x.rule} ({x.expression})" for x in e.rules if x.passed]
        failed = [f"{x.rule} ({x.expression})" + (f" — {x.description}" if x.description else "")
                  for x in e.rules if not x.passed]
        if failed:
            also = f"; passes {', '.join(passed)}" if passed else ""
            lines.append("Eligibility: fails " + "; ".join(failed) + also)
        else:
            lines.append("Eligibility: passes every rule: " + ", ".join(passed))
    if e.notes:
        lines.append(f"Note: {e.notes}")
    if e.contributions:
        parts = " + ".join(f"{c.criterion} {c.weight:g} x {c.score:g} = {c.contribution:.2f}" for c in e.contributions)
        total = sum(c.contribution for c in e.contributions)
        clipped = "" if abs(total - e.score) < 1e-6 else f" (sum {total:.2f}, kept within 1-10)"
        lines.append(f"Score {e.score:.2f}{clipped} = {parts}")
    lines.append("Tiers:")
    for t in e.tiers:
        if not t.qualifies:
            lines.append(f"  {t.tier}: does not qualify — {t.why_not}")
            continue
        support = ", ".join(f"{fn} {_num(h)} h" for fn, h in t.support_hours.items() if h)
        sponsor = f"; needs a sponsor ({', '.join(t.sponsors_allowed)})" if t.sponsor_required else ""
        lines.append(f"  {t.tier}: qualifies{f' ({t.note})' if t.note else ''} — value {money(t.value, cur)}; "
                     f"{_num(t.kam_hours)} KAM h in pool {t.pool or '—'}"
                     + (f"; support {support}" if support else "")
                     + f"; cost to serve {money(t.annual_cost, cur)} a year{sponsor}")
    for en in e.entries:
        hard = [b for b in en.blockers if b.soft_penalty is None]
        soft = [b for b in en.blockers if b.soft_penalty is not None]
        if hard:
            lines.append(f"At {en.tier}, blocked by: " + "; ".join(blocker_words(b, cur) for b in hard))
        else:
            lines.append(f"At {en.tier}: no capacity or hard limit blocks it in the plan as it stands")
        if soft:
            lines.append("  and it would break soft limits: " + "; ".join(blocker_words(b, cur) for b in soft))
        if not en.feasible:
            lines.append(f"  It cannot be at {en.tier} under the policy as set; what would have to change:")
            lines.extend(f"    - {x}" for x in en.needs)
        elif en.threshold is not None:
            how = _how(en.method, en.proven, en.low, en.high, cur)
            if en.shortfall <= max(0.01, 1e-9 * abs(en.value)) and en.in_best:
                lines.append(f"  The best plan found has it at {en.tier}: at {money(en.value, cur)} it is worth its "
                             f"place there ({how})")
            elif en.shortfall <= max(0.01, 1e-9 * abs(en.value)):
                lines.append(f"  It is at the threshold for {en.tier}: its value {money(en.value, cur)} is just "
                             f"enough, any more and it enters ({how})")
            else:
                lines.append(f"  To be at {en.tier} it would need an expected value of {money(en.threshold, cur)} "
                             f"(now {money(en.value, cur)}: {money(en.shortfall, cur)} short; {how})")
    if e.exit is not None:
        x = e.exit
        if not x.feasible:
            lines.append("It cannot be left out: " + "; ".join(x.kept_by))
        elif x.value_lost is not None:
            how = _how(x.method, x.proven, x.low, x.high, cur)
            lines.append(f"If forced out, the plan would lose {money(x.value_lost, cur)} ({how})")
    if e.optimum is not None:
        lines.append(f"Re-solved at gap {e.gap:g}: best plan {money(e.optimum, cur)}"
                     + (f", bound {money(e.optimum_bound, cur)}" if e.optimum_bound is not None else "")
                     + (f"; the plan given: {money(e.plan_objective, cur)}" if e.plan_objective is not None else ""))
    lines.extend(f"Note: {x}" for x in e.remarks)
    return lines
