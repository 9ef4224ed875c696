"""Per-example training augmentation in tf.data, stateless: every random
choice is drawn from the example's seed (run seed + epoch, position), so an
epoch's examples do not depend on what ran before (resume is bit-identical).

The order is the TensorFlow CIFAR-10 tutorial's: shift (pad_crop or
translate) and crop, flip, brightness, contrast, then per-image
standardization (`[data] scale = "per_image"`), then cutout.
"""

from __future__ import annotations

import numpy as np

# New ops draw from seed + [0, k * _STRIDE]: distinct from each other and from
# the older pad_crop (seed) and flip (seed + 1) streams for i < 2**32.
_STRIDE = 2**32


def brightness_factors(preprocessing: dict | None, channels: int) -> np.ndarray:
    """Per channel, what one raw-pixel unit of brightness is after scaling:
    1 / (divide * std) (so `brightness = 63` means 63 of 0..255 pixels)."""
    prep = preprocessing or {}
    scale = prep.get("scale", "none")
    divide = float(prep.get("divide") or 1.0) if scale == "unit" else 1.0
    std = np.ones(channels)
    if scale == "standardize" and prep.get("std") is not None:
        std = np.broadcast_to(np.asarray(prep["std"], dtype=np.float64), (channels,))
    return (1.0 / (divide * std)).astype(np.float32)


def _sub_seed(tf, seed, k: int):
    return seed + tf.constant([0, k * _STRIDE], tf.int64)


def _shift_and_crop(tf, image, aug):
    """Pad (zeros for pad_crop, reflection for translate), then a random crop
    to `crop` or back to the image size. Seeded by the example seed itself."""
    h, w, c = image.shape
    out_h, out_w = aug.crop if aug.crop else (h, w)
    if aug.pad_crop:
        p = aug.pad_crop
        image = tf.pad(image, [[p, p], [p, p], [0, 0]])
    elif aug.translate:
        t = aug.translate
        image = tf.pad(image, [[t, t], [t, t], [0, 0]], mode="REFLECT")
    return image, (int(out_h), int(out_w), int(c))


def _cutout(tf, image, size: int, seed):
    h, w = image.shape[0], image.shape[1]
    centre = tf.random.stateless_uniform(
        [2], seed=seed, minval=0, maxval=2**31 - 1, dtype=tf.int64
    ) % tf.constant([h, w], tf.int64)
    top = centre[0] - size // 2
    left = centre[1] - size // 2
    rows = tf.range(h, dtype=tf.int64)
    cols = tf.range(w, dtype=tf.int64)
    in_rows = (rows >= top) & (rows < top + size)
    in_cols = (cols >= left) & (cols < left + size)
    hole = in_rows[:, None] & in_cols[None, :]
    return image * tf.cast(~hole, image.dtype)[:, :, None]


def augment_example(tf, image, aug, seed, *, factors, per_image: bool):
    """One training example, augmented; `seed` is a [2] int64 tensor."""
    if aug.pad_crop or aug.translate or aug.crop:
        image, size = _shift_and_crop(tf, image, aug)
        image = tf.image.stateless_random_crop(image, size, seed=seed)
    if aug.flip:
        image = tf.image.stateless_random_flip_left_right(image, seed=seed + 1)
    if aug.brightness:
        b = float(aug.brightness)
        delta = tf.random.stateless_uniform(
            [], seed=_sub_seed(tf, seed, 2), minval=-b, maxval=b
        )
        image = image + delta * tf.constant(factors)
    if aug.contrast:
        lo, hi = (float(v) for v in aug.contrast)
        image = tf.image.stateless_random_contrast(
            image, lo, hi, seed=_sub_seed(tf, seed, 3)
        )
    if per_image:
        image = tf.image.per_image_standardization(image)
    if aug.cutout:
        image = _cutout(tf, image, int(aug.cutout), _sub_seed(tf, seed, 4))
    return image
