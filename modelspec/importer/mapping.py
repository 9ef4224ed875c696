"""The table of Keras layer classes import supports, one converter each.

A converter takes the layer's config (`Args`) and returns the spec layer's
fields without `type`, `name` and `inputs`; it `take`s every Keras argument
it expresses and calls `args.bad` for a value the spec cannot say. This is the
inverse of backends/keras_backend/lower*.py; README's table of supported
classes is generated from CLASSES (tests/test_import.py keeps them equal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .args import Args, activation, initializer, margins, regularizer, simple
from .args import spec_axis as _axis
from .ops import MERGE_OPS, OPS_MODULE


@dataclass(frozen=True)
class Mapping:
    spec_type: str
    convert: Callable[[Args], dict]
    note: str = ""


def _weights(a: Args, kernel: str = "kernel") -> dict:
    kernel_l1, kernel_l2 = regularizer(a, f"{kernel}_regularizer")
    bias_l1, bias_l2 = regularizer(a, "bias_regularizer")
    act_l1, act_l2 = regularizer(a, "activity_regularizer")
    if bias_l1:
        a.bad("bias_regularizer", f"l1={bias_l1}", "a spec has bias_l2 only")
    if act_l1:
        a.bad("activity_regularizer", f"l1={act_l1}", "a spec has activity_l2 only")
    return {
        "kernel_init": initializer(a, f"{kernel}_initializer"),
        "bias_init": initializer(a, "bias_initializer", "zeros"),
        "kernel_l1": kernel_l1,
        "kernel_l2": kernel_l2,
        "bias_l2": bias_l2,
        "activity_l2": act_l2,
    }


def _window(a: Args) -> dict:
    return {
        "kernel": simple(a.take("kernel_size")),
        "strides": simple(a.take("strides", 1)),
        "padding": a.take("padding", "valid"),
        "dilation": simple(a.take("dilation_rate", 1)),
        "activation": activation(a),
        "use_bias": a.take("use_bias", True),
    }


def _conv2d(a: Args) -> dict:
    return {
        "filters": a.take("filters"),
        **_window(a),
        "groups": a.take("groups", 1),
        **_weights(a),
    }


def _depthwise(a: Args) -> dict:
    return {
        "depth_multiplier": a.take("depth_multiplier", 1),
        **_window(a),
        **_weights(a, "depthwise"),
    }


def _separable(a: Args) -> dict:
    dw_l1, dw_l2 = regularizer(a, "depthwise_regularizer")
    pw_l1, pw_l2 = regularizer(a, "pointwise_regularizer")
    bias_l1, bias_l2 = regularizer(a, "bias_regularizer")
    act_l1, act_l2 = regularizer(a, "activity_regularizer")
    for key, l1 in (("bias_regularizer", bias_l1), ("activity_regularizer", act_l1)):
        if l1:
            a.bad(key, f"l1={l1}", "a spec has the l2 penalty only")
    return {
        "filters": a.take("filters"),
        "depth_multiplier": a.take("depth_multiplier", 1),
        **_window(a),
        "depthwise_init": initializer(a, "depthwise_initializer"),
        "pointwise_init": initializer(a, "pointwise_initializer"),
        "bias_init": initializer(a, "bias_initializer", "zeros"),
        "depthwise_l1": dw_l1,
        "depthwise_l2": dw_l2,
        "pointwise_l1": pw_l1,
        "pointwise_l2": pw_l2,
        "bias_l2": bias_l2,
        "activity_l2": act_l2,
    }


def _conv_transpose(a: Args) -> dict:
    padding = a.take("output_padding")
    return {
        "filters": a.take("filters"),
        "output_padding": None if padding is None else simple(padding),
        **_window(a),
        **_weights(a),
    }


def _pool(a: Args) -> dict:
    pool = simple(a.take("pool_size", 2))
    strides = a.take("strides")
    strides = None if strides is None or simple(strides) == pool else simple(strides)
    return {"pool": pool, "strides": strides, "padding": a.take("padding", "valid")}


def _global_pool(a: Args) -> dict:
    return {"keepdims": a.take("keepdims", False)}


def _dense(a: Args) -> dict:
    return {
        "units": a.take("units"),
        "activation": activation(a),
        "use_bias": a.take("use_bias", True),
        **_weights(a),
    }


def _nothing(a: Args) -> dict:
    return {}


def _reshape(a: Args) -> dict:
    return {"shape": list(a.take("target_shape"))}


def _dropout(a: Args) -> dict:
    noise = a.take("noise_shape")
    if noise is not None:
        if noise[0] is not None:
            a.bad("noise_shape", noise, "a spec's mask is drawn per example")
        noise = list(noise[1:])
    return {"rate": a.take("rate"), "noise_shape": noise}


def _last_axis(a: Args) -> None:
    """Normalise over the last axis only (what batch_norm does)."""
    shape = a.shape
    axis = a.take("axis", -1)
    axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
    if axis == -1 or (shape and axis == len(shape) - 1):
        return
    a.bad("axis", axis, "batch_norm normalises the last (channels) axis")


def _batch_norm(a: Args) -> dict:
    _last_axis(a)
    return {
        "momentum": a.take("momentum", 0.99),
        "epsilon": a.take("epsilon", 1e-3),
        "center": a.take("center", True),
        "scale": a.take("scale", True),
    }


def _lrn(a: Args) -> dict:
    keys = ("depth_radius", "bias", "alpha", "beta")
    return {k: a.take(k) for k in keys}


def _activation(a: Args) -> dict:
    value = a.rest.get("activation")
    act = activation(a)
    return {"activation": "linear" if act is None and value is not None else act}


def _relu(a: Args) -> dict:
    top, slope = a.take("max_value"), a.take("negative_slope", 0.0) or 0.0
    threshold = a.take("threshold", 0.0) or 0.0
    if threshold:
        a.bad("threshold", threshold, "relu's threshold is 0 in a spec")
    if top is None and not slope:
        return {"activation": "relu"}
    if top == 6 and not slope:
        return {"activation": "relu6"}
    if top is None:
        return {"activation": {"type": "leaky_relu", "negative_slope": slope}}
    a.bad("max_value", top, "only 6 (relu6) or none")
    return {"activation": "relu"}


def _leaky_relu(a: Args) -> dict:
    slope = a.take("negative_slope", a.take("alpha", 0.3))
    return {"activation": {"type": "leaky_relu", "negative_slope": slope}}


def _softmax(a: Args) -> dict:
    axis = a.take("axis", -1)
    if axis not in (-1, [-1]):
        a.bad("axis", axis, "softmax over the last axis only")
    return {"activation": "softmax"}


def _elu(a: Args) -> dict:
    alpha = a.take("alpha", 1.0)
    if alpha != 1.0:
        a.bad("alpha", alpha, "the spec's elu has alpha 1")
    return {"activation": "elu"}


def _concat(a: Args) -> dict:
    axis = a.take("axis", -1)
    if axis == 0:
        a.bad("axis", axis, "the batch axis")
    return {"axis": _axis(axis)}


def _zero_pad(a: Args) -> dict:
    return {"padding": margins(a.take("padding", 1))}


def _cropping(a: Args) -> dict:
    return {"cropping": margins(a.take("cropping", 0))}


def _upsampling(a: Args) -> dict:
    return {
        "size": simple(a.take("size", 2)),
        "interpolation": a.take("interpolation", "nearest"),
    }


def _rescaling(a: Args) -> dict:
    return {"scale": a.take("scale"), "offset": a.take("offset", 0.0)}


def _axes(value):
    if isinstance(value, (list, tuple)):
        axes = [_axis(v) for v in value]
        return axes[0] if len(axes) == 1 else axes
    return _axis(value) if value is not None else []


def _normalization(a: Args) -> dict:
    return {
        "axis": _axes(a.take("axis", -1)),
        "mean": a.take("mean"),
        "variance": a.take("variance"),
    }


def _layer_norm(a: Args) -> dict:
    return {
        "axis": _axes(a.take("axis", -1)),
        "epsilon": a.take("epsilon", 1e-3),
        "center": a.take("center", True),
        "scale": a.take("scale", True),
    }


def _layer_scale(a: Args) -> dict:
    a.take("projection_dim")  # the input's channels: the checker infers it
    return {"init_value": a.take("init_values", 1e-6)}


# Keras class (or registered name) -> spec layer. Custom classes are matched
# by registered name: "modelspec>..." are this project's own layers.
CLASSES: dict[str, Mapping] = {
    "Conv2D": Mapping("conv2d", _conv2d, "groups, dilation, initializers, L1/L2"),
    "DepthwiseConv2D": Mapping(
        "depthwise_conv2d", _depthwise, "depthwise_* as kernel_*"
    ),
    "SeparableConv2D": Mapping("separable_conv2d", _separable),
    "Conv2DTranspose": Mapping("conv2d_transpose", _conv_transpose),
    "MaxPooling2D": Mapping("max_pool2d", _pool, "strides written when not the pool"),
    "AveragePooling2D": Mapping("avg_pool2d", _pool),
    "GlobalAveragePooling2D": Mapping("global_avg_pool2d", _global_pool),
    "GlobalMaxPooling2D": Mapping("global_max_pool2d", _global_pool),
    "Dense": Mapping("dense", _dense),
    "Flatten": Mapping("flatten", _nothing),
    "Reshape": Mapping("reshape", _reshape),
    "Dropout": Mapping("dropout", _dropout, "noise_shape without its batch entry"),
    "BatchNormalization": Mapping(
        "batch_norm", _batch_norm, "last axis; default initializers"
    ),
    "modelspec>LocalResponseNormalization": Mapping("lrn", _lrn),
    "Activation": Mapping("activation", _activation, "the activations a spec names"),
    "ReLU": Mapping(
        "activation", _relu, "relu, relu6 (max_value 6), leaky_relu (negative_slope)"
    ),
    "LeakyReLU": Mapping(
        "activation", _leaky_relu, '{ type = "leaky_relu", negative_slope }'
    ),
    "Softmax": Mapping("activation", _softmax, "last axis"),
    "ELU": Mapping("activation", _elu, "alpha 1"),
    "Add": Mapping("add", _nothing, "also `x + y` (keras.ops) between two tensors"),
    "Concatenate": Mapping("concat", _concat, "axis without the batch axis"),
    "Multiply": Mapping(
        "multiply", _nothing, "also `x * y`; `relu6(x + 3) * (1/6)` is hard_sigmoid"
    ),
    "Subtract": Mapping("subtract", _nothing),
    "Maximum": Mapping("maximum", _nothing),
    "Average": Mapping("average", _nothing),
    "ZeroPadding2D": Mapping("zero_pad2d", _zero_pad),
    "Cropping2D": Mapping("cropping2d", _cropping),
    "UpSampling2D": Mapping("upsampling2d", _upsampling),
    "Rescaling": Mapping("rescaling", _rescaling),
    "Normalization": Mapping(
        "normalization", _normalization, "fixed mean/variance, or weights"
    ),
    "modelspec>Normalization": Mapping("normalization", _normalization),
    "LayerNormalization": Mapping("layer_norm", _layer_norm, "rms_scaling off"),
    "modelspec>LayerScale": Mapping("layer_scale", _layer_scale),
    "LayerScale": Mapping(
        "layer_scale", _layer_scale, "keras.applications' ConvNeXt"
    ),  # keras.applications'
}
# Keras classes defined outside keras.layers that are still Keras's own.
_KERAS_APPLICATION_CLASSES = {("keras.src.applications.convnext", "LayerScale")}


def mapping_for(class_name: str, module: str | None, registered: str | None):
    """The Mapping of a layer class, or None for one import cannot read:
    a custom class (registered outside Keras and modelspec) is never assumed
    to be the Keras class of the same name."""
    if registered and ">" in registered:
        return CLASSES.get(registered) if registered.startswith("modelspec>") else None
    if (module, class_name) in _KERAS_APPLICATION_CLASSES:
        return CLASSES.get(class_name)
    if (module or "").startswith(OPS_MODULE) and class_name in MERGE_OPS:
        return CLASSES[class_name]
    if module is not None and not module.startswith("keras.layers"):
        return None
    if class_name == "LayerScale" or ">" in class_name:
        return None
    return CLASSES.get(class_name)


def markdown_table() -> str:
    """README's table of the classes import supports (a test keeps it equal)."""
    lines = ["| Keras class | spec layer | notes |", "| --- | --- | --- |"]
    for name, mapping in CLASSES.items():
        lines.append(f"| `{name}` | `{mapping.spec_type}` | {mapping.note} |")
    return "\n".join(lines)
