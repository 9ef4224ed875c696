"""PNG through Pillow (a pip wheel, in the `cpu` extra): the same Scene as the
SVG, painted at 2x for sharp text. No graphviz, no browser."""

from __future__ import annotations

import functools
import io
import itertools
import math
import os

from ..errors import require
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

SCALE = 2
_FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/Library/Fonts",
    "C:/Windows/Fonts",
)


@functools.lru_cache(maxsize=16)
def _font(size: float, bold: bool = False):
    ImageFont = require("PIL.ImageFont", "cpu")
    names = (
        ("DejaVuSans-Bold.ttf", "Verdana Bold.ttf", "verdanab.ttf")
        if bold
        else ("DejaVuSans.ttf", "Verdana.ttf", "verdana.ttf")
    )
    for folder in _FONT_DIRS:
        for name in names:
            path = os.path.join(folder, name)
            if os.path.exists(path):
                return ImageFont.truetype(path, int(size * SCALE))
    return ImageFont.load_default(size * SCALE)  # Pillow's bundled font


def _bezier(p0, c1, c2, p1, steps: int = 18) -> list[tuple[float, float]]:
    pts = []
    for i in range(steps + 1):
        t = i / steps
        a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t**3
        pts.append(
            (
                a * p0[0] + b * c1[0] + c * c2[0] + d * p1[0],
                a * p0[1] + b * c1[1] + c * c2[1] + d * p1[1],
            )
        )
    return pts


def _dashed(draw, pts, fill, width, on=12.0, off=8.0) -> None:
    carry, drawing = 0.0, True
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        seg = math.hypot(x1 - x0, y1 - y0)
        pos = 0.0
        while pos < seg:
            step = min((on if drawing else off) - carry, seg - pos)
            if drawing:
                a, b = pos / seg, (pos + step) / seg
                draw.line(
                    [
                        (x0 + (x1 - x0) * a, y0 + (y1 - y0) * a),
                        (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b),
                    ],
                    fill=fill,
                    width=width,
                )
            pos += step
            carry += step
            if carry >= (on if drawing else off) - 1e-9:
                carry, drawing = 0.0, not drawing


def _arrow(draw, tip, before, fill) -> None:
    ang = math.atan2(tip[1] - before[1], tip[0] - before[0])
    size = 9 * SCALE
    left = (tip[0] - size * math.cos(ang - 0.4), tip[1] - size * math.sin(ang - 0.4))
    right = (tip[0] - size * math.cos(ang + 0.4), tip[1] - size * math.sin(ang + 0.4))
    draw.polygon([tip, left, right], fill=fill)


def _paint_frames(draw, scene: Scene, s, font) -> None:
    """The block instances' frames (as in the SVG), labels over all frames."""
    found = frames(scene)
    for f in found:
        _dashed_box(draw, s((f.x0, f.y0)), s((f.x1, f.y1)), f.fill)
    for f in found:
        draw.text(
            s((f.label_x, f.label_y)),
            f.label,
            fill=MUTED,
            font=font,
            anchor="rm" if f.label_right else "lm",
        )


def _dashed_box(draw, p0, p1, fill) -> None:
    draw.rounded_rectangle([p0[0], p0[1], p1[0], p1[1]], radius=10 * SCALE, fill=fill)
    (x0, y0), (x1, y1) = p0, p1
    for a, b in (
        ((x0, y0), (x1, y0)),
        ((x1, y0), (x1, y1)),
        ((x1, y1), (x0, y1)),
        ((x0, y1), (x0, y0)),
    ):
        _dashed(draw, [a, b], MUTED, max(1, int(SCALE)), on=4 * SCALE, off=3 * SCALE)


def to_png(scene: Scene) -> bytes:
    Image = require("PIL.Image", "cpu")
    ImageDraw = require("PIL.ImageDraw", "cpu")
    g = scene.graph
    img = Image.new(
        "RGB", (int(scene.width * SCALE), int(scene.height * SCALE)), "white"
    )
    draw = ImageDraw.Draw(img)

    def s(p):
        return (p[0] * SCALE, (p[1] + HEADER_H) * SCALE)

    head = g.name + (f"   ({g.file})" if g.file else "")
    draw.text(
        (20 * SCALE, HEADER_H * 0.6 * SCALE),
        head,
        fill=TEXT,
        font=_font(15, bold=True),
        anchor="ls",
    )
    _paint_frames(draw, scene, s, _font(11))
    _paint_edges(draw, scene, s)
    _paint_nodes(draw, scene, s)
    _paint_footer(draw, scene)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=3)  # fast; flat colours pack well
    return buf.getvalue()


def _paint_edges(draw, scene: Scene, s) -> None:
    kinds = {(e.src, e.dst): e.kind for e in scene.graph.edges}
    for r in scene.layout.routes:
        kind = kinds.get((r.src, r.dst), "normal")
        colour = edge_colour(kind)
        pts: list[tuple[float, float]] = []
        for seg in segments(r.points, r.back):
            pts += _bezier(*(s(p) for p in seg))[(1 if pts else 0) :]
        width = int((2.4 if kind in ("add", "concat") or r.span > 1 else 1.5) * SCALE)
        if kind in ("back", "unknown"):
            _dashed(draw, pts, colour, width)
        else:
            draw.line(pts, fill=colour, width=width, joint="curve")
        _arrow(draw, pts[-1], pts[-3], colour)


def _paint_nodes(draw, scene: Scene, s) -> None:
    title_font, aside_font = _font(TITLE_FONT, bold=True), _font(FONT)
    text_font = _font(FONT)
    for n in scene.graph.nodes:
        box, look = scene.layout.boxes[n.id], scene.looks[n.id]
        x0, y0 = s((box.x - box.w / 2, box.y))
        x1, y1 = s((box.x + box.w / 2, box.y + box.h))
        draw.rounded_rectangle(
            [x0, y0, x1, y1],
            radius=7 * SCALE,
            fill=look.fill,
            outline=look.stroke,
            width=max(1, int(look.stroke_w * SCALE)),
        )
        y = y0 + (PAD_Y + LINE_H * 0.5) * SCALE
        tx = x0 + PAD_X * SCALE
        for line in look.lines:
            if line.style == "title":
                draw.text((tx, y), line.text, fill=TEXT, font=title_font, anchor="lm")
                if line.aside:
                    end = tx + draw.textlength(line.text + "  ", font=title_font)
                    draw.text(
                        (end, y), line.aside, fill=MUTED, font=aside_font, anchor="lm"
                    )
            else:
                draw.text(
                    (tx, y),
                    line.text,
                    fill=text_colour(line.style),
                    font=text_font,
                    anchor="lm",
                )
            y += LINE_H * SCALE


def _paint_footer(draw, scene: Scene) -> None:
    g = scene.graph
    y = (HEADER_H + scene.layout.height + FOOTER_H * 0.5) * SCALE
    draw.text(
        (20 * SCALE, y),
        g.footer,
        fill=ERROR if g.n_errors else TEXT,
        font=_font(13),
        anchor="lm",
    )
    for msg in g.spec_messages:
        y += FOOTER_H * SCALE
        draw.text(
            (20 * SCALE, y),
            msg,
            font=_font(FONT),
            anchor="lm",
            fill=ERROR if msg.startswith("error") else MUTED,
        )
