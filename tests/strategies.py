"""Hypothesis strategies: small valid Problems that exercise every constraint family.

Numbers are moderate integers (as floats) so that float ties are rare and exact;
some options have a negative value (cost to serve above the uplift).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from kamopt.model.problem import Capacity, Forced, Kam, KamPairs, Limit, Pool, Problem, Sponsor
from kamopt.model.solution import NEW_HIRE, Assignment

TIERS = ("gold", "silver", "bronze")


def _ints(lo: int, hi: int) -> st.SearchStrategy[float]:
    return st.integers(lo, hi).map(float)


def _floats(draw, n: int, lo: int, hi: int) -> np.ndarray:
    return np.array(draw(st.lists(_ints(lo, hi), min_size=n, max_size=n)), dtype=float)


def _options(draw, n: int, n_tiers: int) -> tuple[np.ndarray, np.ndarray]:
    """At least one admissible tier per account; options account-major, highest tier first."""
    acc, tier = [], []
    for a in range(n):
        ts = draw(st.lists(st.integers(0, n_tiers - 1), min_size=1, max_size=n_tiers, unique=True))
        acc += [a] * len(ts)
        tier += sorted(ts)
    return np.array(acc, dtype=np.int64), np.array(tier, dtype=np.int64)


def _current(draw, acc: np.ndarray, tier: np.ndarray, n: int) -> np.ndarray:
    """Current tiers: most accounts are not key today; incumbents mostly sit at one of their
    options (sometimes at a tier they no longer qualify for)."""
    out = np.full(n, -1, dtype=np.int64)
    for a in range(n):
        kind = draw(st.integers(0, 9))
        if kind >= 7:
            out[a] = draw(st.sampled_from(tier[acc == a].tolist()))
        elif kind == 6:
            out[a] = draw(st.integers(0, int(tier.max())))
    return out


def _pools(draw) -> tuple[Pool, ...]:
    return tuple(
        Pool(f"P{i}", fte=draw(st.sampled_from([0, 1, 1, 2])),
             hours_per_fte=draw(st.sampled_from([40.0, 80.0])),
             span=draw(st.integers(1, 3)), max_hire=draw(st.integers(0, 2)), hire_cost=draw(_ints(0, 30)),
             hire_cost_npv=draw(_ints(0, 60)))
        for i in range(draw(st.integers(1, 2)))
    )


def _sponsors(draw, n: int, n_tiers: int) -> dict:
    """Optional sponsors: slots, sponsor-required tiers, affinities (sometimes tiers needing
    a sponsor with no sponsor at all, which makes those tiers unusable)."""
    if not draw(st.booleans()):
        return {}
    n_sp = draw(st.integers(0, 2))
    ok = np.array(draw(st.lists(st.booleans(), min_size=n * n_sp, max_size=n * n_sp)), dtype=bool)
    return dict(
        sponsors=tuple(Sponsor(f"S{e}", draw(st.integers(0, 3))) for e in range(n_sp)),
        sponsor_required=np.array(draw(st.lists(st.booleans(), min_size=n_tiers, max_size=n_tiers)),
                                  dtype=bool),
        sponsor_ok=ok.reshape(n, n_sp),
    )


def _named_kams(draw, n: int, n_pools: int) -> dict:
    """Optional named KAMs (1-2) with a random set of allowed (account, KAM) pairs."""
    if not draw(st.booleans()):
        return {}
    kams = tuple(Kam(f"K{k}", pool=draw(st.integers(0, n_pools - 1)), hours=draw(_ints(20, 150)),
                     max_accounts=draw(st.integers(1, 3))) for k in range(draw(st.integers(1, 2))))
    pairs = [(a, k) for a in range(n) for k in range(len(kams)) if draw(st.integers(0, 3)) > 0]
    return dict(kams=kams, kam_pairs=KamPairs(
        account=np.array([a for a, _ in pairs], dtype=np.int64),
        kam=np.array([k for _, k in pairs], dtype=np.int64),
        hours_factor=np.array([draw(st.sampled_from([0.5, 1.0, 1.5])) for _ in pairs], dtype=float),
        value_bonus=np.array([draw(_ints(0, 20)) for _ in pairs], dtype=float),
    ))


def _forced(draw, n: int, n_tiers: int) -> tuple[Forced, ...]:
    accounts = draw(st.lists(st.integers(0, n - 1), max_size=2, unique=True))
    tier = st.integers(-n_tiers, n_tiers - 1).map(lambda t: max(t, -1))  # mostly "any tier"
    return tuple(Forced(a, draw(st.booleans()), tier=draw(tier), reason="test") for a in accounts)


def _limit(draw, i: int, acc: np.ndarray, tier: np.ndarray, n: int, n_tiers: int,
           current: np.ndarray) -> Limit:
    """One portfolio limit of a random kind (count, tier count, quota count or share,
    promotions, concentration), hard or soft."""
    kinds = ["key_accounts", "tier_count", "quota", "share", "promotions", "concentration"]
    kind = draw(st.sampled_from(kinds))
    sense = draw(st.sampled_from([">=", "<="]))
    penalty = draw(st.one_of(st.none(), _ints(1, 50)))
    members = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=float)[acc]
    rhs = float(draw(st.integers(0, 3)))
    if kind == "key_accounts":
        coef = np.ones(acc.size)
    elif kind == "tier_count":
        coef = (tier == draw(st.integers(0, n_tiers - 1))).astype(float)
    elif kind == "quota":
        coef = members
    elif kind == "share":
        coef, rhs = members - draw(st.sampled_from([0.25, 0.5])), 0.0
    elif kind == "promotions":
        coef, sense = (current[acc] < 0).astype(float), "<="
    else:
        measure = _floats(draw, n, 1, 5)[acc]
        coef, sense, rhs = measure * (members - draw(st.sampled_from([0.4, 0.6]))), "<=", 0.0
    family = "quota" if kind == "share" else kind
    return Limit(f"{kind}{sense}[{i}]", family, coef, sense, rhs, penalty=penalty)


@st.composite
def problems(draw, max_accounts: int = 6, max_tiers: int = 3) -> Problem:
    """A small valid Problem: 2..max_accounts accounts, 1..max_tiers tiers, 1-2 pools, and
    optionally support hours, a budget, sponsors, named KAMs, incumbents, overrides, limits."""
    n = draw(st.integers(2, max_accounts))
    n_tiers = draw(st.integers(1, max_tiers))
    acc, tier = _options(draw, n, n_tiers)
    n_opt = acc.size
    pools = _pools(draw)
    current = _current(draw, acc, tier, n)
    support: dict = {}
    if draw(st.booleans()):
        support = dict(support=(Capacity("legal", draw(_ints(0, 100))),),
                       support_hours=_floats(draw, n_opt, 0, 40).reshape(1, n_opt))
    limits = tuple(_limit(draw, i, acc, tier, n, n_tiers, current) for i in range(draw(st.integers(0, 3))))
    return Problem(
        account_ids=tuple(f"A{a}" for a in range(n)),
        tier_ids=TIERS[:n_tiers],
        opt_account=acc,
        opt_tier=tier,
        value=_floats(draw, n_opt, -20, 100),
        cost=_floats(draw, n_opt, 0, 30),
        kam_hours=_floats(draw, n_opt, 0, 30),
        support_hours=support.pop("support_hours", np.zeros((0, n_opt))),
        score=_floats(draw, n, 1, 10),
        pool=np.array(draw(st.lists(st.integers(0, len(pools) - 1), min_size=n, max_size=n)), dtype=np.int64),
        pools=pools,
        budget=draw(st.one_of(st.none(), _ints(0, 150))),
        current_tier=current,
        demotion=draw(st.sampled_from(["forbid", "tier_down", "allow"])),
        forced=_forced(draw, n, n_tiers),
        limits=limits,
        change_penalty=draw(st.sampled_from([0.0, 0.0, 5.0])),
        **support,
        **_sponsors(draw, n, n_tiers),
        **_named_kams(draw, n, len(pools)),
    )


@st.composite
def plans(draw, problem: Problem) -> Assignment:
    """Any plan for a problem, mostly admissible, with labels drawn from the problem's
    KAMs / new-hire labels / sponsors (or blank): for pricing tests, not feasibility."""
    p = problem
    choices = [[-1, *p.opt_tier[p.options_of(a)].tolist()] for a in range(p.n_accounts)]
    tier = np.array([draw(st.sampled_from(c)) for c in choices], dtype=np.int64)
    hires = np.array([draw(st.integers(0, max(pool.max_hire, 0))) for pool in p.pools], dtype=np.int64)
    kam_labels = ["", *(k.id for k in p.kams), *(f"{q.id} {NEW_HIRE}" for q in p.pools)]
    kam = tuple(draw(st.sampled_from(kam_labels)) for _ in range(p.n_accounts)) if p.kams else ()
    sponsor = tuple(draw(st.sampled_from(["", *(s.id for s in p.sponsors)])) for _ in range(p.n_accounts)) \
        if p.sponsors else ()
    return Assignment(tier=tier, hires=hires, kam=kam, sponsor=sponsor)
