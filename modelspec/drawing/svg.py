"""SVG text written directly (no graphviz): one <g> per layer, paths for edges."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape, quoteattr

from .frames import frames
from .scene import (
    ERROR,
    FONT,
    FOOTER_H,
    HEADER_H,
    LINE_H,
    MUTED,
    PAD_X,
    PAD_Y,
    TEXT,
    TITLE_FONT,
    Scene,
    edge_colour,
    segments,
    text_colour,
)

FONT_FAMILY = "DejaVu Sans, Verdana, Segoe UI, Helvetica, Arial, sans-serif"
_BAD_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def esc(text: str) -> str:
    """Text content, safe for XML (control characters are not even escapable)."""
    return escape(_BAD_XML.sub("?", str(text)))


def attr(text: str) -> str:
    return quoteattr(_BAD_XML.sub("?", str(text)))


def _f(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _marker_id(colour: str) -> str:
    return "arrow-" + colour.lstrip("#")


def _edge_svg(scene: Scene, route, kind: str, dy: float) -> str:
    colour = edge_colour(kind)
    segs = segments([(x, y + dy) for x, y in route.points], route.back)
    d = f"M{_f(segs[0][0][0])},{_f(segs[0][0][1])}"
    for _, c1, c2, p in segs:
        if c1[0] == p[0] == c2[0]:
            d += f" L{_f(p[0])},{_f(p[1])}"
        else:
            d += " C" + " ".join(f"{_f(x)},{_f(y)}" for x, y in (c1, c2, p))
    merge = kind in ("add", "concat")
    width = 2.4 if merge or route.span > 1 else 1.5
    dash = ' stroke-dasharray="6 4"' if kind in ("back", "unknown") else ""
    src = scene.graph.node(route.src).name
    dst = scene.graph.node(route.dst).name
    label = f"{src} → {dst}" + (f" ({kind})" if kind != "normal" else "")
    if route.span > 1:
        label += f", skips {route.span - 1} layer{'s' * (route.span > 2)}"
    return (
        f'<path class="edge edge-{kind}" d="{d}" fill="none" stroke="{colour}" '
        f'stroke-width="{width}"{dash} marker-end="url(#{_marker_id(colour)})">'
        f"<title>{esc(label)}</title></path>"
    )


def _node_svg(scene: Scene, node_id: str, dy: float) -> str:
    box = scene.layout.boxes[node_id]
    look = scene.looks[node_id]
    x0, y0 = box.x - box.w / 2, box.y + dy
    node = look.node
    tip = [node.title]
    if node.settings:
        tip.append(node.settings)
    if node.status not in ("ghost",):
        tip.append(
            f"output {node.shape_text}"
            + (f", {node.params_text}" if node.params is not None else "")
        )
    tip += node.messages
    dash = ' stroke-dasharray="7 4"' if look.dashed else ""
    parts = [
        f'<g class="node node-{node.status}" id={attr("layer-" + node.id)}>',
        f"<title>{esc(chr(10).join(tip))}</title>",
        f'<rect x="{_f(x0)}" y="{_f(y0)}" width="{_f(box.w)}" height="{_f(box.h)}" '
        f'rx="7" fill="{look.fill}" stroke="{look.stroke}" '
        f'stroke-width="{look.stroke_w}"{dash}/>',
    ]
    y = y0 + PAD_Y + LINE_H * 0.5
    for line in look.lines:
        if line.style == "title":
            aside = (
                f'<tspan fill="{MUTED}" font-weight="normal" '
                f'font-size="{_f(FONT)}">  {esc(line.aside)}</tspan>'
                if line.aside
                else ""
            )
            parts.append(
                f'<text x="{_f(x0 + PAD_X)}" y="{_f(y)}" font-size="{_f(TITLE_FONT)}" '
                f'font-weight="bold" fill="{TEXT}" dominant-baseline="central">'
                f"{esc(line.text)}{aside}</text>"
            )
        else:
            parts.append(
                f'<text x="{_f(x0 + PAD_X)}" y="{_f(y)}" font-size="{_f(FONT)}" '
                f'fill="{text_colour(line.style)}" dominant-baseline="central">'
                f"{esc(line.text)}</text>"
            )
        y += LINE_H
    parts.append("</g>")
    return "".join(parts)


def _clusters_svg(scene: Scene, dy: float) -> str:
    """The frames of the block instances, behind everything, labels on top."""
    rects, texts = [], []
    for f in frames(scene):
        rects.append(
            f'<rect class="cluster" id={attr("block-" + f.name)} '
            f'x="{_f(f.x0)}" y="{_f(f.y0 + dy)}" width="{_f(f.x1 - f.x0)}" '
            f'height="{_f(f.y1 - f.y0)}" rx="10" fill="{f.fill}" '
            f'stroke="{MUTED}" stroke-width="1" stroke-dasharray="4 3">'
            f"<title>{esc(f.label)}</title></rect>"
        )
        texts.append(
            f'<text x="{_f(f.label_x)}" y="{_f(f.label_y + dy)}" text-anchor='
            f'"{"end" if f.label_right else "start"}" font-size="11" '
            f'fill="{MUTED}" dominant-baseline="central">{esc(f.label)}</text>'
        )
    return "".join(['<g class="clusters">', *rects, *texts, "</g>"])


def to_svg(scene: Scene) -> str:
    g = scene.graph
    w, h = scene.width, scene.height
    colours = sorted({edge_colour(e.kind) for e in g.edges})
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(w)}" height="{_f(h)}" '
        f'viewBox="0 0 {_f(w)} {_f(h)}" font-family={attr(FONT_FAMILY)} '
        'xml:space="preserve">',
        f"<title>{esc(g.name or g.file)}</title>",
        "<defs>",
        "<style>text { white-space: pre; }</style>",
    ]
    for c in colours:
        out.append(
            f'<marker id="{_marker_id(c)}" viewBox="0 0 10 10" refX="10" refY="5" '
            f'markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" '
            f'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>'
        )
    out.append("</defs>")
    out.append('<rect width="100%" height="100%" fill="#ffffff"/>')
    head = g.name + (f"   ({g.file})" if g.file else "")
    out.append(
        f'<text x="20" y="{_f(HEADER_H * 0.6)}" font-size="15" font-weight="bold" '
        f'fill="{TEXT}">{esc(head)}</text>'
    )
    if g.clusters:
        out.append(_clusters_svg(scene, HEADER_H))
    kinds = {(e.src, e.dst): e.kind for e in g.edges}
    out.append('<g class="edges">')
    for r in scene.layout.routes:
        out.append(_edge_svg(scene, r, kinds.get((r.src, r.dst), "normal"), HEADER_H))
    out.append("</g>")
    out.append('<g class="nodes">')
    for n in g.nodes:
        out.append(_node_svg(scene, n.id, HEADER_H))
    out.append("</g>")
    y = HEADER_H + scene.layout.height + FOOTER_H * 0.5
    colour = ERROR if g.n_errors else TEXT
    out.append(
        f'<text class="footer" x="20" y="{_f(y)}" font-size="13" fill="{colour}" '
        f'dominant-baseline="central">{esc(g.footer)}</text>'
    )
    for msg in g.spec_messages:
        y += FOOTER_H
        out.append(
            f'<text class="spec-message" x="20" y="{_f(y)}" font-size="12" '
            f'fill="{ERROR if msg.startswith("error") else MUTED}" '
            f'dominant-baseline="central">{esc(msg)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"
