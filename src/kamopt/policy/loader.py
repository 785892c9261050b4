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
from pydantic import BaseModel, ValidationError

from kamopt.errors import Diagnostic, PolicyError, did_you_mean, one_of, short
from kamopt.policy.schema import Policy, reference_problems

MAX_POLICY_BYTES = 5_000_000
"""Largest policy file read (policies are hand-written; a bigger file is a mistake)."""
MAX_NODES = 100_000
"""Most YAML values after alias expansion."""

Path_ = tuple[str | int, ...]
Position = tuple[str, int | None, int | None]  # (file or '--set ...', line, column), 1-based

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
    """Applied overrides, as ``path: old -> new``."""

    def where(self, path: Path_) -> Position:
        """Best known position of a key path (its longest known prefix)."""
        return _lookup(self.positions, path, str(self.path))

    def error(self, path: Path_, message: str, **details: Any) -> Diagnostic:
        """A diagnostic located at a key path of this policy."""
        file, line, column = self.where(path)
        return Diagnostic(
            message, file=file, line=line, column=column, field=_dotted(path), **details
        )

    def resolve(self, relative: str) -> Path:
        """A data path from the policy, resolved against the policy's folder."""
        p = Path(relative)
        return p if p.is_absolute() else self.base_dir / p


def load_policy(path: str | Path, overrides: Sequence[str] = ()) -> LoadedPolicy:
    """Read, parse and validate a policy file.

    ``overrides`` are ``key.path=value`` strings (values parsed as YAML scalars or flow
    collections, e.g. ``solver.time_limit=10`` or ``portfolio.must_include=[A-1, A-2]``).
    Raises :class:`PolicyError` listing every problem found, each located.
    """
    path = Path(path)
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
    applied = []
    for spec in overrides:
        applied.append(apply_override(data, positions, spec))
    policy = validate(data, positions, str(path))
    digest = hashlib.sha256(text.encode("utf-8"))
    for spec in overrides:
        digest.update(b"\0" + spec.encode("utf-8"))
    return LoadedPolicy(
        policy=policy,
        path=path,
        base_dir=path.resolve().parent,
        sha256=digest.hexdigest(),
        positions=positions,
        overrides=tuple(applied),
    )


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


def parse_yaml(text: str, file: str) -> tuple[Any, dict[Path_, Position]]:
    """Safe YAML -> plain data plus the position of every key and value."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
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
                    field=_dotted(path + (key,)),
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
    origin = f"--set {spec}"
    if "=" not in spec:
        raise PolicyError(
            Diagnostic("an override must look like key.path=value", file=origin, found=short(spec))
        )
    key, _, raw = spec.partition("=")
    parts = [p for p in key.strip().split(".")]
    if not key.strip() or any(not p for p in parts):
        raise PolicyError(Diagnostic("empty key in override", file=origin, found=short(key)))
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as err:
        raise PolicyError(Diagnostic(f"invalid value: {err}", file=origin)) from None
    path: list[str | int] = []
    node: Any = data
    model: Any = Policy
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        step: str | int = part
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise PolicyError(
                    Diagnostic(
                        f"no item {part} in {_dotted(tuple(path)) or 'the policy'}",
                        file=origin, expected=f"an index below {len(node)}",
                    )
                )
            step = int(part)
        elif isinstance(node, dict):
            if isinstance(model, type) and part not in model.model_fields:
                raise PolicyError(
                    Diagnostic(
                        f"unknown key '{part}' under {_dotted(tuple(path)) or 'the policy'}",
                        file=origin, hint=did_you_mean(part, model.model_fields),
                        expected=one_of(model.model_fields),
                    )
                )
            if isinstance(model, _Keyed) and part not in node:
                raise PolicyError(
                    Diagnostic(
                        f"no '{part}' under {_dotted(tuple(path))}",
                        file=origin, hint=did_you_mean(part, node), expected=one_of(node),
                    )
                )
        else:
            raise PolicyError(
                Diagnostic(f"{_dotted(tuple(path))} is a single value, it has no '{part}'", file=origin)
            )
        path.append(step)
        if last:
            old = node[step] if (isinstance(node, list) or step in node) else None
            node[step] = value
            _forget(positions, tuple(path))
            positions[tuple(path)] = (origin, None, None)
            return f"{_dotted(tuple(path))}: {_show(old)} -> {_show(value)}"
        if isinstance(node, dict) and step not in node:
            node[step] = {}
        node = node[step]
        model = _child_model(model, step)
    raise AssertionError("unreachable")


def _forget(positions: dict[Path_, Position], prefix: Path_) -> None:
    for p in [p for p in positions if p[: len(prefix)] == prefix]:
        del positions[p]


class _Keyed:
    """A dict of models keyed by id (``tiers``) or a list of models: the next path step is
    a key or index, after which ``model`` applies."""

    def __init__(self, model: type[BaseModel]):
        self.model = model


def _child_model(model: Any, step: str | int) -> Any:
    """What the schema expects one step down a key path: a model, a _Keyed, or None (free)."""
    if model is None:
        return None
    if isinstance(model, _Keyed):
        return model.model
    info = model.model_fields.get(step) if isinstance(step, str) else None
    return _model_of(info.annotation) if info is not None else None


def _model_of(annotation: Any) -> Any:
    """The model inside an annotation: ``X``, ``X | None``, ``dict[str, X]``, ``list[X]``."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return _Keyed(found) if typing.get_origin(annotation) in (dict, list) else found
    return None


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
                    line=pos[1], column=pos[2], field=_dotted(path),
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
            d = Diagnostic(message, file=pos[0], line=pos[1], column=pos[2], field=_dotted(path))
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
            Diagnostic(message, file=pos[0], line=pos[1], column=pos[2], field=_dotted(path), **details)
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
        model = _child_model(model, step)
        if model is None:
            return []
    return list(model.model_fields) if isinstance(model, type) else []


def _lookup(positions: dict[Path_, Position], path: Path_, file: str) -> Position:
    for n in range(len(path), -1, -1):
        if path[:n] in positions:
            return positions[path[:n]]
    return (file, None, None)


def _dotted(path: Path_) -> str:
    return ".".join(str(p) for p in path)


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


def _show(value: Any) -> str:
    return "(unset)" if value is None else short(value) if isinstance(value, str) else repr(value)
