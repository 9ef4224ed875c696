"""Wiring pass: layer names, `inputs` references, cycles and dead layers.

Layers form a DAG in list order: each reads earlier layers only, so a reference
to a later layer is both a forward reference and the only way to make a cycle.
"""

from __future__ import annotations

from .diagnostics import Diagnostic
from .report import INPUT_INDEX, Node
from .schema.merge_norm import MERGE_KINDS
from .source import Positions
from .validate import Validated, default_names, did_you_mean

INPUT = "input"
MERGES = frozenset({"add", "concat"}) | MERGE_KINDS  # + multiply, subtract, ...


def build_graph(
    v: Validated, positions: Positions
) -> tuple[list[Node], list[Diagnostic]]:
    diags: list[Diagnostic] = []
    names = default_names(v.raw_layers)
    nodes: list[Node] = []

    def add(code, msg, i, key=None, hint=None):
        path = ("layers", i) + ((key,) if key else ())
        line, col = positions.find(path)
        diags.append(
            Diagnostic(
                code,
                msg,
                line=line,
                column=col,
                layer=names[i],
                index=i,
                layer_type=nodes[i].type if i < len(nodes) else None,
                hint=hint,
            )
        )

    where: dict[str, list[int]] = {}  # name -> every index that uses it
    for i, raw in enumerate(v.raw_layers):
        kind = raw.get("type")
        kind = kind if isinstance(kind, str) else "?"
        nodes.append(
            Node(
                i,
                names[i],
                kind,
                [],
                v.layers[i],
                raw,
                positions.find(("layers", i))[0],
            )
        )
        name = names[i]
        if name == INPUT:
            add(
                "MS201",
                "the name 'input' is reserved for the model input",
                i,
                "name",
                hint="rename this layer",
            )
            continue
        if name in where:
            add(
                "MS201",
                f"name '{name}' is already used by layers[{where[name][0]}]",
                i,
                "name" if "name" in raw else None,
                hint="give each layer a unique `name`",
            )
        where.setdefault(name, []).append(i)

    for node in nodes:
        _resolve_inputs(node, names, where, add)
    diags += _dead_layers(nodes, where, positions)
    return nodes, diags


def _resolve_inputs(node: Node, names: list[str], where: dict, add) -> None:
    """Fill node.inputs (names) and node.sources (indices), reporting bad refs.

    The previous layer is wired by position, so a duplicate name elsewhere never
    rewires it; an explicit reference to a duplicated name is ambiguous and left
    unresolved (None), so it causes no knock-on errors downstream.
    """
    i = node.index
    refs = node.raw.get("inputs")
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        node.inputs = [names[i - 1] if i else INPUT]
        node.sources = [i - 1 if i else INPUT_INDEX]
        return
    node.inputs = list(refs)
    if node.type not in MERGES and len(refs) > 1:
        add(
            "MS103",
            f"{node.type} reads one input; `inputs` names {len(refs)}: {refs}",
            i,
            "inputs",
            hint="use an `add` or `concat` layer to merge several layers",
        )
    for ref in refs:
        node.sources.append(_source(ref, node, names, where, add))


def _source(ref: str, node: Node, names: list[str], where: dict, add):
    i = node.index
    if ref == INPUT:
        return INPUT_INDEX
    found = where.get(ref)
    if found is None:
        add(
            "MS202",
            f"inputs names '{ref}', but no layer has that name",
            i,
            "inputs",
            hint=did_you_mean(ref, list(where) + [INPUT]),
        )
        return None
    earlier = [j for j in found if j < i]
    if len(found) > 1 and len(earlier) != 1:
        return None  # the duplicate itself is the error (MS201), reported once
    j = earlier[0] if earlier else found[0]
    if j == i:
        add(
            "MS203",
            f"layer reads itself ('{ref}'): a cycle",
            i,
            "inputs",
            hint=f"a layer reads earlier layers: name the one before "
            f"'{ref}' ('{names[i - 1] if i else INPUT}'), or drop `inputs`",
        )
        return None
    if j > i:
        add(
            "MS203",
            f"inputs names '{ref}', which is layers[{j}], after this "
            "layer: a layer may only read earlier layers (this makes a "
            "cycle or a forward reference)",
            i,
            "inputs",
            hint=f"move '{ref}' before '{node.name}' in the file",
        )
        return None
    return j


def _dead_layers(nodes: list[Node], where: dict, positions) -> list[Diagnostic]:
    """Layers whose output never reaches the last layer (the model output).

    A reference that did not resolve still says what the user meant: a forward
    reference means that layer, an unknown or ambiguous name could mean any
    earlier one. Counting those as read keeps one typo in `inputs` one error
    (MS202 or MS203), not a cascade of dead layers upstream of it.
    """
    readers: dict[int, list[Node]] = {n.index: [] for n in nodes}
    for n in nodes:
        for j in _read_by(n, where):
            if j < n.index:
                readers[j].append(n)
    live: set[int] = set()
    todo = [nodes[-1].index]
    while todo:  # a worklist, not one sweep: forward references must not matter
        j = todo.pop()
        if j in live:
            continue
        live.add(j)
        todo.extend(_read_by(nodes[j], where))
    out = []
    for n in nodes[:-1]:
        if n.index in live:
            continue
        line, col = positions.find(("layers", n.index))
        names = [r.name for r in readers[n.index]]
        if names:
            one = len(names) == 1
            msg = (
                f"the output of '{n.name}' never reaches the model output: only "
                f"{', '.join(repr(r) for r in names)} "
                f"{'reads' if one else 'read'} it, and "
                f"{'that is' if one else 'they are'} dead too"
            )
            hint = None
        else:
            msg = (
                f"nothing reads the output of '{n.name}', so it does nothing "
                "(every layer but the last must feed a later layer)"
            )
            hint = _dead_hint(n, nodes)
        out.append(
            Diagnostic(
                "MS205",
                msg,
                line=line,
                column=col,
                layer=n.name,
                index=n.index,
                layer_type=n.type,
                hint=hint,
            )
        )
    return out


def _read_by(n: Node, where: dict) -> list[int]:
    """Indices of the layers that `n` reads or meant to read."""
    out: list[int] = []
    for ref, j in zip(n.inputs, n.sources, strict=True):
        if j is None:
            found = where.get(ref, [])
            if len(found) == 1 and found[0] > n.index:
                out.append(found[0])  # a forward reference: it meant that layer
            else:
                out.extend(range(n.index))
        elif j != INPUT_INDEX:
            out.append(j)
    return out


def _dead_hint(dead: Node, nodes: list[Node]) -> str:
    nxt = nodes[dead.index + 1] if dead.index + 1 < len(nodes) else None
    if nxt is not None and "inputs" in nxt.raw:
        return (
            f"the next layer '{nxt.name}' reads {nxt.inputs}; to use "
            f"'{dead.name}', set its inputs = [\"{dead.name}\"], or delete "
            f"'{dead.name}'"
        )
    return f"feed '{dead.name}' into a later layer's `inputs`, or delete it"
