"""`modelspec lsp`: the language server for editors (stdio)."""

from __future__ import annotations

import typer

from ..errors import require
from .params import Command


def lsp() -> None:
    """Run the language server over stdin/stdout (for an editor to start)."""
    require("pygls", extra="lsp")
    from ..lsp.server import serve

    serve()


def register(app: typer.Typer) -> None:
    app.command(
        "lsp",
        cls=Command,
        short_help="Run the language server (LSP over stdio) for editors.",
    )(lsp)
