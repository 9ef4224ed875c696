"""`modelspec export` on a trained digits run (100% top-1 agreement on its real
test set), the CLI's errors, and `predict` on .onnx files without TensorFlow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MODELSPEC_OFFLINE", "1")

from helpers import digits_splits, run_onnxruntime
from modelspec.check import check_file
from modelspec.onnx_file import metadata as onnx_meta

pytestmark = pytest.mark.framework

ROOT = Path(__file__).resolve().parent.parent


def _props(path) -> dict:
    import onnx

    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


DIGITS = """\
[model]
name = "digits_small"
input = [8, 8, 1]
classes = 10

[[layers]]
type = "conv2d"
filters = 8
kernel = 3
padding = "same"
activation = "relu"

[[layers]]
type = "batch_norm"

[[layers]]
type = "max_pool2d"

[[layers]]
type = "flatten"

[[layers]]
type = "dropout"
rate = 0.2

[[layers]]
type = "dense"
name = "logits"
units = 10

[data]
dataset = "digits"
validation = 0.1

[train]
epochs = 3
batch_size = 64
optimizer = { type = "adam", learning_rate = 0.01 }

[export]
verify_examples = 1000
"""


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    from backends.keras_backend.train import train

    out = tmp_path_factory.mktemp("runs")
    spec = out / "digits_small.toml"
    spec.write_text(DIGITS)
    result = train(check_file(spec), out=out)
    return Path(result.run_dir)


def _cli():
    import typer

    from modelspec.cli import export as cli_export
    from modelspec.cli import train as cli_train

    app = typer.Typer()
    cli_export.register(app)
    # What `modelspec predict FILE.onnx` calls (see cli.train.predict_onnx).
    app.command("predict")(cli_train.predict_onnx)
    return app


def _runner():
    from typer.testing import CliRunner

    try:
        return CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2 always keeps stderr apart
        return CliRunner()


def test_trained_run_exports_with_full_top1_agreement(trained_run):
    app = _cli()
    res = _runner().invoke(app, ["export", str(trained_run), "--onnx"])
    assert res.exit_code == 0, res.stdout + res.stderr
    out = trained_run / "best.onnx"
    assert out.is_file()
    assert "100.0% on 360 test examples" in res.stdout
    assert "onnx.checker" in res.stdout and "(N, 10)" in res.stdout
    # Measured here: plain ONNX Runtime against plain Keras on best.keras, on the
    # digits test set split by the test itself.
    import keras

    x, _ = digits_splits()["test"]
    model = keras.saving.load_model(trained_run / "best.keras", compile=False)
    keras_out = np.asarray(model.predict(x, batch_size=256, verbose=0))
    onnx_out = run_onnxruntime(out, x)
    assert len(x) == 360 and np.abs(onnx_out - keras_out).max() <= 1e-4
    assert (onnx_out.argmax(-1) == keras_out.argmax(-1)).all()
    meta = onnx_meta.decode(_props(out))
    resolved = json.loads((trained_run / "resolved.json").read_text())
    assert meta["class_names"] == resolved["class_names"]
    assert meta["preprocessing"]["divide"] == 16.0  # digits pixels are 0..16
    run = trained_run.resolve()
    assert meta["run"] == f"{run.parent.name}/{run.name}"
    again = _runner().invoke(app, ["export", str(trained_run), "--onnx"])
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert "--force" in again.stderr
    forced = _runner().invoke(app, ["export", str(trained_run), "--onnx", "--force"])
    assert forced.exit_code == 0, forced.stderr


def _digit_pngs(folder: Path, n: int) -> tuple[list[str], np.ndarray]:
    from PIL import Image
    from sklearn.datasets import load_digits

    d = load_digits()
    paths = []
    for i in range(n):
        img = np.round(d.images[-1 - i] * 255 / 16).astype(np.uint8)
        p = folder / f"digit{i}.png"
        Image.fromarray(img).save(p)
        paths.append(str(p))
    return paths, d.target[-n:][::-1]


def test_onnx_predict_matches_keras_predict(trained_run, tmp_path):
    from backends.keras_backend.finish import predict_run
    from modelspec.onnx_file.predict import predict_onnx

    out = tmp_path / "m.onnx"
    res = _runner().invoke(
        _cli(), ["export", str(trained_run), "--onnx", "-o", str(out)]
    )
    assert res.exit_code == 0, res.stderr
    paths, labels = _digit_pngs(tmp_path, 12)
    onnx_results = predict_onnx(out, paths, top_k=3)
    keras_results = predict_run(trained_run, paths, top_k=3)
    assert [r[0] for r in onnx_results] == paths
    for (_, mine), (_, theirs) in zip(onnx_results, keras_results, strict=True):
        assert [c for c, _ in mine] == [c for c, _ in theirs]
        np.testing.assert_allclose(
            [p for _, p in mine], [p for _, p in theirs], atol=1e-5
        )
        assert sum(p for _, p in mine) <= 1.0 + 1e-9
    accuracy = np.mean(
        [int(r[1][0][0]) == y for r, y in zip(onnx_results, labels, strict=True)]
    )
    assert accuracy >= 0.75  # a 3-epoch model, on images read back from PNG
    shown = _runner().invoke(_cli(), ["predict", str(out), *paths[:2], "--top", "2"])
    assert shown.exit_code == 0, shown.stderr
    first = onnx_results[0][1][0]
    assert first[0] in shown.stdout and f"{first[1]:.4f}" in shown.stdout
    missing = _runner().invoke(_cli(), ["predict", str(out), str(tmp_path / "no.png")])
    assert missing.exit_code == 2 and "error:" in missing.stderr
    assert "no.png: no such file" in missing.stderr


def test_onnx_predict_imports_no_tensorflow(trained_run, tmp_path):
    out = tmp_path / "m.onnx"
    res = _runner().invoke(
        _cli(), ["export", str(trained_run), "--onnx", "-o", str(out)]
    )
    assert res.exit_code == 0, res.stderr
    paths, _ = _digit_pngs(tmp_path, 2)
    code = (
        "import sys, json\n"
        "from modelspec.onnx_file.predict import predict_onnx\n"
        f"r = predict_onnx({str(out)!r}, {paths!r}, top_k=2)\n"
        "bad = [m for m in ('tensorflow', 'keras', 'tf2onnx', 'onnx') "
        "if m in sys.modules]\n"
        "print(json.dumps({'n': len(r), 'k': len(r[0][1]), 'bad': bad}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {
        "n": 2,
        "k": 2,
        "bad": [],
    }


def test_cli_spec_export_warns_and_usage_errors(tmp_path):
    app = _cli()
    runner = _runner()
    spec = ROOT / "specs" / "mnist_softmax.toml"
    out = tmp_path / "s.onnx"
    res = runner.invoke(
        app,
        [
            "export",
            str(spec),
            "--onnx",
            "-o",
            str(out),
            "--random-inputs",
            "--opset",
            "15",
        ],
    )
    assert res.exit_code == 0, res.stderr
    assert "untrained" in res.stderr and "random" in res.stdout
    assert _props(out)["opset"] == "15"
    res = runner.invoke(app, ["export", str(spec), "-o", str(tmp_path / "t.onnx")])
    assert res.exit_code == 2 and "--onnx" in res.stderr
    res = runner.invoke(app, ["export", str(tmp_path / "nope.toml"), "--onnx"])
    assert res.exit_code == 2 and "error:" in res.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text(
        '[model]\nname = "b"\ninput = [4]\n\n[[layers]]\ntype = "dense"\n'
    )
    res = runner.invoke(app, ["export", str(broken), "--onnx"])
    assert res.exit_code == 1 and "error" in res.stderr
    assert not (tmp_path / "t.onnx").exists() and not Path("b.onnx").exists()


def test_predict_refuses_files_without_metadata(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    from modelspec.errors import UsageError
    from modelspec.onnx_file.predict import predict_onnx

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])],
    )
    path = tmp_path / "plain.onnx"
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8
    )
    onnx.save(model, str(path))
    arr = tmp_path / "a.npy"
    np.save(arr, np.zeros(2, dtype=np.float32))
    with pytest.raises(UsageError, match="no modelspec metadata"):
        predict_onnx(path, [arr])
