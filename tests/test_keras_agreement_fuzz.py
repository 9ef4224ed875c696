"""Property test: random layer stacks and DAGs, written as TOML, checked by
modelspec and built by Keras. Where the checker accepts, every layer's shape and
parameter counts equal Keras's; where it rejects with a shape error, Keras fails
on the same layer (checked with plain Keras, not only the backend), except for
the cases where the checker is stricter on purpose (`deliberately_stricter`),
each judged on the Keras model's own layers and shapes."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import fuzz_merge_norm
from blocks_fuzz import block_specs, check_blocks_against_keras
from conv_cases import conv_family_layer, pool_or_dropout_layer
from helpers import to_toml
from keras_agreement import (
    assert_agrees,
    deliberately_stricter,
    judge_lowering_failure,
    kernel_exceeds_2n_minus_1,
    lower_and_run,
)

# Quiet TensorFlow's C++ logging; it is imported later, inside the tests.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

pytestmark = [
    pytest.mark.framework,
    # TensorFlow raises the recursion limit when it is first imported, inside
    # the first example; hypothesis warns that it will not reset it.
    pytest.mark.filterwarnings("ignore:The recursion limit will not be reset"),
]

SHAPE_CODES = {
    "MS204",
    "MS206",
    "MS207",
    "MS208",
    "MS213",
    "MS214",
    "MS220",
    "MS221",
    "MS222",
    "MS230",
}


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
    input_shape = tuple(model_table["input"])
    try:
        model = lower_and_run(report.nodes, input_shape)
    except Exception as e:
        return judge_lowering_failure(report, text, input_shape, e)
    unexplained = [
        d for d in report.errors if not deliberately_stricter(model, d, report.nodes)
    ]
    assert not unexplained, (
        "checker rejects a spec that Keras builds and runs:\n"
        + text
        + "\n".join(f"{d.code} {d.layer}: {d.message}" for d in unexplained)
    )
    return "stricter"


FUZZ = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(max_examples=40, **FUZZ)
@given(stacks())
def test_random_specs_agree_with_keras(spec):
    event(check_against_keras(*spec))


@pytest.mark.slow
@settings(max_examples=500, **FUZZ)
@given(stacks())
def test_random_specs_agree_with_keras_many(spec):
    event(check_against_keras(*spec))


def test_the_generator_reaches_both_outcomes():
    """Guards the property against a generator whose specs the checker always
    rejects (or always accepts); checking alone is fast, so search for each.
    `find` raises NoSuchExample when no generated spec satisfies the condition."""
    from hypothesis import find

    from modelspec.check import check_text

    def ok(spec) -> bool:
        return check_text(to_toml(*spec)).ok

    def shape_error(spec) -> bool:
        return bool({d.code for d in check_text(to_toml(*spec)).errors} & SHAPE_CODES)

    find(stacks(), ok)
    find(stacks(), shape_error)


MODEL = {"name": "m", "input": [6, 6, 1]}
ACCEPTED = [
    {"type": "conv2d", "filters": 2, "kernel": 3, "padding": "same"},
    {"type": "flatten"},
    {"type": "dense", "units": 3},
]
# kernel 9 > 6: padding 'valid' cannot fit it, Keras refuses (MS207).
REJECTED = [{"type": "conv2d", "filters": 2, "kernel": 9}, {"type": "flatten"}]
# kernel 12 > 2*6-1 = 11 with padding 'same': Keras builds it, the checker
# says MS206 on purpose.
STRICTER = [
    {"type": "conv2d", "filters": 2, "kernel": 12, "padding": "same"},
    {"type": "flatten"},
]


def test_fixed_specs_reach_every_outcome():
    assert check_against_keras(MODEL, ACCEPTED) == "accepted"
    assert check_against_keras(MODEL, REJECTED) == "rejected"
    assert check_against_keras(MODEL, STRICTER) == "stricter"


@pytest.mark.parametrize(
    "kernel,dilation,exceeds",
    [
        (11, 1, False),
        (12, 1, True),
        ([1, 12], 1, True),
        (6, 2, False),
        (7, 2, True),
        (4, 3, False),
        (5, 3, True),
    ],
)
def test_the_ms206_excuse_is_the_2n_minus_1_rule(kernel, dilation, exceeds):
    """On a 6x6 input, 2n-1 = 11: a dilated span d(k-1)+1 of 11 overlaps the
    image with every tap, 12 leaves dead weights."""
    import keras

    conv = keras.layers.Conv2D(2, kernel, dilation_rate=dilation, padding="same")
    conv(keras.Input((6, 6, 1)))
    assert kernel_exceeds_2n_minus_1(conv) == exceeds
    valid = keras.layers.Conv2D(2, 1, padding="valid")
    valid(keras.Input((6, 6, 1)))
    assert not kernel_exceeds_2n_minus_1(valid)


def test_a_backend_failure_keras_does_not_share_fails_the_property(monkeypatch):
    """A lowering that raises where plain Keras builds the layer is reported,
    not counted as 'Keras rejects too'."""
    from backends.keras_backend import LOWERINGS

    def broken(layer, name, ctx):
        raise ValueError("a bug in the backend")

    monkeypatch.setitem(LOWERINGS, "flatten", broken)
    with pytest.raises(AssertionError, match="plain Keras builds that layer"):
        check_against_keras(MODEL, STRICTER)


def test_only_the_documented_cases_are_excused():
    """The excuse is judged on the Keras model: a kernel that fits (11 = 2n-1),
    another code, or a layer the model lacks are not excused; were the checker
    to flag them, the property would fail."""
    from types import SimpleNamespace as Diagnostic

    from modelspec.check import check_text

    fits = [
        {"type": "conv2d", "name": "c", "filters": 2, "kernel": 11, "padding": "same"},
        {"type": "flatten", "name": "f"},
    ]
    report = check_text(to_toml(MODEL, fits))
    assert report.ok
    model = lower_and_run(report.nodes, (6, 6, 1))
    for code, layer in [
        ("MS206", "c"),
        ("MS207", "c"),
        ("MS208", "f"),
        ("MS206", "f"),
        ("MS206", "other"),
        ("MS206", None),
    ]:
        assert not deliberately_stricter(model, Diagnostic(code=code, layer=layer))
    report = check_text(to_toml(MODEL, STRICTER))
    model = lower_and_run(report.nodes, (6, 6, 1))
    (error,) = report.errors
    assert error.code == "MS206" and deliberately_stricter(model, error)


def test_concat_along_the_batch_axis_is_stricter_on_purpose():
    """On (n,) inputs Keras reads axis -2 as the batch axis and stacks batches."""
    layers = [
        {"type": "flatten", "name": "f"},
        {"type": "dense", "name": "a", "units": 3},
        {"type": "dense", "name": "b", "units": 3, "inputs": ["f"]},
        {"type": "concat", "axis": -2, "inputs": ["a", "b"]},
    ]
    assert check_against_keras(MODEL, layers) == "stricter"
    layers[-1]["axis"] = -1
    assert check_against_keras(MODEL, layers) == "accepted"


def test_add_of_different_ranks_is_stricter_on_purpose():
    """Keras broadcasts (h, w, c) + (c,); the checker calls it a wiring mistake."""
    layers = [
        {"type": "conv2d", "name": "c", "filters": 3, "kernel": 1},
        {"type": "global_avg_pool2d", "name": "g", "inputs": ["input"]},
        {"type": "add", "inputs": ["c", "g"]},
        {"type": "flatten"},
    ]
    assert check_against_keras({"name": "m", "input": [4, 4, 3]}, layers) == (
        "stricter"
    )


def test_a_keras_rejection_the_checker_missed_fails_the_property():
    """Were the checker silent about a layer Keras rejects (here: its MS207
    removed from the report), the property must say so."""
    from modelspec.check import check_text

    text = to_toml(MODEL, REJECTED)
    report = check_text(text)
    assert [d.code for d in report.errors] == ["MS207"]
    report.diagnostics = [d for d in report.diagnostics if not d.is_error]
    with pytest.raises(AssertionError, match="the checker flags neither"):
        judge_lowering_failure(report, text, (6, 6, 1), ValueError("from Keras"))


# --- random blocks (the generator is tests/blocks_fuzz.py) ----------------------


@settings(max_examples=25, **FUZZ)
@given(block_specs())
def test_random_blocks_agree_with_keras(text):
    event(check_blocks_against_keras(text))


def test_the_blocks_generator_reaches_both_outcomes():
    """`find` raises NoSuchExample when no generated spec fits."""
    from hypothesis import find

    from modelspec.check import check_text

    def ok(text) -> bool:
        return check_text(text).ok and len(check_text(text).layers) > 8

    def shape_error(text) -> bool:
        return bool({d.code for d in check_text(text).errors} & SHAPE_CODES)

    find(block_specs(), ok)
    find(block_specs(), shape_error)
