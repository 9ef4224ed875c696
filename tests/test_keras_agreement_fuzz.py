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

from conv_cases import conv_family_layer, pool_or_dropout_layer
from helpers import to_toml
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
               "MS220", "MS221", "MS222"}


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
        if kind in ("add", "concat"):
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


# --- Keras's own verdict, independently of the backend ------------------------


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _margins(v):
    """Keras's cropping/padding argument for a spec's int, [h, w] or
    [[top, bottom], [left, right]] (Keras takes the same three spellings)."""
    return v if isinstance(v, int) else tuple(_pair(x) for x in v)


def _activation(spec):
    """A Keras activation: the name, or a LeakyReLU for the leaky_relu table."""
    import keras

    if getattr(spec, "type", None) == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=spec.negative_slope)
    return spec


def _window(spec) -> dict:
    return {
        "kernel_size": _pair(spec.kernel), "strides": _pair(spec.strides),
        "padding": spec.padding, "dilation_rate": _pair(spec.dilation),
        "activation": _activation(spec.activation), "use_bias": spec.use_bias,
    }


def plain_keras_layer(node):
    """The node's layer as plain Keras spells it, written here rather than taken
    from backends.keras_backend, so that a backend failure can be judged."""
    import keras
    import tensorflow as tf

    spec, kl = node.layer, keras.layers
    if node.type in ("max_pool2d", "avg_pool2d"):
        cls = kl.MaxPooling2D if node.type == "max_pool2d" else kl.AveragePooling2D
        strides = spec.pool if spec.strides is None else spec.strides
        return cls(_pair(spec.pool), strides=_pair(strides), padding=spec.padding)
    if node.type == "lrn":
        # Keras has no LRN layer; the spec's lrn is defined as TF's op.
        return kl.Lambda(lambda x: tf.nn.local_response_normalization(
            x, depth_radius=spec.depth_radius, bias=spec.bias, alpha=spec.alpha,
            beta=spec.beta,
        ))
    if node.type == "concat":  # the spec's axis does not count the batch axis
        return kl.Concatenate(axis=spec.axis if spec.axis < 0 else spec.axis + 1)
    if node.type == "dropout":  # noise_shape has no batch axis in a spec
        noise = None if spec.noise_shape is None else (None, *spec.noise_shape)
        return kl.Dropout(spec.rate, noise_shape=noise)
    if node.type == "activation":
        return kl.Activation(_activation(spec.activation))
    output_padding = getattr(spec, "output_padding", None)
    build = {
        "conv2d": lambda: kl.Conv2D(spec.filters, groups=spec.groups,
                                    **_window(spec)),
        "depthwise_conv2d": lambda: kl.DepthwiseConv2D(
            depth_multiplier=spec.depth_multiplier, **_window(spec)),
        "separable_conv2d": lambda: kl.SeparableConv2D(
            spec.filters, depth_multiplier=spec.depth_multiplier, **_window(spec)),
        "conv2d_transpose": lambda: kl.Conv2DTranspose(
            spec.filters, **_window(spec), output_padding=(
                None if output_padding is None else _pair(output_padding))),
        "zero_pad2d": lambda: kl.ZeroPadding2D(_margins(spec.padding)),
        "cropping2d": lambda: kl.Cropping2D(_margins(spec.cropping)),
        "upsampling2d": lambda: kl.UpSampling2D(
            _pair(spec.size), interpolation=spec.interpolation),
        "global_avg_pool2d": lambda: kl.GlobalAveragePooling2D(
            keepdims=spec.keepdims),
        "global_max_pool2d": lambda: kl.GlobalMaxPooling2D(keepdims=spec.keepdims),
        "dense": lambda: kl.Dense(spec.units, _activation(spec.activation),
                                  spec.use_bias),
        "flatten": kl.Flatten,
        "reshape": lambda: kl.Reshape(tuple(spec.shape)),
        "batch_norm": lambda: kl.BatchNormalization(
            center=spec.center, scale=spec.scale
        ),
        "add": kl.Add,
    }
    return build[node.type]()


def plain_keras_error(node, input_shapes):
    """What plain Keras raises when it builds this one layer on inputs of these
    shapes (no batch axis) and runs it on a batch; None if it does not."""
    import keras
    import numpy as np

    try:
        inputs = [keras.Input(shape) for shape in input_shapes]
        merge = node.type in ("add", "concat")
        out = plain_keras_layer(node)(inputs if merge else inputs[0])
        keras.Model(inputs, out)([np.ones((2, *s), "float32") for s in input_shapes])
    except Exception as e:
        return e
    return None


def lower_and_run(nodes, input_shape):
    """The backend's model ending at nodes[-1], after one batch went through."""
    import numpy as np

    from backends.keras_backend import lower_nodes

    model = lower_nodes(nodes, input_shape, seed=0)
    model(np.ones((2, *input_shape), dtype="float32"))
    return model


def kernel_exceeds_2n_minus_1(layer) -> bool:
    """MS206's condition, computed from the Keras layer itself: a 'same'-padded
    convolution (plain, depthwise or separable: the kinds the rule covers) whose
    dilated kernel spans more than 2n-1 rows (columns) of its n-row (n-column)
    input, so that some of its taps never touch a pixel. Pool windows and
    transposed convolutions never get MS206 from the checker: none excuses one."""
    import keras

    kinds = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D,
             keras.layers.SeparableConv2D)
    if not isinstance(layer, kinds) or layer.padding != "same":
        return False
    _, h, w, _ = layer.input.shape
    spans = [d * (k - 1) + 1 for k, d in zip(layer.kernel_size, layer.dilation_rate)]
    return any(span > 2 * n - 1 for span, n in zip(spans, (h, w)))


def deliberately_stricter(model, diagnostic) -> bool:
    """Errors the checker raises although Keras builds the layer, judged on the
    Keras `model` (which contains the layer) rather than on the checker's shapes:

    - MS206: a 'same'-padded kernel wider than 2n-1 pixels of its input. Keras
      pads and builds, but some taps never touch a pixel; seed 000 wrote a
      TF weight shape [128, 24, 64, 64] as the kernel of a 24x24 input.
    - MS208 for `add` of inputs of different ranks: Keras broadcasts them, e.g.
      (h, w, c) + (c,), which in a residual block is a wiring mistake.
    - MS214 for a `concat` axis that, counted from the end, reaches the batch
      axis (-2 on rank-1 inputs): Keras stacks the batches, which a spec's axis
      (no batch axis) cannot mean.
    - MS221 for a conv2d_transpose that Keras builds with an output of no rows
      or columns: 'same', an even kernel and output_padding 0 on a 1-pixel
      input (on larger inputs TensorFlow refuses it).
    """
    import keras

    names = {layer.name for layer in model.layers}
    if diagnostic.layer not in names:
        return False
    layer = model.get_layer(diagnostic.layer)
    if diagnostic.code == "MS206":
        return kernel_exceeds_2n_minus_1(layer)
    if diagnostic.code == "MS208" and isinstance(layer, keras.layers.Add):
        return len({len(t.shape) for t in layer.input}) > 1
    if diagnostic.code == "MS214" and isinstance(layer, keras.layers.Concatenate):
        return layer.axis % len(layer.input[0].shape) == 0
    if diagnostic.code == "MS221" and isinstance(layer,
                                                 keras.layers.Conv2DTranspose):
        return 0 in tuple(layer.output.shape[1:3])
    return False


def _listing(report) -> str:
    return "\n".join(f"{d.code} {d.layer}: {d.message}" for d in report.errors)


def _upstream(nodes, name: str) -> set[str]:
    """The layer and every layer it reads, directly or not."""
    by_name = {n.name: n for n in nodes}
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current in seen or current not in by_name:
            continue
        seen.add(current)
        todo.extend(by_name[current].inputs)
    return seen


def judge_lowering_failure(report, text, input_shape, error) -> str:
    """The backend cannot lower (or run) the rejected spec. Find the first layer
    it fails on; plain Keras must fail on that layer too, on the same input
    shapes. Layers before it built, so a checker error there must be a
    deliberate one; and the checker must have flagged that layer or one it
    reads (else it accepted a layer Keras rejects)."""
    nodes = report.nodes
    index, models = len(nodes) - 1, []
    for i in range(len(nodes) - 1):
        try:
            models.append(lower_and_run(nodes[: i + 1], input_shape))
        except Exception as e:
            index, error = i, e
            break
    node, position = nodes[index], {n.name: i for i, n in enumerate(nodes)}
    shapes = [
        tuple(input_shape) if ref == "input"
        else tuple(models[position[ref]].output.shape[1:])
        for ref in node.inputs
    ]
    assert plain_keras_error(node, shapes) is not None, (
        f"the backend fails on {node.name} ({node.type}) with "
        f"{type(error).__name__}: {error}\nbut plain Keras builds that layer on "
        f"inputs {shapes}:\n{text}"
    )
    for d in report.errors:
        if d.layer in position and position[d.layer] < index:
            assert deliberately_stricter(models[position[d.layer]], d), (
                f"checker error on {d.layer}, which Keras builds:\n{text}"
                + _listing(report)
            )
    assert {d.layer for d in report.errors} & _upstream(nodes, node.name), (
        f"Keras rejects {node.name} ({node.type}) on inputs {shapes}, but the "
        f"checker flags neither it nor a layer it reads:\n{text}" + _listing(report)
    )
    return "rejected"


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
    unexplained = [d for d in report.errors if not deliberately_stricter(model, d)]
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


@pytest.mark.parametrize("kernel,dilation,exceeds", [
    (11, 1, False), (12, 1, True), ([1, 12], 1, True), (6, 2, False),
    (7, 2, True), (4, 3, False), (5, 3, True),
])
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

    fits = [{"type": "conv2d", "name": "c", "filters": 2, "kernel": 11,
             "padding": "same"}, {"type": "flatten", "name": "f"}]
    report = check_text(to_toml(MODEL, fits))
    assert report.ok
    model = lower_and_run(report.nodes, (6, 6, 1))
    for code, layer in [("MS206", "c"), ("MS207", "c"), ("MS208", "f"),
                        ("MS206", "f"), ("MS206", "other"), ("MS206", None)]:
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
