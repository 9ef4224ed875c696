"""From raw arrays to model-ready splits: subset, split, limit, scale, reshape.

Order (documented in the README): class subset on every split; validation
held out from the END of the (full) training set, or taken from
`validation_path`; then `limit` keeps the first N of what is left for training
and `test_limit` the first N test examples; scaling statistics come from that
final training split only; then every example is reshaped to `[model] input`
(evaluation-time crop and per-image standardization: `evalops`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import DataError


@dataclass
class RawData:
    """What a loader returns: pixels as stored (usually uint8), labels as stored."""

    name: str
    x_train: np.ndarray
    y_train: Any
    x_test: np.ndarray
    y_test: Any
    class_names: list[str] | None = None
    # Largest value a pixel can take (255, or 16 for digits); None: float data.
    raw_max: float | None = 255.0
    source: str = ""


@dataclass
class Splits:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    num_classes: int
    preprocessing: dict = field(default_factory=dict)
    augment: Any = None
    name: str = ""
    source: str = ""
    # True when x_train holds scaled, uncropped examples for the augmenting
    # pipeline (which crops and standardizes per image itself).
    train_raw: bool = False

    def model_x(self, split: str) -> np.ndarray:
        """A split's examples as the model takes them (x_train made ready by
        the evaluation-time steps: central crop, per-image standardization)."""
        x = getattr(self, f"x_{split}")
        if split == "train" and self.train_raw:
            from . import evalops

            return evalops.apply(x, self.preprocessing)
        return x

    def describe(self) -> str:
        shape = tuple(self.x_train.shape[1:])
        pp = self.preprocessing
        scale = pp.get("scale", "none")
        if scale == "unit":
            scale = f"unit (/{pp['divide']:g})"
        return (
            f"{self.name}: {len(self.x_train)} train, {len(self.x_val)} validation, "
            f"{len(self.x_test)} test examples of shape {shape}, "
            f"{self.num_classes} classes, scale {scale}"
        )


def as_labels(y: Any, what: str) -> np.ndarray:
    """Integer labels of shape (n,) from (n,), (n, 1) or one-hot (n, k)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    elif y.ndim == 2 and y.shape[1] > 1:
        if not (np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all()):
            raise DataError(
                f"{what} has shape {y.shape}: expected integer labels of shape (n,) "
                "or one-hot rows"
            )
        y = y.argmax(axis=1)
    if y.ndim != 1:
        raise DataError(f"{what} has shape {y.shape}: expected labels of shape (n,)")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise DataError(f"{what} holds non-integer values: labels must be 0..k-1")
    elif y.dtype.kind not in "iub":
        raise DataError(f"{what} has dtype {y.dtype}: labels must be integers")
    y = y.astype(np.int64)
    if y.size and y.min() < 0:
        raise DataError(
            f"{what} holds the negative label {int(y.min())}: labels must be 0..k-1"
        )
    return y


def check_pair(x: np.ndarray, y: np.ndarray, what: str) -> None:
    if len(x) != len(y):
        raise DataError(f"{what}: {len(x)} examples but {len(y)} labels")


def fits(example: tuple[int, ...], input_shape: tuple[int, ...]) -> bool:
    """Can one example be reshaped to the model input without scrambling it?

    Equal shapes; the same up to axes of size 1 ((28, 28) -> (28, 28, 1)); or a
    flat vector on either side with the same number of values.
    """
    example, input_shape = tuple(example), tuple(input_shape)
    if example == input_shape:
        return True
    if math.prod(example) != math.prod(input_shape):
        return False
    if len(example) == 1 or len(input_shape) == 1:
        return True

    def squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(d for d in shape if d != 1)

    return squeezed(example) == squeezed(input_shape)


def check_fits(
    name: str,
    example: tuple[int, ...],
    input_shape: tuple[int, ...],
    hint: str | None = None,
):
    if not fits(example, input_shape):
        raise DataError(
            f"{name} examples have shape {tuple(example)} ({math.prod(example)} "
            f"values), which does not fit [model] input {list(input_shape)} "
            f"({math.prod(input_shape)} values)",
            hint=hint
            or "change [model] input to the data's shape (channels "
            "last), or use a dataset whose examples have that shape",
        )


def subset(y: np.ndarray, keep: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Mask of examples whose label is in `keep`, and their new labels."""
    lookup = np.full(max(int(y.max(initial=0)), max(keep)) + 1, -1, dtype=np.int64)
    lookup[np.asarray(keep)] = np.arange(len(keep))
    new = lookup[y]
    mask = new >= 0
    return mask, new[mask]


def validation_count(validation: int | float, n_train: int, name: str) -> int:
    if isinstance(validation, float):
        n = round(validation * n_train)
        if n == 0:
            raise DataError(
                f"{name}: validation = {validation} of {n_train} training examples "
                "is an empty validation split",
                hint="use a larger fraction, an int count, or validation = 0 for none",
            )
    else:
        n = int(validation)
    if n >= n_train:
        raise DataError(
            f"{name}: validation = {validation} holds out {n} examples, but the "
            f"training set has only {n_train}",
            hint="use a smaller validation count or fraction, so that training "
            "examples are left",
        )
    return n


def check_nonempty(name: str, split: str, n: int, after: str) -> None:
    if n == 0:
        raise DataError(
            f"{name}: the {split} split is empty{after}",
            hint="check [data] classes, limit and validation against the dataset",
        )


def check_label_range(name: str, ys: dict[str, np.ndarray], classes: int | None):
    if classes is None:
        return
    for split, y in ys.items():
        if y.size and int(y.max()) >= classes:
            raise DataError(
                f"{name}: {split} label {int(y.max())} is out of range for "
                f"[model] classes = {classes} (labels must be 0..{classes - 1})",
                hint="set [model] classes (and the output units) to the number of "
                "classes, or keep some with [data] classes = [...]",
            )


# --- scaling ---------------------------------------------------------------


def _channels(x: np.ndarray) -> int:
    """Channel count of raw images: last axis of (n, h, w, c), else 1."""
    return int(x.shape[-1]) if x.ndim == 4 else 1


def _mean_std(x: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and std in float64, in chunks (no float64 copy of CIFAR)."""
    c = _channels(x)
    s = np.zeros(c)
    ss = np.zeros(c)
    count = 0
    for i in range(0, len(x), 4096):
        chunk = np.asarray(x[i : i + 4096], dtype=np.float64).reshape(-1, c)
        s += chunk.sum(axis=0)
        ss += np.square(chunk).sum(axis=0)
        count += len(chunk)
    mean = s / max(count, 1)
    std = np.sqrt(np.maximum(ss / max(count, 1) - mean**2, 0.0))
    std = np.where(std < 1e-7, 1.0, std)  # a constant channel: only centre it
    return [float(v) for v in mean], [float(v) for v in std]


def guess_raw_max(x: np.ndarray, name: str) -> float:
    """Pixel range of user data: 8-bit integers, or floats in [0, 1] or [0, 255]."""
    top = float(x.max()) if x.size else 0.0
    low = float(x.min()) if x.size else 0.0
    if x.dtype.kind in "iub" and low >= 0 and top <= 255:
        return 255.0
    if x.dtype.kind == "f" and low >= 0 and top <= 1.0:
        return 1.0
    if x.dtype.kind == "f" and low >= 0 and top <= 255:
        return 255.0
    raise DataError(
        f"{name}: scale = 'unit' expects 8-bit pixels (0..255) or floats in "
        f"[0, 1]; the training data ({x.dtype}) spans {low:g}..{top:g}",
        hint="use scale = 'standardize' or scale = 'none' for other value ranges",
    )


def make_preprocessing(scale: str, x_train: np.ndarray, raw: RawData) -> dict:
    """The JSON-able description of what is done to raw pixels."""
    raw_max = raw.raw_max
    if scale == "unit":
        if raw_max is None:
            raw_max = guess_raw_max(x_train, raw.name)
        return {"scale": "unit", "divide": float(raw_max), "raw_max": float(raw_max)}
    if raw_max is None:
        top = float(x_train.max()) if x_train.size else 0.0
        raw_max = 1.0 if top <= 1.0 else 255.0
    if scale == "standardize":
        mean, std = _mean_std(x_train)
        return {
            "scale": "standardize",
            "mean": mean,
            "std": std,
            "raw_max": float(raw_max),
        }
    if scale == "per_image":
        return {"scale": "per_image", "raw_max": float(raw_max)}
    return {"scale": "none", "raw_max": float(raw_max)}


def preprocess(x_raw: Any, preprocessing: dict) -> np.ndarray:
    """Apply a `Splits.preprocessing` dict to raw pixels (e.g. new images):
    scaling, then the central crop and per-image standardization when the
    dict asks for them (`evalops.apply`)."""
    from . import evalops

    return evalops.apply(scale_pixels(x_raw, preprocessing), preprocessing)


def scale_pixels(x_raw: Any, preprocessing: dict) -> np.ndarray:
    """The scaling step of `preprocess` alone (what augmentation starts from).

    Standardization broadcasts over the channel (last) axis; flat inputs
    (n, h*w*c) are treated as channels-last pixels of `len(mean)` channels.
    """
    x = np.asarray(x_raw, dtype=np.float32)
    scale = preprocessing.get("scale")
    if scale == "unit":
        return x / np.float32(preprocessing["divide"])
    if scale in ("none", "per_image"):
        return x
    if scale == "standardize":
        mean = np.asarray(preprocessing["mean"], dtype=np.float32)
        std = np.asarray(preprocessing["std"], dtype=np.float32)
        c = len(mean)
        if c == 1 or (x.ndim and x.shape[-1] == c):
            return (x - mean) / std
        if x.ndim and x.shape[-1] % c == 0:
            shape = x.shape
            y = (x.reshape(*shape[:-1], -1, c) - mean) / std
            return y.reshape(shape)
        raise DataError(
            f"cannot standardize examples of shape {x.shape[1:]} with {c} channels"
        )
    raise DataError(
        f"unknown preprocessing scale {scale!r}",
        hint="expected 'unit', 'standardize', 'per_image' or 'none'",
    )
