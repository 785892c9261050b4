"""Integral sponsor counts from the solver's (possibly fractional) class-to-sponsor flows.

The model lets ``y[<class>,<sponsor>]`` be continuous (see ``build._sponsors``): with the
portfolio fixed, sponsoring is a transportation problem (class ``c`` must place ``need[c]``
accounts, sponsor ``e`` takes at most ``slots[e]``), whose polytope is integral. This module
turns any feasible fractional flow into an integral one: it keeps the rounded-down flow
and routes what is left with augmenting paths (a max-flow), deterministically.
"""

from __future__ import annotations

from collections import deque

import numpy as np


def integral_flow(
    need: list[int], allowed: list[list[int]], slots: list[int], hint: list[np.ndarray] | None = None
) -> list[list[int]]:
    """Counts ``flow[c][k]`` of class ``c``'s accounts given to its ``k``-th allowed sponsor.

    ``need[c]``: accounts of class ``c`` to sponsor; ``allowed[c]``: sponsor indices allowed to
    class ``c``; ``slots[e]``: sponsor ``e``'s capacity; ``hint[c][k]``: the solver's flow,
    whose rounded-down values are kept. Every class gets ``need[c]`` when any integral flow
    can do it; otherwise the flow is as large as possible (the verifier then names the
    sponsorless accounts).
    """
    n_sp = len(slots)
    flow = [[0] * len(a) for a in allowed]
    free = [int(s) for s in slots]
    short = [int(n) for n in need]
    if hint is not None:
        for c, (sponsors, h) in enumerate(zip(allowed, hint)):
            for k, e in enumerate(sponsors):
                take = min(int(np.floor(float(h[k]) + 1e-6)), short[c], free[e])
                if take > 0:
                    flow[c][k] = take
                    short[c] -= take
                    free[e] -= take
    position = [{e: k for k, e in enumerate(sponsors)} for sponsors in allowed]
    users: list[list[int]] = [[] for _ in range(n_sp)]  # sponsor -> classes that may use it
    for c, sponsors in enumerate(allowed):
        for e in sponsors:
            users[e].append(c)
    for c in range(len(need)):
        while short[c] > 0 and _augment(c, allowed, users, position, flow, free):
            short[c] -= 1
    return flow


def _augment(source: int, allowed, users, position, flow, free) -> bool:
    """Route one more account of class ``source`` along a shortest augmenting path
    ``source -> e1 -> c1 -> e2 -> ... -> ek`` (``ci`` gives up one account at ``ei`` and
    takes one at ``e(i+1)``; ``ek`` has a free slot). True when such a path exists."""
    via_class: dict[int, int] = {}  # sponsor -> the class it was reached from
    via_sponsor: dict[int, int] = {source: -1}  # class -> the sponsor it was reached through
    queue = deque([source])
    while queue:
        c = queue.popleft()
        for e in allowed[c]:
            if e in via_class:
                continue
            via_class[e] = c
            if free[e] > 0:
                free[e] -= 1
                while True:
                    c = via_class[e]
                    flow[c][position[c][e]] += 1
                    if c == source:
                        return True
                    e = via_sponsor[c]
                    flow[c][position[c][e]] -= 1
            for d in users[e]:
                if d not in via_sponsor and flow[d][position[d][e]] > 0:
                    via_sponsor[d] = e
                    queue.append(d)
    return False
