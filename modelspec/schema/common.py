"""Building blocks shared by the layer models and the tables."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# Keras 3 activation names a spec may use; anything else is a validation error
# rather than a late KeyError inside Keras.
ActivationName = Literal[
    "linear",
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "silu",
    "swish",
    "mish",
    "sigmoid",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "tanh",
    "softmax",
    "log_softmax",
    "softplus",
    "softsign",
    "exponential",
]

# Activations whose output is a probability distribution over the last axis.
PROBABILITY_ACTIVATIONS = frozenset({"softmax"})
# Activations that leave logits untouched.
IDENTITY_ACTIVATIONS = frozenset({"linear"})

PositiveInt = Annotated[int, Field(gt=0)]
# [kh, kw] is a list, not a tuple: strict mode would refuse a TOML array otherwise.
Pair = PositiveInt | Annotated[list[PositiveInt], Field(min_length=2, max_length=2)]


class Strict(BaseModel):
    """Base for every spec model: unknown keys are errors, never ignored."""

    # strict: TOML values are typed, so "5" for an int is a mistake, not a 5.
    # defer_build: a check only pays for the layer kinds a spec uses.
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, defer_build=True
    )


class LeakyReLUActivation(Strict):
    """`activation = { type = "leaky_relu", negative_slope = 0.1 }`."""

    type: Literal["leaky_relu"] = Field(description="Leaky ReLU with a given slope.")
    negative_slope: float = Field(
        0.2,
        ge=0,
        description="Slope for negative inputs; default 0.2, as Keras's "
        "'leaky_relu' activation (the keras.layers.LeakyReLU layer's is 0.3).",
    )

    def __str__(self) -> str:  # how lints, `check` and `graph` name it
        return f"leaky_relu({self.negative_slope:g})"


# A name, or a table for the one activation that takes a parameter. The plain
# name "leaky_relu" is Keras's string activation: slope 0.2.
Activation = ActivationName | LeakyReLUActivation


def activation_name(activation) -> str | None:
    """'leaky_relu' for the table form; the name itself otherwise."""
    return getattr(activation, "type", activation)


class TruncatedNormalInit(Strict):
    type: Literal["truncated_normal"]
    mean: float = Field(0.0, description="Mean of the distribution.")
    stddev: float = Field(0.05, gt=0, description="Standard deviation.")


class RandomNormalInit(Strict):
    type: Literal["random_normal"]
    mean: float = Field(0.0, description="Mean of the distribution.")
    stddev: float = Field(0.05, gt=0, description="Standard deviation.")


class RandomUniformInit(Strict):
    type: Literal["random_uniform"]
    minval: float = Field(-0.05, description="Lower bound.")
    maxval: float = Field(0.05, description="Upper bound.")


class ConstantInit(Strict):
    type: Literal["constant"]
    value: float = Field(0.0, description="The constant every weight starts at.")


class VarianceScalingInit(Strict):
    """Keras's VarianceScaling: stddev (or limit) from scale / fan."""

    type: Literal["variance_scaling"]
    scale: float = Field(1.0, gt=0, description="Multiplies the variance.")
    mode: Literal["fan_in", "fan_out", "fan_avg"] = Field(
        "fan_in", description="Which fan divides the scale."
    )
    distribution: Literal["truncated_normal", "untruncated_normal", "uniform"] = Field(
        "truncated_normal", description="The distribution drawn from."
    )


class NamedInit(Strict):
    type: Literal[
        "zeros",
        "ones",
        "glorot_uniform",
        "glorot_normal",
        "he_uniform",
        "he_normal",
        "lecun_uniform",
        "lecun_normal",
        "orthogonal",
    ] = Field(description="A Keras initializer that takes no arguments.")


Initializer = Annotated[
    TruncatedNormalInit
    | RandomNormalInit
    | RandomUniformInit
    | ConstantInit
    | VarianceScalingInit
    | NamedInit,
    Field(discriminator="type"),
]
