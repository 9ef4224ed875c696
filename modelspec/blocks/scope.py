"""Names in scope during expansion, and the `[vars]` / `[blocks]` tables."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..diagnostics import Origin
from ..source import Positions
from .expr import ExprError
from .models import NAME, RESERVED, BlockDef
from .template import substitute

Pos = tuple


@dataclass
class Scope:
    """The top level, or the body of one block instance."""

    prefix: str  # "" at the top level, "<instance>_" (or its `prefix`) in a block
    frames: list[Origin]  # the instances around, innermost first
    env: dict[str, Any]  # names usable in ${...}
    path: tuple  # where the entries are: ("layers",) or ("blocks", b, "layers")
    top: bool = False
    names: list = field(default_factory=list)  # top level: default names
    argpos: dict[str, Pos] = field(default_factory=dict)  # arg -> use site
    inputs: dict[str, str] = field(default_factory=dict)  # block input -> global
    local: dict[str, str] = field(default_factory=dict)  # local -> global output
    absent: set = field(default_factory=set)  # local names whose when is false
    counts: dict[str, int] = field(default_factory=dict)  # type -> n (names)
    uses: dict[str, int] = field(default_factory=dict)  # block -> unnamed uses
    previous: str = "input"  # global name of the previous present layer
    parent: Scope | None = None  # the scope of the use entry
    instance: str = ""  # the instance's full name ("" at the top level)

    def layer_name(self, entry: dict, kind: str, n: int) -> Any:
        """The local name of a plain layer: its `name` (substituted), else
        '<type>_<k>' with k counting that type in this scope from 1."""
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if "name" in entry:
            return substitute(entry["name"], self.env)
        if self.top:
            return self.names[n]
        return f"{kind}_{self.counts[kind]}"

    def lookup(self, ref: str) -> str | None:
        if ref in self.inputs:
            return self.inputs[ref]
        if ref in self.local:
            return self.local[ref]
        return "input" if ref == "input" else None

    def record(self, local: Any, name: str) -> None:
        if isinstance(local, str):
            self.local[local] = name
        self.previous = name
        # Enclosing scopes may read a nested instance's layers by their name
        # relative to themselves ("block1_1_conv" inside a stage).
        outer = self.parent
        while outer is not None:
            if name.startswith(outer.prefix):
                outer.local.setdefault(name[len(outer.prefix) :], name)
            outer = outer.parent


def position_index(positions: Positions) -> dict[tuple, list[tuple[tuple, Pos]]]:
    """Layer entry path -> [(key path inside it, position)], for copying the
    positions of nested keys (`kernel_init.stddev`) onto expanded layers."""
    index: dict[tuple, list] = {}
    for path, p in positions.at.items():
        if len(path) > 2 and path[0] == "layers" and isinstance(path[1], int):
            cut = 2
        elif (
            len(path) > 4
            and path[0] == "blocks"
            and path[2] == "layers"
            and isinstance(path[3], int)
        ):
            cut = 4
        else:
            continue
        index.setdefault(path[:cut], []).append((path[cut:], p))
    return index


def _bad_name(name: Any) -> bool:
    return not isinstance(name, str) or not re.match(NAME, name) or name in RESERVED


def check_vars(table: Any, x) -> dict[str, Any]:
    """`[vars]`: named values, each may use the ones before it."""
    env: dict[str, Any] = {}
    if table is None:
        return env
    if not isinstance(table, dict):
        x.add(
            "MS103",
            f"[vars] must be a table of named values. Received: {table!r}",
            ("vars",),
        )
        return env
    for key, value in table.items():
        if _bad_name(key):
            x.add(
                "MS103",
                "[vars] names are letters, digits and '_', starting with "
                f"a letter, and not 'i'. Received: {key!r}",
                ("vars", key),
            )
        elif isinstance(value, dict):
            x.add(
                "MS103",
                f"[vars] {key} must be a number, bool, string or list. "
                f"Received: a table",
                ("vars", key),
            )
        else:
            try:
                env[key] = substitute(value, env)
            except ExprError as e:
                x.add("MS503", f"[vars] {key}: {e.message}", ("vars", key), hint=e.hint)
    return env


def check_blocks(table: Any, x) -> dict[str, BlockDef]:
    """`[blocks.NAME]` tables, each validated like any other table."""
    from ..validate import _check_model, _Context

    blocks: dict[str, BlockDef] = {}
    if table is None:
        return blocks
    if not isinstance(table, dict):
        x.add(
            "MS103",
            f"[blocks] holds one [blocks.NAME] table per block. Received: {table!r}",
            ("blocks",),
        )
        return blocks
    for name, body in table.items():
        if _bad_name(name):
            x.add(
                "MS103",
                "a block name is letters, digits and '_', starting with a "
                f"letter. Received: {name!r}",
                ("blocks", name),
            )
            continue
        if not isinstance(body, dict):
            x.add(
                "MS103",
                f"[blocks.{name}] must be a table. Received: {body!r}",
                ("blocks", name),
            )
            continue
        found: list = []
        model = _check_model(BlockDef, body, ("blocks", name), _Context(x.pos, found))
        for d in found:
            d.message = f"[blocks.{name}] {d.message}"
        x.diags.extend(found)
        if model is not None:
            blocks[name] = model
    return blocks
