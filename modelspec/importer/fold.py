"""`--fold`: a flat layer list -> blocks and a shorter layer list.

The algorithm (framework-free, keyed to no model):
1. Name tree (fold_tree): consecutive layers sharing a name prefix that ends at
   a `_` form a node; nodes nest (`conv3_` holds `conv3_block2_`).
2. Bottom up by height, each node's content (its layers, and its children as
   instances or dissolved into it) is rendered with names relative to the node
   and its outside reads as block inputs (fold_render). Runs of consecutive
   instances of one block with equal arguments and names counting up become one
   use entry with `repeat`.
3. Nodes whose renderings differ only in values form a class; a class that
   saves lines becomes a block whose arguments are the values that differ
   (fold_blocks); its nodes become instances. Other nodes are dissolved.
4. Names may also count with a number (`conv2d_12`, `conv_dw_3_bn`): top-level
   runs of layers whose names hold the same number are keyed nodes, folded with
   that number as argument n. Folding runs with numbers at the end of names,
   as any last token, and not at all; the shortest result wins.
5. Each result is expanded with the checker's own expansion and compared with
   the input; only the same layers count, so a mistake returns the input.

The result, for the TOML writer: `blocks` maps a block name to
`{"args": [...], "inputs": [...] (only when not ["in"]), "layers": [...]}`;
layers (top level and in blocks) are plain layer tables or use entries
(`use`, `name`, `prefix`, `inputs`, `repeat`, arguments). Written one entry
per line, like the zoo specs, a spec has `lines(blocks, layers)` entry lines.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from ..blocks.template import has_template, substitute
from ..validate import default_names
from .fold_blocks import make_block, skeleton
from .fold_render import Inst, Renderer
from .fold_tree import MODES, Node, build_tree, flat_key, normalize, walk

BLOCK_LINES = 4  # `[blocks.X]`, `args = [...]`, `layers = [`, `]`
MIN_LAYERS = 3  # a block of two layers (batch norm + relu) hides more than it saves


def fold_layers(layers: list[dict]) -> tuple[dict[str, dict], list[dict]]:
    """(blocks, layers) that expand to exactly `layers`; ({}, layers) when
    nothing repeats (or the layers are not a flat list of named tables)."""
    if not _foldable(layers):
        return {}, layers
    flat = normalize(layers)
    best: tuple[dict[str, dict], list[dict]] = ({}, layers)
    for mode in MODES:  # where numbers in names are: keep the shortest result
        blocks, entries = _Folder(flat, mode).run()
        if (
            blocks
            and lines(blocks, entries) < lines(*best)
            and same_expansion(blocks, entries, layers)
        ):
            best = (blocks, entries)
    return best


def lines(blocks: dict[str, dict], layers: list[dict]) -> int:
    """Entries plus each block's own lines: one entry per line, as written."""
    return len(layers) + sum(len(b["layers"]) + BLOCK_LINES for b in blocks.values())


def _foldable(layers: Any) -> bool:
    if not isinstance(layers, list) or not layers:
        return False
    for layer in layers:
        if not isinstance(layer, dict) or not isinstance(layer.get("type"), str):
            return False
        if "use" in layer or "when" in layer or has_template(layer):
            return False
        inputs = layer.get("inputs", [])
        if not isinstance(inputs, list) or not all(isinstance(r, str) for r in inputs):
            return False
    names = default_names(layers)
    return len(set(names)) == len(names)  # else the checker's error comes first


class _Folder:
    def __init__(self, flat: list[dict], mode: str = "end") -> None:
        self.by_name = {layer["name"]: layer for layer in flat}
        self.root = build_tree(flat, mode)
        self.nodes = walk(self.root)
        self.keys = {n: flat_key(n, self.by_name) for n in self.nodes}
        self.shared = Counter(self.keys.values())  # parents of one structure
        self.result: dict[Node, list] = {}
        self.blocks: dict[str, dict] = {}

    def content(self, node: Node) -> list:
        out: list = []
        for child in node.children:
            out += self.result[child] if isinstance(child, Node) else [child]
        return out

    def render(self, node: Node, items: list) -> tuple[list[dict], list[str], list]:
        taken = {node.local(name) for name in node.names}
        r = Renderer(node.local, node.prefix, node.pred, node is self.root, taken)
        return r.render(items), r.slots, r.slot_names

    def run(self) -> tuple[dict[str, dict], list[dict]]:
        for height in range(1, self.root.height):
            classes: dict[str, list] = {}
            for node in (n for n in self.nodes if n.height == height):
                items = self.content(node)
                entries, slots, slot_names = self.render(node, items)
                key = skeleton(entries, slot_names)
                classes.setdefault(key, []).append((node, items, entries, slots))
            for key, members in classes.items():
                self.settle(key, members)
        if not self.blocks:
            return {}, []
        entries, _, _ = self.render(self.root, self.content(self.root))
        for block in self.blocks.values():
            block["layers"] = tidy(block["layers"])
        return self.blocks, tidy(entries)

    def settle(self, key: str, members: list) -> None:
        """Make the class a block if that saves lines, else dissolve it."""
        size = len(members[0][2])
        uses = self.uses([m[0] for m in members])
        if (
            len(members) < 2
            or len(members[0][0].names) < MIN_LAYERS
            or ((uses - 1) * size <= uses + BLOCK_LINES - 1)
        ):
            for node, items, _, _ in members:
                self.result[node] = items
            return
        name = self.block_name(members[0][0])
        slot_names = json.loads(key)[1]
        keys = [m[0].key for m in members]
        block, given = make_block([m[2] for m in members], slot_names, keys)
        self.blocks[name] = block
        label = name
        # a keyed instance's name must not be a layer's: reading it would
        # read the instance
        while any(f"{label}_{k}" in self.by_name for k in keys):
            label += "_use"
        for (node, _, _, slots), args in zip(members, given, strict=True):
            inst = Inst(name, args, node.prefix, slots, node.names, node.key, label)
            self.result[node] = [inst]

    def uses(self, nodes: list[Node]) -> int:
        """How many times the class is written if it becomes a block: once per
        parent, except that parents of one structure (which will fold alike)
        count once."""
        per_parent: dict[Node, int] = {}
        for node in nodes:
            parent = node.parent or self.root
            per_parent[parent] = per_parent.get(parent, 0) + 1
        count: dict[str, int] = {}
        for parent, n in per_parent.items():
            key = self.keys.get(parent, "")
            if self.shared[key] < 2 or parent is self.root:
                key += f"#{id(parent)}"
            count[key] = max(count.get(key, 0), n)
        return sum(count.values())

    def block_name(self, node: Node) -> str:
        token = node.prefix[len(node.parent.prefix) : -1] if node.parent else ""
        token = node.names[0].split("_")[0] if node.key is not None else token
        base = re.sub(r"\d+[a-z]?$", "", token.split("_")[-1]).lower()
        base = base if re.fullmatch(r"[a-z][a-z0-9_]*", base) else "block"
        name, k = base, 1
        while name in self.blocks:
            k += 1
            name = f"{base}_{k}"
        return name


def tidy(entries: list[dict]) -> list[dict]:
    """Use entries that are not repeated lose `repeat = 1` and their ${i}."""
    out = []
    for entry in entries:
        if "use" in entry and entry.get("repeat") == 1:
            entry = {k: v for k, v in entry.items() if k != "repeat"}
            for key in ("name", "prefix"):
                if key in entry:
                    entry[key] = substitute(entry[key], {"i": 1})
        out.append(entry)
    return out


def same_expansion(blocks: dict, layers: list[dict], flat: list[dict]) -> bool:
    """Whether the checker's expansion of (blocks, layers) is exactly `flat`."""
    from ..blocks import expand
    from ..source import Positions

    got = expand({"blocks": blocks, "layers": layers}, Positions())
    if any(d.is_error for d in got.diagnostics):
        return False
    return _canonical(got.raw["layers"]) == _canonical(flat)


def _canonical(layers: list[dict]) -> list[list]:
    return [sorted(layer.items()) for layer in normalize(layers)]
