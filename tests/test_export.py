"""ONNX export: parity for every spec, metadata, atomic writes, LRN numbers and
every layer kind (the CLI, a trained run and predict: test_export_cli.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MODELSPEC_OFFLINE", "1")

from helpers import (
    lrn_reference,
    onnx_keras_max_diff,
    run_onnxruntime,
    to_toml,
)
from modelspec.check import check_file, check_text
from modelspec.errors import ExportError
from modelspec.onnx_file import metadata as onnx_meta

pytestmark = pytest.mark.framework

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.toml"))

# Every layer kind, with an LRN whose settings differ from the defaults.
ZOO = """\
[model]
name = "zoo"
input = [12, 12, 3]
classes = 10
class_names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]

[[layers]]
type = "conv2d"
name = "c1"
filters = 8
kernel = 3
padding = "same"
activation = "relu"

[[layers]]
type = "batch_norm"
name = "bn"

[[layers]]
type = "lrn"
name = "lrn"
depth_radius = 2
bias = 2.0
alpha = 0.001
beta = 0.75

[[layers]]
type = "add"
name = "res"
inputs = ["bn", "lrn"]

[[layers]]
type = "conv2d"
name = "c2"
filters = 4
kernel = 1

[[layers]]
type = "concat"
name = "cat"
inputs = ["res", "c2"]

[[layers]]
type = "max_pool2d"
name = "mp"

[[layers]]
type = "dropout"
name = "drop"
rate = 0.5

[[layers]]
type = "avg_pool2d"
name = "ap"

[[layers]]
type = "flatten"
name = "flat"

[[layers]]
type = "global_max_pool2d"
name = "gmp"
inputs = ["cat"]

[[layers]]
type = "global_avg_pool2d"
name = "gap"
inputs = ["cat"]

[[layers]]
type = "concat"
name = "joined"
inputs = ["flat", "gmp", "gap"]

[[layers]]
type = "dense"
name = "hidden"
units = 16
activation = "tanh"

[[layers]]
type = "reshape"
name = "square"
shape = [4, 4]

[[layers]]
type = "flatten"
name = "flat2"

[[layers]]
type = "activation"
name = "act"
activation = "relu"

[[layers]]
type = "dense"
name = "logits"
units = 10
"""


def _ops(path) -> list:
    import onnx

    return list(onnx.load(str(path)).graph.node)


def _props(path) -> dict:
    import onnx

    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


@pytest.fixture(scope="module")
def zoo():
    """The zoo model with batch-norm statistics far from the identity, so that
    exporting batch norm in training mode could not pass the parity check."""
    from backends.keras_backend import build_model

    report = check_text(ZOO, file="zoo.toml")
    assert report.ok, [d.message for d in report.errors]
    model = build_model(report, seed=1)
    bn = model.get_layer("bn")
    rng = np.random.default_rng(3)
    gamma, beta, mean, var = bn.get_weights()
    bn.set_weights(
        [
            rng.uniform(0.5, 2, gamma.shape),
            rng.normal(0, 1, beta.shape),
            rng.normal(0, 1, mean.shape),
            rng.uniform(0.2, 3, var.shape),
        ]
    )
    return report, model


@pytest.fixture(scope="module")
def zoo_file(zoo, tmp_path_factory):
    from backends.onnx_export import export_onnx

    report, model = zoo
    out = tmp_path_factory.mktemp("zoo") / "zoo.onnx"
    result = export_onnx(model, report, out)
    return out, result


@pytest.mark.parametrize("spec", SPECS, ids=[p.stem for p in SPECS])
def test_every_spec_exports_with_parity(spec, tmp_path):
    from backends.keras_backend import build_model
    from backends.onnx_export import export_onnx

    report = check_file(spec)
    assert report.ok, [d.message for d in report.errors]
    model = build_model(report, seed=0)
    out = tmp_path / f"{spec.stem}.onnx"
    result = export_onnx(model, report, out, n_random=16)
    v = result.verification
    assert out.is_file() and result.file_size == out.stat().st_size
    # Parity measured here, by plain ONNX Runtime and Keras, on inputs of our own.
    x = np.random.default_rng(7).random((16, *report.spec.model.input))
    x = x.astype(np.float32)
    assert onnx_keras_max_diff(out, model, x) <= 1e-4
    top1 = run_onnxruntime(out, x).argmax(-1)
    assert (top1 == np.asarray(model(x, training=False)).argmax(-1)).all()
    # The exporter's own report says the same.
    assert v.checker_ok and v.max_abs_diff <= 1e-4 and v.top1_agreement == 1.0
    assert v.output_shape == (None, *report.output_shape)
    assert v.input_shape == (None, *report.spec.model.input)
    props = _props(out)
    assert set(onnx_meta.KEYS) <= set(props)
    assert props["spec_name"] == report.spec.model.name
    assert props["spec_sha256"] == onnx_meta.sha256_text(spec.read_text())
    assert json.loads(props["input_shape"]) == list(report.spec.model.input)
    assert len(json.loads(props["class_names"])) == report.output_shape[-1]
    types = [n.type for n in report.nodes]
    ops = [n.op_type for n in _ops(out)]
    assert ops.count("LRN") == types.count("lrn")
    assert "Dropout" not in ops


def test_every_layer_kind_exports(zoo, zoo_file):
    import onnx

    _report, model = zoo
    path, _ = zoo_file
    ops = [n.op_type for n in _ops(path)]
    for op in (
        "Conv",
        "LRN",
        "Add",
        "Concat",
        "MaxPool",
        "AveragePool",
        "GlobalMaxPool",
        "GlobalAveragePool",
        "Tanh",
        "Relu",
        "MatMul",
    ):
        assert op in ops, op
    assert "Dropout" not in ops
    for node in _ops(path):  # batch norm, if kept as a node, in inference mode
        if node.op_type == "BatchNormalization":
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            assert attrs.get("training_mode", 0) == 0
    x = np.random.default_rng(5).random((8, 12, 12, 3)).astype(np.float32)
    onnx_out = run_onnxruntime(path, x)
    inference = model(x, training=False).numpy()
    training = model(x, training=True).numpy()  # batch stats and dropout
    assert np.abs(onnx_out - inference).max() <= 1e-4
    assert np.abs(onnx_out - training).max() > 1e-2


@pytest.mark.parametrize(
    "r,bias,alpha,beta", [(2, 2.0, 1e-3, 0.75), (5, 1.0, 1.0, 0.5), (1, 0.5, 0.3, 1.0)]
)
def test_lrn_becomes_an_onnx_lrn_node_with_tf_numbers(tmp_path, r, bias, alpha, beta):
    import onnx

    from backends.keras_backend import build_model
    from backends.onnx_export import export_onnx

    lrn = {"type": "lrn", "depth_radius": r, "bias": bias, "alpha": alpha, "beta": beta}
    report = check_text(to_toml({"name": "lrn_only", "input": [5, 5, 16]}, [lrn]))
    assert report.ok, [d.message for d in report.errors]
    out = tmp_path / "lrn.onnx"
    export_onnx(build_model(report), report, out)
    (node,) = [n for n in _ops(out) if n.op_type == "LRN"]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    # ONNX divides alpha by size; TF does not: alpha_onnx = alpha_tf * size.
    assert attrs["size"] == 2 * r + 1
    assert attrs["alpha"] == pytest.approx(alpha * (2 * r + 1), rel=1e-6)
    assert attrs["beta"] == pytest.approx(beta) and attrs["bias"] == pytest.approx(bias)
    x = np.random.default_rng(0).normal(0, 2, (3, 5, 5, 16)).astype(np.float32)
    got = run_onnxruntime(out, x)
    np.testing.assert_allclose(
        got, lrn_reference(x, r, bias, alpha, beta), rtol=1e-5, atol=1e-6
    )


def test_metadata_describes_the_model(zoo_file):
    path, result = zoo_file
    props = _props(path)
    meta = onnx_meta.decode(props)
    import modelspec

    assert meta["modelspec_version"] == modelspec.__version__
    assert meta["spec_name"] == "zoo"
    assert meta["spec_sha256"] == onnx_meta.sha256_text(ZOO)
    assert meta["class_names"] == list("abcdefghij")
    assert meta["input_shape"] == [12, 12, 3]
    assert meta["output_kind"] == "logits"
    assert meta["opset"] == 17 and meta["input_name"] == "input"
    assert meta["output_name"] == "logits" == result.output_name
    # No [data]: the preprocessing is recorded as unknown, not guessed.
    assert meta["preprocessing"]["scale"] == "unknown"


def test_numpy_is_not_patched_and_outputs_are_named(zoo, tmp_path):
    from backends.onnx_export import export_onnx

    report, model = zoo
    before = dict(vars(np))
    export_onnx(model, report, tmp_path / "z.onnx", opset=13)
    after = dict(vars(np))
    assert after.keys() == before.keys()
    assert all(after[k] is before[k] for k in before if k != "__warningregistry__")
    import onnx

    graph = onnx.load(str(tmp_path / "z.onnx")).graph
    assert [i.name for i in graph.input] == ["input"]
    assert [o.name for o in graph.output] == ["logits"]
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param  # symbolic batch
    assert _props(tmp_path / "z.onnx")["opset"] == "13"


def test_refuses_to_overwrite_without_force(zoo, tmp_path):
    from backends.onnx_export import export_onnx

    report, model = zoo
    out = tmp_path / "m.onnx"
    out.write_bytes(b"keep me")
    with pytest.raises(ExportError, match="already exists"):
        export_onnx(model, report, out)
    assert out.read_bytes() == b"keep me"
    export_onnx(model, report, out, force=True)
    assert out.read_bytes() != b"keep me" and _props(out)["spec_name"] == "zoo"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


def test_failed_verification_leaves_no_file(zoo, tmp_path, monkeypatch):
    from backends.onnx_export import export_onnx, verify

    report, model = zoo
    out = tmp_path / "bad.onnx"
    real = verify.run_onnx
    monkeypatch.setattr(verify, "run_onnx", lambda s, x: real(s, x) + 1e-3)
    with pytest.raises(ExportError, match="differ by up to"):
        export_onnx(model, report, out)
    assert list(tmp_path.iterdir()) == []
    # A forced overwrite that fails keeps the old file.
    out.write_bytes(b"old")
    with pytest.raises(ExportError):
        export_onnx(model, report, out, force=True)
    assert out.read_bytes() == b"old" and list(tmp_path.iterdir()) == [out]


def test_zero_tolerance_and_wrong_shapes_fail(zoo, tmp_path):
    from backends.onnx_export import export_onnx
    from backends.onnx_export.verify import check_structure

    report, model = zoo
    with pytest.raises(ExportError, match="tolerance"):
        # Keras and ONNX Runtime round differently; 0 tolerates no difference.
        export_onnx(model, report, tmp_path / "z.onnx", tolerance=0.0)
    assert list(tmp_path.iterdir()) == []
    good = tmp_path / "ok.onnx"
    export_onnx(model, report, good)
    with pytest.raises(ExportError, match=r"checker computed \(N, 11\)"):
        check_structure(good, (11,), (12, 12, 3))
    with pytest.raises(ExportError, match="input shape"):
        check_structure(good, (10,), (12, 12, 4))


def test_a_conversion_error_is_an_export_error(zoo, tmp_path, monkeypatch):
    import tf2onnx

    from backends.onnx_export import export_onnx

    def broken(*a, **k):
        raise ValueError("unsupported op")

    monkeypatch.setattr(tf2onnx.convert, "from_keras", broken)
    report, model = zoo
    with pytest.raises(ExportError, match="unsupported op"):
        export_onnx(model, report, tmp_path / "x.onnx")
    assert list(tmp_path.iterdir()) == []


def test_preprocessing_formula_matches_the_data_pipeline():
    from modelspec.data import preprocess
    from modelspec.onnx_file.predict import apply_preprocessing

    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, (4, 6, 6, 3)).astype(np.float32)
    preps = [
        {"scale": "unit", "divide": 255.0, "raw_max": 255.0},
        {
            "scale": "standardize",
            "mean": [120.0, 100.0, 90.0],
            "std": [60.0, 50.0, 70.0],
            "raw_max": 255.0,
        },
        {"scale": "none", "raw_max": 255.0},
    ]
    for prep in preps:
        canon = onnx_meta.canonical_preprocessing(prep)
        want = preprocess(raw, prep)
        np.testing.assert_allclose(apply_preprocessing(raw, canon), want, rtol=1e-6)
        flat = raw.reshape(4, -1)  # an MLP's flat input, channels last
        np.testing.assert_allclose(
            apply_preprocessing(flat, canon), want.reshape(4, -1), rtol=1e-6
        )


def test_mixed_precision_model_exports_as_float32(tmp_path):
    import keras
    import onnx

    from backends.keras_backend import build_model
    from backends.onnx_export import export_onnx

    report = check_file(ROOT / "specs" / "digits_lenet.toml")
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = build_model(report, seed=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.layers[1].compute_dtype == "bfloat16"
    result = export_onnx(model, report, tmp_path / "bf16.onnx")
    # The file is the float32 model: compare it with a float32 copy built here.
    copy = build_model(report, seed=0)
    copy.set_weights(model.get_weights())
    assert copy.layers[1].compute_dtype == "float32"
    x = np.random.default_rng(11).random((8, *report.spec.model.input))
    assert onnx_keras_max_diff(tmp_path / "bf16.onnx", copy, x) <= 1e-4
    assert any("float32 copy" in n for n in result.verification.notes)
    graph = onnx.load(str(tmp_path / "bf16.onnx")).graph
    half = {onnx.TensorProto.BFLOAT16, onnx.TensorProto.FLOAT16}
    assert not [t.name for t in graph.initializer if t.data_type in half]
    casts = [n for n in graph.node if n.op_type == "Cast"]
    assert not [n.name for n in casts if n.attribute[0].i in half]
