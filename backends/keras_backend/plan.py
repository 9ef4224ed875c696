"""Stage 1 of a run, plan: the distribution strategy, the epochs and steps,
where this process reads and writes, and the resolved config that records
all of it (resolved.json)."""

from __future__ import annotations

import contextlib
import math
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelspec import DISTRIBUTION, runs
from modelspec.errors import RunError, require
from modelspec.lint.recipe_rules import execution_steps

from . import optim, pipeline

_TF_CONFIG_HINT = (
    'set TF_CONFIG to {"cluster": {"worker": [...]}, "task": '
    '{"type": "worker", "index": N}} on every worker'
)


def choose_strategy(setting: str):
    """(strategy, name). 'auto' mirrors over local GPUs when there are two or
    more; 'mirrored' without GPUs mirrors over the logical CPU devices."""
    tf = require("tensorflow")
    gpus = tf.config.list_physical_devices("GPU")
    if setting == "auto":
        setting = "mirrored" if len(gpus) > 1 else "default"
    if setting == "default":
        return tf.distribute.get_strategy(), "default"
    if setting == "mirrored":
        if gpus:
            return tf.distribute.MirroredStrategy(), f"mirrored ({len(gpus)} GPU)"
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        return (
            tf.distribute.MirroredStrategy(devices=cpus),
            f"mirrored ({len(cpus)} CPU)",
        )
    if not os.environ.get("TF_CONFIG"):
        raise RunError(
            "strategy = 'multi_worker' needs the TF_CONFIG environment variable",
            hint=_TF_CONFIG_HINT,
        )
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    except (ValueError, KeyError) as exc:  # TF_CONFIG is not valid JSON/cluster
        raise RunError(f"cannot read TF_CONFIG: {exc}", hint=_TF_CONFIG_HINT) from exc
    workers = describe_strategy(strategy)["workers"]
    return strategy, f"multi_worker ({workers} workers)"


def describe_strategy(strategy) -> dict:
    """For resolved.json: the strategy (by its public tf.distribute name),
    replicas and workers."""
    tf = require("tensorflow")
    name = "default"
    for public in ("MultiWorkerMirroredStrategy", "MirroredStrategy"):
        if isinstance(strategy, getattr(tf.distribute, public)):
            name = public
            break
    resolver = getattr(strategy, "cluster_resolver", None)
    jobs = resolver.cluster_spec().as_dict() if resolver is not None else {}
    workers = sum(len(jobs.get(job, [])) for job in ("chief", "worker"))
    return {
        "class": name,
        "replicas": int(strategy.num_replicas_in_sync),
        "workers": max(workers, 1),
    }


def is_multi_worker(strategy) -> bool:
    tf = require("tensorflow")
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy) -> bool:
    """The worker that writes the run directory: task "chief", or "worker" 0
    when the cluster has no chief (TF's own rule); always true on one machine."""
    return bool(strategy.extended.should_checkpoint)


def plan_epochs(train, n_train: int) -> tuple[int, int]:
    """(epochs, steps_per_epoch); `steps` rounds up to whole epochs."""
    spe = pipeline.steps_per_epoch(n_train, train.batch_size)
    if train.steps is not None:
        return max(1, math.ceil(train.steps / spe)), spe
    return train.epochs, spe


def resolve_jit(setting) -> bool:
    if setting == "auto":
        tf = require("tensorflow")
        return bool(tf.config.list_physical_devices("GPU"))
    return bool(setting)


def tensorboard_available() -> bool:
    """tf.summary needs the `tensorboard` package; without it a run simply
    has no tb/ folder (resolved.json says so) rather than failing."""
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None


@dataclass
class RunPlan:
    strategy: Any
    strategy_name: str
    epochs: int
    steps_per_epoch: int
    first_epoch: int  # 0, or the epoch a resume continues at
    jit: bool
    monitor: str  # train.monitor, without "val_" when there is no val split
    has_val: bool
    read_dir: Path  # the run directory (last.keras for a resume)
    run_dir: Path  # where this process writes: a scratch folder on a non-chief
    resuming: bool
    chief: bool  # False: a multi-worker non-chief, which keeps no files
    # A resume of a run whose training ended but whose finish stage did not
    # (killed while evaluating): no model, no fit, only finish.
    finish_only: bool = False
    steps_per_execution: int = 1  # execution_steps of the spec's setting

    @property
    def multi_worker(self) -> bool:
        return is_multi_worker(self.strategy)

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch


def make_plan(
    report,
    splits,
    state: dict,
    strategy,
    *,
    run_dir: Path,
    scratch: Path | None,
    resuming: bool,
) -> RunPlan:
    """`strategy` is choose_strategy's (strategy, name); raises when a resume
    has nothing left to do."""
    t = report.spec.train
    epochs, spe = plan_epochs(t, len(splits.x_train))
    first = int(state["epochs_done"]) if resuming else 0
    write_dir = scratch or run_dir
    finish_only = resuming and _finish_only(state, first, epochs, run_dir)
    if not finish_only:
        state.pop("fit_done", None)
    has_val = len(splits.x_val) > 0
    return RunPlan(
        strategy=strategy[0],
        strategy_name=strategy[1],
        epochs=epochs,
        steps_per_epoch=spe,
        first_epoch=first,
        jit=resolve_jit(t.jit_compile),
        monitor=t.monitor if has_val else t.monitor.removeprefix("val_"),
        has_val=has_val,
        read_dir=run_dir,
        run_dir=write_dir,
        resuming=resuming,
        chief=scratch is None,
        finish_only=finish_only,
        steps_per_execution=execution_steps(t.steps_per_execution, spe, t.log_every),
    )


def _finish_only(state: dict, first: int, epochs: int, run_dir: Path) -> bool:
    """True when a resumed run has trained all it will (its epochs, or early
    stopping ended fit) but has no metrics.json; raises when it is done."""
    trained = first >= epochs or state.get("fit_done") == epochs
    if not trained:
        return False
    if (run_dir / runs.METRICS).exists():
        raise RunError(
            f"{run_dir} already trained {first} of {epochs} epochs",
            hint="pass --epochs with a larger number to train further",
        )
    return True


def versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for dist in (DISTRIBUTION, "tensorflow-cpu", "tensorflow", "keras", "numpy"):
        with contextlib.suppress(md.PackageNotFoundError):
            out[dist] = md.version(dist)
    return out


def jsonable(value):
    """numpy arrays and scalars (e.g. standardization mean/std) as JSON."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _describe(splits):
    describe = getattr(splits, "describe", None)
    return jsonable(describe() if callable(describe) else str(describe))


def resolved_config(report, overrides, splits, **derived) -> dict:
    spec = report.spec
    return {
        "spec": spec.model_dump(by_alias=True, mode="json"),
        "source": str(Path(report.file)),
        "overrides": list(overrides),
        "derived": {
            "from_logits": optim.resolve_from_logits(report),
            "examples": {
                "train": len(splits.x_train),
                "val": len(splits.x_val),
                "test": len(splits.x_test),
            },
            **derived,
        },
        "data": _describe(splits),
        "class_names": list(splits.class_names),
        "num_classes": int(splits.num_classes),
        "preprocessing": jsonable(dict(getattr(splits, "preprocessing", {}) or {})),
        "versions": versions(),
    }


def plan_config(report, overrides, splits, plan: RunPlan, transfer_report) -> dict:
    """resolved.json of a new run: the spec, the data and what was derived."""
    return resolved_config(
        report,
        overrides,
        splits,
        epochs=plan.epochs,
        steps_per_epoch=plan.steps_per_epoch,
        steps_per_execution=plan.steps_per_execution,
        strategy=plan.strategy_name,
        distribution=describe_strategy(plan.strategy),
        jit_compile=plan.jit,
        tensorboard=tensorboard_available(),
        transfer=transfer_report.to_json() if transfer_report else None,
    )
