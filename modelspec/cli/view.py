"""`modelspec graph` and `modelspec diff`: look at a spec, compare two.

Both work without a framework and on broken specs: `graph` draws the errors in
red (and exits 1 after writing the picture, so CI still fails), `diff` compares
whatever could be inferred (and exits 0 even when the specs differ).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import ModelspecError, UsageError
from .output import console, fail, print_diagnostics
from .params import Command, FormatOption, PictureFormat, SetOption, TextOrJson

SUFFIXES = {
    ".svg": "svg",
    ".png": "png",
    ".html": "html",
    ".htm": "html",
    ".mmd": "mermaid",
    ".md": "mermaid",
}
EXTENSION = {"svg": ".svg", "png": ".png", "html": ".html", "mermaid": ".mmd"}
STATUS = {
    "unchanged": ("=", "dim"),
    "changed": ("~", "yellow"),
    "added": ("+", "green"),
    "removed": ("-", "red"),
}


def pick_format(fmt: PictureFormat | None, output: Path | None) -> str:
    """--format wins; else the output's suffix; else SVG."""
    if fmt is not None:
        return fmt.value
    if output is None or str(output) == "-":
        return "svg"
    suffix = output.suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(
            f"cannot tell the picture format from '{output.name}'",
            hint="name the file .svg, .png, .html or .mmd, or pass --format",
        )
    return SUFFIXES[suffix]


def graph(
    spec: Annotated[
        Path, typer.Argument(metavar="SPEC", help="The spec file to draw.")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            metavar="FILE",
            help="Write here ('-' for stdout). Default: <spec name>.svg/.png/.html in "
            "the current folder; mermaid goes to stdout.",
        ),
    ] = None,
    format: Annotated[
        PictureFormat | None,
        typer.Option(
            "--format",
            "-f",
            case_sensitive=False,
            help="Picture format (default: from -o, else svg).",
        ),
    ] = None,
    set_: SetOption = None,
) -> None:
    """Draw the layer graph with shapes and parameter counts (no graphviz).

    A spec with errors is still drawn, the broken layers in red; the command
    then prints the diagnostics and exits 1."""
    from ..check import check_file
    from ..drawing import render
    from ..fsutil import atomic_write_bytes

    try:
        fmt = pick_format(format, output)
        report = check_file(spec, set_ or ())
        data = render(report, fmt)
    except ModelspecError as e:
        raise fail(e) from None
    if output is None and fmt != "mermaid":
        output = Path(spec.stem + EXTENSION[fmt])
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if output is None or str(output) == "-":
        stream = typer.get_binary_stream("stdout")
        stream.write(raw)
        stream.flush()
    else:
        try:
            atomic_write_bytes(output, raw)
        except OSError as e:
            raise fail(UsageError(f"cannot write {output}: {e.strerror}")) from None
        n = len(report.nodes)
        print(
            f"wrote {output} ({fmt}, {n} layer{'s' * (n != 1)}, "
            f"{report.total_params:,} params)"
        )
    if report.diagnostics:
        print_diagnostics(report)
    if not report.ok:
        raise typer.Exit(1)


def _value(v: Any) -> str:
    """A setting as a reader writes it: [5, 5] -> 5, None -> default."""
    if v is None:
        return "default"
    if isinstance(v, list) and len(v) == 2 and v[0] == v[1] and isinstance(v[0], int):
        return str(v[0])
    if isinstance(v, dict) and "type" in v:
        args = ", ".join(f"{k}={_value(x)}" for k, x in v.items() if k != "type")
        return f"{v['type']}({args})" if args else str(v["type"])
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return str(v)


def _shape(s) -> str:
    from ..shapes.base import fmt

    return "?" if s is None else fmt(s)


def _arrow(a: str, b: str, status: str) -> str:
    if status == "added":
        return b
    if status == "removed":
        return a
    return a if a == b else f"{a}\n→ {b}"


def _params(p: int | None) -> str:
    return "?" if p is None else f"{p:,}"


def _signed(n: int) -> str:
    return f"{n:+,}" if n else "0"


def block_table(diffs):
    """The diff of top-level block instances (modelspec/blocks/diffing.py)."""
    from rich import box
    from rich.table import Table

    marks = {"added": "+", "removed": "-", "changed": "~", "unchanged": "="}
    table = Table(
        title="block instances",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for column in ("", "instance", "block", "output shape", "params", "layers"):
        table.add_column(
            column,
            no_wrap=True,
            justify="right" if column in ("params", "layers") else "left",
        )
    for d in diffs:
        table.add_row(
            marks[d.status],
            d.name,
            _arrow(d.block_a or "", d.block_b or "", d.status),
            _arrow(_shape(d.shape_a), _shape(d.shape_b), d.status),
            _arrow(_params(d.params_a), _params(d.params_b), d.status),
            _arrow(_params(d.layers_a), _params(d.layers_b), d.status),
        )
    return table


def _change_text(c) -> str:
    text = f"{c.key} {_value(c.a)} → {_value(c.b)}"
    if len(text) > 30:  # initializers: their kind is what a reader scans for
        short = [
            x["type"] if isinstance(x, dict) and "type" in x else x for x in (c.a, c.b)
        ]
        text = f"{c.key} {_value(short[0])} → {_value(short[1])}"
    return text


# Narrower than this, the changed settings leave the table for a list below it:
# the six fixed columns take ~75 characters, and a squeezed column would cut
# words such as truncated_normal in two.
WIDE_DIFF = 110


def diff_table(d, settings_column: bool = True):
    """A Rich table of the SpecDiff: one row per aligned layer."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=f"{d.file_a} → {d.file_b}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("", no_wrap=True)
    table.add_column("layer", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("output shape", no_wrap=True)
    table.add_column("params", justify="right", no_wrap=True)
    table.add_column("Δ params", justify="right", no_wrap=True)
    if settings_column:
        table.add_column("changed settings")
    for row in d.layers:
        mark, style = STATUS[row.status]
        delta = row.params_delta
        name = Text(
            row.name_b or row.name_a or "",
            style=style if row.status != "unchanged" else "",
        )
        if row.name_a and row.name_b and row.name_a != row.name_b:
            name.append(f"\nwas {row.name_a}", style="dim")
        changes = "\n".join(_change_text(c) for c in row.changes if c.key != "name")
        table.add_row(
            Text(mark, style=style),
            name,
            _arrow(row.type_a or "", row.type_b or "", row.status),
            _arrow(_shape(row.shape_a), _shape(row.shape_b), row.status),
            _arrow(_params(row.params_a), _params(row.params_b), row.status),
            _signed(delta) if delta else "",
            *([changes] if settings_column else []),
        )
    return table


def changes_list(d):
    """The changed settings of each layer, one paragraph per layer, for
    terminals too narrow to hold them in the table."""
    from rich.text import Text

    out = Text()
    for row in d.layers:
        changes = [_change_text(c) for c in row.changes if c.key != "name"]
        if changes:
            out.append(f"{row.name_b or row.name_a}: ", style="bold")
            out.append("; ".join(changes) + "\n")
    return out


def settings_table(d):
    """The differences outside [[layers]]: one row per dotted key."""
    from rich import box
    from rich.table import Table

    table = Table(
        title="settings", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False
    )
    table.add_column("key", no_wrap=True)
    table.add_column(d.file_a)
    table.add_column(d.file_b)
    for c in d.settings:
        table.add_row(c.key, _setting(c.a), _setting(c.b))
    return table


def _setting(value) -> str:
    return "(not set)" if value is None else json.dumps(value, ensure_ascii=False)


def totals_text(d) -> str:
    ratio = ""
    if d.params_a and d.params_delta:
        ratio = f", ×{d.params_b / d.params_a:.2f}"
    counts = ", ".join(
        f"{d.count(s)} {s}" for s in ("added", "removed", "changed", "unchanged")
    )
    text = (
        f"params {d.params_a:,} → {d.params_b:,} "
        f"({_signed(d.params_delta)}{ratio});  layers: {counts}"
    )
    if d.settings:
        text += f"\nsettings: {len(d.settings)} changed"
    if d.output_a != d.output_b:
        text += f"\noutput {_shape(d.output_a)} → {_shape(d.output_b)}"
    return text


def diff(
    a: Annotated[
        Path, typer.Argument(metavar="A", help="The first spec (the 'before').")
    ],
    b: Annotated[
        Path, typer.Argument(metavar="B", help="The second spec (the 'after').")
    ],
    format: FormatOption = TextOrJson.text,
) -> None:
    """Compare two specs layer by layer: added, removed and changed layers with
    their shapes and parameter counts. Exits 0 even when they differ."""
    from ..check import check_file
    from ..diffing import diff_reports

    try:
        ra, rb = check_file(a), check_file(b)
    except ModelspecError as e:
        raise fail(e) from None
    d = diff_reports(ra, rb)
    for r in (ra, rb):
        if not r.ok:
            n = len(r.errors)
            print(
                f"note: {r.file} has {n} error{'s' * (n != 1)} (see modelspec "
                "check); layers whose shape could not be inferred show ?",
                file=sys.stderr,
            )
    if format is TextOrJson.json:
        print(json.dumps(d.to_json(), indent=2, ensure_ascii=False))
        return
    c = console()
    if d.blocks:
        c.print(block_table(d.blocks))
    wide = c.width >= WIDE_DIFF
    c.print(diff_table(d, settings_column=wide))
    if not wide:
        c.print(changes_list(d))
    if d.settings:
        c.print(settings_table(d))
    c.print(totals_text(d))


def register(app: typer.Typer) -> None:
    app.command(
        "graph",
        cls=Command,
        short_help="Draw the layer graph (SVG, PNG, HTML, Mermaid).",
    )(graph)
    app.command(
        "diff",
        cls=Command,
        short_help="Compare two specs layer by layer and key by key.",
    )(diff)
