"""The Keras lowering on hand-built reports: names, DAG wiring, and that each
spec key reaches the Keras layer it configures."""

from __future__ import annotations

import os

import pytest

from backends.keras_backend import build_model
from modelspec.diagnostics import Diagnostic
from modelspec.errors import SpecInvalid
from modelspec.report import Node, Report
from modelspec.schema import Spec

# Quiet TensorFlow's C++ logging; it is imported later, inside the tests.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

pytestmark = pytest.mark.framework


def hand_report(input_shape, layers, name="t") -> Report:
    """A Report as the checker would resolve it: each layer reads the previous
    one unless it names `inputs`."""
    spec = Spec.model_validate(
        {"model": {"name": name, "input": list(input_shape)}, "layers": layers}
    )
    nodes, prev, counts = [], "input", {}
    for i, layer in enumerate(spec.layers):
        counts[layer.type] = counts.get(layer.type, 0) + 1
        layer_name = layer.name or f"{layer.type}_{counts[layer.type]}"
        nodes.append(Node(i, layer_name, layer.type, layer.inputs or [prev], layer))
        prev = layer_name
    return Report(file="<hand>", nodes=nodes, spec=spec)


def test_build_model_refuses_a_report_with_errors():
    report = hand_report((4, 4, 1), [{"type": "flatten"}])
    report.diagnostics.append(Diagnostic(code="MS204", message="bad"))
    with pytest.raises(SpecInvalid):
        build_model(report)


def test_layer_names_order_and_dag_are_preserved():
    report = hand_report(
        (8, 8, 3),
        [
            {
                "type": "conv2d",
                "name": "c1",
                "filters": 4,
                "kernel": 3,
                "padding": "same",
            },
            {"type": "conv2d", "name": "c2", "filters": 4, "kernel": 1},
            {"type": "add", "name": "sum", "inputs": ["c1", "c2"]},
            {"type": "concat", "name": "cat", "inputs": ["sum", "input"], "axis": 2},
            {"type": "global_max_pool2d"},
        ],
        name="dag",
    )
    model = build_model(report)
    assert model.name == "dag"
    assert [layer.name for layer in model.layers] == [
        "input",
        "c1",
        "c2",
        "sum",
        "cat",
        "global_max_pool2d_1",
    ]
    assert model.inputs[0].name == "input"
    inbound = model.get_layer("cat")._inbound_nodes[0].input_tensors
    assert [t._keras_history.operation.name for t in inbound] == ["sum", "input"]
    assert tuple(model.get_layer("cat").output.shape[1:]) == (8, 8, 7)
    assert tuple(model.output.shape[1:]) == (7,)


def test_concat_axis_counts_without_batch():
    for axis, expected in [
        (-1, (4, 4, 6)),
        (0, (8, 4, 3)),
        (1, (4, 8, 3)),
        (2, (4, 4, 6)),
    ]:
        report = hand_report(
            (4, 4, 3),
            [
                {"type": "activation", "name": "a", "activation": "relu"},
                {"type": "concat", "inputs": ["a", "input"], "axis": axis},
            ],
        )
        assert tuple(build_model(report).output.shape[1:]) == expected, axis


def test_keys_reach_the_keras_layers():
    import keras

    report = hand_report(
        (20, 12, 3),
        [
            {
                "type": "conv2d",
                "name": "c",
                "filters": 5,
                "kernel": [3, 2],
                "strides": [2, 1],
                "padding": "same",
                "activation": "relu",
                "use_bias": False,
                "kernel_l2": 0.004,
                "kernel_l1": 0.001,
            },
            {"type": "conv2d", "name": "dil", "filters": 2, "kernel": 3, "dilation": 2},
            {"type": "max_pool2d", "name": "mp", "pool": 3},
            {
                "type": "avg_pool2d",
                "name": "ap",
                "pool": 1,
                "strides": [1, 1],
                "padding": "same",
            },
            {
                "type": "batch_norm",
                "name": "bn",
                "momentum": 0.9,
                "epsilon": 1e-5,
                "center": False,
                "trainable": False,
            },
            {"type": "reshape", "name": "r", "shape": [-1, 2]},
            {"type": "dropout", "name": "d", "rate": 0.25},
            {"type": "dense", "name": "fc", "units": 3, "bias_l2": 0.01},
            {"type": "flatten", "name": "f"},
            {"type": "activation", "name": "sm", "activation": "softmax"},
        ],
    )
    model = build_model(report)
    c = model.get_layer("c")
    assert (c.kernel_size, c.strides, c.padding) == ((3, 2), (2, 1), "same")
    assert c.activation is keras.activations.relu and not c.use_bias
    assert c.kernel_regularizer.get_config() == pytest.approx(
        {"l1": 0.001, "l2": 0.004}
    )
    assert model.get_layer("dil").dilation_rate == (2, 2)
    assert model.get_layer("dil").activation is keras.activations.linear
    mp = model.get_layer("mp")
    assert (mp.pool_size, mp.strides) == ((3, 3), (3, 3))  # strides default = pool
    assert model.get_layer("ap").padding == "same"
    bn = model.get_layer("bn")
    assert (bn.momentum, bn.epsilon, bn.center, bn.scale) == (0.9, 1e-5, False, True)
    assert not bn.trainable and model.get_layer("c").trainable
    assert model.get_layer("r").target_shape == (-1, 2)
    assert model.get_layer("d").rate == 0.25
    assert model.get_layer("fc").bias_regularizer.get_config()["l2"] == pytest.approx(
        0.01
    )
    assert model.get_layer("fc").kernel_regularizer is None
    assert model.get_layer("sm").activation is keras.activations.softmax
    # penalties: conv kernel (l1+l2) and dense bias
    assert len(model.losses) == 2


def test_initializers_and_seeds():
    import numpy as np

    report = hand_report(
        (6, 6, 2),
        [
            {
                "type": "conv2d",
                "name": "tn",
                "filters": 64,
                "kernel": 3,
                "kernel_init": {"type": "truncated_normal", "stddev": 0.1},
                "bias_init": {"type": "constant", "value": 0.1},
            },
            {
                "type": "conv2d",
                "name": "ru",
                "filters": 64,
                "kernel": 3,
                "kernel_init": {"type": "random_uniform", "minval": 2.0, "maxval": 3.0},
                "bias_init": {"type": "ones"},
            },
            {"type": "flatten"},
            {
                "type": "dense",
                "name": "rn",
                "units": 64,
                "kernel_init": {"type": "random_normal", "mean": 5.0, "stddev": 0.01},
            },
            {
                "type": "dense",
                "name": "z",
                "units": 4,
                "kernel_init": {"type": "zeros"},
            },
            {
                "type": "dense",
                "name": "vs",
                "units": 400,
                "kernel_init": {
                    "type": "variance_scaling",
                    "scale": 2.0,
                    "mode": "fan_out",
                    "distribution": "uniform",
                },
            },
        ],
    )
    model = build_model(report, seed=7)
    tn = model.get_layer("tn").kernel.numpy()
    assert np.abs(tn).max() <= 0.2 + 1e-6  # truncated at 2 stddev
    assert 0.06 < tn.std() < 0.1
    np.testing.assert_array_equal(model.get_layer("tn").bias.numpy(), np.float32(0.1))
    ru = model.get_layer("ru").kernel.numpy()
    assert ru.min() >= 2.0 and ru.max() <= 3.0
    np.testing.assert_array_equal(model.get_layer("ru").bias.numpy(), 1.0)
    assert abs(model.get_layer("rn").kernel.numpy().mean() - 5.0) < 0.01
    assert not model.get_layer("z").kernel.numpy().any()
    # EfficientNet's: uniform in +-sqrt(3 * scale / fan_out), fan_out = 400 units
    vs = model.get_layer("vs")
    assert vs.kernel_initializer.get_config()["mode"] == "fan_out"
    limit = (3 * 2.0 / 400) ** 0.5
    assert np.abs(vs.kernel.numpy()).max() <= limit
    assert np.abs(vs.kernel.numpy()).max() > 0.9 * limit

    same = build_model(report, seed=7).get_weights()
    other = build_model(report, seed=8).get_weights()
    assert all(
        np.array_equal(a, b) for a, b in zip(model.get_weights(), same, strict=True)
    )
    assert not np.array_equal(model.get_layer("tn").kernel.numpy(), other[0])


def test_equal_layers_get_different_weights_under_one_seed():
    import numpy as np

    conv = {"type": "conv2d", "filters": 4, "kernel": 3, "padding": "same"}
    report = hand_report((5, 5, 4), [dict(conv, name="a"), dict(conv, name="b")])
    model = build_model(report, seed=0)
    assert not np.array_equal(
        model.get_layer("a").kernel.numpy(), model.get_layer("b").kernel.numpy()
    )


def test_built_model_with_lrn_saves_and_reloads(tmp_path):
    import numpy as np

    from backends.keras_backend import load_model

    report = hand_report(
        (8, 8, 3),
        [
            {
                "type": "conv2d",
                "name": "conv1",
                "filters": 6,
                "kernel": 3,
                "padding": "same",
                "activation": "relu",
            },
            {
                "type": "lrn",
                "name": "norm1",
                "depth_radius": 2,
                "alpha": 1e-3,
                "beta": 0.75,
            },
            {"type": "batch_norm", "name": "bn"},
            {"type": "global_avg_pool2d", "name": "gap"},
            {"type": "dense", "name": "logits", "units": 4},
        ],
    )
    model = build_model(report, seed=3)
    model.save(tmp_path / "m.keras")
    again = load_model(tmp_path / "m.keras")
    assert [layer.name for layer in again.layers] == [
        layer.name for layer in model.layers
    ]
    x = np.random.default_rng(5).normal(size=(3, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(again(x)), np.asarray(model(x)), atol=1e-6)
