"""Mermaid `flowchart TD` text for pasting into Markdown (GitHub renders it)."""

from __future__ import annotations

from .model import Graph, cluster_tree
from .scene import ERROR, ERROR_FILL, WARNING, edge_colour

_ESCAPES = {
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "&": "#amp;",
    "\n": " ",
    "#": "#35;",
    "`": "#96;",
}


def _label(text: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def _mid(node_id: str) -> str:
    return "m_" + node_id.replace("~", "_").replace(".", "_")


def _node_line(n) -> str:
    parts = [f"<b>{_label(n.name)}</b>" + (f" {_label(n.type)}" if n.type else "")]
    if n.settings:
        parts.append(_label(n.settings))
    if n.status == "input":
        parts.append(_label(n.shape_text))
    elif n.status != "ghost":
        parts.append(_label(n.detail))
    parts += [_label(m) for m in n.messages[:2]]
    shape = ('(["', '"])') if n.status in ("input", "ghost") else ('["', '"]')
    return f"{_mid(n.id)}{shape[0]}{'<br/>'.join(parts)}{shape[1]}"


def _nodes(graph: Graph) -> list[str]:
    """Node lines, block instances as (nested) subgraphs."""
    lines = {n.id: _node_line(n) for n in graph.nodes}
    tree, labels = cluster_tree(graph)

    # One indent for every line, nested or not: each node line keeps the
    # same form as in a spec without blocks.
    def emit(items) -> list[str]:
        out = []
        for item in items:
            if isinstance(item, str):
                out.append("    " + lines[item])
                continue
            path, inner = item
            out.append(
                f'    subgraph {_mid("block~" + path[-1])}["{_label(labels[path])}"]'
            )
            out += emit(inner)
            out.append("    end")
        return out

    return emit(tree)


def to_mermaid(graph: Graph) -> str:
    lines = ["flowchart TD"]
    lines += _nodes(graph)
    styles = []
    for k, e in enumerate(graph.edges):
        arrow = {"add": "==>", "concat": "==>", "back": "-.->", "unknown": "-.->"}.get(
            e.kind, "-->"
        )
        lines.append(f"    {_mid(e.src)} {arrow} {_mid(e.dst)}")
        if e.kind != "normal":
            styles.append(f"    linkStyle {k} stroke:{edge_colour(e.kind)}")
    lines += styles
    lines.append(
        f"    classDef error fill:{ERROR_FILL},stroke:{ERROR},stroke-width:2px"
    )
    lines.append(f"    classDef warning stroke:{WARNING},stroke-width:2px")
    for status in ("error", "warning"):
        ids = [
            _mid(n.id)
            for n in graph.nodes
            if n.status == status or (status == "error" and n.status == "ghost")
        ]
        if ids:
            lines.append(f"    class {','.join(ids)} {status}")
    return "\n".join(lines) + "\n"
