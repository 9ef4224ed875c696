"""docs/spec-format.md's "Stricter than Keras" list is complete and true: each
row's code has a spec here that the checker refuses with exactly that error,
and real Keras builds that model (issue 10, item 4)."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from modelspec.check import check_text

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
pytestmark = pytest.mark.framework

DOC = os.path.join(os.path.dirname(__file__), "..", "docs", "spec-format.md")


def spec(input_shape, layers, classes=None) -> str:
    head = f'[model]\nname = "strict"\ninput = {list(input_shape)}\n'
    if classes:
        head += f"classes = {classes}\n"
    return head + "".join(f"[[layers]]\n{body}\n" for body in layers)


# "code[ what]" -> (input shape, layers, classes); each a model Keras builds
CASES = {
    "MS206": (
        [2, 2, 3],
        ['type = "conv2d"\nfilters = 4\nkernel = 5\npadding = "same"'],
        None,
    ),
    "MS208": (
        [4, 4, 3],
        [
            'type = "conv2d"\nname = "a"\nfilters = 8\nkernel = 1',
            'type = "global_avg_pool2d"\nname = "g"\ninputs = ["input"]',
            'type = "dense"\nname = "d"\nunits = 8',
            'type = "add"\ninputs = ["a", "d"]',
        ],
        None,
    ),
    "MS221": (
        [1, 1, 3],
        [
            'type = "conv2d_transpose"\nfilters = 4\nkernel = 2\n'
            'strides = 2\npadding = "same"\noutput_padding = 0'
        ],
        None,
    ),
    "MS223": (
        [4, 4, 8],
        ['type = "dropout"\nrate = 0.5\nnoise_shape = [3, 1, 1]', 'type = "flatten"'],
        None,
    ),
    "MS205": (
        [4, 4, 3],
        [
            'type = "conv2d"\nname = "conv4"\nfilters = 4\nkernel = 3',
            'type = "conv2d"\nfilters = 4\nkernel = 3\ninputs = ["input"]',
        ],
        None,
    ),
    "MS212": ([7, 7, 64], ['type = "dense"\nunits = 10'], 10),
    "MS208 multiply": (
        [4, 4, 3],
        [
            'type = "conv2d"\nname = "a"\nfilters = 8\nkernel = 1',
            'type = "global_avg_pool2d"\nname = "g"\ninputs = ["input"]',
            'type = "dense"\nname = "d"\nunits = 8',
            'type = "multiply"\ninputs = ["a", "d"]',
        ],
        None,
    ),
    "MS230": ([4, 4, 1], ['type = "rescaling"\nscale = [0.5, 1.0, 2.0]'], None),
    "MS214 normalization": (
        [4, 4, 3],
        ['type = "normalization"\naxis = [2, -1]\nmean = 0.5\nvariance = 2.0'],
        None,
    ),
    "MS214 layer_norm": (
        [8],
        ['type = "layer_norm"\naxis = -2\ncenter = false\nscale = false'],
        None,
    ),
    "MS214 concat": (
        [8],
        [
            'type = "dense"\nname = "a"\nunits = 3',
            'type = "dense"\nname = "b"\nunits = 3\ninputs = ["input"]',
            'type = "concat"\naxis = -2\ninputs = ["a", "b"]',
        ],
        None,
    ),
}


def documented_codes() -> list[str]:
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    table = text[text.index("\n## Stricter than Keras\n") :]
    return sorted(re.findall(r"^\| (MS\d{3}) \|", table, re.M))


def test_the_list_has_a_case_for_every_row():
    rows, cases = documented_codes(), [case.split()[0] for case in CASES]
    assert set(rows) == set(cases)
    for code in set(rows):  # a code listed twice has a case per row
        assert cases.count(code) >= rows.count(code), code


@pytest.mark.parametrize("code", sorted(CASES))
def test_checker_refuses_what_keras_builds(code):
    from backends.keras_backend import lower_nodes

    input_shape, layers, classes = CASES[code]
    report = check_text(spec(input_shape, layers, classes), file=f"<{code}>")
    assert [d.code for d in report.errors] == [code.split()[0]]
    model = lower_nodes(report.nodes, input_shape, seed=0)  # Keras builds it
    x = np.ones((2, *input_shape), "float32")
    out = np.asarray(model(x, training=False))
    if code == "MS221":  # built, but on a one-pixel input the output is empty
        assert out.shape == (2, 0, 0, 4)
    else:
        assert out.size > 0
    if code == "MS223":  # Keras notices only when a training step runs
        with pytest.raises(Exception, match=r"(?i)shape|broadcast|incompatible"):
            model(x, training=True)
    if code == "MS205":  # lowered, then left out of the model by Keras
        assert "conv4" in [node.name for node in report.nodes]
        assert "conv4" not in [layer.name for layer in model.layers]
    if code == "MS212":
        assert out.shape == (2, 7, 7, 10)
    if code == "MS214 concat":  # the two batches of 2 stacked
        assert out.shape == (4, 3)
    if code == "MS230":  # three channels out, one declared
        assert out.shape == (2, 4, 4, 3) and tuple(model.output.shape) == (
            None,
            4,
            4,
            1,
        )


def test_transpose_with_even_kernel_fails_to_run_on_larger_inputs():
    """The other half of the MS221 row: Keras builds it, TensorFlow refuses."""
    from backends.keras_backend import lower_nodes

    _, layers, _ = CASES["MS221"]
    report = check_text(spec([4, 4, 3], layers), file="<MS221>")
    assert [d.code for d in report.errors] == ["MS221"]
    model = lower_nodes(report.nodes, [4, 4, 3], seed=0)
    import tensorflow as tf

    # Which op error depends on the kernel (oneDNN aborts, others reject the
    # argument); every one of them is an OpError.
    with pytest.raises(tf.errors.OpError):
        model(np.ones((1, 4, 4, 3), "float32"))
