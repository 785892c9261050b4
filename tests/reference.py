"""Brute-force reference optimum for tiny problems, independent of the MILP.

Every tier vector (each account: none or one of its options) and every hire vector is
tried; KAM and sponsor labels are found by small exhaustive matching. Feasibility of a full
assignment is decided by :func:`kamopt.verify.verify` alone, the objective by
:func:`kamopt.verify.evaluate`, so a bug in the builder cannot agree with itself here.
"""

from __future__ import annotations

import itertools
from typing import Iterator

import numpy as np

from kamopt.model.problem import Problem
from kamopt.model.solution import NEW_HIRE, Assignment
from kamopt.verify import evaluate, verify

SPONSOR_FAMILIES = {"sponsor_required", "sponsor_affinity", "sponsor_slots"}


def check_size(p: Problem) -> None:
    """Refuse problems too big to enumerate."""
    if (p.n_accounts > 6 or len(p.pools) > 2 or any(q.max_hire > 2 for q in p.pools)
            or len(p.sponsors) > 2 or len(p.kams) > 2):
        raise ValueError("brute_force is for tiny problems only")


def search_size(p: Problem) -> int:
    """Number of (tier vector, hire vector) pairs brute force enumerates."""
    tiers = np.prod([1 + p.options_of(a).size for a in range(p.n_accounts)], dtype=float)
    hires = np.prod([1 + max(q.max_hire, 0) for q in p.pools], dtype=float)
    return int(tiers * hires)


def _tier_vectors(p: Problem) -> Iterator[np.ndarray]:
    choices = [[-1, *p.opt_tier[p.options_of(a)].tolist()] for a in range(p.n_accounts)]
    for combo in itertools.product(*choices):
        yield np.array(combo, dtype=np.int64)


def _hire_vectors(p: Problem) -> Iterator[np.ndarray]:
    for combo in itertools.product(*[range(max(q.max_hire, 0) + 1) for q in p.pools]):
        yield np.array(combo, dtype=np.int64)


def _label_families(p: Problem) -> set[str]:
    """Violation families that KAM or sponsor labels can change (the rest depend on tiers and hires)."""
    return SPONSOR_FAMILIES | ({"kam_assign", "kam_hours", "kam_span"} if p.kams else set())


def _kam_candidates(p: Problem, account: int) -> list[tuple[str, float]]:
    """(label, value bonus) an account may take: allowed named KAMs and its pool's new hires."""
    out: list[tuple[str, float]] = []
    pairs = p.kam_pairs
    if pairs is not None:
        out += [(p.kams[int(k)].id, float(b))
                for a, k, b in zip(pairs.account, pairs.kam, pairs.value_bonus) if int(a) == account]
    pool = p.pools[int(p.pool[account])]
    if pool.max_hire > 0:
        out.append((f"{pool.id} {NEW_HIRE}", 0.0))
    return out


def _kam_labellings(p: Problem, tier: np.ndarray) -> list[tuple[float, tuple[str, ...]]]:
    """Every KAM labelling of the key accounts with its total bonus, best bonus first."""
    if not p.kams:
        return [(0.0, ())]
    per = [_kam_candidates(p, a) if tier[a] >= 0 else [("", 0.0)] for a in range(p.n_accounts)]
    out = [(sum(b for _, b in combo), tuple(lab for lab, _ in combo)) for combo in itertools.product(*per)]
    return sorted(out, key=lambda x: -x[0])


def _sponsor_labelling(p: Problem, tier: np.ndarray, hires: np.ndarray) -> tuple[str, ...] | None:
    """A sponsor labelling with no sponsor violation (verify decides), or None."""
    if not p.sponsors:
        return ()
    blank = ("",) * p.n_accounts
    kam = blank if p.kams else ()
    req = np.asarray(p.sponsor_required, dtype=bool)
    needy = [a for a in range(p.n_accounts) if 0 <= tier[a] < req.size and req[tier[a]]]
    if not needy:
        return blank
    ok = np.asarray(p.sponsor_ok, dtype=bool)
    choices = [[s.id for e, s in enumerate(p.sponsors) if ok[a, e]] for a in needy]
    for combo in itertools.product(*choices):
        labels = list(blank)
        for a, s in zip(needy, combo):
            labels[a] = s
        report = verify(p, Assignment(tier, hires, kam, tuple(labels)))
        if not any(v.family in SPONSOR_FAMILIES for v in report.violations):
            return tuple(labels)
    return None


def brute_force(problem: Problem) -> tuple[float | None, Assignment | None]:
    """(best objective, a best assignment), or (None, None) when no plan keeps the hard rules."""
    p = problem
    check_size(p)
    families = _label_families(p)
    best: tuple[float, Assignment] | None = None
    for tier in _tier_vectors(p):
        labellings = _kam_labellings(p, tier)
        if not labellings:  # a key account no allowed KAM (nor new hire) can serve
            continue
        for hires in _hire_vectors(p):
            blank = Assignment(tier, hires, ("",) * p.n_accounts if p.kams else (),
                               ("",) * p.n_accounts if p.sponsors else ())
            base = verify(p, blank)
            if any(v.family not in families for v in base.violations):
                continue
            base_total = base.parts.total  # no KAM bonus with blank labels
            if best is not None and base_total + labellings[0][0] <= best[0] + 1e-9:
                continue
            sponsors = _sponsor_labelling(p, tier, hires)
            if sponsors is None:
                continue
            for bonus, kam in labellings:
                if best is not None and base_total + bonus <= best[0] + 1e-9:
                    break
                a = Assignment(tier, hires, kam, sponsors)
                if verify(p, a).ok:
                    best = (evaluate(p, a).total, a)
                    break
    return (None, None) if best is None else best
