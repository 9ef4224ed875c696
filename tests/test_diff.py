"""`modelspec diff`: alignment, classification, totals, goldens, the command.

Goldens live in tests/golden/diff/; to change one, follow the review procedure
in tests/golden/README.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from helpers import spec_text
from modelspec.check import check_file, check_text
from modelspec.cli.view import register
from modelspec.diffing import diff_reports
from report_fixtures import make_report, resnet_report

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "diff"

app = typer.Typer()
register(app)
runner = CliRunner()

GOLDEN_CASES = {
    "mnist_lenet__mnist_mod": ("specs/mnist_lenet.toml", "specs/mnist_mod.toml"),
    "cifar10_tutorial__cifar10_mod": (
        "specs/cifar10_tutorial.toml",
        "specs/cifar10_mod.toml",
    ),
}


def _diff_text(layers_a, layers_b, **kw):
    a = check_text(spec_text(layers_a, **kw), "a.toml")
    b = check_text(spec_text(layers_b, **kw), "b.toml")
    return diff_reports(a, b)


def _by_status(d):
    out = {}
    for row in d.layers:
        out.setdefault(row.status, []).append(row.name)
    return out


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_golden_text(case, monkeypatch):
    monkeypatch.chdir(ROOT)  # the table title shows the paths as given
    a, b = GOLDEN_CASES[case]
    result = runner.invoke(app, ["diff", a, b])
    assert result.exit_code == 0, result.output
    text = "\n".join(line.rstrip() for line in result.stdout.splitlines()) + "\n"
    path = GOLDEN / f"{case}.txt"
    if os.environ.get("MODELSPEC_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
    # Held to the checker's totals too, in update mode as well.
    totals = [check_file(ROOT / spec).total_params for spec in (a, b)]
    head = f"params {totals[0]:,} → {totals[1]:,} ("
    assert [line for line in text.splitlines() if line.startswith(head)], head


def test_mnist_mod_reads_as_pooling_removed_convs_added():
    d = diff_reports(
        check_file(ROOT / "specs/mnist_lenet.toml"),
        check_file(ROOT / "specs/mnist_mod.toml"),
    )
    st = _by_status(d)
    assert st["removed"] == ["pool1", "pool2"]
    assert st["added"] == ["conv3", "conv4"]
    conv2 = next(r for r in d.layers if r.name_b == "conv2")
    assert conv2.status == "changed"
    assert ("filters", 64, 32) in [(c.key, c.a, c.b) for c in conv2.changes]
    assert conv2.shape_a == (14, 14, 64) and conv2.shape_b == (28, 28, 32)
    flat = next(r for r in d.layers if r.type_b == "flatten")
    assert (flat.name_a, flat.name_b) == ("flatten", "conv4_flat")  # renamed
    assert d.params_a == 3274634 and d.params_b == 25779114
    assert d.params_delta == 25779114 - 3274634
    assert sum(r.params_delta or 0 for r in d.layers) == d.params_delta


def test_cifar_mod_adds_conv4_and_nothing_else():
    d = diff_reports(
        check_file(ROOT / "specs/cifar10_tutorial.toml"),
        check_file(ROOT / "specs/cifar10_mod.toml"),
    )
    st = _by_status(d)
    assert st["added"] == ["conv4"]
    assert "removed" not in st and "changed" not in st
    assert [r.name for r in d.layers][:3] == ["conv1", "conv4", "pool1"]
    assert d.params_delta == 5 * 5 * 64 * 64 + 64


def test_identical_specs_are_all_unchanged():
    r = resnet_report()
    d = diff_reports(r, r)
    assert d.identical and d.params_delta == 0
    assert len(d.layers) == len(r.nodes)


def test_equal_meanings_compare_equal():
    conv = {"type": "conv2d", "name": "c", "filters": 4, "kernel": 3}
    conv2 = dict(conv, kernel=[3, 3], strides=1)
    pool = {"type": "max_pool2d", "name": "p", "pool": 2}
    pool2 = dict(pool, strides=2)
    d = _diff_text(
        [conv, pool, {"type": "flatten"}], [conv2, pool2, {"type": "flatten"}]
    )
    assert d.identical


def test_unnamed_layers_align_by_type_and_position():
    a = [
        {"type": "conv2d", "filters": 4, "kernel": 3},
        {"type": "flatten"},
        {"type": "dense", "units": 10},
    ]
    b = [
        {"type": "conv2d", "filters": 4, "kernel": 3},
        {"type": "conv2d", "filters": 8, "kernel": 3},
        {"type": "flatten"},
        {"type": "dense", "units": 10},
    ]
    d = _diff_text(a, b)
    assert [r.status for r in d.layers] == ["unchanged", "added", "changed", "changed"]
    assert d.layers[1].name == "conv2d_2"
    assert d.layers[2].shape_a == (26 * 26 * 4,)
    assert d.layers[2].shape_b == (24 * 24 * 8,)


def test_type_change_under_the_same_name():
    a = [{"type": "max_pool2d", "name": "down"}, {"type": "flatten"}]
    b = [{"type": "avg_pool2d", "name": "down"}, {"type": "flatten"}]
    d = _diff_text(a, b, input=(8, 8, 1))
    row = d.layers[0]
    assert row.status == "changed" and (row.type_a, row.type_b) == (
        "max_pool2d",
        "avg_pool2d",
    )
    assert ("type", "max_pool2d", "avg_pool2d") in [
        (c.key, c.a, c.b) for c in row.changes
    ]


def test_explicit_inputs_change_is_reported():
    base = [
        {"type": "conv2d", "name": "c1", "filters": 2, "kernel": 1},
        {"type": "conv2d", "name": "c2", "filters": 2, "kernel": 1},
    ]
    a = base + [{"type": "add", "name": "s", "inputs": ["c1", "c2"]}]
    b = base + [{"type": "add", "name": "s", "inputs": ["input", "c2"]}]
    d = _diff_text(a, b, input=(4, 4, 2))
    row = next(r for r in d.layers if r.name == "s")
    assert row.status == "changed"
    assert [c.key for c in row.changes] == ["inputs"]


def test_moved_layer_is_matched_by_name():
    def rows(order):
        return [({"type": "dense", "name": n, "units": 2}, (2,), 6) for n in order]

    a = make_report("a", (2,), rows(["x", "y", "z"]))
    b = make_report("b", (2,), rows(["z", "x", "y"]))
    d = diff_reports(a, b)
    assert {r.name for r in d.layers} == {"x", "y", "z"}
    assert all(r.status != "added" and r.status != "removed" for r in d.layers)


def test_broken_spec_still_diffs():
    a = check_file(ROOT / "specs/cifar10_tutorial.toml")
    b = check_file(ROOT / "specs/broken/cifar10_conv4_dead.toml")
    assert not b.ok
    d = diff_reports(a, b)
    assert d.errors_b >= 1
    assert "conv4" in [r.name for r in d.layers if r.status == "added"]


def test_cli_json(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = runner.invoke(
        app,
        ["diff", "specs/mnist_lenet.toml", "specs/mnist_mod.toml", "--format", "json"],
    )
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["counts"] == {"unchanged": 0, "changed": 6, "added": 2, "removed": 2}
    assert data["totals"] == {
        "params_a": 3274634,
        "params_b": 25779114,
        "delta": 22504480,
    }
    conv3 = next(r for r in data["layers"] if r["name_b"] == "conv3")
    assert conv3["status"] == "added" and conv3["shape_b"] == [28, 28, 32]


def test_cli_exit_codes(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    same = runner.invoke(
        app, ["diff", "specs/mnist_lenet.toml", "specs/mnist_lenet.toml"]
    )
    assert same.exit_code == 0 and "0 added, 0 removed, 0 changed" in same.stdout
    missing = runner.invoke(
        app, ["diff", "specs/mnist_lenet.toml", str(tmp_path / "nope.toml")]
    )
    assert missing.exit_code == 2 and "error: no such file" in missing.stderr
    bad = runner.invoke(
        app,
        ["diff", "specs/mnist_lenet.toml", "specs/mnist_mod.toml", "--format", "xml"],
    )
    assert bad.exit_code == 2
    broken = runner.invoke(
        app,
        ["diff", "specs/cifar10_tutorial.toml", "specs/broken/cifar10_conv4_dead.toml"],
    )
    assert broken.exit_code == 0
    assert "has 1 error" in broken.stderr and "conv4" in broken.stdout
