"""Train a checked spec into a run directory (layout: modelspec/runs/rundir.py).

`train(report)` starts a new run; `resume(run_dir)` continues an interrupted
one from last.keras (optimizer state included) at the next epoch. The input
pipeline's order depends only on (seed, epoch), so both give the same weights.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelspec import runs
from modelspec.errors import RunError, SpecInvalid
from modelspec.fsutil import atomic_write_bytes, atomic_write_text
from modelspec.resources import require_training_memory

from . import build, compat, finish, fit, pipeline, plan, recover
from . import callbacks as cb
from .adapt import adapt_model
from .fit import TrainingInterrupted

__all__ = ["TrainResult", "TrainingInterrupted", "resume", "train"]


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


def train(
    report,
    *,
    overrides: Sequence[str] = (),
    out: str | Path = "runs",
    reporter=None,
    on_transfer=None,
    stop_after_epochs: int | None = None,
    splits=None,
    on_run_dir=None,
) -> TrainResult:
    """Train a new run. `reporter` receives progress events (see
    callbacks.make_progress); `on_transfer(TransferReport)` is called once the
    weights are copied, before training; `on_run_dir(path)` once the run
    folder exists (a sweep records it); `stop_after_epochs` is a testing hook
    that interrupts like Ctrl-C; `splits` replaces loading the data."""
    if not report.ok or report.spec is None:
        raise SpecInvalid(report)
    spec = report.spec
    require_training_memory(report.total_params, spec.train.optimizer)
    strategy = _choose_strategy(spec)
    splits = splits if splits is not None else pipeline.load_splits(spec)
    if spec.transfer is not None:  # fail before a run directory exists
        from .transfer import resolve_source

        resolve_source(spec.transfer.from_, Path(report.file).parent)
    scratch = _scratch_dir(strategy[0])
    run_dir = scratch
    if scratch is None:
        run_dir = runs.create_run_dir(out, spec.model.name)
        runs.point_latest(run_dir)
    state = {"epochs_done": 0, "best": None, "best_epoch": None, "interrupted": False}
    with _lock(None if scratch else run_dir):
        if on_run_dir is not None and scratch is None:
            on_run_dir(run_dir)
        return _run_and_clean(
            Path(out) / spec.model.name,
            report,
            splits,
            run_dir,
            state,
            overrides,
            reporter,
            on_transfer,
            stop_after_epochs,
            resuming=False,
            strategy=strategy,
            scratch=scratch,
        )


def _lock(run_dir: Path | None):
    """The run folder's lock (modelspec/runs/lock.py), held by the process
    that writes it: the chief. Other workers only read it, and must not wait
    on a lock the chief holds while it waits for them."""
    return nullcontext() if run_dir is None else runs.locked(run_dir)


def _choose_strategy(spec):
    """plan.choose_strategy, first: MultiWorkerMirroredStrategy must exist
    before any other TensorFlow op. Then the guard of the Keras internals a
    multi-worker run patches, before a run directory exists."""
    strategy = plan.choose_strategy(spec.train.strategy)
    if plan.is_multi_worker(strategy[0]):
        compat.check_multi_worker_api()
    return strategy


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
    if plan.is_chief(strategy):
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
    """Continue a run from last.keras at epoch state.json['epochs_done'];
    a run whose epochs are all trained but which has no metrics.json (killed
    while evaluating) is only finished. Holds the run's lock throughout."""
    run_dir = runs.resolve_run(run_dir)
    old = runs.read_json(run_dir / runs.RESOLVED)
    overrides = _old_overrides(run_dir, old) + list(extra_overrides)
    report = _resume_report(run_dir, overrides)
    require_training_memory(report.total_params, report.spec.train.optimizer)
    strategy = _choose_strategy(report.spec)
    chief = plan.is_chief(strategy[0])
    with _lock(run_dir if chief else None):
        # Read after taking the lock: what the last process wrote, finished.
        state = runs.read_state(run_dir)
        if not state.get("epochs_done") or not (run_dir / runs.LAST).exists():
            raise RunError(
                f"{run_dir} has no finished epoch to resume from",
                hint="start the training again with modelspec train SPEC",
            )
        if chief:
            recover.repair_run(run_dir, state)
            if extra_overrides and old:
                # e.g. --epochs on resume: later resumes and `runs` see it too.
                old["overrides"] = overrides
                runs.write_json(run_dir / runs.RESOLVED, old)
        splits = splits if splits is not None else pipeline.load_splits(report.spec)
        scratch = _scratch_dir(strategy[0])
        return _run_and_clean(
            run_dir,
            report,
            splits,
            run_dir,
            state,
            overrides,
            reporter,
            None,
            stop_after_epochs,
            resuming=True,
            strategy=strategy,
            scratch=scratch,
        )


def _old_overrides(run_dir: Path, resolved: dict) -> list[str]:
    overrides = resolved.get("overrides", [])
    if not isinstance(overrides, list) or not all(
        isinstance(o, str) for o in overrides
    ):
        raise RunError(
            f"cannot read {run_dir / runs.RESOLVED}: 'overrides' should be a "
            f"list of strings. Received: {overrides!r}"
        )
    return list(overrides)


def _resume_report(run_dir: Path, overrides: list[str]):
    from modelspec.check import check_text

    text = (run_dir / runs.SPEC).read_text()
    report = check_text(text, file=str(run_dir / runs.SPEC), overrides=overrides)
    if not report.ok or report.spec is None:
        raise SpecInvalid(report)
    return report


def _fit(report, splits, run_plan, state, model, reporter, stop_after_epochs):
    """The data, callbacks and fit stages; returns the training throughput."""
    datasets = pipeline.make_datasets(report.spec, splits, run_plan)
    if run_plan.multi_worker:
        compat.patch_for_multi_worker(
            model, run_plan.strategy, datasets[0].element_spec
        )
    callbacks, throughput = cb.make_callbacks(
        report.spec,
        run_plan,
        state,
        len(splits.x_train),
        reporter=reporter,
        stop_after_epochs=stop_after_epochs,
    )
    fit.fit(model, datasets, callbacks, run_plan, state)
    return throughput.rate


def _run(
    report,
    splits,
    run_dir,
    state,
    overrides,
    reporter,
    on_transfer,
    stop_after_epochs,
    resuming,
    strategy,
    scratch,
) -> TrainResult:
    """The stages of a run, in order. `strategy` is choose_strategy's
    (strategy, name). Reads run_dir; writes run_dir, or scratch on a
    non-chief worker."""
    if not resuming:
        atomic_write_text((scratch or run_dir) / runs.SPEC, report.text)
        if splits.train_raw:  # what the network sees, before the hour it takes
            from .augment_grid import augment_png

            png = augment_png(report.spec, splits)
            atomic_write_bytes((scratch or run_dir) / runs.AUGMENT, png)
    run_plan = plan.make_plan(
        report,
        splits,
        state,
        strategy,
        run_dir=run_dir,
        scratch=scratch,
        resuming=resuming,
    )
    if run_plan.finish_only:
        model, transfer_report = None, None
    else:
        model, transfer_report = build.make_model(report, run_plan, state, on_transfer)
        adapt_model(
            model, report, splits.model_x("train"), transfer_report, resuming=resuming
        )
    if not resuming:
        config = plan.plan_config(report, overrides, splits, run_plan, transfer_report)
        runs.write_json(run_plan.run_dir / runs.RESOLVED, config)
    rate = (state.get("last_logs") or {}).get("examples_per_s")
    if not run_plan.finish_only:
        rate = _fit(report, splits, run_plan, state, model, reporter, stop_after_epochs)
    try:
        metrics = finish.finish(report, splits, run_plan, state, rate)
    except KeyboardInterrupt:
        raise TrainingInterrupted(
            run_plan.run_dir, int(state["epochs_done"]), finishing=True
        ) from None
    return TrainResult(
        run_dir=run_plan.run_dir,
        metrics=metrics,
        transfer=transfer_report,
        epochs_done=int(state["epochs_done"]),
        resumed_from=run_plan.first_epoch if resuming else None,
        chief=run_plan.chief,
    )
