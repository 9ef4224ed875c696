"""Blocks: expansion (names, nesting, repeat with first/last, when, let, vars),
diagnostics with both locations, overrides, the collapsed summary, JSON and the
JSON Schema. Keras agreement is in test_blocks_keras.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from modelspec.blocks import expand, summary_rows
from modelspec.check import check_file, check_text
from modelspec.source import parse

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "specs" / "cifar10_blocks.toml"

HEAD = """\
[model]
name = "t"
input = [8, 8, 3]

"""
UNIT = """\
[blocks.unit]
args = ["filters", "stride", "project"]
defaults = { stride = 1, project = false }
let = { wide = "${2 * filters}" }
layers = [
  { type = "conv2d", name = "proj", inputs = ["in"], filters = "${wide}", kernel = 1, strides = "${stride}", when = "${project}" },
  { type = "conv2d", name = "a", inputs = ["in"], filters = "${filters}", kernel = 3, strides = "${stride}", padding = "same" },
  { type = "conv2d", filters = "${wide}", kernel = 1 },
  { type = "add", name = "add", inputs = ["${'proj' if project else 'in'}", "conv2d_3"] },
]
"""  # noqa: E501 (a TOML inline table cannot wrap)


def spec(layers: str, blocks: str = UNIT, extra: str = "") -> str:
    return HEAD + extra + blocks + "\n" + layers


def names(report) -> list[str]:
    return [li.name for li in report.layers]


def found(report) -> list:
    # the small test models end in a feature map: MS309 says so, on purpose
    return [d for d in report.diagnostics if d.code != "MS309"]


def clean(report) -> None:
    assert [d.render() for d in found(report)] == []


# -- expansion --------------------------------------------------------------------


def test_names_repeat_first_when_let_and_default_names():
    r = check_text(
        spec("""\
[[layers]]
type = "conv2d"
name = "stem"
filters = 8
kernel = 1

[[layers]]
use = "unit"
name = "s1_b${i}"
repeat = 3
filters = 4
first = { project = true, stride = 2 }
""")
    )
    clean(r)
    # `proj` exists only in the first instance; the unnamed conv is <type>_<n>
    # counted in the definition (absent layers too): conv2d_3
    assert names(r) == [
        "stem",
        "s1_b1_proj",
        "s1_b1_a",
        "s1_b1_conv2d_3",
        "s1_b1_add",
        "s1_b2_a",
        "s1_b2_conv2d_3",
        "s1_b2_add",
        "s1_b3_a",
        "s1_b3_conv2d_3",
        "s1_b3_add",
    ]
    by = {li.name: li for li in r.layers}
    assert by["s1_b1_proj"].output_shape == (4, 4, 8)  # let wide = 2 * 4, stride 2
    assert by["s1_b1_a"].inputs == ["stem"]
    assert by["s1_b1_add"].inputs == ["s1_b1_proj", "s1_b1_conv2d_3"]
    assert by["s1_b2_a"].inputs == ["s1_b1_add"]  # chained
    assert by["s1_b2_add"].inputs == ["s1_b1_add", "s1_b2_conv2d_3"]
    assert by["s1_b3_add"].output_shape == (4, 4, 8)
    assert by["s1_b2_add"].block == ["s1_b2"]
    assert by["stem"].block is None
    assert r.blocks == {"s1_b1": "unit", "s1_b2": "unit", "s1_b3": "unit"}


def test_nesting_shadowed_i_last_vars_and_reading_an_instance():
    blocks = (
        UNIT
        + """
[blocks.stage]
args = ["filters", "n"]
layers = [
  { use = "unit", name = "block${i}", repeat = "${n}", filters = "${filters}", first = { project = true }, last = { project = true } },
]
"""  # noqa: E501 (a TOML inline table cannot wrap)
    )
    r = check_text(
        spec(
            """\
[[layers]]
use = "stage"
name = "conv${i + 1}"
repeat = 2
filters = "${base * i}"
n = "${depth}"

[[layers]]
type = "conv2d"
name = "tap"
inputs = ["conv3_block2_a"]
filters = 8
kernel = 1

[[layers]]
type = "conv2d"
name = "tap2"
inputs = ["conv2_block1_proj"]
filters = 8
kernel = 1

[[layers]]
type = "add"
name = "taps"
inputs = ["tap", "tap2", "conv3"]
""",
            blocks=blocks,
            extra="[vars]\nbase = 2\ndepth = 3\n\n",
        )
    )
    clean(r)
    by = {li.name: li for li in r.layers}
    # the outer i names the stages and scales their filters (2, 4); the inner
    # i numbers the blocks of each stage
    assert by["conv2_block1_a"].output_shape[-1] == 2
    assert by["conv2_block3_a"].output_shape[-1] == 2
    assert by["conv3_block1_a"].output_shape[-1] == 4
    assert by["conv3_block3_add"].output_shape[-1] == 8  # let wide = 2 * 4
    # `first` and `last` project in the first and last block of each stage only
    assert [f"conv{s}_block{b}_proj" in by for s in (2, 3) for b in (1, 2, 3)] == [
        True,
        False,
        True,
    ] * 2
    assert by["conv3_block2_add"].block == ["conv3", "conv3_block2"]
    assert by["conv3_block1_a"].inputs == ["conv2_block3_add"]
    # reading the instance name reads its output (its last layer)
    assert by["taps"].inputs == ["tap", "tap2", "conv3_block3_add"]
    assert by["tap"].inputs == ["conv3_block2_a"]
    assert by["tap2"].inputs == ["conv2_block1_proj"]
    assert r.blocks["conv2"] == "stage" and r.blocks["conv2_block2"] == "unit"


def test_a_block_reads_layers_of_its_nested_instances_by_relative_name():
    blocks = (
        UNIT
        + """
[blocks.stage]
layers = [
  { use = "unit", name = "block${i}", repeat = 2, filters = 4, first = { project = true } },
  { type = "conv2d", name = "side", inputs = ["block1_a"], filters = 8, kernel = 1 },
  { type = "add", name = "out", inputs = ["block2", "side"] },
]
"""  # noqa: E501 (a TOML inline table cannot wrap)
    )
    r = check_text(spec('[[layers]]\nuse = "stage"\nname = "s"\n', blocks=blocks))
    clean(r)
    assert r.layer("s_side").inputs == ["s_block1_a"]
    assert r.layer("s_out").inputs == ["s_block2_add", "s_side"]
    assert r.layer("s_side").block == ["s"]


def test_multi_input_block_and_explicit_inputs_and_top_level_when():
    blocks = """\
[blocks.merge]
inputs = ["x", "skip"]
layers = [
  { type = "conv2d", name = "c", inputs = ["x"], filters = 3, kernel = 1 },
  { type = "add", name = "sum", inputs = ["c", "skip"] },
]
"""
    r = check_text(
        spec(
            """\
[[layers]]
type = "conv2d"
name = "a"
filters = 3
kernel = 1

[[layers]]
type = "conv2d"
name = "unused"
filters = 3
kernel = 1
when = false

[[layers]]
use = "merge"
name = "m${i}"
repeat = 2
inputs = ["a", "input"]
""",
            blocks=blocks,
        )
    )
    clean(r)
    by = {li.name: li for li in r.layers}
    assert "unused" not in by
    assert by["m1_c"].inputs == ["a"] and by["m1_sum"].inputs == ["m1_c", "input"]
    # later instances chain the first input and keep the others
    assert by["m2_c"].inputs == ["m1_sum"] and by["m2_sum"].inputs == ["m2_c", "input"]


def test_templated_inputs_are_evaluated_for_every_instance():
    # NASNet-like cells: each reads the previous cell and the one before it
    blocks = """\
[blocks.cell]
inputs = ["x", "p"]
layers = [
  { type = "conv2d", name = "c", inputs = ["x"], filters = 3, kernel = 1 },
  { type = "add", name = "sum", inputs = ["c", "p"] },
]
"""
    r = check_text(
        spec(
            """\
[[layers]]
type = "conv2d"
name = "stem"
filters = 3
kernel = 1

[[layers]]
use = "cell"
name = "cell${i}"
repeat = 3
inputs = [
  "${'stem' if i == 1 else 'cell' + str(i - 1)}",
  "${'stem' if i < 3 else 'cell' + str(i - 2)}",
]
""",
            blocks=blocks,
        )
    )
    clean(r)
    by = {li.name: li for li in r.layers}
    assert by["cell1_c"].inputs == ["stem"] and by["cell1_sum"].inputs[1] == "stem"
    assert by["cell2_c"].inputs == ["cell1_sum"]
    assert by["cell2_sum"].inputs == ["cell2_c", "stem"]
    assert by["cell3_c"].inputs == ["cell2_sum"]
    assert by["cell3_sum"].inputs == ["cell3_c", "cell1_sum"]


def test_prefix_replaces_the_instance_name_before_layer_names():
    # Keras names whose number comes last (MobileNet's conv_dw_1, conv_pw_1):
    # the instance keeps its own name (collapsed rows, block paths) while its
    # layers are named prefix + local name
    blocks = """\
[blocks.dwpw]
args = ["id"]
layers = [
  { type = "depthwise_conv2d", name = "dw_${id}", kernel = 1 },
  { type = "conv2d", name = "pw_${id}", filters = 2, kernel = 1 },
]

[blocks.pair]
layers = [
  { use = "dwpw", name = "inner${i}", prefix = "c${i}_", repeat = 2, id = "${i}" },
]
"""
    r = check_text(
        spec(
            """\
[[layers]]
use = "dwpw"
name = "sep${i}"
prefix = "conv_"
repeat = 2
id = "${i}"

[[layers]]
use = "pair"
name = "p"
prefix = ""

[[layers]]
use = "dwpw"
name = "plain"
id = 9
""",
            blocks=blocks,
        )
    )
    clean(r)
    by = {li.name: li for li in r.layers}
    assert names(r) == [
        "conv_dw_1",
        "conv_pw_1",
        "conv_dw_2",
        "conv_pw_2",
        "c1_dw_1",
        "c1_pw_1",
        "c2_dw_2",
        "c2_pw_2",
        "plain_dw_9",
        "plain_pw_9",
    ]
    assert by["conv_dw_2"].inputs == ["conv_pw_1"]
    assert by["conv_pw_2"].block == ["sep2"]
    # nested: the enclosing prefix ("") comes first, instance names stay
    assert by["c2_pw_2"].block == ["p", "inner2"]
    assert [row.label for row in summary_rows(r.layers, r.blocks)][:3] == [
        "sep1 (block dwpw)",
        "sep2 (block dwpw)",
        "p (block pair)",
    ]


def test_bad_prefix_is_an_error_at_the_use_site():
    first = '[[layers]]\ntype = "conv2d"\nname = "a"\nfilters = 2\nkernel = 1\n\n'
    text = spec(f"""{first}[[layers]]
use = "unit"
name = "u"
prefix = "${{1 + 1}}"
filters = 2
""")
    d = _only(check_text(text))
    assert (d.code, d.layer) == ("MS502", "u")
    assert "a prefix is text. Received: prefix = 2" in d.message


def test_spec_without_blocks_is_untouched():
    text = (ROOT / "specs" / "mnist_lenet.toml").read_text()
    raw, positions = parse(text)
    x = expand(raw, positions)
    assert x.raw is raw and x.positions is positions and not x.used
    r = check_text(text)
    assert r.blocks == {} and all(li.block is None for li in r.layers)
    assert all("block" not in layer for layer in r.to_json()["layers"])
    assert all(
        "origin" not in d
        for d in check_text(
            (ROOT / "specs" / "broken" / "unknown_input.toml").read_text()
        ).to_json()["diagnostics"]
    )


def test_json_lists_every_expanded_layer_with_its_instance_path():
    out = check_file(EXAMPLE).to_json()
    layers = {li["name"]: li for li in out["layers"]}
    assert layers["conv3_block1_0_conv"]["block"] == ["conv3", "conv3_block1"]
    assert layers["stem_conv"]["block"] is None
    assert "conv2_block1_0_conv" not in layers  # stride 1: no projection
    assert out["total_params"] == sum(li["params"] for li in out["layers"])


def test_collapsed_rows_sum_each_top_level_instance():
    r = check_file(EXAMPLE)
    rows = summary_rows(r.layers, r.blocks)
    labels = [row.label for row in rows]
    assert labels[3:6] == [
        "conv2 (block stage)",
        "conv3 (block stage)",
        "conv4 (block stage)",
    ]
    conv3 = rows[4]
    inside = [li for li in r.layers if li.block and li.block[0] == "conv3"]
    assert conv3.params == sum(li.params for li in inside)
    assert conv3.shape == inside[-1].output_shape == (16, 16, 32)
    assert conv3.inputs == ["conv2_block2_out"]
    assert conv3.index == f"{inside[0].index}-{inside[-1].index}"
    assert sum(row.params for row in rows) == r.total_params
    assert len(summary_rows(r.layers, r.blocks, expand=True)) == len(r.layers)


def test_cli_check_collapses_and_expand_lists_every_layer():
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "modelspec", "check", str(EXAMPLE), *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )

    short, full = run(), run("--expand")
    assert short.returncode == full.returncode == 0
    assert "conv3 (block stage)" in short.stdout
    assert "conv3_block1_1_conv" not in short.stdout
    assert "conv3_block1_1_conv (conv2d)" in full.stdout
    assert "(block stage)" not in full.stdout
    data = json.loads(run("--format", "json").stdout)
    assert data["layers"][-1]["name"] == "predictions"


def test_overrides_set_vars_and_use_site_arguments():
    r = check_file(EXAMPLE, ["vars.widths=[8, 16, 32]", "layers.conv3.blocks=3"])
    clean(r)
    assert r.layer("stem_conv").output_shape == (32, 32, 8)
    assert r.layer("conv3_block3_out").output_shape == (16, 16, 16)
    assert r.layer("conv4_block3_out") is None


# -- diagnostics --------------------------------------------------------------------


def _only(report):
    diags = found(report)
    assert len(diags) == 1, [d.render() for d in diags]
    return diags[0]


def test_error_inside_a_block_has_both_locations():
    text = spec("""\
[[layers]]
type = "conv2d"
name = "stem"
filters = 8
kernel = 1

[[layers]]
use = "unit"
name = "u${i}"
repeat = 3
filters = 4
""")
    text = text.replace('padding = "same" }', 'padding = "same", expect_shape = [8] }')
    d = _only(check_text(text, file="s.toml"))
    lines = text.splitlines()
    define = next(n for n, s in enumerate(lines, 1) if 'name = "a"' in s)
    use = lines.index('use = "unit"')  # the [[layers]] header is the line before
    assert d.code == "MS209" and d.line == define and d.layer == "u1_a"
    assert [(o.instance, o.block, o.line) for o in d.origin] == [("u1", "unit", use)]
    assert d.also == 2  # u2 and u3 have the same problem: said once
    text_out = d.render()
    assert f"s.toml:{define}:" in text_out
    assert (
        f"in block 'unit' instance 'u1', used at s.toml:{use} (and 2 more "
        "like it)" in text_out
    )
    assert d.to_json()["origin"] == [{"instance": "u1", "block": "unit", "line": use}]
    assert d.to_json()["also"] == 2


def test_a_value_passed_whole_points_at_the_argument_at_the_use_site():
    text = spec("""\
[[layers]]
use = "unit"
name = "u"
filters = 4
stride = 0
""")
    d = _only(check_text(text))
    assert d.code == "MS103" and d.layer == "u_a"
    assert d.line == text.splitlines().index("stride = 0") + 1
    assert d.origin[0].instance == "u"


def test_nested_argument_positions_follow_the_chain_to_the_top():
    blocks = (
        UNIT
        + """
[blocks.outer]
args = ["f"]
layers = [
  { use = "unit", name = "inner", filters = 2, stride = "${f}" },
]
"""
    )
    text = spec('[[layers]]\nuse = "outer"\nname = "o"\nf = 2.5\n', blocks=blocks)
    d = _only(check_text(text))
    assert d.code == "MS103" and d.layer == "o_inner_a"
    assert d.line == text.splitlines().index("f = 2.5") + 1
    assert [o.instance for o in d.origin] == ["o_inner", "o"]


@pytest.mark.parametrize(
    "use, code, words, hint",
    [
        (
            'use = "unti"\nfilters = 2',
            "MS501",
            "unknown block 'unti'",
            "did you mean 'unit'?",
        ),
        (
            'use = "unit"\nfilters = 2\nstrde = 2',
            "MS502",
            "has no argument 'strde'",
            "did you mean 'stride'?",
        ),
        ('use = "unit"\nstride = 2', "MS502", "missing argument 'filters'", "add `"),
        (
            'use = "unit"\nfilters = 2\nrepeat = 2',
            "MS502",
            "must contain ${i}",
            "block${i}",
        ),
        (
            'use = "unit"\nfilters = 2\nrepeat = -1',
            "MS502",
            "'repeat' must be an int",
            None,
        ),
        (
            'use = "unit"\nfilters = 2\ninputs = ["a", "b"]',
            "MS502",
            "takes 1 input (in)",
            None,
        ),
        (
            'use = "unit"\nfilters = "${filters}"',
            "MS503",
            "unknown name 'filters'",
            None,
        ),
        ('use = "unit"\nfilters = 2\nwhen = "${1}"', "MS503", "true or false", None),
        (
            'use = "unit"\nfilters = 2\nrepeat = true',
            "MS502",
            "'repeat' of a use entry must be an int or a ${...} string",
            None,
        ),
    ],
)
def test_bad_use_entries_are_errors_at_the_use_site(use, code, words, hint):
    first = '[[layers]]\ntype = "conv2d"\nname = "a"\nfilters = 2\nkernel = 1\n\n'
    text = spec(f'{first}[[layers]]\n{use}\nname = "u"\n')
    d = _only(check_text(text))
    assert (d.code, d.layer) == (code, "u")
    assert words in d.message, d.message
    if hint:
        assert hint in (d.hint or ""), d.hint
    start = len(text.splitlines()) - len(use.splitlines()) - 1  # the header
    assert start <= d.line <= len(text.splitlines())


def test_local_input_names_are_checked_with_did_you_mean():
    blocks = """\
[blocks.b]
layers = [
  { type = "conv2d", name = "conv", filters = 2, kernel = 1 },
  { type = "add", name = "add", inputs = ["in", "cnov"] },
]
"""
    text = spec('[[layers]]\nuse = "b"\nname = "x"\n', blocks=blocks)
    d = _only(check_text(text))
    assert d.code == "MS202" and d.layer == "x_add" and d.hint == "did you mean 'conv'?"
    assert d.line == next(
        n for n, s in enumerate(text.splitlines(), 1) if '"cnov"' in s
    )


def test_recursion_and_bad_block_tables():
    blocks = """\
[blocks.a]
layers = [{ use = "b" }]

[blocks.b]
layers = [{ use = "a" }]

[blocks.c]
arg = ["x"]
layers = [{ type = "flatten" }]
"""
    r = check_text(spec('[[layers]]\nuse = "a"\n', blocks=blocks))
    got = {(d.code, d.message.split(":")[0]) for d in found(r)}
    assert ("MS504", "block 'a' uses itself (a -> b -> a)") in got
    assert ("MS101", "[blocks.c] unknown key 'arg'") in got
    hint = next(d.hint for d in r.diagnostics if d.code == "MS101")
    assert hint == "did you mean 'args'?"


def test_vars_errors_and_names():
    r = check_text(
        spec(
            '[[layers]]\ntype = "flatten"\n',
            blocks="",
            extra='[vars]\na = 2\nb = "${a * c}"\ni = 3\n\n',
        )
    )
    lines = r.text.splitlines()
    got = sorted((d.code, d.line) for d in found(r))
    assert got == [
        ("MS103", lines.index("i = 3") + 1),
        ("MS503", lines.index('b = "${a * c}"') + 1),
    ]


def test_nesting_depth_is_bounded():
    # 200 distinct blocks, each using the next: no recursion, but too deep
    blocks = "".join(
        f'[blocks.b{k}]\nlayers = [{{ use = "b{k + 1}" }}]\n\n' for k in range(200)
    )
    blocks += '[blocks.b200]\nlayers = [{ type = "flatten" }]\n'
    r = check_text(spec('[[layers]]\nuse = "b0"\n', blocks=blocks))
    assert [d.code for d in found(r)] == ["MS505"]
    assert "nest more than 32 deep" in found(r)[0].message


def test_expansion_is_bounded():
    blocks = """\
[blocks.u]
layers = [{ type = "dense", units = 1 }]

[blocks.s]
layers = [{ use = "u", name = "u${i}", repeat = 1000 }]
"""
    r = check_text(
        spec('[[layers]]\nuse = "s"\nname = "s${i}"\nrepeat = 20\n', blocks=blocks)
    )
    assert [d.code for d in found(r)] == ["MS505"]
    assert r.layers == []


# -- the JSON Schema -------------------------------------------------------------


def test_schema_accepts_specs_with_blocks_and_refuses_bad_block_tables():
    import jsonschema

    from modelspec.schema import json_schema
    from modelspec.source import tomllib

    validator = jsonschema.Draft202012Validator(json_schema())
    zoo = sorted((ROOT / "specs" / "zoo").glob("*.toml"))
    for path in sorted((ROOT / "specs").glob("*.toml")) + zoo:
        data = tomllib.loads(path.read_text())
        assert list(validator.iter_errors(data)) == [], path.name
    # ${...} inside a list is substituted, so the schema accepts it there too
    data = tomllib.loads(EXAMPLE.read_text())
    data["layers"].insert(0, {"type": "zero_pad2d", "padding": [["${1}", 1], [1, 1]]})
    assert list(validator.iter_errors(data)) == []
    data["layers"][0]["padding"] = [["one", 1], [1, 1]]
    assert list(validator.iter_errors(data))
    # and inside a layer's tables, but not outside the layers ([model] is literal)
    data["layers"][0]["padding"] = 1
    data["layers"].insert(
        1,
        {
            "type": "conv2d",
            "filters": 2,
            "kernel": 1,
            "kernel_init": {"type": "variance_scaling", "scale": "${1 / 3}"},
        },
    )
    assert list(validator.iter_errors(data)) == []
    data["layers"][1]["kernel_init"]["scale"] = "third"
    assert list(validator.iter_errors(data))
    data["layers"][1]["kernel_init"]["scale"] = 0.5
    data["model"]["input"] = "${size}"
    assert list(validator.iter_errors(data))
    data = tomllib.loads(EXAMPLE.read_text())
    data["blocks"]["basic"]["arg"] = []
    assert list(validator.iter_errors(data))
    data = tomllib.loads(EXAMPLE.read_text())
    data["layers"][0]["filters"] = "sixteen"  # neither an int nor ${...}
    assert list(validator.iter_errors(data))


# -- diff at the block level --------------------------------------------------------


def test_diff_reports_block_instances_and_layers():
    from modelspec.diffing import diff_reports

    a = check_file(EXAMPLE)
    b = check_file(EXAMPLE, ["layers.conv4.blocks=3", "vars.widths=[16, 48, 64]"])
    c = check_text(
        EXAMPLE.read_text().replace(
            '  { use = "stage", name = "conv2"', '  { use = "stage", name = "conv2x"'
        )
    )
    d = diff_reports(a, b)
    rows = {x.name: x for x in d.blocks}
    assert [x.name for x in d.blocks] == ["conv2", "conv3", "conv4"]
    assert rows["conv2"].status == "unchanged"
    assert rows["conv3"].status == "changed"
    assert rows["conv3"].shape_a == (16, 16, 32) and rows["conv3"].shape_b == (
        16,
        16,
        48,
    )
    assert (rows["conv4"].layers_a, rows["conv4"].layers_b) == (16, 23)
    assert rows["conv4"].params_b == sum(
        li.params for li in b.layers if li.block and li.block[0] == "conv4"
    )
    assert d.to_json()["blocks"][2]["layers_b"] == 23
    # a renamed instance is one removed and one added, at its place
    renamed = diff_reports(a, c).blocks
    assert [(x.status, x.name) for x in renamed][:2] == [
        ("removed", "conv2"),
        ("added", "conv2x"),
    ]
    # layer level: the added block of conv4 is listed layer by layer
    added = {x.name_b for x in d.layers if x.status == "added"}
    assert "conv4_block3_2_conv" in added
    plain = check_file(ROOT / "specs" / "mnist_lenet.toml")
    assert diff_reports(plain, plain).blocks == []
    assert "blocks" not in diff_reports(plain, plain).to_json()


# -- graph: block instances as clusters ------------------------------------------


def test_graph_draws_block_instances_as_nested_clusters():
    import re

    from modelspec.drawing import render

    r = check_file(EXAMPLE)
    mermaid = render(r, "mermaid")
    opened = re.findall(r'^    subgraph (\w+)\["([^"]+)"\]$', mermaid, re.M)
    assert [label for _, label in opened][:3] == [
        "conv2 · stage",
        "conv2_block1 · basic",
        "conv2_block2 · basic",
    ]
    assert len(opened) == 3 + 6 == len(re.findall(r"^    end$", mermaid, re.M))
    # every layer of conv3_block1 sits between its subgraph line and its end
    body = mermaid.split('["conv3_block1 · basic"]', 1)[1].split("    end", 1)[0]
    inside = set(re.findall(r"<b>([^<]+)</b>", body))
    assert inside == {
        li.name for li in r.layers if li.block == ["conv3", "conv3_block1"]
    }
    svg = render(r, "svg")
    frames = re.findall(r'<rect class="cluster" id="block-(\w+)"', svg)
    assert frames[:3] == ["conv2", "conv2_block1", "conv2_block2"]
    assert len(frames) == 9
    html = render(r, "html")
    assert "<h2>Blocks</h2>" in html
    conv4 = sum(li.params for li in r.layers if li.block and li.block[0] == "conv4")
    assert f"<b>conv4 · stage</b> → (8, 8, 64), {conv4:,} params, 16 layers" in html
    plain = check_file(ROOT / "specs" / "cifar10_resnet.toml")
    assert "subgraph" not in render(plain, "mermaid")
    assert 'class="cluster"' not in render(plain, "svg")
    assert "<h2>Blocks</h2>" not in render(plain, "html")
