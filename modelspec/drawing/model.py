"""What every drawing shows, taken from a Report once: nodes, labels, edges.

SVG, PNG, HTML and Mermaid all draw this same model, so their labels agree.
A broken spec still yields a model: layers that failed validation keep their
raw TOML settings, unknown input references become 'ghost' nodes, and reads of
a later layer (forward references, cycles) become 'back' edges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..blocks.clusters import block_clusters, nest
from ..report import Report
from ..shapes.base import fmt
from .conv_labels import conv_family_settings
from .merge_norm_labels import merge_norm_settings

MERGE_TYPES = frozenset({"add", "concat"})


@dataclass
class GNode:
    id: str
    name: str
    type: str
    settings: str = ""
    shape: tuple | None = None
    params: int | None = None
    status: str = "ok"  # ok | warning | error | ghost | input
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dead: bool = False
    output: bool = False

    @property
    def messages(self) -> list[str]:
        return self.errors + self.warnings

    @property
    def shape_text(self) -> str:
        return format_shape(self.shape)

    @property
    def params_text(self) -> str:
        if self.params is None:
            return ""
        return f"{self.params:,} param{'s' * (self.params != 1)}"

    @property
    def title(self) -> str:
        return f"{self.name} · {self.type}" if self.type else self.name

    @property
    def detail(self) -> str:
        """The output line: shape and parameter count."""
        parts = [f"→ {self.shape_text}" if self.shape is not None else "→ ?"]
        if self.params:
            parts.append(self.params_text)
        return "   ".join(parts) if self.status not in ("ghost",) else ""


@dataclass
class GEdge:
    src: str
    dst: str
    kind: str = "normal"  # normal | add | concat | back | unknown


@dataclass
class Graph:
    name: str
    file: str
    nodes: list[GNode]
    edges: list[GEdge]
    total_params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0
    n_errors: int = 0
    n_warnings: int = 0
    spec_messages: list[str] = field(default_factory=list)
    # block instances (modelspec.blocks.clusters.Cluster), outer before inner
    clusters: list = field(default_factory=list)

    def node(self, node_id: str) -> GNode:
        return next(n for n in self.nodes if n.id == node_id)

    @property
    def footer(self) -> str:
        text = (
            f"total params {self.total_params:,}  ·  trainable "
            f"{self.trainable_params:,}  ·  non-trainable "
            f"{self.non_trainable_params:,}"
        )
        if self.n_errors or self.n_warnings:
            text += (
                f"  ·  {self.n_errors} error{'s' * (self.n_errors != 1)}, "
                f"{self.n_warnings} warning{'s' * (self.n_warnings != 1)}"
            )
        return text


def format_shape(shape: tuple | None) -> str:
    """(28, 28, 32) as `modelspec check` prints it; None (not inferred) -> '?'."""
    return "?" if shape is None else fmt(shape)


def _pair_text(v: Any) -> str:
    if isinstance(v, (list, tuple)) and len(v) == 2:
        return f"{v[0]}×{v[1]}" if v[0] != v[1] else f"{v[0]}×{v[0]}"
    return f"{v}×{v}"


def _is_one(v: Any) -> bool:
    return v in (1, (1, 1), [1, 1])


def _num(v: Any) -> str:
    """Floats as a reader writes them: 0.001/9 -> 0.0001111, 1.0 -> 1."""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def key_settings(type_: str, get) -> str:
    """One short line of the settings a reader looks for, per layer kind.

    `get(key)` returns the setting or None (validated model or raw TOML)."""
    parts: list[str] = []
    if type_ == "conv2d":
        if get("filters") is not None:
            parts.append(f"{get('filters')} filters")
        if get("kernel") is not None:
            parts.append(_pair_text(get("kernel")))
        if get("strides") is not None and not _is_one(get("strides")):
            parts.append(f"stride {_pair_text(get('strides'))}")
        if get("dilation") is not None and not _is_one(get("dilation")):
            parts.append(f"dilation {_pair_text(get('dilation'))}")
        parts.append(get("padding") or "valid")
    elif type_ in ("max_pool2d", "avg_pool2d"):
        pool = get("pool") if get("pool") is not None else 2
        parts.append(f"pool {_pair_text(pool)}")
        strides = get("strides")
        if strides is not None and _pair_text(strides) != _pair_text(pool):
            parts.append(f"stride {_pair_text(strides)}")
        if get("padding") == "same":
            parts.append("same")
    elif type_ == "dense":
        if get("units") is not None:
            parts.append(f"{get('units')} units")
    elif type_ == "dropout":
        if get("rate") is not None:
            parts.append(f"rate {_num(get('rate'))}")
    elif type_ == "reshape":
        if get("shape") is not None:
            parts.append(f"to {list(get('shape'))}")
    elif type_ == "lrn":
        for key, label in (("depth_radius", "r"), ("alpha", "α"), ("beta", "β")):
            if get(key) is not None:
                parts.append(f"{label}={_num(get(key))}")
    elif type_ == "concat" and get("axis") not in (None, -1):
        parts.append(f"axis {get('axis')}")
    parts += conv_family_settings(type_, get)
    parts += merge_norm_settings(type_, get)
    if get("activation") and get("activation") != "linear":
        parts.append(str(get("activation")))
    if get("trainable") is False:
        parts.append("frozen")
    return ", ".join(parts)


def _getter(node) -> Any:
    layer, raw = node.layer, node.raw or {}

    def get(key: str) -> Any:
        if layer is not None:
            return getattr(layer, key, None)
        return raw.get(key)

    return get


def _input_shape(report: Report) -> tuple | None:
    if report.spec is not None:
        return tuple(report.spec.model.input)
    shape = (report.raw or {}).get("model", {}).get("input")
    if isinstance(shape, list) and all(isinstance(d, int) for d in shape):
        return tuple(shape)
    return None


def _model_name(report: Report) -> str:
    if report.spec is not None:
        return report.spec.model.name
    name = (report.raw or {}).get("model", {}).get("name")
    return name if isinstance(name, str) else ""


def build_graph(report: Report) -> Graph:
    """The drawing model of a report (valid or not)."""
    graph = Graph(
        name=_model_name(report),
        file=report.file,
        nodes=[],
        edges=[],
        total_params=report.total_params,
        trainable_params=report.trainable_params,
        non_trainable_params=report.non_trainable_params,
        n_errors=len(report.errors),
        n_warnings=len(report.warnings),
    )
    graph.nodes.append(
        GNode(
            id="input",
            name="input",
            type="",
            shape=_input_shape(report),
            status="input",
        )
    )
    read = _add_layers(report, graph)
    for gnode in graph.nodes:
        if gnode.id.startswith("n") and not gnode.output and gnode.id not in read:
            gnode.dead = True
    _attach_diagnostics(report, graph)
    graph.clusters = block_clusters(report.nodes, report.blocks)
    return graph


def cluster_tree(graph: Graph) -> tuple[list, dict[tuple, str]]:
    """The node ids nested by block instance (see blocks.clusters.nest), and
    each instance's label ('conv2 · stage')."""
    first: dict[str, str] = {}
    for n in graph.nodes:
        first.setdefault(n.name, n.id)
    paths: dict[str, tuple] = {}
    for c in graph.clusters:  # inner clusters come later and win
        for name in c.members:
            paths[first.get(name, name)] = c.path
    labels = {c.path: f"{c.name} · {c.block}" for c in graph.clusters}
    return nest([n.id for n in graph.nodes], paths), labels


def _add_layers(report: Report, graph: Graph) -> set[str]:
    """One node per layer and one edge per input it reads (a 'ghost' node for
    a name no layer has); returns the ids of the nodes something reads."""
    infos = {li.index: li for li in report.layers}
    infos_by_name = {li.name: li for li in report.layers}
    by_name: dict[str, list[tuple[int, str]]] = {"input": [(-1, "input")]}
    for pos, node in enumerate(report.nodes):
        by_name.setdefault(node.name, []).append((pos, f"n{pos}"))

    def resolve(name: str, reader_pos: int) -> tuple[str, bool]:
        """The node id a reader means by `name`, and whether it comes later."""
        candidates = by_name.get(name)
        if not candidates:
            return "", False
        earlier = [c for c in candidates if c[0] < reader_pos]
        if earlier:
            return earlier[-1][1], False
        return candidates[0][1], True

    ghosts: dict[str, GNode] = {}
    read: set[str] = set()
    for pos, node in enumerate(report.nodes):
        info = infos.get(node.index) or infos_by_name.get(node.name)
        gnode = GNode(
            id=f"n{pos}",
            name=node.name,
            type=node.type,
            settings=key_settings(node.type, _getter(node)),
            shape=tuple(info.output_shape) if info else None,
            params=info.params if info else None,
            output=pos == len(report.nodes) - 1,
        )
        graph.nodes.append(gnode)
        kind = node.type if node.type in MERGE_TYPES else "normal"
        for name in node.inputs:
            src, later = resolve(name, pos)
            if not src:
                if name not in ghosts:
                    ghosts[name] = GNode(
                        id=f"ghost{len(ghosts)}",
                        name=name,
                        type="",
                        status="ghost",
                        errors=["no layer has this name"],
                    )
                    # Just before its reader, so the layout puts it beside it.
                    graph.nodes.insert(len(graph.nodes) - 1, ghosts[name])
                graph.edges.append(GEdge(ghosts[name].id, gnode.id, "unknown"))
                continue
            read.add(src)
            graph.edges.append(GEdge(src, gnode.id, "back" if later else kind))
    return read


def _attach_diagnostics(report: Report, graph: Graph) -> None:
    layer_nodes = [n for n in graph.nodes if n.id.startswith("n")]
    by_index = {node.index: layer_nodes[pos] for pos, node in enumerate(report.nodes)}
    by_name = {n.name: n for n in layer_nodes}
    for d in report.diagnostics:
        target = None
        if d.index is not None and d.index in by_index:
            target = by_index[d.index]
            if d.layer and target.name != d.layer and d.layer in by_name:
                target = by_name[d.layer]
        elif d.layer and d.layer in by_name:
            target = by_name[d.layer]
        text = f"{d.code}: {d.message}"
        if target is None:
            graph.spec_messages.append(f"{d.severity} {text}")
            continue
        (target.errors if d.is_error else target.warnings).append(text)
        if d.is_error:
            target.status = "error"
        elif target.status == "ok":
            target.status = "warning"
    for n in layer_nodes:
        if n.dead and n.status != "error":
            n.status = "error"
            if not any(m.startswith("MS205") for m in n.errors):
                n.errors.append("dead layer: nothing reads its output")
