"""Problem -> MILP: one function per constraint family, all vectorised.

The model maximises

    sum (value[o] + tb[o]) x[o] + sum bonus * z  - sum hire_cost_npv * h
    - change_penalty * changes - sum penalty * slack

Columns (in this order): ``x[<account>,<tier>]`` (binary, one per option),
``hire[<pool>]`` (integer, pools with ``max_hire > 0``; the ``hire_limit`` rule is its bound),
``z[<account>,<tier>,<kam>]`` / ``w[<account>,<tier>]`` (binary, named KAMs only),
``y[<class>,<sponsor>]`` (continuous, aggregated sponsors), ``slack[<limit>]`` (soft limits)
and, when asked for, ``elastic_up[<row>]`` / ``elastic_down[<row>]`` (diagnosis only).

Row names follow the shared naming file (``one_tier[<account>]``, ``kam_hours[<pool>]``...).

Tie-break ``tb`` (part of the x costs, never of the reported objective):
``tb[o] = eps * score[a] / 10 - eps * change(o)`` with
``eps = 1e-6 * max(1, max|value|) / max(1, n_accounts)``: it prefers higher-scored accounts
and fewer changes among plans of equal value. Its total over any plan is at most
``2e-6 * max(1, max|value|)``, below the default MIP gap on any plan that matters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .linear import INF, LinearModel
from .objective_split import VALUE_GROUPS
from .problem import Problem
from .solution import NEW_HIRE

FAMILIES: tuple[str, ...] = (
    "one_tier",
    "kam_pool_capacity",
    "named_kams",
    "support_hours",
    "budget",
    "sponsors",
    "limits",
    "incumbents",
    "overrides",
)
"""Every constraint family the builder knows, in build order (each has a golden LP file)."""

CAPACITY_GROUPS = ("kam_hours", "kam_span", "support_hours", "budget", "sponsor_slots")
"""Row groups (name before ``[``) that are capacities: the diagnosis may ask to raise them."""

RULE_FAMILIES = ("limits", "incumbents", "overrides")
"""Families whose rows are portfolio rules: the diagnosis may ask to relax them."""


@dataclass
class SponsorClass:
    """Accounts sharing the same set of allowed sponsors (aggregated sponsor formulation)."""

    name: str
    """Allowed sponsor ids joined by ``|`` in problem order (``""`` when none is allowed);
    the account's id when each account is its own class (:data:`SPONSOR_CLASSES_UP_TO`)."""
    sponsors: np.ndarray
    """Indices of the allowed sponsors, in problem order."""
    accounts: np.ndarray
    """Accounts of the class (those with an option at a sponsor-required tier)."""
    y: np.ndarray
    """Column of ``y[<class>,<sponsor>]`` per entry of ``sponsors``."""


@dataclass
class Built:
    """The model plus the maps from problem entities to its columns and rows."""

    problem: Problem
    model: LinearModel
    x: np.ndarray
    """Column per option."""
    hire: np.ndarray
    """Column per pool, -1 when the pool cannot hire."""
    z_option: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Named-KAM pair columns: option, KAM, pair index (into ``kam_pairs``) and column."""
    z_kam: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    z_pair: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    z_col: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    w: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Column per option of ``w`` (served by hired capacity), -1 when none; empty without named KAMs."""
    sponsor_classes: list[SponsorClass] = field(default_factory=list)
    slack: dict[str, int] = field(default_factory=dict)
    """Soft limit name -> its slack column."""
    elastic: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Elastic row name -> (column raising its upper side, column lowering its lower side); -1 = none."""
    elastic_unit: dict[str, float] = field(default_factory=dict)
    """Elastic row name -> how much of the row one unit of its slack columns is: 1, or with
    ``relative_slack`` the row's size, ``max(1, |rhs|, largest |coefficient|)``."""
    families: dict[str, np.ndarray] = field(default_factory=dict)
    """Family -> its row indices."""
    tiebreak: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Per option: the tie-break part of the x cost."""

    def row_family(self, row: int) -> str:
        for fam, rows in self.families.items():
            if rows.size and rows[0] <= row <= rows[-1]:
                return fam
        return ""


def group_of(row_name: str) -> str:
    """``kam_hours[EMEA]`` -> ``kam_hours``; ``budget`` -> ``budget``."""
    return row_name.split("[", 1)[0]


def current_tiers(problem: Problem) -> np.ndarray:
    """Current tier per account (-1 = not a key account), whatever the array's length."""
    cur = np.full(problem.n_accounts, -1, dtype=np.int64)
    n = min(problem.n_accounts, len(problem.current_tier))
    cur[:n] = np.asarray(problem.current_tier[:n], dtype=np.int64)
    return cur


def change_coefficients(problem: Problem) -> tuple[np.ndarray, int]:
    """``changes = constant + coef . x``: (coef per option, constant).

    A non-incumbent changes when it takes any option (+1); an incumbent changes unless it
    takes the option at its current tier (``1 - x[current]``).
    """
    cur = current_tiers(problem)
    oc = cur[problem.opt_account]
    coef = np.where(oc >= 0, np.where(problem.opt_tier == oc, -1.0, 0.0), 1.0)
    return coef, int((cur >= 0).sum())


def _option_names(problem: Problem) -> list[str]:
    acc, tiers = problem.account_ids, problem.tier_ids
    return [f"{acc[a]},{tiers[t]}" for a, t in zip(problem.opt_account.tolist(), problem.opt_tier.tolist())]


def _local(selected: np.ndarray, n: int) -> np.ndarray:
    """Map entity index -> position among ``selected`` (-1 elsewhere)."""
    local = np.full(n, -1, dtype=np.int64)
    local[selected] = np.arange(selected.size)
    return local


def _needed(nnz: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Rows worth generating: they have entries, or their bounds exclude zero."""
    return (nnz > 0) | (lo > 0) | (hi < 0)


# --------------------------------------------------------------------------- families
def _one_tier(p: Problem, m: LinearModel, b: Built) -> None:
    """``one_tier[a]``: an account takes at most one of its options (accounts with >= 2 options)."""
    counts = np.bincount(p.opt_account, minlength=p.n_accounts)
    multi = np.flatnonzero(counts >= 2)
    local = _local(multi, p.n_accounts)[p.opt_account]
    sel = local >= 0
    names = [f"one_tier[{p.account_ids[a]}]" for a in multi]
    m.add_rows(names, -INF, 1.0, local[sel], b.x[sel], 1.0)


def _kam_pool_capacity(p: Problem, m: LinearModel, b: Built) -> None:
    """``kam_hours[p]`` / ``kam_span[p]`` (no named KAMs): a pool's accounts fit its FTE plus hires.

    ``sum kam_hours[o] x[o] - hours_per_fte h[p] <= hours_per_fte fte`` and
    ``sum x[o] - span h[p] <= span fte`` over the options of the pool's accounts.
    """
    if p.kams or not p.pools:
        return
    opool = p.pool[p.opt_account]
    used = np.unique(opool)
    local = _local(used, len(p.pools))
    for what, coef, per in (("kam_hours", p.kam_hours, "hours_per_fte"), ("kam_span", 1.0, "span")):
        cap = np.array([getattr(p.pools[q], per) for q in used], dtype=float)
        fte = np.array([p.pools[q].fte for q in used], dtype=float)
        hires = used[b.hire[used] >= 0]
        row = np.concatenate([local[opool], local[hires]])
        col = np.concatenate([b.x, b.hire[hires]])
        val = np.concatenate([np.broadcast_to(coef, b.x.shape), -cap[local[hires]]])
        names = [f"{what}[{p.pools[q].id}]" for q in used]
        m.add_rows(names, -INF, cap * fte, row, col, val)


def _named_kams(p: Problem, m: LinearModel, b: Built) -> None:
    """Named KAMs: every key account gets exactly one KAM, and each KAM's load fits.

    * ``kam_assign[<account>,<tier>]``: ``sum_k z[o,k] + w[o] = x[o]`` (per option, so the
      chosen tier's hours go to the chosen KAM);
    * ``kam_hours[k]``: ``sum kam_hours[o] * hours_factor(a,k) * z[o,k] <= hours``;
      ``kam_span[k]``: ``sum z[o,k] <= max_accounts``;
    * ``kam_hours[<pool> (new hire)]``: ``sum kam_hours[o] w[o] - hours_per_fte h[p] <= 0``;
      ``kam_span[<pool> (new hire)]``: ``sum w[o] - span h[p] <= 0``.

    ``z`` exists for every option and allowed (account, KAM) pair, ``w`` for options whose
    pool may hire. Pool-level rows are not generated in this mode.
    """
    if not p.kams:
        return
    n_opt = p.n_options
    pairs = p.kam_pairs
    pa = np.asarray(pairs.account if pairs is not None else np.zeros(0), dtype=np.int64)
    order = np.argsort(pa, kind="stable")
    lo = np.searchsorted(pa[order], np.arange(p.n_accounts), "left")
    hi = np.searchsorted(pa[order], np.arange(p.n_accounts), "right")
    cnt = (hi - lo)[p.opt_account]
    z_opt = np.repeat(np.arange(n_opt), cnt)
    offs = np.arange(z_opt.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    z_pair = order[np.repeat(lo[p.opt_account], cnt) + offs]
    z_kam = np.asarray(pairs.kam, dtype=np.int64)[z_pair] if z_pair.size else np.zeros(0, dtype=np.int64)
    onames = _option_names(p)
    z_col = m.add_columns(
        [f"z[{onames[o]},{p.kams[k].id}]" for o, k in zip(z_opt.tolist(), z_kam.tolist())], 0.0, 1.0, True, 0.0
    )
    opool = p.pool[p.opt_account]
    w_opt = np.flatnonzero(b.hire[opool] >= 0)
    w = np.full(n_opt, -1, dtype=np.int64)
    w[w_opt] = m.add_columns([f"w[{onames[o]}]" for o in w_opt], 0.0, 1.0, True, 0.0)
    b.z_option, b.z_kam, b.z_pair, b.z_col, b.w = z_opt, z_kam, z_pair, z_col, w

    # kam_assign per option
    m.add_rows(
        [f"kam_assign[{n}]" for n in onames], 0.0, 0.0,
        np.concatenate([z_opt, w_opt, np.arange(n_opt)]),
        np.concatenate([z_col, w[w_opt], b.x]),
        np.concatenate([np.ones(z_opt.size + w_opt.size), -np.ones(n_opt)]),
    )
    # per named KAM
    factor = np.asarray(pairs.hours_factor, dtype=float)[z_pair] if z_pair.size else np.zeros(0)
    n_kam = len(p.kams)
    nnz = np.bincount(z_kam, minlength=n_kam)
    hours = np.array([k.hours for k in p.kams], dtype=float)
    span = np.array([k.max_accounts for k in p.kams], dtype=float)
    for what, coef, cap in (("kam_hours", p.kam_hours[z_opt] * factor, hours), ("kam_span", 1.0, span)):
        keep = np.flatnonzero(_needed(nnz, np.full(n_kam, -INF), cap))
        local = _local(keep, n_kam)[z_kam]
        sel = local >= 0
        m.add_rows(
            [f"{what}[{p.kams[k].id}]" for k in keep], -INF, cap[keep],
            local[sel], z_col[sel], np.broadcast_to(coef, z_col.shape)[sel],
        )
    # hired capacity per pool
    hiring = np.flatnonzero(b.hire >= 0)
    hiring = hiring[np.isin(hiring, opool[w_opt])]
    local = _local(hiring, len(p.pools))
    for what, coef, per in (("kam_hours", p.kam_hours[w_opt], "hours_per_fte"), ("kam_span", 1.0, "span")):
        cap = np.array([getattr(p.pools[q], per) for q in hiring], dtype=float)
        m.add_rows(
            [f"{what}[{p.pools[q].id} {NEW_HIRE}]" for q in hiring], -INF, 0.0,
            np.concatenate([local[opool[w_opt]], np.arange(hiring.size)]),
            np.concatenate([w[w_opt], b.hire[hiring]]),
            np.concatenate([np.broadcast_to(coef, w_opt.shape), -cap]),
        )


def _support_hours(p: Problem, m: LinearModel, b: Built) -> None:
    """``support_hours[s]``: ``sum support_hours[s, o] x[o] <= limit`` for each support function."""
    for s, cap in enumerate(p.support):
        coef = np.asarray(p.support_hours[s], dtype=float)
        nz = np.flatnonzero(coef)
        if nz.size or cap.limit < 0:
            m.add_row(f"support_hours[{cap.id}]", b.x[nz], coef[nz], -INF, cap.limit)


def _budget(p: Problem, m: LinearModel, b: Built) -> None:
    """``budget``: ``sum cost[o] x[o] + sum hire_cost h[p] <= budget`` (when a budget is set)."""
    if p.budget is None:
        return
    hires = np.flatnonzero(b.hire >= 0)
    cols = np.concatenate([b.x, b.hire[hires]])
    coefs = np.concatenate([p.cost, [p.pools[q].hire_cost for q in hires]])
    m.add_row("budget", cols, coefs, -INF, float(p.budget))


SPONSOR_CLASSES_UP_TO = 1000
"""Sponsored accounts (those with an option at a sponsor-required tier) up to which they
are grouped into classes; from there on each account is its own class.

Both give the same LP bound (the classes are the per-account flows summed), so this only
steers HiGHS. Measured with 1 thread, seeds 0-2 (bench/README.md): the 5,000-account
benchmark (268 sponsored accounts in 76 classes) averages 13.5 s by class against 16.7 s
per account; the 20,000-account one (1,106 in 80 classes of up to 31) is optimal in ~80 s
per account (seeds 0-2), while by class two seeds of three stop at a 150 s limit at
0.05 %."""


def _sponsors(p: Problem, m: LinearModel, b: Built) -> None:
    """Sponsors, aggregated by class of allowed sponsors (symmetry-free).

    Accounts with an option at a sponsor-required tier are grouped by their set of allowed
    sponsors ``c`` (each account alone past :data:`SPONSOR_CLASSES_UP_TO` of them, its id
    naming its class). ``y[c,e]`` counts the class's accounts sponsored by ``e``.

    * ``sponsor_cover[c]``: ``sum_e y[c,e] = sum x[o]`` over the class's sponsored options
      (a class with no allowed sponsor forces those options to 0);
    * ``sponsor_slots[e]``: ``sum_c y[c,e] <= slots[e]``.

    For integer ``x`` this is a transportation problem with integer supplies and slots, whose
    polytope is integral: whenever a fractional ``y`` exists, an integer one does too, and
    :func:`kamopt.model.optimise.decode` finds it (a max-flow). So ``y`` is continuous: the
    solver never branches on it (the 5,000-account benchmark solves about 1.5x faster).
    """
    req = np.asarray(p.sponsor_required, dtype=bool)
    if req.size == 0 or not req.any():
        return
    n_sp = len(p.sponsors)
    ok = np.asarray(p.sponsor_ok, dtype=bool)
    if ok.shape != (p.n_accounts, n_sp):
        ok = np.zeros((p.n_accounts, n_sp), dtype=bool)
    sponsored = req[p.opt_tier]
    accounts = np.unique(p.opt_account[sponsored])
    if accounts.size == 0:
        return
    per_account = accounts.size > SPONSOR_CLASSES_UP_TO
    if per_account:
        first = inverse = np.arange(accounts.size)
    elif n_sp:
        _, first, inverse = np.unique(ok[accounts], axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
    else:
        first, inverse = np.zeros(1, dtype=np.int64), np.zeros(accounts.size, dtype=np.int64)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first)] = np.arange(first.size)  # classes in order of first account
    cls_of_acc = np.full(p.n_accounts, -1, dtype=np.int64)
    cls_of_acc[accounts] = rank[inverse]
    slots = np.array([s.slots for s in p.sponsors], dtype=float)
    classes: list[SponsorClass] = []
    for c in range(first.size):
        members = accounts[cls_of_acc[accounts] == c]
        allowed = np.flatnonzero(ok[members[0]])
        name = p.account_ids[members[0]] if per_account else "|".join(p.sponsors[e].id for e in allowed)
        y = m.add_columns(
            [f"y[{name},{p.sponsors[e].id}]" for e in allowed],
            0.0, np.minimum(slots[allowed], members.size), False, 0.0,
        )
        classes.append(SponsorClass(name, allowed, members, y))
    b.sponsor_classes = classes
    opt = np.flatnonzero(sponsored)
    y_cls = np.concatenate([np.full(k.y.size, c) for c, k in enumerate(classes)])
    y_col = np.concatenate([k.y for k in classes])
    y_sp = np.concatenate([k.sponsors for k in classes])
    m.add_rows(
        [f"sponsor_cover[{k.name}]" for k in classes], 0.0, 0.0,
        np.concatenate([y_cls, cls_of_acc[p.opt_account[opt]]]),
        np.concatenate([y_col, b.x[opt]]),
        np.concatenate([np.ones(y_col.size), -np.ones(opt.size)]),
    )
    used = np.unique(y_sp)
    m.add_rows(
        [f"sponsor_slots[{p.sponsors[e].id}]" for e in used], -INF, slots[used],
        _local(used, n_sp)[y_sp], y_col, 1.0,
    )


def _limits(p: Problem, m: LinearModel, b: Built) -> None:
    """Portfolio limits ``<name>``: ``sum coef x sense rhs``.

    A soft limit (``penalty`` set) gets ``slack[<name>] >= 0`` (upper bound: the largest
    possible violation), which the objective charges at ``penalty`` per unit.
    """
    for lim in p.limits:
        coef = np.asarray(lim.coef, dtype=float)
        nz = np.flatnonzero(coef)
        cols, vals = b.x[nz], coef[nz]
        lo, hi = (lim.rhs, INF) if lim.sense == ">=" else (-INF, lim.rhs)
        if lim.penalty is not None:
            if lim.sense == ">=":
                worst = max(0.0, lim.rhs - float(np.minimum(vals, 0).sum()))
                sign = 1.0
            else:
                worst = max(0.0, float(np.maximum(vals, 0).sum()) - lim.rhs)
                sign = -1.0
            s = int(m.add_columns([f"slack[{lim.name}]"], 0.0, worst, False, 0.0)[0])
            b.slack[lim.name] = s
            cols, vals = np.append(cols, s), np.append(vals, sign)
        m.add_row(lim.name, cols, vals, lo, hi)


def _incumbents(p: Problem, m: LinearModel, b: Built) -> None:
    """Incumbents (current_tier >= 0) under the demotion rule.

    * ``forbid``: ``no_demotion[a]``: ``sum x[o] = 1`` over a's options at its tier or higher;
    * ``tier_down``: ``keep_key[a]``: ``sum x[o] = 1`` over all of a's options;
    * ``allow``: nothing. A row without columns is kept, so the conflict is named.
    """
    if p.demotion == "allow":
        return
    cur = current_tiers(p)
    inc = np.flatnonzero(cur >= 0)
    local = _local(inc, p.n_accounts)[p.opt_account]
    sel = local >= 0
    what = "keep_key"
    if p.demotion == "forbid":
        sel &= p.opt_tier <= cur[p.opt_account]
        what = "no_demotion"
    m.add_rows([f"{what}[{p.account_ids[a]}]" for a in inc], 1.0, 1.0, local[sel], b.x[sel], 1.0)


def _overrides(p: Problem, m: LinearModel, b: Built) -> None:
    """Manual decisions: ``override_in[a]``: ``sum x = 1`` over a's options (at Forced.tier
    when >= 0); ``override_out[a]``: ``sum x = 0`` over all of a's options."""
    for f in p.forced:
        opts = p.options_of(f.account)
        if f.include:
            if f.tier >= 0:
                opts = opts[p.opt_tier[opts] == f.tier]
            m.add_row(f"override_in[{p.account_ids[f.account]}]", b.x[opts], 1.0, 1.0, 1.0)
        else:
            m.add_row(f"override_out[{p.account_ids[f.account]}]", b.x[opts], 1.0, 0.0, 0.0)


def _objective(p: Problem, m: LinearModel, b: Built) -> None:
    """The objective: value + fit bonus - hiring NPV - change penalty - soft penalties + tie-break.

    ``changes = n_incumbents + coef . x`` (see :func:`change_coefficients`), so the change
    penalty puts ``-change_penalty * n_incumbents`` into the objective constant.
    """
    m.freeze()
    cost = np.zeros(m.n_cols)
    chg, n_inc = change_coefficients(p)
    value = np.asarray(p.value, dtype=float)
    score = np.asarray(p.score, dtype=float)
    vmax = float(np.abs(value).max()) if value.size else 0.0
    eps = 1e-6 * max(1.0, vmax) / max(1, p.n_accounts)
    b.tiebreak = eps * score[p.opt_account] / 10.0 - eps * chg if p.n_options else np.zeros(0)
    cost[b.x] = value - p.change_penalty * chg + b.tiebreak
    hires = np.flatnonzero(b.hire >= 0)
    cost[b.hire[hires]] = [-p.pools[q].hire_cost_npv for q in hires]
    if b.z_col.size:
        cost[b.z_col] = np.asarray(p.kam_pairs.value_bonus, dtype=float)[b.z_pair]
    for lim in p.limits:
        if lim.name in b.slack:
            cost[b.slack[lim.name]] = -float(lim.penalty)
    m.cost[:] = cost
    m.constant = -p.change_penalty * n_inc


FAMILY_FUNCTIONS: dict[str, Callable[[Problem, LinearModel, Built], None]] = {
    "one_tier": _one_tier,
    "kam_pool_capacity": _kam_pool_capacity,
    "named_kams": _named_kams,
    "support_hours": _support_hours,
    "budget": _budget,
    "sponsors": _sponsors,
    "limits": _limits,
    "incumbents": _incumbents,
    "overrides": _overrides,
}
assert tuple(FAMILY_FUNCTIONS) == FAMILIES


def _is_elastic(name: str, family: str, elastic: set[str]) -> bool:
    return "*" in elastic or name in elastic or family in elastic or group_of(name) in elastic


def _elasticise(m: LinearModel, b: Built, elastic: set[str], relative: bool = False) -> None:
    """Give every selected row slack columns (cost 0; the caller sets the objective).

    ``elastic_up[r]`` lets the activity exceed the upper bound, ``elastic_down[r]`` fall
    below the lower bound. Their bounds are the largest possible violation. Soft limits
    are skipped: they already have a slack. ``relative``: a unit of slack is the row's
    size (``max(1, |rhs|, largest |coefficient|)``, kept in ``b.elastic_unit``), so that
    a cost per share of the row is a cost of about 1 per column, whatever the row's scale:
    a budget of 46 M priced at 1/46 M per euro is under HiGHS's dual tolerance, and its
    slack became free; a revenue share (rhs 0) priced per euro cost more to break by one
    account's revenue than any other rule, so an incumbent was named in its place.
    """
    for cls in b.sponsor_classes:  # with elastic slots, a class may use more than today's slots
        if any(_is_elastic(f"sponsor_slots[{b.problem.sponsors[e].id}]", "sponsors", elastic) for e in cls.sponsors):
            m.freeze()
            m.upper[cls.y] = cls.accounts.size
    m.freeze()
    a = m.csr()
    lo_act = np.zeros(m.n_rows)
    hi_act = np.zeros(m.n_rows)
    rows = np.repeat(np.arange(m.n_rows), np.diff(a.start))
    v = a.value
    ends = (v * m.lower[a.index], v * m.upper[a.index])
    np.add.at(lo_act, rows, np.minimum(*ends))
    np.add.at(hi_act, rows, np.maximum(*ends))
    picks: list[tuple[str, int, float, float]] = []  # name, row, coefficient, bound
    for fam, rws in b.families.items():
        for r in rws.tolist():
            name = m.row_names[r]
            if name in b.slack or not _is_elastic(name, fam, elastic):
                continue
            lo, hi = m.row_lower[r], m.row_upper[r]
            unit = 1.0
            if relative:  # the row's size; a row with rhs 0 (a share) is as large as its largest term
                unit = max(1.0, abs(float(lo if np.isfinite(lo) else hi)),
                           float(np.abs(a.value[a.start[r]:a.start[r + 1]]).max(initial=0.0)))
            b.elastic_unit[name] = unit
            if np.isfinite(hi):
                picks.append((f"elastic_up[{name}]", r, -unit, max(0.0, hi_act[r] - hi) / unit))
            if np.isfinite(lo):
                picks.append((f"elastic_down[{name}]", r, unit, max(0.0, lo - lo_act[r]) / unit))
    if not picks:
        return
    names, rws, coefs, ubs = zip(*picks)
    cols = m.add_columns(list(names), 0.0, np.array(ubs), False, 0.0)
    m.add_entries(np.array(rws), cols, np.array(coefs, dtype=float))
    signs = np.sign(coefs)
    for col, r, sign in zip(cols.tolist(), rws, signs):
        up, down = b.elastic.get(m.row_names[r], (-1, -1))
        b.elastic[m.row_names[r]] = (col, down) if sign < 0 else (up, col)


def build_model(problem: Problem, *, elastic: set[str] | None = None, relative_slack: bool = False) -> Built:
    """Build the MILP of a problem.

    ``elastic``: rows to relax with slack columns (diagnosis): exact row names, row groups
    (``kam_hours``), families (``limits``) or ``"*"`` for every row. ``relative_slack``:
    measure their slack in units of each row's size (:func:`_elasticise`).
    """
    p = problem
    m = LinearModel()
    x = m.add_columns([f"x[{n}]" for n in _option_names(p)], 0.0, 1.0, True, 0.0)
    hire = np.full(len(p.pools), -1, dtype=np.int64)
    can_hire = [q for q, pool in enumerate(p.pools) if pool.max_hire > 0]
    hire[can_hire] = m.add_columns(
        [f"hire[{p.pools[q].id}]" for q in can_hire], 0.0,
        np.array([p.pools[q].max_hire for q in can_hire], dtype=float), True, 0.0,
    )
    b = Built(problem=p, model=m, x=x, hire=hire)
    for fam, fn in FAMILY_FUNCTIONS.items():
        before = m.n_rows
        fn(p, m, b)
        b.families[fam] = np.arange(before, m.n_rows)
    _objective(p, m, b)
    if elastic:
        _elasticise(m, b, set(elastic), relative_slack)
    if not p.kams:
        # HiGHS's root reduced-cost heuristic runs a sub-MIP that ignores the time limit: on
        # the 20,000-account benchmark it alone took 36 s of a run asked to stop at 20 s.
        # Without it HiGHS 1.16 proves that optimum in 19-28 s instead of 49-52 s, and the
        # 1,000- and 5,000-account ones 10-30 % faster (seeds 0-2). With named KAMs it is
        # what finds their good plans (5,000 accounts: 0.05-0.5 % gaps at 60 s without it,
        # 0-0.3 % with it), so it stays there. Measured in bench/README.md.
        m.highs_options["mip_heuristic_run_root_reduced_cost"] = False
        if not elastic:
            # HiGHS gets the objective split over bounded value columns (objective_split.py):
            # 5,000 accounts 5.6-5.8 s -> 3.6-4.6 s, 20,000 accounts 20-31 s -> 8.0-8.6 s (bare
            # HiGHS, seeds 0-2). With named KAMs it was as often slower as faster: not there.
            m.value_groups = VALUE_GROUPS
    m.freeze()
    return b
