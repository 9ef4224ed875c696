"""Templates: spec values holding `${...}` expressions.

A string that is exactly one `${expr}` becomes the expression's value (int,
float, bool, str or list); `${...}` inside a longer string is interpolated as
text ("block${i}"). Lists and inline tables are substituted item by item.
"""

from __future__ import annotations

import re
from typing import Mapping

from .expr import ExprError, Value, evaluate

_WHOLE_NAME = re.compile(r"^\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}$")


def segments(text: str) -> list[tuple[bool, str]]:
    """Split a string into (is_expression, text) pieces. A `}` inside a quoted
    string of an expression does not end it."""
    out: list[tuple[bool, str]] = []
    i = 0
    while True:
        start = text.find("${", i)
        if start < 0:
            if i < len(text):
                out.append((False, text[i:]))
            return out
        if start > i:
            out.append((False, text[i:start]))
        j, quote = start + 2, None
        while j < len(text):
            c = text[j]
            if quote:
                quote = None if c == quote else quote
            elif c in "'\"":
                quote = c
            elif c == "}":
                break
            j += 1
        if j >= len(text):
            raise ExprError(f"'${{' has no closing '}}'. Received: {text!r}")
        out.append((True, text[start + 2 : j]))
        i = j + 1


def has_template(value: Value) -> bool:
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, list):
        return any(has_template(v) for v in value)
    if isinstance(value, dict):
        return any(has_template(v) for v in value.values())
    return False


def whole_name(value: Value) -> str | None:
    """'x' when the value is exactly "${x}" (it then carries x's position)."""
    if isinstance(value, str):
        m = _WHOLE_NAME.match(value)
        return m.group(1) if m else None
    return None


def substitute(value: Value, env: Mapping[str, Value]) -> Value:
    """Replace every `${...}` in a value, recursively in lists and tables: a
    string that is exactly one `${expr}` becomes the expression's value; one
    with text around it gets the values interpolated as text."""
    if isinstance(value, list):
        return [substitute(v, env) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, env) for k, v in value.items()}
    if not isinstance(value, str) or "${" not in value:
        return value
    parts = segments(value)
    if len(parts) == 1 and parts[0][0]:
        return evaluate(parts[0][1], env)
    return "".join(_text(evaluate(s, env)) if is_expr else s for is_expr, s in parts)


def _text(v: Value) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, dict)):
        raise ExprError(f"a list cannot be part of a longer string. Received: {v!r}")
    return str(v)
