"""Evaluation-time preprocessing leaves with the model: a run trained on
random crops with per-image standardization, exported to ONNX, classifies the
real digits test images (given raw and uncropped) exactly as `evaluate` on
the run does: `predict` cuts the central crop and standardizes each image from
the file's metadata."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from modelspec.check import check_text

pytestmark = pytest.mark.framework

SPEC = """\
[model]
name = "digits_crop"
input = [6, 6, 1]
classes = 10

[[layers]]
type = "conv2d"
name = "conv1"
filters = 8
kernel = 3
padding = "same"
activation = "relu"

[[layers]]
type = "flatten"

[[layers]]
type = "dense"
name = "logits"
units = 10

[data]
dataset = "digits"
validation = 100
scale = "per_image"

[data.augment]
crop = [6, 6]
flip = true
contrast = [0.8, 1.2]

[train]
epochs = 3
batch_size = 32
optimizer = { type = "adam", learning_rate = 0.01 }
"""


def test_onnx_predict_and_run_evaluate_agree_on_real_test_images(tmp_path):
    from backends.keras_backend.finish import evaluate_run, predict_run
    from backends.keras_backend.train import train
    from modelspec.data.digits import load_digits
    from modelspec.onnx_file import metadata as onnx_meta
    from modelspec.onnx_file.predict import probabilities

    report = check_text(SPEC)
    assert report.ok, [d.render() for d in report.diagnostics]
    run = train(report, out=tmp_path / "runs").run_dir
    results, _ = evaluate_run(run)
    accuracy = results["test"]["accuracy"]
    assert accuracy > 0.3  # it learned something: agreement is not all-one-class

    raw = load_digits()
    x_raw = np.asarray(raw.x_test, dtype=np.float32)  # (360, 8, 8), 0..16
    y = np.asarray(raw.y_test)
    npy = tmp_path / "test_images.npy"
    np.save(npy, x_raw)

    onnx_path = tmp_path / "digits_crop.onnx"
    cmd = [sys.executable, "-m", "modelspec", "export", str(run), "--onnx"]
    done = subprocess.run(
        [*cmd, "-o", str(onnx_path)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    _, probs, meta = probabilities(onnx_path, [npy])
    assert meta["input_shape"] == [6, 6, 1]  # the graph takes the crop
    prep = meta["preprocessing"]
    assert prep["scale"] == "per_image" and prep["crop"] == [6, 6]
    assert prep["raw_shape"] == [8, 8, 1]
    assert onnx_meta.FORMULA in prep["formula"]
    onnx_top1 = probs.argmax(axis=1)
    assert probs.shape == (360, 10)
    # Keras reports a float32 mean: compare counts of correct test images.
    assert int((onnx_top1 == y).sum()) == round(accuracy * len(y))

    ranked = predict_run(run, [str(npy)], top_k=1)
    run_top1 = np.array([int(top[0][0]) for _, top in ranked])
    np.testing.assert_array_equal(run_top1, onnx_top1)
