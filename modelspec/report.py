"""What a check produces: the resolved graph, per-layer shapes, diagnostics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .diagnostics import Diagnostic, Origin

Shape = tuple[int, ...]


@dataclass
class Node:
    """One layer after name resolution: `inputs` are resolved names ('input'
    is the model input), `layer` is the validated Pydantic model, or None when
    the layer itself failed validation (its raw TOML table is then in `raw`)."""

    index: int
    name: str
    type: str
    inputs: list[str]
    layer: Any = None
    raw: dict = field(default_factory=dict)
    line: int | None = None
    # What `inputs` resolved to, by position: a layer index, INPUT_INDEX for the
    # model input, or None when the name is unknown or ambiguous (a duplicate).
    # Names alone cannot wire a graph that has a duplicate name.
    sources: list[int | None] = field(default_factory=list)
    # The block instances the layer is in, outermost first; None outside blocks.
    block: list[str] | None = None


INPUT_INDEX = -1


@dataclass
class LayerInfo:
    index: int
    name: str
    type: str
    inputs: list[str]
    output_shape: Shape
    params: int
    trainable_params: int
    non_trainable_params: int
    # The block instances this layer is in, outermost first; None outside blocks.
    block: list[str] | None = None

    def to_json(self) -> dict:
        return {
            "index": self.index,
            "name": self.name,
            "type": self.type,
            "inputs": list(self.inputs),
            "output_shape": list(self.output_shape),
            "params": self.params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
        }


@dataclass
class Report:
    file: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    layers: list[LayerInfo] = field(default_factory=list)
    spec: Any = None  # modelspec.schema.Spec when the whole spec validated
    raw: dict = field(default_factory=dict)
    text: str = ""
    # Block instance name -> block name (empty when the spec uses no blocks).
    blocks: dict[str, str] = field(default_factory=dict)
    # Expanded layer index -> the block instances around it, innermost first,
    # each with the line of its use entry (empty when the spec uses no blocks).
    origins: dict[int, list[Origin]] = field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors

    def layer(self, name: str) -> LayerInfo | None:
        return next((li for li in self.layers if li.name == name), None)

    @property
    def output_shape(self) -> Shape | None:
        if not self.nodes:
            return None
        last = self.layer(self.nodes[-1].name)
        return last.output_shape if last else None

    @property
    def total_params(self) -> int:
        return sum(li.params for li in self.layers)

    @property
    def trainable_params(self) -> int:
        return sum(li.trainable_params for li in self.layers)

    @property
    def non_trainable_params(self) -> int:
        return sum(li.non_trainable_params for li in self.layers)

    def to_json(self) -> dict:
        layers = [li.to_json() for li in self.layers]
        if self.blocks:  # only specs with blocks gain the key
            for d, li in zip(layers, self.layers, strict=True):
                d["block"] = li.block
        return {
            "file": self.file,
            "ok": self.ok,
            "diagnostics": [d.to_json() for d in self.diagnostics],
            "layers": layers,
            "output_shape": list(self.output_shape) if self.output_shape else None,
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
        }
