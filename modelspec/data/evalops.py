"""What evaluation does to an example after scaling, in numpy: the central
crop of `[data.augment] crop` and `scale = "per_image"` standardization.

Training does the same two steps in its tf.data pipeline (a random crop
instead of the central one); evaluation, test, `predict` and ONNX `predict`
call `apply` so that every example the trained model sees was made alike.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import DataError


def central_crop(x: np.ndarray, crop) -> np.ndarray:
    """(n, H, W, C) -> (n, h, w, C), the offsets of tf.image.resize_with_crop_or_pad
    and Keras's CenterCrop: (H - h) // 2, (W - w) // 2."""
    h, w = int(crop[0]), int(crop[1])
    big_h, big_w = x.shape[1], x.shape[2]
    if h > big_h or w > big_w:
        raise DataError(
            f"crop [{h}, {w}] is larger than the images ({big_h}x{big_w}). "
            f"Received: image shape {tuple(x.shape[1:])}"
        )
    top, left = (big_h - h) // 2, (big_w - w) // 2
    return x[:, top : top + h, left : left + w]


def per_image_standardize(x: np.ndarray) -> np.ndarray:
    """tf.image.per_image_standardization per example: (x - mean) / max(std,
    1 / sqrt(values per example)), mean and std over the whole example."""
    x = np.asarray(x, dtype=np.float32)
    if len(x) == 0:
        return x
    axes = tuple(range(1, x.ndim))
    mean = x.mean(axis=axes, keepdims=True, dtype=np.float64)
    std = x.std(axis=axes, keepdims=True, dtype=np.float64)
    floor = 1.0 / math.sqrt(math.prod(x.shape[1:]))
    out = (x - mean) / np.maximum(std, floor)
    return out.astype(np.float32)


def apply(x: np.ndarray, preprocessing: dict) -> np.ndarray:
    """Crop and per-image steps of a `Splits.preprocessing` dict, on scaled
    examples; examples keep their shape when neither is asked for."""
    crop = preprocessing.get("crop")
    if crop:
        shape = preprocessing.get("raw_shape") or x.shape[1:]
        x = central_crop(np.asarray(x).reshape((len(x), *shape)), crop)
    if preprocessing.get("scale") == "per_image":
        x = per_image_standardize(x)
    return x


def uncropped_shape(
    name: str, example: tuple[int, ...], input_shape: tuple[int, ...], crop
) -> tuple[int, ...]:
    """The (H, W, C) examples have before a crop to `crop` makes `input_shape`."""
    h, w = int(crop[0]), int(crop[1])
    if len(input_shape) != 3 or tuple(input_shape[:2]) != (h, w):
        raise DataError(
            f"[data.augment] crop = [{h}, {w}] makes examples of shape "
            f"[{h}, {w}, channels], which does not match [model] input "
            f"{list(input_shape)}",
            hint=f"set [model] input = [{h}, {w}, channels]",
        )
    c = input_shape[2]
    if len(example) < 2 or math.prod(example) != example[0] * example[1] * c:
        raise DataError(
            f"{name} examples have shape {tuple(example)}: a crop needs images "
            f"of shape (height, width, {c})"
        )
    if example[0] < h or example[1] < w:
        raise DataError(
            f"[data.augment] crop = [{h}, {w}] is larger than the {name} images "
            f"({example[0]}x{example[1]})",
            hint=f"crop to at most [{example[0]}, {example[1]}]",
        )
    return (int(example[0]), int(example[1]), int(c))
