"""Small files in the real dataset formats, and fixtures for the data tests.

Example i of a split has every pixel equal to (i + offset) % 256 and label
i % classes, so a test can tell which examples landed where.
"""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest

from modelspec.data import locate
from modelspec.errors import DataError
from modelspec.schema import DataTable


def pattern(n: int, shape: tuple[int, ...], offset: int = 0) -> np.ndarray:
    values = (np.arange(n) + offset) % 256
    column = values.reshape((n,) + (1,) * len(shape))
    return np.broadcast_to(column, (n, *shape)).astype(np.uint8)


def labels(n: int, classes: int = 10, offset: int = 0) -> np.ndarray:
    return ((np.arange(n) + offset) % classes).astype(np.uint8)


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX: magic 0x0000 0x08 (uint8) ndim, big-endian uint32 sizes, data."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_idx_set(folder: Path, n_train=30, n_test=10, gz=True, offset=0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "train-images-idx3-ubyte": pattern(n_train, (28, 28), offset),
        "train-labels-idx1-ubyte": labels(n_train, offset=offset),
        "t10k-images-idx3-ubyte": pattern(n_test, (28, 28), offset),
        "t10k-labels-idx1-ubyte": labels(n_test, offset=offset),
    }
    for stem, array in files.items():
        data = idx_bytes(array)
        if gz:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / stem).write_bytes(data)
    return folder


def write_mnist_npz(path: Path, n_train=30, n_test=10, offset=0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        x_train=pattern(n_train, (28, 28), offset),
        y_train=labels(n_train, offset=offset),
        x_test=pattern(n_test, (28, 28), offset),
        y_test=labels(n_test, offset=offset),
    )
    return path


def cifar_planes(n: int, offset: int = 0) -> np.ndarray:
    """(n, 3072) rows as CIFAR stores them: R plane, G plane, B plane.

    Channel k of example i is (i + offset + 100 * k) % 256.
    """
    base = (np.arange(n) + offset).reshape(n, 1, 1)
    planes = (base + 100 * np.arange(3).reshape(1, 3, 1)) % 256
    return np.broadcast_to(planes, (n, 3, 1024)).reshape(n, 3072).astype(np.uint8)


def cifar_bin_records(name: str, n: int, offset: int = 0) -> bytes:
    x = cifar_planes(n, offset)
    fine = labels(n, 100 if name == "cifar100" else 10, offset).reshape(n, 1)
    if name == "cifar10":
        return np.concatenate([fine, x], axis=1).tobytes()
    coarse = ((np.arange(n) + offset) % 20).astype(np.uint8).reshape(n, 1)
    return np.concatenate([coarse, fine, x], axis=1).tobytes()


def cifar_files(
    name: str, kind: str, per_batch: int = 3, protocol: int = 2
) -> dict[str, bytes]:
    """Member name -> bytes of a whole CIFAR set; batch b starts at 10 * b."""
    if name == "cifar10":
        stems = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    else:
        stems = ["train", "test"]
    out = {}
    for b, stem in enumerate(stems):
        offset = 10 * b
        if kind == "bin":
            out[f"{stem}.bin"] = cifar_bin_records(name, per_batch, offset)
            continue
        key = "labels" if name == "cifar10" else "fine_labels"
        y = labels(per_batch, 100 if name == "cifar100" else 10, offset)
        record = {"data": cifar_planes(per_batch, offset), key: y.tolist()}
        if name == "cifar100":
            record["coarse_labels"] = [0] * per_batch
        if protocol == 2:  # bytes keys, like the Python 2 originals
            record = {k.encode(): v for k, v in record.items()}
        buf = io.BytesIO()
        pickle.dump(record, buf, protocol=protocol)
        out[stem] = buf.getvalue()
    return out


def write_cifar_dir(folder: Path, name: str, kind: str, per_batch=3, protocol=2):
    folder.mkdir(parents=True, exist_ok=True)
    for member, data in cifar_files(name, kind, per_batch, protocol).items():
        (folder / member).write_bytes(data)
    return folder


def write_cifar_tar(path: Path, inner: str, name: str, kind: str, per_batch=3) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for member, data in cifar_files(name, kind, per_batch).items():
            info = tarfile.TarInfo(f"{inner}/{member}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def write_png(path: Path, array: np.ndarray) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "L" if array.ndim == 2 else "RGB"
    Image.fromarray(np.asarray(array, dtype=np.uint8), mode=mode).save(path)
    return path


# --- shared by the data tests ---------------------------------------------


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Every location modelspec searches lives under tmp_path; downloads off."""
    monkeypatch.setenv("MODELSPEC_OFFLINE", "1")
    monkeypatch.delenv("MODELSPEC_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(locate, "FALLBACK_CACHE", tmp_path / "tmpkeras")
    monkeypatch.setattr(locate, "SYSTEM_DIRS", (tmp_path / "system",))

    def no_download(url, target):
        raise AssertionError(f"a test tried to download {url}")

    monkeypatch.setattr(locate, "downloader", no_download)


def table(**kw) -> DataTable:
    kw.setdefault("validation", 0)
    return DataTable(**kw)


def error(fn, *args, **kw) -> DataError:
    with pytest.raises(DataError) as info:
        fn(*args, **kw)
    return info.value
