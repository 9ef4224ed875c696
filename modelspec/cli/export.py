"""`modelspec export RUN_OR_SPEC --onnx`.

A run folder exports its best.keras (or `--checkpoint last`); a spec file
exports its [transfer] weights, or freshly initialized ones, with a warning.
Every export is verified (see backends/onnx_export/verify.py) before the file
appears; the table printed at the end says what was verified.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import ModelspecError, SpecInvalid, UsageError
from ..runs import LATEST
from .output import fail, print_diagnostics, quiet_tensorflow, warn
from .params import Checkpoint, Command, SetOption


def _is_run(path: Path) -> bool:
    return path.is_dir() or path.name == LATEST


def _check_data(spec, n: int):
    """(model-ready test examples or None, preprocessing or None, class names
    or None, why not). Data that cannot be loaded is not an error: the export
    is then verified on random inputs."""
    if spec.data is None:
        return None, None, None, "the spec has no [data] table"
    try:
        from ..data import load_data

        splits = load_data(spec.data, tuple(spec.model.input), seed=spec.train.seed)
    except ModelspecError as e:
        return None, None, None, f"its data could not be loaded ({e.message})"
    x = splits.x_test if len(splits.x_test) else splits.x_val
    if len(x) == 0:
        why = "the data has no test set"
        return None, dict(splits.preprocessing), list(splits.class_names), why
    return x[:n], dict(splits.preprocessing), list(splits.class_names), ""


def _load_run(run: Path, checkpoint: str, overrides: list[str]):
    from backends.keras_backend import load_model, optim

    from .. import runs
    from ..check import check_text

    run_dir = runs.resolve_run(run)
    resolved = runs.read_json(run_dir / runs.RESOLVED)
    text = (run_dir / runs.SPEC).read_text()
    report = check_text(
        text,
        file=str(run_dir / runs.SPEC),
        overrides=list(resolved.get("overrides", [])) + overrides,
    )
    if not report.ok:
        raise SpecInvalid(report)
    path = run_dir / (runs.BEST if checkpoint == "best" else runs.LAST)
    if not path.exists():
        raise UsageError(
            f"{run_dir} has no {path.name}",
            hint="train it first, or pick the other one with --checkpoint",
        )
    optim.custom_objects()  # registers the run's custom loss/schedule classes
    model = load_model(path, compile=False)
    return run_dir, path, report, model, resolved


def export_command(
    target: Annotated[
        Path,
        typer.Argument(
            metavar="RUN_OR_SPEC", help="A run folder, or a spec .toml file."
        ),
    ],
    onnx: Annotated[
        bool, typer.Option("--onnx", help="Export to ONNX (the format).")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            metavar="FILE.onnx",
            help="The .onnx file (default: <run>/best.onnx, or <model name>.onnx for "
            "a spec).",
        ),
    ] = None,
    opset: Annotated[
        int | None,
        typer.Option(
            "--opset",
            min=9,
            metavar="N",
            help="ONNX opset (default [export] opset, 17).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing file.")
    ] = False,
    checkpoint: Annotated[
        Checkpoint, typer.Option("--checkpoint", help="For a run: which checkpoint.")
    ] = Checkpoint.best,
    random_inputs: Annotated[
        bool,
        typer.Option("--random-inputs", help="Verify on random inputs; load no data."),
    ] = False,
    set_: SetOption = None,
) -> None:
    """Export a run (or a spec, untrained) to a verified ONNX file."""
    quiet_tensorflow()
    try:
        if not onnx:
            raise UsageError("choose the export format", hint="add --onnx")
        result, source = _export(
            target,
            output,
            opset,
            force,
            checkpoint.value,
            random_inputs,
            list(set_ or ()),
        )
    except SpecInvalid as e:
        print_diagnostics(e.report, summary=False)
        raise fail(e) from None
    except ModelspecError as e:
        raise fail(e) from None
    render_export(result, source)


def _refuse_overwrite(output: Path, force: bool) -> None:
    """Fail before the slow part; export_onnx checks again before renaming."""
    from ..errors import OutputExists

    if output.exists() and not force:
        raise OutputExists(
            f"{output} already exists", hint="pass --force to overwrite it"
        )


def _spec_model(target: Path, report):
    """A spec's model: its [transfer] weights when it names some (what
    `modelspec import --weights` writes), else freshly initialized ones."""
    from backends.keras_backend import build_model

    model = build_model(report, seed=report.spec.train.seed)
    transfer = report.spec.transfer
    if transfer is None:
        warn(
            f"{target} is a spec, not a run: exporting freshly initialized "
            "(untrained) weights"
        )
        return model, f"{target} (random weights)"
    from backends.keras_backend.transfer import load_and_apply

    result = load_and_apply(model, transfer, base=target.parent)
    fresh = f"; {len(result.new)} layers freshly initialized" if result.new else ""
    warn(
        f"{target} is a spec, not a run: exporting the weights of its [transfer] "
        f"source ({transfer.from_}), not trained here{fresh}"
    )
    return model, f"{target} ([transfer] weights)"


def _export(target, output, opset, force, checkpoint, random_inputs, overrides):
    from backends.onnx_export import export_onnx

    from ..check import check_file

    meta: dict = {}
    if output is not None:
        _refuse_overwrite(output, force)
    if _is_run(target):
        run_dir, path, report, model, resolved = _load_run(
            target, checkpoint, overrides
        )
        source = f"{path} (trained)"
        if output is None:
            output = run_dir / f"{path.stem}.onnx"
            _refuse_overwrite(output, force)
        meta["run"] = f"{run_dir.parent.name}/{run_dir.name}"  # no local paths
        for key in ("class_names", "preprocessing"):
            if resolved.get(key):
                meta[key] = resolved[key]
    else:
        if not target.is_file():
            raise UsageError(f"no such run folder or spec file: {target}")
        report = check_file(target, overrides)
        if not report.ok:
            raise SpecInvalid(report)
        if output is None:
            output = Path(f"{report.spec.model.name}.onnx")
            _refuse_overwrite(output, force)
        model, source = _spec_model(target, report)
    settings = report.spec.export
    x = None
    if not random_inputs:
        x, prep, names, why = _check_data(report.spec, settings.verify_examples)
        if prep and "preprocessing" not in meta:
            meta["preprocessing"] = prep
        if names and "class_names" not in meta:
            meta["class_names"] = names
        if x is None:
            warn(f"verifying on random inputs: {why}")
    result = export_onnx(
        model,
        report,
        output,
        opset=opset or settings.opset,
        force=force,
        data=x,
        tolerance=settings.tolerance,
        metadata=meta,
        n_random=settings.verify_examples,
    )
    return result, source


def _size(size: int) -> str:
    n = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _dims(dims) -> str:
    return "(" + ", ".join("N" if d is None else str(d) for d in dims) + ")"


def render_export(result, source: str, console=None) -> None:
    """The table of what the export verified."""
    from rich.console import Console
    from rich.table import Table

    v = result.verification
    meta = result.metadata
    table = Table(title=f"exported {result.path}", show_header=False)
    table.add_column("check")
    table.add_column("result")
    table.add_row("from", source)
    table.add_row("opset", str(result.opset))
    table.add_row("input", f"{result.input_name} {_dims(v.input_shape)} float32")
    table.add_row(
        "output",
        f"{result.output_name} {_dims(v.output_shape)} {meta.get('output_kind', '')}",
    )
    table.add_row("onnx.checker", "ok" if v.checker_ok else "FAILED")
    table.add_row("shape inference", f"{_dims(v.output_shape)} = checker's shape")
    table.add_row(
        "max |ONNX - Keras|", f"{v.max_abs_diff:.3g} (tolerance {result.tolerance:g})"
    )
    table.add_row(
        "top-1 agreement",
        f"{v.top1_agreement:.1%} on {v.n_examples} {v.data_source} examples",
    )
    table.add_row("file size", _size(result.file_size))
    table.add_row("conversion", f"{result.convert_seconds:.1f} s")
    for note in v.notes:
        table.add_row("note", note)
    (console or Console()).print(table)


def register(app: typer.Typer) -> None:
    app.command(
        "export",
        cls=Command,
        short_help="Export a run or spec to a verified ONNX file.",
    )(export_command)
