"""`modelspec import` against real Keras models (issue 12, item 5).

Round trip: a spec is built with the Keras backend, saved as .keras, imported
and checked: every layer (by name) has the same type, inputs, output shape and
parameter counts as in the original's `check --format json`; with the weights
written by `--weights` (loaded through the spec's [transfer], as `train` and
`export` load them), the rebuilt model computes the same outputs. Importing a
keras.applications model (weights=None, nothing downloaded) gives a spec that
checks clean with Keras's parameter counts.

Cost: the default run covers every small spec of specs/, one spec with every
layer kind, two zoo specs and two keras.applications models; `-m slow` runs
the round trip, the weights and the applications for every zoo model.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MODELSPEC_OFFLINE", "1")

from modelspec.check import check_file, check_text
from modelspec.importer import import_spec

pytestmark = pytest.mark.framework

ROOT = Path(__file__).resolve().parents[1]
EVERY_KIND = ROOT / "tests" / "import_cases" / "every_kind.toml"
SPECS = sorted((ROOT / "specs").glob("*.toml"))
ZOO = sorted((ROOT / "specs" / "zoo").glob("*.toml"))
QUICK_ZOO = {"EfficientNetB0", "MobileNetV3Small"}
QUICK_WEIGHTS = {"every_kind", "cifar10_blocks", "digits_se_norm", "MobileNetV3Small"}
QUICK_APPLICATIONS = {"ConvNeXtTiny", "MobileNetV3Small"}
TOLERANCE = 1e-5
# Keras saves these activations under the other name of the same function.
SAME_ACTIVATION = {"swish": "silu", "hard_swish": "hard_silu"}


def _param(path: Path, quick: set[str] | None):
    slow = quick is not None and path.stem not in quick
    return pytest.param(path, id=path.stem, marks=[pytest.mark.slow] if slow else [])


def by_name(report) -> dict:
    """`check --format json` layers by name, without their position: Keras
    saves a functional model's layers in its own topological order."""
    out = {}
    for row in report.to_json()["layers"]:
        row = dict(row)
        row.pop("index")
        row.pop("block", None)  # which [blocks.*] instance: a flat import has none
        out[row.pop("name")] = row
    return out


class RoundTrip:
    """One spec: built, saved as .keras, imported (in this process)."""

    def __init__(self, spec: Path, folder: Path):
        from backends.keras_backend import build_model
        from backends.keras_backend.import_model import read_config

        self.report = check_file(spec)
        assert self.report.ok, [d.render() for d in self.report.diagnostics]
        self.model = build_model(self.report, seed=3)
        self.saved = folder / f"{spec.stem}.keras"
        self.model.save(self.saved)
        self.text, self.imported = import_spec(
            read_config(str(self.saved)), source=str(self.saved)
        )


@pytest.fixture(scope="module")
def trips(tmp_path_factory):
    """Each spec's round trip, made once for every test of this module."""
    made: dict[Path, RoundTrip] = {}
    folder = tmp_path_factory.mktemp("saved")

    def get(spec: Path) -> RoundTrip:
        if spec not in made:
            made.clear()  # keep one model alive at a time (the zoo is large)
            made[spec] = RoundTrip(spec, folder)
        return made[spec]

    return get


@pytest.mark.parametrize(
    "spec",
    [_param(EVERY_KIND, None)]
    + [_param(p, None) for p in SPECS]
    + [_param(p, QUICK_ZOO) for p in ZOO],
)
def test_round_trip_gives_the_same_layers(spec, trips):
    trip = trips(spec)
    assert trip.imported.ok
    assert by_name(trip.imported) == by_name(trip.report)
    assert trip.imported.total_params == trip.report.total_params


def _fields(report) -> dict:
    lost = {"adapt", "in_channels", "expect_shape", "inputs"}  # not in a Keras file
    out = {}
    for node in report.nodes:
        dump = node.layer.model_dump(exclude=lost)
        if isinstance(dump.get("activation"), str):
            act = dump["activation"]
            dump["activation"] = SAME_ACTIVATION.get(act, act)
        out[node.name] = _short(dump)
    return out


def _short(v):
    """[3, 3] and 3 say the same; so do [[1, 1], [2, 2]] and [1, 2]."""
    if isinstance(v, dict):
        return {k: _short(x) for k, x in v.items()}
    if isinstance(v, list):
        v = [_short(x) for x in v]
        if len(v) == 2 and all(isinstance(x, int) for x in v) and v[0] == v[1]:
            return v[0]
        if len(v) == 2 and all(isinstance(x, int) for x in v):
            return v
        if len(v) == 2 and all(not isinstance(x, list) for x in v) and v[0] == v[1]:
            return v[0]
    return v


def test_every_layer_kind_imports_with_every_argument(trips):
    """Each field of each layer (initializers, regularizers, trainable,
    activations, paddings ...) survives, not only shapes and counts."""
    trip = trips(EVERY_KIND)
    ours, theirs = _fields(trip.imported), _fields(trip.report)
    assert ours.keys() == theirs.keys()
    diffs = {k: (ours[k], theirs[k]) for k in ours if ours[k] != theirs[k]}
    assert diffs == {}
    kinds = {node.type for node in trip.report.nodes}
    from modelspec.schema import LAYER_TYPES

    assert kinds == set(LAYER_TYPES), set(LAYER_TYPES) - kinds


def _cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "modelspec", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def _transferred(spec_file: Path):
    """The imported spec's model with its [transfer] weights, as `train` and
    `export` build it."""
    from backends.keras_backend import build_model
    from backends.keras_backend.transfer import load_and_apply

    report = check_file(spec_file)
    assert report.ok, [d.render() for d in report.diagnostics]
    model = build_model(report, seed=99)  # other initial weights than the source
    result = load_and_apply(model, report.spec.transfer, base=spec_file.parent)
    assert result.skipped == [] and result.copied
    return model


def _inputs(report, n: int = 2):
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, size=(n, *report.spec.model.input)).astype(np.float32)


def _assert_same_outputs(source_model, rebuilt, report):
    x = _inputs(report)
    want = np.asarray(source_model(x, training=False))
    got = np.asarray(rebuilt(x, training=False))
    scale = max(1.0, float(np.abs(want).max()))
    assert np.abs(got - want).max() <= TOLERANCE * scale


@pytest.mark.parametrize(
    "spec",
    [_param(EVERY_KIND, QUICK_WEIGHTS)]
    + [_param(p, QUICK_WEIGHTS) for p in SPECS]
    + [_param(p, QUICK_WEIGHTS) for p in ZOO],
)
def test_imported_weights_give_the_same_outputs(spec, trips, tmp_path):
    from backends.keras_backend import import_model

    trip = trips(spec)
    out = tmp_path / "imported.toml"
    weights = tmp_path / "imported.weights.h5"
    text, _ = import_spec(
        import_model.read_config(str(trip.saved)),
        source=str(trip.saved),
        weights_file=weights.name,
    )
    out.write_text(text)
    source = import_model.load(str(trip.saved))
    assert import_model.write_weights(source, weights) > 0
    _assert_same_outputs(trip.model, _transferred(out), trip.report)


def test_the_cli_writes_spec_and_weights_and_never_overwrites(trips, tmp_path):
    trip = trips(EVERY_KIND)
    p = _cli("import", str(trip.saved), "-o", "m.toml", "--weights", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "wrote m.toml: 32 layers" in p.stdout
    assert (tmp_path / "m.weights.h5").is_file()
    check = _cli("check", "--format", "json", "m.toml", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    import json

    assert {r["name"] for r in json.loads(check.stdout)["layers"]} == set(
        by_name(trip.report)
    )
    before = (tmp_path / "m.toml").read_bytes()
    again = _cli("import", str(trip.saved), "-o", "m.toml", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert (tmp_path / "m.toml").read_bytes() == before
    forced = _cli("import", str(trip.saved), "-o", "m.toml", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert "[transfer]" not in (tmp_path / "m.toml").read_text()


def test_a_lambda_layer_is_refused_without_running_it_and_nothing_is_written(
    tmp_path,
):
    import keras

    marker = tmp_path / "ran"

    def leave_a_mark(x):  # would leave a file behind if anything ran it
        marker.touch()
        return x

    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Lambda(leave_a_mark),
            keras.layers.Dense(2, kernel_constraint="non_neg"),
        ]
    )
    model.save(tmp_path / "hostile.keras")
    marker.unlink(missing_ok=True)
    p = _cli("import", "hostile.keras", "--weights", cwd=tmp_path)
    assert p.returncode == 1
    assert "(Lambda): runs Python code" in p.stderr
    assert "kernel_constraint='NonNeg'" in p.stderr
    assert not (tmp_path / "hostile.toml").exists()
    assert not (tmp_path / "hostile.weights.h5").exists()
    assert not marker.exists()


def test_a_legacy_h5_model_imports(tmp_path):
    import keras

    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(3, 3, activation="relu", name="c"),
            keras.layers.Flatten(name="f"),
            keras.layers.Dense(2, name="d"),
        ],
        name="old",
    )
    model.save(tmp_path / "old.h5")
    p = _cli("import", "old.h5", "--weights", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    report = check_file(tmp_path / "old.toml")
    assert report.ok and report.total_params == model.count_params()
    assert [li.name for li in report.layers] == ["c", "f", "d"]
    _assert_same_outputs(model, _transferred(tmp_path / "old.toml"), report)


def _application(name: str):
    import keras

    from backends.keras_backend import import_model

    model = import_model._application(name)
    return model, keras.saving.serialize_keras_object(model)


@pytest.mark.parametrize("spec", [_param(p, QUICK_APPLICATIONS) for p in ZOO])
def test_keras_applications_import_with_keras_parameter_counts(spec):
    model, entry = _application(spec.stem)
    text, report = import_spec(entry, source=f"keras.applications:{spec.stem}")
    assert report.ok and report.diagnostics == []
    assert check_text(text).ok
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert (report.total_params, report.trainable_params) == (
        model.count_params(),
        trainable,
    )


def _spec_lines(text: str) -> int:
    return sum(
        1 for t in text.splitlines() if t.strip() and not t.lstrip().startswith("#")
    )


@pytest.mark.parametrize("name", ["ResNet50", "DenseNet121"])
def test_folded_applications_are_at_most_twice_the_zoo_spec(name):
    """Issue 12: `--fold` writes keras.applications' ResNet50 and DenseNet121
    in at most twice the lines of the hand-written zoo spec, with the same
    layers (names, types, shapes, parameters) as the flat import."""
    _, entry = _application(name)
    flat_text, flat = import_spec(entry, source=f"keras.applications:{name}")
    text, folded = import_spec(entry, source=f"keras.applications:{name}", fold=True)
    assert "[blocks." in text and folded.ok
    hand = _spec_lines((ROOT / "specs" / "zoo" / f"{name}.toml").read_text())
    assert _spec_lines(text) <= 2 * hand < _spec_lines(flat_text)
    assert [(li.name, li.type, li.output_shape, li.params) for li in folded.layers] == [
        (li.name, li.type, li.output_shape, li.params) for li in flat.layers
    ]


def _readme_block(language: str, needle: str) -> str:
    text = (ROOT / "README.md").read_text()
    for block in text.split("```" + language + "\n")[1:]:
        body = block.split("```", 1)[0]
        if needle in body:
            return body
    raise AssertionError(f"README has no {language} block with {needle!r}")


def test_the_readme_example_is_what_import_writes(tmp_path):
    """README's Python script, run; its import command, run; the spec written
    is the README's TOML block, byte for byte."""
    script = _readme_block("python", 'model.save("small_cnn.keras")')
    made = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    p = _cli("import", "small_cnn.keras", "--weights", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    want = _readme_block("toml", 'name = "small_cnn"')
    assert (tmp_path / "small_cnn.toml").read_text() == want
    _exported_onnx_computes_what_keras_did(tmp_path)


def _exported_onnx_computes_what_keras_did(folder: Path):
    """`export` of the imported spec carries the imported weights: ONNX
    Runtime on the exported file gives the original Keras model's outputs."""
    import keras
    import onnxruntime as ort

    p = _cli("export", "small_cnn.toml", "--onnx", "--random-inputs", cwd=folder)
    assert p.returncode == 0, p.stderr
    assert "[transfer] source (small_cnn.weights.h5)" in p.stderr
    original = keras.saving.load_model(folder / "small_cnn.keras")
    x = np.random.default_rng(2).uniform(0, 255, (4, 28, 28, 1)).astype(np.float32)
    session = ort.InferenceSession(str(folder / "small_cnn.onnx"))
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    want = np.asarray(original(x, training=False))
    assert np.abs(got - want).max() <= 1e-5


def test_nested_models_are_flattened_and_their_weights_load_by_name(tmp_path):
    import keras

    layers = keras.layers
    stem = keras.Sequential(
        [
            layers.Conv2D(4, 3, padding="same", name="stem_conv"),
            layers.BatchNormalization(name="stem_bn"),
        ],
        name="stem",
    )
    stem.trainable = False
    inner = keras.Input((8, 8, 4))
    branch = layers.Conv2D(4, 1, name="branch_conv")(inner)
    block = keras.Model(
        inner, layers.Add(name="branch_add")([inner, branch]), name="block"
    )
    x = keras.Input((8, 8, 3))
    y = layers.GlobalAveragePooling2D(name="gap")(block(stem(x)))
    model = keras.Model(x, layers.Dense(3, name="head")(y), name="nested")
    rng = np.random.default_rng(1)  # moving statistics too: not 0 and 1
    model.set_weights([rng.uniform(0.5, 1.5, w.shape) for w in model.get_weights()])
    model.save(tmp_path / "nested.keras")
    p = _cli("import", "nested.keras", "--weights", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    report = check_file(tmp_path / "nested.toml")
    assert [(li.name, li.inputs) for li in report.layers] == [
        ("stem_conv", ["input"]),
        ("stem_bn", ["stem_conv"]),
        ("branch_conv", ["stem_bn"]),
        ("branch_add", ["stem_bn", "branch_conv"]),
        ("gap", ["branch_add"]),
        ("head", ["gap"]),
    ]
    frozen = {n.name for n in report.nodes if not n.layer.trainable}
    assert frozen == {"stem_conv", "stem_bn"}
    assert report.trainable_params == sum(
        int(np.prod(w.shape)) for w in model.trainable_weights
    )
    _assert_same_outputs(model, _transferred(tmp_path / "nested.toml"), report)
