"""`modelspec train`, `evaluate`, `predict` and `runs`.

TensorFlow and the Keras backend are imported inside the command bodies, so
`modelspec --help` and `modelspec check` stay fast; `runs` and `predict` on an
.onnx file never import them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import ModelspecError, SpecInvalid, UsageError, from_os_error
from .output import cell, fail, print_diagnostics, quiet_tensorflow, warn
from .params import Command, SetOption
from .progress import RichReporter


def _transfer_printer(console):
    def show(report) -> None:
        from rich.table import Table

        table = Table(title=f"transfer from {report.source}")
        for col in ("layer", "action", "detail"):
            table.add_column(col)
        for row in report.rows():
            table.add_row(*row)
        console.print(table)

    return show


def _summary(result) -> str:
    m = result.metrics
    test = m.get("test", {}).get("accuracy")
    val = m.get("val", {}).get("accuracy")
    acc = (
        f"test accuracy {test:.4f}"
        if test is not None
        else (f"val accuracy {val:.4f}" if val is not None else "trained")
    )
    return (
        f"{acc} (best epoch {m.get('best_epoch')}/{m.get('epochs_done')} by "
        f"{m.get('monitor')}) in {m.get('wall_time_s', 0):.0f} s -> {result.run_dir}"
    )


def train_command(
    spec: Annotated[
        Path | None, typer.Argument(metavar="SPEC", help="The spec file to train.")
    ] = None,
    set_: SetOption = None,
    epochs: Annotated[
        int | None,
        typer.Option("--epochs", min=1, metavar="N", help="Train this many epochs."),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Runs folder.")
    ] = Path("runs"),
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume", metavar="RUN", help="Continue an interrupted run (its folder)."
        ),
    ] = None,
) -> None:
    """Train a spec; writes runs/<name>/<timestamp>/ (checkpoints, metrics, plots)."""
    from rich.console import Console

    from ..check import check_file

    quiet_tensorflow()
    console = Console(stderr=False)
    overrides = list(set_ or ())
    if epochs is not None:
        overrides.append(f"train.epochs={epochs}")
    try:
        if (spec is None) == (resume is None):
            raise UsageError(
                "give either a SPEC to train or --resume RUN",
                hint="modelspec train specs/digits_lenet.toml",
            )
        from backends.keras_backend import train as trainer

        if resume is not None:
            with RichReporter(console) as reporter:
                result = trainer.resume(
                    resume, extra_overrides=overrides, reporter=reporter
                )
        else:
            assert spec is not None  # exactly one of spec and resume, see above
            report = check_file(spec, overrides)
            print_diagnostics(report, summary=False)
            if not report.ok:
                raise SpecInvalid(report)
            with RichReporter(console) as reporter:
                result = trainer.train(
                    report,
                    overrides=overrides,
                    out=out,
                    reporter=reporter,
                    on_transfer=_transfer_printer(console),
                )
    except SpecInvalid as e:
        if resume is not None:
            print_diagnostics(e.report, summary=False)
        raise fail(e) from None
    except ModelspecError as e:
        raise fail(e) from None
    except OSError as e:  # a full disk or an unwritable folder, met while training
        place = resume or out or "runs/"
        raise fail(from_os_error(e, "write in", place)) from e
    console.print(_summary(result), highlight=False, soft_wrap=True)


def evaluate_command(
    run: Annotated[
        Path,
        typer.Argument(metavar="RUN", help="A run folder (or runs/<name>/latest)."),
    ],
) -> None:
    """Reload a run's best.keras and evaluate it on the spec's data."""
    from rich.console import Console
    from rich.table import Table

    quiet_tensorflow()
    try:
        from backends.keras_backend.finish import evaluate_run

        results, path = evaluate_run(run)
    except ModelspecError as e:
        raise fail(e) from None
    keys = [
        k
        for k in next(iter(results.values()), {})
        if k not in ("examples", "examples_per_s")
    ]
    table = Table(title=str(path))
    for col in ["split", *keys, "examples"]:
        table.add_column(col, justify="left" if col == "split" else "right")
    for split, row in results.items():
        table.add_row(split, *[cell(row[k]) for k in keys], str(row["examples"]))
    Console().print(table)


def predict_command(
    run: Annotated[
        Path,
        typer.Argument(
            metavar="RUN_OR_ONNX",
            help="A run folder (or runs/<name>/latest), or an exported .onnx file.",
        ),
    ],
    images: Annotated[
        list[Path],
        typer.Argument(metavar="IMAGE", help="PNG/JPEG images or .npy arrays."),
    ],
    top: Annotated[
        int, typer.Option("--top", "-k", min=1, metavar="K", help="Classes to show.")
    ] = 3,
) -> None:
    """Classify images with a run's best model (or an .onnx file, without
    TensorFlow); prints the top-k probabilities."""
    if run.suffix.lower() == ".onnx":
        return predict_onnx(run, images, top)
    quiet_tensorflow()
    try:
        from backends.keras_backend.finish import predict_run

        results = predict_run(run, [str(p) for p in images], top_k=top)
    except ModelspecError as e:
        raise fail(e) from None
    render_predictions(results)


def predict_onnx(model: Path, images: list[Path], top: int = 3) -> None:
    """`modelspec predict FILE.onnx IMAGE...`: ONNX Runtime only, no TensorFlow."""
    from ..onnx_file.predict import predict_onnx as ranked

    try:
        results = ranked(model, [str(p) for p in images], top_k=top)
    except ModelspecError as e:
        raise fail(e) from None
    render_predictions(results, title=str(model))


def render_predictions(results, console=None, title: str | None = None) -> None:
    """Print [(input, [(class, probability), ...])] as `modelspec predict` does,
    for runs and .onnx files alike."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in ("input", "rank", "class", "probability"):
        table.add_column(col, justify="right" if col == "probability" else "left")
    for label, ranked in results:
        for rank, (name, p) in enumerate(ranked, start=1):
            table.add_row(label if rank == 1 else "", str(rank), name, f"{p:.4f}")
    (console or Console()).print(table)


def runs_command(
    folder: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="DIR",
            help="Runs folder (default runs/); with --compare, the runs to plot.",
        ),
    ] = None,
    compare: Annotated[
        bool, typer.Option("--compare", help="Plot the given runs' curves on one PNG.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            metavar="FILE.png",
            help="With --compare: the PNG (compare.png).",
        ),
    ] = None,
) -> None:
    """A table of runs and their best metrics, to compare variants side by side."""
    from ..runs import list_runs
    from .output import table_console

    folders = list(folder or [])
    if compare:
        compare_runs(folders, output)
        return
    if len(folders) > 1 or output is not None:
        raise fail(
            UsageError(
                "several run folders or -o need --compare",
                hint="modelspec runs --compare RUN RUN -o compare.png",
            )
        )
    root = folders[0] if folders else Path("runs")
    try:
        found = list_runs(root)
    except ModelspecError as e:
        raise fail(e) from None
    if not found:
        print(f"no runs under {root}", file=sys.stderr)
        raise typer.Exit(0)
    table_console().print(runs_table(found, root))
    for r in found:  # listed as 'unreadable'; say why, naming the file
        if r.error:
            warn(r.error)


def runs_table(found, folder: Path):
    """One row per run: status, epochs, best epoch, accuracies, speed, and the
    --set overrides when any run has some."""
    from rich import box
    from rich.table import Table

    table = Table(title=f"runs in {folder}", box=box.SIMPLE_HEAD)
    numeric = ("epochs", "best", "val acc", "test acc", "ex/s", "time s")
    cols = ("spec", "run", "status", *numeric)
    with_overrides = any(r.extra.get("overrides") for r in found)
    for col in cols:
        table.add_column(
            col, justify="right" if col in numeric else "left", no_wrap=col in numeric
        )
    if with_overrides:
        table.add_column("overrides", overflow="fold")
    for r in found:
        row = [
            r.name,
            r.stamp,
            r.status,
            cell(r.epochs),
            cell(r.best_epoch),
            cell(r.val_accuracy),
            cell(r.test_accuracy),
            cell(None if r.examples_per_s is None else round(r.examples_per_s)),
            cell(None if r.wall_time is None else round(r.wall_time)),
        ]
        if with_overrides:
            row.append(" ".join(r.extra.get("overrides", [])))
        table.add_row(*row)
    return table


def compare_runs(folders: list[Path], output: Path | None) -> None:
    """`runs --compare`: the given runs' curves on one PNG (matplotlib)."""
    target = output or Path("compare.png")
    if target.suffix.lower() != ".png":
        raise fail(UsageError(f"-o must name a .png file. Received: {target}"))
    try:
        from backends.keras_backend.compare import compare_runs as plot

        if not folders:
            raise UsageError(
                "--compare needs run folders", hint="modelspec runs --compare RUN RUN"
            )
        dirs = plot(folders, target)
    except ModelspecError as e:
        raise fail(e) from None
    print(f"wrote {target} ({len(dirs)} run{'s' * (len(dirs) != 1)})")


def register(app: typer.Typer) -> None:
    app.command("train", cls=Command, short_help="Train a spec into a new run folder.")(
        train_command
    )
    app.command(
        "evaluate", cls=Command, short_help="Evaluate a run's best model on its data."
    )(evaluate_command)
    app.command(
        "predict",
        cls=Command,
        short_help="Classify images with a run or an .onnx file.",
    )(predict_command)
    app.command("runs", cls=Command, short_help="List runs and their best metrics.")(
        runs_command
    )
