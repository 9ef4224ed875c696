"""Data loading (modelspec/data/): the loaders, on real formats in tmp_path.

No TensorFlow, no downloads: MODELSPEC_OFFLINE=1, and every search location
(Keras cache, /tmp fallback, system folders) points into tmp_path.
Processing, npz and image folders: tests/test_data_processing.py.
"""

from __future__ import annotations

import gzip
import os
import pickle
import zlib
from pathlib import Path

import numpy as np
import pytest

import data_files as F
from data_files import error, isolated, table  # noqa: F401 (autouse fixture)
from modelspec.data import load_data, locate
from modelspec.data.cifar import safe_loads
from modelspec.data.info import CLASS_NAMES, DATASETS

MNIST = (28, 28, 1)
CIFAR = (32, 32, 3)
SYSTEM_DIRS = locate.SYSTEM_DIRS


# --- digits (real, bundled with scikit-learn) -----------------------------------


def test_digits_for_real():
    s = load_data(table(dataset="digits"), (8, 8, 1))
    assert s.x_train.shape == (1437, 8, 8, 1) and s.x_test.shape == (360, 8, 8, 1)
    assert s.x_train.dtype == np.float32 and s.y_train.dtype == np.int64
    assert s.num_classes == 10 and s.class_names == [str(i) for i in range(10)]
    assert s.x_train.min() >= 0.0 and s.x_train.max() == 1.0
    assert s.preprocessing["scale"] == "unit" and s.preprocessing["divide"] == 16.0
    assert sorted(set(s.y_test.tolist())) == list(range(10))  # stratified
    again = load_data(table(dataset="digits"), (8, 8, 1), seed=7)
    assert np.array_equal(s.x_test, again.x_test)  # fixed split, whatever the seed
    assert s.x_val.shape == (0, 8, 8, 1) and s.y_val.shape == (0,)


def test_digits_validation_flat_and_describe():
    s = load_data(table(dataset="digits", validation=0.1), (64,))
    assert s.x_train.shape == (1293, 64) and s.x_val.shape == (144, 64)
    assert s.describe() == (
        "digits: 1293 train, 144 validation, 360 test examples "
        "of shape (64,), 10 classes, scale unit (/16)"
    )


# --- MNIST / Fashion-MNIST: IDX and mnist.npz ----------------------------------


def test_idx_gz_from_modelspec_data(tmp_path, monkeypatch):
    F.write_idx_set(tmp_path / "data" / "mnist", n_train=30, n_test=10)
    monkeypatch.setenv("MODELSPEC_DATA", str(tmp_path / "data"))
    s = load_data(table(dataset="mnist"), MNIST)
    assert s.x_train.shape == (30, 28, 28, 1) and s.x_test.shape == (10, 28, 28, 1)
    assert s.y_train.tolist() == [i % 10 for i in range(30)]
    assert np.allclose(s.x_train[:, 0, 0, 0], np.arange(30) / 255.0)
    assert s.source == str(tmp_path / "data" / "mnist")


def test_idx_uncompressed_and_path_key(tmp_path):
    F.write_idx_set(tmp_path / "fm", gz=False, n_train=12, n_test=4)
    s = load_data(table(dataset="fashion_mnist", path=str(tmp_path / "fm")), (784,))
    assert s.x_train.shape == (12, 784)
    assert s.class_names[9] == "Ankle boot"


def test_idx_bad_magic_and_truncated(tmp_path):
    folder = F.write_idx_set(tmp_path / "m", n_train=5, n_test=5)
    good = (folder / "train-images-idx3-ubyte.gz").read_bytes()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x01\x02" * 20))
    e = error(load_data, table(dataset="mnist", path=str(folder)), MNIST)
    assert "bad magic number" in e.message
    (folder / "train-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(gzip.decompress(good)[:-100])
    )
    e = error(load_data, table(dataset="mnist", path=str(folder)), MNIST)
    assert "truncated" in e.message and "(5, 28, 28)" in e.message
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    e = error(load_data, table(dataset="mnist", path=str(folder)), MNIST)
    assert "cannot read the IDX file" in e.message


def test_idx_gzip_bomb_is_refused_without_inflating_it(tmp_path):
    import tracemalloc

    folder = F.write_idx_set(tmp_path / "m", n_train=5, n_test=5)
    # A valid header for 5 images of 28x28, then 512 MiB of zeros: about 0.5 MB
    # packed. Inflating it whole would need the 512 MiB.
    header = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (5, 28, 28))
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    bomb = z.compress(header) + b"".join(z.compress(chunk) for _ in range(512))
    (folder / "train-images-idx3-ubyte.gz").write_bytes(bomb + z.flush())
    tracemalloc.start()
    try:
        e = error(load_data, table(dataset="mnist", path=str(folder)), MNIST)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "larger than its IDX header claims" in e.message
    assert "(5, 28, 28)" in e.message
    assert peak < 64 << 20, f"peak {peak / 2**20:.0f} MiB while refusing the file"


def test_keras_cache_mnist_npz_and_fashion_folder(tmp_path):
    F.write_mnist_npz(tmp_path / "keras" / "datasets" / "mnist.npz", n_train=20)
    F.write_idx_set(tmp_path / "keras" / "datasets" / "fashion-mnist", n_train=8)
    assert len(load_data(table(dataset="mnist"), MNIST).x_train) == 20
    s = load_data(table(dataset="fashion_mnist"), MNIST)
    assert len(s.x_train) == 8
    assert s.source.endswith("fashion-mnist")


def test_lookup_order(tmp_path, monkeypatch):
    # Distinguish the copies by how many training examples each has.
    F.write_idx_set(tmp_path / "path", n_train=11)
    F.write_idx_set(tmp_path / "env" / "fashion-mnist", n_train=12)
    F.write_idx_set(tmp_path / "keras" / "datasets" / "fashion-mnist", n_train=13)
    F.write_idx_set(tmp_path / "system" / "fashion-mnist", n_train=14)
    monkeypatch.setenv("MODELSPEC_DATA", str(tmp_path / "env"))

    def count(**kw):
        return len(load_data(table(dataset="fashion_mnist", **kw), MNIST).x_train)

    assert count(path=str(tmp_path / "path")) == 11
    assert count() == 12  # MODELSPEC_DATA beats the Keras cache
    monkeypatch.delenv("MODELSPEC_DATA")
    assert count() == 13  # the Keras cache beats system folders
    os.rename(tmp_path / "keras", tmp_path / "keras.off")
    assert count() == 14  # e.g. Debian's /usr/share/datasets/fashion-mnist


def test_shared_idx_names_need_a_dataset_folder(tmp_path, monkeypatch):
    # IDX files at the root of MODELSPEC_DATA could be MNIST or Fashion-MNIST.
    F.write_idx_set(tmp_path / "env", n_train=9)
    monkeypatch.setenv("MODELSPEC_DATA", str(tmp_path / "env"))
    e = error(load_data, table(dataset="fashion_mnist"), MNIST)
    assert str(tmp_path / "env" / "fashion-mnist") in e.message


def test_default_system_location_is_debians():
    assert Path("/usr/share/datasets") in SYSTEM_DIRS  # as imported, unpatched
    assert "fashion-mnist" in locate.ALIASES["fashion_mnist"]


def test_offline_message_names_files_and_every_location(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELSPEC_DATA", str(tmp_path / "env"))
    e = error(load_data, table(dataset="fashion_mnist"), MNIST)
    for where in (
        tmp_path / "env" / "fashion-mnist",
        tmp_path / "keras" / "datasets" / "fashion-mnist",
        tmp_path / "tmpkeras" / "fashion-mnist",
        tmp_path / "system" / "fashion-mnist",
    ):
        assert str(where) in e.message
    assert "train-images-idx3-ubyte.gz" in e.message
    assert "t10k-labels-idx1-ubyte.gz" in e.message
    assert "MODELSPEC_OFFLINE=1" in e.message
    assert str(tmp_path / "keras" / "datasets" / "fashion-mnist") in e.hint
    assert "\n" not in e.message
    e = error(load_data, table(dataset="mnist"), MNIST)
    assert "mnist.npz" in e.message and "mnist.npz" in e.hint
    e = error(load_data, table(dataset="cifar10"), CIFAR)
    assert "cifar-10-python.tar.gz" in e.hint and "cifar-10-batches-bin" in e.message


def test_download_into_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELSPEC_OFFLINE", "0")
    fetched = []

    def fake(url, target):
        fetched.append(url)
        name = url.rsplit("/", 1)[-1]
        stem = name[: -len(".gz")]
        data = F.idx_bytes(F.pattern(6, (28, 28)) if "images" in stem else F.labels(6))
        Path(target).write_bytes(gzip.compress(data))

    monkeypatch.setattr(locate, "downloader", fake)
    s = load_data(table(dataset="fashion_mnist"), MNIST)
    assert len(s.x_train) == 6 and len(fetched) == 4
    assert all(u.startswith("https://storage.googleapis.com/") for u in fetched)
    cached = tmp_path / "keras" / "datasets" / "fashion-mnist"
    assert sorted(p.name for p in cached.iterdir()) == sorted(
        u.rsplit("/", 1)[-1] for u in fetched
    )
    load_data(table(dataset="fashion_mnist"), MNIST)
    assert len(fetched) == 4  # second time from the cache


def test_download_failures(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELSPEC_OFFLINE", "0")

    def broken(url, target):
        raise OSError("network is unreachable")

    monkeypatch.setattr(locate, "downloader", broken)
    e = error(load_data, table(dataset="mnist"), MNIST)
    assert "network is unreachable" in e.message and "mnist.npz" in e.hint

    def wrong(url, target):
        Path(target).write_bytes(b"not the real file")

    monkeypatch.setattr(locate, "downloader", wrong)
    e = error(load_data, table(dataset="mnist"), MNIST)
    assert "sha256" in e.message
    assert not (tmp_path / "keras" / "datasets" / "mnist.npz").exists()


# --- CIFAR ----------------------------------------------------------------------


def _check_cifar(s, name, per_batch=3):
    n_train = per_batch * (5 if name == "cifar10" else 1)
    assert s.x_train.shape == (n_train, 32, 32, 3) and s.x_test.shape[0] == per_batch
    # Channel k of example i is (i + offset + 100k) % 256: planes -> channels last.
    first = s.x_train[0, 5, 7] * 255
    assert np.allclose(first, [0, 100, 200])
    assert s.num_classes == (10 if name == "cifar10" else 100)
    # Test batch is the last file: offset 10 * 5 (cifar10) or 10 * 1 (cifar100).
    test_offset = 50 if name == "cifar10" else 10
    assert s.y_test.tolist() == [
        (test_offset + i) % s.num_classes for i in range(per_batch)
    ]


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
@pytest.mark.parametrize("kind", ["bin", "py"])
def test_cifar_folders(tmp_path, monkeypatch, name, kind):
    inner = {
        ("cifar10", "bin"): "cifar-10-batches-bin",
        ("cifar10", "py"): "cifar-10-batches-py",
        ("cifar100", "bin"): "cifar-100-binary",
        ("cifar100", "py"): "cifar-100-python",
    }[name, kind]
    F.write_cifar_dir(tmp_path / "env" / inner, name, kind)
    monkeypatch.setenv("MODELSPEC_DATA", str(tmp_path / "env"))
    s = load_data(table(dataset=name), CIFAR)
    _check_cifar(s, name)
    if name == "cifar100":  # fine labels, not the coarse byte / key
        assert s.y_train.tolist() == [0, 1, 2]


def test_cifar_python_default_protocol_and_keras3_cache(tmp_path):
    folder = tmp_path / "keras" / "datasets" / "cifar-10-batches-py-target"
    F.write_cifar_dir(folder / "cifar-10-batches-py", "cifar10", "py", protocol=None)
    _check_cifar(load_data(table(dataset="cifar10"), CIFAR), "cifar10")


@pytest.mark.parametrize(
    "archive,inner,kind",
    [
        ("cifar-10-python.tar.gz", "cifar-10-batches-py", "py"),
        ("cifar-10-binary.tar.gz", "cifar-10-batches-bin", "bin"),
        ("cifar-10-batches-py-target_archive", "cifar-10-batches-py", "py"),
    ],
)
def test_cifar10_archives(tmp_path, archive, inner, kind):
    F.write_cifar_tar(tmp_path / "keras" / "datasets" / archive, inner, "cifar10", kind)
    s = load_data(table(dataset="cifar10"), CIFAR)
    _check_cifar(s, "cifar10")
    assert s.source.endswith(archive)


def test_cifar100_archive(tmp_path):
    path = tmp_path / "d" / "cifar-100-python.tar.gz"
    F.write_cifar_tar(path, "cifar-100-python", "cifar100", "py")
    _check_cifar(
        load_data(table(dataset="cifar100", path=str(tmp_path / "d")), CIFAR),
        "cifar100",
    )


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_code(tmp_path):
    marker = tmp_path / "pwned"
    evil = pickle.dumps({b"data": _Evil(marker), b"labels": [0]})
    e = error(safe_loads, evil, "batch")
    assert "refused to unpickle" in e.message and "system" in e.message
    assert not marker.exists()
    # ...also through the loader, with a batch file among good ones.
    folder = F.write_cifar_dir(
        tmp_path / "env" / "cifar-10-batches-py", "cifar10", "py"
    )
    (folder / "data_batch_3").write_bytes(evil)
    e = error(load_data, table(dataset="cifar10", path=str(tmp_path / "env")), CIFAR)
    assert "data_batch_3" in e.message and "refused" in e.message
    assert not marker.exists()
    e = error(safe_loads, pickle.dumps(pickle.Unpickler), "b")  # any other global
    assert "not allowed" in e.message


def test_cifar_truncated_binary(tmp_path):
    folder = F.write_cifar_dir(
        tmp_path / "c" / "cifar-10-batches-bin", "cifar10", "bin"
    )
    data = (folder / "test_batch.bin").read_bytes()
    (folder / "test_batch.bin").write_bytes(data[:-10])
    e = error(load_data, table(dataset="cifar10", path=str(tmp_path / "c")), CIFAR)
    assert "3073-byte" in e.message and "test_batch.bin" in e.message


def test_cifar100_names_are_sorted():
    names = CLASS_NAMES["cifar100"]
    assert len(names) == DATASETS["cifar100"][1] == 100
    assert names == sorted(names) and names[0] == "apple" and names[-1] == "worm"


def test_cifar_pickles_naming_numpy_core(tmp_path):
    # The original batches (numpy 1.x era) name numpy.core.multiarray._reconstruct.
    folder = F.write_cifar_dir(tmp_path / "c" / "cifar-10-batches-py", "cifar10", "py")
    for f in folder.iterdir():
        data = f.read_bytes()
        assert b"numpy._core.multiarray" in data
        f.write_bytes(data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    _check_cifar(
        load_data(table(dataset="cifar10", path=str(tmp_path / "c")), CIFAR), "cifar10"
    )


def test_path_may_name_a_file_but_must_exist(tmp_path):
    npz = F.write_mnist_npz(tmp_path / "elsewhere" / "my-mnist.npz", n_train=7)
    assert len(load_data(table(dataset="mnist", path=str(npz)), MNIST).x_train) == 7
    tgz = F.write_cifar_tar(
        tmp_path / "c.tgz", "cifar-10-batches-bin", "cifar10", "bin"
    )
    _check_cifar(load_data(table(dataset="cifar10", path=str(tgz)), CIFAR), "cifar10")
    F.write_mnist_npz(tmp_path / "keras" / "datasets" / "mnist.npz")
    e = error(load_data, table(dataset="mnist", path=str(tmp_path / "typo")), MNIST)
    assert "does not exist" in e.message and "typo" in e.message
    npz.write_bytes(b"garbage")
    e = error(load_data, table(dataset="cifar10", path=str(npz)), CIFAR)
    assert "cannot read the archive" in e.message


def test_download_notifies(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELSPEC_OFFLINE", "0")
    seen = []
    monkeypatch.setattr(locate, "notify", lambda url, target: seen.append(target))

    def fake(url, target):
        F.write_mnist_npz(Path(target), n_train=3)

    monkeypatch.setattr(locate, "downloader", fake)
    monkeypatch.setattr("modelspec.data.idx.MNIST_NPZ_SHA256", None)
    assert len(load_data(table(dataset="mnist"), MNIST).x_train) == 3
    assert seen == [tmp_path / "keras" / "datasets" / "mnist.npz"]
    assert seen[0].is_file()
