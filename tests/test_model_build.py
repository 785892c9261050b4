"""Model builder: one golden LP file per constraint family, plus LinearModel basics.

Regenerate the goldens with ``KAMOPT_UPDATE_GOLDEN=1 pytest tests/test_model_build.py``
and eyeball the diff before committing.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from kamopt.model import build
from kamopt.model.build import FAMILIES, build_model
from kamopt.model.linear import LinearModel
from kamopt.model.problem import Capacity, Forced, Kam, KamPairs, Limit, Pool, Problem, Sponsor
from kamopt.model.solvers import _highs_lp, write_lp

GOLDEN = Path(__file__).parent / "golden"


# --------------------------------------------------------------------------- factory
def make_problem(options, *, tiers=("gold", "silver"), pools=(), pool_of=None, score=None, support=(),
                 support_hours=None, current=None, sponsors=(), sponsor_ok=None, kams=(), pairs=None, **kw):
    """A Problem from ``(account, tier, value, cost, kam_hours)`` tuples (ids, not indices).

    ``pool_of``: account -> pool index; ``current``: account -> tier id; ``sponsor_ok``:
    account -> allowed sponsor ids; ``pairs``: (account, kam id, hours_factor, value_bonus).
    """
    accounts = list(dict.fromkeys(o[0] for o in options))
    a_idx = {a: i for i, a in enumerate(accounts)}
    n = len(options)
    col = lambda k: np.array([o[k] for o in options], dtype=float)  # noqa: E731
    sh = np.zeros((len(support), n)) if support_hours is None else np.array(support_hours, dtype=float)
    pool_of = pool_of or {}
    extra = {}
    if current is not None:
        extra["current_tier"] = np.array([tiers.index(current[a]) if a in current else -1 for a in accounts])
    if sponsors:
        ok = sponsor_ok or {}
        ids = [s.id for s in sponsors]
        extra["sponsor_ok"] = np.array([[s in ok.get(a, ids) for s in ids] for a in accounts], dtype=bool).reshape(
            len(accounts), len(ids))
    if kams:
        kid = {k.id: i for i, k in enumerate(kams)}
        pairs = pairs or []
        extra["kam_pairs"] = KamPairs(
            account=np.array([a_idx[p[0]] for p in pairs], dtype=np.int64),
            kam=np.array([kid[p[1]] for p in pairs], dtype=np.int64),
            hours_factor=np.array([p[2] for p in pairs], dtype=float),
            value_bonus=np.array([p[3] for p in pairs], dtype=float),
        )
    return Problem(
        account_ids=tuple(accounts),
        tier_ids=tuple(tiers),
        opt_account=np.array([a_idx[o[0]] for o in options], dtype=np.int64),
        opt_tier=np.array([tiers.index(o[1]) for o in options], dtype=np.int64),
        value=col(2), cost=col(3), kam_hours=col(4),
        support_hours=sh,
        score=np.full(len(accounts), 5.0) if score is None else np.array([score[a] for a in accounts], dtype=float),
        pool=np.array([pool_of.get(a, 0) for a in accounts], dtype=np.int64),
        pools=tuple(pools), support=tuple(support), sponsors=tuple(sponsors), kams=tuple(kams),
        **extra, **kw,
    )


def count_limit(p: Problem, name, sense, rhs, tiers=None, penalty=None, family="key_accounts") -> Limit:
    """``sum x sense rhs`` over the options at ``tiers`` (all when None)."""
    if tiers is None:
        sel = np.ones(p.n_options, dtype=bool)
    else:
        sel = np.isin(p.opt_tier, [p.tier_ids.index(t) for t in tiers])
    return Limit(name, family, sel.astype(float), sense, float(rhs), penalty=penalty)


# --------------------------------------------------------------------------- golden problems
def _one_tier():
    return make_problem([("A", "gold", 100, 10, 50), ("A", "silver", 60, 5, 20), ("B", "silver", 40, 5, 20)])


def _kam_pool_capacity():
    pools = (Pool("EMEA", fte=1, hours_per_fte=100, span=2, max_hire=2, hire_cost=80, hire_cost_npv=300),
             Pool("APAC", fte=2, hours_per_fte=50, span=3))
    return make_problem([("A", "gold", 100, 10, 60), ("A", "silver", 60, 5, 30), ("B", "silver", 40, 5, 30)],
                        pools=pools, pool_of={"A": 0, "B": 1})


def _named_kams():
    pools = (Pool("EMEA", fte=2, hours_per_fte=100, span=2, max_hire=1, hire_cost_npv=300),)
    kams = (Kam("Ann", pool=0, hours=100, max_accounts=2), Kam("Bob", pool=0, hours=80, max_accounts=1))
    return make_problem([("A", "gold", 100, 10, 60), ("A", "silver", 60, 5, 30), ("B", "silver", 40, 5, 30)],
                        pools=pools, kams=kams,
                        pairs=[("A", "Ann", 1.0, 5.0), ("A", "Bob", 1.5, 20.0), ("B", "Bob", 1.0, 0.0)])


def _support_hours():
    return make_problem([("A", "gold", 100, 10, 0), ("A", "silver", 60, 5, 0), ("B", "silver", 40, 5, 0)],
                        support=(Capacity("legal", 10), Capacity("it", 25)),
                        support_hours=[[8, 2, 0], [10, 5, 7]])


def _budget():
    pools = (Pool("EMEA", fte=1, hours_per_fte=100, span=5, max_hire=1, hire_cost=70, hire_cost_npv=200),)
    return make_problem([("A", "gold", 100, 30, 0), ("A", "silver", 60, 15, 0), ("B", "silver", 40, 20, 0)],
                        pools=pools, budget=100.0)


def _sponsors():
    return make_problem(
        [("A", "gold", 100, 0, 0), ("A", "silver", 60, 0, 0), ("B", "gold", 90, 0, 0),
         ("C", "gold", 80, 0, 0), ("D", "gold", 70, 0, 0), ("E", "silver", 10, 0, 0)],
        sponsors=(Sponsor("CEO", 1), Sponsor("CFO", 2)), sponsor_required=np.array([True, False]),
        sponsor_ok={"A": ["CEO"], "B": ["CEO", "CFO"], "C": ["CEO"], "D": []})


def _limits():
    p = make_problem([("A", "gold", 100, 0, 0), ("A", "silver", 60, 0, 0), ("B", "gold", 90, 0, 0),
                      ("C", "silver", 30, 0, 0)])
    return _with_limits(p, [count_limit(p, "min_key_accounts", ">=", 2),
                            count_limit(p, "max_tier[gold]", "<=", 1, tiers=["gold"], penalty=25.0,
                                        family="tier_count")])


def _with_limits(p, limits):
    import dataclasses

    return dataclasses.replace(p, limits=tuple(limits))


_INC = [("A", "gold", 100, 0, 0), ("A", "silver", 60, 0, 0), ("B", "gold", 90, 0, 0), ("B", "silver", 50, 0, 0),
        ("C", "silver", 30, 0, 0)]


def _incumbents():
    return make_problem(_INC, current={"A": "gold", "B": "silver"}, demotion="forbid", change_penalty=7.0)


def _incumbents_tier_down():
    return make_problem(_INC, current={"A": "gold", "B": "silver"}, demotion="tier_down", change_penalty=7.0)


def _overrides():
    return make_problem(_INC, forced=(Forced(0, True, tier=1, reason="CEO"), Forced(1, True),
                                      Forced(2, False, reason="churn")))


GOLDEN_PROBLEMS = {
    "one_tier": ("one_tier", _one_tier),
    "kam_pool_capacity": ("kam_pool_capacity", _kam_pool_capacity),
    "named_kams": ("named_kams", _named_kams),
    "support_hours": ("support_hours", _support_hours),
    "budget": ("budget", _budget),
    "sponsors": ("sponsors", _sponsors),
    "limits": ("limits", _limits),
    "incumbents": ("incumbents", _incumbents),
    "incumbents_tier_down": ("incumbents", _incumbents_tier_down),
    "overrides": ("overrides", _overrides),
}
"""golden file name -> (family it exercises, problem)."""


def _normalise(text: str) -> list[str]:
    return sorted(" ".join(line.split()) for line in text.splitlines() if line.strip())


@pytest.mark.parametrize("golden", sorted(GOLDEN_PROBLEMS))
def test_golden_lp(golden, tmp_path):
    family, make = GOLDEN_PROBLEMS[golden]
    built = build_model(make())
    assert built.families[family].size > 0, f"the {golden} problem has no {family} row"
    out = tmp_path / f"{golden}.lp"
    write_lp(built.model, out)
    text = out.read_text()
    path = GOLDEN / f"{golden}.lp"
    if os.environ.get("KAMOPT_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"missing {path}: run with KAMOPT_UPDATE_GOLDEN=1"
    assert _normalise(text) == _normalise(path.read_text())


def test_every_family_has_a_golden_file():
    for family in FAMILIES:
        assert (GOLDEN / f"{family}.lp").exists(), f"no golden file for family {family}"
        assert family in {fam for fam, _ in GOLDEN_PROBLEMS.values()}
        fn = getattr(build, f"_{family}")
        assert fn.__doc__, f"_{family} has no docstring"


# --------------------------------------------------------------------------- formulation details
def test_rows_use_the_shared_names():
    names = set(build_model(_named_kams()).model.row_names)
    assert {"kam_hours[Ann]", "kam_span[Bob]", "kam_hours[EMEA (new hire)]", "kam_span[EMEA (new hire)]",
            "kam_assign[A,gold]", "kam_assign[B,silver]", "one_tier[A]"} <= names
    assert "kam_hours[EMEA]" not in names  # no pool-level rows with named KAMs
    names = set(build_model(_sponsors()).model.row_names)
    assert {"sponsor_cover[CEO]", "sponsor_cover[CEO|CFO]", "sponsor_cover[]", "sponsor_slots[CEO]",
            "sponsor_slots[CFO]"} <= names


def test_one_tier_only_for_accounts_with_two_options():
    names = build_model(_one_tier()).model.row_names
    assert names == ["one_tier[A]"]


def test_sponsor_classes_are_aggregated():
    b = build_model(_sponsors())
    classes = {c.name: c for c in b.sponsor_classes}
    assert list(classes) == ["CEO", "CEO|CFO", ""]  # order of first account
    assert classes["CEO"].accounts.tolist() == [0, 2]
    m = b.model
    assert [m.col_names[c] for c in classes["CEO"].y] == ["y[CEO,CEO]"]
    assert m.upper[classes["CEO"].y].tolist() == [1.0]  # min(slots, class size)
    assert classes[""].y.size == 0


def test_sponsor_classes_per_account_past_the_threshold(monkeypatch):
    from kamopt.model import build

    monkeypatch.setattr(build, "SPONSOR_CLASSES_UP_TO", 2)
    p = _sponsors()
    b = build_model(p)
    assert [c.name for c in b.sponsor_classes] == [p.account_ids[c.accounts[0]] for c in b.sponsor_classes]
    assert all(c.accounts.size == 1 for c in b.sponsor_classes)
    assert sorted(int(c.accounts[0]) for c in b.sponsor_classes) == [c.accounts[0] for c in b.sponsor_classes]
    assert f"sponsor_cover[{p.account_ids[0]}]" in b.model.row_names
    assert all(b.model.upper[c.y].tolist() == [1.0] * c.y.size for c in b.sponsor_classes)


def test_root_reduced_cost_heuristic_is_off_without_named_kams_only():
    # measured: without named KAMs it costs time and ignores the time limit; with them it
    # finds the good plans (bench/README.md)
    key = "mip_heuristic_run_root_reduced_cost"
    assert build_model(_sponsors()).model.highs_options == {key: False}
    assert key not in build_model(_named_kams()).model.highs_options
    model = build_model(_sponsors()).model
    twin = model.copy()
    twin.highs_options["time_limit"] = 1.0
    assert model.highs_options == {key: False}  # a copy's options are its own


def test_change_penalty_constant_and_costs():
    p = _incumbents()
    b = build_model(p)
    m = b.model
    assert m.constant == pytest.approx(-14.0)  # two incumbents
    cost = m.cost[b.x] - b.tiebreak
    # A at gold (current): value + 7; A silver: value; C (new): value - 7
    assert cost.tolist() == pytest.approx([107, 60, 90, 57, 23])
    assert np.abs(b.tiebreak).max() < 1e-3


def test_soft_limit_slack_is_bounded_and_charged():
    b = build_model(_limits())
    m = b.model
    s = b.slack["max_tier[gold]"]
    assert m.col_names[s] == "slack[max_tier[gold]]"
    assert m.upper[s] == 1.0  # two gold options, rhs 1
    assert m.cost[s] == -25.0


def test_elastic_rows_get_slack_columns():
    b = build_model(_limits(), elastic={"min_key_accounts"})
    assert set(b.elastic) == {"min_key_accounts"}
    up, down = b.elastic["min_key_accounts"]
    assert up == -1 and b.model.col_names[down] == "elastic_down[min_key_accounts]"
    assert b.model.upper[down] == 2.0


def test_empty_problem_builds():
    p = make_problem([])
    b = build_model(p)
    assert b.model.n_cols == 0 and b.model.n_rows == 0


# --------------------------------------------------------------------------- LinearModel
def test_linear_model_names_are_unique():
    m = LinearModel()
    m.add_columns(["a", "b"], 0, 1, True, 1.0)
    with pytest.raises(AssertionError):
        m.add_columns(["a"], 0, 1, True, 1.0)
    m.add_row("r", [0, 1], [1.0, 2.0], -np.inf, 3)
    with pytest.raises(AssertionError):
        m.add_row("r", [0], [1.0], 0, 1)


def test_linear_model_compresses_and_sums_duplicates():
    m = LinearModel()
    m.add_columns(["a", "b", "c"], 0, 1, False, 0.0)
    m.add_rows(["r0", "r1"], 0, [1, 2], np.array([0, 0, 1, 1, 0]), np.array([2, 0, 1, 1, 2]),
               np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    csr = m.csr()
    assert csr.start.tolist() == [0, 2, 3]
    assert csr.index.tolist() == [0, 2, 1] and csr.value.tolist() == [2.0, 6.0, 7.0]
    csc = m.csc()
    assert csc.start.tolist() == [0, 1, 2, 3] and csc.index.tolist() == [0, 1, 0]
    assert m.activity(np.array([1.0, 1.0, 1.0])).tolist() == [8.0, 7.0]


def test_large_model_passes_to_highs_whole():
    """A 20,000-account model reaches HiGHS with every column and row (timing lives in bench/)."""
    rng = np.random.default_rng(1)
    n, t = 20_000, 3
    acc = np.repeat(np.arange(n), t)
    tier = np.tile(np.arange(t), n)
    p = Problem(
        account_ids=tuple(f"A{i}" for i in range(n)), tier_ids=("gold", "silver", "bronze"),
        opt_account=acc, opt_tier=tier, value=rng.uniform(0, 100, n * t), cost=rng.uniform(1, 9, n * t),
        kam_hours=rng.uniform(10, 90, n * t), support_hours=rng.uniform(0, 3, (1, n * t)),
        score=rng.uniform(1, 10, n), pool=rng.integers(0, 4, n),
        pools=tuple(Pool(f"P{i}", 10, 1600, 15, max_hire=3, hire_cost=1, hire_cost_npv=3) for i in range(4)),
        support=(Capacity("legal", 1000),), budget=5000.0, sponsors=(Sponsor("CEO", 5), Sponsor("CFO", 5)),
        sponsor_required=np.array([True, False, False]), sponsor_ok=rng.random((n, 2)) < 0.5,
        current_tier=np.where(rng.random(n) < 0.05, 1, -1), demotion="forbid",
        limits=(Limit("min_key_accounts", "key_accounts", np.ones(n * t), ">=", 100),),
    )
    from kamopt.model.solvers import quiet_highs

    b = build_model(p)
    h = quiet_highs()
    h.setOptionValue("output_flag", False)
    h.passModel(_highs_lp(b.model))
    assert h.getNumCol() == b.model.n_cols and h.getNumRow() == b.model.n_rows
    assert b.model.n_cols >= n * t and b.x.size == n * t


def test_options_of_an_account_are_its_options_in_order_whatever_the_layout():
    # options interleaved across accounts, as a hand-built problem may have them
    p = make_problem([("A", "gold", 1, 1, 1), ("B", "gold", 1, 1, 1), ("A", "silver", 1, 1, 1),
                      ("C", "silver", 1, 1, 1), ("B", "silver", 1, 1, 1)])
    for a in range(p.n_accounts):
        assert p.options_of(a).tolist() == np.flatnonzero(p.opt_account == a).tolist()
    assert p.options_of(0).tolist() == [0, 2] and p.options_of(2).tolist() == [3]
    with pytest.raises(ValueError):
        p.options_of(0)[0] = 4  # an index shared by every caller stays as built
