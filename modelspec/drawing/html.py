"""A standalone HTML page: the SVG inline, the totals and every diagnostic."""

from __future__ import annotations

from html import escape

from .model import Graph, cluster_tree


def _blocks_html(graph: Graph) -> str:
    """Block instances as nested, collapsible <details>, each with its output
    shape and parameters; empty for a spec without blocks."""
    if not graph.clusters:
        return ""
    tree, labels = cluster_tree(graph)
    nodes = {n.id: n for n in graph.nodes}

    def members(items) -> list:
        out: list = []
        for item in items:
            out += [nodes[item]] if isinstance(item, str) else members(item[1])
        return out

    def html(items) -> str:
        rows = []
        for item in items:
            if isinstance(item, str):
                n = nodes[item]
                rows.append(f"<li>{escape(n.title)} {escape(n.detail)}</li>")
                continue
            path, inner = item
            layers = members(inner)
            params = sum(n.params or 0 for n in layers)
            rows.append(
                f"<li><details><summary><b>{escape(labels[path])}</b> → "
                f"{escape(layers[-1].shape_text)}, {params:,} params, "
                f"{len(layers)} layers</summary>{html(inner)}</details></li>"
            )
        return f"<ul>{''.join(rows)}</ul>"

    top = [item for item in tree if not isinstance(item, str)]
    return f"<h2>Blocks</h2>\n{html(top)}\n"


def to_html(graph: Graph, svg: str) -> str:
    body_svg = svg.split("?>", 1)[1] if svg.startswith("<?xml") else svg
    items = []
    for n in graph.nodes:
        if n.status == "ghost":  # the reader's own diagnostic says it
            continue
        for k, m in enumerate(n.messages):
            cls = "error" if k < len(n.errors) else "warning"
            items.append(f'<li class="{cls}"><b>{escape(n.name)}</b>: {escape(m)}</li>')
    for m in graph.spec_messages:
        cls = "error" if m.startswith("error") else "warning"
        items.append(f'<li class="{cls}">{escape(m)}</li>')
    diag = f"<ul>{''.join(items)}</ul>" if items else "<p>No problems found.</p>"
    title = escape(graph.name or graph.file)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}: modelspec graph</title>
<style>
body {{ font-family: DejaVu Sans, Verdana, Helvetica, Arial, sans-serif;
       margin: 1.5em; color: #1d2733; background: #fafbfc; }}
.graph {{ overflow: auto; background: #fff; border: 1px solid #d5dbe3;
          border-radius: 6px; padding: 0.5em; display: inline-block; }}
li.error {{ color: #c62828; }}
li.warning {{ color: #c77700; }}
.file {{ color: #5b6878; font-size: 0.9em; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="file">{escape(graph.file)}</p>
<p>{escape(graph.footer)}</p>
<div class="graph">
{body_svg}
</div>
{_blocks_html(graph)}<h2>Diagnostics</h2>
{diag}
</body>
</html>
"""
