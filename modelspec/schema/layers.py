"""One Pydantic model per layer kind, joined in a single discriminated union.

The union's tags are the `type` values a spec may use. The shape rules
(`modelspec.shapes.RULES`) and the Keras lowering (`backends.keras_backend`) are
keyed by the same tags; a test keeps the three sets equal.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, field_validator, model_validator

from .common import Activation, Pair, PositiveInt
from .conv_layers import (  # the convolution family and resizing layers
    Conv2DTranspose,
    Cropping2D,
    DepthwiseConv2D,
    SeparableConv2D,
    UpSampling2D,
    ZeroPad2D,
)
from .layer_base import LayerBase, Padding, WeightedLayer, pair
from .merge_norm import (  # element-wise merges, rescaling and normalisation
    Average,
    LayerNorm,
    LayerScale,
    Maximum,
    Multiply,
    Normalization,
    Rescaling,
    Subtract,
)


class Conv2D(WeightedLayer):
    type: Literal["conv2d"]
    filters: PositiveInt = Field(description="Number of output channels.")
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
    groups: PositiveInt = Field(
        1,
        description="Grouped convolution: input channels and filters split into "
        "this many groups, each convolved separately; both must be divisible.",
    )

    @model_validator(mode="after")
    def _strides_or_dilation(self) -> Conv2D:
        if max(pair(self.strides)) > 1 and max(pair(self.dilation)) > 1:
            raise ValueError(
                "strides > 1 is not supported together with dilation > 1 "
                f"(Keras's rule). Received: strides={self.strides}, "
                f"dilation={self.dilation}"
            )
        return self


class _Pool2D(LayerBase):
    pool: Pair = Field(2, description="Pooling window: int or [ph, pw].")
    strides: Pair | None = Field(None, description="Stride; default = pool.")
    padding: Padding = Field("valid", description="'valid' or 'same'.")


class MaxPool2D(_Pool2D):
    type: Literal["max_pool2d"]


class AvgPool2D(_Pool2D):
    type: Literal["avg_pool2d"]


class _GlobalPool2D(LayerBase):
    keepdims: bool = Field(
        False, description="Keep the spatial axes: output (1, 1, c) instead of (c,)."
    )


class GlobalAvgPool2D(_GlobalPool2D):
    type: Literal["global_avg_pool2d"]


class GlobalMaxPool2D(_GlobalPool2D):
    type: Literal["global_max_pool2d"]


class Dense(WeightedLayer):
    type: Literal["dense"]
    units: PositiveInt = Field(description="Output size, applied to the last axis.")
    activation: Activation | None = Field(
        None, description="Activation; default none, which gives logits."
    )
    use_bias: bool = Field(True, description="Whether the layer has a bias vector.")


class Flatten(LayerBase):
    type: Literal["flatten"]


class Reshape(LayerBase):
    type: Literal["reshape"]
    shape: list[int] = Field(
        min_length=1,
        description="Target shape without the batch axis; one entry may be -1.",
    )

    @field_validator("shape")
    @classmethod
    def _one_unknown(cls, v: list[int]) -> list[int]:
        if v.count(-1) > 1:
            raise ValueError(f"at most one entry may be -1. Received: shape={v}")
        if any(d == 0 or d < -1 for d in v):
            raise ValueError(f"entries must be positive or -1. Received: shape={v}")
        return v


class Dropout(LayerBase):
    type: Literal["dropout"]
    rate: float = Field(
        ge=0, le=1, description="Fraction of the inputs to drop, in [0, 1)."
    )
    noise_shape: list[PositiveInt] | None = Field(
        None,
        min_length=1,
        description="Shape of the dropout mask, no batch axis (each example "
        "draws its own): one entry per input axis, 1 to share the mask along "
        "that axis or the input's size; [1, 1, 1] drops whole examples of a "
        "feature map (stochastic depth, Keras's noise_shape=(None, 1, 1, 1)).",
    )


class BatchNorm(LayerBase):
    type: Literal["batch_norm"]
    momentum: float = Field(0.99, gt=0, lt=1, description="Moving-average momentum.")
    epsilon: float = Field(1e-3, gt=0, description="Added to the variance.")
    center: bool = Field(True, description="Learn an offset (beta).")
    scale: bool = Field(True, description="Learn a scale (gamma).")


class LRN(LayerBase):
    type: Literal["lrn"]
    depth_radius: int = Field(5, ge=0, description="Half-width of the channel window.")
    bias: float = Field(1.0, description="Offset added to the scaled sum of squares.")
    alpha: float = Field(1.0, description="Scale of the sum of squares.")
    beta: float = Field(0.5, description="Exponent.")


class ActivationLayer(LayerBase):
    type: Literal["activation"]
    activation: Activation = Field(description="The activation to apply.")


class _Merge(LayerBase):
    inputs: list[str] = Field(
        min_length=2, description="Names of the two or more layers to merge."
    )


class Add(_Merge):
    type: Literal["add"]


class Concat(_Merge):
    type: Literal["concat"]
    axis: int = Field(-1, description="Axis to join along (no batch axis counted).")


Layer = Annotated[
    Conv2D
    | MaxPool2D
    | AvgPool2D
    | GlobalAvgPool2D
    | GlobalMaxPool2D
    | Dense
    | Flatten
    | Reshape
    | Dropout
    | BatchNorm
    | LRN
    | ActivationLayer
    | Add
    | Concat
    | DepthwiseConv2D
    | SeparableConv2D
    | Conv2DTranspose
    | ZeroPad2D
    | Cropping2D
    | UpSampling2D
    | Multiply
    | Subtract
    | Maximum
    | Average
    | Rescaling
    | Normalization
    | LayerNorm
    | LayerScale,
    Field(discriminator="type"),
]

LAYER_MODELS: dict[str, type[LayerBase]] = {
    get_args(model.model_fields["type"].annotation)[0]: model
    for model in get_args(get_args(Layer)[0])
}

LAYER_TYPES = frozenset(LAYER_MODELS)
