"""Rendering a run of items (plain layers and block instances) as entries in
the block syntax, with names relative to the enclosing instance."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .fold_names import index, is_name, template

_LAYER_FIXED = ("type", "name", "inputs")


@dataclass(eq=False)
class Inst:
    """A node kept as an instance of a block."""

    block: str
    args: dict[str, Any]
    prefix: str  # the global prefix of its layers
    slots: list[str]  # the global names it reads; slot 0 is the layer before it
    names: list[str]  # its layers' global names, in order
    key: str | None = None  # keyed instance: argument n, its number in names
    label: str = ""  # keyed instance: its name is <label>_<key>


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _rel(inst: Inst, prefix: str) -> str:
    if inst.key is not None:
        return f"{inst.label}_{inst.key}"
    return inst.prefix[len(prefix) : -1]


def _args_join(last: Inst, inst: Inst) -> bool:
    """Equal arguments; keyed instances' n counts up by one."""
    if last.key is None:
        return _same(inst.args, last.args)
    rest = {k: v for k, v in inst.args.items() if k != "n"}
    return _same(rest, {k: v for k, v in last.args.items() if k != "n"}) and (
        inst.args["n"] == last.args["n"] + 1
    )


def _joins(run: list[Inst], inst: Inst, prefix: str) -> bool:
    last = run[-1]
    if inst.block != last.block or not _args_join(last, inst):
        return False
    if inst.slots[1:] != last.slots[1:] or inst.slots[0] != last.names[-1]:
        return False
    rels = [_rel(x, prefix) for x in run + [inst]]
    return template(rels) is not None and len({is_name(r) for r in rels}) == 1


def runs(items: list, prefix: str) -> list[list]:
    """Items grouped: each plain layer alone, consecutive like instances together."""
    out: list[list] = []
    for item in items:
        prev = out[-1] if out else None
        if (
            isinstance(item, Inst)
            and prev is not None
            and isinstance(prev[0], Inst)
            and _joins(prev, item, prefix)
        ):
            prev.append(item)
        else:
            out.append([item])
    return out


class Renderer:
    """Entries for the items of one node (or of the whole model when `top`)."""

    def __init__(
        self,
        local: Callable[[str], str],
        prefix: str,
        pred: str,
        top: bool,
        taken: set[str],
    ) -> None:
        self.local, self.prefix, self.pred, self.top = local, prefix, pred, top
        self.taken = taken  # relative names, which slot names must not shadow
        self.slots: list[str] = [pred]
        self.slot_names: list[str] = [self._slot_name(0)]
        self.produced: set[str] = set()

    def _slot_name(self, k: int) -> str:
        name = "in" if k == 0 else f"in{k + 1}"
        while name in self.taken:
            name = "x" + name
        return name

    def ref(self, name: str) -> str:
        if self.top:
            return name
        if name in self.produced:
            return self.local(name)
        if name in self.slots:
            return self.slot_names[self.slots.index(name)]
        if name == "input":
            return name
        self.slots.append(name)
        self.slot_names.append(self._slot_name(len(self.slots) - 1))
        return self.slot_names[-1]

    def layer(self, layer: dict, prev: str) -> dict:
        entry = {"type": layer["type"], "name": self.local(layer["name"])}
        if layer["inputs"] != [prev]:
            entry["inputs"] = [self.ref(r) for r in layer["inputs"]]
        entry.update((k, v) for k, v in layer.items() if k not in _LAYER_FIXED)
        self.produced.add(layer["name"])
        return entry

    def use(self, run: list[Inst], prev: str) -> dict:
        first = run[0]
        rels = [_rel(x, self.prefix) for x in run]
        entry: dict[str, Any] = {"use": first.block}
        if first.key is not None:  # names end in _<n>: no prefix of their own
            entry["name"], entry["prefix"] = template(rels), ""
        elif is_name(rels[0]):
            entry["name"] = template(rels)
        else:  # a name that cannot be an instance's (`1_conv`): a prefix
            labels = [first.block + "_" + re.sub(r"\W", "_", r) for r in rels]
            entry["name"] = template(labels) or f"{first.block}_${{i}}"
            entry["prefix"] = template([r + "_" for r in rels])
        if len(first.slots) > 1:
            entry["inputs"] = [self.ref(r) for r in first.slots]
        entry["repeat"] = len(run)
        entry.update(first.args)
        if first.key is not None and len(run) > 1:
            entry["n"] = "${" + index(first.args["n"] - 1) + "}"
        for inst in run:
            self.produced.update(inst.names)
        return entry

    def render(self, items: list) -> list[dict]:
        entries, prev = [], self.pred
        for run in runs(items, self.prefix):
            if isinstance(run[0], Inst):
                entries.append(self.use(run, prev))
                prev = run[-1].names[-1]
            else:
                entries.append(self.layer(run[0], prev))
                prev = run[0]["name"]
        return entries
