"""The LRN layer: TF's numbers, .keras round trips, and an ONNX `LRN` node with
ONNX's own size/alpha convention."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import lrn_reference

# Quiet TensorFlow's C++ logging; it is imported later, inside the tests.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

pytestmark = pytest.mark.framework

ROOT = Path(__file__).resolve().parents[1]


def lrn_model(shape, **params):
    import keras

    from backends.keras_backend.lrn import LocalResponseNormalization

    inp = keras.Input(shape, name="input")
    out = LocalResponseNormalization(name="norm", **params)(inp)
    return keras.Model(inp, out)


LRN_PARAMS = [
    dict(depth_radius=4, bias=1.0, alpha=0.001 / 9.0, beta=0.75),  # CIFAR tutorial
    dict(depth_radius=0, bias=2.0, alpha=0.5, beta=0.5),
    dict(depth_radius=5, bias=1.0, alpha=1.0, beta=0.5),  # TF's defaults
    dict(depth_radius=2, bias=0.5, alpha=1e-4, beta=1.0),
]


@pytest.mark.parametrize("params", LRN_PARAMS)
def test_lrn_matches_tf_and_the_formula(params):
    import numpy as np
    import tensorflow as tf

    x = np.random.default_rng(0).normal(0, 3, (2, 5, 6, 11)).astype("float32")
    got = np.asarray(lrn_model((5, 6, 11), **params)(x))
    ref = tf.nn.local_response_normalization(x, **params).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got, lrn_reference(x, **params), rtol=1e-5, atol=1e-6)
    assert not np.allclose(got, x)  # it normalizes something


def test_lrn_config_and_keras_file_round_trip(tmp_path):
    import keras
    import numpy as np

    params = LRN_PARAMS[0]
    model = lrn_model((4, 4, 16), **params)
    config = model.get_layer("norm").get_config()
    assert {k: config[k] for k in params} == params
    path = tmp_path / "lrn.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    layer = again.get_layer("norm")
    assert type(layer).__name__ == "LocalResponseNormalization"
    assert {k: getattr(layer, k) for k in params} == params
    x = np.random.default_rng(1).normal(size=(3, 4, 4, 16)).astype("float32")
    np.testing.assert_array_equal(np.asarray(again(x)), np.asarray(model(x)))


def test_lrn_keras_file_loads_in_a_fresh_process(tmp_path):
    """A new process has not registered the layer yet: load_model must do it."""
    import numpy as np

    model = lrn_model((3, 3, 8), depth_radius=1, bias=2.0, alpha=0.3, beta=0.6)
    x = np.random.default_rng(2).normal(size=(2, 3, 3, 8)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.asarray(model(x)))
    model.save(tmp_path / "m.keras")
    code = (
        "import numpy as np, sys\n"
        "from backends.keras_backend import load_model\n"
        f"d = {str(tmp_path)!r}\n"
        "m = load_model(d + '/m.keras')\n"
        "y = np.asarray(m(np.load(d + '/x.npy')))\n"
        "sys.exit(0 if np.array_equal(y, np.load(d + '/y.npy')) else 3)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_lrn_exports_to_onnx_as_an_lrn_node():
    import numpy as np
    import onnxruntime as ort
    import tensorflow as tf
    import tf2onnx

    params = dict(depth_radius=3, bias=1.5, alpha=2e-3, beta=0.75)
    model = lrn_model((6, 6, 10), **params)
    signature = (tf.TensorSpec((None, 6, 6, 10), tf.float32, name="input"),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=17)
    lrn_nodes = [n for n in proto.graph.node if n.op_type == "LRN"]
    assert len(lrn_nodes) == 1
    attrs = {a.name: a for a in lrn_nodes[0].attribute}
    size = 2 * params["depth_radius"] + 1
    assert attrs["size"].i == size
    # ONNX divides alpha by size; TF does not.
    assert attrs["alpha"].f == pytest.approx(params["alpha"] * size, rel=1e-6)
    assert attrs["beta"].f == pytest.approx(params["beta"])
    assert attrs["bias"].f == pytest.approx(params["bias"])

    x = np.random.default_rng(3).normal(0, 4, (4, 6, 6, 10)).astype("float32")
    session = ort.InferenceSession(proto.SerializeToString())
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(got, np.asarray(model(x)), atol=1e-5, rtol=0)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_lrn_under_mixed_precision(policy):
    """TF has no bfloat16 LRN kernel; the layer normalises in float32 instead."""
    import keras
    import numpy as np

    from backends.keras_backend.lrn import LocalResponseNormalization

    params = LRN_PARAMS[0]
    layer = LocalResponseNormalization(dtype=policy, **params)
    x = np.random.default_rng(4).normal(0, 2, (2, 3, 3, 12)).astype("float32")
    y = layer(keras.ops.convert_to_tensor(x))
    assert keras.backend.standardize_dtype(y.dtype) == policy.split("_")[1]
    np.testing.assert_allclose(
        np.asarray(keras.ops.cast(y, "float32")),
        lrn_reference(x, **params),
        rtol=2e-2,
        atol=2e-2,
    )
