"""The `modelspec` command. Only this module and `cli_*.py` print.

Exit codes: 0 ok, 1 invalid spec or failed run, 2 usage or IO error.
Framework-heavy commands live in `cli_<area>.py` modules, each adding its
commands through `register(app)`; they import TensorFlow inside the command.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

from . import __version__
from .errors import MissingExtra, ModelspecError

# What the [cpu] / [gpu] extras bring (import names).
EXTRA_MODULES = frozenset({
    "tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime", "numpy", "matplotlib",
    "PIL", "sklearn", "tensorboard",
})

app = typer.Typer(
    name="modelspec",
    help="Check, train and export CNNs written as TOML specs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

SetOption = typer.Option(
    None, "--set", help="Override a spec value: KEY.PATH=VALUE (repeatable)."
)


def fail(e: ModelspecError) -> "typer.Exit":
    """Print an error the one way every command does; return the Exit to raise."""
    print(f"error: {e.message}", file=sys.stderr)
    if e.hint:
        print(f"  hint: {e.hint}", file=sys.stderr)
    return typer.Exit(e.exit_code)


@app.command()
def check(
    files: List[Path] = typer.Argument(..., help="Spec files to check."),
    format: str = typer.Option("text", "--format", "-f", help="text or json."),
    strict: bool = typer.Option(False, "--strict", help="Treat warnings as errors."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary table."),
    expand: bool = typer.Option(
        False, "--expand", help="One row per layer, block instances expanded."
    ),
    set_: Optional[List[str]] = SetOption,
) -> None:
    """Validate specs and infer every layer's shape, without loading a framework."""
    from .check import check_file
    from .render import print_diagnostics, print_summary

    if format not in ("text", "json"):
        print(f"error: --format must be text or json. Received: {format}",
              file=sys.stderr)
        raise typer.Exit(2)
    worst = 0
    results = []
    for f in files:
        try:
            report = check_file(f, set_ or ())
        except ModelspecError as e:
            raise fail(e) from None
        bad = not report.ok or (strict and report.warnings)
        worst = max(worst, 1 if bad else 0)
        if format == "json":
            results.append(report.to_json() | {"ok": not bad})
            continue
        print_diagnostics(report)
        if report.ok and not quiet:
            print_summary(report, expand=expand)
    if format == "json":
        print(json.dumps(results[0] if len(results) == 1 else results, indent=2))
    raise typer.Exit(worst)


@app.command()
def schema(
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write here."),
) -> None:
    """Print the JSON Schema of spec files (for editors: `#:schema` in TOML)."""
    from .fsutil import atomic_write_text
    from .schema import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        atomic_write_text(output, text)


@app.command()
def version() -> None:
    """Print the modelspec version."""
    print(f"modelspec {__version__}")


# Commands of the other areas; a missing module (partial install) is skipped.
_AREAS = ("cli_train", "cli_export", "cli_view", "cli_sweep")
for _area in _AREAS:
    try:
        _mod = importlib.import_module(f"{__package__}.{_area}")
    except ModuleNotFoundError as _e:
        if _e.name != f"{__package__}.{_area}":
            raise
        continue
    _mod.register(app)


def main() -> None:
    try:
        app()
    except ModelspecError as e:
        sys.exit(fail(e).exit_code)
    except ModuleNotFoundError as e:
        # A package of the [cpu] extra imported somewhere inside a command on a
        # core-only install: say which extra to install, not a traceback.
        top = (e.name or "").split(".")[0]
        if top not in EXTRA_MODULES:
            _internal_error(e)
        sys.exit(fail(MissingExtra(top)).exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as e:  # a bug in modelspec, not a user mistake
        _internal_error(e)


def _internal_error(e: Exception) -> None:
    if os.environ.get("MODELSPEC_DEBUG"):
        raise e
    print(f"internal error: {type(e).__name__}: {e}\n  this is a bug in "
          "modelspec; rerun with MODELSPEC_DEBUG=1 for the traceback",
          file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main()
