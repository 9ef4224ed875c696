"""multiply/subtract/maximum/average, rescaling, normalization, layer_norm and
layer_scale: the checker's shapes and (trainable/non-trainable) parameter counts
equal those of the real Keras model, over several shapes and settings; the
numbers the layers compute are Keras's; mistakes Keras would accept silently are
errors."""

from __future__ import annotations

import os

import numpy as np
import pytest

from helpers import spec_text
from keras_agreement import assert_agrees

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

pytestmark = pytest.mark.framework

MERGES = ["multiply", "subtract", "maximum", "average"]


def _se(c: int) -> list[dict]:
    """A squeeze-and-excite gate of shape (1, 1, c) read from the input."""
    return [
        {"type": "global_avg_pool2d", "name": "squeeze", "inputs": ["input"]},
        {"type": "reshape", "name": "as_map", "shape": [1, 1, c]},
        {
            "type": "conv2d",
            "name": "gate",
            "filters": c,
            "kernel": 1,
            "activation": "sigmoid",
        },
    ]


def _merge_cases():
    for kind in MERGES:
        for shape in [(6, 6, 4), (5, 7, 3), (3, 3, 1)]:
            layers = _se(shape[-1]) + [
                {"type": kind, "name": "out", "inputs": ["input", "gate"]}
            ]
            yield pytest.param(shape, layers, id=f"{kind}-se-{shape}")
        # Broadcast on two axes: (4, 1, 3) against (1, 5, 3).
        layers = [
            {"type": "avg_pool2d", "name": "rows", "pool": [1, 5], "inputs": ["input"]},
            {"type": "max_pool2d", "name": "cols", "pool": [4, 1], "inputs": ["input"]},
            {"type": kind, "name": "out", "inputs": ["rows", "cols"]},
        ]
        yield pytest.param((4, 5, 3), layers, id=f"{kind}-cross")
        # Vectors.
        layers = [
            {"type": "dense", "name": "a", "units": 5, "inputs": ["input"]},
            {"type": kind, "name": "out", "inputs": ["input", "a"]},
        ]
        yield pytest.param((5,), layers, id=f"{kind}-vector")
    for kind in ("multiply", "maximum", "average"):
        layers = [
            {
                "type": "conv2d",
                "name": "a",
                "filters": 2,
                "kernel": 3,
                "padding": "same",
                "inputs": ["input"],
            },
            {
                "type": "conv2d",
                "name": "b",
                "filters": 2,
                "kernel": 1,
                "inputs": ["input"],
            },
            {
                "type": "conv2d",
                "name": "c",
                "filters": 1,
                "kernel": 1,
                "inputs": ["input"],
            },
            {"type": kind, "name": "out", "inputs": ["a", "b", "c"]},
        ]
        yield pytest.param((5, 4, 3), layers, id=f"{kind}-three")


def _norm_cases():
    for shape in [(6, 6, 3), (5, 4, 2), (10,)]:
        c = shape[-1]
        for extra in [
            {},
            {"axis": []},
            {"axis": 0},
            {"mean": 0.5, "variance": 2.0},
            {"mean": [0.1] * c, "variance": [4.0] * c},
            {"mean": [0.1], "variance": [4.0]},
            {"trainable": False},
        ]:
            yield pytest.param(
                shape,
                [{"type": "normalization", **extra}],
                id=f"normalization-{shape}-{extra}",
            )
        for extra in [
            {},
            {"axis": -1, "epsilon": 1e-6},
            {"center": False},
            {"scale": False, "center": False},
            {"trainable": False},
            {"axis": list(range(len(shape)))},
        ]:
            yield pytest.param(
                shape,
                [{"type": "layer_norm", **extra}],
                id=f"layer_norm-{shape}-{extra}",
            )
        for extra in [
            {"scale": 0.5},
            {"scale": [2.0] * c, "offset": -1.0},
            {"scale": 1.0, "offset": [0.5] * c},
        ]:
            yield pytest.param(
                shape, [{"type": "rescaling", **extra}], id=f"rescaling-{shape}-{extra}"
            )
        yield pytest.param(shape, [{"type": "layer_scale"}], id=f"layer_scale-{shape}")
    three_d = [
        {"type": "normalization", "axis": [0, 1]},
        {"type": "normalization", "axis": [-3, -1]},
        {"type": "layer_norm", "axis": [-2, -1]},
        {"type": "layer_norm", "axis": 1, "center": False},
    ]
    for layer in three_d:
        yield pytest.param((4, 5, 3), [layer], id=f"{layer['type']}-{layer['axis']}")
    deep = [
        {"type": "conv2d", "filters": 6, "kernel": 3},
        {"type": "normalization"},
        {"type": "layer_scale", "init_value": 0.1, "trainable": False},
        {"type": "layer_norm"},
        {"type": "flatten"},
        {"type": "dense", "units": 3},
    ]
    yield pytest.param((7, 7, 2), deep, id="deep")


def _checked(shape, layers):
    from modelspec.check import check_text

    report = check_text(spec_text(layers, input=shape, name="t"))
    assert report.ok, [d.render() for d in report.diagnostics]
    return report


@pytest.mark.parametrize("shape,layers", [*_merge_cases(), *_norm_cases()])
def test_checker_agrees_with_keras(shape, layers):
    from backends.keras_backend import build_model

    report = _checked(shape, layers)
    model = build_model(report, seed=0)
    assert_agrees(report, model)
    x = np.random.default_rng(0).normal(size=(2, *shape)).astype("float32")
    assert np.asarray(model(x)).shape == (2, *report.output_shape)


def _run(shape, layers, x):
    from backends.keras_backend import build_model

    return np.asarray(build_model(_checked(shape, layers), seed=0)(x))


def test_merges_compute_keras_numbers():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 4, 5, 2)).astype("float32")
    rows, cols = x.mean(axis=2, keepdims=True), x.max(axis=1, keepdims=True)
    expected = {
        "multiply": rows * cols,
        "subtract": rows - cols,
        "maximum": np.maximum(rows, cols),
        "average": (rows + cols) / 2,
    }
    for kind, want in expected.items():
        layers = [
            {"type": "avg_pool2d", "name": "rows", "pool": [1, 5], "inputs": ["input"]},
            {"type": "max_pool2d", "name": "cols", "pool": [4, 1], "inputs": ["input"]},
            {"type": kind, "name": "out", "inputs": ["rows", "cols"]},
        ]
        np.testing.assert_allclose(
            _run((4, 5, 2), layers, x), want, rtol=1e-5, atol=1e-6, err_msg=kind
        )


def test_rescaling_normalization_and_layer_scale_numbers():
    x = np.random.default_rng(2).normal(2, 3, size=(4, 3, 3, 3)).astype("float32")
    scale, offset = [0.5, 2.0, -1.0], [1.0, 0.0, 3.0]
    got = _run((3, 3, 3), [{"type": "rescaling", "scale": scale, "offset": offset}], x)
    np.testing.assert_allclose(
        got, x * np.float32(scale) + np.float32(offset), rtol=1e-6
    )
    mean, var = [1.0, 2.0, 3.0], [4.0, 0.25, 9.0]
    got = _run((3, 3, 3), [{"type": "normalization", "mean": mean, "variance": var}], x)
    np.testing.assert_allclose(got, (x - mean) / np.sqrt(var), rtol=1e-5, atol=1e-6)
    got = _run((3, 3, 3), [{"type": "layer_scale", "init_value": 0.25}], x)
    np.testing.assert_allclose(got, x * 0.25, rtol=1e-6)
    got = _run(
        (3, 3, 3), [{"type": "layer_norm", "axis": [0, 1, 2], "epsilon": 1e-5}], x
    )
    flat = x.reshape(4, -1).astype(np.float64)
    want = (flat - flat.mean(1, keepdims=True)) / np.sqrt(
        flat.var(1, keepdims=True) + 1e-5
    )
    np.testing.assert_allclose(got.reshape(4, -1), want, rtol=1e-4, atol=1e-4)


def test_per_channel_list_of_wrong_length_is_rejected_where_keras_broadcasts():
    """Keras's Rescaling says its output shape is its input's, but 3 scales on a
    1-channel input make 3 channels: MS230 instead of a model that lies."""
    import keras

    from modelspec.check import check_text

    layer = {"type": "rescaling", "scale": [1.0, 2.0, 3.0]}
    report = check_text(spec_text([layer], input=(4, 4, 1)))
    assert [d.code for d in report.errors] == ["MS230"]
    inp = keras.Input((4, 4, 1))
    out = keras.layers.Rescaling([1.0, 2.0, 3.0])(inp)
    assert tuple(out.shape[1:]) == (4, 4, 1)  # what Keras promises
    real = keras.Model(inp, out)(np.ones((1, 4, 4, 1), "float32"))
    assert tuple(real.shape[1:]) == (4, 4, 3)  # what it computes


@pytest.mark.parametrize(
    "layer,code",
    [
        (
            {"type": "normalization", "mean": [1.0, 2.0], "variance": [1.0, 1.0]},
            "MS230",
        ),
        (
            {
                "type": "normalization",
                "axis": [],
                "mean": [1.0, 2.0, 3.0],
                "variance": [1.0, 1.0, 1.0],
            },
            "MS230",
        ),
        ({"type": "normalization", "axis": 3}, "MS214"),
        ({"type": "layer_norm", "axis": [2, -1]}, "MS214"),
        ({"type": "layer_norm", "axis": -4}, "MS214"),
    ],
)
def test_mistakes_keras_rejects_are_errors(layer, code):
    from backends.keras_backend import lower_nodes
    from modelspec.check import check_text

    report = check_text(spec_text([layer], input=(4, 4, 3)))
    assert [d.code for d in report.errors] == [code]
    import tensorflow as tf

    with pytest.raises((ValueError, tf.errors.InvalidArgumentError)):
        model = lower_nodes(report.nodes, (4, 4, 3))
        model(np.ones((1, 4, 4, 3), "float32"))


def test_layer_scale_loads_keras_applications_convnext_weights_by_name(tmp_path):
    import keras
    from keras.src.applications.convnext import LayerScale as KerasLayerScale

    from backends.keras_backend import build_model

    inp = keras.Input((3, 3, 8))
    theirs = keras.Model(inp, KerasLayerScale(1e-6, 8, name="blk_layer_scale")(inp))
    gamma = np.arange(8, dtype="float32")
    theirs.get_layer("blk_layer_scale").set_weights([gamma])
    path = tmp_path / "convnext.weights.h5"
    theirs.save_weights(path)
    report = _checked((3, 3, 8), [{"type": "layer_scale", "name": "blk_layer_scale"}])
    ours = build_model(report)
    mine = ours.get_layer("blk_layer_scale")
    assert [w.shape for w in mine.weights] == [
        w.shape for w in theirs.get_layer("blk_layer_scale").weights
    ]
    np.testing.assert_array_equal(mine.get_weights()[0], np.full(8, 1e-6, "float32"))
    ours.load_weights(path)
    np.testing.assert_array_equal(mine.get_weights()[0], gamma)


def test_saved_model_with_new_kinds_reloads(tmp_path):
    from backends.keras_backend import build_model, load_model

    layers = [
        {"type": "rescaling", "scale": [0.5, 1.0], "offset": 1.0},
        {"type": "normalization"},
        {"type": "normalization", "mean": 1.0, "variance": 2.0},
        {"type": "conv2d", "name": "a", "filters": 2, "kernel": 1},
        {"type": "layer_scale", "init_value": 0.3},
        {"type": "layer_norm", "axis": [0, 1]},
        {"type": "multiply", "inputs": ["a", "layer_norm_1"]},
    ]
    model = build_model(_checked((3, 3, 2), layers), seed=1)
    x = np.random.default_rng(3).normal(size=(2, 3, 3, 2)).astype("float32")
    path = tmp_path / "m.keras"
    model.save(path)
    again = load_model(path)
    np.testing.assert_allclose(np.asarray(again(x)), np.asarray(model(x)), rtol=1e-6)
    assert type(again.get_layer("layer_scale_1")).__name__ == "LayerScale"
    adapted, fixed = (again.get_layer(f"normalization_{i}") for i in (1, 2))
    assert type(adapted) is not type(fixed)  # ours, and Keras's own
    assert fixed.get_config()["mean"] == 1.0


def test_adapted_normalization_computes_from_its_current_weights(tmp_path):
    """Keras's own Normalization ignores set_weights until it is re-finalised
    (shown first); ours follows its weights, and loads Keras's weight files."""
    import keras

    from backends.keras_backend import build_model

    mean = np.array([1.0, 2.0, 3.0], "float32")
    variance = np.array([4.0, 16.0, 0.25], "float32")
    x = np.random.default_rng(4).normal(size=(2, 2, 2, 3)).astype("float32")
    want = (x - mean) / np.sqrt(variance)

    inp = keras.Input((2, 2, 3))
    theirs = keras.Model(inp, keras.layers.Normalization(name="stem_norm")(inp))
    theirs.get_layer("stem_norm").set_weights([mean, variance, np.array(9)])
    np.testing.assert_allclose(np.asarray(theirs(x)), x, rtol=1e-6)  # stale
    path = tmp_path / "norm.weights.h5"
    theirs.save_weights(path)

    report = _checked((2, 2, 3), [{"type": "normalization", "name": "stem_norm"}])
    ours = build_model(report)
    ours.get_layer("stem_norm").set_weights([mean, variance, np.array(9)])
    np.testing.assert_allclose(np.asarray(ours(x)), want, rtol=1e-5)
    again = build_model(report)
    again.load_weights(path)
    np.testing.assert_allclose(np.asarray(again(x)), want, rtol=1e-5)
