"""`modelspec train`, `evaluate`, `predict` and `runs`.

TensorFlow and the Keras backend are imported inside the command bodies, so
`modelspec --help` and `modelspec check` stay fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from .errors import ModelspecError, SpecInvalid, UsageError


def _fail(e: ModelspecError) -> typer.Exit:
    print(f"error: {e.message}", file=sys.stderr)
    if e.hint:
        print(f"  hint: {e.hint}", file=sys.stderr)
    return typer.Exit(e.exit_code)


def _print_diagnostics(report) -> None:
    for d in report.diagnostics:
        if d.file is None:
            d.file = report.file
        print(d.render(), file=sys.stderr)


def _quiet_tf() -> None:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


class RichReporter:
    """One Rich progress bar per epoch: loss, accuracy, examples/s."""

    def __init__(self, console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeElapsedColumn(),
            console=console,
        )
        # Piped to a file or CI log: one plain line per epoch, no live bar.
        self.live = console.is_terminal
        self.console = console
        self.task = None
        self.title = ""

    def __enter__(self):
        if self.live:
            self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.live:
            self.progress.stop()

    def epoch_begin(self, epoch: int, epochs: int, steps: int) -> None:
        self.title = f"epoch {epoch}/{epochs}"
        if self.live:
            self.task = self.progress.add_task(self.title, total=steps, stats="")

    def batch_end(self, step: int, logs: dict, rate: float) -> None:
        if self.live:
            self.progress.update(
                self.task, completed=step, stats=self._stats(logs, rate)
            )

    def epoch_end(self, epoch: int, logs: dict) -> None:
        stats = self._stats(logs, logs.get("examples_per_s"), val=True)
        if self.live:
            self.progress.update(self.task, stats=stats)
        else:
            self.console.print(f"{self.title}  {stats}", highlight=False,
                               soft_wrap=True)

    @staticmethod
    def _stats(logs: dict, rate, val: bool = False) -> str:
        keys = ["loss", "accuracy"] + (["val_loss", "val_accuracy"] if val else [])
        parts = [f"{k} {logs[k]:.4f}" for k in keys if k in logs]
        if rate:
            parts.append(f"{rate:,.0f} ex/s")
        return "  ".join(parts)


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
    acc = f"test accuracy {test:.4f}" if test is not None else (
        f"val accuracy {val:.4f}" if val is not None else "trained"
    )
    return (
        f"{acc} (best epoch {m.get('best_epoch')}/{m.get('epochs_done')} by "
        f"{m.get('monitor')}) in {m.get('wall_time_s', 0):.0f} s -> {result.run_dir}"
    )


def train_command(
    spec: Path | None = typer.Argument(None, help="The spec file to train."),
    set_: list[str] | None = typer.Option(
        None, "--set", help="Override a spec value: KEY.PATH=VALUE (repeatable)."
    ),
    epochs: int | None = typer.Option(
        None, "--epochs", min=1, help="Train this many epochs."
    ),
    out: Path = typer.Option(Path("runs"), "--out", help="Runs folder."),
    resume: Path | None = typer.Option(
        None, "--resume", help="Continue an interrupted run (its folder)."
    ),
) -> None:
    """Train a spec; writes runs/<name>/<timestamp>/ (checkpoints, metrics, plots)."""
    from rich.console import Console

    from .check import check_file

    _quiet_tf()
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
            report = check_file(spec, overrides)
            _print_diagnostics(report)
            if not report.ok:
                raise SpecInvalid(report)
            with RichReporter(console) as reporter:
                result = trainer.train(
                    report, overrides=overrides, out=out, reporter=reporter,
                    on_transfer=_transfer_printer(console),
                )
    except SpecInvalid as e:
        if resume is not None:
            _print_diagnostics(e.report)
        raise _fail(e) from None
    except ModelspecError as e:
        raise _fail(e) from None
    console.print(_summary(result), highlight=False, soft_wrap=True)


def evaluate_command(
    run: Path = typer.Argument(..., help="A run folder (or runs/<name>/latest)."),
) -> None:
    """Reload a run's best.keras and evaluate it on the spec's data."""
    from rich.console import Console
    from rich.table import Table

    _quiet_tf()
    try:
        from backends.keras_backend.finish import evaluate_run

        results, path = evaluate_run(run)
    except ModelspecError as e:
        raise _fail(e) from None
    keys = [k for k in next(iter(results.values()), {}) if k not in (
        "examples", "examples_per_s")]
    table = Table(title=str(path))
    for col in ["split", *keys, "examples"]:
        table.add_column(col, justify="left" if col == "split" else "right")
    for split, row in results.items():
        table.add_row(split, *[_fmt(row[k]) for k in keys], str(row["examples"]))
    Console().print(table)


def predict_command(
    run: Path = typer.Argument(
        ..., help="A run folder (or runs/<name>/latest), or an exported .onnx file."
    ),
    images: list[Path] = typer.Argument(..., help="PNG/JPEG images or .npy arrays."),
    top: int = typer.Option(3, "--top", "-k", min=1, help="Classes to show."),
) -> None:
    """Classify images with a run's best model (or an .onnx file, without
    TensorFlow); prints the top-k probabilities."""
    from .cli_export import predict_onnx_command, render_predictions

    if run.suffix.lower() == ".onnx":
        return predict_onnx_command(run, images, top)
    _quiet_tf()
    try:
        from backends.keras_backend.finish import predict_run

        results = predict_run(run, [str(p) for p in images], top_k=top)
    except ModelspecError as e:
        raise _fail(e) from None
    render_predictions(results)


def runs_command(
    folder: list[Path] | None = typer.Argument(
        None, help="Runs folder (default runs/); with --compare, the runs to plot."
    ),
    compare: bool = typer.Option(
        False, "--compare", help="Plot the given runs' curves on one PNG."
    ),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="With --compare: the PNG (compare.png)."
    ),
) -> None:
    """A table of runs and their best metrics, to compare variants side by side."""
    from .cli_sweep import runs_folder_or_compare

    folder = runs_folder_or_compare(folder, compare, output)  # exits on --compare
    from rich.console import Console
    from rich.table import Table

    from backends.keras_backend.runs import list_runs

    try:
        found = list_runs(folder)
    except ModelspecError as e:
        raise _fail(e) from None
    if not found:
        print(f"no runs under {folder}", file=sys.stderr)
        raise typer.Exit(0)
    from rich import box

    table = Table(title=f"runs in {folder}", box=box.SIMPLE_HEAD)
    numeric = ("epochs", "best", "val acc", "test acc", "ex/s", "time s")
    cols = ("spec", "run", "status", *numeric)
    with_overrides = any(r.extra.get("overrides") for r in found)
    for col in cols:
        table.add_column(col, justify="right" if col in numeric else "left",
                         no_wrap=col in numeric)
    if with_overrides:
        table.add_column("overrides", overflow="fold")
    for r in found:
        row = [
            r.name, r.stamp, r.status, _fmt(r.epochs), _fmt(r.best_epoch),
            _fmt(r.val_accuracy), _fmt(r.test_accuracy),
            _fmt(None if r.examples_per_s is None else round(r.examples_per_s)),
            _fmt(None if r.wall_time is None else round(r.wall_time)),
        ]
        if with_overrides:
            row.append(" ".join(r.extra.get("overrides", [])))
        table.add_row(*row)
    console = Console()
    if not console.is_terminal:  # piped: do not squeeze the table into 80
        console = Console(width=200)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("evaluate")(evaluate_command)
    app.command("predict")(predict_command)
    app.command("runs")(runs_command)
