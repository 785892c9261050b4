"""The spreadsheet baseline: the plan a team would make by hand, to compare with the optimum.

1. Forced-in accounts (in the order they were forced), then incumbents (input order), take
   their forced / current tier, or their highest admissible tier when that one is not an
   option. They are placed whatever the resources say, as teams keep them by hand, with a
   named KAM who still has room when one has.
2. Every other account, best score first (ties: input order), takes its highest tier with a
   positive value whose resources still fit: pool KAM hours and span (without hiring), or a
   named KAM with spare hours and span; support hours; budget; a free allowed sponsor when
   the tier needs one; and every hard maximum that adding accounts can only tighten. An
   account that fits nowhere is skipped; the fill never stops early.

Forced-out accounts are never chosen, and nobody is hired. The result may still break rules
(a minimum not reached, an incumbent over capacity): :func:`kamopt.verify.verify` says which.
"""

from __future__ import annotations

import numpy as np

from kamopt.model.problem import Limit, Problem
from kamopt.model.solution import Assignment

_EPS = 1e-9


def _fits(used: np.ndarray | float, cap: np.ndarray | float) -> bool:
    """``used <= cap`` up to round-off, element-wise for arrays. Two numbers (nearly every
    call: numpy's float64 is a float) are compared without numpy's array machinery."""
    if isinstance(used, (float, int)) and isinstance(cap, (float, int)):
        return bool(used <= cap + _EPS * max(1.0, abs(cap)))
    return bool(np.all(np.asarray(used) <= np.asarray(cap) + _EPS * np.maximum(1.0, np.abs(cap))))


def _monotone_maxima(p: Problem) -> list[Limit]:
    """Hard upper limits with no negative coefficient (key-account, tier and count-quota maxima,
    new promotions): adding an account can only bring them closer. Share limits are left out:
    early in the fill any share is extreme, so a hand-made fill cannot use them."""
    return [lim for lim in p.limits
            if lim.penalty is None and lim.sense == "<=" and bool(np.all(np.asarray(lim.coef) >= 0))]


class _Fill:
    """The plan being filled and the resources it uses so far."""

    def __init__(self, p: Problem) -> None:
        self.p = p
        self.pool_hours, self.pool_count = np.zeros(len(p.pools)), np.zeros(len(p.pools))
        self.pool_hours_cap = np.array([q.hours_per_fte * q.fte for q in p.pools], dtype=float)
        self.pool_span_cap = np.array([q.span * q.fte for q in p.pools], dtype=float)
        self.support = np.zeros(len(p.support))
        self.support_cap = np.array([s.limit for s in p.support], dtype=float)
        self.cost = 0.0
        self.kam_hours, self.kam_count = np.zeros(len(p.kams)), np.zeros(len(p.kams))
        self.slots_free = np.array([s.slots for s in p.sponsors], dtype=float)
        self.maxima = _monotone_maxima(p)
        self.lhs = np.zeros(len(self.maxima))
        req = np.zeros(max(len(p.tier_ids), 1), dtype=bool)
        given = np.asarray(p.sponsor_required, dtype=bool)[: req.size]
        req[: given.size] = given
        self.required = req
        ok = np.asarray(p.sponsor_ok, dtype=bool)
        self.sponsor_ok = ok if ok.shape == (p.n_accounts, len(p.sponsors)) else np.zeros(
            (p.n_accounts, len(p.sponsors)), dtype=bool)
        pairs = p.kam_pairs
        self.pairs: dict[int, list[tuple[int, float]]] = {}
        if p.kams and pairs is not None:
            for a, k, f in zip(pairs.account.tolist(), pairs.kam.tolist(), pairs.hours_factor.tolist()):
                self.pairs.setdefault(a, []).append((k, f))
        self.tier = np.full(p.n_accounts, -1, dtype=np.int64)
        self.kam = [""] * p.n_accounts
        self.sponsor = [""] * p.n_accounts

    def _kam_for(self, o: int, strict: bool) -> int:
        """Allowed named KAM with the most spare hours (ties: lowest index); when ``strict``,
        only one whose hours and span still fit. -1 when there is none."""
        p, a = self.p, int(self.p.opt_account[o])
        spare = {k: p.kams[k].hours - self.kam_hours[k] for k, _ in self.pairs.get(a, [])}
        if strict:
            spare = {k: s for k, s in spare.items() if self._kam_fits(o, k)}
        return max(spare, key=lambda k: (spare[k], -k), default=-1)

    def _kam_fits(self, o: int, k: int) -> bool:
        kam, factor = self.p.kams[k], dict(self.pairs[int(self.p.opt_account[o])])[k]
        return (_fits(self.kam_hours[k] + self.p.kam_hours[o] * factor, kam.hours)
                and _fits(self.kam_count[k] + 1, kam.max_accounts))

    def _sponsor_for(self, o: int, strict: bool) -> int:
        """Allowed sponsor with the most free slots (ties: lowest index); when ``strict``, only
        one with a free slot. -1 when there is none."""
        allowed = np.flatnonzero(self.sponsor_ok[self.p.opt_account[o]]).tolist()
        free = {e: self.slots_free[e] for e in allowed}
        if strict:
            free = {e: f for e, f in free.items() if f >= 1 - _EPS}
        return max(free, key=lambda e: (free[e], -e), default=-1)

    def _resources_fit(self, o: int) -> bool:
        """Pool capacity (without hiring), support hours, budget and monotone maxima."""
        p = self.p
        if p.pools and not p.kams:
            q = int(p.pool[p.opt_account[o]])
            if not (_fits(self.pool_hours[q] + p.kam_hours[o], self.pool_hours_cap[q])
                    and _fits(self.pool_count[q] + 1, self.pool_span_cap[q])):
                return False
        if p.support and not _fits(self.support + p.support_hours[:, o], self.support_cap):
            return False
        if p.budget is not None and not _fits(self.cost + p.cost[o], float(p.budget)):
            return False
        return all(_fits(self.lhs[i] + lim.coef[o], lim.rhs) for i, lim in enumerate(self.maxima))

    def try_place(self, o: int) -> bool:
        """Place option ``o`` if everything fits; say whether it did."""
        if not self._resources_fit(o):
            return False
        kam = self._kam_for(o, strict=True) if self.p.kams else -1
        sponsor = self._sponsor_for(o, strict=True) if self.required[self.p.opt_tier[o]] else -1
        if (self.p.kams and kam < 0) or (self.required[self.p.opt_tier[o]] and sponsor < 0):
            return False
        self._place(o, kam, sponsor)
        return True

    def force(self, o: int) -> None:
        """Place option ``o`` whatever fits: with the best named KAM whose hours and span still
        fit when there is one (else the one with most spare hours), and the best sponsor."""
        kam = -1
        if self.p.kams:
            kam = self._kam_for(o, strict=True)
            kam = kam if kam >= 0 else self._kam_for(o, strict=False)
        sponsor = self._sponsor_for(o, strict=False) if self.required[self.p.opt_tier[o]] else -1
        self._place(o, kam, sponsor)

    def _place(self, o: int, kam: int, sponsor: int) -> None:
        p, a = self.p, int(self.p.opt_account[o])
        self.tier[a] = p.opt_tier[o]
        if p.pools:
            self.pool_hours[p.pool[a]] += p.kam_hours[o]
            self.pool_count[p.pool[a]] += 1
        if p.support:
            self.support += p.support_hours[:, o]
        self.cost += float(p.cost[o])
        self.lhs += [lim.coef[o] for lim in self.maxima]
        if kam >= 0:
            self.kam[a] = p.kams[kam].id
            self.kam_hours[kam] += p.kam_hours[o] * dict(self.pairs[a])[kam]
            self.kam_count[kam] += 1
        if sponsor >= 0:
            self.sponsor[a] = p.sponsors[sponsor].id
            self.slots_free[sponsor] -= 1

    def assignment(self) -> Assignment:
        p = self.p
        return Assignment(
            tier=self.tier.copy(), hires=np.zeros(len(p.pools), dtype=np.int64),
            kam=tuple(self.kam) if p.kams else (), sponsor=tuple(self.sponsor) if p.sponsors else (),
        )


def _option_at(p: Problem, account: int, tier: int) -> int:
    """The account's option at ``tier``, else its highest admissible option."""
    opts = p.options_of(account)
    hit = opts[p.opt_tier[opts] == tier]
    return int(hit[0]) if hit.size else int(opts[np.argmin(p.opt_tier[opts])])


def _kept(p: Problem, out: set[int]) -> list[tuple[int, int]]:
    """(account, preferred tier) of forced-in accounts, then incumbents; forced-out ones never."""
    cur = np.full(p.n_accounts, -1, dtype=np.int64)
    m = min(p.n_accounts, len(p.current_tier))
    cur[:m] = np.asarray(p.current_tier[:m], dtype=np.int64)
    firsts = [(f.account, f.tier if f.tier >= 0 else int(cur[f.account])) for f in p.forced if f.include]
    firsts += [(a, int(cur[a])) for a in np.flatnonzero(cur >= 0).tolist()]
    seen: set[int] = set()
    kept = []
    for a, t in firsts:
        if a not in out and a not in seen and p.options_of(a).size:
            seen.add(a)
            kept.append((a, t))
    return kept


def greedy(problem: Problem) -> Assignment:
    """The spreadsheet baseline plan (see the module docstring). Deterministic; no hiring."""
    p = problem
    fill = _Fill(p)
    out = {f.account for f in p.forced if not f.include}
    kept = _kept(p, out)
    for a, t in kept:
        fill.force(_option_at(p, a, t))
    done = out | {a for a, _ in kept}
    for a in np.argsort(-np.asarray(p.score, dtype=float), kind="stable").tolist():
        if a in done:
            continue
        opts = p.options_of(a)
        for o in opts[np.argsort(p.opt_tier[opts], kind="stable")].tolist():
            if p.value[o] > 0 and fill.try_place(o):
                break
    return fill.assignment()


__all__ = ["greedy"]
