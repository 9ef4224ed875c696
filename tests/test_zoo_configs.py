"""Every zoo layer is configured as Keras configures it, setting by setting.

tests/test_zoo.py compares shapes, parameters and outputs in inference mode.
Some settings change none of those: a BatchNormalization momentum only acts in
training, a ReLU after a zero-padded border may hide a padding slip. So here the
compiled spec and `keras.applications.<Name>(weights=None)` are compared by
`get_config()`, for every layer both have under one name: class, momentum,
epsilon, center/scale, padding, strides, dilation, groups, activation, use_bias,
pool sizes, axes... Only what a spec does not describe is left out: names,
dtypes, initializers (the weights are copied by name) and constraints.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MODELSPEC_OFFLINE", "1")

from modelspec.check import check_file

ROOT = Path(__file__).resolve().parents[1]
ZOO = sorted((ROOT / "specs" / "zoo").glob("*.toml"))
# Keys that are not architecture: the layer's identity and storage, how its
# weights start, and keys that this version of Keras always writes the same.
# `seed` is the random stream of a dropout mask, not its rate or shape.
IGNORED = {"name", "dtype", "trainable", "synchronized", "quantization_config", "seed"}
IGNORED_SUFFIXES = ("_initializer", "_constraint")
# keras.layers.ReLU(max_value) computes what Activation(name) computes.
RELU_NAMES = {None: "relu", 6.0: "relu6"}


def settings(layer) -> tuple[str, dict]:
    """(class name, config) without IGNORED keys, axes made non-negative
    (Keras's applications write axis=3 where a spec's lowering may write -1)
    and ReLU layers written as the activations they are."""
    rank = len(layer.output.shape)
    out = {}
    for key, value in layer.get_config().items():
        if key in IGNORED or key.endswith(IGNORED_SUFFIXES):
            continue
        if key == "axis":
            value = _axes(value, rank)
        out[key] = value
    kind = type(layer).__name__
    if (
        kind == "ReLU"
        and out.get("max_value") in RELU_NAMES
        and not out.get("negative_slope")
        and not out.get("threshold")
    ):
        return "Activation", {"activation": RELU_NAMES[out["max_value"]]}
    return kind, out


def _axes(value, rank: int):
    if isinstance(value, int):
        return value + rank if value < 0 else value
    if isinstance(value, (list, tuple)):
        return [a + rank if a < 0 else a for a in value]
    return value


def config_mismatches(keras_model, spec_model) -> tuple[int, list[str]]:
    """(number of layers compared, one line per differing layer)."""
    ours = {layer.name: layer for layer in spec_model.layers}
    compared, problems = 0, []
    for layer in keras_model.layers:
        mine = ours.get(layer.name)
        if mine is None or type(layer).__name__ == "InputLayer":
            continue
        compared += 1
        (kind_a, a), (kind_b, b) = settings(mine), settings(layer)
        if kind_a != kind_b:
            problems.append(f"{layer.name}: spec builds {kind_a}, Keras has {kind_b}")
        elif a != b:
            keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            problems.append(
                f"{layer.name}: "
                + ", ".join(f"{k} spec {a.get(k)!r} Keras {b.get(k)!r}" for k in keys)
            )
    return compared, problems


@pytest.mark.framework
@pytest.mark.parametrize("path", ZOO, ids=lambda p: p.stem)
def test_zoo_layer_settings_equal_keras(path):
    import keras

    from backends.keras_backend import build_model

    report = check_file(path)
    assert report.ok, [d.render() for d in report.diagnostics]
    # Keras's automatic names (conv2d_1, ...) count per session: start afresh
    keras.backend.clear_session()
    keras_model = getattr(keras.applications, path.stem)(weights=None)
    spec_model = build_model(report, seed=1)
    compared, problems = config_mismatches(keras_model, spec_model)
    keras.backend.clear_session()
    assert compared >= len(keras_model.layers) // 2, (
        f"{path.stem}: only {compared} of {len(keras_model.layers)} Keras layers "
        "share a name with the spec"
    )
    assert not problems, (
        f"{path.stem}: {len(problems)} layers configured "
        "differently from Keras:\n" + "\n".join(problems)
    )


@pytest.mark.framework
def test_settings_see_what_outputs_cannot():
    """A momentum slip changes no inference output; the comparison finds it."""
    import keras

    a = keras.Sequential(
        [keras.Input((4, 4, 3)), keras.layers.BatchNormalization(axis=3, name="bn")]
    )
    b = keras.Sequential(
        [
            keras.Input((4, 4, 3)),
            keras.layers.BatchNormalization(momentum=0.9, name="bn"),
        ]
    )
    compared, problems = config_mismatches(a, b)
    assert compared == 1
    assert problems == ["bn: momentum spec 0.9 Keras 0.99"]


@pytest.mark.framework
def test_relu_layers_compare_as_the_activation_they_compute():
    import keras

    def model(layer):
        return keras.Sequential([keras.Input((4,)), layer])

    same = config_mismatches(
        model(keras.layers.ReLU(6.0, name="r")),
        model(keras.layers.Activation("relu6", name="r")),
    )
    other = config_mismatches(
        model(keras.layers.ReLU(name="r")),
        model(keras.layers.Activation("relu6", name="r")),
    )
    assert same == (1, [])
    assert other == (1, ["r: activation spec 'relu6' Keras 'relu'"])
