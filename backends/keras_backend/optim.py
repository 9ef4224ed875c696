"""Optimizers, learning-rate schedules and the loss, from the `[train]` table.

Schedule periods are written in epochs in the spec (what the seeds thought in)
and converted to optimizer steps here with `steps_per_epoch`.
"""

from __future__ import annotations

import math
from functools import cache

from modelspec.errors import require


@cache
def _classes():
    """Define the serializable custom objects once, on first use (keras is
    imported lazily, so the classes cannot be defined at module level)."""
    keras = require("keras")
    return _schedule_class(keras), _loss_class(keras)


# The schedule's settings, in get_config order, with the defaults a file
# saved before a key existed gets.
SCHEDULE_DEFAULTS = {
    "kind": "constant",
    "decay_steps": 1.0,
    "decay_rate": 1.0,
    "staircase": False,
    "alpha": 0.0,
    "warmup_steps": 0.0,
    "total_steps": 1.0,
    "min_lr": 0.0,
    "pct_start": 0.3,
    "div_factor": 25.0,
    "final_div_factor": 1e4,
}


def _cos_anneal(ops, start, end, pct):
    """From `start` (pct 0) to `end` (pct 1) along half a cosine."""
    return end + (start - end) / 2.0 * (ops.cos(math.pi * pct) + 1.0)


def _one_cycle(ops, c: dict, lr: float, step, span: float):
    """PyTorch's OneCycleLR (two phases, cosine) over `span` steps."""
    first = lr / c["div_factor"]
    last = first / c["final_div_factor"]
    peak_at = c["pct_start"] * span - 1.0
    rising = ops.clip(step / max(peak_at, 1.0), 0.0, 1.0)
    falling = ops.clip((step - peak_at) / max(span - 1.0 - peak_at, 1.0), 0.0, 1.0)
    up = _cos_anneal(ops, first, lr, rising)
    down = _cos_anneal(ops, lr, last, falling)
    return ops.where(step <= peak_at, up, down)


def _decayed(ops, c: dict, lr: float, after):
    """The schedule without warm-up or floor, `after` steps past warm-up."""
    kind = c["kind"]
    span = max(c["total_steps"] - c["warmup_steps"], 1.0)
    if kind in ("exponential", "step"):
        periods = after / c["decay_steps"]
        if c["staircase"] or kind == "step":
            periods = ops.floor(periods)
        return lr * ops.power(c["decay_rate"], periods)
    if kind == "cosine":
        cosine = _cos_anneal(ops, 1.0, 0.0, ops.minimum(after / span, 1.0))
        return lr * ((1.0 - c["alpha"]) * cosine + c["alpha"])
    if kind == "one_cycle":
        return _one_cycle(ops, c, lr, after, span)
    return lr * ops.ones_like(after)


def _schedule_class(keras):
    ops = keras.ops

    @keras.saving.register_keras_serializable(package="modelspec")
    class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
        """Linear warm-up from 0 over `warmup_steps`, multiplying `kind`:
        'constant', 'exponential' (optionally staircase), 'step' (staircase
        exponential), 'cosine' (to alpha * lr over `total_steps`) or
        'one_cycle'; never below `min_lr` after the warm-up."""

        def __init__(self, learning_rate, **settings):
            self.learning_rate = float(learning_rate)
            unknown = set(settings) - set(SCHEDULE_DEFAULTS)
            if unknown:
                raise ValueError(f"unknown schedule settings: {sorted(unknown)}")
            self.settings = {**SCHEDULE_DEFAULTS, **settings}

        def __call__(self, step):
            c = self.settings
            step = ops.cast(step, "float32")
            after = ops.maximum(step - c["warmup_steps"], 0.0)
            rate = ops.maximum(_decayed(ops, c, self.learning_rate, after), c["min_lr"])
            if c["warmup_steps"] > 0:
                warm = ops.minimum((step + 1.0) / c["warmup_steps"], 1.0)
                rate = rate * warm
            return rate

        def get_config(self):
            return {"learning_rate": self.learning_rate, **self.settings}

    return WarmupSchedule


def _loss_class(keras):
    ops = keras.ops

    @keras.saving.register_keras_serializable(package="modelspec")
    class SmoothedSparseCrossentropy(keras.losses.Loss):
        """Sparse categorical cross-entropy with label smoothing (Keras's
        sparse loss has no label_smoothing): one-hot the integer labels and
        use the categorical form."""

        def __init__(
            self,
            from_logits=True,
            label_smoothing=0.0,
            name="sparse_categorical_crossentropy",
            **kwargs,
        ):
            super().__init__(name=name, **kwargs)
            self.from_logits = bool(from_logits)
            self.label_smoothing = float(label_smoothing)

        def call(self, y_true, y_pred):
            classes = ops.shape(y_pred)[-1]
            labels = ops.reshape(ops.cast(y_true, "int32"), (-1,))
            onehot = ops.one_hot(labels, classes, dtype=y_pred.dtype)
            return keras.losses.categorical_crossentropy(
                onehot,
                y_pred,
                from_logits=self.from_logits,
                label_smoothing=self.label_smoothing,
            )

        def get_config(self):
            config = super().get_config()
            config.update(
                from_logits=self.from_logits, label_smoothing=self.label_smoothing
            )
            return config

    return SmoothedSparseCrossentropy


def custom_objects() -> dict:
    schedule, loss = _classes()
    return {
        "modelspec>WarmupSchedule": schedule,
        "modelspec>SmoothedSparseCrossentropy": loss,
    }


def make_schedule(train, steps_per_epoch: int, total_steps: int):
    """A float (no schedule, no warm-up) or a WarmupSchedule."""
    s = train.schedule
    lr = train.optimizer.learning_rate
    if s.type == "constant" and s.warmup_epochs == 0:
        return lr
    schedule_cls, _ = _classes()
    return schedule_cls(
        learning_rate=lr,
        kind=s.type,
        decay_steps=max(s.decay_epochs * steps_per_epoch, 1.0),
        decay_rate=s.decay_rate,
        staircase=s.staircase,
        alpha=s.alpha,
        warmup_steps=s.warmup_epochs * steps_per_epoch,
        total_steps=total_steps,
        min_lr=s.min_lr,
        pct_start=s.pct_start,
        div_factor=s.div_factor,
        final_div_factor=s.final_div_factor,
    )


def make_optimizer(train, steps_per_epoch: int, total_steps: int):
    keras = require("keras")
    o = train.optimizer
    lr = make_schedule(train, steps_per_epoch, total_steps)
    common = {"learning_rate": lr, "clipnorm": o.clipnorm}
    if o.ema is not None:
        # No ema_overwrite_frequency: the raw weights keep training; the
        # checkpoints and evaluation swap the average in (callbacks.py).
        common.update(use_ema=True, ema_momentum=o.ema)
    if o.type == "sgd":
        return keras.optimizers.SGD(
            momentum=o.momentum,
            nesterov=o.nesterov,
            weight_decay=o.weight_decay,
            **common,
        )
    if o.type == "rmsprop":
        return keras.optimizers.RMSprop(
            rho=o.rho,
            momentum=o.momentum,
            epsilon=o.epsilon,
            weight_decay=o.weight_decay,
            **common,
        )
    adam_args = {"beta_1": o.beta_1, "beta_2": o.beta_2, "epsilon": o.epsilon}
    if o.type == "adamw":
        decay = 0.004 if o.weight_decay is None else o.weight_decay
        return keras.optimizers.AdamW(weight_decay=decay, **adam_args, **common)
    return keras.optimizers.Adam(weight_decay=o.weight_decay, **adam_args, **common)


def output_is_probability(report) -> bool:
    """True when the model's last layer ends in a softmax."""
    last = report.nodes[-1].layer
    return getattr(last, "activation", None) == "softmax"


def resolve_from_logits(report) -> bool:
    override = report.spec.train.from_logits
    if override is not None:
        return override
    return not output_is_probability(report)


def make_loss(report):
    keras = require("keras")
    train = report.spec.train
    from_logits = resolve_from_logits(report)
    if train.label_smoothing > 0:
        _, loss_cls = _classes()
        return loss_cls(from_logits=from_logits, label_smoothing=train.label_smoothing)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)


def make_metrics(train) -> list:
    keras = require("keras")
    metrics = []
    for name in train.metrics:
        if name == "accuracy":
            metrics.append(keras.metrics.SparseCategoricalAccuracy(name="accuracy"))
        else:
            k = int(name[3:])
            metrics.append(
                keras.metrics.SparseTopKCategoricalAccuracy(k=k, name=f"top{k}")
            )
    return metrics
