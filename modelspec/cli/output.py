"""Everything the commands print, rendered one way: errors, warnings and
diagnostics (to stderr), the summary table of a checked spec, and the Rich
consoles the tables go to. Library code raises; only this package prints.
"""

from __future__ import annotations

import importlib.abc
import os
import sys
from typing import TYPE_CHECKING, TextIO

import typer

from ..errors import ModelspecError

if TYPE_CHECKING:  # the checker (and pydantic) load only when a command runs
    from ..report import Report


def fail(e: ModelspecError) -> typer.Exit:
    """Print an error the one way every command does; return the Exit to raise.

    With MODELSPEC_DEBUG=1 the traceback comes first, with the exception the
    error was raised from (library code keeps causes with `raise ... from e`).
    """
    if os.environ.get("MODELSPEC_DEBUG"):
        import traceback

        traceback.print_exception(e, file=sys.stderr)
    print(f"error: {e.message}", file=sys.stderr)
    if e.hint:
        print(f"  hint: {e.hint}", file=sys.stderr)
    return typer.Exit(e.exit_code)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def print_diagnostics(
    report: Report, stream: TextIO | None = None, *, summary: bool = True
) -> None:
    """Diagnostics, one per line (plus hint lines), to stderr by default, then
    `file: N errors, M warnings` unless `summary` is off."""
    stream = stream or sys.stderr
    for d in report.diagnostics:
        if d.file is None:
            d.file = report.file
        print(d.render(), file=stream)
    if summary and report.diagnostics:
        e, w = len(report.errors), len(report.warnings)
        print(
            f"{report.file}: {e} error{'s' * (e != 1)}, {w} warning{'s' * (w != 1)}",
            file=stream,
        )


def quiet_tensorflow() -> None:
    """Before TensorFlow loads: its C++ start-up logging would bury the output.

    TF_CPP_MIN_LOG_LEVEL silences TensorFlow's own logging, but TF 2.21 still
    writes absl's "before InitializeLog" and oneDNN notes (twice) straight to
    file descriptor 2 while it loads. So the first `import tensorflow`, whenever
    it happens, runs with that descriptor pointed at /dev/null; nothing is
    imported here, so commands that end early never pay for TensorFlow.
    MODELSPEC_DEBUG=1 keeps everything.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if os.environ.get("MODELSPEC_DEBUG") or "tensorflow" in sys.modules:
        return
    if not any(isinstance(f, _QuietImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietImport())


class _QuietImport:
    """A meta path finder for the first `import tensorflow`: the real loader runs
    with stderr's file descriptor on /dev/null, then the finder removes itself."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        import importlib.machinery

        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, real) -> None:
        self.real = real

    def create_module(self, spec):
        return self.real.create_module(spec)

    def exec_module(self, module) -> None:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 2)
            self.real.exec_module(module)
        finally:
            os.dup2(saved, 2)
            os.close(saved)

    def __getattr__(self, name):  # get_resource_reader and friends
        return getattr(self.real, name)


def cell(value, digits: int = 4) -> str:
    """A table cell: '-' for a missing value, floats to `digits` places."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def console(stream: TextIO | None = None, width: int | None = None):
    """For reports: the terminal's width, else `width` (110) when piped."""
    from rich.console import Console

    stream = stream or sys.stdout
    tty = hasattr(stream, "isatty") and stream.isatty()
    return Console(
        file=stream,
        width=None if tty else (width or 110),
        highlight=False,
        soft_wrap=False,
    )


def _size(params: int) -> str:
    b: float = params * 4
    for unit in ("B", "KB", "MB", "GB"):
        if b < 1024 or unit == "GB":
            return f"{b:.2f} {unit}" if unit != "B" else f"{b} B"
        b /= 1024
    return ""  # pragma: no cover


def table_console():
    """For wide tables (runs): the terminal's width, or 200 when piped, so a
    CI log is not squeezed into 80 columns."""
    from rich.console import Console

    c = Console()
    return c if c.is_terminal else Console(width=200)


def summary_table(report: Report, expand: bool = False):
    """A Rich table like Keras's model.summary(), plus the reads-from column;
    block instances are one row each unless `expand`."""
    from rich.table import Table

    from ..blocks import summary_rows
    from ..shapes.base import fmt

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
    t, tr = report.total_params, report.trainable_params
    nt = report.non_trainable_params
    return (
        f"Total params: {t:,} ({_size(t)})\n"
        f"Trainable params: {tr:,} ({_size(tr)})\n"
        f"Non-trainable params: {nt:,} ({_size(nt)})"
    )


def print_summary(
    report: Report, stream: TextIO | None = None, expand: bool = False
) -> None:
    c = console(stream)
    c.print(summary_table(report, expand))
    c.print(totals_text(report))
