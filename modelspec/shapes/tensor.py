"""Layers that reshape, normalise or pass through their single input."""

from __future__ import annotations

from .base import Out, ShapeError, fmt, need_rank, prod


def dense(layer, inputs) -> Out:
    (shape,) = inputs
    # Keras applies Dense to the last axis of a rank > 1 input.
    params = shape[-1] * layer.units + (layer.units if layer.use_bias else 0)
    return Out(shape[:-1] + (layer.units,), params)


def flatten(layer, inputs) -> Out:
    (shape,) = inputs
    return Out((prod(shape),))


def reshape(layer, inputs) -> Out:
    (shape,) = inputs
    total = prod(shape)
    target = list(layer.shape)
    known = prod(tuple(d for d in target if d != -1))
    factors = "*".join(str(d) for d in shape)
    if -1 in target:
        if total % known:
            raise ShapeError.one(
                "MS204",
                f"target {target} does not divide the {total} elements of input "
                f"{fmt(shape)}",
                key="shape",
                hint=f"the input has {factors} = {total} elements; "
                f"{total} is not a multiple of {known}",
            )
        target[target.index(-1)] = total // known
    elif known != total:
        raise ShapeError.one(
            "MS204",
            f"target {target} has {known} elements but input {fmt(shape)} has {total}",
            key="shape",
            hint=f"the input has {factors} = {total} elements",
        )
    return Out(tuple(target))


def passthrough(layer, inputs) -> Out:
    (shape,) = inputs
    return Out(shape)


def batch_norm(layer, inputs) -> Out:
    (shape,) = inputs
    c = shape[-1]
    learned = c * (int(layer.center) + int(layer.scale))
    # gamma and beta train; the moving mean and variance never do.
    return Out(shape, learned + 2 * c, non_trainable=2 * c)


def lrn(layer, inputs) -> Out:
    (shape,) = inputs
    need_rank(shape, 3, "lrn", "a feature map (h, w, c)")
    return Out(shape)


RULES = {
    "dense": dense,
    "flatten": flatten,
    "reshape": reshape,
    "dropout": passthrough,
    "activation": passthrough,
    "batch_norm": batch_norm,
    "lrn": lrn,
}
