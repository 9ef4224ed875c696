"""ONNX export parity for the conv family, the resizing layers and the new
activations: each exports through backends.onnx_export (whose own check must
pass), and ONNX Runtime, run here, agrees with Keras on inputs with negative
values; the ONNX graph holds the operator the layer should become."""

from __future__ import annotations

import os

import numpy as np
import pytest

from conv_cases import spec_text
from helpers import run_onnxruntime

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MODELSPEC_OFFLINE", "1")

pytestmark = pytest.mark.framework

LEAKY = {"type": "leaky_relu", "negative_slope": 0.1}

# (id, input shape, layers, ONNX op the graph must contain, its attributes)
CASES = [
    (
        "depthwise",
        [9, 11, 3],
        [
            {
                "type": "depthwise_conv2d",
                "kernel": 3,
                "strides": 2,
                "padding": "same",
                "depth_multiplier": 2,
                "activation": LEAKY,
            }
        ],
        "Conv",
        {"group": 3},
    ),
    (
        "depthwise_strided_dilated",
        [12, 10, 2],
        [
            {
                "type": "depthwise_conv2d",
                "kernel": 3,
                "strides": 2,
                "dilation": 2,
                "padding": "same",
            }
        ],
        "Conv",
        {"group": 2},
    ),
    (
        "separable_strided_dilated",
        [11, 9, 3],
        [
            {
                "type": "separable_conv2d",
                "filters": 5,
                "kernel": 3,
                "strides": [2, 3],
                "dilation": 2,
                "padding": "same",
            }
        ],
        "Conv",
        {"group": 3},
    ),
    (
        "separable",
        [9, 9, 4],
        [
            {
                "type": "separable_conv2d",
                "filters": 6,
                "kernel": [3, 2],
                "dilation": 2,
                "depth_multiplier": 2,
                "activation": "relu6",
            }
        ],
        "Conv",
        {"group": 4},
    ),
    (
        "grouped",
        [8, 8, 6],
        [
            {
                "type": "conv2d",
                "filters": 9,
                "kernel": 3,
                "groups": 3,
                "padding": "same",
                "activation": "hard_silu",
            }
        ],
        "Conv",
        {"group": 3},
    ),
    (
        "grouped_strided",
        [9, 7, 4],
        [{"type": "conv2d", "filters": 4, "kernel": [3, 1], "groups": 4, "strides": 2}],
        "Conv",
        {"group": 4},
    ),
    (
        "transpose_same",
        [5, 6, 3],
        [
            {
                "type": "conv2d_transpose",
                "filters": 4,
                "kernel": 3,
                "strides": 2,
                "padding": "same",
            }
        ],
        "ConvTranspose",
        {},
    ),
    (
        "transpose_output_padding",
        [5, 4, 2],
        [
            {
                "type": "conv2d_transpose",
                "filters": 3,
                "kernel": [4, 3],
                "strides": 3,
                "padding": "same",
                "output_padding": [1, 2],
            }
        ],
        "ConvTranspose",
        {},
    ),
    (
        "transpose_valid_dilated",
        [4, 4, 2],
        [
            {
                "type": "conv2d_transpose",
                "filters": 2,
                "kernel": 3,
                "dilation": 2,
                "activation": "gelu",
            }
        ],
        "ConvTranspose",
        {},
    ),
    (
        "zero_pad",
        [5, 6, 2],
        [{"type": "zero_pad2d", "padding": [[1, 2], [0, 3]]}],
        "Pad",
        {},
    ),
    (
        "cropping",
        [7, 8, 2],
        [{"type": "cropping2d", "cropping": [[1, 2], [3, 0]]}],
        "Slice",
        {},
    ),
    (
        "upsampling_nearest",
        [3, 4, 2],
        [{"type": "upsampling2d", "size": [2, 3]}],
        None,
        {},
    ),
    (
        "upsampling_bilinear",
        [3, 4, 2],
        [{"type": "upsampling2d", "size": [2, 3], "interpolation": "bilinear"}],
        "Resize",
        {"mode": b"linear"},
    ),
    (
        "global_keepdims",
        [5, 5, 3],
        [
            {"type": "global_max_pool2d", "keepdims": True},
            {"type": "conv2d", "filters": 2, "kernel": 1},
        ],
        None,
        {},
    ),
    (
        "dropout_noise_shape",
        [6, 6, 3],
        [
            {"type": "conv2d", "filters": 4, "kernel": 3},
            {"type": "dropout", "rate": 0.5, "noise_shape": [1, 1, 1]},
        ],
        None,
        {},
    ),
    (
        "activations",
        [4, 5, 3],
        [
            {"type": "activation", "activation": a}
            for a in (
                "gelu",
                "hard_sigmoid",
                "silu",
                "swish",
                "hard_swish",
                "leaky_relu",
            )
        ]
        + [{"type": "activation", "activation": LEAKY}],
        "Erf",
        {},
    ),
]


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_kind_exports_with_parity(case, tmp_path):
    import onnx

    from backends.keras_backend import build_model
    from backends.onnx_export import export_onnx
    from modelspec.check import check_text

    name, input_shape, layers, op, attrs = case
    report = check_text(
        spec_text(input_shape, layers + [{"type": "flatten"}], name=name)
    )
    assert report.ok, [d.render() for d in report.errors]
    model = build_model(report, seed=0)
    out = tmp_path / f"{name}.onnx"
    result = export_onnx(model, report, out, n_random=8)
    assert result.verification.max_abs_diff <= 1e-4
    x = np.random.default_rng(1).normal(0, 2, (5, *input_shape)).astype(np.float32)
    expected = np.asarray(model(x, training=False))
    got = run_onnxruntime(out, x)  # plain ONNX Runtime, not the exporter's
    assert got.shape == expected.shape == (5, *report.output_shape)
    assert np.abs(got - expected).max() <= 1e-4 * max(1.0, np.abs(expected).max())
    nodes = list(onnx.load(str(out)).graph.node)
    kinds = {n.op_type for n in nodes}
    assert not kinds & {"StatefulPartitionedCall", "PartitionedCall", "Erfc"}
    if op is not None:
        matching = [_attrs(n) for n in nodes if n.op_type == op]
        assert matching, (op, sorted(kinds))
        assert any(all(a.get(k) == v for k, v in attrs.items()) for a in matching), (
            op,
            attrs,
            matching,
        )


def test_grouped_conv_still_runs_in_keras_after_an_export(tmp_path):
    """The export traces grouped convolutions without XLA; afterwards Keras
    runs them as before (on CPU it needs XLA, so the patch must be undone)."""
    from keras.src.backend.tensorflow import nn as tf_nn

    from backends.keras_backend import build_model
    from backends.onnx_export import export_onnx
    from modelspec.check import check_text

    before = tf_nn.conv, tf_nn._pad_same_spatial_channels_last
    report = check_text(
        spec_text(
            [6, 6, 4],
            [
                {"type": "conv2d", "filters": 4, "kernel": 3, "groups": 2},
                {"type": "flatten"},
            ],
        )
    )
    model = build_model(report, seed=0)
    export_onnx(model, report, tmp_path / "g.onnx", n_random=4)
    assert (tf_nn.conv, tf_nn._pad_same_spatial_channels_last) == before
    x = np.ones((2, 6, 6, 4), np.float32)
    assert np.asarray(model(x)).shape == (2, 64)


def test_the_private_keras_functions_are_still_there():
    """The export replaces two private Keras functions while tracing; with
    the Keras this project pins, both exist with the parameters it expects."""
    from keras.src.backend.tensorflow import nn as tf_nn

    from backends.onnx_export.tf_compat import patchable

    assert patchable(tf_nn) == {"conv": True, "_pad_same_spatial_channels_last": True}


def test_a_changed_keras_function_is_left_alone(monkeypatch):
    from keras.src.backend.tensorflow import nn as tf_nn

    from backends.onnx_export.tf_compat import patchable, plain_convolutions

    def conv(x, w):  # a future signature
        return x

    monkeypatch.setattr(tf_nn, "conv", conv)
    monkeypatch.delattr(tf_nn, "_pad_same_spatial_channels_last")
    assert patchable(tf_nn) == {"conv": False, "_pad_same_spatial_channels_last": False}
    with plain_convolutions():
        assert tf_nn.conv is conv
    assert tf_nn.conv is conv
