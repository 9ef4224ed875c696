"""Local response normalization as a serializable Keras 3 layer.

Keras 3 has no LRN layer; the CIFAR-10 tutorial uses TF's
`tf.nn.local_response_normalization`. Calling that op directly keeps its exact
semantics and lets tf2onnx map it to a single ONNX `LRN` node (with ONNX's
size = 2r+1 and alpha = alpha_tf * size), which a hand-written sum of squares
would not become.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def layer_class():
    """The registered layer class; built on first use so importing is cheap."""
    from modelspec.errors import require

    keras = require("keras")
    tf = require("tensorflow")

    @keras.saving.register_keras_serializable(package="modelspec")
    class LocalResponseNormalization(keras.layers.Layer):
        """TF's LRN over the last (channels) axis of a rank-4 input:
        sqr_sum[..., c] = sum(x[..., c-r : c+r+1] ** 2);
        out = x / (bias + alpha * sqr_sum) ** beta."""

        def __init__(self, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, **kwargs):
            super().__init__(**kwargs)
            self.depth_radius = int(depth_radius)
            self.bias = float(bias)
            self.alpha = float(alpha)
            self.beta = float(beta)
            # TF's op needs (batch, h, w, c); say so at build time, not at run time.
            self.input_spec = keras.layers.InputSpec(ndim=4)

        def call(self, inputs):
            x = inputs
            # TF has no bfloat16 LRN kernel, and a float16 sum of squares
            # overflows easily: under mixed precision, normalise in float32.
            # A float32 model gets no casts, so tf2onnx still sees a bare LRN.
            if x.dtype != tf.float32:
                x = tf.cast(x, tf.float32)
            y = tf.nn.local_response_normalization(
                x,
                depth_radius=self.depth_radius,
                bias=self.bias,
                alpha=self.alpha,
                beta=self.beta,
            )
            return y if y.dtype == inputs.dtype else tf.cast(y, inputs.dtype)

        def compute_output_shape(self, input_shape):
            return input_shape

        def get_config(self):
            config = super().get_config()
            config.update(
                depth_radius=self.depth_radius,
                bias=self.bias,
                alpha=self.alpha,
                beta=self.beta,
            )
            return config

    return LocalResponseNormalization


def LocalResponseNormalization(**kwargs):
    """Build the layer; `layer_class()` gives the class itself."""
    return layer_class()(**kwargs)
