"""Text rendering of reports for the terminal (used by the CLI only)."""

from __future__ import annotations

import sys
from typing import TextIO

from .report import Report
from .shapes.base import fmt


def console(stream: TextIO | None = None, width: int | None = None):
    from rich.console import Console

    stream = stream or sys.stdout
    tty = hasattr(stream, "isatty") and stream.isatty()
    return Console(file=stream, width=None if tty else (width or 110),
                   highlight=False, soft_wrap=False)


def _size(params: int) -> str:
    b = params * 4
    for unit in ("B", "KB", "MB", "GB"):
        if b < 1024 or unit == "GB":
            return f"{b:.2f} {unit}" if unit != "B" else f"{b} B"
        b /= 1024
    return ""  # pragma: no cover


def summary_table(report: Report, expand: bool = False):
    """A Rich table like Keras's model.summary(), plus the reads-from column;
    block instances are one row each unless `expand`."""
    from rich.table import Table

    from .blocks import summary_rows

    name = report.spec.model.name if report.spec else report.file
    table = Table(title=f"Model: {name}", title_justify="left", show_lines=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("Layer (type)")
    table.add_column("Output shape")
    table.add_column("Param #", justify="right")
    rows, previous = [], "input"
    for r in summary_rows(report.layers, report.blocks, expand):
        reads = "" if r.inputs == [previous] else ", ".join(r.inputs)
        rows.append((r.index, r.label, fmt(r.shape), f"{r.params:,}", reads))
        previous = r.output
    # A plain chain needs no "Reads" column; a DAG shows what each layer reads.
    branched = any(r[-1] for r in rows)
    if branched:
        table.add_column("Reads")
    for row in rows:
        table.add_row(*(row if branched else row[:-1]))
    return table


def totals_text(report: Report) -> str:
    t, tr, nt = report.total_params, report.trainable_params, report.non_trainable_params
    return (f"Total params: {t:,} ({_size(t)})\n"
            f"Trainable params: {tr:,} ({_size(tr)})\n"
            f"Non-trainable params: {nt:,} ({_size(nt)})")


def print_summary(report: Report, stream: TextIO | None = None,
                  expand: bool = False) -> None:
    c = console(stream)
    c.print(summary_table(report, expand))
    c.print(totals_text(report))


def print_diagnostics(report: Report, stream: TextIO | None = None) -> None:
    """Diagnostics, one per line (plus hint lines), to stderr by default."""
    stream = stream or sys.stderr
    for d in report.diagnostics:
        print(d.render(), file=stream)
    if report.diagnostics:
        e, w = len(report.errors), len(report.warnings)
        print(f"{report.file}: {e} error{'s' * (e != 1)}, "
              f"{w} warning{'s' * (w != 1)}", file=stream)
