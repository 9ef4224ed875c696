"""`modelspec augment`: a PNG grid of training examples beside what the
network sees of them after `[data.augment]` (TensorFlow imported inside)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import runs
from ..errors import ModelspecError, SpecInvalid
from ..fsutil import atomic_write_bytes
from .output import fail, print_diagnostics, quiet_tensorflow
from .params import Command, SetOption


def augment_command(
    spec: Annotated[Path, typer.Argument(metavar="SPEC", help="The spec file.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", metavar="FILE", help="The PNG to write.")
    ] = Path(runs.AUGMENT),
    examples: Annotated[
        int,
        typer.Option("--examples", "-n", min=1, max=64, help="Rows: examples shown."),
    ] = 8,
    variants: Annotated[
        int,
        typer.Option(
            "--variants", min=1, max=16, help="Augmented views per example (epochs)."
        ),
    ] = 6,
    set_: SetOption = None,
) -> None:
    """Write a PNG grid: each training example (left) beside its augmented
    views in epochs 0, 1, ... (the run's seed). A training run keeps one as
    augment.png."""
    from ..check import check_file

    quiet_tensorflow()
    try:
        report = check_file(spec, list(set_ or ()))
        print_diagnostics(report, summary=False)
        if not report.ok or report.spec is None:
            raise SpecInvalid(report)
        from backends.keras_backend.augment_grid import augment_png
        from backends.keras_backend.pipeline import load_splits

        splits = load_splits(report.spec)
        png = augment_png(report.spec, splits, examples=examples, variants=variants)
        atomic_write_bytes(output, png)
    except ModelspecError as e:
        raise fail(e) from None
    typer.echo(f"wrote {output} ({min(examples, len(splits.x_train))} examples)")


def register(app: typer.Typer) -> None:
    app.command(
        "augment",
        cls=Command,
        short_help="Draw training examples beside their augmented views (PNG).",
    )(augment_command)
