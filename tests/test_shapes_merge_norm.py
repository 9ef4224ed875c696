"""The merge and normalisation rules without a framework: shapes, parameter
counts (trainable/non-trainable) and diagnostics. The numbers are Keras 3's,
which tests/test_keras_merge_norm.py checks against real Keras models."""

from __future__ import annotations

import pytest

from modelspec.check import check_text
from tests.helpers import codes, spec_text

# (input, layer, output shape, params, non-trainable)
ONE_INPUT = [
    ((8, 8, 3), {"type": "rescaling", "scale": 0.5}, (8, 8, 3), 0, 0),
    (
        (8, 8, 3),
        {"type": "rescaling", "scale": [1.0, 2.0, 3.0], "offset": [1.0]},
        (8, 8, 3),
        0,
        0,
    ),
    ((8, 8, 3), {"type": "normalization"}, (8, 8, 3), 7, 7),
    ((8, 8, 3), {"type": "normalization", "axis": []}, (8, 8, 3), 3, 3),
    ((8, 6, 3), {"type": "normalization", "axis": [0, 1]}, (8, 6, 3), 97, 97),
    (
        (8, 8, 3),
        {"type": "normalization", "mean": [1.0, 2.0, 3.0], "variance": [1.0, 1.0, 1.0]},
        (8, 8, 3),
        0,
        0,
    ),
    (
        (8, 8, 3),
        {"type": "normalization", "mean": 1.0, "variance": 2.0},
        (8, 8, 3),
        0,
        0,
    ),
    ((8, 8, 3), {"type": "layer_norm"}, (8, 8, 3), 6, 0),
    (
        (8, 6, 3),
        {"type": "layer_norm", "axis": [0, -1], "center": False},
        (8, 6, 3),
        24,
        0,
    ),
    ((8, 6, 3), {"type": "layer_norm", "trainable": False}, (8, 6, 3), 6, 6),
    ((10,), {"type": "layer_norm", "scale": False, "center": False}, (10,), 0, 0),
    ((8, 8, 96), {"type": "layer_scale"}, (8, 8, 96), 96, 0),
    ((12,), {"type": "layer_scale", "init_value": 0.1}, (12,), 12, 0),
]


@pytest.mark.parametrize("shape,layer,out,params,frozen", ONE_INPUT)
def test_one_input_rules(shape, layer, out, params, frozen):
    report = check_text(spec_text([layer], input=shape))
    assert report.ok, [d.render() for d in report.diagnostics]
    (info,) = report.layers
    assert info.output_shape == out
    assert (info.params, info.non_trainable_params) == (params, frozen)
    assert info.trainable_params == params - frozen


def _se(kind: str, gate_channels: int) -> list[dict]:
    return [
        {"type": "conv2d", "name": "map", "filters": 8, "kernel": 3, "padding": "same"},
        {"type": "global_avg_pool2d", "name": "squeeze"},
        {"type": "reshape", "name": "as_map", "shape": [1, 1, 8]},
        {"type": "conv2d", "name": "gate", "filters": gate_channels, "kernel": 1},
        {"type": kind, "name": "excite", "inputs": ["map", "gate"]},
    ]


@pytest.mark.parametrize("kind", ["multiply", "subtract", "maximum", "average"])
def test_elementwise_merges_broadcast_like_add(kind):
    report = check_text(spec_text(_se(kind, 8), input=(6, 5, 3)))
    assert report.ok, [d.render() for d in report.diagnostics]
    assert report.layer("excite").output_shape == (6, 5, 8)
    assert report.layer("excite").params == 0
    bad = check_text(spec_text(_se(kind, 4), input=(6, 5, 3)))
    assert codes(bad) == ["MS208"]
    (d,) = bad.diagnostics
    assert d.layer == "excite" and f"{kind} needs equal shapes" in d.message
    assert "map (6, 5, 8), gate (1, 1, 4)" in d.message


def test_elementwise_merge_of_different_ranks_is_an_error():
    layers = [
        {"type": "global_avg_pool2d", "name": "pooled"},
        {"type": "multiply", "inputs": ["input", "pooled"]},
    ]
    report = check_text(spec_text(layers, input=(4, 4, 3)))
    assert codes(report) == ["MS208"]
    assert "[1, 1, c]" in report.diagnostics[0].hint


def test_subtract_takes_exactly_two_inputs():
    layers = [{"type": "subtract", "inputs": ["input", "input", "input"]}]
    assert codes(check_text(spec_text(layers, input=(4,)))) == ["MS103"]
    three = [{"type": "average", "inputs": ["input", "input", "input"]}]
    assert check_text(spec_text(three, input=(4,))).ok


@pytest.mark.parametrize(
    "layer,code,key_text",
    [
        ({"type": "rescaling", "scale": [1.0, 2.0]}, "MS230", "scale has 2 values"),
        (
            {"type": "rescaling", "scale": 1.0, "offset": [0.0] * 4},
            "MS230",
            "offset has 4 values",
        ),
        (
            {"type": "normalization", "mean": [0.0] * 2, "variance": [1.0] * 2},
            "MS230",
            "mean has 2 values",
        ),
        (
            {"type": "normalization", "axis": [], "mean": [0.0], "variance": [1.0]},
            "MS230",
            "must be numbers",
        ),
        ({"type": "normalization", "axis": -4}, "MS214", "axis -4 is out of range"),
        ({"type": "layer_norm", "axis": [0, -3]}, "MS214", "the same axis twice"),
        ({"type": "layer_norm", "axis": 3}, "MS214", "axis 3 is out of range"),
    ],
)
def test_mistakes(layer, code, key_text):
    report = check_text(spec_text([layer], input=(5, 4, 3)))
    assert codes(report) == [code]
    assert key_text in report.diagnostics[0].message
    assert "Received:" in report.diagnostics[0].message


@pytest.mark.parametrize(
    "layer,text",
    [
        ({"type": "normalization", "mean": [1.0]}, "give both mean and variance"),
        (
            {"type": "normalization", "mean": [1.0, 2.0], "variance": [1.0]},
            "the same shape",
        ),
        (
            {"type": "normalization", "mean": 1.0, "variance": -1.0},
            "cannot be negative",
        ),
        (
            {"type": "normalization", "mean": 1.0, "variance": 1.0, "adapt": True},
            "never adapted",
        ),
        ({"type": "layer_norm", "axis": []}, "at least 1 item"),
    ],
)
def test_invalid_settings_are_schema_errors(layer, text):
    report = check_text(spec_text([layer], input=(5, 4, 3)))
    assert codes(report) == ["MS103"]
    assert text in report.diagnostics[0].message
