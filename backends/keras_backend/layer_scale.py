"""ConvNeXt's LayerScale as a serializable Keras 3 layer.

keras.applications defines `LayerScale` inside convnext.py without registering
it, so a saved model could not name it. This copy registers itself as
`modelspec>LayerScale` and keeps what weight loading by name depends on: the
constructor arguments (`init_values`, `projection_dim`) and one unnamed
trainable weight of shape (projection_dim,), created in build like Keras's.
`projection_dim` may be left out: it is then the input's last axis.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def layer_class():
    """The registered layer class; built on first use so importing is cheap."""
    from modelspec.errors import require

    keras = require("keras")

    @keras.saving.register_keras_serializable(package="modelspec")
    class LayerScale(keras.layers.Layer):
        """out = x * gamma, one learned gamma per position of the last axis,
        starting at `init_values` (ConvNeXt uses 1e-6)."""

        def __init__(self, init_values=1e-6, projection_dim=None, **kwargs):
            super().__init__(**kwargs)
            self.init_values = float(init_values)
            self.projection_dim = (
                None if projection_dim is None else int(projection_dim)
            )

        def build(self, input_shape):
            if self.projection_dim is None:
                self.projection_dim = int(input_shape[-1])
            self.gamma = self.add_weight(
                shape=(self.projection_dim,),
                initializer=keras.initializers.Constant(self.init_values),
                trainable=True,
            )

        def call(self, x):
            return x * self.gamma

        def compute_output_shape(self, input_shape):
            return input_shape

        def get_config(self):
            config = super().get_config()
            config.update(
                init_values=self.init_values, projection_dim=self.projection_dim
            )
            return config

    return LayerScale


def LayerScale(**kwargs):
    """Build the layer; `layer_class()` gives the class itself."""
    return layer_class()(**kwargs)
