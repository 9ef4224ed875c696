"""Three gaps between Keras 3's TensorFlow graphs and tf2onnx, bridged for export.

- Grouped convolutions: Keras's TF backend runs them inside
  `tf.function(jit_compile=True)` because TF's CPU kernels lack them, and
  tf2onnx cannot inline an XLA-compiled function (tensorflow-onnx#2099: the
  graph keeps a StatefulPartitionedCall). Export only traces the graph, never
  runs it, so `plain_convolutions()` traces the plain `tf.nn.convolution`,
  which tf2onnx turns into an ONNX Conv with `group` set.
- Depthwise/separable convolutions with both strides and dilation > 1: Keras
  pads for 'same' with sizes computed from `tf.shape` at run time, so the ONNX
  graph loses its static output shape; `plain_convolutions()` also computes
  that padding from the static spatial size (the same numbers).
- Exact GELU: TF writes it with `Erfc`, which tf2onnx has no handler for;
  `CUSTOM_OP_HANDLERS` maps it to 1 - Erf(x).

TensorFlow and Keras are imported inside the functions.
"""

from __future__ import annotations

from contextlib import contextmanager

# The private Keras 3.15.1 functions replaced while tracing, with the
# parameters the replacements take. When a Keras release renames or reshapes
# one, it is left alone: the export then runs unchanged, and its parity check
# against the Keras model still refuses a wrong file.
_PATCHED = {
    "conv": ("inputs", "kernel", "strides", "padding", "data_format", "dilation_rate"),
    "_pad_same_spatial_channels_last": (
        "inputs",
        "kernel_size",
        "strides",
        "dilation_rate",
    ),
}


def patchable(tf_nn) -> dict[str, bool]:
    """Which of the functions in _PATCHED exist with the expected parameters."""
    import inspect

    found = {}
    for name, params in _PATCHED.items():
        fn = getattr(tf_nn, name, None)
        try:
            found[name] = (
                callable(fn) and tuple(inspect.signature(fn).parameters) == params
            )
        except (TypeError, ValueError):  # no signature to read
            found[name] = False
    found["conv"] = found["conv"] and callable(
        getattr(tf_nn, "_convert_data_format", None)
    )
    return found


def _conv(tf_nn):
    def conv(
        inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1
    ):
        import tensorflow as tf
        from keras.src import backend

        data_format = backend.standardize_data_format(data_format)
        return tf.nn.convolution(
            inputs,
            kernel,
            strides,
            padding.upper(),
            data_format=tf_nn._convert_data_format(data_format, len(inputs.shape)),
            dilations=dilation_rate,
        )

    return conv


def _pad_same(original):
    def pad_same(inputs, kernel_size, strides, dilation_rate):
        import tensorflow as tf

        spatial = tuple(inputs.shape[1:-1])
        if any(n is None for n in spatial):
            return original(inputs, kernel_size, strides, dilation_rate)
        paddings = [[0, 0]]
        for n, k, s, d in zip(
            spatial, kernel_size, strides, dilation_rate, strict=True
        ):
            # Keras's arithmetic: TF 'same', the odd row after.
            total = max(((n + s - 1) // s - 1) * s + (k - 1) * d + 1 - n, 0)
            paddings.append([total // 2, total - total // 2])
        return tf.pad(inputs, paddings + [[0, 0]])

    return pad_same


@contextmanager
def plain_convolutions():
    """While active, Keras's TF `conv` never wraps the op in an XLA function
    and 'same' padding of strided, dilated depthwise convolutions is static."""
    from keras.src.backend.tensorflow import nn as tf_nn

    ok = patchable(tf_nn)
    saved = {name: getattr(tf_nn, name) for name in _PATCHED if ok[name]}
    if ok["conv"]:
        tf_nn.conv = _conv(tf_nn)
    if ok["_pad_same_spatial_channels_last"]:
        tf_nn._pad_same_spatial_channels_last = _pad_same(
            saved["_pad_same_spatial_channels_last"]
        )
    try:
        yield
    finally:
        for name, fn in saved.items():
            setattr(tf_nn, name, fn)


def _erfc(ctx, node, name, args):
    """Rewrite TF's Erfc(x) node in place as Sub(1, Erf(x))."""
    import numpy as np
    from tf2onnx import utils

    dtype = utils.map_onnx_to_numpy_type(ctx.get_dtype(node.input[0]))
    one = ctx.make_const(utils.make_name(f"{name}_one"), np.array(1, dtype=dtype))
    erf = ctx.make_node("Erf", [node.input[0]], op_name_scope=name)
    node.type = "Sub"
    node.domain = ""
    ctx.replace_inputs(node, [one.output[0], erf.output[0]])


CUSTOM_OP_HANDLERS = {"Erfc": (_erfc, [])}
