"""Helpers for tests and notebooks: terse hand-made Problems and plans, and a plan assertion.

    >>> p = tiny_problem([("A", "gold", 100, 10, 50), ("A", "silver", 60, 5, 20), ("B", "silver", 40, 5, 20)],
    ...                  pools=[Pool("EMEA", fte=1, hours_per_fte=60, span=2)])
    >>> assert_plan_ok(p, plan(p, {"A": "gold"}))

Accounts, tiers, pools, KAMs and sponsors are named by id, never by index.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Mapping, Sequence

import numpy as np

from kamopt.model.problem import Capacity, Kam, KamPairs, Limit, Pool, Problem, Sponsor
from kamopt.model.solution import Assignment
from kamopt.verify import verify

Option = tuple[str, str, float, float, float]
"""``(account, tier, value, cost, kam_hours)``."""
Pair = tuple[str, str, float, float]
"""``(account, kam id, hours_factor, value_bonus)``."""


def tiny_problem(
    options: Sequence[Option],
    *,
    tiers: Sequence[str] = ("gold", "silver"),
    pools: Sequence[Pool] = (),
    pool_of: Mapping[str, int] | None = None,
    score: Mapping[str, float] | None = None,
    support: Sequence[Capacity] = (),
    support_hours: Sequence[Sequence[float]] | None = None,
    current: Mapping[str, str] | None = None,
    sponsors: Sequence[Sponsor] = (),
    sponsor_ok: Mapping[str, Sequence[str]] | None = None,
    sponsor_tiers: Sequence[str] = (),
    kams: Sequence[Kam] = (),
    pairs: Sequence[Pair] = (),
    **kw,
) -> Problem:
    """A Problem from option tuples; accounts appear in the order of their first option.

    ``pool_of``: account -> pool index (default 0); ``score``: account -> score (default 5);
    ``support_hours``: one row per support function, one column per option; ``current``:
    account -> current tier id; ``sponsor_ok``: account -> allowed sponsor ids (default: all);
    ``sponsor_tiers``: tier ids that need a sponsor; ``pairs``: allowed (account, KAM) pairs.
    Other keywords (``budget``, ``demotion``, ``forced``, ``limits``...) go to Problem as is.
    """
    tiers = tuple(tiers)
    accounts = list(dict.fromkeys(o[0] for o in options))
    a_idx = {a: i for i, a in enumerate(accounts)}
    n = len(options)

    def col(k: int) -> np.ndarray:
        return np.array([o[k] for o in options], dtype=float)

    extra: dict = {}
    if current is not None:
        extra["current_tier"] = np.array([tiers.index(current[a]) if a in current else -1 for a in accounts],
                                         dtype=np.int64)
    if sponsors:
        ids = [s.id for s in sponsors]
        ok = sponsor_ok or {}
        extra["sponsor_ok"] = np.array([[s in ok.get(a, ids) for s in ids] for a in accounts],
                                       dtype=bool).reshape(len(accounts), len(ids))
    if (sponsors or sponsor_tiers) and "sponsor_required" not in kw:
        extra["sponsor_required"] = np.array([t in sponsor_tiers for t in tiers], dtype=bool)
    if kams:
        kid = {k.id: i for i, k in enumerate(kams)}
        extra["kam_pairs"] = KamPairs(
            account=np.array([a_idx[p[0]] for p in pairs], dtype=np.int64),
            kam=np.array([kid[p[1]] for p in pairs], dtype=np.int64),
            hours_factor=np.array([p[2] for p in pairs], dtype=float),
            value_bonus=np.array([p[3] for p in pairs], dtype=float),
        )
    sh = np.zeros((len(support), n)) if support_hours is None else np.array(support_hours, dtype=float)
    pool_of = pool_of or {}
    return Problem(
        account_ids=tuple(accounts),
        tier_ids=tiers,
        opt_account=np.array([a_idx[o[0]] for o in options], dtype=np.int64),
        opt_tier=np.array([tiers.index(o[1]) for o in options], dtype=np.int64),
        value=col(2), cost=col(3), kam_hours=col(4),
        support_hours=sh.reshape(len(support), n),
        score=np.array([(score or {}).get(a, 5.0) for a in accounts], dtype=float),
        pool=np.array([pool_of.get(a, 0) for a in accounts], dtype=np.int64),
        pools=tuple(pools), support=tuple(support), sponsors=tuple(sponsors), kams=tuple(kams),
        **extra, **kw,
    )


def count_limit(
    problem: Problem,
    name: str,
    sense: str,
    rhs: float,
    *,
    tiers: Iterable[str] | None = None,
    accounts: Iterable[str] | None = None,
    share: float | None = None,
    penalty: float | None = None,
    family: str = "key_accounts",
) -> Limit:
    """``sum x sense rhs`` over the options at ``tiers`` of ``accounts`` (all when None).

    With ``share``, the limit is on the selected accounts' share of the portfolio:
    coefficients ``selected - share`` against ``rhs`` (normally 0), as screening builds quotas.
    """
    p = problem
    sel = np.ones(p.n_options, dtype=bool)
    if tiers is not None:
        sel &= np.isin(p.opt_tier, [p.tier_ids.index(t) for t in tiers])
    if accounts is not None:
        sel &= np.isin(p.opt_account, [p.account_ids.index(a) for a in accounts])
    coef = sel.astype(float) - (share or 0.0)
    measure = None if share is None else np.ones(p.n_options)
    return Limit(name, family, coef, sense, float(rhs), penalty=penalty,  # type: ignore[arg-type]
                 share=share, measure=measure)


def with_limits(problem: Problem, *limits: Limit) -> Problem:
    """The problem with these portfolio limits (replacing any it had)."""
    return dataclasses.replace(problem, limits=tuple(limits))


def plan(
    problem: Problem,
    tiers: Mapping[str, str],
    *,
    hires: Mapping[str, int] | None = None,
    kam: Mapping[str, str] | None = None,
    sponsor: Mapping[str, str] | None = None,
) -> Assignment:
    """An Assignment by ids: account -> tier id (others are not key), pool -> hires,
    account -> KAM label, account -> sponsor id. Labels are empty tuples when the problem
    has no named KAMs / sponsors, as the optimiser produces them."""
    p = problem
    tier = np.array([p.tier_ids.index(tiers[a]) if a in tiers else -1 for a in p.account_ids], dtype=np.int64)
    h = np.array([(hires or {}).get(pool.id, 0) for pool in p.pools], dtype=np.int64)
    kams = tuple((kam or {}).get(a, "") for a in p.account_ids) if p.kams else ()
    sponsors = tuple((sponsor or {}).get(a, "") for a in p.account_ids) if p.sponsors else ()
    return Assignment(tier=tier, hires=h, kam=kams, sponsor=sponsors)


def assert_plan_ok(problem: Problem, assignment: Assignment) -> None:
    """Raise AssertionError listing every hard violation of the plan (one per line)."""
    report = verify(problem, assignment)
    if not report.ok:
        lines = "\n".join(f"  {v.message}" for v in report.violations)
        raise AssertionError(f"the plan breaks {len(report.violations)} hard rule(s):\n{lines}")


__all__ = ["assert_plan_ok", "count_limit", "plan", "tiny_problem", "with_limits"]
