"""Interrupt + `--resume` gives the same weights as an uninterrupted run."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from modelspec.check import check_text

pytestmark = pytest.mark.framework

# Dropout, augmentation and a schedule: every source of randomness and every
# piece of optimizer state that a resume has to carry over.
SPEC = """\
[model]
name = "resume_digits"
input = [8, 8, 1]
classes = 10

[[layers]]
type = "conv2d"
name = "conv1"
filters = 4
kernel = 3
padding = "same"
activation = "relu"

[[layers]]
type = "flatten"

[[layers]]
type = "dropout"
rate = 0.3

[[layers]]
type = "dense"
name = "logits"
units = 10

[data]
dataset = "digits"
validation = 100
limit = 256
augment = { pad_crop = 1, flip = true }

[train]
epochs = 3
batch_size = 64
seed = 7
optimizer = { type = "sgd", learning_rate = 0.05, momentum = 0.9 }
schedule = { type = "step", decay_rate = 0.5, decay_epochs = 1, warmup_epochs = 0.5 }
"""


# The recipe keys that carry state across a resume: the EMA slots (which the
# checkpoints hold swapped), executions of several steps, one-cycle's step.
RECIPE = SPEC.replace(
    "momentum = 0.9 }", "momentum = 0.9, ema = 0.8 }\nsteps_per_execution = 3"
).replace('type = "step", decay_rate = 0.5, decay_epochs = 1,', 'type = "one_cycle",')


def report_for(text=SPEC):
    report = check_text(text, file="resume.toml")
    assert report.ok, [d.render() for d in report.diagnostics]
    return report


def weights(path):
    from backends.keras_backend import load_model

    return [np.asarray(w) for w in load_model(path, compile=False).get_weights()]


def optimizer_state(run_dir):
    from backends.keras_backend import load_model
    from backends.keras_backend.optim import custom_objects

    custom_objects()
    optimizer = load_model(run_dir / "last.keras").optimizer
    return [np.asarray(v) for v in optimizer.variables]


@pytest.mark.parametrize("text", [SPEC, RECIPE], ids=["step", "ema_one_cycle"])
def test_interrupt_and_resume_equals_straight_run(tmp_path, text):
    from backends.keras_backend.train import TrainingInterrupted, resume, train
    from modelspec.errors import RunError

    straight = train(report_for(text), out=tmp_path / "a")
    with pytest.raises(TrainingInterrupted) as info:
        train(report_for(text), out=tmp_path / "b", stop_after_epochs=1)
    err = info.value
    assert err.exit_code == 1 and err.epochs_done == 1
    assert f"--resume {err.run_dir}" in err.hint
    state = json.loads((err.run_dir / "state.json").read_text())
    assert state["interrupted"] and state["epochs_done"] == 1
    assert not (err.run_dir / "metrics.json").exists()

    resumed = resume(err.run_dir)
    assert resumed.run_dir == err.run_dir and resumed.resumed_from == 1

    a, b = weights(straight.run_dir / "last.keras"), weights(err.run_dir / "last.keras")
    assert len(a) == len(b)
    # The optimizer's state too (moments, step, and with EMA the raw weights).
    oa, ob = optimizer_state(straight.run_dir), optimizer_state(err.run_dir)
    assert len(oa) == len(ob) > 1
    for va, vb in zip(oa, ob, strict=True):
        np.testing.assert_array_equal(va, vb)
    for wa, wb in zip(a, b, strict=True):
        # Same seed, same per-epoch order, same optimizer state: identical
        # float32 results on the same machine.
        np.testing.assert_array_equal(wa, wb)
    with open(err.run_dir / "history.csv", newline="") as f:
        epochs = [int(r["epoch"]) for r in csv.DictReader(f)]
    assert epochs == [0, 1, 2]
    assert resumed.metrics["test"]["loss"] == pytest.approx(
        straight.metrics["test"]["loss"], abs=1e-6
    )
    # A finished run has nothing to resume.
    with pytest.raises(RunError, match="already trained 3 of 3 epochs"):
        resume(straight.run_dir)


def test_pipeline_order_depends_only_on_seed_and_epoch():
    from backends.keras_backend.pipeline import train_dataset

    x = np.arange(10 * 4, dtype=np.float32).reshape(10, 2, 2, 1)
    y = np.arange(10, dtype=np.int64)

    def labels(first):
        ds = train_dataset(x, y, batch_size=4, seed=3, first_epoch=first, last_epoch=3)
        return np.concatenate([b[1].numpy() for b in ds])

    full, tail = labels(0), labels(1)
    assert len(full) == 30 and len(tail) == 20
    np.testing.assert_array_equal(full[10:], tail)
    assert not np.array_equal(full[:10], full[10:20])  # reshuffled per epoch
    assert sorted(full[:10]) == list(range(10))
