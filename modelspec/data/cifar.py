"""CIFAR-10 and CIFAR-100 (fine labels), in every form they are shipped in.

- binary: `cifar-10-batches-bin/data_batch_{1..5}.bin`, `test_batch.bin`
  (records: 1 label byte + 3072 pixel bytes, R, G, B planes of 32x32);
  `cifar-100-binary/train.bin`, `test.bin` (coarse byte, fine byte, 3072);
- python: `cifar-10-batches-py/`, `cifar-100-python/` pickled dicts, read with
  a restricted unpickler that can build numpy arrays and nothing else;
- the `.tar.gz` archives of either, read member by member without extracting,
  including Keras 3's cache names (`cifar-10-batches-py-target/...` and the
  `..._archive` download).
"""

from __future__ import annotations

import codecs
import io
import pickle
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import DataError
from . import locate
from .info import CLASS_NAMES
from .process import RawData

URLS = {
    "cifar10": (
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    ),
    "cifar100": (
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
    ),
}
BIN_TRAIN = {
    "cifar10": [f"data_batch_{i}.bin" for i in range(1, 6)],
    "cifar100": ["train.bin"],
}
BIN_TEST = {"cifar10": ["test_batch.bin"], "cifar100": ["test.bin"]}
PY_TRAIN = {"cifar10": [f"data_batch_{i}" for i in range(1, 6)], "cifar100": ["train"]}
PY_TEST = {"cifar10": ["test_batch"], "cifar100": ["test"]}
BIN_DIRS = {"cifar10": "cifar-10-batches-bin", "cifar100": "cifar-100-binary"}
PY_DIRS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}
ARCHIVES = {
    "cifar10": (
        "cifar-10-binary.tar.gz",
        "cifar-10-python.tar.gz",
        "cifar-10-batches-py-target_archive",
        "cifar-10-batches-py.tar.gz",
    ),
    "cifar100": (
        "cifar-100-binary.tar.gz",
        "cifar-100-python.tar.gz",
        "cifar-100-python-target_archive",
    ),
}


# --- restricted unpickling --------------------------------------------------


def _numpy_globals() -> dict[tuple[str, str], object]:
    try:
        from numpy._core import multiarray, numeric
    except ImportError:  # numpy < 2
        from numpy.core import multiarray, numeric  # type: ignore[no-redef]
    allowed: dict[tuple[str, str], object] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        # Python 3 pickles of bytes at protocol 2 go through codecs.encode.
        ("_codecs", "encode"): codecs.encode,
    }
    for core in ("numpy.core", "numpy._core"):
        allowed[(f"{core}.multiarray", "_reconstruct")] = multiarray._reconstruct
        # Private, so absent from numpy's stubs, but CIFAR's pickles name it.
        allowed[(f"{core}.numeric", "_frombuffer")] = numeric._frombuffer  # type: ignore[attr-defined]
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays, dicts, lists, strings and numbers; nothing else.

    A CIFAR batch from an untrusted mirror could otherwise run any code
    (`os.system`) the moment it is loaded.
    """

    _allowed = _numpy_globals()

    def find_class(self, module: str, name: str):
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"global '{module}.{name}' is not allowed"
            ) from None


def safe_loads(data: bytes, what: str):
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except pickle.UnpicklingError as e:
        raise DataError(
            f"{what}: refused to unpickle: {e}",
            hint="CIFAR python batches hold only numpy arrays; get the files from "
            "the official site, or use the binary version (cifar-10-binary.tar.gz)",
        ) from e
    except Exception as e:
        raise DataError(f"{what}: not a CIFAR python batch ({e})") from e


# --- parsing ------------------------------------------------------------------


def _images(flat: np.ndarray) -> np.ndarray:
    return flat.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def parse_binary(data: bytes, name: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    label_bytes = 1 if name == "cifar10" else 2
    record = label_bytes + 3072
    if len(data) == 0 or len(data) % record:
        raise DataError(
            f"{what}: {len(data)} bytes is not a whole number of "
            f"{record}-byte {name} records (truncated file?)"
        )
    arr = np.frombuffer(data, np.uint8).reshape(-1, record)
    return _images(arr[:, label_bytes:]), arr[:, label_bytes - 1].astype(np.int64)


def parse_python(data: bytes, name: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    d = safe_loads(data, what)
    if not isinstance(d, dict):
        raise DataError(f"{what}: expected a pickled dict, got {type(d).__name__}")
    d = {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in d.items()}
    key = "labels" if name == "cifar10" else "fine_labels"
    if "data" not in d or key not in d:
        raise DataError(f"{what}: missing 'data' or '{key}' (it has {sorted(d)})")
    x = d["data"]
    if (
        not isinstance(x, np.ndarray)
        or x.dtype != np.uint8
        or x.ndim != 2
        or x.shape[1] != 3072
    ):
        shape = getattr(x, "shape", None)
        raise DataError(
            f"{what}: 'data' must be a uint8 array of shape (n, 3072), "
            f"got {type(x).__name__} {shape}"
        )
    return _images(x), np.asarray(d[key], dtype=np.int64)


# --- sources: a folder or a tar archive ----------------------------------------

Reader = Callable[[list[str]], dict[str, bytes] | None]


def _dir_reader(folder: Path) -> Reader:
    def read(names: list[str]) -> dict[str, bytes] | None:
        if not all((folder / n).is_file() for n in names):
            return None
        return {n: (folder / n).read_bytes() for n in names}

    return read


def _tar_reader(path: Path) -> Reader:
    def read(names: list[str]) -> dict[str, bytes] | None:
        wanted, out = set(names), {}
        try:
            # Streaming mode: one pass over the gzip, no seeking back.
            with tarfile.open(path, "r|*") as tar:
                for member in tar:
                    base = member.name.rsplit("/", 1)[-1]
                    if member.isfile() and base in wanted and base not in out:
                        f = tar.extractfile(member)
                        out[base] = f.read() if f else b""
        except (tarfile.TarError, OSError, EOFError) as e:
            raise DataError(f"{path}: cannot read the archive ({e})") from e
        return out if len(out) == len(wanted) else None

    return read


def _try(name: str, read: Reader, where: str) -> RawData | None:
    """Binary first (no unpickling at all), then the python batches."""
    for train, test, parse in (
        (BIN_TRAIN[name], BIN_TEST[name], parse_binary),
        (PY_TRAIN[name], PY_TEST[name], parse_python),
    ):
        files = read(train + test)
        if files is None:
            continue
        parts = {n: parse(files[n], name, f"{where}/{n}") for n in train + test}
        x_tr = np.concatenate([parts[n][0] for n in train])
        y_tr = np.concatenate([parts[n][1] for n in train])
        x_te = np.concatenate([parts[n][0] for n in test])
        y_te = np.concatenate([parts[n][1] for n in test])
        return RawData(
            name=name,
            x_train=x_tr,
            y_train=y_tr,
            x_test=x_te,
            y_test=y_te,
            class_names=CLASS_NAMES[name],
            raw_max=255.0,
            source=where,
        )
    return None


def _candidates(name: str, place: locate.Place):
    folder = place.folder
    keras3 = f"{PY_DIRS[name]}-target/{PY_DIRS[name]}"
    for sub in (BIN_DIRS[name], PY_DIRS[name], keras3):
        if (folder / sub).is_dir():
            yield _dir_reader(folder / sub), str(folder / sub)
    if place.own:
        yield _dir_reader(folder), str(folder)
    for archive in ARCHIVES[name]:
        if (folder / archive).is_file():
            yield _tar_reader(folder / archive), str(folder / archive)


def find(name: str, path: str | None) -> tuple[RawData | None, list[locate.Place]]:
    searched = locate.places(name, path)
    if path and Path(path).expanduser().is_file():  # e.g. path = ".../x.tar.gz"
        file = Path(path).expanduser()
        raw = _try(name, _tar_reader(file), str(file))
        if raw is None:
            raise DataError(f"{file}: the archive lacks the {name} batches")
        return raw, searched
    for place in searched:
        if not place.folder.is_dir():
            continue
        for read, where in _candidates(name, place):
            raw = _try(name, read, where)
            if raw is not None:
                return raw, searched
    return None, searched


def load_builtin(name: str, path: str | None) -> RawData:
    raw, searched = find(name, path)
    if raw is not None:
        return raw
    url, sha = URLS[name]
    target = locate.keras_cache() / url.rsplit("/", 1)[-1]
    try:
        locate.download(url, target, sha)
    except locate.DownloadFailed as e:
        wanted = (
            f"{BIN_DIRS[name]}/, {PY_DIRS[name]}/ or one of {', '.join(ARCHIVES[name])}"
        )
        hint = (
            f"put {url.rsplit('/', 1)[-1]} ({url}) in {locate.keras_cache()}/, "
            f"or its unpacked {PY_DIRS[name]}/ folder in $MODELSPEC_DATA"
        )
        raise locate.not_found(name, wanted, searched, str(e), hint) from e
    raw = _try(name, _tar_reader(target), str(target))
    if raw is None:
        raise DataError(f"{target}: the downloaded archive lacks the {name} batches")
    return raw
