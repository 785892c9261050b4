"""Screening: eligibility, weighted scores, per-tier values and needs, candidacy.

The mini policy (tests/data/mini) is small enough to check by hand; the properties check the
score on generated tables: always within 1-10, never lower when a positively weighted
criterion improves.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kamopt
from kamopt.data.accounts import load_data
from kamopt.errors import KamoptError
from kamopt.screening import build_problem, npv_factors, screen

MINI = Path(__file__).parent / "data" / "mini" / "policy.yaml"


@pytest.fixture(scope="module")
def mini():
    loaded = kamopt.load_policy(MINI)
    return screen(loaded, load_data(loaded))


def test_scores_are_the_weighted_criteria(mini):
    # fit weighs 0.6 (column); size 0.4 from revenue bands [100, 1000] -> 2 / 6 / 10
    assert mini.criterion_scores.tolist() == [[9, 10], [5, 6], [2, 2], [7, 2]]
    assert mini.score == pytest.approx([9.4, 5.4, 2.0, 5.0])


def test_rules_exclude_but_incumbents_are_exempt(mini):
    assert mini.rule_pass[:, 0].tolist() == [True, True, False, False]
    assert mini.candidate.tolist() == [True, True, False, True]  # A4 is an incumbent (gold)
    assert mini.reasons[2] == "fails not_competitor"
    assert "incumbent kept despite failing not_competitor" in mini.notes[3]


def test_values_are_npv_of_uplift_and_retention_minus_cost(mini):
    # one year, no discounting: value = uplift + retention - cost
    assert mini.value[0].tolist() == pytest.approx([2000 * 0.1 - 10, 2000 * 0.05 + 1 - 5])
    assert mini.kam_hours[0].tolist() == [100, 50]
    assert mini.cost[1].tolist() == [10, 5]


def test_admission_by_min_score(mini):
    # gold needs a score of 6: A1 (9.4) yes, A2 (5.4) no; the incumbent A4 keeps its tier
    assert mini.admitted[:, 0].tolist()[:2] == [True, False]
    assert mini.admitted[:, 1].tolist()[:2] == [True, True]


def test_problem_holds_candidates_and_their_options(mini):
    problem, index = build_problem(mini)
    assert problem.account_ids == ("A1", "A2", "A4")
    assert index.rows.tolist() == [0, 1, 3]
    assert problem.current_tier.tolist() == [-1, 1, 0]
    assert problem.pools[0].fte == 1 and problem.pools[0].hours_per_fte == 200


def test_npv_factors_ramp_and_discount():
    class V:
        discount_rate, ramp_up, horizon_years = 0.1, [0.5, 1.0], 3

    ramp, annuity = npv_factors(V)
    assert ramp == pytest.approx(0.5 / 1.1 + 1 / 1.1**2 + 1 / 1.1**3)
    assert annuity == pytest.approx(1 / 1.1 + 1 / 1.1**2 + 1 / 1.1**3)


def screening_error(tmp_path, old: str, new: str):
    """The single diagnostic of screening the mini policy with ``old`` replaced by ``new``."""
    text = MINI.read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "policy.yaml").write_text(text.replace(old, new), encoding="utf-8")
    (tmp_path / "accounts.csv").write_bytes((MINI.parent / "accounts.csv").read_bytes())
    loaded = kamopt.load_policy(tmp_path / "policy.yaml")
    with pytest.raises(KamoptError) as err:
        screen(loaded, load_data(loaded))
    (d,) = err.value.diagnostics
    return d


def test_expression_errors_name_the_policy_key_and_the_rows(tmp_path):
    d = screening_error(tmp_path, "uplift: revenue * 0.1", "uplift: revenue / (fit - 9)")
    assert d.field == "tiers.gold.uplift" and d.line is not None
    assert "division by zero" in d.message and "A1 (line 2 of accounts.csv)" in d.message


def test_unknown_field_lists_the_fields(tmp_path):
    d = screening_error(tmp_path, "is_competitor == 'no'", "is_competitr == 'no'")
    assert d.field == "eligibility.not_competitor" and "unknown field 'is_competitr'" in d.message
    assert d.hint and "is_competitor" in d.hint


# --------------------------------------------------------------------------- properties
POLICY = """\
data: {{accounts: accounts.csv}}
criteria:
{criteria}
tiers:
  gold: {{kam_hours: 10, cost_to_serve: 1, uplift: 5, retention_gain: 0}}
resources:
  kam_pools: {{all: {{accounts: "true", fte: 1}}}}
"""


def score_table(weights: list[float], rows: list[list[float]]) -> np.ndarray:
    """Screen a generated table: criterion j reads column c{j}; returns the scores."""
    total = sum(weights)
    crit = "\n".join(f"  c{j}: {{weight: {w / total!r}, column: c{j}}}" for j, w in enumerate(weights))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "policy.yaml").write_text(POLICY.format(criteria=crit), encoding="utf-8")
        header = "id," + ",".join(f"c{j}" for j in range(len(weights)))
        lines = [header] + [f"A{i}," + ",".join(repr(v) for v in row) for i, row in enumerate(rows)]
        (folder / "accounts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        loaded = kamopt.load_policy(folder / "policy.yaml")
        return screen(loaded, load_data(loaded)).score


criterion_scores = st.floats(1, 10, allow_nan=False).map(lambda v: round(v, 3))


@st.composite
def tables(draw):
    k = draw(st.integers(1, 5))
    weights = draw(st.lists(st.integers(1, 20), min_size=k, max_size=k))
    rows = draw(st.lists(st.lists(criterion_scores, min_size=k, max_size=k), min_size=1, max_size=6))
    return weights, rows


@settings(max_examples=40, deadline=None)
@given(tables())
def test_score_stays_within_1_and_10(table):
    weights, rows = table
    scores = score_table(weights, rows)
    assert np.all((scores >= 1 - 1e-12) & (scores <= 10 + 1e-12))


@settings(max_examples=40, deadline=None)
@given(tables(), st.data())
def test_score_is_monotone_in_each_criterion(table, data):
    weights, rows = table
    j = data.draw(st.integers(0, len(weights) - 1))
    better = [row[:j] + [data.draw(st.floats(row[j], 10).map(lambda v: min(10.0, round(v, 3) + 0.0)))]
              + row[j + 1:] for row in rows]
    before, after = score_table(weights, rows), score_table(weights, better)
    assert np.all(after >= before - 1e-9)
    strictly = np.array([b[j] > r[j] for b, r in zip(better, rows)])
    assert np.all(after[strictly] > before[strictly])
