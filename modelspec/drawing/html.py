"""A standalone HTML page: the SVG inline, the totals and every diagnostic."""

from __future__ import annotations

from html import escape

from .model import Graph


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
<h2>Diagnostics</h2>
{diag}
</body>
</html>
"""
