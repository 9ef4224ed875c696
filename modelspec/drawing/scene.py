"""The painted picture, independent of the output format: box texts, sizes,
colours and the layout. svg.py and png.py both paint a Scene, so the SVG and
the PNG look the same."""

from __future__ import annotations

import itertools
import textwrap
from dataclasses import dataclass

from .layout import Layout, layout
from .model import GNode, Graph

FONT = 12.0  # px, details
TITLE_FONT = 13.0
LINE_H = 17.0
PAD_X = 10.0
PAD_Y = 8.0
CHAR_W = 7.1  # a generous average advance at 12px, so text fits its box
MIN_W, MAX_W = 200.0, 340.0
MAX_MESSAGE_LINES = 4
HEADER_H = 34.0
FOOTER_H = 30.0

# Fill colours by layer family: the eye finds the convolutions, the pooling
# and the dense head without reading.
FAMILY_FILL = {
    "conv2d": "#e3eefb",
    "max_pool2d": "#e5f5e8",
    "avg_pool2d": "#e5f5e8",
    "global_avg_pool2d": "#e5f5e8",
    "global_max_pool2d": "#e5f5e8",
    "dense": "#efe6fa",
    "batch_norm": "#fdf5dc",
    "lrn": "#fdf5dc",
    "dropout": "#eeeeee",
    "flatten": "#f2f2f2",
    "reshape": "#f2f2f2",
    "activation": "#f7f0e8",
    "add": "#fde9d9",
    "concat": "#dff3f3",
    # conv family and resizing
    "depthwise_conv2d": "#e3eefb",
    "separable_conv2d": "#e3eefb",
    "conv2d_transpose": "#e3eefb",
    "zero_pad2d": "#f2f2f2",
    "cropping2d": "#f2f2f2",
    "upsampling2d": "#f2f2f2",
    # merges, rescaling and normalisation
    "multiply": "#fde9d9",
    "subtract": "#fde9d9",
    "maximum": "#fde9d9",
    "average": "#fde9d9",
    "rescaling": "#fdf5dc",
    "normalization": "#fdf5dc",
    "layer_norm": "#fdf5dc",
    "layer_scale": "#fdf5dc",
}
STROKE = "#50627a"
TEXT = "#1d2733"
MUTED = "#5b6878"
ERROR = "#c62828"
ERROR_FILL = "#fde4e4"
WARNING = "#c77700"
INPUT_FILL = "#dfe6ee"
EDGE = "#7b8794"
EDGE_COLOURS = {"add": "#e07a1f", "concat": "#138a8a", "back": ERROR, "unknown": ERROR}


@dataclass
class Line:
    text: str
    style: str  # title | detail | settings | error | warning
    aside: str = ""  # drawn muted after a title: the layer type


@dataclass
class NodeLook:
    node: GNode
    lines: list[Line]
    fill: str
    stroke: str
    stroke_w: float
    dashed: bool = False


@dataclass
class Scene:
    graph: Graph
    looks: dict[str, NodeLook]
    layout: Layout
    width: float
    height: float

    @property
    def offset_y(self) -> float:
        """Where the layout starts below the header."""
        return HEADER_H


def _wrap(text: str, chars: int, limit: int) -> list[str]:
    lines = textwrap.wrap(text, chars) or [""]
    if len(lines) > limit:
        lines = lines[:limit]
        lines[-1] = lines[-1][: max(0, chars - 1)].rstrip() + "…"
    return lines


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _look(node: GNode, chars: int) -> NodeLook:
    lines = [Line(node.name, "title", node.type)]
    if node.status == "input":
        return NodeLook(
            node, lines + [Line(node.shape_text, "detail")], INPUT_FILL, STROKE, 1.2
        )
    if node.status == "ghost":
        wrapped = _wrap(node.messages[0], chars, 2)
        return NodeLook(
            node,
            lines + [Line(m, "error") for m in wrapped],
            ERROR_FILL,
            ERROR,
            1.6,
            dashed=True,
        )
    if node.settings:
        lines.append(Line(_clip(node.settings, chars), "settings"))
    lines.append(Line(_clip(node.detail, chars), "detail"))
    # Every message gets a share of the lines (the full text is the tooltip).
    share = max(1, MAX_MESSAGE_LINES // max(1, len(node.messages)))
    for k, msg in enumerate(node.messages[:MAX_MESSAGE_LINES]):
        style = "error" if k < len(node.errors) else "warning"
        lines += [Line(text, style) for text in _wrap(msg, chars, share)]
    fill = FAMILY_FILL.get(node.type, "#f4f6f8")
    if node.status == "error":
        return NodeLook(node, lines, ERROR_FILL, ERROR, 2.4, dashed=node.dead)
    if node.status == "warning":
        return NodeLook(node, lines, fill, WARNING, 2.0)
    return NodeLook(node, lines, fill, STROKE, 2.0 if node.output else 1.2)


def _box_width(graph: Graph) -> float:
    longest = 0
    for n in graph.nodes:
        texts = [f"{n.name}  {n.type}", n.settings, n.detail]
        longest = max([longest] + [len(t) for t in texts])
    return min(MAX_W, max(MIN_W, longest * CHAR_W + 2 * PAD_X))


def build_scene(graph: Graph) -> Scene:
    width = _box_width(graph)
    chars = int((width - 2 * PAD_X) / CHAR_W)
    looks = {n.id: _look(n, chars) for n in graph.nodes}
    sizes = {
        nid: (width, 2 * PAD_Y + LINE_H * len(look.lines))
        for nid, look in looks.items()
    }
    edges = [(e.src, e.dst) for e in graph.edges]
    lay = layout([n.id for n in graph.nodes], sizes, edges)
    footer_chars = max(len(m) for m in [graph.footer, *graph.spec_messages])
    total_w = max(lay.width, footer_chars * CHAR_W + 40, 360.0)
    total_h = HEADER_H + lay.height + FOOTER_H * (1 + len(graph.spec_messages))
    return Scene(graph, looks, lay, total_w, total_h)


def edge_colour(kind: str) -> str:
    return EDGE_COLOURS.get(kind, EDGE)


def text_colour(style: str) -> str:
    return {"error": ERROR, "warning": WARNING, "settings": MUTED, "type": MUTED}.get(
        style, TEXT
    )


Point = tuple[float, float]


def segments(points: list[Point], back: bool = False) -> list[tuple[Point, ...]]:
    """A route as cubic Bezier segments (p0, c1, c2, p1): vertical runs stay
    straight, bends between layers are S-curves."""
    if back:
        (x1, y1), (ox, _), _, (x2, y2) = points
        return [((x1, y1), (ox, y1), (ox, y2), (x2, y2))]
    out: list[tuple[Point, ...]] = []
    for (ax, ay), (bx, by) in itertools.pairwise(points):
        dy = (by - ay) * 0.5
        out.append(((ax, ay), (ax, ay + dy), (bx, by - dy), (bx, by)))
    return out
