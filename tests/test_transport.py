"""The integral split of sponsor-class flows (``model.transport``): always a valid flow of
maximum size, checked against the min-cut (Hall) bound on small random instances."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from kamopt.model.transport import integral_flow


@st.composite
def transport_instances(draw):
    n_sp = draw(st.integers(1, 5))
    n_cls = draw(st.integers(1, 6))
    allowed = [sorted(draw(st.sets(st.integers(0, n_sp - 1), min_size=1))) for _ in range(n_cls)]
    slots = draw(st.lists(st.integers(0, 3), min_size=n_sp, max_size=n_sp))
    need = draw(st.lists(st.integers(0, 4), min_size=n_cls, max_size=n_cls))
    hint = [np.array(draw(st.lists(st.floats(0, 3), min_size=len(a), max_size=len(a)))) for a in allowed]
    return need, allowed, slots, hint


def max_flow_by_cuts(need, allowed, slots) -> int:
    """Min over class subsets S of need(outside S) + slots(sponsors of S) (max-flow = min-cut)."""
    classes = range(len(need))
    return min(
        sum(need[c] for c in classes if c not in s) + sum(slots[e] for e in {e for c in s for e in allowed[c]})
        for r in range(len(need) + 1) for s in map(set, itertools.combinations(classes, r))
    )


def check_valid(flow, need, allowed, slots) -> None:
    used = [0] * len(slots)
    for c, row in enumerate(flow):
        assert all(v >= 0 for v in row)
        assert sum(row) <= need[c]
        for e, v in zip(allowed[c], row):
            used[e] += v
    assert all(u <= s for u, s in zip(used, slots))


@given(transport_instances())
def test_flow_is_valid_and_maximal(instance):
    need, allowed, slots, hint = instance
    best = max_flow_by_cuts(need, allowed, slots)
    for h in (None, hint):  # any starting hint, even an infeasible one, ends at a maximum flow
        flow = integral_flow(need, allowed, slots, h)
        check_valid(flow, need, allowed, slots)
        assert sum(map(sum, flow)) == best


def test_keeps_the_whole_part_of_a_feasible_hint():
    # class 0 may use sponsors 0 and 1, class 1 only sponsor 0; the solver's flow is integral
    flow = integral_flow([2, 1], [[0, 1], [0]], [1, 2], [np.array([0.0, 2.0]), np.array([1.0])])
    assert flow == [[0, 2], [1]]


def test_reroutes_to_serve_everyone():
    # a greedy first choice (class 0 -> sponsor 0) would leave class 1 without a sponsor
    flow = integral_flow([1, 1], [[0, 1], [0]], [1, 1])
    assert flow == [[0, 1], [1]]
