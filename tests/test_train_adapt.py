"""`normalization` without mean/variance is adapted from the training split
before fit: after a real training run on digits, its weights are numpy's mean
and variance over exactly that split (not validation, not test)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from helpers import spec_text

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MODELSPEC_OFFLINE", "1")

pytestmark = pytest.mark.framework

LAYERS = [
    {"type": "normalization", "name": "pixels", "axis": [0, 1]},
    {"type": "normalization", "name": "fixed", "mean": 0.5, "variance": 4.0},
    {"type": "normalization", "name": "left", "adapt": False},
    {"type": "conv2d", "name": "conv", "filters": 4, "kernel": 3},
    {"type": "flatten", "name": "flat"},
    {"type": "dense", "name": "logits", "units": 10},
]


def _report(tmp_path, layers=LAYERS):
    from modelspec.check import check_file

    text = spec_text(layers, input=(8, 8, 1), name="adapt_digits", classes=10)
    text += '\n[data]\ndataset = "digits"\nvalidation = 0.2\nlimit = 400\n'
    text += "\n[train]\nepochs = 1\nbatch_size = 64\n"
    path = tmp_path / "adapt.toml"
    path.write_text(text)
    report = check_file(path)
    assert report.ok, [d.render() for d in report.diagnostics]
    return report


def test_training_adapts_to_the_training_split(tmp_path):
    from backends.keras_backend import load_model
    from backends.keras_backend.pipeline import load_splits
    from backends.keras_backend.train import train

    report = _report(tmp_path)
    splits = load_splits(report.spec)
    result = train(report, out=tmp_path / "runs", splits=splits)
    model = load_model(result.run_dir / "last.keras")
    x = splits.x_train
    assert len(x) == 400 and len(splits.x_val) > 0  # limit = 400 training images
    mean, variance, _count = model.get_layer("pixels").get_weights()
    np.testing.assert_allclose(mean, x.mean(axis=(0, 3)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(variance, x.var(axis=(0, 3)), rtol=1e-5, atol=1e-6)
    assert mean.shape == (8, 8)
    # Not the statistics of all the data: validation is left out.
    everything = np.concatenate([x, splits.x_val])
    assert np.abs(mean - everything.mean(axis=(0, 3))).max() > 1e-4
    # adapt = false and fixed statistics are left alone.
    left_mean, left_var, _ = model.get_layer("left").get_weights()
    assert left_mean.tolist() == [0.0] and left_var.tolist() == [1.0]
    assert model.get_layer("fixed").get_weights() == []


def test_a_deeper_layer_adapts_to_what_it_reads(tmp_path):
    """Graph order: the second layer sees the first one's adapted output."""
    import keras

    from backends.keras_backend import build_model
    from backends.keras_backend.adapt import adapt_model

    layers = [
        {"type": "conv2d", "name": "conv", "filters": 3, "kernel": 3},
        {"type": "normalization", "name": "first"},
        {"type": "rescaling", "name": "double", "scale": 2.0, "offset": 1.0},
        {"type": "normalization", "name": "second", "axis": [2]},
        {"type": "flatten", "name": "flat"},
        {"type": "dense", "name": "logits", "units": 10},
    ]
    report = _report(tmp_path, layers)
    model = build_model(report, seed=0)
    x = np.random.default_rng(0).normal(3, 2, size=(50, 8, 8, 1)).astype("float32")
    assert adapt_model(model, report, x) == ["first", "second"]
    conv = np.asarray(keras.Model(model.input, model.get_layer("conv").output)(x))
    mean, var, _ = model.get_layer("first").get_weights()
    np.testing.assert_allclose(mean, conv.mean(axis=(0, 1, 2)), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(var, conv.var(axis=(0, 1, 2)), rtol=1e-4, atol=1e-5)
    # After adapting, "first" standardises each channel: "second" sees 2z + 1.
    mean2, var2, _ = model.get_layer("second").get_weights()
    np.testing.assert_allclose(mean2, np.ones(3), atol=1e-3)
    np.testing.assert_allclose(var2, np.full(3, 4.0), rtol=1e-3)
