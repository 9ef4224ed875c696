"""Graph pass: layer names, `inputs` references, cycles and dead layers.

Layers form a DAG in list order: each reads earlier layers only, so a reference
to a later layer is both a forward reference and the only way to make a cycle.
"""

from __future__ import annotations

from .diagnostics import Diagnostic
from .report import Node
from .schema.merge_norm import MERGE_KINDS
from .source import Positions
from .validate import Validated, default_names, did_you_mean

INPUT = "input"
MERGES = frozenset({"add", "concat"}) | MERGE_KINDS  # vocab-merge: multiply, ...


def build_graph(v: Validated, positions: Positions) -> tuple[list[Node], list[Diagnostic]]:
    diags: list[Diagnostic] = []
    names = default_names(v.raw_layers)
    nodes: list[Node] = []

    def add(code, msg, i, key=None, hint=None):
        path = ("layers", i) + ((key,) if key else ())
        line, col = positions.find(path)
        diags.append(Diagnostic(code, msg, line=line, column=col, layer=names[i],
                                index=i, layer_type=nodes[i].type if i < len(nodes)
                                else None, hint=hint))

    first_at: dict[str, int] = {}
    for i, (raw, layer) in enumerate(zip(v.raw_layers, v.layers)):
        kind = raw.get("type") if isinstance(raw.get("type"), str) else "?"
        nodes.append(Node(i, names[i], kind, [], layer, raw,
                          positions.find(("layers", i))[0]))
        name = names[i]
        if name == INPUT:
            add("MS201", "the name 'input' is reserved for the model input", i,
                "name", hint="rename this layer")
        elif name in first_at:
            j = first_at[name]
            add("MS201", f"name '{name}' is already used by layers[{j}]", i,
                "name" if "name" in raw else None,
                hint="give each layer a unique `name`")
        else:
            first_at[name] = i

    for i, node in enumerate(nodes):
        refs = node.raw.get("inputs")
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            node.inputs = [names[i - 1] if i else INPUT]
            continue
        node.inputs = list(refs)
        if node.type not in MERGES and len(refs) > 1:
            add("MS103", f"{node.type} reads one input; `inputs` names {len(refs)}: "
                f"{refs}", i, "inputs", hint="use an `add` or `concat` layer to "
                "merge several layers")
        for ref in refs:
            if ref == INPUT:
                continue
            j = first_at.get(ref)
            if j is None:
                add("MS202", f"inputs names '{ref}', but no layer has that name", i,
                    "inputs", hint=did_you_mean(ref, list(first_at) + [INPUT]))
            elif j == i:
                add("MS203", f"layer reads itself ('{ref}'): a cycle", i, "inputs",
                    hint=f"a layer reads earlier layers: name the one before "
                    f"'{ref}' ('{names[i - 1] if i else INPUT}'), or drop `inputs`")
            elif j > i:
                add("MS203", f"inputs names '{ref}', which is layers[{j}], after this "
                    "layer: a layer may only read earlier layers (this makes a "
                    "cycle or a forward reference)", i, "inputs",
                    hint=f"move '{ref}' before '{node.name}' in the file")
    diags += _dead_layers(nodes, first_at, positions)
    return nodes, diags


def _dead_layers(nodes: list[Node], first_at, positions) -> list[Diagnostic]:
    """Layers whose output never reaches the last layer (the model output)."""
    readers: dict[str, list[str]] = {n.name: [] for n in nodes}
    for n in nodes:
        for ref in n.inputs:
            if ref in readers and first_at.get(ref, len(nodes)) < n.index:
                readers[ref].append(n.name)
    by_name = {n.name: n for n in nodes}
    live, todo = set(), [nodes[-1].name]
    while todo:  # a worklist, not one sweep: forward references must not matter
        name = todo.pop()
        if name in live or name not in by_name:
            continue
        live.add(name)
        todo.extend(by_name[name].inputs)
    out = []
    for n in nodes[:-1]:
        if n.name in live:
            continue
        line, col = positions.find(("layers", n.index))
        if readers[n.name]:
            msg = (f"the output of '{n.name}' never reaches the model output: only "
                   f"{', '.join(repr(r) for r in readers[n.name])} "
                   f"{'reads' if len(readers[n.name]) == 1 else 'read'} it, and "
                   f"{'that is' if len(readers[n.name]) == 1 else 'they are'} dead "
                   "too")
            hint = None
        else:
            msg = (f"nothing reads the output of '{n.name}', so it does nothing "
                   "(every layer but the last must feed a later layer)")
            hint = _dead_hint(n, nodes)
        out.append(Diagnostic("MS205", msg, line=line, column=col, layer=n.name,
                              index=n.index, layer_type=n.type, hint=hint))
    return out


def _dead_hint(dead: Node, nodes: list[Node]) -> str:
    nxt = nodes[dead.index + 1] if dead.index + 1 < len(nodes) else None
    if nxt is not None and "inputs" in nxt.raw:
        return (f"the next layer '{nxt.name}' reads {nxt.inputs}; to use "
                f"'{dead.name}', set its inputs = [\"{dead.name}\"], or delete "
                f"'{dead.name}'")
    return f"feed '{dead.name}' into a later layer's `inputs`, or delete it"
