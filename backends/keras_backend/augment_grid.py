"""A picture of what the network sees: training examples beside augmented
versions of them, drawn by the training pipeline's own `augment_example`.

Row k is training example k; column 0 is it as stored (scaled, uncropped),
column e + 1 the view it gets at position k of epoch e. Every cell is drawn at
one zoom; values are mapped to 0..255 per cell (min to max), except `unit`
scaled data, drawn as it is (x * 255), so brightness shows. Same spec and seed:
the same PNG bytes.
"""

from __future__ import annotations

import io
import math

import numpy as np

from modelspec.errors import DataError, require

GAP = 4
# Cells are at least this many pixels across (8x8 digits are zoomed 8x).
MIN_CELL = 64


def views(splits, augment, seed, examples: int, variants: int):
    """(originals, [[view of example k in epoch e for e] for k]) as numpy."""
    tf = require("tensorflow")
    from .augment import augment_example, brightness_factors

    if not splits.train_raw:
        raise DataError(
            "the spec's [data.augment] does nothing: there is nothing to show",
            hint="add e.g. [data.augment] flip = true",
        )
    x = splits.x_train[:examples]
    pp = splits.preprocessing
    factors = brightness_factors(pp, int(x.shape[-1]))
    per_image = pp.get("scale") == "per_image"
    base = 0 if seed is None else int(seed) % 2**31
    rows = []
    for k in range(len(x)):
        row = []
        for epoch in range(variants):
            s = tf.constant([base + epoch, k], tf.int64)
            image = augment_example(
                tf, tf.constant(x[k]), augment, s, factors=factors, per_image=per_image
            )
            row.append(image.numpy())
        rows.append(row)
    return x, rows


def _to_bytes(a: np.ndarray, unit: bool) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if unit:
        b = np.clip(a * 255.0, 0, 255)
    else:
        lo, hi = float(a.min()), float(a.max())
        b = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
    b = np.round(b).astype(np.uint8)
    return np.repeat(b, 3, axis=-1) if b.shape[-1] == 1 else b[..., :3]


def grid_png(originals, rows, scale: str) -> bytes:
    """The PNG: len(rows) rows of 1 + variants cells, GAP pixels apart."""
    pil = require("PIL.Image")
    side = max(max(originals.shape[1:3]), 1)
    zoom = max(1, math.ceil(MIN_CELL / side))
    cell = side * zoom
    cols = 1 + (len(rows[0]) if rows else 0)
    height = len(rows) * cell + (len(rows) + 1) * GAP
    width = cols * cell + (cols + 1) * GAP
    canvas = np.full((height, width, 3), 255, np.uint8)
    for r, (orig, row) in enumerate(zip(originals, rows, strict=True)):
        for c, image in enumerate([orig, *row]):
            pixels = _to_bytes(image, scale == "unit")
            pixels = pixels.repeat(zoom, axis=0).repeat(zoom, axis=1)
            top = GAP + r * (cell + GAP) + (cell - pixels.shape[0]) // 2
            left = GAP + c * (cell + GAP) + (cell - pixels.shape[1]) // 2
            canvas[top : top + pixels.shape[0], left : left + pixels.shape[1]] = pixels
    out = io.BytesIO()
    pil.fromarray(canvas).save(out, format="PNG")
    return out.getvalue()


def augment_png(spec, splits, *, examples: int = 8, variants: int = 6) -> bytes:
    """The grid for a checked spec and its loaded splits."""
    originals, rows = views(
        splits, spec.data.augment, spec.train.seed, examples, variants
    )
    return grid_png(originals, rows, splits.preprocessing.get("scale", "none"))
