"""What every lowering shares: the per-layer context (seeds, initializers) and
the common and weight arguments. Each family of lowerings (lower.py,
lower_conv.py, ...) imports these; the table that joins them lives in lower.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Keras class names of the argument-free initializers a spec may name.
_NAMED_INITS = {
    "zeros": "Zeros",
    "ones": "Ones",
    "glorot_uniform": "GlorotUniform",
    "glorot_normal": "GlorotNormal",
    "he_uniform": "HeUniform",
    "he_normal": "HeNormal",
    "lecun_uniform": "LecunUniform",
    "lecun_normal": "LecunNormal",
    "orthogonal": "Orthogonal",
}
_UNSEEDED = {"zeros", "ones", "constant"}


@dataclass
class _Context:
    keras: Any
    node_index: int
    seed: int | None

    def seed_for(self, role: int) -> int | None:
        """A distinct, reproducible seed per (layer, role): the same seed for
        every layer would give identical kernels to layers of equal shape."""
        if self.seed is None:
            return None
        return (self.seed * 1_000_003 + self.node_index * 16 + role) % (2**31 - 1)

    def initializer(self, spec, default: str, role: int):
        inits = self.keras.initializers
        kind = spec.type if spec is not None else default
        seed = self.seed_for(role)
        if kind == "truncated_normal":
            return inits.TruncatedNormal(mean=spec.mean, stddev=spec.stddev, seed=seed)
        if kind == "random_normal":
            return inits.RandomNormal(mean=spec.mean, stddev=spec.stddev, seed=seed)
        if kind == "random_uniform":
            return inits.RandomUniform(
                minval=spec.minval, maxval=spec.maxval, seed=seed
            )
        if kind == "constant":
            return inits.Constant(value=spec.value)
        if kind == "variance_scaling":
            return inits.VarianceScaling(
                scale=spec.scale,
                mode=spec.mode,
                distribution=spec.distribution,
                seed=seed,
            )
        cls = getattr(inits, _NAMED_INITS[kind])
        return cls() if kind in _UNSEEDED else cls(seed=seed)


def _common(layer, name: str) -> dict:
    return {"name": name, "trainable": layer.trainable}


def _weights(layer, ctx: _Context) -> dict:
    regs = ctx.keras.regularizers
    kernel_reg = None
    if layer.kernel_l1 or layer.kernel_l2:
        kernel_reg = regs.L1L2(l1=layer.kernel_l1, l2=layer.kernel_l2)
    return {
        "kernel_initializer": ctx.initializer(layer.kernel_init, "glorot_uniform", 0),
        "bias_initializer": ctx.initializer(layer.bias_init, "zeros", 1),
        "kernel_regularizer": kernel_reg,
        "bias_regularizer": regs.L2(layer.bias_l2) if layer.bias_l2 else None,
        "activity_regularizer": (
            regs.L2(layer.activity_l2) if layer.activity_l2 else None
        ),
    }
