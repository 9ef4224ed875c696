"""Stage 4 of a run, callbacks: atomic checkpoints + resume state,
throughput, TensorBoard, early stopping, progress reporting (the CLI draws
it) and a testing hook that interrupts.

Keras is imported inside `make_*` functions; the classes are built there.
"""

from __future__ import annotations

import csv
import math
import os
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from modelspec import runs
from modelspec.errors import require
from modelspec.fsutil import atomic_path

from . import compat
from .plan import tensorboard_available


def save_atomic(model, target: Path) -> None:
    # Keras insists on the .keras suffix, also for the temporary name.
    with atomic_path(target, suffix=".keras") as tmp:
        model.save(tmp)


@contextmanager
def deferred_ctrl_c():
    """Hold Ctrl-C until the block ends: last.keras and state.json must not
    disagree about the epoch, or a resume would train one epoch twice."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed = []
    previous = signal.signal(signal.SIGINT, lambda *_: pressed.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt


def _better(monitor: str, value: float, best) -> bool:
    if best is None or (isinstance(best, float) and math.isnan(best)):
        return True
    return value < best if monitor.endswith("loss") else value > best


def append_history(path: Path, epoch: int, logs: dict) -> None:
    """One history.csv row per finished epoch (epoch counted from 0, as
    Keras's CSVLogger does); the header is fixed by the first row."""
    if path.exists() and path.stat().st_size:
        with open(path, newline="") as f:
            header = next(csv.reader(f))
    else:
        header = ["epoch", *sorted(logs)]
        with open(path, "w", newline="") as f:
            csv.writer(f).writerow(header)
    row = {"epoch": epoch, **logs}
    with open(path, "a", newline="") as f:
        csv.writer(f).writerow([row.get(k, "") for k in header])
        f.flush()
        os.fsync(f.fileno())


def make_checkpoint(run_dir: Path, monitor: str, state: dict):
    """last.keras, a history.csv row and state.json every epoch, then
    best.keras when `monitor` improved, all under one held Ctrl-C.

    state.json is the commit: it promises last.keras holds its epoch. best.keras
    comes after it, so a kill never leaves a best.keras newer than state.json
    says (recover.repair_best restores one that is older). `state` is the
    resume state (epochs_done, best, best_epoch); it is updated in place so the
    trainer sees what was written."""
    keras = require("keras")

    class Checkpoint(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            # With weight EMA every .keras file holds the averaged weights as
            # the model's (what was validated, what evaluate and export
            # read); the raw ones sit in the optimizer's average slots, and a
            # resume swaps them back (build.load_for_resume).
            with deferred_ctrl_c():
                compat.swap_ema(self.model)
                try:
                    self._save(epoch, logs or {})
                finally:
                    compat.swap_ema(self.model)

        def _save(self, epoch, logs):
            value = logs.get(monitor)
            if value is None:
                value = logs.get(monitor.removeprefix("val_"))
            better = value is not None and _better(monitor, float(value), state["best"])
            if better:
                state["best"] = float(value)
                state["best_epoch"] = epoch + 1
            save_atomic(self.model, run_dir / runs.LAST)
            append_history(run_dir / runs.HISTORY, epoch, logs)
            state["epochs_done"] = epoch + 1
            state["interrupted"] = False
            state["last_logs"] = {k: float(v) for k, v in logs.items()}
            state["rng"] = compat.seed_states(self.model)
            runs.write_json(run_dir / runs.STATE, state)
            if better:
                save_atomic(self.model, run_dir / runs.BEST)

    return Checkpoint()


def make_throughput(examples_per_epoch: int):
    """Training examples per second, from epoch wall times (evaluation of the
    validation split included, as a user would feel it)."""
    keras = require("keras")

    class Throughput(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = 0.0
            self.epochs = 0
            self._t0 = None

        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds += time.perf_counter() - self._t0
            self.epochs += 1
            if logs is not None:
                logs["examples_per_s"] = self.rate

        @property
        def rate(self):
            if not self.seconds:
                return None
            return examples_per_epoch * self.epochs / self.seconds

    return Throughput()


def make_progress(reporter, *, epochs: int, steps: int, batch_size: int):
    """Forward Keras events to `reporter` (an object with epoch_begin,
    batch_end and epoch_end methods, e.g. the CLI's Rich progress bar)."""
    keras = require("keras")

    class Progress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = time.perf_counter()
            reporter.epoch_begin(epoch + 1, epochs, steps)

        def on_train_batch_end(self, batch, logs=None):
            elapsed = max(time.perf_counter() - self._t0, 1e-9)
            rate = (batch + 1) * batch_size / elapsed
            reporter.batch_end(batch + 1, dict(logs or {}), rate)

        def on_epoch_end(self, epoch, logs=None):
            reporter.epoch_end(epoch + 1, dict(logs or {}))

    return Progress()


def make_ema_evaluation():
    """Validation during fit sees the averaged weights (weight EMA), so the
    monitored value is that of the weights best.keras keeps."""
    keras = require("keras")

    class EmaEvaluation(keras.callbacks.Callback):
        def on_test_begin(self, logs=None):
            compat.swap_ema(self.model)

        def on_test_end(self, logs=None):
            compat.swap_ema(self.model)

    return EmaEvaluation()


def make_stop_after(epochs: int):
    """Testing hook: raise KeyboardInterrupt right after `epochs` epochs in
    this process, just as Ctrl-C would (after the checkpoint callback ran)."""
    keras = require("keras")

    class StopAfter(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = 0

        def on_epoch_end(self, epoch, logs=None):
            self.seen += 1
            if self.seen >= epochs:
                raise KeyboardInterrupt

    return StopAfter()


def make_callbacks(
    spec,
    plan,
    state: dict,
    n_train: int,
    *,
    reporter=None,
    stop_after_epochs: int | None = None,
):
    """(callbacks for fit, the throughput callback). `plan` is a
    plan.RunPlan; `state` is the resume state the checkpoint updates."""
    keras = require("keras")
    t = spec.train
    run_dir = plan.run_dir
    throughput = make_throughput(n_train)
    callbacks = [throughput, make_checkpoint(run_dir, plan.monitor, state)]
    if t.optimizer.ema is not None:
        callbacks.insert(0, make_ema_evaluation())
    if tensorboard_available():
        tensorboard = compat.step_counting_tensorboard(
            keras, plan.first_epoch * plan.steps_per_epoch, plan.steps_per_execution
        )
        callbacks.append(
            tensorboard(
                log_dir=str(run_dir / runs.TB),
                update_freq=t.log_every or "epoch",
                write_graph=False,
            )
        )
    if t.early_stopping is not None:
        es = t.early_stopping
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=plan.monitor,
                patience=es.patience,
                min_delta=es.min_delta,
                restore_best_weights=es.restore_best,
                mode="min" if plan.monitor.endswith("loss") else "max",
            )
        )
    if reporter is not None:
        callbacks.append(
            make_progress(
                reporter,
                epochs=plan.epochs,
                steps=plan.steps_per_epoch,
                batch_size=t.batch_size,
            )
        )
    if stop_after_epochs is not None:
        callbacks.append(make_stop_after(stop_after_epochs))
    return callbacks, throughput
