"""Random and mutated TOML never makes the checker raise: it accepts or
returns diagnostics."""

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import toml_value
from modelspec.check import check_text
from modelspec.diagnostics import CODES

ROOT = Path(__file__).resolve().parents[1]
SEEDS = [p.read_text() for p in sorted((ROOT / "specs").glob("*.toml"))] or [
    "[model]\nname='a'\ninput=[4]\n[[layers]]\ntype='dense'\nunits=2\n"
]

scalars = st.one_of(
    st.integers(-5, 3000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.sampled_from(["same", "valid", "relu", "conv2d", "input", ""]),
    st.text(max_size=6),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4), max_leaves=8)
keys = st.sampled_from(
    [
        "type",
        "filters",
        "kernel",
        "strides",
        "padding",
        "units",
        "inputs",
        "name",
        "rate",
        "shape",
        "pool",
        "axis",
        "activation",
        "expect_shape",
        "in_channels",
        "input",
        "classes",
        "dataset",
        "epochs",
        "optimizer",
        "from",
        "bogus",
    ]
)


def _assert_sane(report) -> None:
    for d in report.diagnostics:
        assert d.code in CODES
        assert d.message
    report.to_json()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_arbitrary_text(text):
    _assert_sane(check_text(text))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), st.data())
def test_mutated_specs(seed, data):
    lines = seed.splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["set", "drop", "dup", "swap", "cut"]))
        i = data.draw(st.integers(0, max(0, len(lines) - 1)))
        if op == "set":
            lines.insert(i, f"{data.draw(keys)} = {toml_value(data.draw(values))}")
        elif op == "drop" and lines:
            lines.pop(i)
        elif op == "dup" and lines:
            lines.insert(i, lines[i])
        elif op == "swap" and len(lines) > 1:
            j = data.draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "cut" and lines:
            k = data.draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:k]
    _assert_sane(check_text("\n".join(lines)))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.dictionaries(keys, values, max_size=6), min_size=1, max_size=6),
    st.lists(st.integers(0, 40), min_size=1, max_size=4),
)
def test_random_layer_tables(layers, shape):
    text = f"[model]\nname = 'f'\ninput = {toml_value(shape)}\n"
    for layer in layers:
        text += "[[layers]]\n"
        text += "".join(f"{k} = {toml_value(v)}\n" for k, v in layer.items())
    _assert_sane(check_text(text))
