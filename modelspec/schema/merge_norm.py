"""Element-wise merges, rescaling and normalisation layer kinds (joined into the
union in layers.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .layer_base import LayerBase

# A scalar, or one value per channel (the input's last axis), as Keras's
# Rescaling and Normalization take them.
PerChannel = float | Annotated[list[float], Field(min_length=1)]
# Axes never count the batch axis; an int or several distinct ints.
Axes = int | Annotated[list[int], Field(min_length=1)]


class _Merge(LayerBase):
    inputs: list[str] = Field(
        min_length=2, description="Names of the two or more layers to merge."
    )


class Multiply(_Merge):
    type: Literal["multiply"]


class Maximum(_Merge):
    type: Literal["maximum"]


class Average(_Merge):
    type: Literal["average"]


class Subtract(_Merge):
    type: Literal["subtract"]
    inputs: list[str] = Field(
        min_length=2,
        max_length=2,
        description="Exactly two layer names: the output is the first minus the "
        "second.",
    )


class Rescaling(LayerBase):
    type: Literal["rescaling"]
    scale: PerChannel = Field(
        description="Multiplies the input: a number, or one per channel (the "
        "input's last axis), e.g. 0.00392156862745098 for 1/255."
    )
    offset: PerChannel = Field(
        0.0, description="Added after scaling: a number or one per channel."
    )


class Normalization(LayerBase):
    type: Literal["normalization"]
    axis: int | list[int] = Field(
        -1,
        description="Axis or axes (no batch axis counted) that keep their own mean "
        "and variance; [] means one mean and variance for everything.",
    )
    mean: PerChannel | None = Field(
        None,
        description="Fixed mean: a number or one per position of the last kept "
        "axis. Omitted: the layer holds mean/variance weights adapted from the "
        "training split before fit.",
    )
    variance: PerChannel | None = Field(
        None, description="Fixed variance, given with mean and shaped like it."
    )
    adapt: bool | None = Field(
        None,
        description="Without mean/variance: adapt them from the training split "
        "before fit (default true); false keeps mean 0, variance 1 until weights "
        "are loaded.",
    )

    @model_validator(mode="after")
    def _statistics(self) -> Normalization:
        if (self.mean is None) != (self.variance is None):
            raise ValueError(
                "give both mean and variance, or neither (then they are adapted "
                f"from the training data). Received: mean={self.mean}, "
                f"variance={self.variance}"
            )
        if self.mean is not None and self.variance is not None:  # both or neither
            if _length(self.mean) != _length(self.variance):
                raise ValueError(
                    "mean and variance need the same shape. Received: "
                    f"mean={self.mean}, variance={self.variance}"
                )
            values = (
                self.variance if isinstance(self.variance, list) else [self.variance]
            )
            if any(v < 0 for v in values):
                raise ValueError(
                    f"a variance cannot be negative. Received: variance={self.variance}"
                )
            if self.adapt:
                raise ValueError(
                    "adapt = true needs mean and variance left out; fixed values "
                    f"are never adapted. Received: mean={self.mean}"
                )
        return self


class LayerNorm(LayerBase):
    type: Literal["layer_norm"]
    axis: Axes = Field(
        -1,
        description="Axis or axes normalised over (no batch axis counted); each "
        "gets a learned scale/offset per position.",
    )
    epsilon: float = Field(1e-3, gt=0, description="Added to the variance.")
    center: bool = Field(True, description="Learn an offset (beta).")
    scale: bool = Field(True, description="Learn a scale (gamma).")


class LayerScale(LayerBase):
    type: Literal["layer_scale"]
    init_value: float = Field(
        1e-6,
        description="Initial value of every per-channel scale (ConvNeXt's "
        "layer_scale_init_value); one scale per position of the last axis.",
    )


def _length(v) -> int:
    return len(v) if isinstance(v, list) else 0


# The kinds above that read a list of two or more inputs.
MERGE_KINDS = frozenset({"multiply", "subtract", "maximum", "average"})

MERGE_NORM_LAYERS = (
    Multiply,
    Subtract,
    Maximum,
    Average,
    Rescaling,
    Normalization,
    LayerNorm,
    LayerScale,
)
