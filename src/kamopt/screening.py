"""Screening: eligibility rules, criteria scores, and each tier's value and needs per account.

``screen(loaded, data)`` evaluates every expression of the policy over the whole account
table at once (vectorised) and returns a :class:`Screening`: the evidence behind each
account's candidacy. ``build_problem(screening)`` turns it into the numeric
:class:`~kamopt.model.problem.Problem` the optimiser solves.

Every expression is compiled before anything is evaluated, and all compile errors are
reported together, each at its policy key. Evaluation errors (division by zero on some
rows, bad cells) name the account rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kamopt.data.accounts import AccountData, Fields
from kamopt.data.table import Table
from kamopt.errors import (
    DataError,
    Diagnostic,
    ExpressionError,
    KamoptError,
    PolicyError,
    did_you_mean,
    one_of,
)
from kamopt.model.problem import Capacity, Forced, Kam, KamPairs, Limit, Pool, Problem, Sponsor
from kamopt.policy.expr import Expression, Kind, caret, compile_expression
from kamopt.policy.loader import LoadedPolicy

MAX_ROWS_LISTED = 10


@dataclass
class Screening:
    """Per-account evidence. Arrays have one row per account in the table (``n``)."""

    loaded: LoadedPolicy
    data: AccountData
    rule_ids: tuple[str, ...]
    rule_pass: np.ndarray
    """bool (n, rules)."""
    criterion_ids: tuple[str, ...]
    criterion_scores: np.ndarray
    """float (n, criteria), each 1-10."""
    score: np.ndarray
    """float (n): weighted score, 1-10."""
    pool_ids: tuple[str, ...]
    pool: np.ndarray
    """int (n): index of the serving KAM pool, -1 for none."""
    tier_ids: tuple[str, ...]
    admitted: np.ndarray
    """bool (n, tiers): the account may be promoted to the tier (rules, admission, sponsor)."""
    value: np.ndarray
    """float (n, tiers): net present value over the horizon."""
    cost: np.ndarray
    """float (n, tiers): annual cost to serve."""
    kam_hours: np.ndarray
    """float (n, tiers): annual KAM hours."""
    support_ids: tuple[str, ...]
    support: np.ndarray
    """float (support functions, n, tiers): annual hours."""
    sponsor_ids: tuple[str, ...]
    sponsor_ok: np.ndarray
    """bool (n, sponsors)."""
    current_tier: np.ndarray
    """int (n): current tier index, -1 if not a key account today."""
    forced: dict[int, Forced] = field(default_factory=dict)
    """Row -> manual decision (``Forced.account`` is the table row here)."""
    eligible: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    """bool (n): passes every rule (or is an exempt incumbent / forced in)."""
    reasons: list[str] = field(default_factory=list)
    """Per account: why it is not a candidate ('' for candidates)."""
    notes: list[str] = field(default_factory=list)
    """Per account: remarks (forced in, incumbent kept despite a rule, ...)."""
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    """Values of the expressions portfolio limits group by (quota masks, concentration keys)."""

    @property
    def n(self) -> int:
        return len(self.data.ids)

    @property
    def candidate(self) -> np.ndarray:
        """bool (n): the account appears in the optimisation problem."""
        return np.array([r == "" for r in self.reasons], dtype=bool)


# --------------------------------------------------------------------------- compile


class _Compiler:
    """Compiles the policy's expressions against the data's fields, collecting errors."""

    def __init__(self, loaded: LoadedPolicy, fields: Fields):
        self.loaded = loaded
        self.fields = fields
        self.errors: list[Diagnostic] = []

    def __call__(self, path: tuple, text: str, expect: Kind | None) -> Expression | None:
        try:
            return compile_expression(text, self.fields.kinds, expect)
        except ExpressionError as err:
            for d in err.diagnostics:
                message = d.message
                if d.column is not None:
                    message += "\n    " + caret(str(text), d.column).replace("\n", "\n    ")
                self.errors.append(
                    self.loaded.error(path, message, expected=d.expected, found=d.found, hint=d.hint)
                )
            return None


class _Evaluator:
    """Evaluates compiled expressions over all rows; errors name accounts and file lines."""

    def __init__(self, loaded: LoadedPolicy, data: AccountData):
        self.loaded = loaded
        self.data = data
        self.n = len(data.ids)

    def __call__(self, path: tuple, expr: Expression) -> np.ndarray:
        columns = self.data.accounts.columns(sorted(expr.names))
        try:
            result = expr.evaluate(columns, self.n)
        except ExpressionError as err:
            rows = ", ".join(self.data.label(r) for r in err.rows[:MAX_ROWS_LISTED])
            more = f" and {len(err.rows) - MAX_ROWS_LISTED} more" if len(err.rows) > MAX_ROWS_LISTED else ""
            raise ExpressionError(
                self.loaded.error(path, f"{err.diagnostics[0].message}: {rows}{more}"),
                rows=err.rows,
            ) from None
        return result

    def number(self, path: tuple, expr: Expression, *, min_value: float | None = None) -> np.ndarray:
        values = np.asarray(self(path, expr), dtype=float)
        if values.shape == ():
            values = np.full(self.n, float(values))
        bad = np.flatnonzero(~np.isfinite(values))
        if min_value is not None:
            bad = np.union1d(bad, np.flatnonzero(values < min_value))
        if bad.size:
            rows = ", ".join(
                f"{self.data.label(r)} = {values[r]:g}" for r in bad[:MAX_ROWS_LISTED]
            )
            more = f" and {bad.size - MAX_ROWS_LISTED} more" if bad.size > MAX_ROWS_LISTED else ""
            expected = "a finite number" + (f" >= {min_value:g}" if min_value is not None else "")
            raise DataError(
                self.loaded.error(
                    path, f"gives a bad value on {bad.size} accounts: {rows}{more}", expected=expected
                )
            )
        return values


# --------------------------------------------------------------------------- screen


def screen(loaded: LoadedPolicy, data: AccountData) -> Screening:
    """Evaluate rules, scores, pools, tiers and sponsor affinities for every account."""
    policy = loaded.policy
    fields = data.accounts
    n = len(data.ids)
    comp = _Compiler(loaded, fields)

    rules = {rid: comp(("eligibility", rid), r.rule, "bool") for rid, r in policy.eligibility.items()}
    criteria = {}
    for cid, c in policy.criteria.items():
        key = "column" if c.column is not None else "source"
        criteria[cid] = comp(("criteria", cid, key), c.column or c.source, "number")
    pools = {pid: comp(("resources", "kam_pools", pid, "accounts"), p.accounts, "bool")
             for pid, p in policy.resources.kam_pools.items()}
    sponsors = {sid: comp(("resources", "sponsors", sid, "affinity"), s.affinity, "bool")
                for sid, s in policy.resources.sponsors.items() if s.affinity is not None}
    tier_exprs: dict[str, dict[str, Expression | None]] = {}
    for tid, t in policy.tiers.items():
        ex: dict[str, Expression | None] = {}
        for key in ("kam_hours", "cost_to_serve", "uplift", "retention_gain", "expected_value"):
            text = getattr(t, key)
            if text is not None:
                ex[key] = comp(("tiers", tid, key), text, "number")
        if t.admit is not None:
            ex["admit"] = comp(("tiers", tid, "admit"), t.admit, "bool")
        for fn, text in t.support_hours.items():
            ex[f"support:{fn}"] = comp(("tiers", tid, "support_hours", fn), text, "number")
        tier_exprs[tid] = ex
    quota_exprs = {qid: comp(("portfolio", "quotas", qid, "accounts"), q.accounts, "bool")
                   for qid, q in policy.portfolio.quotas.items()}
    conc_exprs = {}
    for cid, c in policy.portfolio.concentration.items():
        conc_exprs[cid] = (
            comp(("portfolio", "concentration", cid, "by"), c.by, None),
            comp(("portfolio", "concentration", cid, "measure"), c.measure, "number") if c.measure else None,
        )
    if comp.errors:
        raise ExpressionError(comp.errors)

    ev = _Evaluator(loaded, data)
    errors: list[Diagnostic] = []

    def attempt(fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except KamoptError as err:
            errors.extend(err.diagnostics)
            return None

    # Eligibility
    rule_ids = tuple(rules)
    rule_pass = np.ones((n, len(rule_ids)), dtype=bool)
    for j, (rid, expr) in enumerate(rules.items()):
        out = attempt(ev, ("eligibility", rid), expr)
        if out is not None:
            rule_pass[:, j] = np.broadcast_to(out, (n,))

    # Scores
    crit_ids = tuple(criteria)
    crit_scores = np.ones((n, len(crit_ids)))
    for j, (cid, expr) in enumerate(criteria.items()):
        c = policy.criteria[cid]
        if c.column is not None:
            raw = attempt(ev.number, ("criteria", cid, "column"), expr)
            if raw is None:
                continue
            bad = np.flatnonzero((raw < 1) | (raw > 10))
            if bad.size:
                rows = ", ".join(f"{data.label(r)} = {raw[r]:g}" for r in bad[:MAX_ROWS_LISTED])
                errors.append(loaded.error(("criteria", cid, "column"),
                                           f"scores must be within 1-10; {bad.size} are not: {rows}",
                                           expected="1 to 10"))
                continue
            crit_scores[:, j] = raw
        else:
            raw = attempt(ev.number, ("criteria", cid, "source"), expr)
            if raw is None:
                continue
            bands = np.searchsorted(np.asarray(c.thresholds), raw, side="right")
            crit_scores[:, j] = np.asarray(c.scores)[bands]
    weights = np.array([policy.criteria[c].weight for c in crit_ids])
    score = np.clip(crit_scores @ weights, 1.0, 10.0) if crit_ids else np.full(n, 1.0)

    # Pools: first matching pool in policy order
    pool_ids = tuple(pools)
    pool = np.full(n, -1, dtype=np.int64)
    for j, (pid, expr) in enumerate(pools.items()):
        out = attempt(ev, ("resources", "kam_pools", pid, "accounts"), expr)
        if out is not None:
            mask = np.broadcast_to(out, (n,))
            pool = np.where((pool < 0) & mask, j, pool)

    # Sponsors
    sponsor_ids = tuple(policy.resources.sponsors)
    sponsor_ok = np.ones((n, len(sponsor_ids)), dtype=bool)
    for j, sid in enumerate(sponsor_ids):
        if sid in sponsors:
            out = attempt(ev, ("resources", "sponsors", sid, "affinity"), sponsors[sid])
            if out is not None:
                sponsor_ok[:, j] = np.broadcast_to(out, (n,))

    # Tiers
    tier_ids = tuple(policy.tiers)
    support_ids = tuple(policy.resources.support)
    T, S = len(tier_ids), len(support_ids)
    value = np.zeros((n, T))
    cost = np.zeros((n, T))
    kam_hours = np.zeros((n, T))
    support = np.zeros((S, n, T))
    admitted = np.zeros((n, T), dtype=bool)
    ramp_npv, annuity = npv_factors(policy.value)
    for k, tid in enumerate(tier_ids):
        t = policy.tiers[tid]
        ex = tier_exprs[tid]
        num = {}
        for key in ("kam_hours", "cost_to_serve", "uplift", "retention_gain", "expected_value"):
            if key in ex:
                floor = 0.0 if key in ("kam_hours", "cost_to_serve") else None
                num[key] = attempt(ev.number, ("tiers", tid, key), ex[key], min_value=floor)
        if any(v is None for v in num.values()):
            continue
        kam_hours[:, k] = num["kam_hours"]
        cost[:, k] = num["cost_to_serve"]
        if "expected_value" in num:
            value[:, k] = num["expected_value"]
        else:
            value[:, k] = (num["uplift"] + num["retention_gain"]) * ramp_npv - num["cost_to_serve"] * annuity
        for s, fn in enumerate(support_ids):
            if f"support:{fn}" in ex:
                out = attempt(ev.number, ("tiers", tid, "support_hours", fn), ex[f"support:{fn}"], min_value=0.0)
                if out is not None:
                    support[s, :, k] = out
        ok = np.ones(n, dtype=bool)
        if t.min_score is not None:
            ok &= score >= t.min_score - 1e-9
        if "admit" in ex:
            out = attempt(ev, ("tiers", tid, "admit"), ex["admit"])
            if out is not None:
                ok &= np.broadcast_to(out, (n,))
        if t.sponsor:
            ok &= sponsor_ok.any(axis=1)
        admitted[:, k] = ok

    groups: dict[str, np.ndarray] = {}
    for qid, expr in quota_exprs.items():
        out = attempt(ev, ("portfolio", "quotas", qid, "accounts"), expr)
        if out is not None:
            groups[f"quota:{qid}"] = np.broadcast_to(out, (n,)).astype(bool)
    for cid, (by, measure) in conc_exprs.items():
        out = attempt(ev, ("portfolio", "concentration", cid, "by"), by)
        if out is not None:
            groups[f"by:{cid}"] = _group_keys(np.broadcast_to(out, (n,)))
        if measure is not None:
            m = attempt(ev.number, ("portfolio", "concentration", cid, "measure"), measure, min_value=0.0)
            if m is not None:
                groups[f"measure:{cid}"] = m

    current = attempt(_current_tiers, loaded, data, tier_ids)
    forced = attempt(_forced, loaded, data, tier_ids)
    if errors:
        raise _combined(errors)

    screening = Screening(
        loaded=loaded, data=data, rule_ids=rule_ids, rule_pass=rule_pass,
        criterion_ids=crit_ids, criterion_scores=crit_scores, score=score,
        pool_ids=pool_ids, pool=pool, tier_ids=tier_ids, admitted=admitted, value=value,
        cost=cost, kam_hours=kam_hours, support_ids=support_ids, support=support,
        sponsor_ids=sponsor_ids, sponsor_ok=sponsor_ok, current_tier=current, forced=forced,
        groups=groups,
    )
    _decide_candidates(screening)
    return screening


def npv_factors(value) -> tuple[float, float]:
    """(ramp factor, annuity factor): NPV of 1 a year of full uplift with the ramp, and of 1 a year flat."""
    r = value.discount_rate
    ramp = value.ramp_up
    disc = [(1 + r) ** -(y + 1) for y in range(value.horizon_years)]
    ramp_y = [ramp[min(y, len(ramp) - 1)] for y in range(value.horizon_years)]
    return float(sum(a * b for a, b in zip(ramp_y, disc))), float(sum(disc))


def _group_keys(values: np.ndarray) -> np.ndarray:
    """Group labels as text: text as is, numbers as ``%g`` (``3.0`` -> ``3``), booleans as true/false."""
    if values.dtype.kind in "UO":
        return values.astype(str)
    if values.dtype.kind == "b":
        return np.where(values, "true", "false")
    distinct, inverse = np.unique(values, return_inverse=True)
    labels = np.array([f"{float(v):g}" for v in distinct], dtype=str)
    return labels[np.asarray(inverse).reshape(-1)]


def _combined(errors: list[Diagnostic]) -> KamoptError:
    """One error with every distinct diagnostic, in order: a bad cell is met by every
    expression that reads its column, and must be reported once."""
    return DataError(list(dict.fromkeys(errors)))


def _current_tiers(loaded: LoadedPolicy, data: AccountData, tier_ids) -> np.ndarray:
    n = len(data.ids)
    current = np.full(n, -1, dtype=np.int64)
    if "current_tier" not in data.accounts.column_of:
        return current
    index = {t: i for i, t in enumerate(tier_ids)}
    lower = {t.lower(): i for i, t in enumerate(tier_ids)}
    bad = []
    for r, text in enumerate(data.accounts.texts("current_tier")):
        if text == "" or text.lower() in ("none", "-", "no"):
            continue
        i = index.get(text, lower.get(text.lower()))
        if i is None:
            bad.append(r)
        else:
            current[r] = i
    if bad:
        table = data.accounts.table
        header = data.accounts.column_of["current_tier"]
        texts = data.accounts.texts("current_tier")
        rows = ", ".join(f"{table.row_label(r)} ({texts[r]!r})" for r in bad[:MAX_ROWS_LISTED])
        raise DataError(
            Diagnostic(
                f"unknown tier in {len(bad)} rows: {rows}",
                file=table.path, line=table.lines[bad[0]], field=header,
                expected=f"blank or {one_of(tier_ids)}", hint=did_you_mean(texts[bad[0]], tier_ids),
            )
        )
    return current


def _forced(loaded: LoadedPolicy, data: AccountData, tier_ids) -> dict[int, Forced]:
    pf = loaded.policy.portfolio
    row_of = {a: i for i, a in enumerate(data.ids)}
    forced: dict[int, Forced] = {}
    problems = []
    entries = [(("portfolio", "must_include", i), a, True, -1, "must_include list")
               for i, a in enumerate(pf.must_include)]
    entries += [(("portfolio", "must_exclude", i), a, False, -1, "must_exclude list")
                for i, a in enumerate(pf.must_exclude)]
    for i, ov in enumerate(pf.overrides):
        tier = tier_ids.index(ov.tier) if ov.tier else -1
        entries.append((("portfolio", "overrides", i, "account"), ov.account,
                        ov.action == "include", tier, ov.reason))
    for path, account, include, tier, reason in entries:
        row = row_of.get(account)
        if row is None:
            problems.append(loaded.error(path, f"no account '{account}' in the account table",
                                         hint=did_you_mean(account, data.ids)))
            continue
        forced[row] = Forced(account=row, include=include, tier=tier, reason=reason)
    if problems:
        raise PolicyError(problems)
    return forced


def _decide_candidates(s: Screening) -> None:
    """Fill eligible, reasons and notes; widen ``admitted`` for exempt incumbents and forced accounts.

    Vectorised over the table; texts are built once per distinct pattern (of failed rules,
    of tiers refused), and per row only where a row has something to say.
    """
    inc = s.loaded.policy.portfolio.incumbents
    n = s.n
    passes = s.rule_pass.all(axis=1) if s.rule_ids else np.ones(n, dtype=bool)
    failed_text = _failed_rules_text(s)
    current = s.current_tier
    exempt = (current >= 0) & inc.exempt_from_rules & (inc.demotion != "allow")
    forced_in = np.zeros(n, dtype=bool)
    forced_in[[r for r, f in s.forced.items() if f.include]] = True
    notes: dict[int, list[str]] = {}

    def note(rows, text_of) -> None:
        for r in np.asarray(rows).tolist():
            notes.setdefault(r, []).append(text_of(r))

    note(np.flatnonzero(~passes & exempt), lambda r: f"incumbent kept despite failing {failed_text[r]}")
    note(np.flatnonzero(~passes & forced_in & ~exempt),
         lambda r: f"forced in ({s.forced[r].reason}) despite failing {failed_text[r]}")
    s.eligible = passes | exempt | forced_in
    s.admitted &= s.eligible[:, None]
    rows = np.flatnonzero(exempt)
    lift = rows[~s.admitted[rows, current[rows]]]
    s.admitted[lift, current[lift]] = True
    note(lift, lambda r: f"incumbent admitted at its current tier {s.tier_ids[current[r]]}")
    for r, f in sorted(s.forced.items()):
        if f.include and f.tier >= 0 and not s.admitted[r, f.tier]:
            s.admitted[r, f.tier] = True
            note([r], lambda r, f=f: f"forced in at {s.tier_ids[f.tier]} ({f.reason})")
        elif f.include and f.tier < 0 and not s.admitted[r].any():
            s.admitted[r, :] = True
            note([r], lambda r, f=f: f"forced in ({f.reason}); admitted at every tier")
        elif not f.include:
            note([r], lambda r, f=f: f"forced out ({f.reason})")
    no_pool = s.pool < 0
    s.admitted[no_pool] = False

    reasons = np.full(n, "", dtype=object)
    out = np.zeros(n, dtype=bool)
    out[[r for r, f in s.forced.items() if not f.include]] = True
    unadmitted = np.flatnonzero(s.eligible & ~no_pool & ~out & ~s.admitted.any(axis=1))
    reasons[unadmitted] = _why_not_admitted(s, unadmitted)
    for r in np.flatnonzero(out).tolist():
        reasons[r] = f"forced out: {s.forced[r].reason}"
    reasons[no_pool] = "no KAM pool serves it"
    reasons[~s.eligible] = np.asarray(["fails " + t for t in failed_text], dtype=object)[~s.eligible]
    # Accounts that must be in the model even without options (so that their rule is named).
    keep = (reasons != "") & no_pool & (forced_in | ((current >= 0) & (inc.demotion != "allow")))
    reasons[keep] = ""
    note(np.flatnonzero(keep), lambda r: "no KAM pool serves it")
    s.reasons = reasons.tolist()
    s.notes = [""] * n
    for r, texts in notes.items():
        s.notes[r] = "; ".join(texts)


def _failed_rules_text(s: Screening) -> list[str]:
    """Per account: the ids of the rules it fails, comma-separated ('' when none)."""
    if not s.rule_ids:
        return [""] * s.n
    first, inverse = _patterns(s.rule_pass.astype(np.int64), 2)
    texts = [", ".join(rid for rid, ok in zip(s.rule_ids, s.rule_pass[r]) if not ok) for r in first]
    return [texts[i] for i in inverse.tolist()]


def _patterns(codes: np.ndarray, base: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a small-integer matrix: (index of a row of each pattern, pattern per row).

    Rows are packed into one integer each (digits in ``base``), far faster than
    ``np.unique(axis=0)``; beyond 62 bits of digits, falls back to that.
    """
    n, k = codes.shape
    if k * np.log2(base) > 62:
        _, first, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
        return first, np.asarray(inverse).reshape(-1)
    packed = codes @ (base ** np.arange(k, dtype=np.int64))
    _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
    return first, np.asarray(inverse).reshape(-1)


def _why_not_admitted(s: Screening, rows: np.ndarray) -> list[str]:
    """Per row given: why no tier admits it ('admitted to no tier (score 4.20: gold needs ...)')."""
    policy = s.loaded.policy
    causes = np.zeros((rows.size, len(s.tier_ids)), dtype=np.int8)  # 0 none, 1 score, 2 sponsor, 3 rule
    for k, tid in enumerate(s.tier_ids):
        t = policy.tiers[tid]
        low = s.score[rows] < t.min_score - 1e-9 if t.min_score is not None else np.zeros(rows.size, dtype=bool)
        no_sponsor = ~s.sponsor_ok[rows].any(axis=1) if t.sponsor else np.zeros(rows.size, dtype=bool)
        causes[:, k] = np.where(low, 1, np.where(no_sponsor, 2, 3 if t.admit is not None else 0))
    words = {
        1: lambda tid: f"{tid} needs score {policy.tiers[tid].min_score:g}",
        2: lambda tid: f"{tid} needs a sponsor and none has affinity",
        3: lambda tid: f"{tid} admission rule is false",
    }
    if rows.size == 0:
        return []
    first, inverse = _patterns(causes.astype(np.int64), 4)
    texts = ["; ".join(words[c](tid) for tid, c in zip(s.tier_ids, causes[r].tolist()) if c) for r in first]
    return [f"admitted to no tier (score {s.score[r]:.2f}: {texts[i]})"
            for r, i in zip(rows.tolist(), inverse.tolist())]


# --------------------------------------------------------------------------- problem


@dataclass(frozen=True)
class ProblemIndex:
    """Where each problem account sits in the account table."""

    rows: np.ndarray
    """int (problem accounts): table row of each problem account."""


def build_problem(s: Screening) -> tuple[Problem, ProblemIndex]:
    """The numeric optimisation problem for the screened candidates."""
    policy = s.loaded.policy
    rows = np.flatnonzero(s.candidate)
    a_of_row = {int(r): i for i, r in enumerate(rows)}
    sub = s.admitted[rows]
    acc_idx, tier_idx = np.nonzero(sub)  # row-major: per account, highest tier first
    opt_rows = rows[acc_idx]
    _, annuity = npv_factors(policy.value)
    pools = []
    kams, pairs, kam_counts = _named_kams(s, rows) if s.data.kams is not None else ((), None, {})
    for j, pid in enumerate(s.pool_ids):
        p = policy.resources.kam_pools[pid]
        fte = p.fte if p.fte is not None else float(kam_counts.get(j, 0))
        hire = p.hiring
        pools.append(Pool(
            id=pid, fte=float(fte), hours_per_fte=p.hours_per_fte, span=p.span_of_control,
            max_hire=hire.max_fte if hire else 0,
            hire_cost=hire.cost_per_fte if hire else 0.0,
            hire_cost_npv=(hire.cost_per_fte * annuity) if hire else 0.0,
        ))
    forced = tuple(
        Forced(account=a_of_row[r], include=f.include, tier=f.tier, reason=f.reason)
        for r, f in sorted(s.forced.items()) if r in a_of_row
    )
    problem = Problem(
        account_ids=tuple(s.data.ids[r] for r in rows),
        tier_ids=s.tier_ids,
        opt_account=acc_idx.astype(np.int64),
        opt_tier=tier_idx.astype(np.int64),
        value=s.value[opt_rows, tier_idx],
        cost=s.cost[opt_rows, tier_idx],
        kam_hours=s.kam_hours[opt_rows, tier_idx],
        support_hours=s.support[:, opt_rows, tier_idx] if s.support_ids else np.zeros((0, len(opt_rows))),
        score=s.score[rows],
        pool=np.maximum(s.pool[rows], 0),
        pools=tuple(pools),
        support=tuple(Capacity(fn, policy.resources.support[fn].hours) for fn in s.support_ids),
        budget=policy.resources.budget,
        sponsors=tuple(Sponsor(sid, policy.resources.sponsors[sid].slots) for sid in s.sponsor_ids),
        sponsor_required=np.array([policy.tiers[t].sponsor for t in s.tier_ids], dtype=bool),
        sponsor_ok=s.sponsor_ok[rows],
        kams=kams,
        kam_pairs=pairs,
        current_tier=s.current_tier[rows],
        demotion=policy.portfolio.incumbents.demotion,
        forced=forced,
        limits=tuple(_limits(s, rows, acc_idx, tier_idx)),
        change_penalty=policy.portfolio.change_penalty,
    )
    return problem, ProblemIndex(rows=rows)


def _limits(s: Screening, rows, acc_idx, tier_idx) -> list[Limit]:
    pf = s.loaded.policy.portfolio
    n_opt = len(acc_idx)
    ones = np.ones(n_opt)
    out: list[Limit] = []

    def penalty(soft):
        return soft.penalty if soft is not None else None

    ka = pf.key_accounts
    if ka.min is not None:
        out.append(Limit("min_key_accounts", "key_accounts", ones, ">=", ka.min, penalty(ka.soft),
                         source="portfolio.key_accounts.min"))
    if ka.max is not None:
        out.append(Limit("max_key_accounts", "key_accounts", ones, "<=", ka.max, penalty(ka.soft),
                         source="portfolio.key_accounts.max"))
    for tid, lim in pf.tiers.items():
        k = s.tier_ids.index(tid)
        coef = (tier_idx == k).astype(float)
        if lim.min is not None:
            out.append(Limit(f"min_tier_accounts[{tid}]", "tier_count", coef, ">=", lim.min,
                             penalty(lim.soft), source=f"portfolio.tiers.{tid}.min"))
        if lim.max is not None:
            out.append(Limit(f"max_tier_accounts[{tid}]", "tier_count", coef, "<=", lim.max,
                             penalty(lim.soft), source=f"portfolio.tiers.{tid}.max"))
    for qid, q in pf.quotas.items():
        mask = s.groups[f"quota:{qid}"][rows][acc_idx].astype(float)
        src = f"portfolio.quotas.{qid}"
        if q.min is not None:
            out.append(Limit(f"quota_min[{qid}]", "quota", mask, ">=", q.min, penalty(q.soft), source=src + ".min"))
        if q.max is not None:
            out.append(Limit(f"quota_max[{qid}]", "quota", mask, "<=", q.max, penalty(q.soft), source=src + ".max"))
        if q.min_share is not None:
            out.append(Limit(f"quota_min_share[{qid}]", "quota", mask - q.min_share, ">=", 0.0,
                             penalty(q.soft), source=src + ".min_share", share=q.min_share,
                             measure=ones))
        if q.max_share is not None:
            out.append(Limit(f"quota_max_share[{qid}]", "quota", mask - q.max_share, "<=", 0.0,
                             penalty(q.soft), source=src + ".max_share", share=q.max_share,
                             measure=ones))
    if pf.max_new_promotions is not None:
        newcomer = (s.current_tier[rows][acc_idx] < 0).astype(float)
        out.append(Limit("max_new_promotions", "promotions", newcomer, "<=", pf.max_new_promotions,
                         penalty(pf.max_new_promotions_soft), source="portfolio.max_new_promotions"))
    for cid, c in pf.concentration.items():
        keys = s.groups[f"by:{cid}"][rows][acc_idx]
        measure = s.groups[f"measure:{cid}"][rows][acc_idx] if c.measure else ones
        unit = "accounts" if c.measure is None else f"units of {c.measure}"
        for g in sorted(set(keys.tolist())):
            coef = measure * ((keys == g).astype(float) - c.max_share)
            out.append(Limit(f"concentration[{cid}:{g}]", "concentration", coef, "<=", 0.0,
                             penalty(c.soft), unit=unit, source=f"portfolio.concentration.{cid}.max_share",
                             share=c.max_share, measure=measure))
    return out


def _named_kams(s: Screening, rows) -> tuple[tuple[Kam, ...], KamPairs, dict[int, int]]:
    """Named KAMs and the allowed (account, KAM) pairs with their fit."""
    loaded = s.loaded
    table: Table = s.data.kams
    table.require("kam_id", "pool", "hours", "max_accounts")
    ids = table.unique_ids("kam_id")
    pools = table.texts("pool")
    hours = table.numbers("hours", min_value=0)
    spans = table.numbers("max_accounts", min_value=0)
    pool_index = {p: j for j, p in enumerate(s.pool_ids)}
    bad = [i for i, p in enumerate(pools) if p not in pool_index]
    if bad:
        raise DataError(Diagnostic(
            f"unknown KAM pool '{pools[bad[0]]}'", file=table.path, line=table.lines[bad[0]],
            field="pool", expected=one_of(s.pool_ids), hint=did_you_mean(pools[bad[0]], s.pool_ids),
        ))
    kams = tuple(Kam(ids[i], pool_index[pools[i]], float(hours[i]), int(spans[i])) for i in range(len(ids)))
    counts: dict[int, int] = {}
    for k in kams:
        counts[k.pool] = counts.get(k.pool, 0) + 1
    for pid, p in loaded.policy.resources.kam_pools.items():
        j = pool_index[pid]
        if p.fte is not None and abs(p.fte - counts.get(j, 0)) > 1e-9:
            raise PolicyError(loaded.error(
                ("resources", "kam_pools", pid, "fte"),
                f"does not match the named KAM table ({counts.get(j, 0)} KAMs in pool {pid})",
                hint="leave fte out when data.kams names the KAMs",
            ))
    fit: dict[tuple[int, int], tuple[float, float]] = {}
    kam_of = {k.id: i for i, k in enumerate(kams)}
    row_of = {a: i for i, a in enumerate(s.data.ids)}
    if s.data.kam_fit is not None:
        ft: Table = s.data.kam_fit
        ft.require("account_id", "kam_id")
        accts, kids = ft.texts("account_id"), ft.texts("kam_id")
        factor = ft.numbers("hours_factor", min_value=0) if "hours_factor" in ft.columns else np.ones(len(ft))
        bonus = ft.numbers("value_bonus") if "value_bonus" in ft.columns else np.zeros(len(ft))
        for i in range(len(ft)):
            where = dict(file=ft.path, line=ft.lines[i])
            if accts[i] not in row_of:
                raise DataError(Diagnostic(f"unknown account '{accts[i]}'", field="account_id",
                                           hint=did_you_mean(accts[i], s.data.ids), **where))
            if kids[i] not in kam_of:
                raise DataError(Diagnostic(f"unknown KAM '{kids[i]}'", field="kam_id",
                                           hint=did_you_mean(kids[i], kam_of), **where))
            key = (row_of[accts[i]], kam_of[kids[i]])
            if key in fit:
                raise DataError(Diagnostic(f"pair ({accts[i]}, {kids[i]}) listed twice", **where))
            fit[key] = (float(factor[i]), float(bonus[i]))
    fit_only = loaded.policy.resources.kam_fit_only
    pa, pk, pf, pb = [], [], [], []
    by_pool: dict[int, list[int]] = {}
    for i, k in enumerate(kams):
        by_pool.setdefault(k.pool, []).append(i)
    for a, r in enumerate(rows):
        for k in by_pool.get(int(s.pool[r]), []):
            f = fit.get((int(r), k))
            if f is None and fit_only:
                continue
            factor, bonus = f if f is not None else (1.0, 0.0)
            pa.append(a)
            pk.append(k)
            pf.append(factor)
            pb.append(bonus)
    pairs = KamPairs(
        account=np.array(pa, dtype=np.int64), kam=np.array(pk, dtype=np.int64),
        hours_factor=np.array(pf, dtype=float), value_bonus=np.array(pb, dtype=float),
    )
    return kams, pairs, counts


def source_path(s: Screening) -> Path:
    return Path(s.data.accounts.table.path)
