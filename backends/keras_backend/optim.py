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


def _schedule_class(keras):  # ~60 lines: one class body, built lazily
    ops = keras.ops

    @keras.saving.register_keras_serializable(package="modelspec")
    class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
        """Linear warm-up from 0 over `warmup_steps`, then `kind` decay:
        'constant', 'exponential' (optionally staircase), 'step' (staircase
        exponential) or 'cosine' (to alpha * lr over `total_steps`)."""

        def __init__(
            self,
            learning_rate,
            kind="constant",
            decay_steps=1.0,
            decay_rate=1.0,
            staircase=False,
            alpha=0.0,
            warmup_steps=0.0,
            total_steps=1.0,
        ):
            self.learning_rate = float(learning_rate)
            self.kind = kind
            self.decay_steps = float(decay_steps)
            self.decay_rate = float(decay_rate)
            self.staircase = bool(staircase)
            self.alpha = float(alpha)
            self.warmup_steps = float(warmup_steps)
            self.total_steps = float(total_steps)

        def __call__(self, step):
            step = ops.cast(step, "float32")
            lr = self.learning_rate
            after = ops.maximum(step - self.warmup_steps, 0.0)
            if self.kind in ("exponential", "step"):
                periods = after / self.decay_steps
                if self.staircase or self.kind == "step":
                    periods = ops.floor(periods)
                rate = lr * ops.power(self.decay_rate, periods)
            elif self.kind == "cosine":
                span = max(self.total_steps - self.warmup_steps, 1.0)
                done = ops.minimum(after / span, 1.0)
                cosine = 0.5 * (1.0 + ops.cos(math.pi * done))
                rate = lr * ((1.0 - self.alpha) * cosine + self.alpha)
            else:
                rate = lr * ops.ones_like(step)
            if self.warmup_steps > 0:
                warm = ops.minimum((step + 1.0) / self.warmup_steps, 1.0)
                rate = rate * warm
            return rate

        def get_config(self):
            return {
                "learning_rate": self.learning_rate,
                "kind": self.kind,
                "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate,
                "staircase": self.staircase,
                "alpha": self.alpha,
                "warmup_steps": self.warmup_steps,
                "total_steps": self.total_steps,
            }

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
    )


def make_optimizer(train, steps_per_epoch: int, total_steps: int):
    keras = require("keras")
    o = train.optimizer
    lr = make_schedule(train, steps_per_epoch, total_steps)
    common = {"learning_rate": lr, "clipnorm": o.clipnorm}
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
