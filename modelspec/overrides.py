"""`--set key.path=value` overrides, applied to the TOML data before validation.

Values are parsed as TOML values (`128`, `1e-3`, `"adam"`, `[3, 3]`, `true`); a
bare word that is not valid TOML is taken as a string, so `--set
data.dataset=fashion_mnist` works without shell quoting. A path may name a layer
by index or by name: `layers.2.filters=64` or `layers.conv1.filters=64`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from .errors import UsageError
from .source import tomllib
from .validate import did_you_mean


def parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def split_override(item: str) -> tuple[list[str], str]:
    key, sep, value = item.partition("=")
    parts = [p.strip() for p in key.strip().split(".")]
    if not sep or not all(parts):
        raise UsageError(
            f"--set takes KEY.PATH=VALUE. Received: {item!r}",
            hint="for example --set train.batch_size=128",
        )
    return parts, value.strip()


def _child(container: Any, part: str, item: str) -> Any:
    """The key or list index that `part` names inside `container`."""
    if isinstance(container, list):
        if part.lstrip("-").isdigit():
            i = int(part)
            if -len(container) <= i < len(container):
                return i
            raise UsageError(
                f"--set {item!r}: index {i} is out of range ({len(container)} entries)"
            )
        for i, entry in enumerate(container):
            if isinstance(entry, dict) and entry.get("name") == part:
                return i
        names = [
            e["name"]
            for e in container
            if isinstance(e, dict) and isinstance(e.get("name"), str)
        ]
        raise UsageError(
            f"--set {item!r}: no layer is named {part!r}",
            hint=did_you_mean(part, names)
            or (
                "layers are named by `name` (or counted from 0: layers.0.filters); "
                "`modelspec check` lists them"
            ),
        )
    return part


def apply_overrides(
    data: dict, items: Iterable[str], where: list | None = None
) -> dict:
    """Return a copy of `data` with every override applied, in order. `where`,
    if given, receives (key path with layer names resolved to indices, item)
    for each override, so diagnostics can point at the command line."""
    data = copy.deepcopy(data)
    for item in items:
        parts, raw = split_override(item)
        node: Any = data
        for part in parts[:-1]:
            key = _child(node, part, item)
            if isinstance(node, dict) and key not in node:
                node[key] = {}
            node = node[key]
            if not isinstance(node, (dict, list)):
                raise UsageError(f"--set {item!r}: {part!r} holds a value, not a table")
        last = _child(node, parts[-1], item)
        node[last] = parse_value(raw)
        if where is not None:
            where.append((_resolved(data, parts, item), item))
    return data


def _resolved(data: dict, parts: list[str], item: str) -> tuple:
    path: list = []
    node: Any = data
    for part in parts:
        key = _child(node, part, item)
        path.append(key if not isinstance(key, int) or key >= 0 else len(node) + key)
        node = node[key] if isinstance(node, (dict, list)) else None
    return tuple(path)
