"""Stage 2 of a run, data: the spec's splits (modelspec.data, numpy) and the
tf.data pipelines over them.

The training pipeline is deterministic per epoch: epoch e's shuffle order and
augmentation depend only on (seed, e), never on how many epochs this process
has already iterated. That is what makes an interrupted run resumed from epoch
k identical to an uninterrupted one.
"""

from __future__ import annotations

import math

import numpy as np

from modelspec.errors import RunError, require


def load_splits(spec):
    if spec.data is None:
        raise RunError(
            f"spec {spec.model.name!r} has no [data] table; training needs one",
            hint='add [data] with dataset = "digits" (or mnist, cifar10, npz, ...)',
        )
    from modelspec.data import load_data

    return load_data(
        spec.data,
        tuple(spec.model.input),
        seed=spec.train.seed,
        classes=spec.model.classes,
    )


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


def train_dataset(
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    seed,
    first_epoch: int,
    last_epoch: int,
    augment=None,
    preprocessing=None,
):
    """Batches for epochs [first_epoch, last_epoch), one epoch after another:
    fit with steps_per_epoch = steps_per_epoch(len(x), batch_size).

    With `augment` active, `x` holds scaled uncropped examples
    (`Splits.train_raw`) and `augment.augment_example` makes them model-ready
    (`preprocessing`, the `Splits.preprocessing` dict, says how)."""
    tf = require("tensorflow")
    from .augment import augment_example, brightness_factors

    perms = epoch_permutations(len(x), seed, first_epoch, last_epoch)
    # The arrays live in memory as tensors once; batches are gathered from
    # them, which is the in-memory cache for the training split.
    xs = tf.constant(x)
    ys = tf.constant(y)
    base = 0 if seed is None else int(seed) % 2**31
    wants_aug = augment is not None and augment.active()
    factors = brightness_factors(preprocessing, int(x.shape[-1]))
    per_image = (preprocessing or {}).get("scale") == "per_image"

    def one_epoch(epoch, perm):
        order = tf.data.Dataset.from_tensor_slices(perm)
        if not wants_aug:
            return order.batch(batch_size).map(
                lambda idx: (tf.gather(xs, idx), tf.gather(ys, idx))
            )

        def example(i, idx):
            s = tf.stack([tf.cast(base + epoch, tf.int64), i])
            image = augment_example(
                tf,
                tf.gather(xs, idx),
                augment,
                s,
                factors=factors,
                per_image=per_image,
            )
            return image, tf.gather(ys, idx)

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


def shard_by_data(ds):
    """Every worker builds the same in-memory dataset in the same order; each
    takes its part of every global batch (there are no files to shard by)."""
    tf = require("tensorflow")
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    return ds.with_options(options)


def make_datasets(spec, splits, plan):
    """(train, validation or None) for fit, from plan.first_epoch on.
    `plan` is a plan.RunPlan."""
    t = spec.train
    train_ds = train_dataset(
        splits.x_train,
        splits.y_train,
        batch_size=t.batch_size,
        seed=t.seed,
        first_epoch=plan.first_epoch,
        last_epoch=plan.epochs,
        augment=spec.data.augment if splits.train_raw else None,
        preprocessing=splits.preprocessing,
    )
    val_ds = None
    if plan.has_val:
        val_ds = eval_dataset(
            splits.x_val, splits.y_val, batch_size=t.batch_size, cache=t.cache
        )
    # batch_size is the global batch: each of N replicas computes 1/N of it.
    train_ds = shard_by_data(train_ds)
    val_ds = shard_by_data(val_ds) if plan.has_val else None
    return train_ds, val_ds
