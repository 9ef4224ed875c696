"""Lint rules that read `[train]`, `[data]` and `[transfer]` against the model."""

from __future__ import annotations

from collections.abc import Iterable

from ..data.info import DATASETS, TRAIN_SIZES
from ..diagnostics import Diagnostic
from ..shapes.base import prod
from .context import LintContext, output_activation

# Learning rates outside these bounds are almost always a slip (seed 001 used
# SGD's 0.1 with Adam). Bounds are inclusive; defaults are Keras's.
LR_RANGES = {
    "adam": (1e-6, 1e-2, 1e-3),
    "adamw": (1e-6, 1e-2, 1e-3),
    "rmsprop": (1e-6, 1e-2, 1e-3),
    "sgd": (1e-5, 1.0, 1e-2),
}


def _classes(c: LintContext) -> int | None:
    if c.model is not None and c.model.classes is not None:
        return c.model.classes
    out = c.output
    info = c.infos.get(out.name) if out else None
    if info is not None and len(info.output_shape) == 1:
        return info.output_shape[0]
    return None


def loss_matches_output(c: LintContext) -> Iterable[Diagnostic]:
    train = c.tables.get("train")
    if train is None or train.from_logits is None:
        return
    found = output_activation(c.nodes)
    if found is None:
        return
    node, act = found
    if train.from_logits is False and act != "softmax":
        yield c.diag(
            "MS302",
            f"from_logits = false makes the loss expect probabilities, but the "
            f"output of '{node.name}' has activation '{act}': it gives logits",
            ("train", "from_logits"),
            hint="delete from_logits (modelspec sets it from the output), or add "
            'activation = "softmax" to the last layer',
        )
    elif train.from_logits is True and act == "softmax":
        yield c.diag(
            "MS302",
            f"from_logits = true, but '{node.name}' already applies softmax: the "
            "loss would apply it twice",
            ("train", "from_logits"),
            hint="delete from_logits, or drop the softmax from the last layer",
        )


def learning_rate(c: LintContext) -> Iterable[Diagnostic]:
    train = c.tables.get("train")
    if train is None:
        return
    opt = train.optimizer
    lo, hi, default = LR_RANGES[opt.type]
    lr = opt.learning_rate
    if not lo <= lr <= hi:
        side = "above" if lr > hi else "below"
        hint = f"{opt.type}'s default is {default:g}"
        if opt.type != "sgd" and lr >= 0.05:
            hint += f"; {lr:g} is an SGD-sized rate"
        yield c.warn(
            "MS303",
            f"learning_rate = {lr:g} is far {side} the usual range for {opt.type} "
            f"({_num(lo)} to {_num(hi)})",
            ("train", "optimizer", "learning_rate"),
            hint=hint,
        )


def _num(x: float) -> str:
    """1e-06 -> 1e-6."""
    return f"{x:g}".replace("e-0", "e-").replace("e+0", "e+")


def topk_metrics(c: LintContext) -> Iterable[Diagnostic]:
    train = c.tables.get("train")
    k_classes = _classes(c)
    if train is None or k_classes is None:
        return
    for i, metric in enumerate(train.metrics):
        if metric.startswith("top") and int(metric[3:]) >= k_classes:
            yield c.warn(
                "MS305",
                f"metric '{metric}' with {k_classes} classes is always 100%",
                ("train", "metrics", i),
                hint=f"use k < {k_classes}, e.g. top{max(1, min(5, k_classes // 2))}",
            )


def data_fits_model(c: LintContext) -> Iterable[Diagnostic]:
    data = c.tables.get("data")
    if data is None or c.model is None or data.dataset not in DATASETS:
        return
    shape, n = DATASETS[data.dataset]
    want = tuple(c.model.input)
    # With a crop, augment_rules.crop_fits checks the input instead.
    if not data.augment.crop and want != shape and prod(want) != prod(shape):
        yield c.diag(
            "MS401",
            f"[model] input is {list(want)}, but {data.dataset} examples are "
            f"{list(shape)}",
            ("model", "input"),
            hint=f"set input = {list(shape)} (or a reshape of its {prod(shape)} "
            "values, such as "
            f"[{prod(shape)}])",
        )
    if data.classes is not None:
        bad = [k for k in data.classes if k >= n]
        if bad:
            yield c.diag(
                "MS403",
                f"classes {bad} do not exist in {data.dataset} (labels 0..{n - 1})",
                ("data", "classes"),
            )
        n = len(data.classes)
    k = _classes(c)
    if k is not None and k != n:
        # Without [model] classes, k came from the output layer's shape.
        where = (
            ("model", "classes")
            if c.model.classes is not None or (c.output is None)
            else ("layers", c.output.index)
        )
        sub = " (the [data] classes subset)" if data.classes is not None else ""
        yield c.diag(
            "MS402",
            f"the model predicts {k} classes, but the data has {n}{sub}",
            where,
            hint=f"set classes = {n} and the last layer's units/filters to {n}",
        )


def validation_split(c: LintContext) -> Iterable[Diagnostic]:
    from ..schema import TrainTable

    data = c.tables.get("data")
    train = c.tables.get("train") or TrainTable()
    if data is None or data.validation_path is not None:
        return
    size = TRAIN_SIZES.get(data.dataset)
    if size is not None and data.limit is not None:
        size = min(size, data.limit)
    if (
        size is not None
        and isinstance(data.validation, int)
        and (data.validation >= size)
    ):
        yield c.warn(
            "MS404",
            f"validation = {data.validation:,} holds out every one of the "
            f"{size:,} training examples of {data.dataset}",
            ("data", "validation"),
            hint=f"use fewer, e.g. validation = {size // 10:,} or 0.1",
        )
    if data.validation == 0:
        yield c.warn(
            "MS404",
            f"validation = 0 leaves no validation data, but best.keras is picked "
            f"by {train.monitor}",
            ("data", "validation"),
            hint="hold some training examples out, e.g. validation = 0.1",
        )


def transfer_names(c: LintContext) -> Iterable[Diagnostic]:
    transfer = c.tables.get("transfer")
    if transfer is None:
        return
    names = {n.name for n in c.nodes}
    freeze = transfer.freeze if isinstance(transfer.freeze, list) else []
    for key, listed in (("freeze", freeze), ("skip", transfer.skip)):
        for i, name in enumerate(listed):
            if name not in names:
                yield c.diag(
                    "MS405",
                    f"{key} names '{name}', which is not a layer",
                    ("transfer", key, i),
                    hint="layer names: " + ", ".join(sorted(names)),
                )


RULES = [
    loss_matches_output,
    learning_rate,
    topk_metrics,
    data_fits_model,
    validation_split,
    transfer_names,
]
