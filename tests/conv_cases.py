"""Cases for the conv-family and resizing layers, shared by the table-driven
agreement tests, the ONNX parity tests and the hypothesis fuzz generator:
a spec writer (on helpers.to_toml), deterministic samples of each kind's
argument grid, and hypothesis strategies for one layer of each kind."""

from __future__ import annotations

import itertools
import random

from hypothesis import strategies as st

from helpers import to_toml

# Codes the new kinds may produce on a well-formed spec, besides the shape codes
# the older kinds share (kernel too big, dimension <= 0, rank).
CONV_FAMILY_CODES = {"MS206", "MS207", "MS213", "MS220", "MS221", "MS222", "MS223"}


def spec_text(input_shape, layers: list[dict], name: str = "case") -> str:
    return to_toml({"name": name, "input": list(input_shape)}, layers)


def _sample(grid: dict, n: int, seed: int, keep=lambda case: True) -> list[dict]:
    """`n` combinations of the grid's values, the same on every run."""
    keys = list(grid)
    combos = [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*grid.values())
    ]
    combos = [c for c in combos if keep(c)]
    return random.Random(seed).sample(combos, min(n, len(combos)))


def _no_strided_dilation(case) -> bool:
    s, d = case.get("strides", 1), case.get("dilation", 1)
    return not (
        max(s if isinstance(s, list) else [s]) > 1
        and max(d if isinstance(d, list) else [d]) > 1
    )


INPUTS = [[7, 9, 3], [5, 5, 1], [2, 6, 2], [1, 4, 4]]


def depthwise_cases(n: int = 48) -> list[tuple[list, dict]]:
    grid = {
        "input": INPUTS,
        "kernel": [1, 3, [2, 3], 5],
        "strides": [1, 2, [1, 3]],
        "padding": ["valid", "same"],
        "dilation": [1, 2, [2, 1]],
        "depth_multiplier": [1, 3],
        "use_bias": [True, False],
    }
    return [
        (c.pop("input"), {"type": "depthwise_conv2d", **c})
        for c in _sample(grid, n, seed=1)
    ]


def separable_cases(n: int = 48) -> list[tuple[list, dict]]:
    grid = {
        "input": INPUTS,
        "filters": [1, 4],
        "kernel": [1, 3, [3, 2], 5],
        "strides": [1, 2, [2, 1]],
        "padding": ["valid", "same"],
        "dilation": [1, 2],
        "depth_multiplier": [1, 2],
        "use_bias": [True, False],
    }
    return [
        (c.pop("input"), {"type": "separable_conv2d", **c})
        for c in _sample(grid, n, seed=2)
    ]


def grouped_cases(n: int = 40) -> list[tuple[list, dict]]:
    grid = {
        "input": [[6, 7, 4], [5, 5, 6], [3, 4, 3], [8, 8, 12]],
        "filters": [4, 6, 12, 9],
        "groups": [1, 2, 3, 4],
        "kernel": [1, 3, [3, 2]],
        "strides": [1, 2],
        "padding": ["valid", "same"],
        "use_bias": [True, False],
    }
    return [(c.pop("input"), {"type": "conv2d", **c}) for c in _sample(grid, n, seed=3)]


def transpose_cases(n: int = 64) -> list[tuple[list, dict]]:
    grid = {
        "input": [[1, 3, 2], [4, 5, 3], [6, 2, 1]],
        "filters": [1, 5],
        "kernel": [1, 2, 3, [4, 3]],
        "strides": [1, 2, 3, [2, 1]],
        "padding": ["valid", "same"],
        "output_padding": [None, 0, 1, 2, [1, 0]],
        "dilation": [1, 2],
        "use_bias": [True, False],
    }
    return [
        (c.pop("input"), {"type": "conv2d_transpose", **c})
        for c in _sample(grid, n, seed=4, keep=_no_strided_dilation)
    ]


MARGINS = [0, 1, [2, 0], [[1, 2], [0, 3]], [[0, 4], [1, 1]], 3]


def pad_crop_cases() -> list[tuple[list, dict]]:
    shapes = [[7, 9, 3], [5, 5, 1], [2, 6, 2]]
    pads = [(s, {"type": "zero_pad2d", "padding": m}) for s in shapes for m in MARGINS]
    crops = [
        (s, {"type": "cropping2d", "cropping": m}) for s in shapes for m in MARGINS
    ]
    return pads + crops


def upsampling_cases() -> list[tuple[list, dict]]:
    return [
        (s, {"type": "upsampling2d", "size": size, "interpolation": how})
        for s in ([3, 5, 2], [1, 1, 3])
        for size in (1, 2, [2, 3], [3, 1])
        for how in ("nearest", "bilinear")
    ]


def global_and_dropout_cases() -> list[tuple[list, dict]]:
    pools = [
        ([4, 6, 3], {"type": kind, "keepdims": keep})
        for kind in ("global_avg_pool2d", "global_max_pool2d")
        for keep in (True, False)
    ]
    noise = [
        ([7, 9, 3], [1, 1, 1]),
        ([7, 9, 3], [7, 1, 1]),
        ([7, 9, 3], [1, 1, 3]),
        ([7, 9, 3], [7, 9, 3]),
        ([7, 9, 3], [1, 1, 1, 1]),
        ([7, 9, 3], [2, 1, 1]),
        ([7, 9, 3], [1, 1]),
        ([5], [1]),
        ([5], [5]),
        ([5], [3]),
    ]
    drops = [
        (s, {"type": "dropout", "rate": 0.5, "noise_shape": ns}) for s, ns in noise
    ]
    return pools + drops


ACTIVATIONS = [
    "relu6",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "silu",
    "swish",
    "gelu",
    "leaky_relu",
    {"type": "leaky_relu", "negative_slope": 0.1},
    {"type": "leaky_relu"},
    {"type": "leaky_relu", "negative_slope": 0},
]


# --- hypothesis strategies (used by tests/test_keras_agreement_fuzz.py) -------

_small = st.integers(1, 4)
_pairs = st.one_of(_small, st.tuples(_small, _small).map(list))
_margin = st.integers(0, 2)
_margins = st.one_of(
    _margin,
    st.tuples(_margin, _margin).map(list),
    st.tuples(
        st.tuples(_margin, _margin).map(list), st.tuples(_margin, _margin).map(list)
    ).map(list),
)
activations = st.sampled_from(
    [
        None,
        "relu",
        "relu6",
        "hard_silu",
        "silu",
        "gelu",
        "leaky_relu",
        {"type": "leaky_relu", "negative_slope": 0.1},
    ]
)


@st.composite
def _window(draw) -> dict:
    strides = draw(st.sampled_from([1, 1, 2, 3, [1, 2], [2, 1]]))
    dilation = 1 if strides != 1 else draw(st.sampled_from([1, 1, 2, [1, 2]]))
    return {
        "kernel": draw(
            st.one_of(st.integers(1, 5), st.tuples(_small, _small).map(list))
        ),
        "strides": strides,
        "padding": draw(st.sampled_from(["valid", "same"])),
        "dilation": dilation,
        "activation": draw(activations),
        "use_bias": draw(st.booleans()),
    }


@st.composite
def conv_family_layer(draw) -> dict:
    """One layer of a new kind that reads a feature map and keeps rank 3."""
    kind = draw(
        st.sampled_from(
            [
                "depthwise_conv2d",
                "separable_conv2d",
                "grouped_conv2d",
                "conv2d_transpose",
                "zero_pad2d",
                "cropping2d",
                "upsampling2d",
            ]
        )
    )
    if kind == "depthwise_conv2d":
        return {
            "type": kind,
            **draw(_window()),
            "depth_multiplier": draw(st.integers(1, 3)),
        }
    if kind == "separable_conv2d":
        return {
            "type": kind,
            **draw(_window()),
            "filters": draw(st.integers(1, 6)),
            "depth_multiplier": draw(st.integers(1, 2)),
        }
    if kind == "grouped_conv2d":
        groups = draw(st.integers(1, 4))
        return {
            "type": "conv2d",
            **draw(_window()),
            "groups": groups,
            "filters": groups * draw(st.integers(1, 3))
            + draw(st.sampled_from([0, 0, 0, 1])),
        }
    if kind == "conv2d_transpose":
        window = draw(_window())
        strides = window["strides"]
        top = min(strides) if isinstance(strides, list) else strides
        window["output_padding"] = draw(
            st.one_of(st.none(), st.integers(0, top))
        )  # top itself is one too many
        return {"type": kind, **window, "filters": draw(st.integers(1, 5))}
    if kind == "zero_pad2d":
        return {"type": kind, "padding": draw(_margins)}
    if kind == "cropping2d":
        return {"type": kind, "cropping": draw(_margins)}
    return {
        "type": kind,
        "size": draw(_pairs),
        "interpolation": draw(st.sampled_from(["nearest", "bilinear"])),
    }


@st.composite
def pool_or_dropout_layer(draw, rank: int) -> dict:
    """global pooling with keepdims (rank 3), or dropout with a noise_shape."""
    if rank == 3 and draw(st.booleans()):
        return {
            "type": draw(st.sampled_from(["global_avg_pool2d", "global_max_pool2d"])),
            "keepdims": draw(st.booleans()),
        }
    noise = draw(
        st.lists(
            st.sampled_from([1, 1, 2]), min_size=max(rank - 1, 1), max_size=rank + 1
        )
    )
    return {"type": "dropout", "rate": 0.5, "noise_shape": noise}
