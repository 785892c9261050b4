"""One account explained (:func:`explain_account`, ``kamopt explain``): its facts, the
blockers of each higher tier, and its entry thresholds and value lost, exact (re-solves)
or estimated (LP prices)."""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from kamopt.errors import DataError, Diagnostic, did_you_mean
from kamopt.explain.blockers import move_blockers, own_rules, plan_usage
from kamopt.explain.estimates import lp_net_values
from kamopt.explain.facts import Entry, Exit, Explanation, row_of, rule_results, score_contributions, tier_facts
from kamopt.explain.resolve import Resolver, forced_problem, what_it_takes
from kamopt.explain.words import money
from kamopt.marginal import plan_lp
from kamopt.model.optimise import chosen_options
from kamopt.model.solution import Status
from kamopt.model.solvers import SolverOptions
from kamopt.plan import Plan
from kamopt.report.plan_tables import change_of

EXPLAIN_GAP = 1e-6
"""Relative MIP gap of the exact re-solves (unless the policy's is already smaller)."""

EXPLAIN_TIGHT_MAX_OPTIONS = 5000
"""Largest model (account-tier options) re-solved at :data:`EXPLAIN_GAP` by default. Beyond
it the re-solves use the policy's gap: on large models HiGHS cannot close a gap that small
in any useful time. Measured on 16,500 options (2026-12-06, ``--gap 1e-6 --time-limit 30``):
every re-solve stopped at its limit, 148 s for one account, with intervals of 170,000-600,000
EUR around its thresholds. (Before the root reduced-cost heuristic was turned off, HiGHS also
overran the limit: 100-170 s for a 30 s limit on 13,000 options.)"""

EXPLAIN_TIME_LIMIT = 30.0
"""Seconds per exact re-solve (unless the policy's time limit is already shorter)."""


def _exact_options(plan: Plan, gap: float | None, time_limit: float | None) -> SolverOptions:
    """Solver options of the re-solves: the tight gap up to :data:`EXPLAIN_TIGHT_MAX_OPTIONS`
    options, the policy's gap beyond (unless ``gap`` is given); time limit capped."""
    o = plan.options
    if gap is None:
        gap = min(o.gap, EXPLAIN_GAP) if plan.problem.n_options <= EXPLAIN_TIGHT_MAX_OPTIONS else o.gap
    return SolverOptions(
        name=o.name, time_limit=time_limit if time_limit is not None else min(o.time_limit, EXPLAIN_TIME_LIMIT),
        gap=gap, threads=o.threads,
    )


def explain_account(
    plan: Plan,
    account_id: str,
    *,
    exact: bool = True,
    tiers: Sequence[str] | None = None,
    gap: float | None = None,
    time_limit: float | None = None,
) -> Explanation:
    """Explain one account of a plan (a solved :class:`Plan`, or one read back by
    :func:`kamopt.plan.check`).

    ``exact`` re-solves the MILP (once for the optimum, once per tier asked, once forced
    out for an account that is in) with relative gap ``gap`` (default: the policy's or
    1e-6, whichever is smaller; the policy's on models over
    :data:`EXPLAIN_TIGHT_MAX_OPTIONS` options) and ``time_limit`` per solve (default: the policy's or
    30 s, whichever is shorter);
    otherwise the thresholds are LP estimates. ``tiers`` limits the entry thresholds to
    those tiers (default: every higher tier it qualifies for). Raises
    :class:`kamopt.errors.DataError` (with a did-you-mean) for an unknown account id.
    """
    if plan.solution.assignment is None:
        raise DataError(Diagnostic("the plan has no decisions to explain (the solve found no plan)"))
    s = plan.screening
    r = row_of(plan, account_id)
    pol = s.loaded.policy
    tier_row = plan.tier_of_row()
    d, c = int(tier_row[r]), int(s.current_tier[r])
    candidate = bool(s.candidate[r])
    status = "excluded" if not candidate else ("in" if d >= 0 else "out")
    base = Explanation(
        account_id=account_id, name=s.data.names[r], status=status, reason=s.reasons[r], notes=s.notes[r],
        eligible=bool(s.eligible[r]), rules=rule_results(plan, r), score=float(s.score[r]),
        contributions=score_contributions(plan, r), tiers=tier_facts(plan, r),
        decision=s.tier_ids[d] if d >= 0 else "none", previous_tier=s.tier_ids[c] if c >= 0 else "none",
        change=change_of(c, d), currency=pol.currency, plan_objective=plan.solution.objective,
    )
    if not candidate:
        return base
    p, asg = plan.problem, plan.solution.assignment
    a = int(np.flatnonzero(plan.index.rows == r)[0])
    opts = p.options_of(a)
    wanted = set(tiers) if tiers else None
    if wanted is not None:
        unknown = sorted(wanted - set(p.tier_ids))
        if unknown:
            raise DataError(Diagnostic(f"unknown tier '{unknown[0]}'", field="tier",
                                       hint=did_you_mean(unknown[0], p.tier_ids)))
    targets = [int(o) for o in opts
               if (d < 0 or p.opt_tier[o] < d) and (wanted is None or p.tier_ids[p.opt_tier[o]] in wanted)]
    blockers = move_blockers(p, asg, plan_usage(plan), np.full(len(targets), a), np.array(targets, dtype=np.int64))
    remarks: list[str] = []
    if not exact:
        net = lp_net_values(p, plan_lp(plan))
        entries, exit_ = [], None
        if net is not None:
            cur = chosen_options(p, asg.tier)[a]
            net_cur = float(net[cur]) if cur >= 0 else 0.0
            for o, bl in zip(targets, blockers):
                v = float(p.value[o])
                entries.append(Entry(p.tier_ids[p.opt_tier[o]], v, "estimate",
                                     threshold=v + max(0.0, net_cur - float(net[o])), blockers=bl))
            if d >= 0:
                kept = own_rules(p, a)
                exit_ = Exit("estimate", feasible=not kept, kept_by=tuple(kept),
                             value_lost=None if kept else max(0.0, net_cur))
        else:
            remarks.append("the LP relaxation has no optimal solution: no estimates")
        return replace(base, entries=tuple(entries), exit=exit_, remarks=tuple(remarks))

    options = _exact_options(plan, gap, time_limit)
    res = Resolver(p, options, start=asg)
    opt = res.optimum()
    if opt.objective is None:
        remarks.append(f"the re-solve found no plan ({opt.status.value}): no exact thresholds")
        return replace(base, entries=tuple(Entry(p.tier_ids[p.opt_tier[o]], float(p.value[o]), "exact",
                                                 blockers=bl) for o, bl in zip(targets, blockers)),
                       remarks=tuple(remarks), gap=options.gap)
    forced = [res.forced_in(a, o) for o in targets]
    out = res.forced_out(a) if d >= 0 else None
    entries = []
    for o, bl, f in zip(targets, blockers, forced):
        tid = p.tier_ids[p.opt_tier[o]]
        v = float(p.value[o])
        if f.status == Status.INFEASIBLE:
            needs = what_it_takes(forced_problem(p, a, True, int(p.opt_tier[o])), options)
            entries.append(Entry(tid, v, "exact", feasible=False, blockers=bl, needs=needs))
            continue
        thr, low, high = res.threshold(o, f)
        if thr is None:
            remarks.append(f"the re-solve with it at {tid} found no plan ({f.status.value})")
        entries.append(Entry(tid, v, "exact", threshold=thr, low=low, high=high, blockers=bl,
                             proven=res.proven(f), in_best=int(res.best.assignment.tier[a]) == int(p.opt_tier[o])))
    exit_ = None
    if out is not None:
        if out.status == Status.INFEASIBLE:
            kept = own_rules(p, a) or list(what_it_takes(forced_problem(p, a, False), options))
            exit_ = Exit("exact", feasible=False, kept_by=tuple(kept))
        else:
            lost, low, high = res.lost(out)
            if lost is None:
                remarks.append(f"the re-solve without it found no plan ({out.status.value})")
            exit_ = Exit("exact", value_lost=lost, low=low, high=high, proven=res.proven(out))
    best = res.best
    given = plan.solution.objective
    if best.assignment is not None and int(best.assignment.tier[a]) != int(asg.tier[a]):
        t_new = int(best.assignment.tier[a])
        where = p.tier_ids[t_new] if t_new >= 0 else "none"
        below = None if given is None else best.objective - given
        if below is not None and below > max(1e-6, 1e-9 * abs(best.objective)):
            remarks.append(f"the best plan the re-solves found puts it at {where}; the plan given is "
                           f"{money(below, pol.currency)} below that plan")
        else:
            remarks.append(f"the best plan the re-solves found puts it at {where}, with the same value as the plan "
                           f"given: a tie")
    if gap is None and options.gap > EXPLAIN_GAP and p.n_options > EXPLAIN_TIGHT_MAX_OPTIONS:
        remarks.append(f"a large model ({p.n_options:,} options): re-solved at the policy's gap {options.gap:g}, "
                       f"not {EXPLAIN_GAP:g} (--gap asks for another; a tighter gap can take many minutes)")
    if not res.proven(*forced, *([out] if out is not None else [])):
        remarks.append(f"a re-solve stopped at its time limit ({options.time_limit:g} s) before proving the "
                       f"gap {options.gap:g}: the figures are the best found, proven only within the intervals shown "
                       f"(--time-limit gives the re-solves more time)")
    return replace(base, entries=tuple(entries), exit=exit_, optimum=best.objective, optimum_bound=res.known()[1],
                   gap=options.gap, remarks=tuple(remarks))
