"""`--fold` (issue 12 item 4): folding a flat layer list into blocks gives a
spec whose expansion is exactly the flat list, checked by the real checker on
every spec in specs/ and specs/zoo/, on random layer lists with repeated
patterns, and short enough for ResNet50 and DenseNet121. Framework-free."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import toml_value as value
from modelspec.blocks import expand
from modelspec.check import check_text
from modelspec.importer.fold import (
    MIN_LAYERS,
    _Folder,
    fold_layers,
    lines,
    same_expansion,
)
from modelspec.importer.fold_tree import MODES, normalize
from modelspec.source import parse

ROOT = Path(__file__).resolve().parents[1]
ZOO = sorted((ROOT / "specs" / "zoo").glob("*.toml"))
SPECS = sorted((ROOT / "specs").glob("*.toml"))


def write_spec(model: dict, blocks: dict, layers: list[dict]) -> str:
    """The spec as the importer writes it: one entry per line."""
    out = [f"model = {value(model)}", "layers = ["]
    out += [f"  {value(e)}," for e in layers] + ["]"]
    for name, block in blocks.items():
        out += ["", f"[blocks.{name}]"]
        out += [f"{k} = {value(v)}" for k, v in block.items() if k != "layers"]
        out += ["layers = ["] + [f"  {value(e)}," for e in block["layers"]] + ["]"]
    return "\n".join(out) + "\n"


def code_lines(text: str) -> int:
    return sum(
        1 for s in text.splitlines() if s.strip() and not s.strip().startswith("#")
    )


def flat_of(path: Path) -> tuple[dict, list[dict]]:
    raw, positions = parse(path.read_text())
    return raw["model"], expand(raw, positions).raw["layers"]


def expanded(text: str) -> list[dict]:
    raw, positions = parse(text)
    got = expand(raw, positions)
    assert [d.render() for d in got.diagnostics if d.is_error] == []
    return got.raw["layers"]


def canonical(layers: list[dict]) -> list[list]:
    return [sorted(layer.items()) for layer in normalize(layers)]


def checked(text: str) -> list[dict]:
    """What `check --expand --format json` says about each layer."""
    report = check_text(text)
    assert report.ok, [d.render() for d in report.diagnostics]
    keep = ("name", "type", "inputs", "output_shape", "params")
    return [{k: li.to_json()[k] for k in keep} for li in report.layers]


# -- every spec in the repository ---------------------------------------------------


@pytest.mark.parametrize("path", ZOO + SPECS, ids=lambda p: p.stem)
def test_fold_round_trip(path: Path) -> None:
    model, flat = flat_of(path)
    blocks, layers = fold_layers(flat)
    if not blocks:  # nothing repeats: the input comes back as it was
        assert layers is flat
        return
    text = write_spec(model, blocks, layers)
    assert canonical(expanded(text)) == canonical(flat)
    assert checked(text) == checked(write_spec(model, {}, flat))
    assert lines(blocks, layers) < len(flat)


@pytest.mark.parametrize("name", ["ResNet50", "DenseNet121"])
def test_fold_length_bound(name: str) -> None:
    path = ROOT / "specs" / "zoo" / f"{name}.toml"
    model, flat = flat_of(path)
    text = write_spec(model, *fold_layers(flat))
    assert code_lines(text) <= 2 * code_lines(path.read_text()), text
    assert code_lines(text) < code_lines(write_spec(model, {}, flat)) // 3


def test_fold_keeps_keras_names() -> None:
    model, flat = flat_of(ROOT / "specs" / "zoo" / "ResNet50.toml")
    blocks, layers = fold_layers(flat)
    assert [e["name"] for e in layers if "use" in e][:2] == [
        "conv2_block1",
        "conv2_block${i + 1}",
    ]
    names = [li["name"] for li in checked(write_spec(model, blocks, layers))]
    assert "conv3_block4_2_relu" in names and "conv2_block1_1_conv" in names


def test_nothing_to_fold_is_the_input() -> None:
    flat = [{"type": "dense", "units": 4}, {"type": "dense", "units": 2}]
    assert fold_layers(flat) == ({}, flat)
    assert fold_layers([]) == ({}, [])


# -- random layer lists with repeated patterns ---------------------------------------

KINDS = ["conv2d", "batch_norm", "activation", "dense", "dropout"]
WORDS = ["conv", "bn", "relu", "fc", "drop", "x", "1_conv", "2_bn", "out"]


@st.composite
def unit(draw) -> list[dict]:
    """One pattern: layers with local names, hyperparameters (some will vary
    between instances) and reads of earlier layers or the unit's input."""
    size = draw(st.integers(2, 6))
    words = draw(st.lists(st.sampled_from(WORDS), min_size=size, max_size=size))
    out = []
    for k, word in enumerate(words):
        layer = {"type": draw(st.sampled_from(KINDS)), "name": f"{word}{k}"}
        for key in draw(st.sets(st.sampled_from(["units", "rate", "kernel"]))):
            layer[key] = draw(st.sampled_from([1, 2, 3, 0.5, "same", [1, 3]]))
        if k and draw(st.integers(0, 3)) == 0:
            # -1: the unit's input, -2: the stem (outside), -3: the model input
            layer["merge"] = draw(st.integers(-3, k - 1))
        out.append(layer)
    return out


def instance(pattern: list[dict], prefix: str, before: str, vary: dict) -> list:
    """The pattern's layers named `<prefix><name>`, or `<name>_<number>` when
    the prefix is a number (Keras's own `conv2d_12`, NASNet's cells)."""
    out = []
    for k, p in enumerate(pattern):
        layer = {key: v for key, v in p.items() if key != "merge"}
        layer["name"] = (
            f"{p['name']}_{prefix}" if prefix.isdigit() else prefix + p["name"]
        )
        layer.update(vary.get(k, {}))
        if "merge" in p:
            outside = {-1: before, -2: "stem", -3: "input"}
            other = outside.get(p["merge"]) or out[p["merge"]]["name"]
            prev = out[-1]["name"] if out else before
            layer["type"], layer["inputs"] = "add", [other, prev]
        out.append(layer)
    return out


@st.composite
def flat_models(draw) -> list[dict]:
    """Stages of repeated units (names `s1_b2_conv`, `s1b2_conv`, `stage1_2_conv`
    or `conv_7`), a varying value per stage, plain layers between."""
    style = draw(st.sampled_from(["s{s}_b{b}_", "s{s}b{b}_", "stage{s}_{b}_", "{n}"]))
    pattern = draw(unit())
    layers = [{"type": "conv2d", "name": "stem", "filters": 8}]
    for s in range(1, draw(st.integers(1, 4)) + 1):
        width = draw(st.sampled_from([4, 8, 16]))
        for b in range(1, draw(st.integers(1, 5)) + 1):
            prefix = style.format(s=s, b=b, n=len(layers))
            vary = {0: {"width": width}} if draw(st.booleans()) else {}
            if draw(st.booleans()):  # a multiple of it: `${4 * width}`
                vary[len(pattern) - 1] = {"units": 4 * width}
            layers += instance(pattern, prefix, layers[-1]["name"], vary)
        if draw(st.booleans()):
            layers.append({"type": "dropout", "name": f"mid{s}", "rate": 0.1})
    return layers


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flat_models())
def test_fold_expands_to_the_flat_list(flat: list[dict]) -> None:
    for mode in MODES:  # the algorithm itself, without the safety net
        raw_blocks, raw_layers = _Folder(normalize(flat), mode).run()
        if raw_blocks:
            assert same_expansion(raw_blocks, raw_layers, flat), json.dumps(
                [mode, raw_blocks, raw_layers], indent=1
            )
    blocks, layers = fold_layers(flat)
    text = write_spec({"name": "t", "input": [8, 8, 3]}, blocks, layers)
    assert canonical(expanded(text)) == canonical(flat)
    assert lines(blocks, layers) <= len(flat)


@settings(max_examples=50, deadline=None)
@given(unit(), st.integers(3, 8))
def test_fold_finds_a_repeat(pattern: list[dict], n: int) -> None:
    # `pre`: the first unit reads it, so every unit reads `stem` (if at all)
    # as an outside layer, not as the layer before it
    flat = [
        {"type": "dense", "name": "stem", "units": 2},
        {"type": "dense", "name": "pre", "units": 2},
    ]
    for b in range(1, n + 1):
        flat += instance(pattern, f"unit{b}_", flat[-1]["name"], {})
    blocks, layers = fold_layers(flat)
    size = len(pattern)
    if size < MIN_LAYERS or (n - 1) * size <= n + 3:  # not worth a block
        assert blocks == {} and layers is flat
        return
    assert len(blocks) == 1 and len(layers) == 3, (blocks, layers)
    assert layers[2]["repeat"] == n and layers[2]["name"] == "unit${i}"
    assert canonical(expanded(write_spec({"name": "t"}, blocks, layers))) == (
        canonical(flat)
    )


def numbered(first: int, last: int) -> list[dict]:
    out = []
    for k in range(first, last + 1):
        out += [
            {"type": "dense", "name": f"c_{k}", "units": 4},
            {"type": "dropout", "name": f"d_{k}", "rate": 0.1},
            {"type": "dense", "name": f"e_{k}", "units": 5},
        ]
    return out


def test_numbered_names_fold_with_argument_n() -> None:
    flat = [{"type": "dense", "name": "conv_1", "units": 3}, *numbered(2, 6)]
    flat.append({"type": "add", "name": "end", "inputs": ["conv_1", "e_6"]})
    blocks, layers = fold_layers(flat)
    assert [e["name"] for e in blocks["c"]["layers"]] == ["c_${n}", "d_${n}", "e_${n}"]
    # `c_2` is a layer: the instances get other names, or reading c_2 would
    # read an instance
    assert layers[1]["name"] == "c_use_${i + 1}" and layers[1]["n"] == "${i + 1}"
    assert canonical(expanded(write_spec({"name": "t"}, blocks, layers))) == (
        canonical(flat)
    )


def test_duplicate_names_are_left_alone() -> None:
    flat = numbered(1, 6)
    flat[4]["name"] = flat[1]["name"]
    assert fold_layers(flat) == ({}, flat)


@st.composite
def any_flat(draw) -> list[dict]:
    """Arbitrary flat lists: names from `_`-joined tokens and numbers, reads of
    any earlier layer, the model input, or a name that does not exist."""
    token = st.sampled_from(["a", "b", "c1", "1", "2", "x2a", "0"])
    names = draw(
        st.lists(
            st.lists(token, min_size=1, max_size=4).map("_".join),
            min_size=1,
            max_size=30,
            unique=True,
        )
    )
    out: list[dict] = []
    for name in names:
        layer = {"type": draw(st.sampled_from(KINDS)), "name": name}
        if draw(st.booleans()):
            layer["units"] = draw(st.sampled_from([1, 2, 4, 8]))
        pool = [e["name"] for e in out] + ["input", "nowhere"]
        if draw(st.integers(0, 2)) == 0:
            k = draw(st.integers(1, 3))
            layer["inputs"] = draw(st.lists(st.sampled_from(pool), min_size=k))
        out.append(layer)
    return out


@settings(max_examples=200, deadline=None)
@given(any_flat())
def test_fold_on_arbitrary_lists(flat: list[dict]) -> None:
    blocks, layers = fold_layers(flat)
    if not blocks:
        assert layers is flat
        return
    text = write_spec({"name": "t", "input": [4]}, blocks, layers)
    assert canonical(expanded(text)) == canonical(flat)


def test_names_starting_with_a_number_use_a_prefix() -> None:
    flat = []
    for unit in ["1", "2", "4", "7", "8", "9"]:
        flat += [
            {"type": "dense", "name": f"{unit}_a", "units": 3},
            {"type": "dropout", "name": f"{unit}_b", "rate": 0.5},
            {"type": "dense", "name": f"{unit}_c", "units": 3},
        ]
        if unit == "2":
            flat.append({"type": "dense", "name": "x", "units": 1})
    blocks, layers = fold_layers(flat)
    uses = [(e["name"], e["prefix"], e.get("repeat")) for e in layers if "use" in e]
    assert uses == [
        ("block_${i}", "${i}_", 2),
        ("block_4", "4_", None),
        ("block_${i + 6}", "${i + 6}_", 3),
    ]
    assert canonical(expanded(write_spec({"name": "t"}, blocks, layers))) == (
        canonical(flat)
    )
