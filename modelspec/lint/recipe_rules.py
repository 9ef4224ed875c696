"""Lint rules for the training recipe in `[train]`: the schedule's floor,
warm-up and keys, weight EMA, steps_per_execution, label smoothing
(MS330-MS336)."""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..data.info import TRAIN_SIZES
from ..diagnostics import Diagnostic
from .context import LintContext
from .train_rules import _classes as classes

# The schedule keys that only some types read.
SCHEDULE_KEYS = {
    "decay_rate": ("exponential", "step"),
    "decay_epochs": ("exponential", "step"),
    "staircase": ("exponential",),
    "alpha": ("cosine",),
    "pct_start": ("one_cycle",),
    "div_factor": ("one_cycle",),
    "final_div_factor": ("one_cycle",),
}
# Below this momentum an EMA averages fewer than ~10 steps.
EMA_LOW = 0.9


def execution_steps(requested: int, spe: int, log_every: int | None = None) -> int:
    """The steps per execution a run uses: the largest count up to
    `requested` that divides the steps per epoch (and `log_every`, when set).
    Keras runs whole executions, so one that crossed an epoch's end would
    train on the next epoch's batches and move every epoch boundary."""
    for k in range(min(requested, spe), 1, -1):
        if spe % k == 0 and (log_every is None or log_every % k == 0):
            return k
    return 1


def steps_per_epoch(c: LintContext) -> int | None:
    """Training steps per epoch when the dataset's size is known here."""
    data, train = c.tables.get("data"), c.tables.get("train")
    if data is None or train is None or data.dataset not in TRAIN_SIZES:
        return None
    if data.classes is not None:
        return None  # a subset's size is only known once loaded
    n = TRAIN_SIZES[data.dataset]
    if data.validation_path is None and data.validation:
        v = data.validation
        n -= round(v * n) if isinstance(v, float) else int(v)
    if data.limit:
        n = min(n, data.limit)
    return max(1, math.ceil(n / train.batch_size)) if n > 0 else None


def total_epochs(c: LintContext) -> int | None:
    train = c.tables["train"]
    if train.steps is None:
        return train.epochs
    spe = steps_per_epoch(c)
    return None if spe is None else max(1, math.ceil(train.steps / spe))


def floor_above_rate(c: LintContext) -> Iterable[Diagnostic]:
    train = c.tables.get("train")
    if train is None or train.schedule.min_lr == 0:
        return
    lr, floor = train.optimizer.learning_rate, train.schedule.min_lr
    if floor >= lr:
        yield c.warn(
            "MS330",
            f"min_lr = {floor:g} is not below learning_rate = {lr:g}: the "
            f"schedule is held at {floor:g} from the first step",
            ("train", "schedule", "min_lr"),
            hint=f"a floor is a small fraction of the rate, e.g. min_lr = {lr / 100:g}",
        )


def warmup_too_long(c: LintContext) -> Iterable[Diagnostic]:
    train = c.tables.get("train")
    if train is None or train.schedule.warmup_epochs == 0:
        return
    epochs, warm = total_epochs(c), train.schedule.warmup_epochs
    if epochs is not None and warm >= epochs:
        yield c.warn(
            "MS331",
            f"warmup_epochs = {warm:g} is not shorter than the training "
            f"({epochs} epochs): the learning rate never reaches "
            f"{train.optimizer.learning_rate:g}",
            ("train", "schedule", "warmup_epochs"),
            hint=f"warm up over a small part of it, e.g. warmup_epochs = "
            f"{max(epochs / 10, 0.1):g}",
        )


def ema_momentum(c: LintContext) -> Iterable[Diagnostic]:
    train = c.tables.get("train")
    if train is None or train.optimizer.ema is None:
        return
    ema, where = train.optimizer.ema, ("train", "optimizer", "ema")
    window = 1 / (1 - ema)
    epochs, spe = total_epochs(c), steps_per_epoch(c)
    if ema < EMA_LOW:
        yield c.warn(
            "MS332",
            f"ema = {ema:g} averages only the last ~{window:.0f} steps: the "
            "average is almost the raw weights",
            where,
            hint="weight EMA uses 0.99 to 0.9999",
        )
    elif epochs is not None and spe is not None and window > epochs * spe:
        yield c.warn(
            "MS332",
            f"ema = {ema:g} averages over ~{window:,.0f} steps, but the run has "
            f"{epochs * spe:,}: the average still holds the first steps' weights",
            where,
            hint=f"use at most 1 - 1/{epochs * spe:,} ~ "
            f"{1 - 10 / (epochs * spe):.4g} (a tenth of the run)",
        )


def execution_fits_epoch(c: LintContext) -> Iterable[Diagnostic]:
    train = c.tables.get("train")
    spe = steps_per_epoch(c)
    if train is None or spe is None or train.steps_per_execution == 1:
        return
    want, every = train.steps_per_execution, train.log_every
    used = execution_steps(want, spe, every)
    if spe % want:
        also = " and log_every" if every is not None else ""
        yield c.warn(
            "MS333",
            f"steps_per_execution = {want} does not divide the {spe:,} steps of "
            f"an epoch: the run uses {used} (the largest count that divides "
            f"the epoch{also})",
            ("train", "steps_per_execution"),
            hint=f"set steps_per_execution = {used}, or a batch_size that "
            "gives a multiple of it",
        )


def log_every_executions(c: LintContext) -> Iterable[Diagnostic]:
    train = c.tables.get("train")
    if train is None or train.log_every is None:
        return
    k, every = train.steps_per_execution, train.log_every
    if every % k:
        yield c.warn(
            "MS334",
            f"log_every = {every} is not a multiple of steps_per_execution = "
            f"{k}: batch callbacks come once per execution, so the run uses at "
            f"most {math.gcd(every, k)} steps per execution",
            ("train", "log_every"),
            hint=f"log_every = {every * k // math.gcd(every, k)} keeps "
            f"{k} steps per execution",
        )


def schedule_keys_ignored(c: LintContext) -> Iterable[Diagnostic]:
    train = c.tables.get("train")
    raw = (c.raw.get("train") or {}).get("schedule")
    if train is None or not isinstance(raw, dict):
        return
    kind = train.schedule.type
    for key in raw:
        readers = SCHEDULE_KEYS.get(key)
        if readers is not None and kind not in readers:
            yield c.warn(
                "MS335",
                f"schedule.{key} is read by type {' or '.join(readers)}, not by "
                f"{kind!r}: it has no effect",
                ("train", "schedule", key),
                hint=f"delete {key}, or set type = {readers[0]!r}",
            )


def smoothing_drowns_labels(c: LintContext) -> Iterable[Diagnostic]:
    train = c.tables.get("train")
    k = classes(c)
    if train is None or k is None or k < 2 or train.label_smoothing == 0:
        return
    eps = train.label_smoothing
    true = 1 - eps + eps / k  # Keras: y * (1 - eps) + eps / classes
    if true < 0.5:
        yield c.warn(
            "MS336",
            f"label_smoothing = {eps:g} with {k} classes gives the true class a "
            f"target of {true:.3g} and spreads {1 - true:.3g} over the other "
            f"{k - 1}: most of every label is noise",
            ("train", "label_smoothing"),
            hint="label smoothing uses about 0.1",
        )


RULES = [
    floor_above_rate,
    warmup_too_long,
    ema_momentum,
    execution_fits_epoch,
    log_every_executions,
    schedule_keys_ignored,
    smoothing_drowns_labels,
]
