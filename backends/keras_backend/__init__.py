"""Keras 3 backend: lowers a checked spec to a `keras.Model`.

Importing this package imports neither TensorFlow nor Keras; they load on the
first call that needs them.
"""

from __future__ import annotations

from .lower import LOWERINGS, build_model, lower_nodes


def custom_objects() -> dict:
    """The custom layers a saved modelspec model may contain, by registered name."""
    from .lrn import layer_class

    cls = layer_class()
    return {"modelspec>LocalResponseNormalization": cls, cls.__name__: cls}


def load_model(path, **kwargs):
    """`keras.saving.load_model` with modelspec's custom layers registered."""
    from modelspec.errors import require

    keras = require("keras")
    return keras.saving.load_model(path, custom_objects=custom_objects(), **kwargs)


__all__ = ["LOWERINGS", "build_model", "custom_objects", "load_model", "lower_nodes"]
