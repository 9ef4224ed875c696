"""Property test: random layer stacks and DAGs, written as TOML, checked by
modelspec and built by Keras. Where the checker accepts, every layer's shape and
parameter counts equal Keras's; where it rejects with a shape error, Keras fails
too, except for the cases where the checker is stricter on purpose (below)."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import fuzz_merge_norm
from blocks_fuzz import block_specs, check_blocks_against_keras
from conv_cases import conv_family_layer, pool_or_dropout_layer
from keras_agreement import assert_agrees

# Quiet TensorFlow's C++ logging; it is imported later, inside the tests.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

pytestmark = [
    pytest.mark.framework,
    # TensorFlow raises the recursion limit when it is first imported, inside
    # the first example; hypothesis warns that it will not reset it.
    pytest.mark.filterwarnings("ignore:The recursion limit will not be reset"),
]

SHAPE_CODES = {"MS204", "MS206", "MS207", "MS208", "MS213", "MS214",
               "MS220", "MS221", "MS222", "MS230"}


# --- a small TOML writer (the standard library only reads TOML) -------------


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def to_toml(model: dict, layers: list[dict]) -> str:
    lines = ["[model]"] + [f"{k} = {toml_value(v)}" for k, v in model.items()]
    for layer in layers:
        lines += ["", "[[layers]]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in layer.items() if v is not None]
    return "\n".join(lines) + "\n"


# --- strategies -------------------------------------------------------------

small = st.integers(1, 4)
pairs = st.one_of(small, st.tuples(small, small).map(list))
activations = st.sampled_from([None, "relu", "tanh", "linear", "sigmoid"])
frozen = st.sampled_from([True] * 4 + [False])  # trainable, mostly


@st.composite
def conv2d(draw):
    strides = draw(st.sampled_from([1, 1, 2, 3, [1, 2], [2, 1]]))
    dilation = 1 if strides != 1 else draw(st.sampled_from([1, 1, 2, 3, [1, 2]]))
    return {
        "type": "conv2d",
        "filters": draw(st.integers(1, 6)),
        "kernel": draw(st.one_of(st.integers(1, 7), st.tuples(small, small).map(list))),
        "strides": strides,
        "padding": draw(st.sampled_from(["valid", "same"])),
        "dilation": dilation,
        "activation": draw(activations),
        "use_bias": draw(st.booleans()),
        "trainable": draw(frozen),
    }


@st.composite
def pool(draw):
    return {
        "type": draw(st.sampled_from(["max_pool2d", "avg_pool2d"])),
        "pool": draw(pairs),
        "strides": draw(st.one_of(st.none(), pairs)),
        "padding": draw(st.sampled_from(["valid", "same"])),
    }


@st.composite
def simple(draw, kind):
    """One layer that needs no branches: (layer dict, rank of its output)."""
    if kind == "conv2d":
        return draw(conv2d()), 3
    if kind == "pool":
        return draw(pool()), 3
    if kind == "global":
        return {
            "type": draw(st.sampled_from(["global_avg_pool2d", "global_max_pool2d"]))
        }, 1
    if kind == "dense":
        return {
            "type": "dense",
            "units": draw(st.integers(1, 8)),
            "activation": draw(activations),
            "use_bias": draw(st.booleans()),
            "trainable": draw(frozen),
        }, None
    if kind == "flatten":
        return {"type": "flatten"}, 1
    if kind == "reshape":
        shape = draw(
            st.sampled_from(
                [[-1], [-1, 2], [-1, 3], [2, -1], [-1, 1, 2], [1, -1, 1], [-1, 2, 2]]
            )
        )
        return {"type": "reshape", "shape": shape}, len(shape)
    if kind == "dropout":
        return {
            "type": "dropout",
            "rate": draw(st.sampled_from([0.0, 0.25, 0.5])),
        }, None
    if kind == "batch_norm":
        return {
            "type": "batch_norm",
            "center": draw(st.booleans()),
            "scale": draw(st.booleans()),
            "trainable": draw(frozen),
        }, None
    if kind == "lrn":
        return {
            "type": "lrn",
            "depth_radius": draw(st.integers(0, 6)),
            "alpha": draw(st.sampled_from([1e-4, 0.5])),
        }, 3
    if kind == "activation":
        return {
            "type": "activation",
            "activation": draw(st.sampled_from(["relu", "softmax", "elu"])),
        }, None
    if kind in NEW_KINDS:
        return draw(conv_vocabulary(kind))
    if kind in fuzz_merge_norm.SIMPLE:
        return draw(fuzz_merge_norm.layer(kind))
    raise AssertionError(kind)


# -- the conv family, resizing, keepdims and noise_shape (tests/conv_cases.py)

NEW_KINDS = {"conv_family", "keepdims_or_noise"}


@st.composite
def conv_vocabulary(draw, kind):
    """(layer dict, rank of its output or None for 'unchanged')."""
    if kind == "conv_family":
        return draw(conv_family_layer()), 3
    layer = draw(pool_or_dropout_layer(3))
    if layer["type"] == "dropout":
        return layer, None  # stacks() sizes noise_shape to the input's rank
    return layer, (3 if layer["keepdims"] else 1)


def size_noise_shape(layer: dict, rank: int) -> None:
    """A dropout mask of ones fits any input of its rank. The size rules of
    noise_shape are tested against Keras in training mode, in
    test_keras_agreement_conv.py: inference, which this test runs, never
    reads the mask."""
    if layer["type"] == "dropout" and "noise_shape" in layer:
        layer["noise_shape"] = [1] * rank


BY_RANK = {
    3: [
        "conv2d",
        "conv2d",
        "pool",
        "global",
        "dense",
        "flatten",
        "reshape",
        "dropout",
        "batch_norm",
        "lrn",
        "activation",
        "add",
        "concat",
        "conv_family",
        "conv_family",
        "conv_family",
        "keepdims_or_noise",
    ],
    2: [
        "dense",
        "flatten",
        "reshape",
        "dropout",
        "batch_norm",
        "activation",
        "add",
        "concat",
    ],
    1: [
        "dense",
        "dense",
        "reshape",
        "dropout",
        "batch_norm",
        "activation",
        "add",
        "concat",
        "keepdims_or_noise",
    ],
}
for _rank, _kinds in fuzz_merge_norm.BY_RANK.items():  # vocab-merge kinds
    BY_RANK[_rank] = BY_RANK[_rank] + _kinds
ANY_KIND = sorted({k for kinds in BY_RANK.values() for k in kinds})


@st.composite
def stacks(draw):
    """(model table, layers): mostly rank-correct stacks with random sizes, so
    that both accepted specs and shape errors come up; now and then a layer is
    picked regardless of rank, to exercise rank errors."""
    model = {
        "name": "fuzz",
        "input": [
            draw(st.integers(1, 20)),
            draw(st.integers(1, 20)),
            draw(st.integers(1, 4)),
        ],
    }
    layers: list[dict] = []
    rank, current = 3, "input"

    def add(layer: dict, reads: list[str]) -> str:
        layer["name"] = f"l{len(layers)}"
        layer["inputs"] = reads
        layers.append(layer)
        return layer["name"]

    def branch(rank_now: int, reads: str) -> tuple[str, int]:
        if rank_now == 3:
            layer, r = draw(
                st.one_of(conv2d().map(lambda c: (c, 3)), pool().map(lambda p: (p, 3)))
            )
        else:
            layer, r = draw(simple("dense"))
        return add(layer, [reads]), r or rank_now

    for _ in range(draw(st.integers(1, 6))):
        kinds = BY_RANK.get(rank, BY_RANK[1])
        kind = draw(
            st.sampled_from(ANY_KIND if draw(st.integers(0, 9)) == 0 else kinds)
        )
        if kind == "squeeze_excite":  # keeps the map's rank and shape, or errs
            current = fuzz_merge_norm.squeeze_excite(draw, add, current)
            continue
        if kind in ("add", "concat", *fuzz_merge_norm.ELEMENTWISE):
            a, rank_a = branch(rank, current)
            b = current if draw(st.booleans()) else branch(rank, current)[0]
            merge = {"type": kind}
            if kind == "concat":
                merge["axis"] = draw(st.sampled_from([-1, -1, 0, 1, 2, -2, 3]))
            current = add(merge, [a, b])
            rank = rank_a
            continue
        layer, out_rank = draw(simple(kind))
        size_noise_shape(layer, rank)
        current = add(layer, [current])
        rank = out_rank or rank
    return model, layers


# --- the property -------------------------------------------------------------


def keras_outcome(report, input_shape):
    """None if Keras builds the layers and runs them on a batch, else the error."""
    import numpy as np

    from backends.keras_backend import lower_nodes

    try:
        model = lower_nodes(report.nodes, input_shape, seed=0)
        model(np.ones((2, *input_shape), dtype="float32"))
    except Exception as e:
        return e
    return None


def deliberately_stricter(report, diagnostic) -> bool:
    """Errors the checker raises although Keras would build the model:

    - MS206: a 'same'-padded kernel wider than 2n-1 pixels of its input. Keras
      pads and builds, but some taps never touch a pixel; seed 000 wrote a
      TF weight shape [128, 24, 64, 64] as the kernel of a 24x24 input.
    - MS208 for `add` of inputs of different ranks: Keras broadcasts them, e.g.
      (h, w, c) + (c,), which in a residual block is a wiring mistake.
    - MS221 when Keras builds at all: a 'same' conv2d_transpose with an even
      kernel and output_padding 0 on a 1-pixel input gives Keras an output
      with no rows (on larger inputs TensorFlow refuses it).
    """
    if diagnostic.code in ("MS206", "MS221"):
        return True
    node = next((n for n in report.nodes if n.name == diagnostic.layer), None)
    if diagnostic.code == "MS208" and node is not None and node.type == "add":
        shapes = [report.layer(name) for name in node.inputs]
        ranks = {len(li.output_shape) for li in shapes if li is not None}
        return len(ranks) > 1
    if node is not None and node.type in fuzz_merge_norm.BY_RANK[3]:
        shapes = {li.name: li.output_shape for li in report.layers}
        shapes["input"] = tuple(report.raw["model"]["input"])
        ranks = [len(shapes[n]) for n in node.inputs if n in shapes]
        return fuzz_merge_norm.stricter(node.type, diagnostic.code, ranks, node.layer)
    return False


def check_against_keras(model_table, layers):
    from backends.keras_backend import build_model
    from modelspec.check import check_text

    text = to_toml(model_table, layers)
    report = check_text(text, file="<fuzz>")
    codes = {d.code for d in report.errors}
    # The generator writes only well-formed, fully wired specs: any error must be
    # about shapes, never about names, keys or dead layers.
    assert codes <= SHAPE_CODES, (text, [d.message for d in report.errors])
    if report.ok:
        assert_agrees(report, build_model(report, seed=0))
        return "accepted"
    failure = keras_outcome(report, model_table["input"])
    if failure is None:
        unexplained = [d for d in report.errors if not deliberately_stricter(report, d)]
        assert not unexplained, (
            "checker rejects a spec that Keras builds and runs:\n"
            + text
            + "\n".join(f"{d.code} {d.layer}: {d.message}" for d in unexplained)
        )
        return "stricter"
    return "rejected"


FUZZ = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(max_examples=40, **FUZZ)
@given(stacks())
def test_random_specs_agree_with_keras(spec):
    outcome = check_against_keras(*spec)
    event(outcome)
    assert outcome in {"accepted", "stricter", "rejected"}


@pytest.mark.slow
@settings(max_examples=500, **FUZZ)
@given(stacks())
def test_random_specs_agree_with_keras_many(spec):
    outcome = check_against_keras(*spec)
    event(outcome)
    assert outcome in {"accepted", "stricter", "rejected"}


def test_the_generator_reaches_both_outcomes():
    """Guards the property against a generator whose specs the checker always
    rejects (or always accepts); checking alone is fast, so search for each."""
    from hypothesis import find

    from modelspec.check import check_text

    def ok(spec) -> bool:
        return check_text(to_toml(*spec)).ok

    def shape_error(spec) -> bool:
        return bool({d.code for d in check_text(to_toml(*spec)).errors} & SHAPE_CODES)

    assert ok(find(stacks(), ok))
    assert shape_error(find(stacks(), shape_error))


def test_fixed_specs_reach_both_outcomes():
    accepted = [
        {"type": "conv2d", "filters": 2, "kernel": 3, "padding": "same"},
        {"type": "flatten"},
        {"type": "dense", "units": 3},
    ]
    rejected = [{"type": "conv2d", "filters": 2, "kernel": 9}, {"type": "flatten"}]
    model = {"name": "m", "input": [6, 6, 1]}
    assert check_against_keras(model, accepted) == "accepted"
    assert check_against_keras(model, rejected) == "rejected"


# --- random blocks (the generator is tests/blocks_fuzz.py) ----------------------


@settings(max_examples=25, **FUZZ)
@given(block_specs())
def test_random_blocks_agree_with_keras(text):
    outcome = check_blocks_against_keras(text)
    event(outcome)
    assert outcome in {"accepted", "stricter", "rejected"}


def test_the_blocks_generator_reaches_both_outcomes():
    from hypothesis import find

    from modelspec.check import check_text

    def ok(text) -> bool:
        return check_text(text).ok and len(check_text(text).layers) > 8

    def shape_error(text) -> bool:
        return bool({d.code for d in check_text(text).errors} & SHAPE_CODES)

    assert ok(find(block_specs(), ok))
    assert shape_error(find(block_specs(), shape_error))
