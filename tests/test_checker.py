"""The checker's passes: positions, validation, graph, lints, CLI contract."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from modelspec.check import check_file, check_text
from modelspec.diagnostics import CODES
from modelspec.overrides import apply_overrides
from modelspec.source import scan_positions
from tests.helpers import codes, spec_text

ROOT = Path(__file__).resolve().parents[1]


def test_positions_cover_tables_arrays_and_inline_tables():
    text = (
        "[model]\nname = 'x'\ninput = [8, 8, 1]\n\n[[layers]]\ntype = 'conv2d'\n"
        "[[layers]]\n  type = 'dense'\n  units = 3\n"
        "[train]\noptimizer = { type = 'adam', learning_rate = 0.5 }\n"
    )
    pos = scan_positions(text)
    assert pos.find(("model", "input")) == (3, 1)
    assert pos.find(("layers", 1)) == (7, 1)
    assert pos.find(("layers", 1, "units")) == (9, 3)
    assert pos.find(("train", "optimizer", "learning_rate")) == (11, 30)
    assert pos.find(("layers", 1, "nonexistent")) == (7, 1)


def test_unknown_key_suggests_the_close_one_on_its_line():
    text = spec_text([{"type": "conv2d", "filtres": 3, "kernel": 3}])
    r = check_text(text)
    d = next(d for d in r.diagnostics if d.code == "MS101")
    assert d.line == text.splitlines().index("filtres = 3") + 1
    assert d.hint == "did you mean 'filters'?"
    assert d.layer == "conv2d_1" and d.index == 0


def test_all_problems_are_reported_in_one_run():
    layers = [
        {"type": "conv2d", "filters": -1, "kernel": 3},
        {"type": "dense", "units": 10, "activation": "rellu"},
        {"type": "pool"},
    ]
    r = check_text(spec_text(layers))
    assert codes(r).count("MS103") == 2 and "MS104" in codes(r)
    assert [d.line for d in r.diagnostics] == sorted(d.line for d in r.diagnostics)


def test_strings_are_not_numbers():
    r = check_text(spec_text([{"type": "conv2d", "filters": 3, "kernel": "5"}]))
    assert codes(r) == ["MS103"] and 'kernel = "5"' in r.diagnostics[0].message


def test_toml_syntax_error_has_line_and_column():
    r = check_text("[model]\nname = \n")
    (d,) = r.diagnostics
    assert (d.code, d.line, d.column) == ("MS100", 2, 8)


def test_missing_tables():
    assert codes(check_text("")) == ["MS102", "MS102"]


def test_dead_layer_points_at_its_header_and_suggests_the_fix():
    layers = [
        {
            "type": "conv2d",
            "name": "conv1",
            "filters": 4,
            "kernel": 3,
            "padding": "same",
        },
        {
            "type": "conv2d",
            "name": "conv4",
            "filters": 4,
            "kernel": 3,
            "padding": "same",
        },
        {"type": "max_pool2d", "name": "pool1", "inputs": ["conv1"]},
        {"type": "flatten"},
    ]
    text = spec_text(layers)
    r = check_text(text)
    (d,) = r.errors
    assert d.code == "MS205" and d.layer == "conv4"
    header_lines = [i + 1 for i, x in enumerate(text.splitlines()) if x == "[[layers]]"]
    assert d.line == header_lines[1]
    assert 'inputs = ["conv4"]' in d.hint


def test_chain_of_dead_layers_is_all_reported():
    layers = [
        {"type": "dense", "name": "a", "units": 3},
        {"type": "dense", "name": "b", "units": 3},
        {"type": "dense", "name": "out", "units": 2, "inputs": ["input"]},
    ]
    r = check_text(spec_text(layers, input=(4,)))
    assert [(d.code, d.layer) for d in r.errors] == [("MS205", "a"), ("MS205", "b")]


@pytest.mark.parametrize(
    "layers,code",
    [
        (
            [
                {"type": "dense", "name": "a", "units": 2},
                {"type": "dense", "name": "a", "units": 2},
            ],
            "MS201",
        ),
        ([{"type": "dense", "units": 2, "inputs": ["nope"]}], "MS202"),
        (
            [
                {"type": "dense", "units": 2, "inputs": ["later"]},
                {"type": "dense", "name": "later", "units": 2},
            ],
            "MS203",
        ),
        ([{"type": "dense", "name": "x", "units": 2, "inputs": ["x"]}], "MS203"),
        (
            [
                {"type": "dense", "name": "a", "units": 2},
                {"type": "dense", "name": "b", "units": 3, "inputs": ["input"]},
                {"type": "add", "inputs": ["a", "b"]},
            ],
            "MS208",
        ),
        (
            [
                {"type": "dense", "name": "a", "units": 2},
                {"type": "concat", "inputs": ["a", "input"], "axis": 3},
            ],
            "MS214",
        ),
    ],
)
def test_graph_and_merge_errors(layers, code):
    assert code in codes(check_text(spec_text(layers, input=(4,))))


def test_classes_mismatch_explains_missing_flatten():
    layers = [
        {"type": "conv2d", "filters": 8, "kernel": 3},
        {"type": "dense", "units": 10},
    ]
    r = check_text(spec_text(layers, input=(32, 32, 3), classes=10))
    d = next(d for d in r.diagnostics if d.code == "MS212")
    assert "(30, 30, 10)" in d.message and "flatten" in d.hint
    assert "MS306" in codes(r)


@pytest.mark.parametrize(
    "after, warns",
    [
        # the dense output goes on as a map: position-wise by design (ConvNeXt)
        (
            [
                {"type": "conv2d", "filters": 4, "kernel": 3, "padding": "same"},
                {"type": "global_avg_pool2d"},
            ],
            False,
        ),
        ([{"type": "add", "inputs": ["c", "d"]}, {"type": "global_max_pool2d"}], False),
        # only flatten/dense follow: the author meant the whole map
        ([{"type": "flatten"}, {"type": "dense", "units": 10}], True),
        (
            [
                {"type": "add", "inputs": ["c", "d"]},
                {"type": "flatten"},
                {"type": "dense", "units": 10},
            ],
            True,
        ),
    ],
)
def test_dense_on_a_map_warns_unless_a_spatial_layer_reads_it(after, warns):
    layers = [
        {"type": "conv2d", "name": "c", "filters": 8, "kernel": 3, "padding": "same"},
        {"type": "dense", "name": "d", "units": 8},
        *after,
    ]
    r = check_text(spec_text(layers, input=(8, 8, 3)))
    assert ("MS306" in codes(r)) is warns, codes(r)


def test_relu_logits_through_global_pool_is_a_warning():
    layers = [
        {"type": "conv2d", "filters": 10, "kernel": 1, "activation": "relu"},
        {"type": "global_avg_pool2d"},
    ]
    r = check_text(spec_text(layers, input=(8, 8, 3), classes=10))
    assert r.ok and codes(r) == ["MS301"]


def test_from_logits_false_with_logits_is_an_error():
    text = spec_text([{"type": "dense", "units": 3}], input=(4,))
    text += "\n[train]\nfrom_logits = false\n"
    r = check_text(text)
    assert codes(r) == ["MS302"] and r.diagnostics[0].line == text.count("\n")


def test_overrides_by_index_and_name():
    raw = {"layers": [{"name": "conv1", "filters": 3}], "train": {}}
    out = apply_overrides(
        raw,
        [
            "layers.conv1.filters=8",
            "train.optimizer.type=sgd",
            "layers.0.kernel=[3, 3]",
        ],
    )
    assert out["layers"][0] == {"name": "conv1", "filters": 8, "kernel": [3, 3]}
    assert out["train"]["optimizer"] == {"type": "sgd"}
    assert raw["layers"][0]["filters"] == 3  # the original is untouched


def run_cli(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "modelspec", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        **kw,
    )


def test_cli_json_contract_and_exit_codes(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        spec_text([{"type": "reshape", "shape": [3136]}], input=(28, 28, 32))
    )
    p = run_cli("check", "--format", "json", str(bad))
    assert p.returncode == 1
    out = json.loads(p.stdout)
    assert out["ok"] is False and out["file"] == str(bad)
    (d,) = out["diagnostics"]
    assert set(d) >= {
        "code",
        "severity",
        "line",
        "column",
        "layer",
        "index",
        "message",
        "hint",
    }
    assert (d["code"], d["line"], d["layer"]) == ("MS204", 7, "reshape_1")
    assert run_cli("check", str(tmp_path / "missing.toml")).returncode == 2
    good = tmp_path / "good.toml"
    good.write_text(spec_text([{"type": "flatten"}], input=(2, 2, 1)))
    p = run_cli("check", "--format", "json", str(good))
    assert p.returncode == 0
    assert json.loads(p.stdout)["layers"][0]["output_shape"] == [4]


def test_strict_turns_warnings_into_failure(tmp_path):
    f = tmp_path / "w.toml"
    f.write_text(spec_text([{"type": "dropout", "rate": 0.95}], input=(4,)))
    assert run_cli("check", "-q", str(f)).returncode == 0
    assert run_cli("check", "-q", "--strict", str(f)).returncode == 1


def test_check_never_loads_a_framework():
    code = (
        "import sys; from modelspec.cli import app; from modelspec.check import "
        "check_file\n"
        "r = check_file('specs/mnist_lenet.toml'); assert r.ok\n"
        "bad = [m for m in ('tensorflow', 'keras', 'tf2onnx', 'onnx', 'onnxruntime',"
        " 'backends', 'numpy') if m in sys.modules]\n"
        "print(bad)"
    )
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"


def test_committed_json_schema_is_current():
    from modelspec.schema import json_schema

    committed = json.loads((ROOT / "modelspec.schema.json").read_text())
    assert committed == json_schema(), "run: modelspec schema -o modelspec.schema.json"


def test_every_code_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for code, (severity, title) in CODES.items():
        assert f"| {code} | {severity} | {title} |" in readme, code


def test_union_tags_equal_shape_rules():
    from modelspec.schema import LAYER_TYPES
    from modelspec.shapes import RULES

    assert set(RULES) == set(LAYER_TYPES)


def test_every_schema_field_is_described():
    from modelspec.schema import LAYER_MODELS, TABLES

    for model in list(LAYER_MODELS.values()) + list(TABLES.values()):
        for name, f in model.model_fields.items():
            if name != "type":
                assert f.description, f"{model.__name__}.{name}"


def test_check_file_matches_spec_format_example():
    r = check_file(ROOT / "specs" / "mnist_lenet.toml")
    assert r.ok and r.total_params == 3274634
