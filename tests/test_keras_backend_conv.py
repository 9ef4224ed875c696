"""The Keras lowering of the conv family: every key reaches its Keras argument
(initializers and regularizers onto depthwise_*/pointwise_*), seeds stay
reproducible, and noise_shape drops whole examples in training."""

from __future__ import annotations

import os

import numpy as np
import pytest

from conv_cases import spec_text

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

pytestmark = pytest.mark.framework


def _build(input_shape, layers, seed=0):
    from backends.keras_backend import build_model
    from modelspec.check import check_text

    report = check_text(spec_text(input_shape, layers + [{"type": "flatten"}]))
    assert report.ok, [d.render() for d in report.errors]
    return build_model(report, seed=seed)


def test_depthwise_keys_reach_keras():
    model = _build(
        [6, 6, 3],
        [
            {
                "type": "depthwise_conv2d",
                "name": "dw",
                "kernel": [3, 2],
                "strides": 2,
                "padding": "same",
                "depth_multiplier": 2,
                "use_bias": True,
                "kernel_init": {"type": "constant", "value": 0.5},
                "bias_init": {"type": "constant", "value": -1.0},
                "kernel_l1": 0.01,
                "kernel_l2": 0.02,
                "bias_l2": 0.03,
                "activity_l2": 0.04,
                "trainable": False,
            }
        ],
    )
    dw = model.get_layer("dw")
    assert dw.kernel_size == (3, 2) and dw.strides == (2, 2)
    assert dw.depth_multiplier == 2 and dw.padding == "same" and not dw.trainable
    np.testing.assert_array_equal(dw.kernel.numpy(), 0.5)
    np.testing.assert_array_equal(dw.bias.numpy(), -1.0)
    reg = dw.depthwise_regularizer.get_config()
    assert reg["l1"] == pytest.approx(0.01) and reg["l2"] == pytest.approx(0.02)
    assert dw.bias_regularizer.get_config()["l2"] == pytest.approx(0.03)
    assert dw.activity_regularizer.get_config()["l2"] == pytest.approx(0.04)


def test_separable_keys_reach_keras_and_seeds_differ_per_kernel():
    layer = {
        "type": "separable_conv2d",
        "name": "sep",
        "filters": 4,
        "kernel": 3,
        "dilation": 2,
        "depth_multiplier": 2,
        "bias_init": {"type": "ones"},
        "depthwise_l2": 0.1,
        "pointwise_l1": 0.2,
    }
    model = _build([9, 9, 2], [layer], seed=3)
    sep = model.get_layer("sep")
    assert sep.dilation_rate == (2, 2) and sep.depth_multiplier == 2
    assert sep.depthwise_kernel.shape == (3, 3, 2, 2)
    assert sep.pointwise_kernel.shape == (1, 1, 4, 4)
    np.testing.assert_array_equal(sep.bias.numpy(), 1.0)
    assert sep.depthwise_regularizer.get_config()["l2"] == pytest.approx(0.1)
    assert sep.pointwise_regularizer.get_config()["l1"] == pytest.approx(0.2)
    again = _build([9, 9, 2], [layer], seed=3).get_layer("sep")
    np.testing.assert_array_equal(
        sep.depthwise_kernel.numpy(), again.depthwise_kernel.numpy()
    )
    np.testing.assert_array_equal(
        sep.pointwise_kernel.numpy(), again.pointwise_kernel.numpy()
    )
    # fixed initializers for both kernels
    fixed = _build(
        [9, 9, 2],
        [
            dict(
                layer,
                depthwise_init={"type": "constant", "value": 2.0},
                pointwise_init={"type": "zeros"},
            )
        ],
    ).get_layer("sep")
    np.testing.assert_array_equal(fixed.depthwise_kernel.numpy(), 2.0)
    assert not fixed.pointwise_kernel.numpy().any()


def test_transpose_groups_padding_and_upsampling_reach_keras():
    model = _build(
        [4, 4, 6],
        [
            {"type": "conv2d", "name": "g", "filters": 6, "kernel": 1, "groups": 3},
            {
                "type": "conv2d_transpose",
                "name": "t",
                "filters": 2,
                "kernel": 3,
                "strides": 2,
                "padding": "same",
                "output_padding": [1, 0],
            },
            {"type": "zero_pad2d", "name": "p", "padding": [[1, 2], [3, 4]]},
            {"type": "cropping2d", "name": "c", "cropping": [1, 0]},
            {
                "type": "upsampling2d",
                "name": "u",
                "size": [1, 2],
                "interpolation": "bilinear",
            },
        ],
    )
    assert model.get_layer("g").groups == 3
    assert model.get_layer("g").kernel.shape == (1, 1, 2, 6)
    assert model.get_layer("t").output_padding == (1, 0)
    assert model.get_layer("p").padding == ((1, 2), (3, 4))
    assert model.get_layer("c").cropping == ((1, 1), (0, 0))
    up = model.get_layer("u")
    assert up.size == (1, 2) and up.interpolation == "bilinear"


def test_noise_shape_drops_whole_examples_in_training_only():
    model = _build(
        [5, 5, 3],
        [
            {"type": "dropout", "name": "drop", "rate": 0.5, "noise_shape": [1, 1, 1]},
        ],
        seed=0,
    )
    drop = model.get_layer("drop")
    assert tuple(drop.noise_shape) == (None, 1, 1, 1)
    x = np.random.default_rng(0).uniform(1, 2, (64, 5, 5, 3)).astype("float32")
    y = np.asarray(model(x, training=True)).reshape(64, -1)
    flat = x.reshape(64, -1)
    dropped = (y == 0).all(axis=1)
    kept = np.isclose(y, flat * 2).all(axis=1)  # scaled by 1 / (1 - rate)
    assert (dropped | kept).all()
    assert 10 < dropped.sum() < 54  # both happen at rate 0.5
    np.testing.assert_array_equal(np.asarray(model(x, training=False)), flat)
