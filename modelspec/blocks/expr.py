"""The `${...}` expressions of blocks: a small, safe arithmetic language.

Parsed with `ast.parse(mode="eval")` and evaluated by walking a whitelist of
node types; nothing is ever passed to eval/exec and no attribute is looked up,
so a spec cannot run code. Numbers and strings are bounded so that no
expression can use unbounded time or memory (`10 ** 10 ** 10` is refused).
"""

from __future__ import annotations

import ast
import difflib
import functools
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

MAX_SOURCE = 500  # characters in one expression
MAX_NODES = 200  # syntax-tree nodes in one expression
MAX_INT = 10**15  # |int| results; far above any layer size
MAX_EXPONENT = 64
MAX_TEXT = 200  # characters in a string result
MAX_LIST = 64  # items in a list result

ALLOWED = (
    "literals, names, + - * / // % **, unary -, comparisons, and/or/not, "
    "`a if c else b`, list[index] and the functions "
)


class ExprError(Exception):
    """An expression that cannot be evaluated; the message states the rule."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def make_divisible(v, divisor, min_value=None):
    """Keras applications' `_make_divisible` (MobileNetV2/V3, EfficientNet),
    operation for operation, so that widths round exactly as Keras's do."""
    _need_numbers("make_divisible", v, divisor)
    if divisor <= 0:
        raise ExprError(f"make_divisible needs a divisor > 0. Received: {divisor}")
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def letter(n):
    """1 -> 'a', 2 -> 'b', ... 26 -> 'z' (EfficientNet's `block2b` names)."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 26:
        raise ExprError(f"letter(n) needs an int from 1 to 26. Received: n={n!r}")
    return "abcdefghijklmnopqrstuvwxyz"[n - 1]


def _need_numbers(fn: str, *values) -> None:
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ExprError(f"{fn}() takes numbers. Received: {v!r}")


def _numeric(fn: str, f: Callable) -> Callable:
    def call(*args):
        _need_numbers(fn, *args)
        return f(*args)

    return call


def _minmax(fn: str, f: Callable) -> Callable:
    def call(*args):
        if len(args) == 1 and isinstance(args[0], list):
            args = tuple(args[0])
        if not args:
            raise ExprError(f"{fn}() needs at least one value")
        _need_numbers(fn, *args)
        return f(args)

    return call


def _round(x, ndigits=None):
    _need_numbers("round", x)
    if ndigits is not None and (
        isinstance(ndigits, bool) or not isinstance(ndigits, int) or abs(ndigits) > 20
    ):
        raise ExprError(f"round()'s ndigits is an int up to 20. Received: {ndigits!r}")
    return round(x) if ndigits is None else round(x, ndigits)


def _str(v):
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise ExprError(f"str() takes a number or a string. Received: {v!r}")
    return v if isinstance(v, str) else str(v)


FUNCTIONS: dict[str, Callable] = {
    "min": _minmax("min", min),
    "max": _minmax("max", max),
    "abs": _numeric("abs", abs),
    "int": _numeric("int", int),
    "float": _numeric("float", float),
    "round": _round,
    "ceil": _numeric("ceil", math.ceil),
    "floor": _numeric("floor", math.floor),
    "letter": letter,
    "str": _str,
    "make_divisible": make_divisible,
}
KEYWORDS = {"make_divisible": {"min_value", "divisor"}, "round": {"ndigits"}}

_BINOPS: dict[type, tuple[str, Callable]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.FloorDiv: ("//", operator.floordiv),
    ast.Mod: ("%", operator.mod),
    ast.Pow: ("**", operator.pow),
}
_COMPARE: dict[type, Callable] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
# Refused constructs, named the way a spec author would think of them.
_REFUSED: dict[type, str] = {
    ast.Attribute: "attribute access (a.b)",
    ast.Lambda: "lambda",
    ast.ListComp: "a list comprehension",
    ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.JoinedStr: "an f-string",
    ast.NamedExpr: "assignment (:=)",
    ast.Starred: "unpacking (*x)",
    ast.Slice: "slicing",
    ast.Await: "await",
    ast.Yield: "yield",
}

Value = Any  # int | float | bool | str | list


def rule() -> str:
    return ALLOWED + ", ".join(sorted(FUNCTIONS))


def evaluate(source: str, env: Mapping[str, Value]) -> Value:
    """The value of one expression (the text between `${` and `}`)."""
    if len(source) > MAX_SOURCE:
        raise ExprError(
            f"an expression is at most {MAX_SOURCE} characters. "
            f"Received: {len(source)} characters"
        )
    tree = _parse(source)
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        raise ExprError(
            f"an expression has at most {MAX_NODES} parts. Received: {nodes}"
        )
    return _Eval(env, source).visit(tree.body)


@functools.lru_cache(maxsize=4096)
def _parse(source: str) -> ast.Expression:
    # A block's expressions repeat in every instance: parse each text once.
    try:
        return ast.parse(source.strip(), mode="eval")
    except SyntaxError as e:
        raise ExprError(
            f"not a valid expression ({e.msg}). Received: ${{{source}}}",
            hint="allowed: " + rule(),
        ) from None


class _Eval:
    def __init__(self, env: Mapping[str, Value], source: str) -> None:
        self.env = env
        self.source = source

    def refuse(self, what: str, hint: str | None = None) -> ExprError:
        return ExprError(
            f"{what} is not allowed in ${{...}}. Received: ${{{self.source}}}",
            hint=hint or "allowed: " + rule(),
        )

    def visit(self, node: ast.AST) -> Value:
        method = getattr(self, "v_" + type(node).__name__, None)
        if method is None:
            raise self.refuse(_REFUSED.get(type(node), type(node).__name__))
        return _bounded(method(node))

    def v_Constant(self, node: ast.Constant) -> Value:
        if isinstance(node.value, (bool, int, float, str)):
            return node.value
        raise self.refuse(f"the constant {node.value!r}")

    def v_Name(self, node: ast.Name) -> Value:
        if node.id in self.env:
            return self.env[node.id]
        if node.id in FUNCTIONS:
            raise ExprError(
                f"'{node.id}' is a function: call it, as in "
                f"{node.id}(...). Received: ${{{self.source}}}"
            )
        close = difflib.get_close_matches(node.id, list(self.env), n=1, cutoff=0.6)
        names = sorted(self.env)
        known = (
            ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
            if names
            else "none"
        )
        raise ExprError(
            f"unknown name '{node.id}' (known here: {known}). "
            f"Received: ${{{self.source}}}",
            hint=f"did you mean '{close[0]}'?"
            if close
            else "names are the block's args and let, [vars] and i",
        )

    def v_List(self, node: ast.List) -> Value:
        return [self.visit(e) for e in node.elts]

    v_Tuple = v_List

    def v_Subscript(self, node: ast.Subscript) -> Value:
        seq, index = self.visit(node.value), self.visit(node.slice)
        if not isinstance(seq, list):
            raise ExprError(
                f"only lists can be indexed. Received: {seq!r} in ${{{self.source}}}"
            )
        if isinstance(index, bool) or not isinstance(index, int):
            raise ExprError(
                f"a list index is an int. Received: {index!r} in ${{{self.source}}}"
            )
        if not -len(seq) <= index < len(seq):
            raise ExprError(
                f"index {index} is out of range for a list of "
                f"{len(seq)}. Received: ${{{self.source}}}"
            )
        return seq[index]

    def v_UnaryOp(self, node: ast.UnaryOp) -> Value:
        v = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return not v
        if isinstance(node.op, (ast.USub, ast.UAdd)) and _is_number(v):
            return -v if isinstance(node.op, ast.USub) else +v
        raise self.refuse(f"the unary operator on {v!r}")

    def v_BinOp(self, node: ast.BinOp) -> Value:
        if type(node.op) not in _BINOPS:
            raise self.refuse(f"the operator {type(node.op).__name__}")
        symbol, fn = _BINOPS[type(node.op)]
        a, b = self.visit(node.left), self.visit(node.right)
        if symbol == "+" and isinstance(a, str) and isinstance(b, str):
            return a + b
        if not (_is_number(a) and _is_number(b)):
            raise ExprError(
                f"'{symbol}' takes two numbers (or '+' two strings). "
                f"Received: {a!r} {symbol} {b!r} in ${{{self.source}}}"
            )
        if symbol == "**":
            _check_power(a, b, self.source)
        try:
            return fn(a, b)
        except ZeroDivisionError:
            raise ExprError(
                f"division by zero. Received: {a!r} {symbol} {b!r} "
                f"in ${{{self.source}}}"
            ) from None
        except OverflowError:
            raise ExprError(
                f"the result is too large. Received: ${{{self.source}}}"
            ) from None

    def v_BoolOp(self, node: ast.BoolOp) -> Value:
        is_and = isinstance(node.op, ast.And)
        value = None
        for operand in node.values:  # short-circuits, as Python does
            value = self.visit(operand)
            if bool(value) != is_and:
                return value
        return value

    def v_Compare(self, node: ast.Compare) -> Value:
        left = self.visit(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            if type(op) not in _COMPARE:
                raise self.refuse(f"the comparison {type(op).__name__}")
            right = self.visit(right_node)
            ordered = not isinstance(op, (ast.Eq, ast.NotEq))
            if (
                ordered
                and not (_is_number(left) and _is_number(right))
                and not (isinstance(left, str) and isinstance(right, str))
            ):
                raise ExprError(
                    f"cannot order {left!r} and {right!r}. Received: ${{{self.source}}}"
                )
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True

    def v_IfExp(self, node: ast.IfExp) -> Value:
        return self.visit(node.body if self.visit(node.test) else node.orelse)

    def v_Call(self, node: ast.Call) -> Value:
        if type(node.func) in _REFUSED:
            raise self.refuse(_REFUSED[type(node.func)])
        if not isinstance(node.func, ast.Name):
            raise self.refuse(
                "calling anything but a named function",
                hint="functions: " + ", ".join(sorted(FUNCTIONS)),
            )
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.refuse(
                f"calling '{name}'", hint="functions: " + ", ".join(sorted(FUNCTIONS))
            )
        args = [self.visit(a) for a in node.args]
        kwargs = {}
        for kw in node.keywords:
            if kw.arg is None or kw.arg not in KEYWORDS.get(name, ()):
                raise self.refuse(f"the keyword argument {kw.arg or '**'}= of {name}()")
            kwargs[kw.arg] = self.visit(kw.value)
        try:
            return FUNCTIONS[name](*args, **kwargs)
        except ExprError:
            raise
        except (TypeError, ValueError, OverflowError) as e:
            raise ExprError(
                f"{name}() failed: {e}. Received: ${{{self.source}}}"
            ) from None


def _is_number(v: Value) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_power(a, b, source: str) -> None:
    if abs(b) > MAX_EXPONENT:
        raise ExprError(
            f"'**' takes an exponent of at most {MAX_EXPONENT} in "
            f"size. Received: {a!r} ** {b!r} in ${{{source}}}"
        )


def _bounded(v: Value) -> Value:
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_INT:
        raise ExprError(
            f"an int in ${{...}} is at most {MAX_INT:.0e} in size. Received: {v}"
        )
    if isinstance(v, float) and not math.isfinite(v):
        raise ExprError(f"a number in ${{...}} must be finite. Received: {v}")
    if isinstance(v, str) and len(v) > MAX_TEXT:
        raise ExprError(
            f"a string in ${{...}} is at most {MAX_TEXT} characters. "
            f"Received: {len(v)} characters"
        )
    if isinstance(v, list) and len(v) > MAX_LIST:
        raise ExprError(
            f"a list in ${{...}} has at most {MAX_LIST} items. Received: {len(v)} items"
        )
    if isinstance(v, complex):
        raise ExprError(f"complex numbers are not allowed. Received: {v}")
    return v
