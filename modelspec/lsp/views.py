"""Hover, inlay hints and the `[model]` code lens: the checker's shapes and
parameter counts, where the layer is written. Nothing here computes a shape;
every number is the Report's."""

from __future__ import annotations

from lsprotocol import types

from ..report import INPUT_INDEX, Node
from ..shapes.base import fmt
from .analysis import Analysis
from .positions import Entry, entry_at, from_utf16, line_at, string_at, to_utf16
from .textscan import context
from .weights import fmt_weight, weights

# A block layer used by many instances lists this many of them in a hover.
MAX_ROWS = 12


def _label(analysis: Analysis, nodes: list[Node]) -> str | None:
    """`-> (12, 12, 64)  102,464 params` for what an entry made: the last
    layer's output, every layer's parameters."""
    infos = [analysis.info(n.index) for n in nodes]
    if not nodes or any(i is None for i in infos):
        return None
    last = infos[-1]
    assert last is not None
    params = sum(i.params for i in infos if i is not None)
    return f"-> {fmt(last.output_shape)}  {params:,} params"


def inlay_hints(analysis: Analysis, rng: types.Range) -> list[types.InlayHint]:
    """One hint at the end of each top-level layer's first line."""
    hints = []
    for entry in analysis.entries:
        if entry.block is not None:
            continue  # a block's layers have one shape per instance
        line0 = entry.line - 1
        if not rng.start.line <= line0 <= rng.end.line:
            continue
        label = _label(analysis, analysis.nodes_of(entry))
        if label is None:
            continue
        text = line_at(analysis.lines, line0)
        hints.append(
            types.InlayHint(
                position=types.Position(line0, to_utf16(text, len(text.rstrip()))),
                label=label,
                padding_left=True,
            )
        )
    return hints


def _model_totals(analysis: Analysis) -> str | None:
    report = analysis.report
    if not report.layers or report.output_shape is None:
        return None
    return (
        f"{report.total_params:,} params ({report.trainable_params:,} trainable, "
        f"{report.non_trainable_params:,} non-trainable)  "
        f"output {fmt(report.output_shape)}  {len(report.layers)} layers"
    )


def _model_line(analysis: Analysis) -> int | None:
    pos = analysis.positions
    found = pos.at.get(("model",)) if pos is not None else None
    return found[0] if found and found[0] is not None else None


def code_lenses(analysis: Analysis) -> list[types.CodeLens]:
    line = _model_line(analysis)
    totals = _model_totals(analysis)
    if line is None or totals is None:
        return []
    return [
        types.CodeLens(
            range=types.Range(types.Position(line - 1, 0), types.Position(line - 1, 0)),
            command=types.Command(title=totals, command=""),
        )
    ]


def _shape(shape: tuple[int, ...] | None) -> str:
    return fmt(shape) if shape is not None else "?"


def _one_layer(analysis: Analysis, node: Node) -> list[str]:
    info = analysis.info(node.index)
    head = f"**{node.name}** ({node.type})"
    if node.block:
        head += f" in block instance `{node.block[-1]}`"
    rows = [head, ""]
    shapes = analysis.input_shapes(node)
    for name, src, shape in zip(node.inputs, node.sources, shapes, strict=False):
        what = "the model input" if src == INPUT_INDEX else f"`{name}`"
        rows.append(f"- input {_shape(shape)} from {what}")
    if info is None:
        rows.append("- output: not known (see the diagnostics)")
        return rows
    rows.append(f"- output {_shape(info.output_shape)}")
    rows.append(
        f"- params {info.params:,} ({info.trainable_params:,} trainable, "
        f"{info.non_trainable_params:,} non-trainable)"
    )
    if len(shapes) == 1 and shapes[0] is not None:
        found = weights(node.type, node.layer, shapes[0], info.params)
        if found:
            rows.append("- weights " + ", ".join(fmt_weight(n, s) for n, s in found))
    return rows


def _many(analysis: Analysis, entry: Entry, nodes: list[Node]) -> list[str]:
    """A use entry (its instances' layers) or a block's layer (its instances)."""
    label = _label(analysis, nodes) if entry.block is None else None
    what = "block instances" if entry.block is None else "instances of this layer"
    rows = [f"**{len(nodes)} layers**: {what}"]
    if label:
        rows.append(f"together {label}")
    rows.append("")
    for n in nodes[:MAX_ROWS]:
        info = analysis.info(n.index)
        out = f"{_shape(info.output_shape)}  {info.params:,} params" if info else "?"
        rows.append(f"- `{n.name}` ({n.type}) -> {out}")
    if len(nodes) > MAX_ROWS:
        rows.append(f"- ... and {len(nodes) - MAX_ROWS} more")
    return rows


def _read_layer(analysis: Analysis, position: types.Position) -> list[str] | None:
    """On a name in a top-level `inputs`: the layer (or block instance) it
    reads, as its own hover shows it."""
    text = line_at(analysis.lines, position.line)
    inside = string_at(text, from_utf16(text, position.character))
    if inside is None:
        return None
    scan = context(analysis.lines, position.line, inside[0])
    if scan.key != "inputs" or scan.current is None or scan.current.block:
        return None
    name = inside[2]
    nodes = analysis.report.nodes
    node = next((n for n in nodes if n.name == name and n.block is None), None)
    if node is None:  # a block instance: its last layer is its output
        node = next((n for n in reversed(nodes) if (n.block or [""])[0] == name), None)
    return ["reads:", *_one_layer(analysis, node)] if node is not None else None


def _rows(analysis: Analysis, position: types.Position) -> list[str] | None:
    read = _read_layer(analysis, position)
    if read is not None:
        return read
    line = position.line + 1
    if line == _model_line(analysis):
        totals = _model_totals(analysis)
        return [f"**model** {totals}"] if totals else None
    entry = entry_at(analysis.entries, line)
    nodes = analysis.nodes_of(entry) if entry else []
    if not nodes or entry is None:
        return None
    if len(nodes) == 1 and not _is_use(analysis, entry):
        return _one_layer(analysis, nodes[0])
    return _many(analysis, entry, nodes)


def hover(analysis: Analysis, position: types.Position) -> types.Hover | None:
    rows = _rows(analysis, position)
    if not rows:
        return None
    return types.Hover(
        contents=types.MarkupContent(types.MarkupKind.Markdown, "\n".join(rows))
    )


def _is_use(analysis: Analysis, entry: Entry) -> bool:
    pos = analysis.positions
    return pos is not None and (entry.path + ("use",)) in pos.at
