"""Scenario files: overlays on a base policy, precedence, data adjustments, and their errors."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from kamopt import api
from kamopt.data.accounts import load_data
from kamopt.errors import PolicyError
from kamopt.policy.loader import load_policy

ROOT = Path(__file__).resolve().parents[1]
MINI = Path(__file__).parent / "data" / "mini"


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """The mini policy and data in a folder of their own, with a sponsor to play with."""
    shutil.copy(MINI / "accounts.csv", tmp_path / "accounts.csv")
    text = (MINI / "policy.yaml").read_text(encoding="utf-8")
    text = text.replace("    all: {accounts: \"true\", fte: 1, hours_per_fte: 200, span_of_control: 5}\n",
                        "    all: {accounts: \"true\", fte: 1, hours_per_fte: 200, span_of_control: 5}\n"
                        "  budget: 1000\n"
                        "  sponsors:\n"
                        "    Ana: {slots: 2}\n"
                        "portfolio:\n"
                        "  must_include: [A1, A2]\n")
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_policy(path).policy.resources.budget == 1000
    return path


def scenario(base: Path, body: str, name: str = "s.yaml") -> Path:
    """A scenario file over ``base``: line 1 names the base, ``body`` starts on line 2."""
    path = base.parent / name
    path.write_text(f"base: {base.name}\n{body}", encoding="utf-8")
    return path


def errors_of(path: Path, overrides=()) -> list:
    with pytest.raises(PolicyError) as info:
        load_policy(path, overrides)
    return info.value.diagnostics


# --------------------------------------------------------------------------- precedence


def test_scenario_beats_base(base):
    loaded = load_policy(scenario(base, "set:\n  resources.budget: 800\n"))
    assert load_policy(base).policy.resources.budget == 1000
    assert loaded.policy.resources.budget == 800
    assert loaded.overrides == ("resources.budget: 1000 -> 800",)


def test_set_on_the_command_line_beats_scenario(base):
    loaded = load_policy(scenario(base, "set:\n  resources.budget: 800\n"), ["resources.budget=700"])
    assert loaded.policy.resources.budget == 700
    assert loaded.overrides == ("resources.budget: 1000 -> 800", "resources.budget: 800 -> 700")


def test_set_on_the_command_line_beats_base(base):
    assert load_policy(base, ["resources.budget=600"]).policy.resources.budget == 600


def test_scenario_on_a_scenario_applies_after_it(base):
    first = scenario(base, "scenario: first\nset:\n  resources.budget: 800\n  value.horizon_years: 2\n", "a.yaml")
    second = base.parent / "b.yaml"
    second.write_text(f"base: {first.name}\nscenario: second\nset:\n  resources.budget: 500\n", encoding="utf-8")
    loaded = load_policy(second)
    assert loaded.policy.resources.budget == 500
    assert loaded.policy.value.horizon_years == 2
    assert loaded.scenario.name == "second" and loaded.scenario.base == base
    assert loaded.base_dir == base.parent.resolve()


# --------------------------------------------------------------------------- merging


def test_nested_and_dotted_keys_are_deep_merged(base):
    loaded = load_policy(scenario(base, "set:\n  resources:\n    kam_pools:\n      all: {fte: 3}\n"
                                        "  tiers.gold.kam_hours: 120\n"))
    pool = loaded.policy.resources.kam_pools["all"]
    assert pool.fte == 3 and pool.hours_per_fte == 200 and pool.span_of_control == 5  # the rest stays
    assert loaded.policy.tiers["gold"].kam_hours == "120"
    assert loaded.policy.tiers["gold"].uplift == "revenue * 0.1"


def test_an_id_with_dots_is_reached_by_a_quoted_step(base):
    first = scenario(base, "add:\n  resources.sponsors:\n    Dr. Bo: {slots: 1}\n    Dr. Cy: {slots: 1}\n")
    body = "set:\n  resources.sponsors.\"Dr. Bo\".slots: 3\nremove:\n  - resources.sponsors.'Dr. Cy'\n"
    loaded = load_policy(scenario(first, body, name="s2.yaml"))
    sponsors = loaded.policy.resources.sponsors
    assert sponsors["Dr. Bo"].slots == 3 and "Dr. Cy" not in sponsors
    assert 'resources.sponsors."Dr. Bo".slots: 1 -> 3' in loaded.overrides


def test_a_list_is_replaced_whole_by_set_and_extended_by_add(base):
    replaced = load_policy(scenario(base, "set:\n  portfolio.must_include: [A2]\n"))
    assert replaced.policy.portfolio.must_include == ["A2"]
    added = load_policy(scenario(base, "add:\n  portfolio.must_exclude: [A3]\n  portfolio.must_include: [A4]\n"))
    assert added.policy.portfolio.must_include == ["A1", "A2", "A4"]
    assert added.policy.portfolio.must_exclude == ["A3"]


def test_add_new_ids_and_remove_old_ones(base):
    loaded = load_policy(scenario(base, "add:\n  resources.sponsors:\n    Bo: {title: CFO, slots: 1}\n"
                                        "remove:\n  - resources.sponsors.Ana\n  - resources.budget\n"))
    assert list(loaded.policy.resources.sponsors) == ["Bo"]
    assert loaded.policy.resources.budget is None  # removed key: back to its default
    assert "resources.sponsors.Bo: (unset) -> {\"title\": \"CFO\", \"slots\": 1}" in loaded.overrides
    assert "resources.sponsors.Ana: {\"slots\": 2} -> (removed)" in loaded.overrides


def test_remove_list_items_by_base_index(base):
    loaded = load_policy(scenario(base, "remove:\n  - portfolio.must_include.0\n  - portfolio.must_include.1\n"))
    assert loaded.policy.portfolio.must_include == []


def test_scale_numbers_and_expressions(base):
    loaded = load_policy(scenario(base, "scale:\n  resources.budget: 0.8\n  tiers.gold.uplift: 1.5\n"
                                        "  resources.sponsors.Ana.slots: 2\n"))
    assert loaded.policy.resources.budget == 800
    assert loaded.policy.tiers["gold"].uplift == "(revenue * 0.1) * 1.5"
    assert loaded.policy.resources.sponsors["Ana"].slots == 4 and isinstance(
        loaded.policy.resources.sponsors["Ana"].slots, int)


def test_fingerprint_tells_scenarios_apart_and_is_stable(base):
    s = scenario(base, "set:\n  resources.budget: 800\n")
    assert load_policy(s).sha256 == load_policy(s).sha256
    assert load_policy(s).sha256 != load_policy(base).sha256


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "body, pattern, line",
    [
        ("set:\n  resources.budget: 1\n  resources:\n    budget: 2\n", r"resources\.budget is changed twice", 5),
        ("set:\n  resources.sponsors.Ana.slots: 1\nremove:\n  - resources.sponsors.Ana\n",
         r"changed both as resources\.sponsors\.Ana and inside it", 3),
        ("set:\n  resources.budgt: 1\n", r"unknown key 'budgt'.*did you mean 'budget'", 3),
        ("set:\n  resources.sponsors.Anna.slots: 1\n", r"no 'Anna' under resources\.sponsors.*did you mean 'Ana'", 3),
        ("set:\n  resources.sponsors.Bo: {slots: 1}\n", r"no 'Bo' under resources\.sponsors.*'add:'", 3),
        ("add:\n  resources.sponsors:\n    Ana: {slots: 1}\n", r"'Ana' already exists under resources\.sponsors", 4),
        ("remove:\n  - resources.sponsors.Bo\n", r"no 'Bo' under resources\.sponsors to remove", 3),
        ("scale:\n  resources.budget: lots\n", r"a scale factor must be a number", 3),
        ("scale:\n  solver.threads: 2\n", r"solver\.threads is not set in the policy", 3),
        ("sett:\n  resources.budget: 1\n", r"unknown key 'sett' in a scenario file.*did you mean 'set'", 2),
        ("set:\n  resources.sponsors.Ana.slots: -1\n", r"out of range", 3),
    ],
)
def test_scenario_errors_name_the_scenario_file_and_line(base, body, pattern, line):
    path = scenario(base, body)
    d = errors_of(path)[0]
    assert re.search(pattern, str(d), re.S), str(d)
    assert d.file == str(path)
    assert d.line == line, str(d)


def test_missing_base_is_located(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("scenario: x\nbase: nowhere.yaml\n", encoding="utf-8")
    d = errors_of(path)[0]
    assert "the base policy does not exist" in d.message and d.line == 2 and d.file == str(path)


def test_scenario_pointing_at_itself_or_in_a_loop(tmp_path):
    me = tmp_path / "me.yaml"
    me.write_text("base: me.yaml\n", encoding="utf-8")
    assert "leads back to itself (me.yaml -> me.yaml)" in errors_of(me)[0].message
    (tmp_path / "a.yaml").write_text("base: b.yaml\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n", encoding="utf-8")
    assert "(a.yaml -> b.yaml -> a.yaml)" in errors_of(tmp_path / "a.yaml")[0].message


# --------------------------------------------------------------------------- data adjustments


def test_adjust_scales_a_field_where_a_condition_holds(base):
    path = scenario(base, "adjust:\n  - {field: revenue, where: \"fit >= 7\", scale: 2, reason: new product}\n"
                          "  - {field: revenue, where: \"revenue > 3000\", add: 1}\n")
    loaded = load_policy(path)
    data = load_data(loaded)
    plain = load_data(load_policy(base)).accounts.array("revenue")
    got = data.accounts.array("revenue")
    fit = data.accounts.array("fit")
    expected = np.where(fit >= 7, plain * 2, plain)
    expected = np.where(expected > 3000, expected + 1, expected)  # the second sees the first
    assert np.array_equal(got, expected)
    assert data.adjustments[0] == "data.adjust[0]: revenue x 2 where fit >= 7 (2 accounts): new product"
    assert data.adjustments[1].endswith("(1 account)")
    screened = api.screen(loaded)
    assert screened.value[0, 0] > api.screen(load_policy(base)).value[0, 0]  # A1 is worth more now


def test_adjust_sets_a_text_field(base):
    data = load_data(load_policy(scenario(base, "adjust:\n  - {field: is_competitor, where: \"id == 'A3'\", "
                                                "set: 'no'}\n")))
    assert list(data.accounts.array("is_competitor")) == ["no", "no", "no", "yes"]


@pytest.mark.parametrize(
    "change, pattern",
    [
        ("{field: revenu, scale: 2}", r"no field 'revenu'.*did you mean 'revenue'"),
        ("{field: is_competitor, scale: 2}", r"text field: it can be set"),
        ("{field: revenue, set: lots}", r"'revenue' is a number field"),
        ("{field: revenue, where: \"revenue > 'x'\", scale: 2}", r"revenue > 'x'"),
        ("{field: revenue, scale: 2, add: 1}", r"exactly one of scale, add, set"),
    ],
)
def test_bad_adjustments_are_located_in_the_scenario(base, change, pattern):
    path = scenario(base, f"adjust:\n  - {change}\n")
    with pytest.raises(PolicyError) as info:
        load_data(load_policy(path))
    d = info.value.diagnostics[0]
    assert re.search(pattern, str(d), re.S), str(d)
    assert d.file == str(path) and d.line is not None


# --------------------------------------------------------------------------- the shipped scenarios


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_scenarios_load_and_change_something(path):
    loaded = load_policy(path)
    base = load_policy(loaded.scenario.base)
    assert loaded.scenario.base.resolve() == (ROOT / "policies" / "default.yaml").resolve()
    assert loaded.policy != base.policy
    assert loaded.scenario.description


def test_at_least_five_example_scenarios_ship():
    names = {p.stem for p in (ROOT / "scenarios").glob("*.yaml")}
    assert {"hiring-freeze", "more-sponsors", "public-sector-push", "budget-cut", "strict-solvency"} <= names
