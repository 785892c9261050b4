"""Changing a parsed policy by key path: what ``--set`` and scenario files do.

A *path* is a sequence of steps into the policy's plain data (``resources``, ``sponsors``,
``Ana Ruiz``, ``slots``). Every step is checked against the schema as it is taken, so a
typo is caught here, with its origin, rather than as a confusing validation error later:

* a step into a model must be one of its keys (``solver.tim_limit`` is an error);
* a step into an id-keyed collection (``tiers``, ``kam_pools``, ``sponsors``...) must
  name an id that exists: new ids are *added*, never created by a typo;
* a step into a list must be an index inside it;
* a step into a free mapping (``data.defaults``, a tier's ``support_hours``) may name a
  new key.

Each change returns its log line, ``path: old -> new``. Where the new value came from a
file, its positions are copied in, so later schema errors point at that file and line.
"""

from __future__ import annotations

import json
import typing
from typing import Any, Sequence

from pydantic import BaseModel

from kamopt.errors import Diagnostic, PolicyError, did_you_mean, one_of
from kamopt.policy.schema import Policy

Path_ = tuple[str | int, ...]
Position = tuple[str, int | None, int | None]  # (file or '--set ...', line, column), 1-based


NEW_IDS = " (a scenario adds new ids under 'add:')"


class Keyed:
    """A dict of models keyed by id (``tiers``) or a list of models: the next path step is
    a key or index, after which ``model`` applies."""

    def __init__(self, model: type[BaseModel], container: type):
        self.model = model
        self.container = container


def child_model(model: Any, step: str | int) -> Any:
    """What the schema expects one step down a key path: a model, a Keyed, or None (free)."""
    if model is None:
        return None
    if isinstance(model, Keyed):
        return model.model
    info = model.model_fields.get(step) if isinstance(step, str) else None
    return model_of(info.annotation) if info is not None else None


def model_of(annotation: Any) -> Any:
    """The model inside an annotation: ``X``, ``X | None``, ``dict[str, X]``, ``list[X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    for arg in typing.get_args(annotation):
        found = model_of(arg)
        if found is not None:
            return Keyed(found, origin) if origin in (dict, list) else found
    return None


def model_at(path: Path_) -> Any:
    """The schema's expectation at a path (a model class, a Keyed, or None)."""
    model: Any = Policy
    for step in path:
        model = child_model(model, step)
    return model


def split_key(key: str) -> list[str]:
    """A key path's steps: ``sponsors.Ana Ruiz.slots`` -> 3 steps. A step holding a dot is
    quoted, ``resources.kam_pools."U.S.".fte`` (single or double quotes; ids cannot
    contain quotes, so there is nothing to escape). Raises ValueError, in words, on an
    empty step or an unclosed quote."""
    steps: list[str] = []
    rest = key.strip()
    while True:
        rest = rest.lstrip()
        if rest[:1] in ("'", '"'):
            close = rest.find(rest[0], 1)
            if close < 0:
                raise ValueError("unclosed quote in the key path")
            step, rest = rest[1:close], rest[close + 1:].lstrip()
            if rest and rest[0] != ".":
                raise ValueError("a quoted step must be followed by '.' or end the key path")
        else:
            step, dot, after = rest.partition(".")
            rest = dot + after
            step = step.strip()
        if not step:
            raise ValueError("empty step in the key path")
        steps.append(step)
        if not rest:
            return steps
        rest = rest[1:]  # the '.'
        if not rest:
            raise ValueError("empty step in the key path")


def dotted(path: Sequence[str | int]) -> str:
    """A path as a user writes it: steps joined by dots, a step holding a dot quoted."""
    return ".".join(f'"{p}"' if isinstance(p, str) and "." in p else str(p) for p in path)


def show(value: Any) -> str:
    """A value in a change log: compact, one line."""
    if value is None:
        return "(unset)"
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    else:
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def fail(origin: Position, message: str, **details: Any) -> PolicyError:
    file, line, column = origin
    return PolicyError(Diagnostic(message, file=file, line=line, column=column, **details))


def descend(data: dict, parts: Sequence[str | int], origin: Position) -> tuple[Any, str | int, Any, Path_]:
    """Walk to the container of the last step, checking every step against the schema.

    Returns ``(container, last_step, container_model, full_path)``. Intermediate
    mappings that the schema defines but the policy leaves out are created empty.
    The last step is checked for being a known key of a model, or a valid list index;
    whether it must already exist is up to the caller (``set`` vs ``add``).
    """
    node: Any = data
    model: Any = Policy
    path: list[str | int] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        step: str | int = part
        where = dotted(path) or "the policy"
        if isinstance(node, list):
            if not str(part).isdigit() or int(part) >= len(node):
                raise fail(origin, f"no item {part} in {where}", expected=f"an index below {len(node)}")
            step = int(part)
        elif isinstance(node, dict):
            if isinstance(model, type) and part not in model.model_fields:
                raise fail(origin, f"unknown key '{part}' under {where}",
                           hint=did_you_mean(str(part), model.model_fields), expected=one_of(model.model_fields))
            if isinstance(model, Keyed) and part not in node and not last:
                raise fail(origin, f"no '{part}' under {where}", hint=did_you_mean(str(part), node),
                           expected=one_of(node) + NEW_IDS)
        else:
            raise fail(origin, f"{where} is a single value, it has no '{part}'")
        if last:
            return node, step, model, tuple(path) + (step,)
        path.append(step)
        if isinstance(node, dict) and step not in node:
            node[step] = {}
        node = node[step]
        model = child_model(model, step)
    raise fail(origin, "empty key path")


def set_value(data: dict, positions: dict[Path_, Position], parts: Sequence[str | int], value: Any,
              origin: Position, value_positions: dict[Path_, Position] | None = None) -> str:
    """Set the value at a path (the id must exist in id-keyed collections)."""
    node, step, model, path = descend(data, parts, origin)
    if isinstance(model, Keyed) and isinstance(node, dict) and step not in node:
        raise fail(origin, f"no '{step}' under {dotted(path[:-1])}", hint=did_you_mean(str(step), node),
                   expected=one_of(node) + NEW_IDS)
    old = node[step] if isinstance(node, list) or step in node else None
    node[step] = value
    _place(positions, path, origin, value_positions)
    return f"{dotted(path)}: {show(old)} -> {show(value)}"


def scale_value(data: dict, positions: dict[Path_, Position], parts: Sequence[str | int], factor: float,
                origin: Position) -> str:
    """Multiply the number (or per-account expression) at a path by ``factor``."""
    node, step, model, path = descend(data, parts, origin)
    if isinstance(node, list) or step not in node:
        raise fail(origin, f"{dotted(path)} is not set in the policy, so it cannot be scaled",
                   hint="give the new value under 'set:' instead")
    old = node[step]
    if isinstance(old, bool) or not isinstance(old, (int, float, str)):
        raise fail(origin, f"{dotted(path)} is not a number", expected="a number or an expression",
                   found=show(old))
    if isinstance(old, str):
        new: Any = f"({old}) * {factor!r}"  # a per-account expression scales as a whole
    else:
        new = old * factor
        if isinstance(old, int) and float(new).is_integer():
            new = int(new)
    node[step] = new
    _place(positions, path, origin, None)
    return f"{dotted(path)}: {show(old)} -> {show(new)}"


def add_items(data: dict, positions: dict[Path_, Position], parts: Sequence[str | int], items: Any,
              origin: Position, value_positions: dict[Path_, Position] | None = None) -> list[str]:
    """Add new ids to an id-keyed collection (a mapping of new entries), or append to a list."""
    node, step, model, path = descend(data, parts, origin)
    kind = child_model(model, step) if not isinstance(node, list) else None
    current = node[step] if isinstance(node, list) or step in node else None
    wants_list = isinstance(kind, Keyed) and kind.container is list or isinstance(current, list)
    log = []
    if wants_list or (current is None and isinstance(items, list)):
        if not isinstance(items, list):
            raise fail(origin, f"{dotted(path)} is a list: give the items to append as a list",
                       found="a mapping" if isinstance(items, dict) else show(items))
        target = current if isinstance(current, list) else []
        node[step] = target
        for k, item in enumerate(items):
            target.append(item)
            sub = (k,)
            _place(positions, path + (len(target) - 1,), origin,
                   _subtree(value_positions, sub) if value_positions else None)
            log.append(f"{dotted(path)}[{len(target) - 1}]: (unset) -> {show(item)}")
        return log
    if not isinstance(kind, Keyed) and kind is not None:
        raise fail(origin, f"{dotted(path)} is not a collection of ids or a list; use 'set:' to change it")
    if not isinstance(items, dict):
        raise fail(origin, f"{dotted(path)} holds entries by id: give the new ones as a mapping",
                   found=show(items))
    target = current if isinstance(current, dict) else {}
    node[step] = target
    for key, item in items.items():
        if key in target:
            raise fail(_origin_of(value_positions, (key,), origin),
                       f"'{key}' already exists under {dotted(path)}", hint="change it under 'set:' instead")
        target[key] = item
        _place(positions, path + (key,), _origin_of(value_positions, (key,), origin),
               _subtree(value_positions, (key,)) if value_positions else None)
        log.append(f"{dotted(path + (key,))}: (unset) -> {show(item)}")
    return log


def remove_item(data: dict, positions: dict[Path_, Position], parts: Sequence[str | int],
                origin: Position) -> str:
    """Delete an id from a collection, an item from a list, or a key (back to its default)."""
    node, step, model, path = descend(data, parts, origin)
    if isinstance(node, dict) and step not in node:
        raise fail(origin, f"no '{step}' under {dotted(path[:-1]) or 'the policy'} to remove",
                   hint=did_you_mean(str(step), node), expected=one_of(node) if node else None)
    old = node[step]
    del node[step]
    forget(positions, path)
    return f"{dotted(path)}: {show(old)} -> (removed)"


def forget(positions: dict[Path_, Position], prefix: Path_) -> None:
    for p in [p for p in positions if p[: len(prefix)] == prefix]:
        del positions[p]


def _subtree(positions: dict[Path_, Position] | None, prefix: Path_) -> dict[Path_, Position]:
    """Positions under ``prefix``, re-rooted at it."""
    if not positions:
        return {}
    return {p[len(prefix):]: pos for p, pos in positions.items() if p[: len(prefix)] == prefix}


def _origin_of(positions: dict[Path_, Position] | None, sub: Path_, default: Position) -> Position:
    return (positions or {}).get(sub, default)


def _place(positions: dict[Path_, Position], path: Path_, origin: Position,
           value_positions: dict[Path_, Position] | None) -> None:
    """Record where the value at ``path`` (and everything under it) now comes from."""
    forget(positions, path)
    positions[path] = origin
    for sub, pos in (value_positions or {}).items():
        if sub:
            positions[path + sub] = pos
