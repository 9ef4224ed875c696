"""The convolution family beyond conv2d, and the layers that pad, crop or
resize a feature map: depthwise, separable and transposed convolutions,
zero_pad2d, cropping2d and upsampling2d.

Defaults and argument rules are Keras 3's; the shape and parameter rules are in
modelspec/shapes/conv_family.py and modelspec/shapes/resize.py.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .common import Activation, Initializer, Pair, PositiveInt
from .layer_base import LayerBase, Padding, WeightedLayer

NonNegInt = Annotated[int, Field(ge=0)]
NonNegPair = NonNegInt | Annotated[list[NonNegInt], Field(min_length=2, max_length=2)]
# int, [h, w] or [[top, bottom], [left, right]], as Keras's ZeroPadding2D and
# Cropping2D take them.
Margins = (
    NonNegInt
    | Annotated[list[NonNegInt], Field(min_length=2, max_length=2)]
    | Annotated[
        list[Annotated[list[NonNegInt], Field(min_length=2, max_length=2)]],
        Field(min_length=2, max_length=2),
    ]
)


def margins(v) -> tuple[tuple[int, int], tuple[int, int]]:
    """((top, bottom), (left, right)) from any of the three spellings."""
    if isinstance(v, int):
        return (v, v), (v, v)
    if isinstance(v[0], int):
        return (v[0], v[0]), (v[1], v[1])
    return (v[0][0], v[0][1]), (v[1][0], v[1][1])


def _two(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (v[0], v[1])


def _no_strided_dilation(layer):
    if max(_two(layer.strides)) > 1 and max(_two(layer.dilation)) > 1:
        raise ValueError(
            "strides > 1 is not supported together with dilation > 1 "
            f"(Keras's rule). Received: strides={layer.strides}, "
            f"dilation={layer.dilation}"
        )
    return layer


class _Window(LayerBase):
    kernel: Pair = Field(description="Kernel size: int or [kh, kw].")
    strides: Pair = Field(1, description="Stride: int or [sh, sw].")
    padding: Padding = Field("valid", description="'valid' (no padding) or 'same'.")
    dilation: Pair = Field(1, description="Dilation rate: int or [dh, dw].")
    activation: Activation | None = Field(
        None, description="Activation applied to the output; default none (linear)."
    )
    use_bias: bool = Field(True, description="Whether the layer has a bias vector.")
    in_channels: PositiveInt | None = Field(
        None, description="Assertion on the number of input channels."
    )


class DepthwiseConv2D(_Window, WeightedLayer):
    """One kh x kw filter per input channel (times depth_multiplier); kernel_init
    and kernel_l1/l2 are Keras's depthwise_initializer/depthwise_regularizer."""

    type: Literal["depthwise_conv2d"]
    depth_multiplier: PositiveInt = Field(
        1, description="Output channels per input channel."
    )


class SeparableConv2D(_Window):
    """A depthwise convolution followed by a 1x1 (pointwise) one; the one bias
    belongs to the pointwise part, as in Keras."""

    type: Literal["separable_conv2d"]
    filters: PositiveInt = Field(description="Number of output channels.")
    depth_multiplier: PositiveInt = Field(
        1, description="Depthwise output channels per input channel."
    )
    depthwise_init: Initializer | None = Field(
        None, description="Depthwise kernel initializer; default glorot_uniform."
    )
    pointwise_init: Initializer | None = Field(
        None, description="Pointwise kernel initializer; default glorot_uniform."
    )
    bias_init: Initializer | None = Field(
        None, description="Bias initializer; default zeros."
    )
    depthwise_l2: float = Field(0.0, ge=0, description="L2 penalty, depthwise kernel.")
    depthwise_l1: float = Field(0.0, ge=0, description="L1 penalty, depthwise kernel.")
    pointwise_l2: float = Field(0.0, ge=0, description="L2 penalty, pointwise kernel.")
    pointwise_l1: float = Field(0.0, ge=0, description="L1 penalty, pointwise kernel.")
    bias_l2: float = Field(0.0, ge=0, description="L2 penalty on the bias.")
    activity_l2: float = Field(
        0.0, ge=0, description="L2 penalty on the layer's output (activity)."
    )


class Conv2DTranspose(_Window, WeightedLayer):
    """The gradient of a convolution, used to upsample: output size follows
    Keras's deconv_output_length."""

    type: Literal["conv2d_transpose"]
    filters: PositiveInt = Field(description="Number of output channels.")
    output_padding: NonNegPair | None = Field(
        None,
        description="Extra rows/columns added to one side of the output; each "
        "must be smaller than the stride. Default: inferred (Keras's None).",
    )

    @model_validator(mode="after")
    def _strides_or_dilation(self) -> Conv2DTranspose:
        return _no_strided_dilation(self)


class ZeroPad2D(LayerBase):
    type: Literal["zero_pad2d"]
    padding: Margins = Field(
        1,
        description="Zero rows/columns to add: int, [h, w] (both sides) or "
        "[[top, bottom], [left, right]].",
    )


class Cropping2D(LayerBase):
    type: Literal["cropping2d"]
    cropping: Margins = Field(
        0,
        description="Rows/columns to remove: int, [h, w] (both sides) or "
        "[[top, bottom], [left, right]].",
    )


class UpSampling2D(LayerBase):
    type: Literal["upsampling2d"]
    size: Pair = Field(2, description="Upsampling factor: int or [fh, fw].")
    interpolation: Literal["nearest", "bilinear"] = Field(
        "nearest", description="'nearest' repeats pixels; 'bilinear' interpolates."
    )
