"""The conv family, resizing layers, keepdims, noise_shape and the new
activations in the checker alone (no framework): Keras 3's arithmetic from
tables, validation of the new keys, the new diagnostics and the lints that
read activations. test_keras_agreement_conv.py checks the same against Keras."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelspec.check import check_text
from modelspec.diagnostics import CODES
from modelspec.schema.common import LeakyReLUActivation, activation_name
from modelspec.shapes.conv_family import transpose_length
from tests.helpers import codes, spec_text


# Keras's compute_conv_transpose_output_shape, worked by hand:
# valid: (n-1)*s + max(k_eff, s) without output_padding, (n-1)*s + k_eff + op with;
# same: n*s without, (n-1)*s + k_eff % 2 + op with; k_eff = (k-1)*d + 1.
@pytest.mark.parametrize(
    "n,k,s,padding,op,d,expected",
    [
        (5, 3, 2, "valid", None, 1, 11),
        (5, 1, 3, "valid", None, 1, 15),  # max(1, 3): the stride fills the gap
        (5, 3, 2, "valid", 1, 1, 12),
        (5, 3, 2, "same", None, 1, 10),
        (5, 3, 2, "same", 1, 1, 10),
        (5, 4, 3, "same", 2, 1, 14),
        (4, 3, 1, "valid", None, 2, 8),  # k_eff 5
        (1, 2, 1, "same", None, 1, 1),
    ],
)
def test_transpose_length(n, k, s, padding, op, d, expected):
    assert transpose_length(n, k, s, padding, op, d) == expected


CASES = [
    # (input, layer, output shape, params)
    (
        (7, 9, 3),
        {"type": "depthwise_conv2d", "kernel": 3, "depth_multiplier": 2},
        (5, 7, 6),
        3 * 3 * 3 * 2 + 6,
    ),
    (
        (7, 9, 3),
        {
            "type": "depthwise_conv2d",
            "kernel": 3,
            "strides": 2,
            "padding": "same",
            "use_bias": False,
        },
        (4, 5, 3),
        27,
    ),
    (
        (8, 8, 4),
        {"type": "separable_conv2d", "filters": 5, "kernel": 3, "depth_multiplier": 2},
        (6, 6, 5),
        3 * 3 * 4 * 2 + 8 * 5 + 5,
    ),
    (
        (8, 8, 4),
        {
            "type": "separable_conv2d",
            "filters": 5,
            "kernel": [3, 1],
            "dilation": 2,
            "use_bias": False,
        },
        (4, 8, 5),
        3 * 4 + 4 * 5,
    ),
    (
        (8, 8, 6),
        {"type": "conv2d", "filters": 9, "kernel": 3, "groups": 3},
        (6, 6, 9),
        3 * 3 * 2 * 9 + 9,
    ),
    (
        (5, 6, 3),
        {"type": "conv2d_transpose", "filters": 4, "kernel": 3, "strides": 2},
        (11, 13, 4),
        3 * 3 * 4 * 3 + 4,
    ),
    (
        (5, 6, 3),
        {
            "type": "conv2d_transpose",
            "filters": 4,
            "kernel": [4, 3],
            "strides": [3, 2],
            "padding": "same",
            "output_padding": [2, 1],
        },
        (14, 12, 4),
        4 * 3 * 4 * 3 + 4,
    ),
    ((5, 6, 2), {"type": "zero_pad2d"}, (7, 8, 2), 0),
    ((5, 6, 2), {"type": "zero_pad2d", "padding": [2, 0]}, (9, 6, 2), 0),
    ((5, 6, 2), {"type": "zero_pad2d", "padding": [[0, 1], [2, 3]]}, (6, 11, 2), 0),
    ((5, 6, 2), {"type": "cropping2d", "cropping": [[0, 1], [2, 3]]}, (4, 1, 2), 0),
    ((5, 6, 2), {"type": "cropping2d", "cropping": 2}, (1, 2, 2), 0),
    ((3, 4, 2), {"type": "upsampling2d"}, (6, 8, 2), 0),
    (
        (3, 4, 2),
        {"type": "upsampling2d", "size": [1, 3], "interpolation": "bilinear"},
        (3, 12, 2),
        0,
    ),
    ((3, 4, 2), {"type": "global_avg_pool2d", "keepdims": True}, (1, 1, 2), 0),
    ((3, 4, 2), {"type": "global_max_pool2d", "keepdims": False}, (2,), 0),
    (
        (3, 4, 2),
        {"type": "dropout", "rate": 0.2, "noise_shape": [1, 4, 1]},
        (3, 4, 2),
        0,
    ),
]


@pytest.mark.parametrize("input,layer,shape,params", CASES)
def test_single_layer(input, layer, shape, params):
    report = check_text(spec_text([dict(layer, name="x")], input=input))
    assert report.ok, [d.render() for d in report.errors]
    (info,) = report.layers
    assert (info.output_shape, info.params) == (shape, params)


ERRORS = [
    ((8, 8, 6), {"type": "conv2d", "filters": 8, "kernel": 1, "groups": 4}, "MS220"),
    ((8, 8, 6), {"type": "conv2d", "filters": 9, "kernel": 1, "groups": 2}, "MS220"),
    (
        (4, 4, 2),
        {
            "type": "conv2d_transpose",
            "filters": 2,
            "kernel": 3,
            "strides": 2,
            "output_padding": 2,
        },
        "MS221",
    ),
    (
        (4, 4, 2),
        {
            "type": "conv2d_transpose",
            "filters": 2,
            "kernel": 3,
            "output_padding": [0, 1],
        },
        "MS221",
    ),  # stride 1: only 0
    (
        (4, 4, 2),
        {
            "type": "conv2d_transpose",
            "filters": 2,
            "kernel": 2,
            "strides": 2,
            "padding": "same",
            "output_padding": 0,
        },
        "MS221",
    ),
    ((4, 4, 2), {"type": "cropping2d", "cropping": [[1, 3], [0, 0]]}, "MS222"),
    ((4, 4, 2), {"type": "cropping2d", "cropping": [0, 2]}, "MS222"),
    ((4, 4, 2), {"type": "dropout", "rate": 0.5, "noise_shape": [1, 1, 1, 1]}, "MS223"),
    ((4, 4, 2), {"type": "dropout", "rate": 0.5, "noise_shape": [2, 1, 1]}, "MS223"),
    ((4, 4, 2), {"type": "depthwise_conv2d", "kernel": 5}, "MS207"),
    (
        (4, 4, 2),
        {"type": "separable_conv2d", "filters": 2, "kernel": 8, "padding": "same"},
        "MS206",
    ),
    ((4, 4, 2), {"type": "depthwise_conv2d", "kernel": 1, "in_channels": 3}, "MS211"),
    ((8,), {"type": "upsampling2d"}, "MS213"),
    ((8,), {"type": "zero_pad2d"}, "MS213"),
    ((8,), {"type": "conv2d_transpose", "filters": 2, "kernel": 1}, "MS213"),
    # schema: values Keras refuses before any shape is known
    (
        (4, 4, 2),
        {
            "type": "conv2d_transpose",
            "filters": 2,
            "kernel": 3,
            "strides": 2,
            "dilation": 2,
        },
        "MS103",
    ),
    (
        (4, 4, 2),
        {"type": "conv2d_transpose", "filters": 2, "kernel": 3, "output_padding": -1},
        "MS103",
    ),
    ((4, 4, 2), {"type": "zero_pad2d", "padding": [1, 2, 3]}, "MS103"),
    ((4, 4, 2), {"type": "cropping2d", "cropping": [[1, 2], [3]]}, "MS103"),
    ((4, 4, 2), {"type": "upsampling2d", "interpolation": "bicubic"}, "MS103"),
    (
        (4, 4, 2),
        {"type": "depthwise_conv2d", "kernel": 3, "depth_multiplier": 0},
        "MS103",
    ),
    ((4, 4, 2), {"type": "conv2d", "filters": 2, "kernel": 1, "groups": 0}, "MS103"),
    ((4, 4, 2), {"type": "dropout", "rate": 0.5, "noise_shape": [1, 0, 1]}, "MS103"),
    (
        (4, 4, 2),
        {
            "type": "activation",
            "activation": {"type": "leaky_relu", "negative_slope": -0.1},
        },
        "MS103",
    ),
    (
        (4, 4, 2),
        {"type": "activation", "activation": {"type": "leaky_relu", "slope": 0.1}},
        "MS101",
    ),
    (
        (4, 4, 2),
        {
            "type": "separable_conv2d",
            "filters": 2,
            "kernel": 1,
            "kernel_init": {"type": "zeros"},
        },
        "MS101",
    ),
]


@pytest.mark.parametrize("input,layer,code", ERRORS)
def test_errors(input, layer, code):
    report = check_text(spec_text([dict(layer, name="x")], input=input))
    assert code in codes(report), [d.render() for d in report.diagnostics]
    assert not report.ok


def test_groups_message_names_what_does_not_divide():
    report = check_text(
        spec_text(
            [{"type": "conv2d", "name": "g", "filters": 9, "kernel": 1, "groups": 4}],
            input=(8, 8, 6),
        )
    )
    (d,) = report.errors
    assert "input channels = 6 and filters = 9 are not a multiple of 4" in d.message
    assert "Received: groups=4, input channels=6, filters=9" in d.message
    assert d.line == 10  # the groups key


def test_separable_unknown_key_suggests_the_depthwise_or_pointwise_one():
    report = check_text(
        spec_text(
            [
                {
                    "type": "separable_conv2d",
                    "name": "s",
                    "filters": 2,
                    "kernel": 1,
                    "pointwise_l3": 0.1,
                }
            ],
            input=(4, 4, 2),
        )
    )
    (d,) = report.errors
    assert d.code == "MS101" and "pointwise_l" in (d.hint or "")


def test_leaky_relu_table_and_its_default_slope():
    plain = check_text(
        spec_text(
            [{"type": "activation", "activation": {"type": "leaky_relu"}}], input=(3,)
        )
    )
    assert plain.ok
    act = plain.nodes[0].layer.activation
    assert isinstance(act, LeakyReLUActivation) and act.negative_slope == 0.2
    assert activation_name(act) == "leaky_relu" and str(act) == "leaky_relu(0.2)"
    assert activation_name("hard_silu") == "hard_silu"


@pytest.mark.parametrize(
    "activation,warns",
    [
        ({"type": "leaky_relu", "negative_slope": 0.1}, True),
        ("relu6", True),
        ("hard_silu", True),
        ("gelu", True),
        ("linear", False),
    ],
)
def test_logits_lint_reads_the_new_activations(activation, warns):
    report = check_text(
        spec_text(
            [
                {
                    "type": "conv2d",
                    "name": "head",
                    "filters": 10,
                    "kernel": 1,
                    "activation": activation,
                },
                {"type": "upsampling2d", "name": "up"},
                {"type": "global_avg_pool2d", "name": "gap"},
            ],
            input=(4, 4, 3),
        )
    )
    relu_logits = [d for d in report.diagnostics if d.code == "MS301"]
    assert bool(relu_logits) == warns
    if relu_logits and isinstance(activation, dict):
        assert "'leaky_relu'" in relu_logits[0].message


@pytest.mark.parametrize(
    "kind", ["depthwise_conv2d", "separable_conv2d", "conv2d_transpose"]
)
def test_softmax_on_a_new_kind_is_the_output_activation(kind):
    layer = {"type": kind, "name": "last", "kernel": 1, "activation": "softmax"}
    if kind != "depthwise_conv2d":
        layer["filters"] = 3
    text = spec_text([layer, {"type": "flatten", "name": "f"}], input=(1, 1, 3))
    text += "\n[train]\nfrom_logits = true\n"
    report = check_text(text)
    assert "MS302" in codes(report)  # the loss would apply softmax twice


# -- no input makes the checker crash ------------------------------------------

NEW_KINDS = [
    "depthwise_conv2d",
    "separable_conv2d",
    "conv2d_transpose",
    "zero_pad2d",
    "cropping2d",
    "upsampling2d",
]
_ints = st.integers(-2, 9)
_values = st.one_of(
    _ints,
    st.booleans(),
    st.floats(-1, 2, allow_nan=False),
    st.sampled_from(["same", "valid", "nearest", "bilinear", "relu6", "x"]),
    st.lists(_ints, max_size=4),
    st.lists(st.lists(_ints, max_size=3), max_size=3),
    st.fixed_dictionaries(
        {
            "type": st.just("leaky_relu"),
            "negative_slope": st.floats(-1, 1, allow_nan=False),
        }
    ),
)
_keys = st.sampled_from(
    [
        "filters",
        "kernel",
        "strides",
        "padding",
        "dilation",
        "depth_multiplier",
        "output_padding",
        "cropping",
        "size",
        "interpolation",
        "groups",
        "keepdims",
        "noise_shape",
        "activation",
        "use_bias",
        "in_channels",
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(NEW_KINDS + ["conv2d", "dropout", "global_avg_pool2d"]),
            st.dictionaries(_keys, _values, max_size=5),
        ),
        min_size=1,
        max_size=4,
    ),
    st.lists(st.integers(1, 9), min_size=1, max_size=4),
)
def test_random_new_layers_never_crash_the_checker(layers, shape):
    tables = [dict(keys, type=kind) for kind, keys in layers]
    report = check_text(spec_text(tables, input=shape))
    for d in report.diagnostics:
        assert d.code in CODES and d.message
    report.to_json()
