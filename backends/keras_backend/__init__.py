"""Keras 3 backend: lowers a checked spec to a `keras.Model`.

Importing this package imports neither TensorFlow nor Keras; they load on the
first call that needs them.
"""

from __future__ import annotations

from .lower import LOWERINGS, build_model, lower_nodes


def custom_objects() -> dict:
    """The custom layers a saved modelspec model may contain, by registered name."""
    from .layer_scale import layer_class as layer_scale_class
    from .lrn import layer_class
    from .normalization import layer_class as normalization_class

    found = {}
    for cls in (layer_class(), layer_scale_class()):
        found[f"modelspec>{cls.__name__}"] = found[cls.__name__] = cls
    # Only by its registered name: plain "Normalization" is Keras's own layer.
    found["modelspec>Normalization"] = normalization_class()
    return found


def load_model(path, *, purpose: str = "", **kwargs):
    """`keras.saving.load_model` with modelspec's custom layers registered.

    A missing or damaged file is a UsageError (exit 2) with one wording for
    every command; a file Keras still cannot read is a RunError naming it.
    `purpose` completes the message: "to resume", "for transfer".
    """
    from modelspec.errors import RunError, require
    from modelspec.runs.checkpoint import require_model_file

    require_model_file(path)
    keras = require("keras")
    try:
        return keras.saving.load_model(path, custom_objects=custom_objects(), **kwargs)
    except Exception as exc:  # a foreign or incompatible file: say which one
        where = f" {purpose}" if purpose else ""
        raise RunError(f"cannot load {path}{where}: {exc}") from exc


__all__ = ["LOWERINGS", "build_model", "custom_objects", "load_model", "lower_nodes"]
