"""Lowerings of the conv family and the resizing layers (see lower.py).

Keras is reached through the `_Context` each function receives, never imported
here at module level.
"""

from __future__ import annotations

from modelspec.schema import pair
from modelspec.schema.conv_layers import margins

from .lower_base import _common, _weights


def keras_activation(activation, ctx, name: str):
    """A Keras `activation=` argument: the name itself, or for the leaky_relu
    table a LeakyReLU layer (callable, and saved in .keras files by config)."""
    if getattr(activation, "type", None) == "leaky_relu":
        return ctx.keras.layers.LeakyReLU(
            negative_slope=activation.negative_slope, name=f"{name}_leaky_relu"
        )
    return activation


def _regularizer(ctx, l1: float, l2: float):
    if not (l1 or l2):
        return None
    return ctx.keras.regularizers.L1L2(l1=l1, l2=l2)


def _window(layer, name, ctx) -> dict:
    return {
        "kernel_size": pair(layer.kernel),
        "strides": pair(layer.strides),
        "padding": layer.padding,
        "dilation_rate": pair(layer.dilation),
        "activation": keras_activation(layer.activation, ctx, name),
        "use_bias": layer.use_bias,
        **_common(layer, name),
    }


def _depthwise_conv2d(layer, name, ctx):
    w = _weights(layer, ctx)
    return ctx.keras.layers.DepthwiseConv2D(
        depth_multiplier=layer.depth_multiplier,
        depthwise_initializer=w["kernel_initializer"],
        depthwise_regularizer=w["kernel_regularizer"],
        bias_initializer=w["bias_initializer"],
        bias_regularizer=w["bias_regularizer"],
        activity_regularizer=w["activity_regularizer"],
        **_window(layer, name, ctx),
    )


def _separable_conv2d(layer, name, ctx):
    regs = ctx.keras.regularizers
    return ctx.keras.layers.SeparableConv2D(
        filters=layer.filters,
        depth_multiplier=layer.depth_multiplier,
        depthwise_initializer=ctx.initializer(
            layer.depthwise_init, "glorot_uniform", 0
        ),
        pointwise_initializer=ctx.initializer(
            layer.pointwise_init, "glorot_uniform", 3
        ),
        bias_initializer=ctx.initializer(layer.bias_init, "zeros", 1),
        depthwise_regularizer=_regularizer(ctx, layer.depthwise_l1, layer.depthwise_l2),
        pointwise_regularizer=_regularizer(ctx, layer.pointwise_l1, layer.pointwise_l2),
        bias_regularizer=regs.L2(layer.bias_l2) if layer.bias_l2 else None,
        activity_regularizer=(
            regs.L2(layer.activity_l2) if layer.activity_l2 else None
        ),
        **_window(layer, name, ctx),
    )


def _conv2d_transpose(layer, name, ctx):
    output_padding = (
        None if layer.output_padding is None else pair(layer.output_padding)
    )
    return ctx.keras.layers.Conv2DTranspose(
        filters=layer.filters,
        output_padding=output_padding,
        **_weights(layer, ctx),
        **_window(layer, name, ctx),
    )


def _zero_pad2d(layer, name, ctx):
    return ctx.keras.layers.ZeroPadding2D(
        padding=margins(layer.padding), **_common(layer, name)
    )


def _cropping2d(layer, name, ctx):
    return ctx.keras.layers.Cropping2D(
        cropping=margins(layer.cropping), **_common(layer, name)
    )


def _upsampling2d(layer, name, ctx):
    return ctx.keras.layers.UpSampling2D(
        size=pair(layer.size),
        interpolation=layer.interpolation,
        **_common(layer, name),
    )


LOWERINGS = {
    "depthwise_conv2d": _depthwise_conv2d,
    "separable_conv2d": _separable_conv2d,
    "conv2d_transpose": _conv2d_transpose,
    "zero_pad2d": _zero_pad2d,
    "cropping2d": _cropping2d,
    "upsampling2d": _upsampling2d,
}
