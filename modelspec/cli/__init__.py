"""The `modelspec` command line: the only package that prints.

    app.py       the Typer app, `main()`, exit codes, missing-extra message
    output.py    errors, warnings, diagnostics and tables, rendered one way
    params.py    shared options and choices (`--set`, `--format`, ...)
    progress.py  the training progress bar (train and sweep)
    check.py     check, schema, version
    train.py     train, evaluate, predict, runs
    export.py    export
    view.py      graph, diff
    sweep.py     sweep

Command modules import `output`, `params` and `progress`, never each other.
"""

from .app import app, main

__all__ = ["app", "main"]
