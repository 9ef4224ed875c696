"""The conv family and resizing layers against real Keras, over tables of
arguments: where the checker accepts, every shape and parameter count equals
Keras's (and a forward pass gives that shape); where it rejects, Keras fails
too, or produces a tensor with no elements or of another shape than it
declared."""

from __future__ import annotations

import os

import numpy as np
import pytest

from conv_cases import (
    ACTIVATIONS,
    CONV_FAMILY_CODES,
    depthwise_cases,
    global_and_dropout_cases,
    grouped_cases,
    pad_crop_cases,
    separable_cases,
    spec_text,
    transpose_cases,
    upsampling_cases,
)
from keras_agreement import (
    assert_agrees,
    deliberately_stricter,
    lower_and_run,
    plain_keras_error,
)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

pytestmark = pytest.mark.framework


def keras_failure(report, input_shape):
    """None when Keras builds the layers and a training-mode batch comes out
    with the shape Keras declared and at least one element; else why not. When
    the backend raises, plain Keras must refuse the same layer on the same input
    (a backend bug is not Keras's verdict)."""
    from backends.keras_backend import lower_nodes

    try:
        model = lower_nodes(report.nodes, input_shape, seed=0)
        out = np.asarray(model(np.ones((2, *input_shape), "float32"), training=True))
    except Exception as e:  # Keras's own refusal, whatever its type
        (node,) = report.nodes
        plain = plain_keras_error(node, [tuple(input_shape)], training=True)
        assert plain is not None, (
            f"the backend raises {type(e).__name__}: {e}\nbut plain Keras builds "
            f"{node.type} on {tuple(input_shape)}"
        )
        return f"{type(e).__name__}: {str(e).splitlines()[0]}"
    if out.size == 0:
        return f"empty output {out.shape}"
    if out.shape[1:] != tuple(model.output.shape[1:]):
        return f"output {out.shape} but Keras declared {model.output.shape}"
    return None


def agree(input_shape, layer: dict) -> str:
    from backends.keras_backend import build_model
    from modelspec.check import check_text

    text = spec_text(input_shape, [dict(layer, name="layer")])
    report = check_text(text, file="<case>")
    codes = {d.code for d in report.errors}
    assert codes <= CONV_FAMILY_CODES, (text, [d.render() for d in report.errors])
    if report.ok:
        model = build_model(report, seed=0)
        assert_agrees(report, model)
        out = np.asarray(model(np.ones((1, *input_shape), "float32")))
        assert out.shape[1:] == tuple(report.output_shape), text
        return "accepted"
    failure = keras_failure(report, input_shape)
    if failure is None:
        # Keras builds it: only a documented deliberate case, confirmed on the
        # Keras layer (e.g. a 'same' kernel really wider than 2n-1), may remain.
        model = lower_and_run(report.nodes, input_shape)
        unexplained = [
            d
            for d in report.errors
            if not deliberately_stricter(model, d, report.nodes)
        ]
        assert not unexplained, (
            "checker rejects what Keras builds:\n"
            + text
            + "\n".join(d.render() for d in unexplained)
        )
    return "rejected"


def _ids(cases):
    return [f"{c[1]['type']}-{i}" for i, c in enumerate(cases)]


TABLES = {
    "depthwise": depthwise_cases(),
    "separable": separable_cases(),
    "grouped": grouped_cases(),
    "transpose": transpose_cases(),
    "pad_crop": pad_crop_cases(),
    "upsampling": upsampling_cases(),
    "global_dropout": global_and_dropout_cases(),
}
ALL = [case for cases in TABLES.values() for case in cases]


@pytest.mark.parametrize("input_shape,layer", ALL, ids=_ids(ALL))
def test_layer_agrees_with_keras(input_shape, layer):
    assert agree(input_shape, layer) in {"accepted", "rejected"}


@pytest.mark.parametrize("table", sorted(TABLES))
def test_each_table_is_mostly_accepted_and_has_rejections(table):
    """Guards the tables: a table the checker always rejected would test
    nothing; each one also reaches the kind's error paths."""
    from modelspec.check import check_text

    cases = TABLES[table]
    ok = [check_text(spec_text(s, [dict(layer, name="x")])).ok for s, layer in cases]
    assert sum(ok) >= len(cases) // 2
    if table != "upsampling":  # upsampling has no error of its own
        assert not all(ok)


def test_the_rejections_use_the_new_codes():
    from modelspec.check import check_text

    seen = set()
    for s, layer in ALL:
        seen |= {d.code for d in check_text(spec_text(s, [layer])).errors}
    assert {"MS220", "MS221", "MS222", "MS223", "MS207"} <= seen


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=str)
def test_activation_agrees_and_computes_keras_function(activation):
    """Each new activation builds on conv2d and as an activation layer; the
    leaky_relu table has exactly its slope, the bare name Keras's 0.2."""
    import keras

    from backends.keras_backend import build_model
    from modelspec.check import check_text

    text = spec_text(
        [4, 4, 2],
        [
            {
                "type": "conv2d",
                "name": "conv",
                "filters": 3,
                "kernel": 1,
                "activation": activation,
            },
            {"type": "activation", "name": "act", "activation": activation},
        ],
    )
    report = check_text(text)
    assert report.ok, [d.render() for d in report.errors]
    model = build_model(report, seed=0)
    assert_agrees(report, model)
    x = np.linspace(-4, 4, 64, dtype="float32").reshape(2, 4, 4, 2)
    conv = keras.Model(model.input, model.get_layer("conv").output)
    pre = np.einsum("bhwc,cf->bhwf", x, model.get_layer("conv").get_weights()[0][0, 0])
    pre += model.get_layer("conv").get_weights()[1]
    got = np.asarray(conv(x))
    if isinstance(activation, dict) or activation == "leaky_relu":
        slope = (
            activation.get("negative_slope", 0.2)
            if isinstance(activation, dict)
            else 0.2
        )
        expected = np.where(pre > 0, pre, slope * pre)
    else:
        expected = np.asarray(keras.activations.get(activation)(pre))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_leaky_relu_table_survives_a_keras_file(tmp_path):
    from backends.keras_backend import build_model, load_model
    from modelspec.check import check_text

    report = check_text(
        spec_text(
            [5, 5, 2],
            [
                {
                    "type": "depthwise_conv2d",
                    "kernel": 3,
                    "padding": "same",
                    "activation": {"type": "leaky_relu", "negative_slope": 0.05},
                },
                {"type": "flatten"},
            ],
        )
    )
    model = build_model(report, seed=0)
    model.save(tmp_path / "m.keras")
    again = load_model(tmp_path / "m.keras")
    x = np.random.default_rng(0).normal(size=(3, 5, 5, 2)).astype("float32")
    np.testing.assert_array_equal(np.asarray(model(x)), np.asarray(again(x)))
    assert (np.asarray(model(x)) < 0).any()  # the slope really is in the file
