"""`modelspec lsp`: the language server for editors (stdio)."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import require
from .params import Command


def lsp(
    stdio: Annotated[
        bool,
        typer.Option(
            "--stdio",
            help="Talk LSP over stdin/stdout: the default, accepted because some "
            "editors' LSP clients always pass it.",
        ),
    ] = True,
) -> None:
    """Run the language server over stdin/stdout (an editor starts it)."""
    require("pygls", extra="lsp")
    from ..lsp.server import serve

    serve()


def register(app: typer.Typer) -> None:
    app.command(
        "lsp",
        cls=Command,
        short_help="Run the language server (LSP over stdio) for editors.",
    )(lsp)
