"""Blocks from nodes of the same structure: the values that differ between
them become the block's arguments, the ones they share stay written in it."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from ..blocks.models import NAME, RESERVED, USE_KEYS

_FIXED = frozenset({"type", "use", "name", "prefix", "inputs"})
_HOLE = "\x00"


def _leaves(value: Any, path: tuple) -> list[tuple[tuple, Any]]:
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            out += _leaves(v, path + (k,))
        return out
    return [(path, value)]


def values(entries: list[dict]) -> list[tuple[tuple, Any]]:
    """(path, value) of every value that may differ between instances:
    hyperparameters, nested block arguments and repeat counts."""
    out = []
    for n, entry in enumerate(entries):
        for key, value in entry.items():
            if key not in _FIXED:
                out += _leaves(value, (n, key))
    return out


def _set(entries: list[dict], path: tuple, value: Any) -> None:
    target: Any = entries
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


def skeleton(entries: list[dict], slot_names: list[str]) -> str:
    """Equal for entries that differ in values only."""
    holes = copy.deepcopy(entries)
    for path, _ in values(entries):
        _set(holes, path, _HOLE)
    return json.dumps([holes, slot_names])


def _arg_name(path: tuple, taken: set[str]) -> str:
    base = "_".join(str(p) for p in path[1:])
    base = "n" if base == "repeat" else base
    if not re.match(NAME, base) or base in USE_KEYS or base in RESERVED:
        base = "a_" + re.sub(r"\W", "_", base)
    name, k = base, 1
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    taken.add(name)
    return name


def _key(v: Any) -> str:
    return json.dumps(v, sort_keys=True)


def _ints(column: list) -> bool:
    return all(type(v) is int and v > 0 for v in column)


def _derived(column: list, given: list[dict[str, Any]]) -> str | None:
    """`${4 * filters}` or `${filters // 4}` when the column is a fixed
    multiple or fraction of an argument's (ResNet's 4x bottleneck width)."""
    if not _ints(column) or not given:
        return None
    for arg in given[0]:
        if arg == "n":  # an instance number or count: no width derives from it
            continue
        base = [g[arg] for g in given]
        if not _ints(base):
            continue
        if all(c % b == 0 for c, b in zip(column, base, strict=True)):
            ratios = {c // b for c, b in zip(column, base, strict=True)}
            if len(ratios) == 1 and (r := ratios.pop()) > 1:
                return "${" + f"{r} * {arg}" + "}"
        if all(b % c == 0 for c, b in zip(column, base, strict=True)):
            ratios = {b // c for c, b in zip(column, base, strict=True)}
            if len(ratios) == 1 and (r := ratios.pop()) > 1:
                return "${" + f"{arg} // {r}" + "}"
    return None


def make_block(
    members: list[list[dict]], slot_names: list[str], keys: list[str | None]
) -> tuple[dict, list[dict[str, Any]]]:
    """A block definition from same-skeleton entry lists, and each member's
    arguments. Values that are equal in all members stay literal; columns
    that are equal to each other share one argument. Keyed members (names
    ending in _<number>) take that number as argument n."""
    paths = [p for p, _ in values(members[0])]
    columns = [[v for _, v in values(m)] for m in members]
    body = copy.deepcopy(members[0])
    args: dict[str, str] = {}  # column key -> argument name
    given: list[dict[str, Any]] = [{} for _ in members]
    taken: set[str] = set()
    if keys[0] is not None:
        args["n"] = _arg_name((0, "n"), taken)
        for g, key in zip(given, keys, strict=True):
            g["n"] = int(key or 0)
    for p, path in enumerate(paths):
        column = [c[p] for c in columns]
        if all(_key(v) == _key(column[0]) for v in column):
            continue
        key = _key(column)
        if key not in args:
            derived = _derived(column, given)
            if derived is not None:
                _set(body, path, derived)
                continue
            args[key] = _arg_name(path, taken)
            for g, v in zip(given, column, strict=True):
                g[args[key]] = v
        _set(body, path, "${" + args[key] + "}")
    block: dict[str, Any] = {"args": list(args.values())}
    if slot_names != ["in"]:
        block["inputs"] = list(slot_names)
    block["layers"] = body
    return block, given
