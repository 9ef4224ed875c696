"""`modelspec sweep`: a grid of --set values, trained one after another.

TensorFlow loads only when the first variant trains: every variant is checked
first, and the sweep does not start if one of them is invalid.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import ModelspecError, UsageError
from .output import fail, quiet_tensorflow
from .params import Command
from .progress import RichReporter


class VariantsInvalid(ModelspecError):
    """Some variants of the grid do not check; nothing was started."""


def _open(spec, set_items, repeat, epochs, out, resume, fresh, say):
    """(sweep_dir or None if new, state, spec text)."""
    from ..check import read_spec_text
    from ..runs import sweep as sw  # lazy: keeps other commands' start-up light

    if resume is not None:
        if spec is not None or set_items or repeat != 1 or epochs is not None:
            raise UsageError(
                "--resume continues a sweep as it was planned; give no SPEC, "
                "--set, --repeat or --epochs with it"
            )
        state = sw.load_state(resume)
        text = read_spec_text(Path(resume) / sw.SPEC_COPY)
        return Path(resume), state, text
    if spec is None:
        raise UsageError(
            "give a SPEC to sweep, or --resume SWEEP_DIR",
            hint="modelspec sweep specs/digits_lenet.toml "
            "--set train.optimizer.type=adam,sgd",
        )
    text = read_spec_text(spec)
    state = sw.new_state(
        str(spec), text, set_items, repeat=repeat, epochs=epochs, out=out
    )
    found = None if fresh else sw.find_unfinished(out, state.key)
    if found is not None:
        say(
            f"continuing the unfinished sweep {found} (same spec and grid; "
            "--fresh starts a new one)"
        )
        return found, sw.load_state(found), read_spec_text(found / sw.SPEC_COPY)
    return None, state, text


def _check(state, text) -> dict:
    """{variant index: Report}; raises VariantsInvalid after printing every
    invalid variant's diagnostics. Warnings shared by all are printed once."""
    from ..runs import sweep as sw  # lazy: keeps other commands' start-up light

    checked = sw.check_variants(text, state.source, state.variants)
    seen = set()
    bad = []
    for v, report in checked:
        if not report.ok:
            bad.append((v, report))
            continue
        for d in report.warnings:
            line = d.render()
            if line not in seen:
                seen.add(line)
                print(line, file=sys.stderr)
    for v, report in bad:
        print(f"variant {v.index} ({v.label}):", file=sys.stderr)
        for d in report.diagnostics:
            print("  " + d.render().replace("\n", "\n  "), file=sys.stderr)
    if bad:
        n = len(state.variants)
        raise VariantsInvalid(
            f"{len(bad)} of {n} variant{'s' * (n != 1)} of the sweep are invalid; "
            "nothing was trained",
            hint="fix the spec or the --set values of the variants above",
        )
    return {v.index: report for v, report in checked}


def table(rows, title: str):
    from rich.table import Table

    from ..runs import sweep as sw  # lazy: keeps other commands' start-up light

    t = Table(title=title)
    for key, label in sw.COLUMNS:
        left = key in ("variant", "status")
        # fold, not "…": the variant label is the point of the table
        t.add_column(
            label,
            justify="left" if left else "right",
            overflow="fold" if key == "variant" else "ellipsis",
        )
    for row in rows:
        t.add_row(*[sw.format_cell(k, row.get(k)) for k, _ in sw.COLUMNS])
    return t


# long: the signature declares the command's seven options; the body is 25 lines.
def sweep_command(
    spec: Annotated[
        Path | None, typer.Argument(metavar="SPEC", help="The spec file to sweep.")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY.PATH=V1,V2,...",
            help="Values to sweep (repeatable); every combination is one run. "
            "Commas inside [..] do not split: layers.conv1.kernel=[3,3],[5,5].",
        ),
    ] = None,
    repeat: Annotated[
        int,
        typer.Option(
            "--repeat",
            min=1,
            metavar="N",
            help="Run each combination N times, with train.seed = seed, seed+1, ...",
        ),
    ] = 1,
    epochs: Annotated[
        int | None,
        typer.Option(
            "--epochs", min=1, metavar="N", help="Train every variant this many epochs."
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Runs folder.")
    ] = Path("runs"),
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume",
            metavar="SWEEP_DIR",
            help="Continue an interrupted sweep (its folder).",
        ),
    ] = None,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="Start a new sweep even when an unfinished one with the same spec "
            "and grid exists (by default that one is continued).",
        ),
    ] = False,
) -> None:
    """Train a grid of variants, each a normal run; compare them in a table
    and one plot under runs/sweeps/<name>-<stamp>/."""
    from rich.console import Console

    from ..runs import sweep as sw  # lazy: keeps other commands' start-up light

    quiet_tensorflow()
    console = Console()

    def say(text: str) -> None:
        console.print(text, highlight=False, soft_wrap=True)

    try:
        sweep_dir, state, reports = _plan(
            spec, list(set_ or ()), repeat, epochs, out, resume, fresh, say
        )
        outcome = _train(sweep_dir, state, reports, console, say)
    except ModelspecError as e:
        raise fail(e) from None
    console.print(table(outcome.rows, f"sweep of {state.spec_name}"))
    say(f"saved {sweep_dir / sw.CSV_FILE}, {sw.MD_FILE} and {sw.PLOT_FILE}")
    for v in outcome.failed:
        print(
            f"error: variant {v.index} ({v.label}) failed: {v.error}", file=sys.stderr
        )
    if outcome.failed:
        raise typer.Exit(1)


def _plan(spec, set_items, repeat, epochs, out, resume, fresh, say):
    """(sweep folder, state, {variant index: Report}): every variant checked,
    and the folder of a new sweep created with its spec copy and state."""
    from ..fsutil import atomic_write_text
    from ..runs import sweep as sw

    sweep_dir, state, text = _open(
        spec, set_items, repeat, epochs, out, resume, fresh, say
    )
    reports = _check(state, text)
    if sweep_dir is None:
        sweep_dir = sw.create_sweep_dir(out, state.spec_name)
        atomic_write_text(sweep_dir / sw.SPEC_COPY, text)
        sw.save_state(sweep_dir, state)
    return sweep_dir, state, reports


def _train(sweep_dir: Path, state, reports: dict, console, say):
    """Train the variants one after another (the backend's run_sweep), with a
    line before and after each."""
    from .. import runs
    from ..runs import sweep as sw

    n = len(state.variants)
    say(f"sweep of {n} variant{'s' * (n != 1)} of {state.spec_name} -> {sweep_dir}")
    from backends.keras_backend.sweep_run import run_sweep

    def announce(v, action) -> None:
        note = {"skip": "  (finished, skipped)", "resume": "  (resuming)"}
        say(f"[{v.index}/{n}] {v.label}{note.get(action, '')}")

    def summary(v) -> None:
        run_dir = sw.run_path(sweep_dir, v)
        assert run_dir is not None  # run_sweep records it before calling us
        row = sw.comparison_row(v, _metrics(run_dir / runs.METRICS), run_dir)
        say(
            f"  val acc {sw.format_cell('val_accuracy', row['val_accuracy'])}, "
            f"test acc {sw.format_cell('test_accuracy', row['test_accuracy'])}"
            f" -> {run_dir}"
        )

    with RichReporter(console) as reporter:
        return run_sweep(
            sweep_dir,
            state,
            reports,
            reporter=reporter,
            on_variant=announce,
            after_variant=summary,
        )


def _metrics(path: Path) -> dict:
    """A run's metrics.json, or {} while it has none (the summary shows '-')."""
    import json

    try:
        return json.loads(path.read_text())
    except (OSError, ValueError, TypeError):
        return {}


def register(app: typer.Typer) -> None:
    app.command(
        "sweep", cls=Command, short_help="Train a grid of variants and compare them."
    )(sweep_command)
