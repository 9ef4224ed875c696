"""Image files: a class-per-folder dataset, and single files for `predict`.

Folder layout: `root/<class>/*.png` (sorted folder names are the class names;
the last 20% of each class's sorted files are the test set), or
`root/train/<class>/...` with `root/test/<class>/...`. Images are converted
to grayscale or RGB by the model's channel count and resized to
`[data] image_size` or the model input. Both splits are put in a fixed
pseudo-random order (seed 0), so that validation held out from the end of the
training set, and `test_limit`, see every class.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..errors import DataError, UsageError, require
from .process import RawData, check_fits, fits

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
TEST_FRACTION = 0.2
ORDER_SEED = 0
MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def geometry(
    input_shape: tuple[int, ...], image_size: list[int] | tuple[int, ...] | None
) -> tuple[int, int, int]:
    """(height, width, channels) to read images at, for this model input."""
    h = w = c = None
    if len(input_shape) == 3:
        h, w, c = input_shape
    elif len(input_shape) == 2:
        (h, w), c = input_shape, 1
    if image_size:
        h, w = image_size
    if h is None or w is None:
        raise DataError(
            f"[model] input {list(input_shape)} is flat, so the image size is unknown",
            hint="set [data] image_size = [height, width]",
        )
    if c is None:
        n, hw = input_shape[0], h * w
        c = n // hw if n % hw == 0 else 0
    if c not in MODES:
        raise DataError(
            f"images are read with 1, 3 or 4 channels, but [model] input "
            f"{list(input_shape)} at {h}x{w} needs {c}",
            hint="use input [h, w, 1] for grayscale or [h, w, 3] for RGB",
        )
    return int(h), int(w), int(c)


def read_image(path: Path, h: int, w: int, c: int) -> np.ndarray:
    """One image file as uint8 (h, w, c)."""
    require("PIL", "cpu")
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert(MODES[c])
            if im.size != (w, h):
                im = im.resize((w, h), Image.Resampling.BILINEAR)
            a = np.asarray(im, dtype=np.uint8)
    except (OSError, ValueError) as e:  # PIL.UnidentifiedImageError is an OSError
        raise DataError(f"{path}: cannot read the image ({e})") from e
    return a.reshape(h, w, c)


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in EXTENSIONS
    )


def _class_dirs(root: Path) -> list[Path]:
    return sorted(
        p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
    )


def _read_all(files: list[tuple[Path, int]], h, w, c) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(ORDER_SEED).permutation(len(files))
    x = np.empty((len(files), h, w, c), dtype=np.uint8)
    y = np.empty(len(files), dtype=np.int64)
    for i, j in enumerate(order):
        path, label = files[j]
        x[i] = read_image(path, h, w, c)
        y[i] = label
    return x, y


def load_folder(
    path: str, input_shape: tuple[int, ...], image_size: list[int] | None
) -> RawData:
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(
            f"{root}: no such folder",
            hint="[data] path must be a folder with one sub-folder per class",
        )
    h, w, c = geometry(input_shape, image_size)
    split = (root / "train").is_dir() and (root / "test").is_dir()
    train_root = root / "train" if split else root
    classes = _class_dirs(train_root)
    if not classes:
        raise DataError(
            f"{train_root}: no class sub-folders",
            hint="put each class's images in a sub-folder named after it",
        )
    names = [d.name for d in classes]
    train, test = [], []
    for label, d in enumerate(classes):
        files = _image_files(d)
        if not files:
            raise DataError(
                f"{d}: class folder {d.name!r} holds no images",
                hint=f"image files end in {', '.join(sorted(EXTENSIONS))}",
            )
        if split:
            train += [(f, label) for f in files]
            continue
        n_test = max(1, round(TEST_FRACTION * len(files))) if len(files) > 1 else 0
        cut = len(files) - n_test
        train += [(f, label) for f in files[:cut]]
        test += [(f, label) for f in files[cut:]]
    if split:
        for d in _class_dirs(root / "test"):
            if d.name not in names:
                raise DataError(
                    f"{d}: test class {d.name!r} has no training folder",
                    hint=f"training classes: {names}",
                )
            test += [(f, names.index(d.name)) for f in _image_files(d)]
    x_tr, y_tr = _read_all(train, h, w, c)
    x_te, y_te = _read_all(test, h, w, c)
    return RawData(
        name=root.name,
        x_train=x_tr,
        y_train=y_tr,
        x_test=x_te,
        y_test=y_te,
        class_names=names,
        raw_max=255.0,
        source=str(root),
    )


def load_image_files(
    paths: Iterable[str | Path],
    input_shape: tuple[int, ...],
    image_size: list[int] | tuple[int, ...] | None = None,
    raw_max: float = 255.0,
    *,
    preprocessing: dict | None = None,
) -> np.ndarray:
    """Raw examples shaped (n, *input_shape), float32, for `preprocess`.

    PNG/JPEG files are read as grayscale or RGB by the input's channel count,
    resized, and rescaled from 0..255 to the training data's raw range
    (`raw_max`: 16 for digits). `.npy` files are taken as already raw: one
    example, or a batch along the first axis. With `preprocessing` (a
    `Splits.preprocessing` dict) `raw_max` and the image size come from it.
    """
    input_shape = tuple(int(d) for d in input_shape)
    if preprocessing is not None:
        raw_max = float(preprocessing.get("raw_max", raw_max))
        image_size = image_size or preprocessing.get("image_size")
    out = []
    for p in map(Path, paths):
        if not p.is_file():
            raise UsageError(f"{p}: no such file", hint="check the image paths")
        if p.suffix.lower() == ".npy":
            try:
                a = np.load(p, allow_pickle=False)
            except (OSError, ValueError) as e:
                raise DataError(f"{p}: cannot load ({e})") from e
            if fits(a.shape, input_shape):
                a = a.reshape((1,) + input_shape)
            elif a.ndim > 1 and fits(a.shape[1:], input_shape):
                a = a.reshape((len(a),) + input_shape)
            else:
                check_fits(
                    str(p),
                    tuple(a.shape),
                    input_shape,
                    hint=(
                        f"the model takes examples of shape {list(input_shape)}: give "
                        "an .npy array of that shape (or a batch of them), or an image"
                    ),
                )
            out.append(np.asarray(a, dtype=np.float32))
            continue
        h, w, c = geometry(input_shape, image_size)
        check_fits(str(p), (h, w, c), input_shape)
        a = read_image(p, h, w, c).astype(np.float32) * np.float32(raw_max / 255.0)
        out.append(a.reshape((1,) + input_shape))
    if not out:
        raise DataError("no image files given")
    return np.concatenate(out)
