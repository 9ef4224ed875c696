"""`modelspec graph`: layout, SVG/PNG/HTML/Mermaid output, the CLI command."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from modelspec.check import check_file, check_text
from modelspec.cli.view import register
from modelspec.drawing import build_graph, build_scene, render
from modelspec.drawing.layout import (
    assign_layers,
    count_crossings,
    layout,
    order_layers,
    overlaps,
)
from modelspec.drawing.model import format_shape
from modelspec.drawing.scene import ERROR
from modelspec.errors import UsageError
from report_fixtures import broken_report, make_report, resnet_report

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.toml")) + sorted(
    (ROOT / "specs" / "broken").glob("*.toml")
)
SVG_NS = "{http://www.w3.org/2000/svg}"

app = typer.Typer()
register(app)
runner = CliRunner()


def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg.encode("utf-8"))
    return ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]


def node_group(svg: str, name: str):
    """The <g> of the layer box whose title line starts with `name`."""
    root = ET.fromstring(svg.encode("utf-8"))
    for g in root.iter(f"{SVG_NS}g"):
        if "node" in (g.get("class") or "").split():
            first = g.find(f"{SVG_NS}text")
            if first is not None and "".join(first.itertext()).split()[0] == name:
                return g
    raise AssertionError(f"no box for {name}")


def test_specs_exist():
    assert len(SPECS) >= 10


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_every_spec_draws_valid_svg_with_names_and_shapes(path):
    report = check_file(path)
    svg = render(report, "svg")
    texts = "\n".join(svg_texts(svg))  # also proves the SVG is well-formed XML
    for node in report.nodes:
        assert node.name in texts
    for li in report.layers:
        assert format_shape(li.output_shape) in texts
    assert f"{report.total_params:,}" in texts
    lay = build_scene(build_graph(report)).layout
    assert overlaps(lay) == []


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_every_spec_draws_mermaid_with_every_node_and_edge(path):
    report = check_file(path)
    text = render(report, "mermaid")
    assert text.startswith("flowchart TD\n")
    ids = dict(re.findall(r"^    (m_\w+)[\[(]+\"<b>([^<]+)</b>", text, re.M))
    names = set(ids.values())
    assert {n.name for n in report.nodes} <= names
    assert "input" in names
    edges = set(re.findall(r"^    (m_\w+) [-=.]+> (m_\w+)$", text, re.M))
    expected = sum(len(n.inputs) for n in report.nodes)
    assert len(edges) == expected
    by_name = {v: k for k, v in ids.items()}
    for pos, node in enumerate(report.nodes):
        for src in node.inputs:
            if src in by_name and list(ids.values()).count(src) == 1:
                assert (by_name[src], f"m_n{pos}") in edges


def test_broken_spec_errors_are_red_with_the_message():
    report = check_file(ROOT / "specs" / "broken" / "cifar10_seed000_as_written.toml")
    assert not report.ok
    svg = render(report, "svg")
    dead = next(d for d in report.errors if d.code == "MS205")
    g = node_group(svg, dead.layer)
    rect = g.find(f"{SVG_NS}rect")
    assert rect.get("stroke") == ERROR
    tooltip = g.find(f"{SVG_NS}title").text
    for d in report.errors:
        if d.layer == dead.layer:
            assert d.message in tooltip
    ok_layer = next(n.name for n in report.nodes if n.name != dead.layer)
    assert node_group(svg, ok_layer).find(f"{SVG_NS}rect").get("stroke") != ERROR


def test_hand_built_broken_report_ghost_and_spec_level_messages():
    report = broken_report()
    svg = render(report, "svg")
    texts = svg_texts(svg)
    assert "pool9" in " ".join(texts)  # the unknown reference gets its own box
    assert node_group(svg, "pool9").find(f"{SVG_NS}rect").get("stroke") == ERROR
    assert node_group(svg, "cat").find(f"{SVG_NS}rect").get("stroke") == ERROR
    assert any("MS303" in t for t in texts)  # a spec-level warning, in the footer
    assert "&amp; &lt;x&gt;" in svg  # the message's '& <x>' is escaped


def test_names_that_need_escaping_stay_valid_xml():
    rows = [({"type": "dense", "name": 'a&b<"c">', "units": 3}, None, None)]
    report = make_report("x<y & z", (4,), rows)
    svg = render(report, "svg")
    texts = " ".join(svg_texts(svg))
    assert 'a&b<"c">' in texts and "x<y & z" in texts
    html = render(report, "html")
    assert "a&amp;b&lt;&quot;c&quot;&gt;" in html or "a&amp;b&lt;" in html
    mer = render(report, "mermaid")
    assert '"c"' not in mer and "#quot;c#quot;" in mer


def test_skip_and_merge_edges_are_coloured_and_curved():
    svg = render(resnet_report(), "svg")
    root = ET.fromstring(svg.encode())
    adds = [
        p for p in root.iter(f"{SVG_NS}path") if "edge-add" in (p.get("class") or "")
    ]
    assert len(adds) == 4  # two residual blocks, two inputs each
    normal = next(
        p for p in root.iter(f"{SVG_NS}path") if "edge-normal" in (p.get("class") or "")
    )
    assert {p.get("stroke") for p in adds} != {normal.get("stroke")}
    skips = [p for p in adds if "skips" in p.find(f"{SVG_NS}title").text]
    assert len(skips) == 2 and all(" C" in p.get("d") for p in skips)


def test_main_chain_is_straight_and_skip_goes_round():
    lay = build_scene(build_graph(resnet_report())).layout
    xs = {round(b.x) for b in lay.boxes.values()}
    assert len(xs) == 1  # every box in one column
    skip = next(r for r in lay.routes if r.span > 2)
    box_right = max(b.x + b.w / 2 for b in lay.boxes.values())
    assert max(x for x, _ in skip.points) > box_right  # beside the boxes


def test_assign_layers_longest_path_and_ghost_beside_reader():
    order = ["input", "a", "b", "c", "ghost", "d"]
    edges = [
        ("input", "a"),
        ("a", "b"),
        ("b", "c"),
        ("a", "d"),
        ("c", "d"),
        ("ghost", "d"),
    ]
    layers = assign_layers(order, edges)
    assert layers == {"input": 0, "a": 1, "b": 2, "c": 3, "ghost": 3, "d": 4}


def test_barycentre_ordering_removes_a_crossing():
    layers = [["a", "b"], ["y", "x"]]
    succs = {"a": ["x"], "b": ["y"]}
    preds = {"x": ["a"], "y": ["b"]}
    assert count_crossings(layers, succs) == 1
    ordered = order_layers(layers, preds, succs)
    assert count_crossings(ordered, succs) == 0


def test_layout_of_a_wide_fan_has_no_overlaps():
    order = ["input"] + [f"b{i}" for i in range(6)] + ["cat"]
    edges = [("input", f"b{i}") for i in range(6)] + [
        (f"b{i}", "cat") for i in range(6)
    ]
    sizes = {n: (120.0, 40.0 + 10 * (i % 3)) for i, n in enumerate(order)}
    lay = layout(order, sizes, edges)
    assert overlaps(lay) == []
    assert len({b.layer for b in lay.boxes.values()}) == 3
    assert lay.width >= 6 * 120


def test_png_is_a_real_picture():
    from PIL import Image

    data = render(resnet_report(), "png")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(io.BytesIO(data)).convert("L")
    scene = build_scene(build_graph(resnet_report()))
    assert img.size == (int(scene.width * 2), int(scene.height * 2))
    dark = sum(img.histogram()[:200])
    assert dark > 5000  # text, boxes and edges, not a blank page


def test_html_embeds_the_svg_and_lists_diagnostics():
    html = render(broken_report(), "html")
    assert html.startswith("<!DOCTYPE html>")
    assert "<svg" in html and "</svg>" in html
    assert "MS206" in html and "MS303" in html


def test_unknown_format_is_a_usage_error():
    with pytest.raises(UsageError):
        render(resnet_report(), "gif")


def test_minimal_and_invalid_specs_still_draw():
    for text in (
        "[model]\nname='x'\ninput=[4]\n[[layers]]\ntype='dense'\nunits=2\n",
        "[model]\nname='x'\ninput=[4]\n[[layers]]\ntype='dense'\n",
        "[model\n",
        "[[layers]]\ntype='nope'\n",
    ):
        report = check_text(text)
        for fmt in ("svg", "mermaid", "html"):
            out = render(report, fmt)
            assert isinstance(out, str) and out
        ET.fromstring(render(report, "svg").encode())


# --- the command ---------------------------------------------------------------


def test_cli_graph_writes_svg_beside_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["graph", str(ROOT / "specs" / "mnist_lenet.toml")])
    assert result.exit_code == 0, result.output
    out = tmp_path / "mnist_lenet.svg"
    assert "wrote mnist_lenet.svg" in result.stdout
    ET.parse(out)


@pytest.mark.parametrize(
    "suffix,magic", [(".png", b"\x89PNG"), (".html", b"<!DOC"), (".svg", b"<?xml")]
)
def test_cli_graph_format_from_suffix(tmp_path, suffix, magic):
    out = tmp_path / f"g{suffix}"
    result = runner.invoke(
        app, ["graph", str(ROOT / "specs" / "cifar10_resnet.toml"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(magic)


def test_cli_graph_mermaid_to_stdout_and_set_override():
    result = runner.invoke(
        app,
        [
            "graph",
            str(ROOT / "specs" / "mnist_lenet.toml"),
            "--format",
            "mermaid",
            "--set",
            "layers.dropout.rate=0.3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("flowchart TD")
    assert "rate 0.3" in result.stdout and "rate 0.5" not in result.stdout


def test_cli_graph_broken_spec_writes_then_exits_1(tmp_path):
    spec = ROOT / "specs" / "broken" / "cifar10_conv4_dead.toml"
    out = tmp_path / "dead.svg"
    result = runner.invoke(app, ["graph", str(spec), "-o", str(out)])
    assert result.exit_code == 1
    assert "MS205" in result.stderr
    assert "conv4" in " ".join(svg_texts(out.read_text()))


def test_cli_graph_usage_errors_exit_2(tmp_path):
    missing = runner.invoke(app, ["graph", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2 and "error: no such file" in missing.stderr
    spec = str(ROOT / "specs" / "mnist_lenet.toml")
    bad_suffix = runner.invoke(app, ["graph", spec, "-o", str(tmp_path / "g.jpg")])
    assert bad_suffix.exit_code == 2 and "hint:" in bad_suffix.stderr
    bad_fmt = runner.invoke(app, ["graph", spec, "--format", "gif"])
    assert bad_fmt.exit_code == 2
    assert not (tmp_path / "g.jpg").exists()


def test_graph_and_diff_load_no_framework():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from modelspec.check import check_file\n"
        "from modelspec.drawing import render\n"
        "from modelspec.diffing import diff_reports\n"
        "import modelspec.cli.view\n"
        "r = check_file('specs/cifar10_resnet.toml')\n"
        "for fmt in ('svg', 'png', 'html', 'mermaid'):\n"
        "    render(r, fmt)\n"
        "diff_reports(r, check_file('specs/cifar10_tutorial.toml'))\n"
        "bad = {'tensorflow', 'keras', 'onnx', 'onnxruntime', 'tf2onnx'}\n"
        "print(sorted(bad & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
