"""MNIST and Fashion-MNIST: IDX files (gz or not) and Keras's `mnist.npz`.

IDX: big-endian magic `0x00 0x00 <type> <ndim>` (type 0x08 = uint8), then
`ndim` uint32 sizes, then the data. Keras caches MNIST as
`<cache>/mnist.npz` and Fashion-MNIST as `<cache>/fashion-mnist/*.gz`.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError
from . import locate
from .info import CLASS_NAMES
from .process import RawData

KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
MNIST_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

# (split, kind) -> file stem; Keras's order for downloads.
STEMS = {
    ("train", "y"): "train-labels-idx1-ubyte",
    ("train", "x"): "train-images-idx3-ubyte",
    ("test", "y"): "t10k-labels-idx1-ubyte",
    ("test", "x"): "t10k-images-idx3-ubyte",
}


def read_idx(path: Path) -> np.ndarray:
    """One IDX file as a numpy array (uint8 data only, as MNIST uses).

    A `.gz` file is inflated in bounded steps: the header first, then exactly the
    bytes it declares, so a small file that inflates to gigabytes (a gzip bomb, or
    a corrupt size) fails before it takes the machine's memory.
    """
    try:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = _inflate_idx(path, data)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: cannot read the IDX file ({e})") from e
    dims, header = _idx_header(path, data)
    expected = int(np.prod(dims)) if dims else 0
    if len(data) - header != expected:
        raise DataError(
            f"{path}: IDX header says {dims} ({expected} bytes) but the file holds "
            f"{len(data) - header} bytes after it (truncated download?)",
            hint="fetch the file again",
        )
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims)


def _idx_header(path: Path, data: bytes) -> tuple[tuple[int, ...], int]:
    """(dims, header length) of IDX bytes; raises DataError on a bad header."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(
            f"{path}: not an IDX file (bad magic number)",
            hint="expected the files from the MNIST/Fashion-MNIST sites",
        )
    if data[2] != 0x08:
        raise DataError(f"{path}: IDX element type 0x{data[2]:02x} is not uint8")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: IDX header is cut off ({len(data)} bytes)")
    dims = tuple(
        int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    return dims, header


def _inflate_idx(path: Path, packed: bytes) -> bytes:
    """Inflate a gzipped IDX file to at most the size its own header declares."""
    z = zlib.decompressobj(wbits=31)  # gzip container
    head = z.decompress(packed, 4)
    if len(head) == 4 and head[0] == 0 and head[1] == 0:
        head += z.decompress(z.unconsumed_tail, 4 * head[3])
    dims, header = _idx_header(path, head)
    declared = header + (int(np.prod(dims)) if dims else 0)
    # One byte more than declared is enough to know the file is too large.
    body = z.decompress(z.unconsumed_tail, declared + 1 - len(head))
    data = head + body
    if len(data) > declared:
        raise DataError(
            f"{path}: the file is larger than its IDX header claims: the header "
            f"says {dims} ({declared - header} bytes of data) but it inflates to more",
            hint="a damaged or hostile file: fetch it again from the dataset's site",
        )
    return data


def _idx_file(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    # The original archives unpacked by some tools turn '-idx3-' into '.idx3-'.
    alt = stem.replace("-idx", ".idx")
    for candidate in (folder / f"{alt}.gz", folder / alt):
        if candidate.is_file():
            return candidate
    return None


def load_idx_folder(name: str, folder: Path) -> RawData | None:
    found = {key: _idx_file(folder, stem) for key, stem in STEMS.items()}
    files = {key: path for key, path in found.items() if path is not None}
    if len(files) < len(found):
        return None
    arrays = {key: read_idx(path) for key, path in files.items()}
    return RawData(
        name=name,
        x_train=arrays["train", "x"],
        y_train=arrays["train", "y"],
        x_test=arrays["test", "x"],
        y_test=arrays["test", "y"],
        class_names=CLASS_NAMES[name],
        raw_max=255.0,
        source=str(folder),
    )


def load_mnist_npz(path: Path, name: str = "mnist") -> RawData:
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [
                k
                for k in ("x_train", "y_train", "x_test", "y_test")
                if k not in f.files
            ]
            if missing:
                raise DataError(
                    f"{path}: missing arrays {missing} (it has {sorted(f.files)})"
                )
            arrays = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    except DataError:
        raise
    except Exception as e:
        raise DataError(f"{path}: cannot read the .npz file ({e})") from e
    return RawData(
        name=name,
        **arrays,
        class_names=CLASS_NAMES[name],
        raw_max=255.0,
        source=str(path),
    )


def find(name: str, path: str | None) -> tuple[RawData | None, list[locate.Place]]:
    searched = locate.places(name, path)
    if path and Path(path).expanduser().is_file():  # e.g. path = ".../mnist.npz"
        return load_mnist_npz(Path(path).expanduser(), name), searched
    for place in searched:
        if not place.folder.is_dir():
            continue
        if name == "mnist" and (place.folder / "mnist.npz").is_file():
            return load_mnist_npz(place.folder / "mnist.npz"), searched
        if place.own:
            raw = load_idx_folder(name, place.folder)
            if raw is not None:
                return raw, searched
    return None, searched


def load_builtin(name: str, path: str | None) -> RawData:
    raw, searched = find(name, path)
    if raw is not None:
        return raw
    cache = locate.keras_cache()
    idx_names = ", ".join(f"{s}.gz" for s in STEMS.values())
    try:
        if name == "mnist":
            target = locate.download(
                f"{KERAS_URL}mnist.npz", cache / "mnist.npz", MNIST_NPZ_SHA256
            )
            return load_mnist_npz(target)
        folder = cache / "fashion-mnist"
        for stem in STEMS.values():
            if _idx_file(folder, stem) is None:
                locate.download(f"{KERAS_URL}{stem}.gz", folder / f"{stem}.gz")
        raw = load_idx_folder(name, folder)
        assert raw is not None
        return raw
    except locate.DownloadFailed as e:
        if name == "mnist":
            wanted = f"mnist.npz or the IDX files {idx_names} (in a mnist/ folder)"
            hint = (
                f"put mnist.npz ({KERAS_URL}mnist.npz) in {cache}/, or the four "
                "IDX files in $MODELSPEC_DATA/mnist/"
            )
        else:
            wanted = f"the IDX files {idx_names} (in a fashion-mnist/ folder)"
            hint = (
                f"put the four files ({KERAS_URL}<name>) in {cache}/fashion-mnist/"
                ", or run: apt-get install dataset-fashion-mnist"
            )
        raise locate.not_found(name, wanted, searched, str(e), hint) from e
