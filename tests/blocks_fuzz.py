"""Random specs with blocks for the Keras agreement fuzz: a residual unit with
`${...}` arithmetic, optional layers (`when`) and a projection, nested in a
stage with `repeat` and `first`, used from the top level with random
arguments and [vars]. The checker's verdict on the expansion is compared with
the Keras model built from it (tests/test_keras_agreement_fuzz.py)."""

from __future__ import annotations

from hypothesis import strategies as st

from helpers import toml_value as value
from keras_agreement import (
    assert_agrees,
    deliberately_stricter,
    judge_lowering_failure,
    lower_and_run,
)

SHAPE_CODES = {"MS204", "MS206", "MS207", "MS208", "MS213", "MS214"}


def inline(entries: list[dict]) -> str:
    return "[\n" + "".join(f"  {value(e)},\n" for e in entries) + "]"


@st.composite
def unit_block(draw) -> str:
    """`[blocks.unit]` (args f, s, proj): conv, optional batch norm, conv,
    optional 1x1 projection, add; the add reads the projection when there is
    one, else the block's input (a mismatch is then a shape error)."""
    kernel = draw(st.sampled_from([1, 3, [1, 3]]))
    padding = draw(st.sampled_from(["same", "same", "valid"]))
    layers = [
        {
            "type": "conv2d",
            "name": "a",
            "filters": "${f}",
            "kernel": kernel,
            "strides": "${s}",
            "padding": padding,
        },
        {
            "type": "batch_norm",
            "name": "bn",
            "when": "${f % 2 == 0}",
            "momentum": draw(st.sampled_from([0.9, 0.99])),
        },
        {"type": "activation", "activation": "relu"},
        {
            "type": "conv2d",
            "name": "b",
            "filters": "${f}",
            "kernel": 1,
            "use_bias": draw(st.booleans()),
        },
        {
            "type": "conv2d",
            "name": "p",
            "inputs": ["in"],
            "filters": "${f}",
            "kernel": 1,
            "strides": "${s}",
            "when": "${proj}",
        },
        {"type": "add", "name": "add", "inputs": ["${'p' if proj else 'in'}", "b"]},
    ]
    return (
        '[blocks.unit]\nargs = ["f", "s", "proj"]\n'
        "defaults = { s = 1, proj = false }\n"
        f"layers = {inline(layers)}\n"
    )


STAGE = """[blocks.stage]
args = ["f", "n", "s"]
layers = [
  { use = "unit", name = "u${i}", repeat = "${n}", f = "${f}", first = { s = "${s}", proj = true } },
]
"""  # noqa: E501 (a TOML inline table cannot wrap)


@st.composite
def block_specs(draw) -> str:
    size = draw(st.integers(4, 16))
    width = draw(st.integers(1, 4))
    uses = []
    for k in range(draw(st.integers(1, 3))):
        uses.append(
            {
                "use": "stage",
                "name": f"stage{k + 1}",
                "f": draw(
                    st.sampled_from(
                        ["${w}", "${2 * w}", "${w + 1}", "${max(1, w // 2)}", 3]
                    )
                ),
                "n": draw(st.integers(0, 3)),
                "s": draw(st.sampled_from([1, 1, 2])),
            }
        )
    layers = [
        {
            "type": "conv2d",
            "name": "stem",
            "filters": "${w}",
            "kernel": 3,
            "padding": "same",
        }
    ]
    layers += uses
    layers += [
        {"type": "global_avg_pool2d", "name": "pool"},
        {"type": "dense", "name": "out", "units": 3},
    ]
    return (
        f"layers = {inline(layers)}\n\n"
        f'[model]\nname = "fuzz_blocks"\ninput = [{size}, {size}, 2]\n\n'
        f"[vars]\nw = {width}\n\n{draw(unit_block())}\n{STAGE}"
    )


def check_blocks_against_keras(text: str) -> str:
    """'accepted' (and layer by layer equal to Keras), 'rejected' (a shape
    error, and plain Keras refuses the layer the backend fails on), or
    'stricter' (Keras builds it; every error is a documented deliberate case,
    confirmed on the Keras layer: keras_agreement.deliberately_stricter)."""
    from backends.keras_backend import build_model
    from modelspec.check import check_text

    report = check_text(text, file="<fuzz>")
    codes = {d.code for d in report.errors}
    assert codes <= SHAPE_CODES, (text, [d.render() for d in report.errors])
    if report.ok:
        assert_agrees(report, build_model(report, seed=0))
        return "accepted"
    try:
        model = lower_and_run(report.nodes, _input(text))
    except Exception as e:  # judged below against plain Keras
        return judge_lowering_failure(report, text, _input(text), e)
    unexplained = [
        d for d in report.errors if not deliberately_stricter(model, d, report.nodes)
    ]
    assert not unexplained, (text, [d.render() for d in unexplained])
    return "stricter"


def _input(text: str) -> list[int]:
    from modelspec.source import tomllib

    return tomllib.loads(text)["model"]["input"]
