"""Data processing (subset, validation, limits, scaling, shapes), npz files,
image folders and image files for predict. Fixtures: tests/data_files.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import data_files as F
from data_files import error, isolated, table  # noqa: F401 (autouse fixture)
from modelspec.data import load_data, load_image_files, preprocess

MNIST = (28, 28, 1)
CIFAR = (32, 32, 3)


# --- npz ------------------------------------------------------------------------


def _npz(path: Path, n_train=20, n_test=6, shape=(28, 28), **extra) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        x_train=F.pattern(n_train, shape),
        y_train=F.labels(n_train),
        x_test=F.pattern(n_test, shape),
        y_test=F.labels(n_test),
        **extra,
    )
    return path


def test_npz_with_class_names_and_validation_file(tmp_path):
    path = _npz(tmp_path / "d.npz", class_names=np.array([f"c{i}" for i in range(10)]))
    val = tmp_path / "v.npz"
    np.savez(val, x_val=F.pattern(4, (28, 28), 200), y_val=F.labels(4))
    s = load_data(table(dataset="npz", path=str(path), validation_path=str(val)), MNIST)
    assert s.x_train.shape == (20, 28, 28, 1) and s.class_names[3] == "c3"
    assert s.x_val.shape == (4, 28, 28, 1) and len(s.x_train) == 20  # no split
    assert np.allclose(s.x_val[:, 0, 0, 0], np.arange(200, 204) / 255.0)
    assert s.name == "d.npz" and s.preprocessing["divide"] == 255.0


def test_npz_one_hot_and_float_unit_data(tmp_path):
    path = tmp_path / "f.npz"
    x = np.random.default_rng(0).random((10, 4, 4, 3)).astype(np.float32)
    np.savez(
        path,
        x_train=x,
        y_train=np.eye(3)[np.arange(10) % 3],
        x_test=x[:2],
        y_test=np.array([[1], [2]]),
    )
    s = load_data(table(dataset="npz", path=str(path)), (4, 4, 3))
    assert s.y_train.tolist() == [i % 3 for i in range(10)]
    assert s.y_test.tolist() == [1, 2]
    assert s.preprocessing["divide"] == 1.0 and np.allclose(s.x_train, x)
    assert s.num_classes == 3 and s.class_names == ["0", "1", "2"]


def test_npz_errors(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, x_train=np.zeros((2, 3)), y_train=np.zeros(2))
    e = error(load_data, table(dataset="npz", path=str(path)), (3,))
    assert "missing arrays ['x_test', 'y_test']" in e.message and "x_train" in e.message
    np.savez(
        path,
        x_train=np.array([{"a": 1}], dtype=object),
        y_train=[0],
        x_test=[0],
        y_test=[0],
    )
    e = error(load_data, table(dataset="npz", path=str(path)), (1,))
    assert "cannot load" in e.message and "allow_pickle" in e.message
    e = error(load_data, table(dataset="npz", path=str(tmp_path / "none.npz")), (1,))
    assert "no such file" in e.message
    good = _npz(tmp_path / "g.npz")
    val = tmp_path / "v.npz"
    np.savez(val, x=np.zeros(1))
    e = error(
        load_data, table(dataset="npz", path=str(good), validation_path=str(val)), MNIST
    )
    assert "['x_val', 'y_val']" in e.message
    np.savez(
        path,
        x_train=np.zeros((3, 2)),
        y_train=np.zeros(2),
        x_test=np.zeros((1, 2)),
        y_test=np.zeros(1),
    )
    e = error(load_data, table(dataset="npz", path=str(path)), (2,))
    assert "3 examples but 2 labels" in e.message
    np.savez(
        path,
        x_train=np.full((3, 2), 1000),
        y_train=np.zeros(3),
        x_test=np.zeros((1, 2)),
        y_test=np.zeros(1),
    )
    e = error(load_data, table(dataset="npz", path=str(path)), (2,))
    assert "0..1000" in e.message and "standardize" in e.hint
    np.savez(
        path,
        x_train=np.zeros((3, 2)),
        y_train=[0.5, 1, 2],
        x_test=np.zeros((1, 2)),
        y_test=np.zeros(1),
    )
    assert (
        "non-integer"
        in error(load_data, table(dataset="npz", path=str(path)), (2,)).message
    )
    np.savez(
        path,
        x_train=np.zeros((3, 2)),
        y_train=[0, -1, 2],
        x_test=np.zeros((1, 2)),
        y_test=np.zeros(1),
    )
    assert (
        "negative label -1"
        in error(load_data, table(dataset="npz", path=str(path)), (2,)).message
    )


# --- processing: subset, validation, limits, scaling, shapes ---------------------


@pytest.fixture
def mnist_dir(tmp_path):
    return str(F.write_idx_set(tmp_path / "m", n_train=40, n_test=20))


def test_class_subset_relabels_in_given_order(mnist_dir):
    s = load_data(table(dataset="fashion_mnist", path=mnist_dir, classes=[3, 1]), MNIST)
    assert s.class_names == ["Dress", "Trouser"] and s.num_classes == 2
    assert len(s.x_train) == 8 and set(s.y_train.tolist()) == {0, 1}
    # Example i has label i % 10 and pixel i: label 3 -> 0, label 1 -> 1.
    pixels = np.round(s.x_train[:, 0, 0, 0] * 255).astype(int)
    assert s.y_train.tolist() == [0 if p % 10 == 3 else 1 for p in pixels]
    assert pixels.tolist() == [1, 3, 11, 13, 21, 23, 31, 33]


def test_class_subset_errors(mnist_dir, tmp_path):
    e = error(load_data, table(dataset="mnist", path=mnist_dir, classes=[1, 12]), MNIST)
    assert "[12]" in e.message and "does not have" in e.message
    path = tmp_path / "d.npz"
    np.savez(
        path,
        x_train=np.zeros((4, 2)),
        y_train=[0, 1, 2, 2],
        x_test=np.zeros((2, 2)),
        y_test=[0, 0],
    )
    e = error(load_data, table(dataset="npz", path=str(path), classes=[1, 2]), (2,))
    assert "test split is empty" in e.message and "[1, 2]" in e.message


def test_validation_from_the_end(mnist_dir):
    s = load_data(table(dataset="mnist", path=mnist_dir, validation=5), MNIST)
    assert len(s.x_train) == 35 and len(s.x_val) == 5
    assert np.allclose(s.x_val[:, 0, 0, 0] * 255, range(35, 40))
    s = load_data(table(dataset="mnist", path=mnist_dir, validation=0.25), MNIST)
    assert len(s.x_val) == 10 and np.allclose(s.x_val[0, 0, 0, 0] * 255, 30)
    # limit keeps the first N of what is left after holding out validation
    s = load_data(
        table(dataset="mnist", path=mnist_dir, validation=5, limit=7, test_limit=3),
        MNIST,
    )
    assert len(s.x_train) == 7 and len(s.x_val) == 5 and len(s.x_test) == 3
    assert np.allclose(s.x_train[:, 0, 0, 0] * 255, range(7))


def test_validation_errors(mnist_dir):
    e = error(load_data, table(dataset="mnist", path=mnist_dir, validation=40), MNIST)
    assert "validation = 40" in e.message and "only 40" in e.message
    e = error(load_data, table(dataset="mnist", path=mnist_dir, validation=0.01), MNIST)
    assert "empty validation split" in e.message


def test_empty_training_and_validation_splits(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(
        path,
        x_train=np.zeros((0, 2)),
        y_train=np.zeros(0, int),
        x_test=np.zeros((2, 2)),
        y_test=[0, 1],
    )
    e = error(load_data, table(dataset="npz", path=str(path)), (2,))
    assert "training split is empty" in e.message
    np.savez(
        path,
        x_train=np.zeros((4, 2)),
        y_train=[0, 1, 2, 2],
        x_test=np.zeros((2, 2)),
        y_test=[0, 1],
    )
    val = tmp_path / "v.npz"
    np.savez(val, x_val=np.zeros((2, 2)), y_val=[2, 2])
    e = error(
        load_data,
        table(dataset="npz", path=str(path), classes=[0, 1], validation_path=str(val)),
        (2,),
    )
    assert "validation split is empty after keeping classes [0, 1]" in e.message


def test_labels_out_of_range_for_model(mnist_dir):
    e = error(load_data, table(dataset="mnist", path=mnist_dir), MNIST, classes=9)
    assert "label 9" in e.message and "classes = 9" in e.message
    assert "[data] classes" in e.hint
    s = load_data(
        table(dataset="mnist", path=mnist_dir, classes=list(range(9))), MNIST, classes=9
    )
    assert s.y_train.max() == 8 and s.num_classes == 9


@pytest.mark.parametrize("shape", [(28, 28), (784,), (28, 28, 1), (1, 28, 28)])
def test_reshape_to_input(mnist_dir, shape):
    s = load_data(table(dataset="mnist", path=mnist_dir), shape)
    assert s.x_train.shape == (40, *shape) and s.x_test.shape == (20, *shape)


@pytest.mark.parametrize("shape", [(32, 32, 3), (14, 56, 1), (28, 28, 3), (785,)])
def test_shape_mismatch_names_both_shapes(mnist_dir, shape):
    e = error(load_data, table(dataset="mnist", path=mnist_dir), shape)
    assert "(28, 28)" in e.message and str(list(shape)) in e.message


def test_standardize_uses_training_split_only(tmp_path):
    folder = F.write_cifar_dir(
        tmp_path / "c" / "cifar-10-batches-bin", "cifar10", "bin", per_batch=4
    )
    s = load_data(
        table(
            dataset="cifar10",
            path=str(tmp_path / "c"),
            validation=4,
            scale="standardize",
        ),
        CIFAR,
    )
    pp = s.preprocessing
    # training = batches 1..4 (offsets 0, 10, 20, 30; values offset + i, i < 4)
    train_values = np.array([o + i for o in (0, 10, 20, 30) for i in range(4)], float)
    assert np.allclose(pp["mean"], train_values.mean() + np.array([0, 100, 200]))
    assert np.allclose(pp["std"], [train_values.std()] * 3)
    assert abs(float(s.x_train.mean())) < 1e-5 and s.x_val.mean() > 1
    raw = np.stack([F.cifar_planes(1, 0).reshape(3, 32, 32).transpose(1, 2, 0)])
    assert np.allclose(preprocess(raw, pp), s.x_train[:1], atol=1e-6)
    flat = preprocess(raw.reshape(1, -1), pp)  # flat inputs: channels last
    assert np.allclose(flat.reshape(1, 32, 32, 3), s.x_train[:1], atol=1e-6)
    assert folder.exists()


def test_scale_none_and_preprocess_errors(mnist_dir):
    s = load_data(table(dataset="mnist", path=mnist_dir, scale="none"), MNIST)
    assert s.x_train.max() == 39 and s.preprocessing == {
        "scale": "none",
        "raw_max": 255.0,
        "image_size": [28, 28],
    }
    assert "unknown preprocessing" in error(preprocess, [1], {"scale": "x"}).message


def test_augment_passes_through(mnist_dir):
    t = table(dataset="mnist", path=mnist_dir, augment={"flip": True, "pad_crop": 2})
    assert load_data(t, MNIST).augment == t.augment


# --- image folders and files ----------------------------------------------------


def _png_folder(root: Path, classes=("cat", "ant", "bee"), n=5, size=(10, 12)):
    for k, name in enumerate(classes):
        for i in range(n):
            rgb = np.zeros((*size, 3), np.uint8)
            rgb[..., k] = 10 * i + 50 * k + 1
            F.write_png(root / name / f"{i:02d}.png", rgb)
    (root / classes[0] / "notes.txt").write_text("not an image")
    return root


def test_image_folder_split_by_class(tmp_path):
    root = _png_folder(tmp_path / "img")
    s = load_data(table(dataset="images", path=str(root)), (10, 12, 3))
    assert s.class_names == ["ant", "bee", "cat"] and s.num_classes == 3
    assert len(s.x_train) == 12 and len(s.x_test) == 3  # last 20% of each class
    assert sorted(s.y_test.tolist()) == [0, 1, 2]
    # The test image of class 'ant' (k=1) is its last file, i = 4.
    ant = s.x_test[s.y_test.tolist().index(0)]
    assert np.allclose(ant[0, 0] * 255, [0, 91, 0])
    assert s.preprocessing == {
        "scale": "unit",
        "divide": 255.0,
        "raw_max": 255.0,
        "image_size": [10, 12],
    }


def test_image_folder_train_test_resize_gray(tmp_path):
    _png_folder(tmp_path / "img" / "train", classes=("a", "b"), n=3)
    _png_folder(tmp_path / "img" / "test", classes=("a",), n=2)
    s = load_data(
        table(dataset="images", path=str(tmp_path / "img"), image_size=[5, 6]),
        (5, 6, 1),
    )
    assert s.x_train.shape == (6, 5, 6, 1) and s.x_test.shape == (2, 5, 6, 1)
    assert s.y_test.tolist() == [0, 0]
    s = load_data(
        table(dataset="images", path=str(tmp_path / "img"), image_size=[5, 6]), (90,)
    )
    assert s.x_train.shape == (6, 90)
    e = error(load_data, table(dataset="images", path=str(tmp_path / "img")), (90,))
    assert "image_size" in e.hint


def test_image_folder_errors(tmp_path):
    root = _png_folder(tmp_path / "img", n=2)
    (root / "empty").mkdir()
    e = error(load_data, table(dataset="images", path=str(root)), (10, 12, 3))
    assert "'empty' holds no images" in e.message
    (root / "empty" / "x.png").write_bytes(b"not a png")
    e = error(load_data, table(dataset="images", path=str(root)), (10, 12, 3))
    assert "x.png" in e.message and "cannot read" in e.message
    e = error(load_data, table(dataset="images", path=str(tmp_path / "no")), (4, 4, 3))
    assert "no such folder" in e.message


def test_load_image_files_png_and_npy(tmp_path):
    png = F.write_png(tmp_path / "a.png", np.full((16, 16), 255, np.uint8))
    npy = tmp_path / "b.npy"
    np.save(npy, np.full((2, 8, 8), 3.0))
    x = load_image_files([png, npy], (8, 8, 1), raw_max=16.0)
    assert x.shape == (3, 8, 8, 1) and x.dtype == np.float32
    assert np.allclose(x[0], 16.0) and np.allclose(x[1:], 3.0)
    pp = {"scale": "unit", "divide": 16.0, "raw_max": 16.0, "image_size": [8, 8]}
    x = load_image_files([png], (64,), preprocessing=pp)
    assert x.shape == (1, 64) and np.allclose(preprocess(x, pp), 1.0)
    rgb = load_image_files([png], (4, 4, 3))
    assert rgb.shape == (1, 4, 4, 3) and np.allclose(rgb, 255.0)
    np.save(npy, np.zeros((5, 5)))
    e = error(load_image_files, [npy], (8, 8, 1))
    assert "(5, 5)" in e.message and "[8, 8, 1]" in e.message


def test_no_framework_imports():
    code = (
        "import sys; import modelspec.data.info;"
        "assert 'numpy' not in sys.modules, 'info imported numpy';"
        "from modelspec.data import load_data; from modelspec.schema import DataTable;"
        "load_data(DataTable(dataset='digits'), (8, 8, 1));"
        "bad = [m for m in ('tensorflow', 'keras', 'onnx') if m in sys.modules];"
        "assert not bad, bad"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
