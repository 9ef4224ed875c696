"""Shape arithmetic against Keras 3's documented formulas, from tables.

These run without a framework; `test_keras_agreement*.py` checks the same rules
against real Keras models.
"""

import pytest

from modelspec.check import check_text
from modelspec.shapes.base import conv_length, pool_length
from tests.helpers import codes, spec_text


@pytest.mark.parametrize(
    "n,k,s,padding,d,expected",
    [
        (28, 5, 1, "same", 1, 28),
        (28, 5, 1, "valid", 1, 24),
        (28, 5, 2, "valid", 1, 12),
        (28, 5, 2, "same", 1, 14),
        (29, 3, 2, "same", 1, 15),
        (32, 3, 1, "valid", 2, 28),
        (7, 7, 1, "valid", 1, 1),
        (24, 3, 3, "valid", 1, 8),
    ],
)
def test_conv_length(n, k, s, padding, d, expected):
    assert conv_length(n, k, s, padding, d) == expected


@pytest.mark.parametrize(
    "n,k,s,padding,expected",
    [
        (28, 2, 2, "valid", 14),
        (27, 2, 2, "valid", 13),
        (27, 2, 2, "same", 14),
        (24, 3, 2, "same", 12),
        (24, 3, 2, "valid", 11),
        (5, 3, 1, "valid", 3),
    ],
)
def test_pool_length(n, k, s, padding, expected):
    assert pool_length(n, k, s, padding) == expected


CASES = [
    # (input, layer, output shape, params)
    (
        (28, 28, 1),
        {"type": "conv2d", "filters": 32, "kernel": 5, "padding": "same"},
        (28, 28, 32),
        832,
    ),
    (
        (28, 28, 3),
        {
            "type": "conv2d",
            "filters": 8,
            "kernel": [3, 5],
            "strides": 2,
            "use_bias": False,
        },
        (13, 12, 8),
        360,
    ),
    (
        (32, 32, 3),
        {"type": "conv2d", "filters": 4, "kernel": 3, "dilation": 2},
        (28, 28, 4),
        112,
    ),
    (
        (24, 24, 64),
        {"type": "max_pool2d", "pool": 3, "strides": 2, "padding": "same"},
        (12, 12, 64),
        0,
    ),
    ((9, 9, 2), {"type": "avg_pool2d"}, (4, 4, 2), 0),
    ((5, 5, 7), {"type": "global_avg_pool2d"}, (7,), 0),
    ((5, 5, 7), {"type": "global_max_pool2d"}, (7,), 0),
    ((4, 4, 16), {"type": "dense", "units": 10}, (4, 4, 10), 170),
    ((4, 4, 16), {"type": "flatten"}, (256,), 0),
    ((4, 4, 16), {"type": "reshape", "shape": [-1, 64]}, (4, 64), 0),
    ((4, 4, 16), {"type": "batch_norm"}, (4, 4, 16), 64),
    ((4, 4, 16), {"type": "batch_norm", "center": False}, (4, 4, 16), 48),
    ((4, 4, 16), {"type": "lrn", "depth_radius": 2}, (4, 4, 16), 0),
    ((10,), {"type": "dropout", "rate": 0.5}, (10,), 0),
    ((10,), {"type": "activation", "activation": "softmax"}, (10,), 0),
]


@pytest.mark.parametrize("input,layer,shape,params", CASES)
def test_single_layer(input, layer, shape, params):
    r = check_text(spec_text([layer], input=input))
    assert r.ok, [d.render() for d in r.diagnostics]
    (info,) = r.layers
    assert info.output_shape == shape
    assert info.params == params


def test_batch_norm_statistics_are_non_trainable():
    r = check_text(spec_text([{"type": "batch_norm"}], input=(3, 3, 8)))
    (info,) = r.layers
    assert (info.trainable_params, info.non_trainable_params) == (16, 16)


def test_frozen_layer_counts_as_non_trainable():
    layer = {"type": "dense", "units": 4, "trainable": False}
    r = check_text(spec_text([layer], input=(3,)))
    assert (r.trainable_params, r.non_trainable_params, r.total_params) == (0, 16, 16)


def test_add_broadcasts_ones_like_keras():
    layers = [
        {"type": "conv2d", "name": "a", "filters": 8, "kernel": 1},
        {"type": "conv2d", "name": "b", "filters": 1, "kernel": 1, "inputs": ["input"]},
        {"type": "add", "inputs": ["a", "b"]},
    ]
    r = check_text(spec_text(layers, input=(4, 4, 2)))
    assert r.ok and r.layers[-1].output_shape == (4, 4, 8)


def test_concat_sums_the_axis():
    layers = [
        {"type": "conv2d", "name": "a", "filters": 8, "kernel": 1},
        {"type": "conv2d", "name": "b", "filters": 3, "kernel": 1, "inputs": ["input"]},
        {"type": "concat", "inputs": ["a", "b"]},
    ]
    r = check_text(spec_text(layers, input=(4, 4, 2)))
    assert r.ok and r.layers[-1].output_shape == (4, 4, 11)


@pytest.mark.parametrize(
    "input,layer,code",
    [
        (
            (24, 24, 64),
            {"type": "conv2d", "filters": 64, "kernel": [128, 24], "padding": "same"},
            "MS206",
        ),
        ((4, 4, 8), {"type": "conv2d", "filters": 2, "kernel": 5}, "MS207"),
        ((3, 3, 8), {"type": "max_pool2d", "pool": 4}, "MS207"),
        ((10,), {"type": "conv2d", "filters": 2, "kernel": 3}, "MS213"),
        ((10,), {"type": "global_avg_pool2d"}, "MS213"),
        ((4, 4, 16), {"type": "reshape", "shape": [-1, 3136]}, "MS204"),
        ((4, 4, 16), {"type": "reshape", "shape": [3, 3]}, "MS204"),
        ((4, 4, 16), {"type": "flatten", "expect_shape": [3136]}, "MS209"),
        (
            (4, 4, 16),
            {"type": "conv2d", "filters": 2, "kernel": 3, "in_channels": 3},
            "MS211",
        ),
    ],
)
def test_shape_errors(input, layer, code):
    r = check_text(spec_text([layer], input=input))
    assert code in codes(r)


def test_same_padding_kernel_up_to_twice_the_input_is_valid():
    # VGG-style 3x3 convs on 2x2 maps are legitimate: every tap touches input.
    layer = {"type": "conv2d", "filters": 2, "kernel": 3, "padding": "same"}
    assert check_text(spec_text([layer], input=(2, 2, 4))).ok
    assert not check_text(spec_text([layer], input=(1, 1, 4))).ok


def test_reshape_message_states_both_sides():
    r = check_text(
        spec_text([{"type": "reshape", "shape": [-1, 3000]}], input=(28, 28, 32))
    )
    (d,) = r.diagnostics
    assert "25088" in d.message and "3000" in d.message and "(28, 28, 32)" in d.message
    assert "28*28*32 = 25088" in d.hint


def test_tf1_batch_minus_one_is_flagged():
    # TF 1 code wrote tf.reshape(x, [-1, 7*7*64]) with -1 as the batch axis; in a
    # spec there is no batch axis, so on 28x28x32 this silently makes 8 rows.
    layers = [{"type": "reshape", "shape": [-1, 3136]}, {"type": "dense", "units": 10}]
    r = check_text(spec_text(layers, input=(28, 28, 32), classes=10))
    assert "MS311" in codes(r) and "MS212" in codes(r)
    d = next(d for d in r.diagnostics if d.code == "MS311")
    assert "(8, 3136)" in d.message
