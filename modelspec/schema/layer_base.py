"""What every layer model shares: names, wiring, assertions, weights.

Its own module so that each family of layer models (layers.py, conv_layers.py,
...) subclasses these without importing the union that joins them.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field

from .common import Initializer, Strict

Padding = Literal["valid", "same"]


class LayerBase(Strict):
    name: Optional[str] = Field(
        None,
        pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$",
        description="Layer name; default '<type>_<n>', n counting that type from 1.",
    )
    inputs: Optional[list[str]] = Field(
        None,
        min_length=1,
        description="Names of the layers this one reads ('input' is the model "
        "input); default: the previous layer.",
    )
    expect_shape: Optional[list[int]] = Field(
        None, description="Assertion on this layer's output shape (no batch axis)."
    )
    trainable: bool = Field(True, description="False freezes this layer's weights.")

    @property
    def kind(self) -> str:
        return self.type  # type: ignore[attr-defined]


class WeightedLayer(LayerBase):
    kernel_init: Optional[Initializer] = Field(
        None, description="Kernel initializer; default Keras's glorot_uniform."
    )
    bias_init: Optional[Initializer] = Field(
        None, description="Bias initializer; default zeros."
    )
    kernel_l2: float = Field(0.0, ge=0, description="L2 penalty on the kernel.")
    kernel_l1: float = Field(0.0, ge=0, description="L1 penalty on the kernel.")
    bias_l2: float = Field(0.0, ge=0, description="L2 penalty on the bias.")
    activity_l2: float = Field(
        0.0, ge=0, description="L2 penalty on the layer's output (activity)."
    )


def pair(v: int | list[int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (v[0], v[1])
