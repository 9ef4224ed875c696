"""Specs with blocks agree with real Keras: the expansion of a small ResNet on
32x32 input equals, layer by layer, both the model the backend builds and the
same network written by hand in Keras the way keras.applications writes ResNet
(so expanded names are Keras's own); `make_divisible` is Keras's rounding."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from keras_agreement import assert_agrees

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
pytestmark = pytest.mark.framework

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "specs" / "cifar10_blocks.toml"


def keras_resnet(keras, widths=(16, 32, 64), blocks=(2, 2, 2), eps=1.001e-5):
    """The network of specs/cifar10_blocks.toml in plain Keras, written like
    keras.applications.resnet's block1/stack1 (same layer names)."""
    layers = keras.layers

    def block(x, filters, stride, shortcut, name):
        if shortcut:
            s = layers.Conv2D(filters, 1, strides=stride, name=name + "_0_conv")(x)
            s = layers.BatchNormalization(epsilon=eps, name=name + "_0_bn")(s)
        else:
            s = x
        x = layers.Conv2D(
            filters,
            3,
            strides=stride,
            padding="same",
            use_bias=False,
            name=name + "_1_conv",
        )(x)
        x = layers.BatchNormalization(epsilon=eps, name=name + "_1_bn")(x)
        x = layers.Activation("relu", name=name + "_1_relu")(x)
        x = layers.Conv2D(
            filters, 3, padding="same", use_bias=False, name=name + "_2_conv"
        )(x)
        x = layers.BatchNormalization(epsilon=eps, name=name + "_2_bn")(x)
        x = layers.Add(name=name + "_add")([s, x])
        return layers.Activation("relu", name=name + "_out")(x)

    inputs = keras.Input((32, 32, 3))
    x = layers.Conv2D(widths[0], 3, padding="same", use_bias=False, name="stem_conv")(
        inputs
    )
    x = layers.BatchNormalization(epsilon=eps, name="stem_bn")(x)
    x = layers.Activation("relu", name="stem_relu")(x)
    for stage, (width, n) in enumerate(zip(widths, blocks, strict=True), start=2):
        stride = 1 if stage == 2 else 2
        for b in range(1, n + 1):
            x = block(
                x,
                width,
                stride if b == 1 else 1,
                b == 1 and stride > 1,
                f"conv{stage}_block{b}",
            )
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dense(10, name="predictions")(x)
    return keras.Model(inputs, x)


@pytest.mark.parametrize(
    "overrides, widths, blocks",
    [
        ((), (16, 32, 64), (2, 2, 2)),
        (
            (
                "vars.widths=[8, 24, 40]",
                "layers.conv3.blocks=3",
                "layers.conv4.blocks=1",
            ),
            (8, 24, 40),
            (2, 3, 1),
        ),
    ],
)
def test_block_spec_equals_hand_written_keras_layer_by_layer(overrides, widths, blocks):
    import keras

    from backends.keras_backend import build_model
    from modelspec.check import check_file

    report = check_file(EXAMPLE, overrides)
    assert report.ok, [d.render() for d in report.diagnostics]
    assert_agrees(report, build_model(report, seed=0))
    reference = keras_resnet(keras, widths, blocks)
    names = [layer.name for layer in reference.layers[1:]]
    assert sorted(li.name for li in report.layers) == sorted(names)
    for li in report.layers:
        layer = reference.get_layer(li.name)
        assert tuple(layer.output.shape[1:]) == li.output_shape, li.name
        assert layer.count_params() == li.params, li.name
    assert reference.count_params() == report.total_params


def test_nested_blocks_with_when_let_and_two_inputs_agree_with_keras():
    import numpy as np

    from backends.keras_backend import build_model
    from modelspec.check import check_text

    text = """\
layers = [
  { type = "conv2d", name = "stem", filters = "${w}", kernel = 3, padding = "same" },
  { use = "tower", name = "t${i}", repeat = 2, f = "${w * i}", deep = "${i == 2}" },
  { use = "fuse", name = "fuse", inputs = ["t2", "stem"] },
  { type = "global_max_pool2d", name = "pool" },
  { type = "dense", name = "logits", units = 5 },
]

[model]
name = "nested"
input = [12, 12, 3]

[vars]
w = 4

[blocks.conv_bn]
args = ["f", "k"]
defaults = { k = 3 }
layers = [
  { type = "conv2d", name = "conv", filters = "${f}", kernel = "${k}", padding = "same", use_bias = false },
  { type = "batch_norm", name = "bn" },
]

[blocks.tower]
args = ["f", "deep"]
let = { half = "${max(1, f // 2)}" }
layers = [
  { use = "conv_bn", name = "reduce", f = "${half}", k = 1 },
  { use = "conv_bn", name = "mid", f = "${half}", when = "${deep}" },
  { use = "conv_bn", name = "expand", f = "${f}", k = 1 },
  { type = "concat", name = "cat", inputs = ["in", "expand"] },
]

[blocks.fuse]
inputs = ["a", "b"]
layers = [
  { type = "conv2d", name = "proj", inputs = ["b"], filters = 16, kernel = 1 },
  { type = "add", name = "add", inputs = ["a", "proj"] },
]
"""  # noqa: E501 (a TOML inline table cannot wrap)
    report = check_text(text)
    assert report.ok, [d.render() for d in report.diagnostics]
    names = [li.name for li in report.layers]
    assert "t1_mid_conv" not in names and "t2_mid_conv" in names
    assert report.layer("t2_cat").output_shape == (12, 12, 16)  # 4+4, then 8+8
    assert report.layer("t1_reduce_conv").output_shape == (12, 12, 2)
    model = build_model(report, seed=0)
    assert_agrees(report, model)
    out = model(np.ones((2, 12, 12, 3), dtype="float32"))
    assert tuple(out.shape) == (2, 5)


def test_make_divisible_equals_keras_applications():
    from keras.src.applications.mobilenet_v2 import _make_divisible

    from modelspec.blocks.expr import evaluate

    for filters in (3, 8, 16, 24, 32, 40, 96, 112, 160, 320, 1280):
        for alpha in (0.35, 0.5, 0.75, 1.0, 1.3, 1.4):
            for divisor in (4, 8):
                expected = _make_divisible(filters * alpha, divisor)
                got = evaluate(
                    "make_divisible(f * a, d)", {"f": filters, "a": alpha, "d": divisor}
                )
                assert got == expected and type(got) is type(expected)
