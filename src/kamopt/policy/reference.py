"""The policy reference (``docs/policy.md``), generated from the schema's field docstrings.

``python -m kamopt.policy.reference > docs/policy.md`` regenerates it; a test fails when
the committed file differs, so the reference cannot drift from the code.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from kamopt.policy.schema import Policy, field_docs

INTRO = """\
# Policy reference

A kamopt policy is a YAML file. This page lists every key with its type, unit and
default; it is generated from the schema (`python -m kamopt.policy.reference`), and
`kamopt schema` prints the same schema as JSON Schema for editors. The bundled
[`policies/default.yaml`](../policies/default.yaml) uses every feature, commented line by
line.

Conventions:

* `<id>` stands for an id you choose (a tier, a pool, a sponsor...). Ids may hold
  letters, digits, spaces and punctuation except `[ ] | = "`; they appear in constraint
  names such as `kam_hours[Iberia]` and `sponsor_slots[Ana Ruiz]`.
* **number/expression** means a constant (`120`), a field (`kam_hours_col`) or a safe
  expression (`min(420, 160 + revenue / 15000)`), evaluated per account.
* **rule** means a true/false expression (`credit_score >= 4`).
* Money is in the policy's `currency`; costs and capacities are per year; values are
  net present values over `value.horizon_years`.
* Unknown keys are errors (with a "did you mean" suggestion); so are duplicate keys and
  YAML tags that would build objects.

## Expressions

Expressions are parsed by kamopt's own parser and evaluated over whole columns; they
never run Python. They may use:

| construct | example |
|---|---|
| numbers, text, true/false | `1_000_000`, `'Retail'`, `true` |
| fields (column names, lower case; see `data.columns`) | `revenue`, `credit_score` |
| arithmetic `+ - * / % **` | `revenue * margin * 0.08` |
| comparisons `== != < <= > >=` (one per comparison) | `credit_score >= 4` |
| `and`, `or`, `not` | `segment == 'SMB' and not is_key` |
| membership | `industry in ['Retail', 'Food & Beverage']`, `region not in ['APAC']` |
| conditional | `60 if industry == 'Retail' else 20` |
| functions | `min(a, b, ...)`, `max(a, b, ...)`, `abs(x)`, `round(x)`, `round(x, 2)`, `floor(x)`, `ceil(x)`, `sqrt(x)`, `log(x)`, `clip(x, lo, hi)` |

Nothing else: no attribute access, no indexing, no other calls, no names starting with
`__`. Syntax errors point at the character; unknown fields list the valid ones; a
division by zero names the accounts (rows) where it happens.

## Value model

For each account and tier, with ramp-up shares `r_y` (the last one repeats), discount
rate `d` and horizon `H` years:

    value = (uplift + retention_gain) * sum_y r_y / (1+d)^y  -  cost_to_serve * sum_y 1 / (1+d)^y

unless the tier gives `expected_value`, which is used as the value directly. A hired
FTE costs `cost_per_fte * sum_y 1/(1+d)^y` in the objective and `cost_per_fte` against
the annual budget. The objective maximises the sum of the values of the chosen tiers,
plus KAM fit bonuses, minus hires, minus `change_penalty` per changed account, minus
penalties for broken soft limits.

## Keys
"""


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        base, *meta = args
        names = {getattr(m, "__name__", "") for m in meta}
        text = " ".join(str(m) for m in meta)
        if "_number_to_text" in text:
            return "number/expression"
        if "_rule_from_text" in text:
            return "rule, or {rule, description}"
        if "_check_syntax" in text or "_check_syntax" in names:
            return "expression"
        return _type_name(base)
    if origin in (typing.Union, __import__("types").UnionType):
        parts = [_type_name(a) for a in args if a is not type(None)]
        return " or ".join(parts) + (" (optional)" if type(None) in args else "")
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin is dict:
        return f"mapping of <id> to {_type_name(args[1])}"
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return "mapping"
        return {"str": "text", "float": "number", "int": "integer", "bool": "true/false"}.get(
            annotation.__name__, annotation.__name__
        )
    return str(annotation)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _segment(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated or origin in (typing.Union, __import__("types").UnionType):
        for a in typing.get_args(annotation):
            seg = _segment(a)
            if seg:
                return seg
        return ""
    if origin is dict:
        return ".<id>"
    if origin is list:
        return "[]"
    return ""


def _default(info) -> str:
    if info.is_required():
        return "required"
    value = info.default
    if value is PydanticUndefined:
        return "—"
    if isinstance(value, BaseModel):
        return "see below"
    if value is None:
        return "none"
    if value == {} or value == []:
        return "empty"
    return f"`{value}`"


def rows(model: type[BaseModel], prefix: str = "", seen: frozenset = frozenset()) -> list[tuple[str, str, str, str]]:
    out = []
    docs = field_docs(model)
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        doc = " ".join(docs.get(name, "").split())
        kind = _type_name(typing.Annotated[(info.annotation, *info.metadata)]) if info.metadata \
            else _type_name(info.annotation)
        out.append((key, kind, _default(info), doc.replace("``", "`")))
        sub = _model_in(info.annotation)
        if sub is not None and sub not in seen:
            out += rows(sub, key + _segment(info.annotation) + ".", seen | {sub})
    return out


def reference() -> str:
    """The policy reference as Markdown."""
    lines = [INTRO]
    current = None
    table = rows(Policy)
    nested = {k.split(".")[0] for k, *_ in table if "." in k}
    for key, kind, default, doc in table:
        top = key.split(".")[0].split("[")[0]
        if top not in nested:
            top = "top level"
        if top != current:
            current = top
            lines.append(f"\n### `{top}`\n")
            lines.append("| key | type | default | meaning |")
            lines.append("|---|---|---|---|")
        doc = doc.replace("|", "\\|")
        lines.append(f"| `{key}` | {kind} | {default} | {doc} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(reference(), end="")
