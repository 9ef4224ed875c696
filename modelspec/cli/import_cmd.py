"""`modelspec import MODEL.keras|MODEL.h5|keras.applications:NAME`.

Reads the model's saved configuration (never its code), writes the spec only
when every layer can be expressed and the spec checks clean; `--weights` also
writes the weights, by layer name, to a file the spec's `[transfer] from`
names. Nothing is overwritten without --force; files are written atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import ModelspecError, OutputExists, SpecInvalid
from .output import fail, print_diagnostics, quiet_tensorflow
from .params import Command

APPLICATIONS = "keras.applications:"


def _default_output(source: str) -> Path:
    if source.startswith(APPLICATIONS):
        return Path(f"{source[len(APPLICATIONS) :]}.toml")
    return Path(Path(source).stem + ".toml")


def _weights_path(spec: Path) -> Path:
    return spec.with_name(f"{spec.stem}.weights.h5")


def _refuse_overwrite(paths: list[Path], force: bool) -> None:
    for path in paths:
        if path.exists() and not force:
            raise OutputExists(
                f"{path} already exists", hint="pass --force to overwrite it"
            )


def _import(source: str, output: Path, weights: bool, fold: bool) -> list[str]:
    from backends.keras_backend import import_model

    from ..fsutil import atomic_write_text
    from ..importer import import_spec

    weights_file = _weights_path(output) if weights else None
    text, report = import_spec(
        import_model.read_config(source),
        source=source,
        file=str(output),
        fold=fold,
        weights_file=None if weights_file is None else weights_file.name,
    )
    if report.diagnostics:
        print_diagnostics(report)
    lines = []
    if weights_file is not None:
        n = import_model.write_weights(import_model.load(source), weights_file)
        lines.append(f"wrote {weights_file}: the weights of {n} layers, by name")
    atomic_write_text(output, text)
    lines.insert(
        0,
        f"wrote {output}: {len(report.layers)} layers, "
        f"{report.total_params:,} parameters; it checks clean",
    )
    return lines


def import_command(
    source: Annotated[
        str,
        typer.Argument(
            metavar="MODEL",
            help="A .keras or full-model .h5 file, or keras.applications:NAME "
            "(built with weights=None).",
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            metavar="SPEC.toml",
            help="The spec to write (default: <model file stem>.toml here).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite existing files.")
    ] = False,
    weights: Annotated[
        bool,
        typer.Option(
            "--weights",
            help="Also write the weights (SPEC.weights.h5) and a [transfer] that "
            "loads them by layer name.",
        ),
    ] = False,
    fold: Annotated[
        bool,
        typer.Option("--fold", help="Write repeated sub-graphs as blocks."),
    ] = False,
) -> None:
    """Import a Keras model as a spec that checks clean."""
    quiet_tensorflow()
    output = output or _default_output(source)
    try:
        targets = [output] + ([_weights_path(output)] if weights else [])
        _refuse_overwrite(targets, force)
        lines = _import(source, output, weights, fold)
    except SpecInvalid as e:
        print_diagnostics(e.report, summary=False)
        raise fail(e) from None
    except ModelspecError as e:
        raise fail(e) from None
    for line in lines:
        print(line)


def register(app: typer.Typer) -> None:
    app.command(
        "import",
        cls=Command,
        short_help="Import a Keras model (.keras, .h5, keras.applications) as a spec.",
    )(import_command)
