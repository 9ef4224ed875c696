"""`modelspec check`, `schema` and `version`: the framework-free commands of
the spec language."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from .. import __version__
from ..errors import ModelspecError
from .output import fail, print_diagnostics, print_summary
from .params import Command, FormatOption, SetOption, TextOrJson


def check(
    files: Annotated[
        list[Path], typer.Argument(metavar="SPEC", help="Spec files to check.")
    ],
    format: FormatOption = TextOrJson.text,
    strict: Annotated[
        bool, typer.Option("--strict", help="Treat warnings as errors.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No summary table.")
    ] = False,
    expand: Annotated[
        bool,
        typer.Option("--expand", help="One row per layer, block instances expanded."),
    ] = False,
    set_: SetOption = None,
) -> None:
    """Validate specs and infer every layer's shape, without loading a framework."""
    from ..check import check_file

    worst = 0
    results = []
    for f in files:
        try:
            report = check_file(f, set_ or ())
        except ModelspecError as e:
            raise fail(e) from None
        bad = not report.ok or (strict and report.warnings)
        worst = max(worst, 1 if bad else 0)
        if format is TextOrJson.json:
            results.append(report.to_json() | {"ok": not bad})
            continue
        print_diagnostics(report)
        if report.ok and not quiet:
            print_summary(report, expand=expand)
    if format is TextOrJson.json:
        print(json.dumps(results[0] if len(results) == 1 else results, indent=2))
    raise typer.Exit(worst)


def schema(
    output: Annotated[
        Path | None, typer.Option("-o", "--output", metavar="FILE", help="Write here.")
    ] = None,
) -> None:
    """Print the JSON Schema of spec files (for editors: `#:schema` in TOML)."""
    from ..fsutil import atomic_write_text
    from ..schema import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        atomic_write_text(output, text)


def version() -> None:
    """Print the modelspec version."""
    from .. import DISTRIBUTION

    print(f"modelspec {__version__} ({DISTRIBUTION})")


def register(app: typer.Typer) -> None:
    app.command(
        "check", cls=Command, short_help="Validate specs, infer shapes and parameters."
    )(check)
    app.command(
        "schema", cls=Command, short_help="Print the JSON Schema of spec files."
    )(schema)
    app.command("version", cls=Command, short_help="Print the modelspec version.")(
        version
    )
