"""ONNX export of the merge and normalisation kinds: for each, the exported file
run by onnxruntime gives the Keras model's numbers, with every weight set to
random (non-initial) values first, and an adapted `normalization` adapted."""

from __future__ import annotations

import os

import numpy as np
import pytest

from helpers import run_onnxruntime, spec_text

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MODELSPEC_OFFLINE", "1")

pytestmark = pytest.mark.framework

SHAPE = (6, 5, 3)
GATE = [
    {"type": "global_avg_pool2d", "name": "squeeze", "inputs": ["input"]},
    {"type": "reshape", "name": "as_map", "shape": [1, 1, 3]},
    {
        "type": "conv2d",
        "name": "gate",
        "filters": 3,
        "kernel": 1,
        "activation": "sigmoid",
    },
]
BRANCH = [
    {
        "type": "conv2d",
        "name": "branch",
        "filters": 3,
        "kernel": 3,
        "padding": "same",
        "inputs": ["input"],
    }
]

CASES = {
    "multiply": GATE + [{"type": "multiply", "inputs": ["input", "gate"]}],
    "subtract": BRANCH + [{"type": "subtract", "inputs": ["branch", "input"]}],
    "maximum": GATE + [{"type": "maximum", "inputs": ["input", "gate"]}],
    "average": GATE
    + BRANCH
    + [{"type": "average", "inputs": ["input", "gate", "branch"]}],
    "rescaling": [{"type": "rescaling", "scale": [0.5, -2.0, 3.0], "offset": 1.5}],
    "normalization-fixed": [
        {
            "type": "normalization",
            "mean": [1.0, -2.0, 0.5],
            "variance": [4.0, 0.25, 9.0],
        }
    ],
    "normalization-adapted": [{"type": "normalization", "axis": [0, 2]}],
    "normalization-one": [{"type": "normalization", "axis": []}],
    "layer_norm": [{"type": "layer_norm", "epsilon": 1e-6}],
    "layer_norm-axes": [{"type": "layer_norm", "axis": [0, 1, 2], "center": False}],
    "layer_scale": [{"type": "layer_scale"}],
}


def _randomise(model, report, rng):
    """Random weights, so that parity is not parity of an identity; adapted
    normalisation statistics come from data, as in training."""
    import keras

    from backends.keras_backend.adapt import adapt_model

    for layer in model.layers:
        if layer.weights and not isinstance(layer, keras.layers.Normalization):
            layer.set_weights(
                [
                    rng.normal(0.5, 1.0, w.shape).astype("float32")
                    for w in layer.get_weights()
                ]
            )
    data = rng.normal(3.0, 2.0, (64, *SHAPE)).astype("float32")
    adapt_model(model, report, data)


@pytest.mark.parametrize("case", sorted(CASES))
def test_onnxruntime_computes_what_keras_computes(case, tmp_path):
    from backends.keras_backend import build_model
    from backends.onnx_export import export_onnx
    from modelspec.check import check_text

    layers = CASES[case] + [{"type": "flatten", "name": "flat"}]
    report = check_text(spec_text(layers, input=SHAPE, name=case.replace("-", "_")))
    assert report.ok, [d.render() for d in report.diagnostics]
    rng = np.random.default_rng(0)
    model = build_model(report, seed=0)
    _randomise(model, report, rng)
    out = tmp_path / "m.onnx"
    export_onnx(model, report, out)
    x = rng.normal(3.0, 2.0, (8, *SHAPE)).astype("float32")
    keras_out = np.asarray(model(x, training=False))
    onnx_out = run_onnxruntime(out, x)
    assert onnx_out.shape == keras_out.shape == (8, int(np.prod(SHAPE)))
    scale = max(1.0, float(np.abs(keras_out).max()))
    assert np.abs(onnx_out - keras_out).max() <= 1e-5 * scale
    # The model is not an identity: the layer changed its input.
    assert np.abs(keras_out - x.reshape(8, -1)).max() > 1e-2


def test_mixed_precision_model_exports_through_a_float32_copy(tmp_path):
    """A bfloat16 model is exported as a float32 copy rebuilt from its config:
    the registered layer_scale must rebuild, and the adapted statistics and
    learned scales must carry over."""
    from backends.keras_backend import build_model
    from backends.keras_backend.build import dtype_policy
    from backends.onnx_export import export_onnx
    from modelspec.check import check_text

    layers = [
        {"type": "normalization"},
        {"type": "layer_scale"},
        {"type": "layer_norm"},
        {"type": "flatten"},
    ]
    report = check_text(spec_text(layers, input=SHAPE, name="mixed"))
    assert report.ok, [d.render() for d in report.diagnostics]
    rng = np.random.default_rng(1)
    with dtype_policy("mixed_bfloat16"):
        model = build_model(report, seed=0)
    assert model.get_layer("layer_scale_1").compute_dtype == "bfloat16"
    _randomise(model, report, rng)
    out = tmp_path / "mixed.onnx"
    result = export_onnx(model, report, out, tolerance=0.1)
    assert any("float32 copy" in note for note in result.verification.notes)
    x = rng.normal(3.0, 2.0, (8, *SHAPE)).astype("float32")
    onnx_out = run_onnxruntime(out, x)
    # The float32 copy of the same weights, computed in numpy.
    mean, var, _ = model.get_layer("normalization_1").get_weights()
    (gamma,) = model.get_layer("layer_scale_1").get_weights()
    g2, b2 = model.get_layer("layer_norm_1").get_weights()
    z = (x - mean) / np.sqrt(var) * gamma
    mu, sd = z.mean(-1, keepdims=True), np.sqrt(z.var(-1, keepdims=True) + 1e-3)
    want = ((z - mu) / sd * g2 + b2).reshape(8, -1)
    np.testing.assert_allclose(onnx_out, want, rtol=1e-4, atol=1e-4)
