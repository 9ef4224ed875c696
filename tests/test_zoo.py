"""The zoo: every `specs/zoo/<Name>.toml` is keras.applications.<Name> exactly.

For each spec file present (specs added later are covered automatically):
- the file is short and `modelspec check --strict` is clean;
- the checker's parameter counts and every shared layer's output shape and
  parameters equal those of `keras.applications.<Name>(weights=None)` (built
  here; nothing is downloaded), and every weighted Keras layer exists in the
  spec model by name with the same weight shapes;
- given the Keras model's weights by name, the compiled spec computes the same
  outputs in inference mode on random images (relative max difference 1e-4);
- it exports to ONNX with parity against Keras, and takes one training step.

Outputs are compared at the tensor that feeds the last layer (`head input`) and
at the output. With random weights, a softmax over 1000 classes saturates on
0..255 images (one probability is ~1, the rest ~0), so a wrong layer can leave
the probabilities unchanged; the head input is pre-softmax (the logits when the
head is an `activation` layer, the pooled features when it is a softmax
`dense`, whose logits are then a fixed linear map of them), so a relative error
there is meaningful. The probabilities are compared too, absolutely (they are
bounded by 1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cached_property
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MODELSPEC_OFFLINE", "1")

from modelspec.check import check_file

ROOT = Path(__file__).resolve().parents[1]
ZOO = sorted((ROOT / "specs" / "zoo").glob("*.toml"))
MAX_LINES = 150
TOLERANCE = 1e-4
BATCH = 2
# The default (CI) run checks every spec's length, strict check, structure,
# weight shapes and outputs given Keras's weights. The ONNX conversion (30-140 s
# per model on 2 shared cores) and the training step (6-55 s) run by default only
# for the models named here, chosen small; `pytest -m slow` runs them for every
# spec (per-model times: README "The zoo"). A spec added later is thus covered at
# once without growing the default run past its ~4 minute budget.
QUICK_ONNX = {"MobileNetV3Small"}
QUICK_TRAIN = {"VGG16", "ResNet50", "MobileNetV3Small"}


def _param(path: Path, quick: set[str] | None = None):
    """`path` as a test parameter, `slow` unless `quick` is None or names it."""
    slow = quick is not None and path.stem not in quick
    return pytest.param(path, id=path.stem, marks=[pytest.mark.slow] if slow else [])


def test_zoo_is_not_empty():
    assert ZOO, "specs/zoo/ has no .toml files"


@pytest.mark.parametrize("path", [_param(p) for p in ZOO])
def test_zoo_spec_is_short(path):
    lines = [
        line
        for line in path.read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert len(lines) <= MAX_LINES, (
        f"{path.name}: {len(lines)} non-comment lines, more than {MAX_LINES}"
    )


@pytest.fixture(scope="module")
def strict_check():
    """One `modelspec check --strict --format json` process over every zoo
    spec (one report per file, in order), shared by the tests below."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelspec",
            "check",
            "--strict",
            "--format",
            "json",
            *map(str, ZOO),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    reports = json.loads(proc.stdout)
    assert [r["file"] for r in reports] == [str(p) for p in ZOO]
    return proc, dict(zip(ZOO, reports, strict=True))


@pytest.mark.parametrize("path", [_param(p) for p in ZOO])
def test_zoo_spec_checks_clean_and_is_named_after_keras(path, strict_check):
    proc, reports = strict_check
    out = reports[path]
    assert out["diagnostics"] == [], out["diagnostics"]
    assert out["ok"]
    assert proc.returncode == 0, proc.stderr
    report = check_file(path)
    assert report.spec.model.name == path.stem


def rel_max_diff(a, b) -> float:
    """|a - b|max / |b|max: b is the reference (Keras)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = np.abs(b).max()
    assert scale > 0, "the reference output is all zeros: nothing is compared"
    return float(np.abs(a - b).max() / scale)


class Case:
    """One zoo spec and its Keras counterpart, built lazily and once."""

    def __init__(self, path: Path):
        self.path = path
        self.name = path.stem
        self.report = check_file(path)
        assert self.report.ok, [d.render() for d in self.report.diagnostics]

    @cached_property
    def keras_model(self):
        """Built in a fresh Keras session: layers that keras.applications
        leaves unnamed (InceptionV3's, Xception's shortcuts) are numbered by
        a process-wide counter, so another model built first would shift
        their names (conv2d_94 instead of conv2d)."""
        import keras

        keras.utils.clear_session()
        model = getattr(keras.applications, self.name)(weights=None)
        if None in model.input_shape[1:]:
            # MobileNetV3 is built for any image size, so every shape has None
            # spatial axes; built at the spec's size, the same layers and weights
            # get concrete shapes to compare.
            keras.utils.clear_session()
            model = getattr(keras.applications, self.name)(
                weights=None, input_shape=tuple(self.report.spec.model.input)
            )
        return model

    @cached_property
    def spec_model(self):
        """The compiled spec, holding the Keras model's weights by name."""
        from backends.keras_backend import build_model

        model = build_model(self.report, seed=1)
        for layer in leaf_layers(self.keras_model):
            if layer.weights and _has(model, layer.name):
                target = model.get_layer(layer.name)
                if _shapes(target) == _shapes(layer):
                    target.set_weights(layer.get_weights())
        return model

    @cached_property
    def images(self):
        """Random images, through the application's own preprocess_input
        (caffe, tf or torch mode; identity where the model rescales itself)."""
        import importlib

        module = importlib.import_module(self.keras_model_fn.__module__)
        rng = np.random.default_rng(0)
        shape = (BATCH, *self.report.spec.model.input)
        raw = rng.uniform(0, 255, size=shape).astype(np.float32)
        return np.asarray(module.preprocess_input(raw), dtype=np.float32)

    @property
    def keras_model_fn(self):
        import keras

        return getattr(keras.applications, self.name)

    def head_model(self, model):
        """`model` with two outputs: the last layer's input and the output."""
        import keras

        return keras.Model(model.input, [model.layers[-1].input, model.output])


def leaf_layers(model) -> list:
    """The model's layers, with nested models (ConvNeXt's Sequential stem and
    downsampling blocks) replaced by their own layers: weights belong to, and
    are matched by the names of, the layers that hold them."""
    out = []
    for layer in model.layers:
        out.extend(leaf_layers(layer) if hasattr(layer, "layers") else [layer])
    return out


def _has(model, name: str) -> bool:
    return any(layer.name == name for layer in model.layers)


def _shapes(layer) -> list[tuple]:
    return [tuple(w.shape) for w in layer.weights]


@pytest.fixture(scope="module")
def case(request):
    return Case(request.param)


def _cases(quick: set[str] | None = None):
    return pytest.mark.parametrize(
        "case", [_param(p, quick) for p in ZOO], indirect=True
    )


@pytest.mark.framework
@_cases()
def test_zoo_params_shapes_and_weights_equal_keras(case):
    keras_model, report = case.keras_model, case.report
    problems = []
    for what, ours, theirs in [
        ("total", report.total_params, keras_model.count_params()),
        (
            "trainable",
            report.trainable_params,
            sum(int(np.prod(w.shape)) for w in keras_model.trainable_weights),
        ),
        (
            "non-trainable",
            report.non_trainable_params,
            sum(int(np.prod(w.shape)) for w in keras_model.non_trainable_weights),
        ),
    ]:
        if ours != theirs:
            problems.append(f"{what} params: spec {ours:,}, Keras {theirs:,}")
    keras_layers = {layer.name: layer for layer in leaf_layers(keras_model)}
    shared = [li for li in report.layers if li.name in keras_layers]
    for li in shared:
        layer = keras_layers[li.name]
        shape = tuple(layer.output.shape[1:])
        if shape != tuple(li.output_shape):
            problems.append(
                f"{li.name}: output shape spec {tuple(li.output_shape)}, Keras {shape}"
            )
        if layer.count_params() != li.params:
            problems.append(
                f"{li.name}: params spec {li.params:,}, Keras {layer.count_params():,}"
            )
    for layer in leaf_layers(keras_model):
        if not layer.weights:
            continue
        if not _has(case.spec_model, layer.name):
            problems.append(
                f"{layer.name}: weighted Keras layer "
                f"({type(layer).__name__}) missing from the spec"
            )
        elif _shapes(case.spec_model.get_layer(layer.name)) != _shapes(layer):
            problems.append(
                f"{layer.name}: weight shapes spec "
                f"{_shapes(case.spec_model.get_layer(layer.name))}, "
                f"Keras {_shapes(layer)}"
            )
    assert not problems, (
        f"{case.name}: {len(problems)} mismatches with Keras "
        f"({len(shared)} shared layers):\n" + "\n".join(problems)
    )


@pytest.mark.framework
@_cases()
def test_zoo_outputs_equal_keras_given_its_weights(case):
    x = case.images
    head, out = case.head_model(case.spec_model)(x, training=False)
    k_head, k_out = case.head_model(case.keras_model)(x, training=False)
    assert tuple(out.shape) == tuple(k_out.shape)
    rel = rel_max_diff(head, k_head)
    assert rel <= TOLERANCE, f"{case.name}: head input differs by {rel:.3g} (rel max)"
    diff = float(np.abs(np.asarray(out, np.float64) - np.asarray(k_out)).max())
    assert diff <= TOLERANCE, f"{case.name}: outputs differ by {diff:.3g}"


@pytest.mark.framework
@_cases(QUICK_ONNX)
def test_zoo_exports_to_onnx_with_parity(case):
    import onnxruntime as ort

    from backends.onnx_export.export import convert

    model = case.head_model(case.spec_model)
    proto = convert(model, tuple(case.report.spec.model.input), opset=17)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(
        proto.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"]
    )
    x = case.images
    o_head, o_out = sess.run(None, {sess.get_inputs()[0].name: x})
    k_head, k_out = model(x, training=False)
    rel = rel_max_diff(o_head, k_head)
    assert rel <= TOLERANCE, f"{case.name}: ONNX head input differs by {rel:.3g}"
    diff = float(np.abs(np.asarray(o_out, np.float64) - np.asarray(k_out)).max())
    assert diff <= TOLERANCE, f"{case.name}: ONNX outputs differ by {diff:.3g}"


@pytest.mark.framework
@_cases(QUICK_TRAIN)
def test_zoo_takes_a_training_step(case):
    import keras

    from backends.keras_backend.optim import make_loss

    model = case.spec_model
    saved = model.get_weights()
    try:
        model.compile(optimizer=keras.optimizers.SGD(1e-3), loss=make_loss(case.report))
        rng = np.random.default_rng(1)
        y = rng.integers(0, case.report.output_shape[-1], size=BATCH)
        logs = model.train_on_batch(case.images, y, return_dict=True)
        assert np.isfinite(logs["loss"]), logs
        changed = [
            not np.array_equal(a, b)
            for a, b in zip(saved, model.get_weights(), strict=True)
        ]
        assert any(changed), f"{case.name}: a training step changed no weight"
    finally:  # the other tests compare this model with Keras's weights
        model.set_weights(saved)
