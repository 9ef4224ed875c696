"""Augmentation in the tf.data pipeline: reproducible by seed, independent of
where an epoch starts (resume identity), each op doing what its key says,
the training crop random and the evaluation crop central, and the PNG grid
of `modelspec augment` / a run's augment.png."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from modelspec.check import check_text
from modelspec.schema import DataTable

pytestmark = pytest.mark.framework

ALL = {
    "crop": [6, 6],
    "translate": 1,
    "flip": True,
    "brightness": 3,
    "contrast": [0.6, 1.4],
    "cutout": 2,
}


def digits(augment, scale="per_image", limit=64):
    from modelspec.data import load_data

    table = DataTable(
        dataset="digits", validation=0, limit=limit, scale=scale, augment=augment
    )
    shape = tuple(augment["crop"]) + (1,) if augment.get("crop") else (8, 8, 1)
    return table, load_data(table, shape)


def batches(table, splits, seed=5, first=0, last=2):
    from backends.keras_backend.pipeline import train_dataset

    ds = train_dataset(
        splits.x_train,
        splits.y_train,
        batch_size=16,
        seed=seed,
        first_epoch=first,
        last_epoch=last,
        augment=table.augment,
        preprocessing=splits.preprocessing,
    )
    return np.concatenate([b[0].numpy() for b in ds])


def test_same_seed_same_examples_other_seed_others():
    table, splits = digits(ALL)
    a, b = batches(table, splits), batches(table, splits)
    assert a.shape == (128, 6, 6, 1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, batches(table, splits, seed=6))


def test_an_epoch_does_not_depend_on_where_training_started():
    table, splits = digits(ALL)
    full = batches(table, splits, first=0, last=3)
    tail = batches(table, splits, first=1, last=3)
    np.testing.assert_array_equal(full[64:], tail)
    assert not np.array_equal(full[:64], full[64:128])


def test_training_examples_are_standardized_per_image():
    table, splits = digits({"crop": [6, 6], "flip": True})
    x = batches(table, splits)
    flat = x.reshape(len(x), -1)
    assert np.allclose(flat.mean(axis=1), 0, atol=1e-5)
    assert np.allclose(flat.std(axis=1), 1, atol=1e-3)


def test_each_op_changes_only_what_it_should():
    import tensorflow as tf

    from backends.keras_backend.augment import augment_example
    from modelspec.schema.tables import Augment

    rng = np.random.default_rng(0)
    image = rng.uniform(0, 1, (8, 8, 3)).astype(np.float32)
    seed = tf.constant([1, 2], tf.int64)

    def run(factors=None, **keys):
        factors = np.ones(3, np.float32) if factors is None else factors
        out = augment_example(
            tf,
            tf.constant(image),
            Augment(**keys),
            seed,
            factors=factors,
            per_image=False,
        )
        return out.numpy()

    shifted = run(brightness=10.0, factors=np.full(3, 1 / 255, np.float32))
    delta = shifted - image
    # one delta for every pixel, within 10 of 0..255 pixels
    assert np.allclose(delta, delta.flat[0], atol=1e-6)
    assert 0 < abs(delta.flat[0]) <= 10 / 255
    cropped = run(crop=[5, 5])
    assert cropped.shape == (5, 5, 3)
    hits = [
        (i, j)
        for i in range(4)
        for j in range(4)
        if np.array_equal(image[i : i + 5, j : j + 5], cropped)
    ]
    assert len(hits) == 1  # a window of the image
    holed = run(cutout=3)
    zero = np.all(holed == 0, axis=-1)
    assert 1 <= zero.sum() <= 9 and np.array_equal(holed[~zero], image[~zero])
    moved = run(translate=2)
    assert moved.shape == image.shape and not np.array_equal(moved, image)
    contrast = run(contrast=[0.5, 0.6])
    mean = image.mean(axis=(0, 1))
    f = (contrast - mean) / (image - mean)
    assert np.allclose(f, f.flat[0], atol=1e-3) and 0.5 <= f.flat[0] < 0.6


def test_evaluation_uses_the_central_crop():
    from modelspec.data import preprocess
    from modelspec.data.digits import load_digits

    _, splits = digits({"crop": [6, 6], "flip": True}, scale="unit")
    raw = np.asarray(load_digits().x_test, dtype=np.float32)
    assert splits.x_test.shape == (len(raw), 6, 6, 1)
    np.testing.assert_allclose(splits.x_test[..., 0], raw[:, 1:7, 1:7] / 16.0)
    # x_train keeps whole images for the random crop; model_x crops them
    assert splits.x_train.shape[1:] == (8, 8, 1)
    assert splits.model_x("train").shape[1:] == (6, 6, 1)
    # new raw images through predict's path: uncropped in, cut centrally
    pp = splits.preprocessing
    assert pp["crop"] == [6, 6] and pp["raw_shape"] == [8, 8, 1]
    again = preprocess(raw[:3], pp)
    np.testing.assert_allclose(again.reshape(3, 6, 6, 1), splits.x_test[:3])


def test_per_image_numpy_matches_tensorflow():
    import tensorflow as tf

    from modelspec.data.evalops import per_image_standardize

    rng = np.random.default_rng(1)
    x = rng.uniform(0, 255, (4, 24, 24, 3)).astype(np.float32)
    x[3] = 42.0
    ref = np.stack([tf.image.per_image_standardization(i).numpy() for i in x])
    np.testing.assert_allclose(per_image_standardize(x), ref, atol=1e-5)


# -- the grid -------------------------------------------------------------------

GRID_SPEC = """\
[model]
name = "grid"
input = [6, 6, 1]
classes = 10

[[layers]]
type = "flatten"

[[layers]]
type = "dense"
units = 10

[data]
dataset = "digits"
limit = 64

[data.augment]
crop = [6, 6]
flip = true
brightness = 3

[train]
seed = {seed}
"""


def grid(seed, examples=3, variants=4):
    from backends.keras_backend.augment_grid import augment_png, views
    from backends.keras_backend.pipeline import load_splits

    report = check_text(GRID_SPEC.format(seed=seed))
    assert report.ok, [d.render() for d in report.diagnostics]
    splits = load_splits(report.spec)
    originals, rows = views(splits, report.spec.data.augment, seed, examples, variants)
    png = augment_png(report.spec, splits, examples=examples, variants=variants)
    return png, originals, rows


def test_grid_png_shows_each_example_beside_its_views():
    from PIL import Image

    from backends.keras_backend.augment_grid import GAP, MIN_CELL

    png, originals, rows = grid(seed=1)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.verify()
    # 3 rows of 1 + 4 cells; 8-pixel digits drawn 8x in 64-pixel cells
    assert MIN_CELL == 64
    assert image.size == (5 * 64 + 6 * GAP, 3 * 64 + 4 * GAP)
    assert originals.shape == (3, 8, 8, 1)
    assert all(len(r) == 4 and r[0].shape == (6, 6, 1) for r in rows)
    for orig, row in zip(originals, rows, strict=True):
        centre = orig[1:7, 1:7]
        assert any(not np.allclose(v, centre) for v in row)
    assert grid(seed=1)[0] == png  # same seed: the same bytes
    assert grid(seed=2)[0] != png


def test_a_run_keeps_its_augment_png(tmp_path):
    from backends.keras_backend.train import train

    text = GRID_SPEC.format(seed=3) + "epochs = 1\n"
    run = train(check_text(text), out=tmp_path).run_dir
    png = (run / "augment.png").read_bytes()
    assert png == grid(seed=3, examples=8, variants=6)[0]


RESUME_SPEC = """\
[model]
name = "resume_augment"
input = [6, 6, 1]
classes = 10

[[layers]]
type = "conv2d"
filters = 4
kernel = 3
activation = "relu"

[[layers]]
type = "flatten"

[[layers]]
type = "dense"
units = 10

[data]
dataset = "digits"
validation = 64
limit = 192
scale = "per_image"

[data.augment]
crop = [6, 6]
translate = 1
flip = true
brightness = 2
contrast = [0.7, 1.3]
cutout = 2

[train]
epochs = 3
batch_size = 32
seed = 9
optimizer = { type = "sgd", learning_rate = 0.05, momentum = 0.9 }
"""


def test_interrupted_and_resumed_run_ends_with_the_same_weights(tmp_path):
    from backends.keras_backend import load_model
    from backends.keras_backend.train import TrainingInterrupted, resume, train

    def weights(run):
        model = load_model(run / "last.keras", compile=False)
        return [np.asarray(w) for w in model.get_weights()]

    straight = train(check_text(RESUME_SPEC), out=tmp_path / "a").run_dir
    with pytest.raises(TrainingInterrupted) as info:
        train(check_text(RESUME_SPEC), out=tmp_path / "b", stop_after_epochs=1)
    resume(info.value.run_dir)
    a, b = weights(straight), weights(info.value.run_dir)
    for wa, wb in zip(a, b, strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_augment_command_writes_the_grid(tmp_path):
    import subprocess
    import sys

    from PIL import Image

    spec = tmp_path / "grid.toml"
    spec.write_text(GRID_SPEC.format(seed=1))
    out = tmp_path / "grid.png"
    cmd = [sys.executable, "-m", "modelspec", "augment", str(spec), "-o", str(out)]
    done = subprocess.run(
        [*cmd, "-n", "3", "--variants", "4"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert f"wrote {out} (3 examples)" in done.stdout
    assert out.read_bytes() == grid(seed=1)[0]
    assert Image.open(out).size[0] > Image.open(out).size[1]  # 5 columns, 3 rows
    # A spec that augments nothing has nothing to show: exit 1, no file.
    plain = tmp_path / "plain.toml"
    plain.write_text(
        GRID_SPEC.format(seed=1)
        .replace("flip = true\n", "")
        .replace("crop = [6, 6]\n", "")
        .replace("brightness = 3\n", "")
        .replace("input = [6, 6, 1]", "input = [8, 8, 1]")
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelspec",
            "augment",
            str(plain),
            "-o",
            str(tmp_path / "none.png"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "nothing to show" in done.stderr
    assert not (tmp_path / "none.png").exists()
