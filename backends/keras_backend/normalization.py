"""Keras's adaptable `Normalization`, reading its weights at every call.

Keras's layer copies its `mean`/`variance` weights into plain tensors when it
is adapted or loaded from a file (`finalize_state`), and uses those copies: a
`set_weights` (how `[transfer]` copies weights, and how a mixed-precision model
becomes the float32 copy that ONNX export converts) changes the weights but
not what the layer computes. This subclass computes from the weights
themselves; its class name, weights, their order and its config are Keras's,
so weight files written for `keras.layers.Normalization` load into it. It is
registered as `modelspec>Normalization`.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def layer_class():
    """The registered layer class; built on first use so importing is cheap."""
    from modelspec.errors import require

    keras = require("keras")
    ops = keras.ops

    @keras.saving.register_keras_serializable(package="modelspec")
    # The same class name as Keras's: Keras 3 weight files key each layer by
    # its snake-cased class name ("normalization", "normalization_1", ...).
    class Normalization(keras.layers.Normalization):
        """(x - mean) / max(sqrt(variance), epsilon), from the current
        `mean` and `variance` weights (Keras's formula, `invert` unsupported)."""

        def call(self, inputs):
            if self.input_mean is not None or self.invert:
                return super().call(inputs)
            dtype = self.compute_dtype
            mean = ops.cast(ops.reshape(self.adapt_mean, self._broadcast_shape), dtype)
            variance = ops.cast(
                ops.reshape(self.adapt_variance, self._broadcast_shape), dtype
            )
            x = ops.convert_to_tensor(inputs, dtype=dtype)
            floor = ops.cast(keras.config.epsilon(), dtype)
            return ops.divide(
                ops.subtract(x, mean), ops.maximum(ops.sqrt(variance), floor)
            )

    return Normalization


def AdaptedNormalization(**kwargs):
    """Build the layer; `layer_class()` gives the class itself."""
    return layer_class()(**kwargs)
