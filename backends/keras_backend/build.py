"""Stage 3 of a run, model: lower the spec (lower.py) under the dtype policy
and the strategy, copy [transfer] weights, compile; or, on a resume, reload
last.keras with its optimizer state and dropout RNG."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from modelspec import runs
from modelspec.errors import require

from . import compat, optim


@contextmanager
def dtype_policy(name: str):
    """Set the global Keras dtype policy for building, restore it after."""
    keras = require("keras")
    previous = keras.mixed_precision.dtype_policy().name
    keras.mixed_precision.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy(previous)


def _float32_output(model):
    """Under a mixed policy the logits must leave the model as float32, or the
    loss and softmax lose precision: add a float32 cast as the last layer."""
    keras = require("keras")
    if model.outputs[0].dtype == "float32":
        return model
    out = keras.layers.Activation("linear", dtype="float32", name="output_float32")(
        model.outputs[0]
    )
    return keras.Model(model.inputs, out, name=model.name)


def build_compiled(
    report,
    steps_per_epoch: int,
    total_steps: int,
    jit: bool,
    base,
    steps_per_execution: int = 1,
):
    """(compiled model, TransferReport or None); call inside strategy.scope()."""
    from . import build_model
    from .transfer import load_and_apply

    t = report.spec.train
    model = _float32_output(build_model(report, seed=t.seed))
    transfer_report = None
    if report.spec.transfer is not None:
        transfer_report = load_and_apply(model, report.spec.transfer, base=base)
    model.compile(
        optimizer=optim.make_optimizer(t, steps_per_epoch, total_steps),
        loss=optim.make_loss(report),
        metrics=optim.make_metrics(t),
        jit_compile=jit,
        steps_per_execution=steps_per_execution,
    )
    return model, transfer_report


def load_for_resume(path: Path, report, jit: bool, steps_per_execution: int = 1):
    """last.keras with its optimizer state, recompiled with the spec's loss
    and metrics (reusing the loaded optimizer keeps its slots and step)."""
    from . import load_model

    optim.custom_objects()  # registers the schedule and loss classes
    model = load_model(path, purpose="to resume")
    model.compile(
        optimizer=model.optimizer,
        loss=optim.make_loss(report),
        metrics=optim.make_metrics(report.spec.train),
        jit_compile=jit,
        steps_per_execution=steps_per_execution,
    )
    # The checkpoint holds the EMA weights as the model's (callbacks.py):
    # training continues from the raw ones.
    compat.swap_ema(model)
    return model


def make_model(report, plan, state: dict, on_transfer=None):
    """(compiled model, TransferReport or None) for `plan` (a plan.RunPlan);
    `on_transfer(TransferReport)` is called once the weights are copied."""
    keras = require("keras")
    t = report.spec.train
    if t.seed is not None:
        keras.utils.set_random_seed(t.seed)
    transfer_report = None
    with dtype_policy(t.precision), plan.strategy.scope():
        if plan.resuming:
            model = load_for_resume(
                plan.read_dir / runs.LAST, report, plan.jit, plan.steps_per_execution
            )
            compat.restore_seed_states(model, state.get("rng", {}))
        else:
            model, transfer_report = build_compiled(
                report,
                plan.steps_per_epoch,
                plan.total_steps,
                plan.jit,
                base=Path(report.file).parent,
                steps_per_execution=plan.steps_per_execution,
            )
            if transfer_report is not None and on_transfer is not None:
                on_transfer(transfer_report)
    compat.check_seed_states(model)
    return model, transfer_report
