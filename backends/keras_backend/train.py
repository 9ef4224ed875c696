"""Train a checked spec into a run directory (see runs.py for the layout).

`train(report)` starts a new run; `resume(run_dir)` continues an interrupted
one from last.keras (optimizer state included) at the next epoch. The input
pipeline's order depends only on (seed, epoch), so both give the same weights.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelspec.errors import RunError, SpecInvalid, require
from modelspec.fsutil import atomic_write_text

from . import callbacks as cb
from . import optim, pipeline, runs
from .adapt import adapt_model  # vocab-merge: normalization adapts before fit
from .finish import finish_run
from .setup import (
    build_compiled,
    choose_strategy,
    describe_strategy,
    dtype_policy,
    is_chief,
    is_multi_worker,
    load_splits,
    patch_for_multi_worker,
    resolved_config,
    shard_by_data,
)


class TrainingInterrupted(RunError):
    """Ctrl-C during fit; last.keras holds the last finished epoch."""

    def __init__(self, run_dir: Path, epochs_done: int) -> None:
        if epochs_done:
            msg = (
                f"training interrupted after epoch {epochs_done}; "
                f"{runs.LAST} and {runs.STATE} are saved in {run_dir}"
            )
            hint = f"continue with: modelspec train --resume {run_dir}"
        else:
            msg = f"training interrupted before the first epoch ended ({run_dir})"
            hint = "nothing to resume: start the training again"
        super().__init__(msg, hint=hint)
        self.run_dir = run_dir
        self.epochs_done = epochs_done


@dataclass
class TrainResult:
    run_dir: Path
    metrics: dict
    transfer: Any = None  # transfer.TransferReport when [transfer] was used
    epochs_done: int = 0
    resumed_from: int | None = None
    history: dict = field(default_factory=dict)
    # False on a multi-worker non-chief: it wrote nothing, and run_dir is the
    # chief's runs/<name> folder (its `latest` is the chief's run).
    chief: bool = True


def plan_epochs(train, n_train: int) -> tuple[int, int]:
    """(epochs, steps_per_epoch); `steps` rounds up to whole epochs."""
    spe = pipeline.steps_per_epoch(n_train, train.batch_size)
    if train.steps is not None:
        return max(1, math.ceil(train.steps / spe)), spe
    return train.epochs, spe


def train(
    report,
    *,
    overrides: Sequence[str] = (),
    out: str | Path = "runs",
    reporter=None,
    on_transfer=None,
    stop_after_epochs: int | None = None,
    splits=None,
) -> TrainResult:
    """Train a new run. `reporter` receives progress events (see
    callbacks.make_progress); `on_transfer(TransferReport)` is called once the
    weights are copied, before training; `stop_after_epochs` is a testing hook
    that interrupts like Ctrl-C; `splits` replaces loading the data."""
    if not report.ok or report.spec is None:
        raise SpecInvalid(report)
    spec = report.spec
    # MultiWorkerMirroredStrategy must exist before any other TensorFlow op.
    strategy = choose_strategy(spec.train.strategy)
    splits = splits if splits is not None else load_splits(spec)
    if spec.transfer is not None:  # fail before a run directory exists
        from .transfer import resolve_source

        resolve_source(spec.transfer.from_, Path(report.file).parent)
    scratch = _scratch_dir(strategy[0])
    if scratch is None:
        run_dir = runs.create_run_dir(out, spec.model.name)
        runs.point_latest(run_dir)
    else:
        run_dir = scratch
    state = {"epochs_done": 0, "best": None, "best_epoch": None, "interrupted": False}
    return _run_and_clean(
        Path(out) / spec.model.name, report, splits, run_dir, state, overrides,
        reporter, on_transfer, stop_after_epochs, resuming=False, strategy=strategy,
        scratch=scratch,
    )


def _run_and_clean(shown_dir: Path, *args, scratch: Path | None, **kwargs):
    """`_run`, then delete a non-chief worker's scratch folder (even on
    failure); its result points at `shown_dir`, where the chief writes."""
    try:
        result = _run(*args, scratch=scratch, **kwargs)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    if scratch is not None:
        result.run_dir = shown_dir
    return result


def _scratch_dir(strategy) -> Path | None:
    """None on the chief. Other workers make the same save calls as the chief
    (under MultiWorkerMirroredStrategy reading variables can be collective),
    into a temporary folder deleted afterwards, as Keras's own checkpoint
    callback does; they never create a run directory."""
    if is_chief(strategy):
        return None
    return Path(tempfile.mkdtemp(prefix="modelspec-worker-"))


def resume(
    run_dir: str | Path,
    *,
    extra_overrides: Sequence[str] = (),
    reporter=None,
    stop_after_epochs: int | None = None,
    splits=None,
) -> TrainResult:
    """Continue a run from last.keras at epoch state.json['epochs_done']."""
    from modelspec.check import check_text

    run_dir = runs.resolve_run(run_dir)
    state = runs.read_json(run_dir / runs.STATE)
    if not state.get("epochs_done") or not (run_dir / runs.LAST).exists():
        raise RunError(
            f"{run_dir} has no finished epoch to resume from",
            hint="start the training again with modelspec train SPEC",
        )
    old = runs.read_json(run_dir / runs.RESOLVED)
    overrides = list(old.get("overrides", [])) + list(extra_overrides)
    text = (run_dir / runs.SPEC).read_text()
    report = check_text(text, file=str(run_dir / runs.SPEC), overrides=overrides)
    if not report.ok or report.spec is None:
        raise SpecInvalid(report)
    # Before any other TensorFlow op, as in train().
    strategy = choose_strategy(report.spec.train.strategy)
    scratch = _scratch_dir(strategy[0])
    if extra_overrides and old and scratch is None:
        # e.g. --epochs on resume: later resumes and `runs` must see it too.
        old["overrides"] = overrides
        runs.write_json(run_dir / runs.RESOLVED, old)
    splits = splits if splits is not None else load_splits(report.spec)
    return _run_and_clean(
        run_dir, report, splits, run_dir, state, overrides, reporter, None,
        stop_after_epochs, resuming=True, strategy=strategy, scratch=scratch,
    )


def _run(
    report, splits, run_dir, state, overrides, reporter, on_transfer,
    stop_after_epochs, resuming, strategy, scratch,
) -> TrainResult:
    """`strategy` is choose_strategy's (strategy, name). Reads run_dir;
    writes run_dir, or scratch on a non-chief worker."""
    keras = require("keras")
    strategy, strategy_name = strategy
    multi_worker = is_multi_worker(strategy)
    read_dir, run_dir = run_dir, scratch or run_dir
    if not resuming:
        atomic_write_text(run_dir / runs.SPEC, report.text)
    spec = report.spec
    t = spec.train
    epochs, spe = plan_epochs(t, len(splits.x_train))
    first = int(state["epochs_done"]) if resuming else 0
    if first >= epochs:
        raise RunError(
            f"{run_dir} already trained {first} of {epochs} epochs",
            hint="pass --epochs with a larger number to train further",
        )
    if t.seed is not None:
        keras.utils.set_random_seed(t.seed)
    jit = _jit(t.jit_compile)
    transfer_report = None
    with dtype_policy(t.precision), strategy.scope():
        if resuming:
            model = _load_for_resume(read_dir / runs.LAST, report, jit)
            cb.restore_seed_states(model, state.get("rng", {}))
        else:
            model, transfer_report = build_compiled(
                report, spe, epochs * spe, jit, base=Path(report.file).parent
            )
            adapt_model(model, report, splits.x_train, transfer_report)
            if transfer_report is not None and on_transfer is not None:
                on_transfer(transfer_report)
    if not resuming:
        config = resolved_config(
            report, overrides, splits, epochs=epochs, steps_per_epoch=spe,
            strategy=strategy_name, distribution=describe_strategy(strategy),
            jit_compile=jit,
            tensorboard=tensorboard_available(),
            transfer=transfer_report.to_json() if transfer_report else None,
        )
        runs.write_json(run_dir / runs.RESOLVED, config)

    train_ds = pipeline.train_dataset(
        splits.x_train, splits.y_train, batch_size=t.batch_size, seed=t.seed,
        first_epoch=first, last_epoch=epochs, augment=spec.data.augment,
    )
    has_val = len(splits.x_val) > 0
    val_ds = (
        pipeline.eval_dataset(
            splits.x_val, splits.y_val, batch_size=t.batch_size, cache=t.cache
        )
        if has_val
        else None
    )
    # batch_size is the global batch: each of N replicas computes 1/N of it.
    train_ds = shard_by_data(train_ds)
    val_ds = shard_by_data(val_ds) if has_val else None
    if multi_worker:
        patch_for_multi_worker(model, strategy, train_ds.element_spec)
    monitor = t.monitor if has_val else t.monitor.removeprefix("val_")
    if resuming:
        cb.truncate_history(run_dir / runs.HISTORY, first)
    throughput = cb.make_throughput(len(splits.x_train))
    callbacks = [
        throughput,
        cb.make_checkpoint(run_dir, monitor, state),
    ]
    if tensorboard_available():
        callbacks.append(
            keras.callbacks.TensorBoard(
                log_dir=str(run_dir / runs.TB),
                update_freq=t.log_every or "epoch",
                write_graph=False,
            )
        )
    if t.early_stopping is not None:
        es = t.early_stopping
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor, patience=es.patience, min_delta=es.min_delta,
                restore_best_weights=es.restore_best,
                mode="min" if monitor.endswith("loss") else "max",
            )
        )
    if reporter is not None:
        callbacks.append(
            cb.make_progress(
                reporter, epochs=epochs, steps=spe, batch_size=t.batch_size
            )
        )
    if stop_after_epochs is not None:
        callbacks.append(cb.make_stop_after(stop_after_epochs))

    started = time.perf_counter()
    try:
        model.fit(
            train_ds,
            epochs=epochs,
            initial_epoch=first,
            steps_per_epoch=spe,
            validation_data=val_ds,
            callbacks=callbacks,
            shuffle=False,  # the pipeline shuffles, per (seed, epoch)
            verbose=0,
        )
    except KeyboardInterrupt:
        state["interrupted"] = True
        state["fit_seconds"] = state.get("fit_seconds", 0.0) + (
            time.perf_counter() - started
        )
        if state["epochs_done"]:
            runs.write_json(run_dir / runs.STATE, state)
        raise TrainingInterrupted(run_dir, int(state["epochs_done"])) from None
    state["fit_seconds"] = state.get("fit_seconds", 0.0) + (
        time.perf_counter() - started
    )
    runs.write_json(run_dir / runs.STATE, state)

    if scratch is not None:  # the chief evaluates and writes metrics.json
        metrics = {
            "monitor": t.monitor,
            "best_epoch": state.get("best_epoch"),
            "epochs_done": state.get("epochs_done"),
            "wall_time_s": state["fit_seconds"],
        }
    else:
        # Multi-worker: the chief alone evaluates best.keras, outside the
        # strategy, so nothing waits for workers that have finished.
        with dtype_policy(t.precision), _finish_scope(strategy, multi_worker):
            metrics = finish_run(
                report, splits, run_dir, state,
                fit_seconds=state["fit_seconds"],
                train_examples_per_s=throughput.rate,
                epochs_planned=epochs,
                resumed_from=first if resuming else None,
            )
    return TrainResult(
        run_dir=run_dir,
        metrics=metrics,
        transfer=transfer_report,
        epochs_done=int(state["epochs_done"]),
        resumed_from=first if resuming else None,
        chief=scratch is None,
    )


def _finish_scope(strategy, multi_worker: bool):
    from contextlib import nullcontext

    return nullcontext() if multi_worker else strategy.scope()


def tensorboard_available() -> bool:
    """tf.summary needs the `tensorboard` package; without it a run simply
    has no tb/ folder (resolved.json says so) rather than failing."""
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None


def _jit(setting) -> bool:
    if setting == "auto":
        tf = require("tensorflow")
        return bool(tf.config.list_physical_devices("GPU"))
    return bool(setting)


def _load_for_resume(path: Path, report, jit: bool):
    """last.keras with its optimizer state, recompiled with the spec's loss
    and metrics (reusing the loaded optimizer keeps its slots and step)."""
    from . import load_model

    optim.custom_objects()  # registers the schedule and loss classes
    try:
        model = load_model(path)
    except Exception as exc:  # corrupt file: name it rather than a traceback
        raise RunError(f"cannot load {path} to resume: {exc}") from None
    model.compile(
        optimizer=model.optimizer,
        loss=optim.make_loss(report),
        metrics=optim.make_metrics(report.spec.train),
        jit_compile=jit,
    )
    return model
