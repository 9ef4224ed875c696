"""Drawings of a checked spec: SVG, PNG, HTML and Mermaid, no graphviz.

`render(report, fmt)` is the entry point; it never raises for a broken spec
(a broken spec is drawn with its errors in red).
"""

from __future__ import annotations

from ..errors import UsageError
from ..report import Report
from .model import Graph, build_graph
from .scene import Scene, build_scene

FORMATS = ("svg", "png", "html", "mermaid")


def render(report: Report, fmt: str = "svg") -> str | bytes:
    """The drawing of `report` as text (svg, html, mermaid) or bytes (png)."""
    graph = build_graph(report)
    if fmt == "mermaid":
        from .mermaid import to_mermaid

        return to_mermaid(graph)
    if fmt not in FORMATS:
        raise UsageError(
            f"unknown graph format '{fmt}'", hint=f"use one of {', '.join(FORMATS)}"
        )
    scene = build_scene(graph)
    if fmt == "png":
        from .png import to_png

        return to_png(scene)
    from .svg import to_svg

    svg = to_svg(scene)
    if fmt == "html":
        from .html import to_html

        return to_html(graph, svg)
    return svg


__all__ = ["FORMATS", "Graph", "Scene", "build_graph", "build_scene", "render"]
