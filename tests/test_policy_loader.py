"""The policy loader: safe YAML, located errors, overrides, and the schema's cross-field rules."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from kamopt.errors import KamoptError, PolicyError
from kamopt.policy.loader import load_policy, parse_yaml

MINIMAL = """\
name: tiny
data:
  accounts: accounts.csv
criteria:
  fit: {weight: 1.0, column: product_fit}
tiers:
  gold:
    kam_hours: 100
    uplift: revenue * 0.1
resources:
  kam_pools:
    all: {fte: 2}
"""


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(path: Path, overrides=()) -> list:
    with pytest.raises(PolicyError) as info:
        load_policy(path, overrides)
    return info.value.diagnostics


def test_minimal_policy_loads_with_defaults(tmp_path):
    loaded = load_policy(write(tmp_path, MINIMAL))
    p = loaded.policy
    assert p.name == "tiny"
    assert p.solver.name == "highs" and p.solver.gap == 0.0001
    assert p.value.horizon_years == 3
    assert p.portfolio.incumbents.demotion == "forbid"
    assert loaded.base_dir == tmp_path.resolve()
    assert loaded.resolve("accounts.csv") == tmp_path.resolve() / "accounts.csv"
    assert len(loaded.sha256) == 64


def test_reference_policy_loads():
    root = Path(__file__).resolve().parents[1]
    loaded = load_policy(root / "policies" / "default.yaml")
    assert list(loaded.policy.tiers) == ["gold", "silver", "bronze"]
    assert loaded.policy.tiers["gold"].sponsor is True


# Each case: a replacement of MINIMAL's text, the expected line/column (1-based), the key
# path, and a regex the message must match.
CASES = [
    pytest.param(
        MINIMAL.replace("criteria:", "criterias:\n  x: {weight: 1, column: a}\ncriteria:"),
        (4, 1), "criterias", r"unknown key 'criterias'.*did you mean 'criteria'", id="unknown-top-key",
    ),
    pytest.param(
        MINIMAL.replace("kam_hours: 100", "kam_hour: 100"),
        (8, 5), "tiers.gold.kam_hour", r"unknown key 'kam_hour'.*did you mean 'kam_hours'",
        id="unknown-nested-key",
    ),
    pytest.param(
        MINIMAL.replace("kam_hours: 100", "kam_hours: [1, 2]"),
        (8, 5), "tiers.gold.kam_hours", r"number or an expression, found a list", id="wrong-type",
    ),
    pytest.param(
        MINIMAL.replace("uplift: revenue * 0.1", "uplift: revenue * (0.1"),
        (9, 5), "tiers.gold.uplift", r"invalid expression.*never closed", id="expression-syntax",
    ),
    pytest.param(
        MINIMAL.replace("{fte: 2}", "{fte: -2}"),
        (12, 11), "resources.kam_pools.all.fte", r"out of range.*greater than or equal to 0",
        id="negative-capacity",
    ),
    pytest.param(
        MINIMAL.replace("{fte: 2}", "{fte: .nan}"),
        (12, 11), "resources.kam_pools.all.fte", r"finite", id="nan-capacity",
    ),
    pytest.param(
        MINIMAL.replace("{fte: 2}", "{fte: .inf}"),
        (12, 11), "resources.kam_pools.all.fte", r"finite", id="inf-capacity",
    ),
    pytest.param(
        MINIMAL.replace("weight: 1.0", "weight: 0.7"),
        (4, 1), "criteria", r"weights must sum to 1, found 0.7", id="weights-sum",
    ),
    pytest.param(
        MINIMAL.replace("  accounts: accounts.csv\n", "  delimiter: auto\n"),
        (2, 1), "data.accounts", r"required key 'accounts' is missing", id="missing-required",
    ),
    pytest.param(
        MINIMAL + "solver: {name: hihgs}\n",
        (13, 10), "solver.name", r"not one of the allowed values.*did you mean 'highs'",
        id="bad-literal",
    ),
    pytest.param(
        MINIMAL + "portfolio:\n  tiers:\n    platinum: {max: 3}\n",
        (15, 5), "portfolio.tiers.platinum", r"unknown tier 'platinum'.*'gold'", id="undefined-id",
    ),
    pytest.param(
        MINIMAL.replace("    kam_hours: 100\n", "    kam_hours: 100\n    support_hours: {tech: 5}\n"),
        (9, 21), "tiers.gold.support_hours.tech", r"unknown support function 'tech'",
        id="undefined-support",
    ),
    pytest.param(
        MINIMAL.replace("  gold:\n", "  gold:\n    sponsor: true\n"),
        (8, 5), "tiers.gold.sponsor", r"resources.sponsors is empty", id="sponsor-without-sponsors",
    ),
    pytest.param(
        MINIMAL.replace("{fte: 2}", "{}"),
        (12, 5), "resources.kam_pools.all.fte", r"required when there is no named KAM table",
        id="pool-without-fte",
    ),
    pytest.param(
        MINIMAL + "portfolio:\n  key_accounts: {min: 9, max: 3}\n",
        (14, 3), "portfolio.key_accounts", r"min \(9\) is above max \(3\)", id="min-above-max",
    ),
    pytest.param(
        MINIMAL + "portfolio:\n  must_include: [A-1]\n  must_exclude: [A-1]\n",
        (13, 1), "portfolio", r"both forced in and out: A-1", id="forced-in-and-out",
    ),
    pytest.param(
        MINIMAL + "portfolio:\n  overrides:\n    - {account: A-1, action: include}\n",
        (15, 7), "portfolio.overrides.0.reason", r"required key 'reason' is missing",
        id="override-without-reason",
    ),
    pytest.param(
        MINIMAL.replace("fit: {weight: 1.0, column: product_fit}",
                        "fit: {weight: 1.0, source: revenue, thresholds: [5, 1], scores: [1, 2, 3]}"),
        (5, 3), "criteria.fit", r"strictly increasing", id="bands-not-increasing",
    ),
    pytest.param(
        MINIMAL.replace("  gold:\n", "  bad[id]:\n"),
        (7, 3), "tiers.bad[id]", r"must not contain '\['", id="bad-identifier",
    ),
]


@pytest.mark.parametrize("text, where, field, pattern", CASES)
def test_bad_policy_is_located(tmp_path, text, where, field, pattern):
    path = write(tmp_path, text)
    diagnostics = errors_of(path)
    matching = [d for d in diagnostics if d.field == field]
    assert matching, f"no diagnostic for {field}: {[str(d) for d in diagnostics]}"
    d = matching[0]
    assert d.file == str(path)
    assert (d.line, d.column) == where, str(d)
    import re

    assert re.search(pattern, str(d)), str(d)


def test_every_error_is_reported_at_once(tmp_path):
    text = MINIMAL.replace("kam_hours: 100", "kam_hours: [1]").replace("{fte: 2}", "{fte: -1}")
    text += "solver: {name: nope}\n"
    fields = {d.field for d in errors_of(write(tmp_path, text))}
    assert {"tiers.gold.kam_hours", "resources.kam_pools.all.fte", "solver.name"} <= fields


@pytest.mark.parametrize(
    "text, pattern, line",
    [
        ("a: 1\n\tb: 2\n", r"invalid YAML.*tab", 2),
        ("a: [1, 2\n", r"invalid YAML", 2),
        ("a: 1\na: 2\n", r"duplicate key 'a' \(first at line 1\)", 2),
        ("a: !!python/object/apply:os.system ['echo hi']\n", r"tag .*python/object/apply.* not allowed", 1),
        ("a: !custom 3\n", r"tag '!custom' is not allowed", 1),
        ("- 1\n- 2\n", r"must be a mapping", 1),
    ],
    ids=["tab", "unclosed", "duplicate-key", "python-tag", "custom-tag", "not-a-mapping"],
)
def test_unsafe_or_malformed_yaml(tmp_path, text, pattern, line):
    path = write(tmp_path, text)
    d = errors_of(path)[0]
    import re

    assert re.search(pattern, str(d)), str(d)
    assert d.file == str(path)
    assert d.line == line


def test_alias_bomb_is_refused_quickly(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    path = write(tmp_path, "\n".join(lines) + "\n")
    start = time.perf_counter()
    d = errors_of(path)[0]
    elapsed = time.perf_counter() - start
    assert "too many values" in d.message
    assert elapsed < 10  # generous: the point is it does not expand 10**12 nodes


@pytest.mark.parametrize("content, pattern", [("", "empty"), ("   \n\n", "empty"), ("# only a comment\n", "empty")])
def test_empty_policy(tmp_path, content, pattern):
    assert pattern in errors_of(write(tmp_path, content))[0].message


def test_missing_file_and_directory(tmp_path):
    assert "does not exist" in errors_of(tmp_path / "nope.yaml")[0].message
    assert "is a folder" in errors_of(tmp_path)[0].message


def test_oversized_file_is_refused_without_parsing(tmp_path):
    path = tmp_path / "big.yaml"
    with open(path, "w") as fh:
        fh.write("a: '")
        fh.write("x" * 6_000_000)
        fh.write("'\n")
    d = errors_of(path)[0]
    assert "too large" in d.message and "bytes" in d.found


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    d = errors_of(path)[0]
    assert "not UTF-8" in d.message and d.line == 1


def test_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert load_policy(path).policy.name == "tiny"


def test_merge_keys_and_aliases_work(tmp_path):
    text = MINIMAL.replace(
        "tiers:\n  gold:\n    kam_hours: 100\n    uplift: revenue * 0.1\n",
        "tiers:\n  gold: &base\n    kam_hours: 100\n    uplift: revenue * 0.1\n"
        "  silver:\n    <<: *base\n    kam_hours: 50\n",
    )
    p = load_policy(write(tmp_path, text)).policy
    assert p.tiers["silver"].kam_hours == "50"
    assert p.tiers["silver"].uplift == "revenue * 0.1"


# --------------------------------------------------------------------------- overrides


def test_override_sets_value_and_logs_it(tmp_path):
    loaded = load_policy(write(tmp_path, MINIMAL), ["solver.time_limit=5", "tiers.gold.kam_hours=80"])
    assert loaded.policy.solver.time_limit == 5
    assert loaded.policy.tiers["gold"].kam_hours == "80"
    assert loaded.overrides == ("solver.time_limit: (unset) -> 5", "tiers.gold.kam_hours: 100 -> 80")


def test_override_reaches_an_id_with_dots_through_a_quoted_step(tmp_path):
    text = MINIMAL.replace("    all: {fte: 2}\n", "    U.S.: {fte: 2}\n")
    for spec in ['resources.kam_pools."U.S.".fte=3', "resources.kam_pools.'U.S.'.fte=3"]:
        loaded = load_policy(write(tmp_path, text), [spec])
        assert loaded.policy.resources.kam_pools["U.S."].fte == 3
        assert loaded.overrides == ('resources.kam_pools."U.S.".fte: 2 -> 3',)  # logged as it is written
    (d,) = errors_of(write(tmp_path, text), ["resources.kam_pools.U.S..fte=3"])  # unquoted: split at every dot
    assert "empty step" in d.message and 'quote a step that holds a dot' in (d.hint or "")


@pytest.mark.parametrize("key, steps", [
    ("a.b.c", ["a", "b", "c"]),
    (' sponsors . "Dr. Ana Ruiz" .slots ', ["sponsors", "Dr. Ana Ruiz", "slots"]),
    ("sponsors.'Dr. Ana'", ["sponsors", "Dr. Ana"]),
    ('"a.b"', ["a.b"]),
])
def test_split_key(key, steps):
    from kamopt.policy.paths import dotted, split_key

    assert split_key(key) == steps
    assert split_key(dotted(steps)) == steps  # what is shown can be typed back


@pytest.mark.parametrize("key, words", [
    ("a..b", "empty step"), ("a.", "empty step"), (".a", "empty step"), ('a."b', "unclosed quote"),
    ('a."b"c', "must be followed by '.'"), ('a.""', "empty step"),
])
def test_split_key_refuses(key, words):
    from kamopt.policy.paths import split_key

    with pytest.raises(ValueError, match=words):
        split_key(key)


def test_override_changes_fingerprint(tmp_path):
    path = write(tmp_path, MINIMAL)
    assert load_policy(path).sha256 != load_policy(path, ["solver.gap=0.01"]).sha256


@pytest.mark.parametrize(
    "spec, pattern",
    [
        ("solver.tim_limit=5", r"unknown key 'tim_limit'.*did you mean 'time_limit'"),
        ("tiers.platinum.kam_hours=5", r"no 'platinum' under tiers"),
        ("solver.time_limit", r"must look like key.path=value"),
        ("solver.time_limit=-3", r"out of range"),
    ],
)
def test_bad_override(tmp_path, spec, pattern):
    import re

    d = errors_of(write(tmp_path, MINIMAL), [spec])[0]
    assert re.search(pattern, str(d)), str(d)
    assert d.file == f"--set {spec}"


# --------------------------------------------------------------------------- fuzzing

yaml_fragments = st.lists(
    st.sampled_from(
        ["a:", " b", ": ", "- ", "[", "]", "{", "}", "&x ", "*x", "!!python/name:os.system", "\n",
         "  ", "\t", "'", '"', "tiers", "data", "1", "-1", ".nan", "<<: *x", "? ", "|", ">", "#", ","]
    ),
    max_size=40,
).map("".join)


@given(text=st.one_of(st.text(max_size=300), yaml_fragments))
def test_fuzzed_policy_loads_or_gives_located_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_policy(path)
    except KamoptError as err:
        assert err.diagnostics and all(d.file for d in err.diagnostics)


@given(data=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
))
def test_fuzzed_structures_never_crash(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "policy.yaml"
    path.write_text(yaml.safe_dump({"data": {"accounts": "a.csv"}, "tiers": data}), encoding="utf-8")
    with pytest.raises(KamoptError):
        load_policy(path)


def test_positions_cover_nested_keys():
    data, positions = parse_yaml("a:\n  b:\n    - x\n    - y: 1\n", "f.yaml")
    assert data == {"a": {"b": ["x", {"y": 1}]}}
    assert positions[("a", "b", 1, "y")][1:] == (4, 7)


def test_every_policy_field_has_its_docstring():
    """field_docs reads the docstring under each field (the reference and `kamopt schema` use it)."""
    from pydantic import BaseModel

    from kamopt.policy import schema

    def models(base):
        return [base] + [m for sub in base.__subclasses__() for m in models(sub)]

    undocumented = [f"{m.__name__}.{name}" for m in models(schema.Strict) for name in m.model_fields
                    if not schema.field_docs(m).get(name)]
    assert undocumented == []
    assert schema.field_docs(schema.Policy)["portfolio"] == "Portfolio rules."

    class Base(BaseModel):
        a: int = 0
        """First."""
        b: int = 0

    class Child(Base):
        c: int = 0
        """Third,
        on two lines."""
        b: int = 1
        """Second, redocumented."""

    assert schema.field_docs(Child) == {"a": "First.", "b": "Second, redocumented.", "c": "Third,\non two lines."}


def test_json_schema_describes_nested_fields():
    from kamopt.policy.schema import json_schema

    s = json_schema()
    assert s["properties"]["tiers"]["description"]
    assert all(p.get("description") for p in s["$defs"]["Portfolio"]["properties"].values())


@pytest.mark.parametrize("path", sorted(Path(__file__).parents[1].glob("policies/*.yaml"))
                         + sorted(Path(__file__).parents[1].glob("scenarios/*.yaml")), ids=lambda p: p.name)
def test_libyaml_and_python_composers_agree(path, monkeypatch):
    """The fast (libyaml) composer gives the same data and the same positions."""
    from kamopt.policy import loader

    text = path.read_text(encoding="utf-8")
    fast = parse_yaml(text, str(path))
    monkeypatch.setattr(loader, "_FAST_COMPOSER", None)
    assert parse_yaml(text, str(path)) == fast


@pytest.mark.parametrize("text", ["a: " + "[" * 60_000 + "]" * 60_000 + "\n",
                                  "a: " + "{b: " * 60_000 + "1" + "}" * 60_000 + "\n"], ids=["lists", "maps"])
def test_deep_flow_nesting_is_an_error_not_a_crash(tmp_path, text):
    """libyaml recurses on the C stack and would crash the process at this depth."""
    path = tmp_path / "deep.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match="nested too deeply"):
        load_policy(path)
