"""Shape pass: every layer's output shape and parameter count, over the DAG.

A layer whose inputs are unknown (they failed earlier) is skipped rather than
reported again, so one mistake gives one diagnostic, not a cascade.
"""

from __future__ import annotations

from .diagnostics import Diagnostic
from .report import INPUT_INDEX, LayerInfo, Node
from .shapes import RULES, ShapeError
from .shapes.base import fmt
from .source import Positions


def infer_shapes(
    nodes: list[Node], model, positions: Positions
) -> tuple[list[LayerInfo], list[Diagnostic]]:
    diags: list[Diagnostic] = []
    if model is None:
        return [], diags
    # By position, not by name: a duplicated name must not change what is read.
    shapes: dict[int, tuple[int, ...]] = {INPUT_INDEX: tuple(model.input)}
    infos: list[LayerInfo] = []

    def add(node: Node, code, msg, key=None, hint=None):
        path = ("layers", node.index) + ((key,) if key else ())
        line, col = positions.find(path)
        diags.append(
            Diagnostic(
                code,
                msg,
                line=line,
                column=col,
                layer=node.name,
                index=node.index,
                layer_type=node.type,
                hint=hint,
            )
        )

    for node in nodes:
        sources = [j for j in node.sources if j is not None]
        if (
            node.layer is None
            or len(sources) < len(node.sources)
            or any(j not in shapes for j in sources)
        ):
            continue
        inputs = [shapes[j] for j in sources]
        try:
            out = RULES[node.type](node.layer, inputs)
        except ShapeError as e:
            for issue in e.issues:
                add(node, issue.code, issue.message, issue.key, issue.hint)
            continue
        if node.layer.expect_shape is not None and list(out.shape) != list(
            node.layer.expect_shape
        ):
            add(
                node,
                "MS209",
                f"expect_shape = {node.layer.expect_shape}, but the output is "
                f"{fmt(out.shape)}",
                "expect_shape",
                hint=_expect_hint(node, inputs, out.shape),
            )
        shapes[node.index] = out.shape
        trainable = out.params - out.non_trainable if node.layer.trainable else 0
        infos.append(
            LayerInfo(
                node.index,
                node.name,
                node.type,
                list(node.inputs),
                out.shape,
                out.params,
                trainable,
                out.params - trainable,
            )
        )
    return infos, diags


def _expect_hint(node: Node, inputs, shape) -> str:
    (src, *_) = inputs
    if node.type == "flatten":
        factors = "*".join(str(d) for d in src)
        return (
            f"the input {fmt(src)} has {factors} = {shape[0]} elements; "
            "did an earlier layer (e.g. pooling) change?"
        )
    return f"the input is {', '.join(fmt(s) for s in inputs)}"
