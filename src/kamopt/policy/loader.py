"""Loading a policy file: safe YAML with positions, then the strict schema.

YAML is composed into nodes (never constructed into Python objects by tag), so nothing in
a policy file can run code: tags other than YAML's plain scalar, list and mapping types
are refused. Aliases are allowed but their expansion is bounded (a "billion laughs" file
is refused quickly). Duplicate keys are errors. Every value keeps its line and column, so
schema errors point at ``file:line:column`` and the key path.

Command-line overrides (``--set key.path=value``) are applied to the parsed data before
validation; errors in them name the ``--set`` they came from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml
from pydantic import ValidationError

from kamopt.errors import Diagnostic, PolicyError, did_you_mean, one_of, short
from kamopt.policy.paths import Path_, Position, child_model, dotted, set_value, split_key
from kamopt.policy.scenario import ScenarioInfo, base_path, is_scenario, overlay
from kamopt.policy.schema import Policy, reference_problems

MAX_POLICY_BYTES = 5_000_000
"""Largest policy file read (policies are hand-written; a bigger file is a mistake)."""
MAX_NODES = 100_000
"""Most YAML values after alias expansion."""

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_MERGE = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class LoadedPolicy:
    """A validated policy with where it came from."""

    policy: Policy
    path: Path
    """The policy file as given."""
    base_dir: Path
    """Folder that relative data paths are resolved against (the policy file's real folder)."""
    sha256: str
    """Fingerprint of the policy text and every applied override."""
    positions: dict[Path_, Position] = field(default_factory=dict, repr=False)
    overrides: tuple[str, ...] = ()
    """Applied changes, as ``path: old -> new``: a scenario's first, then ``--set``'s."""
    scenario: ScenarioInfo | None = None
    """Set when the file loaded is a scenario laid over a base policy."""

    @property
    def name(self) -> str:
        """The scenario's name, or the policy's."""
        return self.scenario.name if self.scenario else self.policy.name

    def where(self, path: Path_) -> Position:
        """Best known position of a key path (its longest known prefix)."""
        return _lookup(self.positions, path, str(self.path))

    def error(self, path: Path_, message: str, **details: Any) -> Diagnostic:
        """A diagnostic located at a key path of this policy."""
        file, line, column = self.where(path)
        return Diagnostic(
            message, file=file, line=line, column=column, field=dotted(path), **details
        )

    def resolve(self, relative: str) -> Path:
        """A data path from the policy, resolved against the policy's folder."""
        p = Path(relative)
        return p if p.is_absolute() else self.base_dir / p


def load_policy(path: str | Path, overrides: Sequence[str] = ()) -> LoadedPolicy:
    """Read, parse and validate a policy file, or a scenario file laid over its base.

    ``overrides`` are ``key.path=value`` strings (values parsed as YAML scalars or flow
    collections, e.g. ``solver.time_limit=10`` or ``portfolio.must_include=[A-1, A-2]``);
    they apply last: base policy < scenario < overrides.
    Raises :class:`PolicyError` listing every problem found, each located.
    """
    path = Path(path)
    layers = _load_layers(path, ())
    data, positions = layers.data, layers.positions
    applied = list(layers.changes)
    for spec in overrides:
        applied.append(apply_override(data, positions, spec))
    policy = validate(data, positions, str(layers.root))
    digest = hashlib.sha256(layers.texts[0].encode("utf-8"))
    for text in layers.texts[1:]:
        digest.update(b"\0scenario\0" + text.encode("utf-8"))
    for spec in overrides:
        digest.update(b"\0" + spec.encode("utf-8"))
    return LoadedPolicy(
        policy=policy,
        path=path,
        base_dir=layers.root.resolve().parent,
        sha256=digest.hexdigest(),
        positions=positions,
        overrides=tuple(applied),
        scenario=layers.scenario,
    )


@dataclass
class _Layers:
    """A policy file and the scenarios laid over it, merged into plain data."""

    data: dict
    positions: dict[Path_, Position]
    texts: list[str]
    """Every file's text, the root policy first."""
    changes: list[str]
    scenario: ScenarioInfo | None
    root: Path
    """The plain policy file at the bottom of the chain."""


def _load_layers(path: Path, chain: tuple[Path, ...]) -> _Layers:
    text = _read(path)
    data, positions = parse_yaml(text, str(path))
    if not isinstance(data, dict):
        raise PolicyError(
            Diagnostic(
                "a policy must be a mapping of keys (data, criteria, tiers, ...)",
                file=str(path), line=1, column=1,
                expected="a mapping", found=_kind(data),
            )
        )
    if not is_scenario(data):
        return _Layers(data, positions, [text], [], None, path)
    base = base_path(data, positions, path)
    chain = chain + (path.resolve(),)
    if base.resolve() in chain:
        loop = " -> ".join(str(p.name) for p in chain + (base.resolve(),))
        file, line, column = positions.get(("base",), (str(path), None, None))
        raise PolicyError(Diagnostic(f"the scenario's base leads back to itself ({loop})",
                                     file=file, line=line, column=column, field="base"))
    below = _load_layers(base, chain)
    changes = overlay(below.data, below.positions, data, positions, str(path))
    info = ScenarioInfo(
        name=str(data.get("scenario") or path.stem), description=str(data.get("description") or ""),
        path=path, base=below.root,
    )
    return _Layers(below.data, below.positions, below.texts + [text], below.changes + changes, info, below.root)


# --------------------------------------------------------------------------- reading


def _read(path: Path) -> str:
    where = {"file": str(path)}
    if not path.exists():
        raise PolicyError(Diagnostic("the policy file does not exist", **where))
    if path.is_dir():
        raise PolicyError(Diagnostic("is a folder, not a policy file", **where))
    try:
        size = path.stat().st_size
        if size > MAX_POLICY_BYTES:
            raise PolicyError(
                Diagnostic(
                    "the policy file is too large",
                    expected=f"at most {MAX_POLICY_BYTES:,} bytes", found=f"{size:,} bytes",
                    **where,
                )
            )
        raw = path.read_bytes()
    except OSError as err:
        raise PolicyError(Diagnostic(f"cannot read the file: {err.strerror}", **where)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise PolicyError(
            Diagnostic(
                "the policy file is not UTF-8 text", line=line,
                found=f"byte 0x{raw[err.start]:02x}", **where,
            )
        ) from None
    if not text.strip():
        raise PolicyError(Diagnostic("the policy file is empty", **where))
    return text


# libyaml's composer, where PyYAML was built with it (its wheels are), gives the same safe
# node graph with the same marks about 20 x faster than the pure-Python one. It recurses
# on the C stack, though, and crashes the process somewhere past 20,000 nested levels,
# so it only reads texts that cannot nest that deep: every level needs one of these
# indicator characters. Its error messages are terser, so a text it refuses is read
# again by the pure-Python composer, whose message (and line) the user gets.
_FAST_COMPOSER = getattr(yaml, "CSafeLoader", None)
_FAST_MAX_INDICATORS = 5_000


def _compose(text: str) -> Any:
    if _FAST_COMPOSER is not None and sum(text.count(c) for c in "-:?[{") <= _FAST_MAX_INDICATORS:
        try:
            return yaml.compose(text, Loader=_FAST_COMPOSER)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


def parse_yaml(text: str, file: str) -> tuple[Any, dict[Path_, Position]]:
    """Safe YAML -> plain data plus the position of every key and value."""
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        message = (err.problem or err.context or "invalid YAML").strip()
        if "\t" in text and "tab" in message.lower() or "found character '\\t'" in message:
            message += " (YAML does not allow tabs for indentation; use spaces)"
        raise PolicyError(
            Diagnostic(
                f"invalid YAML: {message}",
                file=file,
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
            )
        ) from None
    except yaml.YAMLError as err:  # e.g. a reader error on control characters
        raise PolicyError(Diagnostic(f"invalid YAML: {err}", file=file)) from None
    except RecursionError:
        raise PolicyError(Diagnostic("invalid YAML: nested too deeply", file=file)) from None
    if node is None:
        raise PolicyError(Diagnostic("the policy file is empty", file=file))
    positions: dict[Path_, Position] = {}
    budget = [MAX_NODES]
    try:
        data = _convert(node, (), positions, file, budget, depth=0)
    except RecursionError:
        raise PolicyError(Diagnostic("invalid YAML: nested too deeply", file=file)) from None
    return data, positions


def _convert(node, path: Path_, positions, file: str, budget: list[int], depth: int) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise PolicyError(
            Diagnostic(
                "the policy expands to too many values (YAML aliases?)",
                file=file, line=node.start_mark.line + 1, column=node.start_mark.column + 1,
                expected=f"at most {MAX_NODES:,} values",
            )
        )
    if depth > 60:
        raise PolicyError(
            Diagnostic("nested too deeply", file=file, line=node.start_mark.line + 1)
        )
    positions.setdefault(path, (file, node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        _check_tag(node, "tag:yaml.org,2002:map", file)
        out: dict[str, Any] = {}
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged = _convert(value_node, path, positions, file, budget, depth + 1)
                for item in merged if isinstance(merged, list) else [merged]:
                    if not isinstance(item, dict):
                        raise _node_error(value_node, file, "a merge key '<<' needs a mapping")
                    for k, v in item.items():
                        out.setdefault(k, v)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise _node_error(key_node, file, "keys must be plain text", found=_kind_node(key_node))
            _check_tag(key_node, None, file)
            key = key_node.value
            if key in key_lines:
                raise _node_error(
                    key_node, file,
                    f"duplicate key '{key}' (first at line {key_lines[key]})",
                    field=dotted(path + (key,)),
                )
            key_lines[key] = key_node.start_mark.line + 1
            child = path + (key,)
            positions[child] = (file, key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _convert(value_node, child, positions, file, budget, depth + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        _check_tag(node, "tag:yaml.org,2002:seq", file)
        return [
            _convert(item, path + (i,), positions, file, budget, depth + 1)
            for i, item in enumerate(node.value)
        ]
    _check_tag(node, None, file)
    constructor = yaml.SafeLoader.yaml_constructors.get(node.tag)
    if constructor is None:  # a resolved plain tag always has one; be strict anyway
        return node.value
    loader = yaml.SafeLoader("")
    try:
        value = constructor(loader, node)
    except (yaml.YAMLError, ValueError, OverflowError) as err:
        raise _node_error(node, file, f"invalid value: {err}") from None
    return value


def _check_tag(node, expected: str | None, file: str) -> None:
    tag = node.tag
    if expected is not None and tag == expected:
        return
    if expected is None and tag in _PLAIN_TAGS:
        return
    raise _node_error(
        node, file,
        f"YAML tag '{tag}' is not allowed: policies hold plain values only "
        "(kamopt never builds objects from policy files)",
    )


def _node_error(node, file: str, message: str, **details: Any) -> PolicyError:
    return PolicyError(
        Diagnostic(
            message, file=file,
            line=node.start_mark.line + 1, column=node.start_mark.column + 1, **details,
        )
    )


# --------------------------------------------------------------------------- overrides


def apply_override(data: dict, positions: dict[Path_, Position], spec: str) -> str:
    """Apply one ``key.path=value`` override in place; returns ``path: old -> new``."""
    origin: Position = (f"--set {spec}", None, None)
    if "=" not in spec:
        raise PolicyError(
            Diagnostic("an override must look like key.path=value", file=origin[0], found=short(spec))
        )
    key, _, raw = spec.partition("=")
    if not key.strip():
        raise PolicyError(Diagnostic("empty key in override", file=origin[0], found=short(key)))
    try:
        parts = split_key(key)
    except ValueError as err:
        raise PolicyError(Diagnostic(str(err), file=origin[0], found=short(key),
                                     hint='quote a step that holds a dot: sponsors."Dr. Ana Ruiz".slots')) from None
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as err:
        raise PolicyError(Diagnostic(f"invalid value: {err}", file=origin[0])) from None
    return set_value(data, positions, parts, value, origin)


# --------------------------------------------------------------------------- validation


def validate(data: dict, positions: dict[Path_, Position], file: str) -> Policy:
    """Validate plain data against the schema; every problem located, all reported at once."""
    try:
        policy = Policy.model_validate(data, context={"defer_references": True})
    except ValidationError as err:
        raise PolicyError(_diagnostics(err, data, positions, file)) from None
    problems = reference_problems(policy)
    if problems:
        raise PolicyError(
            [
                Diagnostic(
                    message, file=(pos := _lookup(positions, path, file))[0],
                    line=pos[1], column=pos[2], field=dotted(path),
                )
                for path, message in problems
            ]
        )
    return policy


def _diagnostics(err: ValidationError, data: Any, positions, file: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    seen: set[tuple[Path_, str]] = set()
    for e in err.errors(include_url=False):
        path = _data_path(e["loc"], data)
        kind = e["type"]
        message = e["msg"]
        details: dict[str, Any] = {}
        if kind == "extra_forbidden":
            key = path[-1]
            allowed = _allowed_keys(path[:-1])
            message = f"unknown key '{key}'"
            details["hint"] = did_you_mean(str(key), allowed) if allowed else None
            details["expected"] = one_of(allowed) if allowed else None
        elif kind == "missing":
            message = f"required key '{path[-1]}' is missing"
            path_for_pos = path[:-1]
            pos = _lookup(positions, path_for_pos, file)
            d = Diagnostic(message, file=pos[0], line=pos[1], column=pos[2], field=dotted(path))
            if (path, message) not in seen:
                seen.add((path, message))
                out.append(d)
            continue
        else:
            if message.startswith("Value error, "):
                message = message[len("Value error, "):]
            elif message.startswith("Input should be "):
                details["expected"] = message[len("Input should be "):]
                message = _WORDING.get(kind, "not a valid value")
                if kind.endswith(("_type", "_parsing")):
                    message = "wrong type"
                if kind == "literal_error" and isinstance(e.get("input"), str):
                    choices = (e.get("ctx") or {}).get("expected", "")
                    names = [c.strip(" '") for c in choices.replace(" or ", ",").split(",")]
                    details["hint"] = did_you_mean(e["input"], [n for n in names if n])
            if "input" in e and "found" not in message and not isinstance(e["input"], (dict, list)):
                details["found"] = _found(e["input"])
        if (path, message) in seen:
            continue
        seen.add((path, message))
        pos = _lookup(positions, path, file)
        out.append(
            Diagnostic(message, file=pos[0], line=pos[1], column=pos[2], field=dotted(path), **details)
        )
    return out


_WORDING = {
    "greater_than_equal": "out of range",
    "greater_than": "out of range",
    "less_than_equal": "out of range",
    "less_than": "out of range",
    "literal_error": "not one of the allowed values",
    "finite_number": "must be a finite number",
}


def _data_path(loc: Iterable[Any], data: Any) -> Path_:
    """Pydantic's error location without its internal tags, as a path into the data."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and not _is_tag(part):
            path.append(part)  # a missing key, or a key inside a model
            node = None
        # else: a union/validator tag such as 'function-after[...]': skip
    return tuple(path)


def _is_tag(part: str) -> bool:
    return "[" in part or part in ("float", "str", "int", "bool")


def _allowed_keys(path: Path_) -> list[str]:
    model: Any = Policy
    for step in path:
        model = child_model(model, step)
        if model is None:
            return []
    return list(model.model_fields) if isinstance(model, type) else []


def _lookup(positions: dict[Path_, Position], path: Path_, file: str) -> Position:
    for n in range(len(path), -1, -1):
        if path[:n] in positions:
            return positions[path[:n]]
    return (file, None, None)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"text {short(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _kind_node(node) -> str:
    return "a mapping" if isinstance(node, yaml.MappingNode) else "a list"


def _found(value: Any) -> str:
    return _kind(value)

