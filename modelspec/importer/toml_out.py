"""Render a spec document (plain dicts and lists) as TOML, laid out like the
hand-written specs in specs/: `model` and `vars` as inline tables, one layer per
line, then the other tables, then one `[blocks.NAME]` table per block.

Only what TOML can hold is accepted (str, bool, int, float, lists, dicts); the
output reads back (tomllib) to the same document.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence

_BARE = re.compile(r"^[A-Za-z0-9_\-]+$")
# Tables written as `name = { ... }` lines before the layers, in this order.
_INLINE_FIRST = ("model", "vars")
_TABLE_ORDER = ("data", "train", "transfer", "export")


def key(name: str) -> str:
    return name if _BARE.match(name) else json.dumps(name)


def value(v) -> str:
    """One TOML value on one line (inline tables for dicts)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        # JSON's escapes are a subset of a TOML basic string's.
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{key(k)} = {value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML: {v!r}")


def _is_rows(v) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _assign(name: str, v) -> list[str]:
    """`name = value`; a list of tables as one table per line."""
    if _is_rows(v):
        return [f"{key(name)} = ["] + [f"  {value(x)}," for x in v] + ["]"]
    return [f"{key(name)} = {value(v)}"]


def _table(header: str, body: dict) -> list[str]:
    lines = [f"[{header}]"]
    for name, v in body.items():
        lines += _assign(name, v)
    return lines


def render(doc: dict, comments: Sequence[str] = ()) -> str:
    """The TOML text of `doc`, with `comments` as `#` lines at the top."""
    lines = [f"# {c}" if c else "#" for c in comments]
    if lines:
        lines.append("")
    top = [k for k in _INLINE_FIRST if k in doc]
    for name in top:
        lines += _assign(name, doc[name])
    if "layers" in doc:
        if top:
            lines.append("")
        lines += _assign("layers", doc["layers"])
    rest = [k for k in doc if k not in (*_INLINE_FIRST, "layers", "blocks")]
    for name in sorted(rest, key=lambda k: (k not in _TABLE_ORDER, k)):
        body = doc[name]
        lines.append("")
        if isinstance(body, dict):
            lines += _table(name, body)
        else:  # a plain top-level value would land inside the previous table
            raise TypeError(f"top-level {name!r} must be a table")
    for name, block in (doc.get("blocks") or {}).items():
        lines.append("")
        lines += _table(f"blocks.{key(name)}", block)
    return "\n".join(lines) + "\n"
