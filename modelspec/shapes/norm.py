"""`rescaling`, `normalization`, `layer_norm` and `layer_scale`: shape-preserving
layers whose weights (if any) follow the axes they act on, as Keras 3 builds
them."""

from __future__ import annotations

from .base import Issue, Out, ShapeError, fmt, prod


def resolve_axes(axis, shape, key: str = "axis") -> tuple[int, ...]:
    """Sorted non-negative axes (no batch axis) for an int or a list; out-of-range
    and repeated axes are MS214 (Keras would build weights of a doubled shape)."""
    axes = [axis] if isinstance(axis, int) else list(axis)
    rank = len(shape)
    bad = [a for a in axes if not -rank <= a < rank]
    if bad:
        raise ShapeError.one(
            "MS214",
            f"axis {bad[0]} is out of range for an input of rank {rank} "
            f"{fmt(shape)} (no batch axis counted). Received: {key}={axis}",
            key=key,
            hint=f"use -1 (the last axis) or 0..{rank - 1}",
        )
    kept = sorted(a % rank for a in axes)
    if len(set(kept)) != len(kept):
        raise ShapeError.one(
            "MS214",
            f"{key} names the same axis twice (negative axes count from the end "
            f"of {fmt(shape)}). Received: {key}={axis}",
            key=key,
        )
    return tuple(kept)


def _per_channel_issue(name: str, value, size: int, what: str) -> Issue | None:
    """A list of per-position values must have 1 or `size` entries: Keras
    broadcasts any other length silently, changing the output shape."""
    if not isinstance(value, list) or len(value) in (1, size):
        return None
    return Issue(
        "MS230",
        f"{name} has {len(value)} values, but {what} has {size}: give one value "
        f"per position or a single number. Received: {name}={value}",
        key=name,
    )


def rescaling(layer, inputs) -> Out:
    (shape,) = inputs
    what = f"the last axis of the input {fmt(shape)}"
    issues = [
        issue
        for issue in (
            _per_channel_issue("scale", layer.scale, shape[-1], what),
            _per_channel_issue("offset", layer.offset, shape[-1], what),
        )
        if issue is not None
    ]
    if issues:
        raise ShapeError(issues)
    return Out(shape)


def normalization(layer, inputs) -> Out:
    """Given mean/variance are constants (no weights). Otherwise Keras makes
    three non-trainable weights: mean and variance shaped like the kept axes,
    and an int `count` scalar, which `count_params()` counts as 1."""
    (shape,) = inputs
    kept = resolve_axes(layer.axis, shape)
    if layer.mean is None:
        size = prod(tuple(shape[a] for a in kept))
        return Out(shape, 2 * size + 1, non_trainable=2 * size + 1)
    if isinstance(layer.mean, list) and not kept:
        raise ShapeError.one(
            "MS230",
            "axis = [] keeps a single mean and variance, so they must be numbers. "
            f"Received: mean={layer.mean}",
            key="mean",
            hint="give axis = -1 for one value per channel",
        )
    if kept:
        # Validation made variance the same length as mean: one issue suffices.
        what = f"axis {kept[-1]} of the input {fmt(shape)}"
        issue = _per_channel_issue("mean", layer.mean, shape[kept[-1]], what)
        if issue is not None:
            raise ShapeError([issue])
    return Out(shape)


def layer_norm(layer, inputs) -> Out:
    (shape,) = inputs
    kept = resolve_axes(layer.axis, shape)
    size = prod(tuple(shape[a] for a in kept))
    return Out(shape, size * (int(layer.center) + int(layer.scale)))


def layer_scale(layer, inputs) -> Out:
    (shape,) = inputs
    # ConvNeXt's LayerScale: one trainable scale per position of the last axis.
    return Out(shape, shape[-1])


RULES = {
    "rescaling": rescaling,
    "normalization": normalization,
    "layer_norm": layer_norm,
    "layer_scale": layer_scale,
}
