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


def load_model(path, **kwargs):
    """`keras.saving.load_model` with modelspec's custom layers registered."""
    from modelspec.errors import require

    keras = require("keras")
    return keras.saving.load_model(path, custom_objects=custom_objects(), **kwargs)


__all__ = ["LOWERINGS", "build_model", "custom_objects", "load_model", "lower_nodes"]
