"""tf.data input pipelines from in-memory numpy arrays.

The training pipeline is deterministic per epoch: epoch e's shuffle order and
augmentation depend only on (seed, e), never on how many epochs this process
has already iterated. That is what makes an interrupted run resumed from epoch
k identical to an uninterrupted one.
"""

from __future__ import annotations

import math

import numpy as np

from modelspec.errors import require


def steps_per_epoch(n: int, batch_size: int) -> int:
    return max(1, math.ceil(n / batch_size))


def epoch_permutations(n: int, seed, first: int, last: int) -> np.ndarray:
    """Row e - first is epoch e's order of the n training examples."""
    rows = []
    for epoch in range(first, last):
        if seed is None:
            rng = np.random.default_rng()
        else:
            rng = np.random.default_rng([int(seed) % 2**32, epoch])
        rows.append(rng.permutation(n).astype(np.int64))
    return np.stack(rows) if rows else np.zeros((0, n), np.int64)


def _augment(tf, image, aug, seed):
    """Per-example stateless augmentation: `seed` is a [2] int tensor."""
    if aug.pad_crop:
        p = aug.pad_crop
        h, w, c = image.shape
        padded = tf.pad(image, [[p, p], [p, p], [0, 0]])
        image = tf.image.stateless_random_crop(padded, (h, w, c), seed=seed)
    if aug.flip:
        image = tf.image.stateless_random_flip_left_right(image, seed=seed + 1)
    return image


def train_dataset(
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    seed,
    first_epoch: int,
    last_epoch: int,
    augment=None,
):
    """Batches for epochs [first_epoch, last_epoch), one epoch after another:
    fit with steps_per_epoch = steps_per_epoch(len(x), batch_size)."""
    tf = require("tensorflow")
    perms = epoch_permutations(len(x), seed, first_epoch, last_epoch)
    # The arrays live in memory as tensors once; batches are gathered from
    # them, which is the in-memory cache for the training split.
    xs = tf.constant(x)
    ys = tf.constant(y)
    base = 0 if seed is None else int(seed) % 2**31
    wants_aug = augment is not None and (augment.flip or augment.pad_crop)

    def one_epoch(epoch, perm):
        order = tf.data.Dataset.from_tensor_slices(perm)
        if not wants_aug:
            return order.batch(batch_size).map(
                lambda idx: (tf.gather(xs, idx), tf.gather(ys, idx))
            )

        def example(i, idx):
            s = tf.stack([tf.cast(base + epoch, tf.int64), i])
            return _augment(tf, tf.gather(xs, idx), augment, s), tf.gather(ys, idx)

        return (
            order.enumerate()
            .map(example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .batch(batch_size)
        )

    epochs = tf.data.Dataset.from_tensor_slices(
        (np.arange(first_epoch, last_epoch, dtype=np.int64), perms)
    )
    return epochs.flat_map(one_epoch).prefetch(tf.data.AUTOTUNE)


def eval_dataset(x: np.ndarray, y: np.ndarray, *, batch_size: int, cache=True):
    tf = require("tensorflow")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
    if cache:
        ds = ds.cache()
    return ds.prefetch(tf.data.AUTOTUNE)
