"""What every lint rule reads: the wired layers, their inferred shapes, the
validated tables and where each key sits in the file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..diagnostics import Diagnostic
from ..report import LayerInfo, Node
from ..schema.common import activation_name
from ..source import Positions


@dataclass
class LintContext:
    nodes: list[Node]
    infos: dict[str, LayerInfo]
    model: Any  # ModelTable or None
    tables: dict[str, Any]
    positions: Positions
    raw: dict = field(default_factory=dict)

    def diag(
        self,
        code,
        msg,
        path: tuple,
        *,
        node: Node | None = None,
        severity="error",
        hint=None,
    ) -> Diagnostic:
        line, col = self.positions.find(path)
        return Diagnostic(
            code,
            msg,
            severity=severity,
            line=line,
            column=col,
            hint=hint,
            layer=node.name if node else None,
            index=node.index if node else None,
            layer_type=node.type if node else None,
        )

    def warn(self, code, msg, path, **kw) -> Diagnostic:
        return self.diag(code, msg, path, severity="warning", **kw)

    @property
    def output(self) -> Node | None:
        return self.nodes[-1] if self.nodes else None

    def by_name(self, name: str) -> Node | None:
        return next((n for n in self.nodes if n.name == name), None)


# Layers that pass scores through unchanged in kind: the activation that made
# the logits sits further back.
_PASSIVE = frozenset(
    {
        "global_avg_pool2d",
        "global_max_pool2d",
        "flatten",
        "reshape",
        "dropout",
        "max_pool2d",
        "avg_pool2d",
        "zero_pad2d",
        "cropping2d",
        "upsampling2d",
    }
)
# Layers whose own `activation` makes their output.
_SCORING = frozenset(
    {
        "conv2d",
        "dense",
        "activation",
        "depthwise_conv2d",
        "separable_conv2d",
        "conv2d_transpose",
    }
)


def output_activation(nodes: list[Node]) -> tuple[Node, str] | None:
    """The layer whose activation produced the model output, and that activation
    ('linear' when none is set); None when it cannot be told (merges, norms)."""
    by_name = {n.name: n for n in nodes}
    node = nodes[-1] if nodes else None
    while node is not None and node.layer is not None:
        if node.type in _SCORING:
            return node, activation_name(node.layer.activation) or "linear"
        if node.type not in _PASSIVE or len(node.inputs) != 1:
            return None
        node = by_name.get(node.inputs[0])
    return None
