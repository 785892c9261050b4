"""Safe expressions: the small formula language used in policy files.

Policies use expressions for eligibility rules (true/false per account) and per-account
numbers, for example::

    revenue * margin * 0.08
    120 if segment == 'Enterprise' else 60
    employees > 0 and revenue / employees > 10_000
    region in ['EMEA', 'APAC'] and not churned

The language looks like Python but is parsed by its own tokenizer and parser; nothing is
ever executed as Python. It is evaluated vectorised with numpy over whole data columns.

Syntax
------
From loosest to tightest binding:

=======================  ====================================================
``a if cond else b``     conditional (``cond`` must be true/false)
``or``, ``and``, ``not`` logic on true/false values
``== != < <= > >=``      one comparison; chains like ``1 < x < 3`` are errors
``x in [...]``           membership in a list of literals (``x not in [...]``)
``+ -``                  addition, subtraction
``* / %``                multiplication, true division, modulo (Python sign rules)
``-x``, ``+x``           unary minus/plus (``-2 ** 2`` is ``-4``, like Python)
``**``                   power (right associative)
=======================  ====================================================

Values: numbers (``12``, ``1.5``, ``.5``, ``1e6``, ``1_000_000``), text in single or double
quotes (the only escapes are ``\\'``, ``\\"`` and ``\\\\``), ``true``/``false`` (also
``True``/``False``), field names (``[A-Za-z_][A-Za-z0-9_]*``, data columns), parentheses
and the functions in :data:`FUNCTIONS`: ``min(a, b, ...)``, ``max(a, b, ...)``, ``abs(x)``,
``round(x)`` / ``round(x, ndigits)`` (ndigits a whole-number literal, half to even),
``floor(x)``, ``ceil(x)``, ``sqrt(x)``, ``log(x)`` (natural) and ``clip(x, lo, hi)``.
Lists after ``in`` hold literals only. Nothing else exists: no attribute access, indexing,
assignment, other calls, names starting with ``__``, lambdas or statements.

Limits: at most :data:`MAX_LENGTH` characters and :data:`MAX_DEPTH` levels of nesting
(parentheses, operators and operands all count).

Types
-----
Every expression has one kind: ``number`` (float64), ``bool`` (true/false) or ``text``.
Kinds are checked before any data is read: arithmetic, ``< <= > >=`` and the functions need
numbers, ``== !=`` and ``in`` need the same kind on both sides, ``and/or/not`` and the
condition of ``if`` need true/false, both branches of ``if`` must have the same kind. A
true/false value is never silently a number, and text cannot be added.

Evaluation
----------
:meth:`Expression.evaluate` takes one numpy array per field: float64 for numbers, bool for
true/false, and for text either an object array of ``str`` or a numpy unicode array; text
results are returned as object arrays of ``str``. Blank numbers are NaN and simply
propagate through arithmetic; every comparison involving NaN (including ``!=`` and
``not in``) is false, so a blank cell never satisfies a rule by accident. ``and``, ``or``
and ``if ... else`` only *use* the rows they select, like Python's short-circuiting:
``revenue / employees if employees > 0 else 0`` never reports a division by zero.
Division or modulo by zero, ``sqrt`` of a negative, ``log`` of zero or a negative, and any
other non-finite result from finite inputs (overflow) raise :class:`ExpressionError` with
``rows`` set to every offending 0-based row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import reduce
from typing import Literal, Mapping

import numpy as np

from kamopt.errors import Diagnostic, ExpressionError, did_you_mean, one_of, short

Kind = Literal["number", "bool", "text"]

FUNCTIONS: tuple[str, ...] = ("abs", "ceil", "clip", "floor", "log", "max", "min", "round", "sqrt")
"""The only functions an expression may call."""

MAX_LENGTH = 2000
"""Longest accepted expression text, in characters."""
MAX_DEPTH = 50
"""Deepest accepted nesting (parentheses, operators, operands)."""

_ARITY = {"min": (2, None), "max": (2, None), "clip": (3, 3), "round": (1, 2)}
_ARITY_TEXT = {"min": "at least 2 arguments", "max": "at least 2 arguments",
               "clip": "3 arguments (x, lo, hi)", "round": "1 or 2 arguments"}
_A_KIND = {"number": "a number", "bool": "true/false", "text": "text"}
_FIELD_KIND = {"number": "number", "bool": "true/false", "text": "text"}
_DTYPES = {"number": np.float64, "bool": np.bool_, "text": object}

# ---------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------

_DIGITS = r"[0-9](?:_?[0-9])*"
_NUMBER = re.compile(rf"(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?{_DIGITS})?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_KEYWORDS = {w: w for w in ("and", "or", "not", "in", "if", "else", "true", "false")}
_KEYWORDS.update({"True": "true", "False": "false"})
_FORBIDDEN_WORDS = {
    "lambda": "'lambda' is not allowed in expressions",
    "import": "'import' is not allowed in expressions",
    "is": "'is' is not allowed; use '==' or '!='",
    "None": "'None' is not a value here; blank cells are handled by the caller",
}
_OPERATORS = ("**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "<", ">", "(", ")", ",",
              "[", "]")
_BAD_SYMBOLS = {
    "//": "'//' is not supported; use floor(a / b)",
    "=": "assignment ('=') is not allowed; use '==' to compare",
    ".": "attribute access ('.') is not allowed",
    ";": "';' is not allowed; write a single expression",
    "!": "'!' is not allowed; use 'not' or '!='",
    "&": "'&' is not allowed; use 'and'",
    "|": "'|' is not allowed; use 'or'",
}


@dataclass(frozen=True)
class _Tok:
    kind: str  # num, str, name, kw, op, end, error
    value: object  # float / str / keyword / operator / Diagnostic for "error"
    pos: int  # 0-based index in the text
    src: str


def _error(message: str, pos: int, found: str | None = None, expected: str | None = None,
           hint: str | None = None) -> ExpressionError:
    return ExpressionError(Diagnostic(message, column=pos + 1, found=found, expected=expected,
                                      hint=hint))


def _tokenize(text: str) -> list[_Tok]:
    """All tokens; a lexical problem becomes a final "error" token (raised when reached)."""
    toks: list[_Tok] = []

    def bad(message: str, pos: int, found: str) -> list[_Tok]:
        toks.append(_Tok("error", Diagnostic(message, column=pos + 1, found=found), pos, found))
        return toks

    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            i += 1
        elif ch in "0123456789" or (ch == "." and text[i + 1: i + 2].isascii()
                                    and text[i + 1: i + 2].isdigit()):
            j = _NUMBER.match(text, i).end()
            if j < n and (text[j] in _WORD_CHARS or text[j] == "."):
                k = j
                while k < n and (text[k] in _WORD_CHARS or text[k] == "."):
                    k += 1
                return bad(f"malformed number at column {i + 1}", i, repr(text[i:k]))
            value = float(text[i:j].replace("_", ""))
            if value == float("inf"):
                return bad(f"number too large at column {i + 1}", i, text[i:j])
            toks.append(_Tok("num", value, i, text[i:j]))
            i = j
        elif ch in _WORD_CHARS:
            word = _NAME.match(text, i).group()
            if word.startswith("__"):
                return bad("names starting with '__' are not allowed", i, repr(word))
            if word in _FORBIDDEN_WORDS:
                return bad(_FORBIDDEN_WORDS[word], i, repr(word))
            kind = "kw" if word in _KEYWORDS else "name"
            toks.append(_Tok(kind, _KEYWORDS.get(word, word), i, word))
            i += len(word)
        elif ch in "'\"":
            j, chars = i + 1, []
            while True:
                if j >= n:
                    return bad(f"text starting at column {i + 1} is not closed", i,
                               short(text[i:], 30))
                c = text[j]
                if c == ch:
                    break
                if c == "\\":
                    nxt = text[j + 1: j + 2]
                    if nxt not in ("\\", "'", '"'):
                        return bad("unsupported escape in text; only \\' \\\" and \\\\ work",
                                   j, repr("\\" + nxt))
                    c, j = nxt, j + 1
                chars.append(c)
                j += 1
            toks.append(_Tok("str", "".join(chars), i, text[i: j + 1]))
            i = j + 1
        else:
            for sym in _BAD_SYMBOLS:
                if text.startswith(sym, i) and not text.startswith(("==", "!="), i):
                    return bad(_BAD_SYMBOLS[sym], i, repr(sym))
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None:
                return bad(f"unexpected character {ch!r} at column {i + 1}", i, repr(ch))
            toks.append(_Tok("op", op, i, op))
            i += len(op)
    toks.append(_Tok("end", None, n, ""))
    return toks


def _show(tok: _Tok) -> str:
    if tok.kind == "end":
        return "end of expression"
    return {"name": f"name '{tok.src}'", "num": f"number {tok.src}",
            "str": f"text {tok.src}"}.get(tok.kind, f"'{tok.src}'")


# ---------------------------------------------------------------------------------------
# Parser (Pratt / precedence climbing with an explicit depth counter)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Node:
    """One node of a parsed expression.

    ``op`` is ``num``, ``str``, ``bool``, ``name``, ``neg``, ``pos``, ``not``, ``and``, ``or``,
    an arithmetic or comparison operator, ``in``, ``not in``, ``if`` (args: then, cond,
    else) or ``call`` (``value`` is the function name). ``pos`` is the 0-based index of the
    defining token (operator, name, literal); ``start:end`` is the node's source span.
    """

    op: str
    args: tuple["Node", ...] = ()
    value: object = None
    pos: int = 0
    start: int = 0
    end: int = 0
    depth: int = 1


_BP_IF, _BP_OR, _BP_AND, _BP_NOT, _BP_CMP, _BP_ADD, _BP_MUL, _BP_UNARY, _BP_POW = range(1, 10)
_COMPARE = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")
_INFIX = {"or": _BP_OR, "and": _BP_AND, "+": _BP_ADD, "-": _BP_ADD, "*": _BP_MUL,
          "/": _BP_MUL, "%": _BP_MUL, "**": _BP_POW, **{op: _BP_CMP for op in _COMPARE}}


class _Parser:
    def __init__(self, text: str):
        self.toks = _tokenize(text)
        self.i = 0
        self.level = 0

    def peek(self, ahead: int = 0) -> _Tok:
        tok = self.toks[min(self.i + ahead, len(self.toks) - 1)]
        if tok.kind == "error":
            raise ExpressionError(tok.value)
        return tok

    def take(self) -> _Tok:
        tok = self.peek()
        self.i += 1
        return tok

    def infix_op(self) -> str | None:
        tok = self.peek()
        if tok.kind not in ("op", "kw"):
            return None
        if tok.value == "not" and self.peek(1).kind == "kw" and self.peek(1).value == "in":
            return "not in"
        return tok.value

    def node(self, op: str, args: tuple[Node, ...], value: object, pos: int, start: int,
             end: int) -> Node:
        depth = 1 + max((a.depth for a in args), default=0)
        if depth > MAX_DEPTH:
            raise _too_deep(pos)
        return Node(op, args, value, pos, start, end, depth)

    def unexpected(self, tok: _Tok, expected: str | None = None) -> ExpressionError:
        return _error(f"unexpected {_show(tok)} at column {tok.pos + 1}", tok.pos,
                      found=_show(tok), expected=expected)

    def unclosed(self, opener: _Tok, closer: str) -> ExpressionError:
        return _error(f"'{opener.src}' at column {opener.pos + 1} is never closed", opener.pos,
                      found="end of expression", expected=f"'{closer}'")

    def expr(self, min_bp: int) -> Node:
        self.level += 1
        if self.level > MAX_DEPTH:
            raise _too_deep(self.peek().pos)
        left = self.prefix(min_bp)
        while True:
            tok, op = self.peek(), self.infix_op()
            if op == "[":
                raise _error("indexing with '[...]' is not allowed", tok.pos, found="'['")
            if op == "if":
                if min_bp > _BP_IF:
                    break
                self.take()
                cond = self.expr(_BP_OR)
                if self.infix_op() != "else":
                    raise _error(f"'if' at column {tok.pos + 1} needs 'else': write "
                                 "'a if condition else b'", self.peek().pos,
                                 found=_show(self.peek()), expected="'else'")
                self.take()
                other = self.expr(_BP_IF)
                left = self.node("if", (left, cond, other), None, tok.pos, left.start, other.end)
                continue
            bp = _INFIX.get(op)
            if bp is None or bp < min_bp:
                break
            self.take()
            if op in ("in", "not in"):
                if op == "not in":
                    self.take()
                items, end = self.list_literal(op)
                left = self.node(op, (left,), items, tok.pos, left.start, end)
            else:
                right = self.expr(_BP_UNARY if op == "**" else bp + 1)
                left = self.node(op, (left, right), None, tok.pos, left.start, right.end)
            if bp == _BP_CMP and self.infix_op() in _COMPARE:
                raise _error("comparisons cannot be chained; write 'a < b and b < c'",
                             self.peek().pos, found=_show(self.peek()))
        self.level -= 1
        return left

    def prefix(self, min_bp: int) -> Node:
        tok = self.take()
        kind, v, p = tok.kind, tok.value, tok.pos
        if kind in ("num", "str"):
            return self.node(kind, (), v, p, p, p + len(tok.src))
        if kind == "kw" and v in ("true", "false"):
            return self.node("bool", (), v == "true", p, p, p + len(tok.src))
        if kind == "name":
            if self.peek().value == "(" and self.peek().kind == "op":
                return self.call(tok)
            return self.node("name", (), v, p, p, p + len(tok.src))
        if kind == "op" and v == "(":
            inner = self.expr(0)
            close = self.peek()
            if close.kind == "end":
                raise self.unclosed(tok, ")")
            if close.value != ")":
                raise self.unexpected(close, "')'")
            self.take()
            return replace(inner, start=p, end=close.pos + 1)
        if kind == "op" and v in ("-", "+"):
            operand = self.expr(_BP_UNARY)
            return self.node("neg" if v == "-" else "pos", (operand,), None, p, p, operand.end)
        if kind == "kw" and v == "not" and min_bp <= _BP_NOT:
            operand = self.expr(_BP_NOT)
            return self.node("not", (operand,), None, p, p, operand.end)
        if kind == "op" and v == "[":
            raise _error("a list '[...]' is only allowed after 'in'", p, found="'['")
        if kind == "end":
            raise _error(f"unexpected end of expression at column {p + 1}", p,
                         found="end of expression", expected="a value")
        raise self.unexpected(tok, "a number, text, field name or '('")

    def call(self, name: _Tok) -> Node:
        if name.value not in FUNCTIONS:
            raise _error(f"'{name.value}' is not an allowed function; the functions are "
                         f"{', '.join(FUNCTIONS)}", name.pos, found=f"'{name.value}'",
                         expected=one_of(FUNCTIONS), hint=did_you_mean(name.value, FUNCTIONS))
        opener, args = self.take(), []
        while self.peek().value != ")" or self.peek().kind != "op":
            if self.peek().kind == "end":
                raise self.unclosed(opener, ")")
            args.append(self.expr(0))
            tok = self.peek()
            if tok.kind == "op" and tok.value == ",":
                self.take()
            elif tok.kind == "end":
                raise self.unclosed(opener, ")")
            elif tok.value != ")":
                raise self.unexpected(tok, "',' or ')'")
        close = self.take()
        return self.node("call", tuple(args), name.value, name.pos, name.pos, close.pos + 1)

    def list_literal(self, op: str) -> tuple[tuple[tuple[object, int], ...], int]:
        opener = self.take()
        if opener.kind != "op" or opener.value != "[":
            raise _error(f"'{op}' needs a list of values like ['a', 'b']", opener.pos,
                         found=_show(opener), expected="'['")
        items: list[tuple[object, int]] = []
        while True:
            tok = self.take()
            if tok.kind == "op" and tok.value == "]":
                return tuple(items), tok.pos + 1
            if tok.kind == "end":
                raise self.unclosed(opener, "]")
            first = tok
            if tok.kind == "op" and tok.value == "-" and self.peek().kind == "num":
                tok = self.take()
                items.append((-tok.value, first.pos))
            elif tok.kind in ("num", "str"):
                items.append((tok.value, tok.pos))
            elif tok.kind == "kw" and tok.value in ("true", "false"):
                items.append((tok.value == "true", tok.pos))
            else:
                raise _error("list items must be literal values (numbers, text, true, false)",
                             tok.pos, found=_show(tok), expected="a literal value")
            tok = self.take()
            if tok.kind == "op" and tok.value == "]":
                return tuple(items), tok.pos + 1
            if tok.kind == "end":
                raise self.unclosed(opener, "]")
            if tok.kind != "op" or tok.value != ",":
                raise self.unexpected(tok, "',' or ']'")


def _too_deep(pos: int) -> ExpressionError:
    return _error(f"expression is nested too deeply (the limit is {MAX_DEPTH} levels)", pos,
                  expected=f"at most {MAX_DEPTH} levels")


def parse(text: str) -> Node:
    """Parse ``text`` into a syntax tree (no type checking). Raises :class:`ExpressionError`."""
    if len(text) > MAX_LENGTH:
        raise _error(f"expression is too long ({len(text)} characters, the limit is "
                     f"{MAX_LENGTH})", MAX_LENGTH, found=f"{len(text)} characters",
                     expected=f"at most {MAX_LENGTH} characters")
    parser = _Parser(text)
    if parser.peek().kind == "end":
        raise _error("empty expression", 0, found="nothing", expected="an expression")
    node = parser.expr(0)
    if parser.peek().kind != "end":
        raise parser.unexpected(parser.peek())
    return node


# ---------------------------------------------------------------------------------------
# Type checking
# ---------------------------------------------------------------------------------------


def _value_kind(value: object) -> Kind:
    return "bool" if isinstance(value, bool) else "text" if isinstance(value, str) else "number"


def _literal(value: object) -> str:
    """A list literal shown as it would be written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return short(value)


def _int_literal(node: Node) -> int | None:
    sign = 1
    if node.op == "neg":
        sign, node = -1, node.args[0]
    if node.op == "num" and float(node.value).is_integer():
        return sign * int(node.value)
    return None


def _uses_fields(node: Node) -> bool:
    return node.op == "name" or any(_uses_fields(a) for a in node.args)


class _Checker:
    def __init__(self, text: str, fields: Mapping[str, Kind]):
        self.text, self.fields, self.names = text, fields, set()

    def src(self, node: Node) -> str:
        return self.text[node.start: node.end].strip()

    def what(self, node: Node, kind: Kind) -> str:
        if node.op == "name":
            return f"{_FIELD_KIND[kind]} field '{node.value}'"
        return _A_KIND[kind] if kind != "bool" else "a true/false value"

    def need(self, node: Node, want: Kind, who: str, kind: Kind | None = None) -> None:
        """Check ``node`` (unless its ``kind`` is already known) and insist it is ``want``."""
        kind = self.check(node) if kind is None else kind
        if kind != want:
            raise _error(f"{who} needs {_A_KIND[want]}, but {short(self.src(node))} is "
                         f"{_A_KIND[kind]}", node.start, found=short(self.src(node)),
                         expected=_A_KIND[want])

    def check(self, node: Node) -> Kind:
        op, args = node.op, node.args
        if op in ("num", "str", "bool"):
            return _value_kind(node.value)
        if op == "name":
            if node.value not in self.fields:
                raise _error(f"unknown field '{node.value}'; use {one_of(self.fields)}",
                             node.pos, found=f"'{node.value}'", expected="a field name",
                             hint=did_you_mean(node.value, self.fields))
            self.names.add(node.value)
            return self.fields[node.value]
        if op in ("neg", "pos", "not"):
            want: Kind = "bool" if op == "not" else "number"
            self.need(args[0], want, {"neg": "'-'", "pos": "'+'", "not": "'not'"}[op])
            return want
        if op in ("and", "or"):
            for arg in args:
                self.need(arg, "bool", f"'{op}'")
            return "bool"
        if op in ("==", "!="):
            left, right = self.check(args[0]), self.check(args[1])
            if left != right:
                raise _error(f"cannot compare {self.what(args[0], left)} with "
                             f"{self.what(args[1], right)}", node.pos, found=f"'{op}'",
                             expected="the same kind on both sides")
            return "bool"
        if op in ("in", "not in"):
            kind = self.check(args[0])
            for value, pos in node.value:
                if _value_kind(value) != kind:
                    item = _literal(value)
                    raise _error(f"list item {item} is {_A_KIND[_value_kind(value)]}, but "
                                 f"{short(self.src(args[0]))} is {_A_KIND[kind]}", pos,
                                 found=item, expected=_A_KIND[kind])
            return "bool"
        if op == "if":
            self.need(args[1], "bool", "the condition of 'if'")
            then, other = self.check(args[0]), self.check(args[2])
            if then != other:
                raise _error(f"both branches of 'if ... else' must give the same kind, but "
                             f"{short(self.src(args[0]))} is {_A_KIND[then]} and "
                             f"{short(self.src(args[2]))} is {_A_KIND[other]}", node.pos,
                             found=f"{then} and {other}", expected="the same kind")
            return then
        if op == "call":
            return self.call(node)
        # Arithmetic and ordering comparisons. Each operand is checked once: checking it
        # again for the message would make long chains like 1 + 1 + ... exponential.
        kinds = [self.check(arg) for arg in args]
        if op == "+" and kinds == ["text", "text"]:
            raise _error("'+' cannot join text; only numbers can be added", node.pos,
                         found="text + text", expected="numbers")
        for arg, kind in zip(args, kinds):
            self.need(arg, "number", f"'{op}'", kind)
        return "bool" if op in _COMPARE else "number"

    def call(self, node: Node) -> Kind:
        name, args = node.value, node.args
        low, high = _ARITY.get(name, (1, 1))
        if len(args) < low or (high is not None and len(args) > high):
            expected = _ARITY_TEXT.get(name, "1 argument")
            raise _error(f"{name}() takes {expected}, but got {len(args)}", node.pos,
                         found=f"{len(args)} arguments", expected=expected)
        if name == "round" and len(args) == 2:
            digits = _int_literal(args[1])
            if digits is None or abs(digits) > 15:
                raise _error("round(): ndigits must be a whole number from -15 to 15, like 2",
                             args[1].start, found=short(self.src(args[1])),
                             expected="a whole number literal")
            args = args[:1]
        for arg in args:
            self.need(arg, "number", f"{name}()")
        if name == "clip" and not _uses_fields(args[1]) and not _uses_fields(args[2]):
            low_v, high_v = _constant(args[1], self.text), _constant(args[2], self.text)
            if low_v > high_v:
                raise _error(f"clip(): the lower bound {low_v:g} is above the upper bound "
                             f"{high_v:g}", node.pos, found=f"{low_v:g} > {high_v:g}",
                             expected="lo <= hi")
        return "number"


# ---------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------


class _Failure(Exception):
    def __init__(self, node: Node, what: str, rows: np.ndarray):
        super().__init__(what)
        self.node, self.what, self.rows = node, what, rows


def _isnan(x: object) -> np.ndarray | np.bool_:
    return np.isnan(x) if np.asarray(x).dtype.kind == "f" else np.False_


_ARITH = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "%": np.mod,
          "**": np.power}
_ORDER = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}
_UNARY_FUNCS = {"abs": np.abs, "floor": np.floor, "ceil": np.ceil, "sqrt": np.sqrt,
                "log": np.log}


class _Evaluator:
    """Walks the tree once with whole columns; ``mask`` marks the rows whose value is used."""

    def __init__(self, columns: Mapping[str, np.ndarray], n: int):
        self.columns, self.n = columns, n

    def fail_where(self, bad: object, mask: np.ndarray | None, node: Node, what: str) -> None:
        bad = np.broadcast_to(np.asarray(bad, dtype=bool), (self.n,))
        if mask is not None:
            bad = bad & mask
        if bad.any():
            raise _Failure(node, what, np.flatnonzero(bad))

    def finite(self, node: Node, result, mask, *inputs):
        finite = np.isfinite(result)
        if not np.all(finite):
            bad = ~finite
            for x in inputs:
                bad = bad & np.isfinite(x)
            self.fail_where(bad, mask, node, "result is not a finite number")
        return result

    def narrow(self, mask: np.ndarray | None, cond) -> np.ndarray:
        cond = np.broadcast_to(np.asarray(cond, dtype=bool), (self.n,))
        return cond if mask is None else mask & cond

    def run(self, node: Node, mask: np.ndarray | None):
        op, args = node.op, node.args
        if op == "num":
            return np.float64(node.value)
        if op == "bool":
            return np.bool_(node.value)
        if op == "str":
            return node.value
        if op == "name":
            return self.columns[node.value]
        if op == "pos":
            return self.run(args[0], mask)
        if op == "neg":
            return np.negative(self.run(args[0], mask))
        if op == "not":
            return np.logical_not(self.run(args[0], mask))
        if op in ("and", "or"):
            left = self.run(args[0], mask)
            keep = left if op == "and" else np.logical_not(left)
            right = self.run(args[1], self.narrow(mask, keep))
            return (np.logical_and if op == "and" else np.logical_or)(left, right)
        if op == "if":
            cond = self.run(args[1], mask)
            then = self.run(args[0], self.narrow(mask, cond))
            other = self.run(args[2], self.narrow(mask, np.logical_not(cond)))
            return np.where(cond, then, other)
        if op in ("in", "not in"):
            x = self.run(args[0], mask)
            hit = np.zeros(np.shape(x), dtype=bool)
            for value, _ in node.value:
                hit = hit | np.asarray(x == value, dtype=bool)
            return hit if op == "in" else ~hit & ~_isnan(x)
        if op == "call":
            return self.call(node, mask)
        left, right = self.run(args[0], mask), self.run(args[1], mask)
        if op in ("==", "!="):
            same = np.asarray(left == right, dtype=bool)
            return same if op == "==" else ~same & ~_isnan(left) & ~_isnan(right)
        if op in _ORDER:
            return _ORDER[op](left, right)
        if op in ("/", "%"):
            word = "division" if op == "/" else "modulo"
            self.fail_where((right == 0) & ~_isnan(left), mask, node, f"{word} by zero")
        return self.finite(node, _ARITH[op](left, right), mask, left, right)

    def call(self, node: Node, mask: np.ndarray | None):
        name = node.value
        if name == "round":
            x = self.run(node.args[0], mask)
            digits = _int_literal(node.args[1]) if len(node.args) == 2 else 0
            return self.finite(node, np.round(x, digits), mask, x)
        values = [self.run(arg, mask) for arg in node.args]
        if name in ("min", "max"):
            result = reduce(np.minimum if name == "min" else np.maximum, values)
        elif name == "clip":
            x, low, high = values
            self.fail_where(low > high, mask, node, "clip() lower bound above upper bound")
            result = np.minimum(np.maximum(x, low), high)
        else:
            x = values[0]
            if name == "sqrt":
                self.fail_where(x < 0, mask, node, "square root of a negative number")
            elif name == "log":
                self.fail_where(x <= 0, mask, node, "logarithm of zero or a negative number")
            result = _UNARY_FUNCS[name](x)
        return self.finite(node, result, mask, *values)


def _constant(node: Node, text: str) -> float | bool | str:
    """Value of a field-free (sub)expression; evaluation failures become compile errors."""
    try:
        with np.errstate(all="ignore"):
            value = np.asarray(_Evaluator({}, 1).run(node, None)).reshape(-1)[0]
    except _Failure as failure:
        snippet = text[failure.node.start: failure.node.end].strip()
        raise _error(f"{failure.what} in {short(snippet)}", failure.node.pos) from None
    return value.item() if isinstance(value, np.generic) else value


# ---------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expression:
    """A parsed and type-checked expression, ready to evaluate over data columns."""

    text: str
    kind: Kind
    names: frozenset[str]
    _node: Node = field(repr=False, compare=False)
    _field_kinds: Mapping[str, Kind] = field(repr=False, compare=False, default_factory=dict)
    _constant: float | bool | str | None = field(repr=False, compare=False, default=None)

    @property
    def constant(self) -> float | bool | str | None:
        """The value if the expression uses no fields, else ``None``."""
        return None if self.names else self._constant

    def evaluate(self, columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """Evaluate over ``n`` rows and return a fresh array of length ``n``.

        ``columns`` maps every name in :attr:`names` to an array of length ``n``: float64 for
        numbers (NaN = blank), bool for true/false, object-of-str or unicode for text. The
        result is float64, bool or an object array of ``str``. Raises
        :class:`ExpressionError` (with ``rows``) for division/modulo by zero, sqrt of a
        negative, log of a non-positive or a non-finite result from finite inputs, counting
        only the rows whose value is used. A missing or wrongly sized column is a
        programming error (``ValueError``).
        """
        cols: dict[str, np.ndarray] = {}
        for name in self.names:
            if name not in columns:
                raise ValueError(f"no column given for field {name!r}")
            kind = self._field_kinds[name]
            array = np.asarray(columns[name], dtype=_DTYPES[kind] if kind != "text" else None)
            if array.shape != (n,):
                raise ValueError(f"column {name!r} has shape {array.shape}, expected ({n},)")
            cols[name] = array
        with np.errstate(all="ignore"):
            try:
                result = _Evaluator(cols, n).run(self._node, None)
            except _Failure as failure:
                node, count = failure.node, len(failure.rows)
                snippet = self.text[node.start: node.end].strip()
                message = f"{failure.what} in {short(snippet)} on {count} row{'s' * (count != 1)}"
                raise ExpressionError(Diagnostic(message, column=node.pos + 1),
                                      rows=failure.rows.tolist()) from None
            out = np.empty(n, dtype=_DTYPES[self.kind])
            out[...] = result
        return out


def compile_expression(text: str | int | float | bool, fields: Mapping[str, Kind],
                       expect: Kind | None = None) -> Expression:
    """Parse and type-check ``text`` against ``fields`` (name -> kind).

    A plain int/float/bool (a YAML number) becomes a constant expression. ``expect`` checks
    the result kind. Raises :class:`ExpressionError` whose diagnostics carry ``column``
    (1-based, in the expression text), ``found`` and ``expected``; callers add file, line
    and field with ``err.located(...)``.
    """
    if isinstance(text, bool):
        text = "true" if text else "false"
    elif isinstance(text, (int, float)):
        try:
            value = float(text)
        except OverflowError:
            value = float("inf")
        if value != value or value in (float("inf"), float("-inf")):
            raise _error("a number must be finite", 0, found=short(text),
                         expected="a finite number")
        text = repr(value) if isinstance(text, float) else str(text)
    elif not isinstance(text, str):
        raise _error("an expression must be text or a number", 0, found=short(text),
                     expected="an expression")
    bad_kinds = {k for k in fields.values() if k not in _DTYPES}
    if bad_kinds:
        raise ValueError(f"field kinds must be number, bool or text, not {bad_kinds}")
    node = parse(text)
    checker = _Checker(text, fields)
    kind = checker.check(node)
    if expect is not None and kind != expect:
        raise _error(f"the expression must give {_A_KIND[expect]}, but it gives "
                     f"{_A_KIND[kind]}", node.start, found=_A_KIND[kind],
                     expected=_A_KIND[expect])
    constant = None if checker.names else _constant(node, text)
    return Expression(text, kind, frozenset(checker.names), node,
                      {name: fields[name] for name in checker.names}, constant)


def caret(text: str, column: int) -> str:
    """The line of ``text`` holding ``column`` (1-based) with a ``^`` under that character."""
    index = max(0, min(column - 1, len(text)))
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    line = text[start: end if end != -1 else len(text)]
    pad = "".join("\t" if ch == "\t" else " " for ch in text[start:index])
    return f"{line}\n{pad}^"
