"""The name tree of a flat layer list, the first step of folding.

Keras names are hierarchical: `conv3_block2_1_conv` is layer `1_conv` of block
`block2` of stage `conv3`. Consecutive layers whose names share a prefix that
ends at a `_` form a node; nodes nest. At the top level, consecutive layers
whose names end in the same `_<number>` (`conv2d_12`, `batch_normalization_12`,
`activation_12`; NASNet's cells `..._stem_1`) form a keyed node first. Nodes
are only candidates: folding keeps a node as a block instance when other nodes
have the same structure, and otherwise dissolves it into its parent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..validate import default_names


@dataclass(eq=False)
class Node:
    prefix: str  # the global name prefix of its layers, ending in "_" ("" at the root)
    children: list = field(default_factory=list)  # layer dicts and Nodes, in order
    parent: Node | None = None
    height: int = 1
    pred: str = "input"  # the layer just before its first one (what it reads as "in")
    names: list[str] = field(default_factory=list)  # its layers' names, in order
    key: str | None = None  # keyed node: the number in every name
    mode: str = "end"  # where a key is: "end", last "token", or "none"

    def local(self, name: str) -> str:
        """A name inside the node as its block writes it."""
        span = key_span(name, self.mode) if self.key is not None else None
        if span is not None:
            return name[: span[0]] + "${n}" + name[span[1] :]
        return name[len(self.prefix) :]


MODES = ("end", "token", "none")


def key_span(name: str, mode: str) -> tuple[int, int] | None:
    """Where a keyed name's number is: `conv2d_12` (end), `conv_dw_3_bn`
    (the last token that is a number)."""
    pattern = {"end": r"_(0|[1-9]\d*)$", "token": r"_(0|[1-9]\d*)(?=_|$)"}.get(mode)
    found = list(re.finditer(pattern, name)) if pattern else []
    return found[-1].span(1) if found else None


def normalize(layers: list[dict]) -> list[dict]:
    """Copies with every name given and every `inputs` written out (a layer
    without `inputs` reads the one before it, the first one the model input)."""
    names = default_names(layers)
    out = []
    for k, layer in enumerate(layers):
        copy = dict(layer, name=names[k])
        copy["inputs"] = list(layer.get("inputs", [names[k - 1] if k else "input"]))
        out.append(copy)
    return out


def _token(name: str, prefix: str) -> str | None:
    rest = name[len(prefix) :]
    head, sep, tail = rest.partition("_")
    return head if sep and head and tail else None


def _key(name: str, mode: str) -> str | None:
    span = key_span(name, mode)
    return name[span[0] : span[1]] if span else None


def _keyed(node: Node, layers: list[dict], k: int, before: str) -> int:
    """At the top level: the end of a keyed node starting at k (k: none)."""
    key = _key(layers[k]["name"], node.mode)
    end = k
    while (
        key is not None
        and end < len(layers)
        and _key(layers[end]["name"], node.mode) == key
    ):
        end += 1
    if node.parent is not None or node.key is not None or end - k < 2:
        return k
    child = Node("", list(layers[k:end]), node, 1, before, key=key, mode=node.mode)
    child.names = [layer["name"] for layer in layers[k:end]]
    node.children.append(child)
    node.height = max(node.height, 2)
    return end


def _fill(node: Node, layers: list[dict], before: str) -> None:
    node.names = [layer["name"] for layer in layers]
    k = 0
    while k < len(layers):
        end = _keyed(node, layers, k, before)
        if end > k:
            before, k = layers[end - 1]["name"], end
            continue
        token = _token(layers[k]["name"], node.prefix)
        end = k + 1
        while (
            token is not None
            and end < len(layers)
            and _token(layers[end]["name"], node.prefix) == token
        ):
            end += 1
        if end - k >= 2:
            child = Node(node.prefix + f"{token}_", parent=node, pred=before)
            _fill(child, layers[k:end], before)
            node.children.append(child)
            node.height = max(node.height, child.height + 1)
        else:
            node.children.append(layers[k])
        before = layers[end - 1]["name"]
        k = end


def build_tree(flat: list[dict], mode: str = "end") -> Node:
    root = Node("", mode=mode)
    _fill(root, flat, "input")
    return root


def walk(node: Node) -> list[Node]:
    """Every node below `node` (not itself), parents before children."""
    out: list[Node] = []
    for child in node.children:
        if isinstance(child, Node):
            out.append(child)
            out += walk(child)
    return out


def flat_key(node: Node, by_name: dict[str, dict]) -> str:
    """The node's layers with names relative to it and values left out: equal
    keys mean the nodes will fold alike, whatever their hyperparameters."""
    inside = set()
    parts = []
    for name in node.names:
        layer = by_name[name]
        refs = [
            node.local(r) if r in inside else "^" * (r == node.pred)
            for r in layer["inputs"]
        ]
        rest = sorted(k for k in layer if k not in ("name", "inputs"))
        parts.append(f"{node.local(name)}:{layer['type']}:{rest}:{refs}")
        inside.add(name)
    return "|".join(parts)
