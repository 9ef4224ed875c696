"""The `${...}` expression language of blocks: every operator and function
computes what Python would, and every construct outside the whitelist is
refused with a message that states the rule and what was received."""

from __future__ import annotations

import pytest

from modelspec.blocks.expr import MAX_INT, ExprError, evaluate, make_divisible
from modelspec.blocks.template import segments, substitute, whole_name

ENV = {"a": 7, "b": 2, "x": 2.5, "s": "ab", "flag": True, "ws": [16, 32, 64]}


@pytest.mark.parametrize(
    "source, expected",
    [
        ("a + b", 9),
        ("a - b", 5),
        ("a * b", 14),
        ("a / b", 3.5),
        ("a // b", 3),
        ("a % b", 1),
        ("a ** b", 49),
        ("-a", -7),
        ("+a", 7),
        ("-x * 2", -5.0),
        ("not flag", False),
        ("flag and a", 7),
        ("0 and a", 0),
        ("0 or b", 2),
        ("a == 7", True),
        ("a != 7", False),
        ("a < b", False),
        ("a <= 7", True),
        ("a > b", True),
        ("a >= 8", False),
        ("1 < b < a", True),
        ("1 < a < b", False),
        ("s == 'ab'", True),
        ("'a' < 'b'", True),
        ("'yes' if flag else 'no'", "yes"),
        ("a if a > 10 else b", 2),
        ("[a, b, 3]", [7, 2, 3]),
        ("ws[0]", 16),
        ("ws[-1]", 64),
        ("ws[b - 1]", 32),
        ("s + 'c'", "abc"),
        ("(a + b) * 2", 18),
        ("2 ** -1", 0.5),
        ("min(a, b)", 2),
        ("max(a, b, 9)", 9),
        ("min(ws)", 16),
        ("abs(-a)", 7),
        ("int(x)", 2),
        ("float(a)", 7.0),
        ("round(x)", 2),
        ("round(3.14159, 2)", 3.14),
        ("ceil(x)", 3),
        ("floor(x)", 2),
        ("letter(1)", "a"),
        ("letter(26)", "z"),
        ("make_divisible(32 * 1.4, 8)", 48),
        ("make_divisible(16, divisor=8)", 16),
        ("make_divisible(3, 8, min_value=4)", 4),
        ("1.001e-5", 1.001e-5),
        ("True", True),
        ("'0_bn' if flag else 'in'", "0_bn"),
        ("'cell' + str(a - 1)", "cell6"),
        ("str(x)", "2.5"),
        ("str(s)", "ab"),
    ],
)
def test_allowed_expressions_compute_what_python_computes(source, expected):
    got = evaluate(source, ENV)
    assert got == expected and type(got) is type(expected)


def _refused(source: str, env=ENV) -> ExprError:
    with pytest.raises(ExprError) as info:
        evaluate(source, env)
    return info.value


@pytest.mark.parametrize(
    "source, words",
    [
        ("s.upper()", "attribute access"),
        ("a.real", "attribute access"),
        ("open('x')", "calling 'open'"),
        ("__import__('os')", "calling '__import__'"),
        ("eval('1')", "calling 'eval'"),
        ("getattr(a, 'real')", "calling 'getattr'"),
        ("(lambda: 1)()", "lambda"),
        ("ws[0](1)", "calling anything but a named function"),
        ("lambda: 1", "lambda"),
        ("[i for i in ws]", "list comprehension"),
        ("{i for i in ws}", "set comprehension"),
        ("{i: i for i in ws}", "dict comprehension"),
        ("min(i for i in ws)", "generator expression"),
        ("{'a': 1}", "a dict"),
        ("{1, 2}", "a set"),
        ("f'{a}'", "f-string"),
        ("(y := 3)", "assignment"),
        ("[*ws]", "unpacking"),
        ("ws[0:2]", "slicing"),
        ("a in ws", "comparison In"),
        ("a is b", "comparison Is"),
        ("a & b", "operator BitAnd"),
        ("~a", "unary operator"),
        ("None", "the constant None"),
    ],
)
def test_constructs_outside_the_whitelist_are_refused(source, words):
    e = _refused(source)
    assert words in e.message
    assert "not allowed" in e.message
    assert f"Received: ${{{source}}}" in e.message


@pytest.mark.parametrize(
    "source, words",
    [
        ("10 ** 10 ** 10", "exponent of at most 64"),
        ("2 ** 64", "at most 1e+15"),
        ("10 ** 20", "at most 1e+15"),
        ("100000000000000000000", "at most 1e+15"),
        ("1e200 ** 2", "too large"),
        ("1e200 * 1e200", "must be finite"),
        ("a / 0", "division by zero"),
        ("a % 0", "division by zero"),
        ("a + s", "takes two numbers"),
        ("flag + 1", "takes two numbers"),
        ("s * 3", "takes two numbers"),
        ("ws * 2", "takes two numbers"),
        ("ws[5]", "out of range"),
        ("a[0]", "only lists can be indexed"),
        ("ws[x]", "a list index is an int"),
        ("s < 3", "cannot order"),
        ("letter(27)", "letter(n) needs an int from 1 to 26"),
        ("min()", "at least one value"),
        ("int(s)", "int() takes numbers"),
        ("str(ws)", "str() takes a number or a string"),
        ("make_divisible(8, 0)", "divisor > 0"),
        ("round(x, 99)", "ndigits"),
        ("round(x, nd=1)", "keyword argument nd="),
        ("'x' * 1000", "takes two numbers"),
        ("'" + "x" * 300 + "'", "at most 200 characters"),
        ("a +", "not a valid expression"),
        ("min", "is a function"),
    ],
)
def test_errors_state_the_rule(source, words):
    assert words in _refused(source).message


def test_bounds_on_size():
    assert "at most 500 characters" in _refused("1 + " * 200 + "1").message
    assert "at most 200 parts" in _refused("+".join(["a"] * 150)).message
    assert "at most 64 items" in _refused("[" + ", ".join(["1"] * 65) + "]").message
    assert evaluate(str(MAX_INT), {}) == MAX_INT


def test_unknown_name_suggests_the_closest():
    e = _refused("filtres * 2", {"filters": 3, "stride": 1})
    assert "unknown name 'filtres'" in e.message
    assert "known here: filters, stride" in e.message
    assert e.hint == "did you mean 'filters'?"


def test_make_divisible_is_kerass_rounding():
    # hand-computed from Keras's _make_divisible: int(v + d/2) // d * d, at
    # least min_value, plus d when that lost more than 10%
    assert make_divisible(32 * 0.35, 8) == 16  # 11.2 -> 8 < 10.08 -> 16
    assert make_divisible(24 * 1.4, 8) == 32  # 33.6 -> 32
    assert make_divisible(96 * 0.75, 8) == 72
    assert make_divisible(3, 8) == 8
    assert make_divisible(20, 8) == 24  # int(24) // 8 * 8 = 24


# -- templates ------------------------------------------------------------------


def test_segments_keep_braces_inside_quoted_strings():
    assert segments("a${'}'}b") == [(False, "a"), (True, "'}'"), (False, "b")]
    assert segments("plain") == [(False, "plain")]
    with pytest.raises(ExprError, match="no closing"):
        segments("x${a")


def test_a_whole_template_keeps_the_type_and_a_partial_one_interpolates():
    env = {"i": 3, "f": 64, "ok": False, "eps": 1e-3}
    assert substitute("${f * 2}", env) == 128
    assert substitute("${eps}", env) == 1e-3
    assert substitute("block${i}", env) == "block3"
    assert substitute("b${i}_${f}", env) == "b3_64"
    assert substitute("x${ok}", env) == "xfalse"
    assert substitute(["${f}", {"k": "${i}"}, 5], env) == [64, {"k": 3}, 5]
    assert substitute("no template", env) == "no template"
    with pytest.raises(ExprError, match="list cannot be part"):
        substitute("a${[1]}", env)


def test_whole_name_is_only_a_bare_name():
    assert whole_name("${filters}") == "filters"
    assert whole_name("${ filters }") == "filters"
    assert whole_name("${filters * 2}") is None
    assert whole_name("x${filters}") is None
    assert whole_name(3) is None
