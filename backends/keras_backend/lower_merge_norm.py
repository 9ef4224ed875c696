"""Keras lowerings of the element-wise merges, rescaling and normalisation kinds.

`lower.py` merges LOWERINGS into its table and MERGE_KINDS into the kinds that
receive a list of tensors. Each function gets (validated layer, name, context)
and returns an uncalled Keras layer; Keras is imported only inside them.
"""

from __future__ import annotations

from modelspec.schema.merge_norm import MERGE_KINDS

from .lower_base import _common


def _keras_axis(axis: int) -> int:
    # The spec's axes do not count the batch axis; Keras's do. Negative axes
    # count from the end and mean the same in both.
    return axis if axis < 0 else axis + 1


def _keras_axes(axis):
    if isinstance(axis, int):
        return _keras_axis(axis)
    return [_keras_axis(a) for a in axis]


def _merge(cls_name: str):
    def lower(layer, name, ctx):
        return getattr(ctx.keras.layers, cls_name)(**_common(layer, name))

    lower.__name__ = f"_{cls_name.lower()}"
    return lower


def _rescaling(layer, name, ctx):
    return ctx.keras.layers.Rescaling(
        scale=layer.scale, offset=layer.offset, **_common(layer, name)
    )


def _normalization(layer, name, ctx):
    # A list axis becomes a tuple: Keras stores it as one either way.
    axis = _keras_axes(layer.axis)
    axis = tuple(axis) if isinstance(axis, list) else axis
    if layer.mean is not None:
        return ctx.keras.layers.Normalization(
            axis=axis,
            mean=layer.mean,
            variance=layer.variance,
            **_common(layer, name),
        )
    # Weights to adapt or load: a Normalization that reads them at every call.
    from .normalization import AdaptedNormalization

    return AdaptedNormalization(axis=axis, **_common(layer, name))


def _layer_norm(layer, name, ctx):
    return ctx.keras.layers.LayerNormalization(
        axis=_keras_axes(layer.axis),
        epsilon=layer.epsilon,
        center=layer.center,
        scale=layer.scale,
        **_common(layer, name),
    )


def _layer_scale(layer, name, ctx):
    from .layer_scale import LayerScale

    return LayerScale(init_values=layer.init_value, **_common(layer, name))


LOWERINGS = {
    "multiply": _merge("Multiply"),
    "subtract": _merge("Subtract"),
    "maximum": _merge("Maximum"),
    "average": _merge("Average"),
    "rescaling": _rescaling,
    "normalization": _normalization,
    "layer_norm": _layer_norm,
    "layer_scale": _layer_scale,
}

__all__ = ["LOWERINGS", "MERGE_KINDS"]
