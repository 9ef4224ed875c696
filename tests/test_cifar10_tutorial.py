"""specs/cifar10_tutorial.toml is the TensorFlow CIFAR-10 tutorial
(cifar10.py, cifar10_input.py), checked against a Keras twin written by hand
from the tutorial's code: the same parameters per layer and the same outputs
for the same weights, the same training inputs (its ops, in its order, with
TensorFlow's stateless versions on the same seeds) from files in the real
CIFAR-10 binary format, central crops at evaluation, and the same learning
rate as tf.compat.v1.train.exponential_decay at several steps."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from data_files import isolated  # noqa: F401  (no downloads, no real caches)
from modelspec.check import check_file

pytestmark = pytest.mark.framework

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "cifar10_tutorial.toml"
# The tutorial's constants (cifar10.py, cifar10_input.py).
BATCH = 128
DECAY_STEPS = int(50000 / BATCH * 350.0)  # NUM_EPOCHS_PER_DECAY = 350
WIDTHS = {"conv1": 4864, "conv2": 102464, "local3": 885120, "local4": 73920}


def twin():
    """The tutorial's inference(), in Keras, layer by layer."""
    import keras
    import tensorflow as tf

    class LRN(keras.layers.Layer):
        def call(self, x):
            return tf.nn.lrn(x, 4, bias=1.0, alpha=0.001 / 9.0, beta=0.75)

    pool = {"pool_size": 3, "strides": 2, "padding": "same"}
    x = inputs = keras.Input((24, 24, 3))
    x = keras.layers.Conv2D(64, 5, padding="same", activation="relu", name="conv1")(x)
    x = keras.layers.MaxPooling2D(**pool, name="pool1")(x)
    x = LRN(name="norm1")(x)
    x = keras.layers.Conv2D(64, 5, padding="same", activation="relu", name="conv2")(x)
    x = LRN(name="norm2")(x)
    x = keras.layers.MaxPooling2D(**pool, name="pool2")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(384, activation="relu", name="local3")(x)
    x = keras.layers.Dense(192, activation="relu", name="local4")(x)
    x = keras.layers.Dense(10, name="softmax_linear")(x)
    return keras.Model(inputs, x)


def test_parameters_and_outputs_match_the_twin():
    from backends.keras_backend.lower import build_model

    report = check_file(SPEC)
    assert report.ok and report.total_params == 1068298
    ours, theirs = build_model(report, seed=0), twin()
    assert ours.count_params() == theirs.count_params() == 1068298
    by_name = {li.name: li.params for li in report.layers}
    for name, n in {**WIDTHS, "softmax_linear": 1930}.items():
        assert by_name[name] == n
        assert ours.get_layer(name).count_params() == n
        assert theirs.get_layer(name).count_params() == n
        theirs.get_layer(name).set_weights(ours.get_layer(name).get_weights())
    x = np.random.default_rng(0).normal(size=(4, 24, 24, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(x).numpy(), theirs(x).numpy(), atol=1e-5)


def write_cifar10_bin(folder: Path, per_batch: int) -> np.ndarray:
    """data_batch_1..5.bin and test_batch.bin in CIFAR-10's binary format
    (label byte, then the R, G and B planes); returns the images, batch
    order, as (n, 32, 32, 3) uint8."""
    rng = np.random.default_rng(11)
    folder.mkdir(parents=True)
    images = []
    stems = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for stem in stems:
        planes = rng.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, (per_batch, 1), dtype=np.uint8)
        rows = np.concatenate([labels, planes.reshape(per_batch, -1)], axis=1)
        (folder / f"{stem}.bin").write_bytes(rows.tobytes())
        images.append(planes.transpose(0, 2, 3, 1))
    return np.concatenate(images)


def tutorial_distort(tf, image, seed):
    """cifar10_input.distorted_inputs on one image, stateless ops on `seed`."""
    stride = tf.constant([0, 2**32], tf.int64)
    image = tf.cast(image, tf.float32)
    image = tf.image.stateless_random_crop(image, [24, 24, 3], seed=seed)
    image = tf.image.stateless_random_flip_left_right(image, seed=seed + 1)
    image = tf.image.stateless_random_brightness(image, 63, seed=seed + 2 * stride)
    image = tf.image.stateless_random_contrast(
        image, lower=0.2, upper=1.8, seed=seed + 3 * stride
    )
    return tf.image.per_image_standardization(image)


def test_training_and_evaluation_inputs_are_the_tutorials(tmp_path):
    import tensorflow as tf

    from backends.keras_backend.pipeline import (
        epoch_permutations,
        load_splits,
        train_dataset,
    )

    folder = tmp_path / "cifar-10-batches-bin"
    images = write_cifar10_bin(folder, per_batch=12)
    report = check_file(
        SPEC, [f"data.path={folder}", "data.validation=12", "train.seed=4"]
    )
    assert report.ok, [d.render() for d in report.diagnostics]
    spec = report.spec
    splits = load_splits(spec)
    train_images = images[:48]  # batches 1-4; data_batch_5 is validation
    assert splits.x_train.shape == (48, 32, 32, 3)
    ds = train_dataset(
        splits.x_train,
        splits.y_train,
        batch_size=16,
        seed=4,
        first_epoch=0,
        last_epoch=2,
        augment=spec.data.augment,
        preprocessing=splits.preprocessing,
    )
    got = np.concatenate([b[0].numpy() for b in ds])
    perms = epoch_permutations(48, 4, 0, 2)
    want = [
        tutorial_distort(
            tf, train_images[perms[e][i]], tf.constant([4 + e, i], tf.int64)
        ).numpy()
        for e in range(2)
        for i in range(48)
    ]
    np.testing.assert_allclose(got, np.stack(want), atol=1e-4)
    # Evaluation: cifar10_input.inputs() -- the central crop, standardized.
    test = tf.cast(images[-12:], tf.float32)
    central = tf.image.resize_with_crop_or_pad(test, 24, 24)
    ref = np.stack([tf.image.per_image_standardization(i).numpy() for i in central])
    np.testing.assert_allclose(splits.x_test, ref, atol=1e-4)


def test_learning_rate_is_the_tutorials_staircase_decay():
    import keras

    from backends.keras_backend.optim import make_schedule
    from backends.keras_backend.pipeline import steps_per_epoch

    spec = check_file(SPEC).spec
    spe = steps_per_epoch(50000 - spec.data.validation, spec.train.batch_size)
    assert spe == 313 and DECAY_STEPS == 136718
    ours = make_schedule(spec.train, spe, spec.train.steps)
    tutorial = keras.optimizers.schedules.ExponentialDecay(
        0.1, DECAY_STEPS, 0.1, staircase=True
    )
    for step in (0, 1, 5000, 136717, 136718, 136719, 273435, 273436, 400000):
        assert float(ours(step)) == pytest.approx(float(tutorial(step)), rel=1e-6)
