"""What several commands declare alike: the `--set` option, the choices of
`--format` and `--checkpoint` (enums, so `--help` lists them and Click rejects
anything else with exit 2), and the command class every command uses."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer
from typer.core import TyperArgument, TyperCommand


class TextOrJson(str, Enum):
    text = "text"
    json = "json"


class PictureFormat(str, Enum):
    """The formats of `modelspec.drawing.FORMATS` (a test keeps them equal)."""

    svg = "svg"
    png = "png"
    html = "html"
    mermaid = "mermaid"


class Checkpoint(str, Enum):
    best = "best"
    last = "last"


SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY.PATH=VALUE",
        help="Override a spec value: KEY.PATH=VALUE (repeatable).",
    ),
]
FormatOption = Annotated[
    TextOrJson, typer.Option("--format", "-f", help="Output format.")
]


def _no_type(ctx=None) -> None:
    return None


class Command(TyperCommand):
    """Arguments show their metavar alone (`SPEC`, `RUN`) in `--help`; typer
    would append the Python type of the parameter (`<list[Path]>`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for p in self.params:
            if isinstance(p, TyperArgument) and p.metavar is not None:
                # Replacing the method on one instance is the only hook typer has.
                p.display_type_rich = _no_type  # type: ignore[method-assign]
