"""Lower a checked spec (`modelspec.report.Report`) to a Keras 3 functional model.

One function per layer `type` tag in LOWERINGS; each receives the validated
Pydantic layer model and a `_Context`, and returns an (uncalled) Keras layer.
Keras is imported only inside functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modelspec.errors import SpecInvalid, require
from modelspec.schema import pair

from .lower_base import _common, _Context, _weights
from .lower_conv import LOWERINGS as _CONV_LOWERINGS
from .lower_conv import keras_activation as _keras_activation
from .lower_merge_norm import LOWERINGS as _MERGE_NORM_LOWERINGS
from .lower_merge_norm import MERGE_KINDS as _MERGE_NORM_KINDS


def _conv2d(layer, name, ctx):
    return ctx.keras.layers.Conv2D(
        filters=layer.filters,
        kernel_size=pair(layer.kernel),
        strides=pair(layer.strides),
        padding=layer.padding,
        dilation_rate=pair(layer.dilation),
        groups=layer.groups,
        activation=_keras_activation(layer.activation, ctx, name),
        use_bias=layer.use_bias,
        **_weights(layer, ctx),
        **_common(layer, name),
    )


def _pool_args(layer) -> dict:
    strides = layer.strides if layer.strides is not None else layer.pool
    return {
        "pool_size": pair(layer.pool),
        "strides": pair(strides),
        "padding": layer.padding,
    }


def _max_pool2d(layer, name, ctx):
    return ctx.keras.layers.MaxPooling2D(**_pool_args(layer), **_common(layer, name))


def _avg_pool2d(layer, name, ctx):
    return ctx.keras.layers.AveragePooling2D(
        **_pool_args(layer), **_common(layer, name)
    )


def _global_avg_pool2d(layer, name, ctx):
    return ctx.keras.layers.GlobalAveragePooling2D(
        keepdims=layer.keepdims, **_common(layer, name)
    )


def _global_max_pool2d(layer, name, ctx):
    return ctx.keras.layers.GlobalMaxPooling2D(
        keepdims=layer.keepdims, **_common(layer, name)
    )


def _dense(layer, name, ctx):
    return ctx.keras.layers.Dense(
        units=layer.units,
        activation=_keras_activation(layer.activation, ctx, name),
        use_bias=layer.use_bias,
        **_weights(layer, ctx),
        **_common(layer, name),
    )


def _flatten(layer, name, ctx):
    return ctx.keras.layers.Flatten(**_common(layer, name))


def _reshape(layer, name, ctx):
    return ctx.keras.layers.Reshape(tuple(layer.shape), **_common(layer, name))


def _dropout(layer, name, ctx):
    # The spec's noise_shape has no batch axis: every example draws its own mask.
    noise = None if layer.noise_shape is None else (None, *layer.noise_shape)
    return ctx.keras.layers.Dropout(
        rate=layer.rate,
        noise_shape=noise,
        seed=ctx.seed_for(2),
        **_common(layer, name),
    )


def _batch_norm(layer, name, ctx):
    return ctx.keras.layers.BatchNormalization(
        axis=-1,
        momentum=layer.momentum,
        epsilon=layer.epsilon,
        center=layer.center,
        scale=layer.scale,
        **_common(layer, name),
    )


def _lrn(layer, name, ctx):
    from .lrn import LocalResponseNormalization

    return LocalResponseNormalization(
        depth_radius=layer.depth_radius,
        bias=layer.bias,
        alpha=layer.alpha,
        beta=layer.beta,
        **_common(layer, name),
    )


def _activation(layer, name, ctx):
    if getattr(layer.activation, "type", None) == "leaky_relu":
        return ctx.keras.layers.LeakyReLU(
            negative_slope=layer.activation.negative_slope, **_common(layer, name)
        )
    return ctx.keras.layers.Activation(layer.activation, **_common(layer, name))


def _add(layer, name, ctx):
    return ctx.keras.layers.Add(**_common(layer, name))


def _concat(layer, name, ctx):
    # The spec's axis does not count the batch axis; Keras's does. Negative
    # axes count from the end and mean the same in both.
    axis = layer.axis if layer.axis < 0 else layer.axis + 1
    return ctx.keras.layers.Concatenate(axis=axis, **_common(layer, name))


LOWERINGS: dict[str, Callable[[Any, str, _Context], Any]] = {
    "conv2d": _conv2d,
    "max_pool2d": _max_pool2d,
    "avg_pool2d": _avg_pool2d,
    "global_avg_pool2d": _global_avg_pool2d,
    "global_max_pool2d": _global_max_pool2d,
    "dense": _dense,
    "flatten": _flatten,
    "reshape": _reshape,
    "dropout": _dropout,
    "batch_norm": _batch_norm,
    "lrn": _lrn,
    "activation": _activation,
    "add": _add,
    "concat": _concat,
}


LOWERINGS.update(_CONV_LOWERINGS)
LOWERINGS.update(_MERGE_NORM_LOWERINGS)

_MERGES = {"add", "concat"} | _MERGE_NORM_KINDS


def build_model(report, *, seed: int | None = None):
    """The Keras model for a checked spec. `seed` makes the initial weights
    (and dropout masks) reproducible without touching global random state."""
    if not report.ok or report.spec is None:
        raise SpecInvalid(report)
    model = report.spec.model
    return lower_nodes(report.nodes, model.input, name=model.name, seed=seed)


def lower_nodes(nodes, input_shape, *, name: str = "model", seed: int | None = None):
    """Build without looking at diagnostics: Keras's own errors surface as they
    are. For tests and tools comparing Keras with the checker; use build_model."""
    keras = require("keras")
    tensors = {"input": keras.Input(shape=tuple(input_shape), name="input")}
    for node in nodes:
        ctx = _Context(keras=keras, node_index=node.index, seed=seed)
        layer = LOWERINGS[node.type](node.layer, node.name, ctx)
        args = [tensors[ref] for ref in node.inputs]
        tensors[node.name] = layer(args if node.type in _MERGES else args[0])
    return keras.Model(
        inputs=tensors["input"], outputs=tensors[nodes[-1].name], name=name
    )
