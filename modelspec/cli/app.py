"""The `modelspec` Typer app and its entry point.

Exit codes: 0 ok, 1 invalid spec or failed run, 2 usage or IO error (Click's
own usage errors and OS errors such as a read-only or full disk included),
3 internal error (a bug in modelspec), 130 interrupted. Every command group lives in its
own module of this package and adds its commands through `register(app)`;
framework-heavy ones import TensorFlow inside the command body.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from ..errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    MissingExtra,
    ModelspecError,
    from_os_error,
)
from . import augment, check, export, sweep, train, view
from .output import fail

# What the [cpu] / [gpu] extras bring (import names).
EXTRA_MODULES = frozenset(
    {
        "tensorflow",
        "keras",
        "tf2onnx",
        "onnx",
        "onnxruntime",
        "numpy",
        "matplotlib",
        "PIL",
        "sklearn",
        "tensorboard",
    }
)

app = typer.Typer(
    name="modelspec",
    help="Check, train and export CNNs written as TOML specs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from .. import DISTRIBUTION, __version__

        print(f"modelspec {__version__} ({DISTRIBUTION})")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Check, train and export CNNs written as TOML specs."""


# The order of `modelspec --help`.
for _group in (check, train, augment, export, view, sweep):
    _group.register(app)


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
    except OSError as e:  # not a bug: the path, permissions or disk are wrong
        sys.exit(fail(from_os_error(e)).exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as e:  # a bug in modelspec, not a user mistake
        _internal_error(e)


def _internal_error(e: Exception) -> None:
    if os.environ.get("MODELSPEC_DEBUG"):
        raise e
    print(
        f"internal error: {type(e).__name__}: {e}\n  this is a bug in "
        "modelspec; rerun with MODELSPEC_DEBUG=1 for the traceback",
        file=sys.stderr,
    )
    sys.exit(EXIT_INTERNAL)
