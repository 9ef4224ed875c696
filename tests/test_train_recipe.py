"""Recipe keys of `[train]`: schedule floor, warm-up and one-cycle as numbers
against formulas written out here, weight EMA, steps_per_execution."""

from __future__ import annotations

import csv
import itertools
import math
import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from modelspec.check import check_text
from modelspec.schema import TrainTable

pytestmark = pytest.mark.framework

SPE, TOTAL = 10, 100  # steps per epoch, total steps


def table(lr: float, **schedule) -> TrainTable:
    return TrainTable.model_validate(
        {"optimizer": {"learning_rate": lr}, "schedule": schedule}
    )


def keras_rates(t: TrainTable, steps) -> list[float]:
    from backends.keras_backend.optim import make_schedule

    s = make_schedule(t, steps_per_epoch=SPE, total_steps=TOTAL)
    return [float(s(k)) for k in steps]


# Independent formulas: PyTorch's OneCycleLR (anneal_strategy="cos",
# three_phase=False) and the textbook decays, written from their definitions.
def torch_one_cycle(step, total, max_lr, pct=0.3, div=25.0, final_div=1e4):
    initial = max_lr / div
    minimum = initial / final_div
    phases = [(pct * total - 1, initial, max_lr), (total - 1, max_lr, minimum)]
    start = 0.0
    for end, lo, hi in phases:
        if step <= end or end == phases[-1][0]:
            frac = min((step - start) / (end - start), 1.0)
            return hi + (lo - hi) / 2 * (math.cos(math.pi * frac) + 1)
        start = end
    raise AssertionError


def exponential(step, lr, rate, period, staircase=False):
    p = step / period
    return lr * rate ** (math.floor(p) if staircase else p)


def cosine(step, lr, total, alpha=0.0):
    done = min(step / total, 1.0)
    return lr * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * done)) + alpha)


STEPS = [0, 1, 5, 9, 10, 15, 29, 30, 31, 50, 70, 99, 100, 130]


@pytest.mark.parametrize(
    "settings, formula",
    [
        (
            {"type": "one_cycle"},
            lambda k: torch_one_cycle(min(k, TOTAL - 1), TOTAL, 0.1),
        ),
        (
            {"type": "one_cycle", "pct_start": 0.5, "div_factor": 10},
            lambda k: torch_one_cycle(min(k, TOTAL - 1), TOTAL, 0.1, 0.5, 10),
        ),
        (
            {"type": "exponential", "decay_rate": 0.5, "min_lr": 0.01},
            lambda k: max(exponential(k, 0.1, 0.5, SPE), 0.01),
        ),
        (
            {"type": "exponential", "decay_rate": 0.5, "staircase": True},
            lambda k: exponential(k, 0.1, 0.5, SPE, staircase=True),
        ),
        (
            {"type": "step", "decay_rate": 0.1, "decay_epochs": 3, "min_lr": 5e-4},
            lambda k: max(exponential(k, 0.1, 0.1, 3 * SPE, True), 5e-4),
        ),
        (
            {"type": "cosine", "alpha": 0.1, "min_lr": 0.03},
            lambda k: max(cosine(k, 0.1, TOTAL, 0.1), 0.03),
        ),
        (
            {"type": "cosine", "min_lr": 0.02, "warmup_epochs": 2},
            lambda k: (
                max(cosine(max(k - 20, 0), 0.1, TOTAL - 20), 0.02)
                * min((k + 1) / 20, 1)
            ),
        ),
        (
            {"type": "one_cycle", "warmup_epochs": 1},
            lambda k: (
                torch_one_cycle(min(max(k - 10, 0), 89), 90, 0.1) * min((k + 1) / 10, 1)
            ),
        ),
        (
            {"type": "constant", "warmup_epochs": 0.5},
            lambda k: 0.1 * min((k + 1) / 5, 1),
        ),
    ],
)
def test_schedule_values_match_the_formulas(settings, formula):
    got = keras_rates(table(0.1, **settings), STEPS)
    want = [formula(k) for k in STEPS]
    assert got == pytest.approx(want, rel=1e-5, abs=1e-9)


def test_one_cycle_rises_to_the_peak_then_ends_at_its_floor():
    rates = keras_rates(table(0.1, type="one_cycle"), range(TOTAL))
    peak = int(np.argmax(rates))
    assert peak == 29  # pct_start * total - 1
    assert rates[0] == pytest.approx(0.1 / 25)
    assert rates[peak] == pytest.approx(0.1)
    assert rates[-1] == pytest.approx(0.1 / 25 / 1e4, abs=1e-9)
    rising, falling = rates[: peak + 1], rates[peak:]
    assert all(a <= b for a, b in itertools.pairwise(rising))
    assert all(a >= b for a, b in itertools.pairwise(falling))
    floored = keras_rates(table(0.1, type="one_cycle", min_lr=1e-3), range(TOTAL))
    assert min(floored) == pytest.approx(1e-3)


SPEC = """\
[model]
name = "recipe"
input = [8, 8, 1]
classes = 10

[[layers]]
type = "flatten"

[[layers]]
type = "dense"
name = "out"
units = 10

[data]
dataset = "digits"
validation = 100
limit = 256

[train]
epochs = {epochs}
batch_size = 64
{train}
"""


def report_of(train: str, epochs: int = 2):
    report = check_text(SPEC.format(train=train, epochs=epochs), file="recipe.toml")
    assert report.ok, [d.render() for d in report.diagnostics]
    return report


def test_the_optimizer_uses_the_scheduled_rate_after_n_steps(tmp_path):
    """A real run: after 2 epochs of 4 steps the optimizer's learning rate is
    the formula's value at step 8 (256 training examples, batch 64)."""
    from backends.keras_backend import load_model
    from backends.keras_backend.optim import custom_objects
    from backends.keras_backend.train import train

    result = train(
        report_of(
            'optimizer = { type = "sgd", learning_rate = 0.1 }\n'
            'schedule = { type = "exponential", decay_rate = 0.5, min_lr = 0.03 }'
        ),
        out=tmp_path,
    )
    custom_objects()
    opt = load_model(result.run_dir / "last.keras").optimizer
    assert int(opt.iterations) == 8
    want = max(exponential(8, 0.1, 0.5, 4), 0.03)  # the floor wins: 0.025 < 0.03
    assert float(opt.learning_rate) == pytest.approx(want, rel=1e-6)


def history(run_dir) -> list[dict]:
    with open(run_dir / "history.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_ema_best_keras_holds_the_weights_that_were_validated(tmp_path):
    """val_loss of the best epoch (computed during fit) is what best.keras
    gives on the same validation examples; the raw weights give another."""
    from backends.keras_backend import finish, load_model
    from backends.keras_backend.pipeline import load_splits
    from backends.keras_backend.train import train

    report = report_of(
        'optimizer = { type = "sgd", learning_rate = 0.2, ema = 0.9 }', epochs=3
    )
    result = train(report, out=tmp_path)
    rows = history(result.run_dir)
    best = rows[result.metrics["best_epoch"] - 1]
    splits = load_splits(report.spec)
    model, path = finish.load_best(result.run_dir, report)
    assert path.name == "best.keras"
    again = finish.evaluate_splits(model, splits, 64)["val"]
    assert again["loss"] == pytest.approx(float(best["val_loss"]), rel=1e-5)
    # last.keras keeps the raw weights in the optimizer's EMA slots: they
    # differ from the averaged ones, and validate differently.
    last = load_model(result.run_dir / "last.keras")
    from backends.keras_backend import compat

    pairs = compat.ema_pairs(last.optimizer)
    assert pairs and not np.allclose(np.asarray(pairs[0][0]), np.asarray(pairs[0][1]))
    compat.swap_ema(last)
    last.compile(loss=model.loss, metrics=["accuracy"])
    raw = last.evaluate(splits.x_val, splits.y_val, verbose=0, return_dict=True)
    assert raw["loss"] != pytest.approx(float(rows[-1]["val_loss"]), rel=1e-4)


@pytest.mark.parametrize(
    "requested, spe, log_every, used",
    [
        (1, 10, None, 1),
        (16, 1688, None, 8),
        (16, 12, None, 12),
        (4, 12, None, 4),
        (8, 12, None, 6),
        (8, 16, 4, 4),
        (16, 7, None, 7),
        (5, 7, None, 1),
    ],
)
def test_steps_per_execution_divides_the_epoch(requested, spe, log_every, used):
    from backends.keras_backend.plan import execution_steps

    assert execution_steps(requested, spe, log_every) == used


def test_steps_per_execution_keeps_step_counts_and_calls_back_per_execution(
    tmp_path,
):
    from backends.keras_backend import load_model
    from backends.keras_backend.train import train

    class Reporter:
        def __init__(self):
            self.batches = []

        def epoch_begin(self, *_):
            pass

        def batch_end(self, batch, logs, rate):
            self.batches.append(batch)

        def epoch_end(self, *_):
            pass

    # 256 examples, batch 64: 4 steps an epoch; 3 does not divide 4, so 2.
    reporter = Reporter()
    result = train(
        report_of("steps_per_execution = 3"), out=tmp_path, reporter=reporter
    )
    assert reporter.batches == [2, 4, 2, 4]
    model = load_model(result.run_dir / "last.keras")
    assert int(model.optimizer.iterations) == 8
    resolved = (result.run_dir / "resolved.json").read_text()
    assert '"steps_per_execution": 2' in resolved


def batch_scalar_steps(run_dir, tag="batch_loss") -> list[int]:
    import tensorflow as tf

    steps = []
    for path in sorted((run_dir / "tb").rglob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            if any(v.tag == tag for v in event.summary.value):
                steps.append(int(event.step))
    return sorted(steps)


def test_log_every_counts_training_steps_with_several_per_execution(tmp_path):
    """Keras's TensorBoard numbers batch scalars by callback (one per
    execution); the run's are numbered by step: every 4th of 2 epochs x 4."""
    from backends.keras_backend.train import train

    result = train(report_of("steps_per_execution = 2\nlog_every = 4"), out=tmp_path)
    assert batch_scalar_steps(result.run_dir) == [4, 8]


def test_label_smoothing_reaches_the_compiled_loss():
    """The loss `train` compiles is the smoothed one: its value on one example
    is the cross-entropy against the smoothed target, not the plain one."""
    from backends.keras_backend.build import build_compiled

    report = report_of("label_smoothing = 0.3")
    model, _ = build_compiled(report, SPE, TOTAL, jit=False, base=".")
    logits = np.array([[3.0, 1.0, 0, 0, 0, 0, 0, 0, 0, -1.0]], np.float32)
    logp = logits[0] - np.log(np.exp(logits[0]).sum())
    target = np.full(10, 0.3 / 10)
    target[1] += 0.7
    got = float(model.loss(np.array([1]), logits))
    assert got == pytest.approx(-(target * logp).sum(), rel=1e-5)
    assert got != pytest.approx(-logp[1], rel=1e-3)
