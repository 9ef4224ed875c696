"""The weight shapes of a layer, from its validated settings and its input shape.

Named as Keras names them (`kernel [kh, kw, in, out]`, `bias [out]`). The
checker counts parameters; these shapes must multiply out to the same count,
and `weights` returns nothing when they do not (a layer type added to the
checker but not here shows no weights rather than wrong ones).
"""

from __future__ import annotations

from collections.abc import Callable

from ..schema import pair
from ..shapes.base import prod

Weights = list[tuple[str, tuple[int, ...]]]


def _bias(layer, size: int) -> Weights:
    return [("bias", (size,))] if layer.use_bias else []


def _conv2d(layer, shape) -> Weights:
    kh, kw = pair(layer.kernel)
    per_group = shape[-1] // layer.groups
    return [("kernel", (kh, kw, per_group, layer.filters))] + _bias(
        layer, layer.filters
    )


def _conv2d_transpose(layer, shape) -> Weights:
    kh, kw = pair(layer.kernel)
    return [("kernel", (kh, kw, layer.filters, shape[-1]))] + _bias(
        layer, layer.filters
    )


def _depthwise(layer, shape) -> Weights:
    kh, kw = pair(layer.kernel)
    c, m = shape[-1], layer.depth_multiplier
    return [("depthwise_kernel", (kh, kw, c, m))] + _bias(layer, c * m)


def _separable(layer, shape) -> Weights:
    kh, kw = pair(layer.kernel)
    c, m = shape[-1], layer.depth_multiplier
    return [
        ("depthwise_kernel", (kh, kw, c, m)),
        ("pointwise_kernel", (1, 1, c * m, layer.filters)),
    ] + _bias(layer, layer.filters)


def _dense(layer, shape) -> Weights:
    return [("kernel", (shape[-1], layer.units))] + _bias(layer, layer.units)


def _batch_norm(layer, shape) -> Weights:
    c = (shape[-1],)
    learned = [("gamma", c)] if layer.scale else []
    learned += [("beta", c)] if layer.center else []
    return learned + [("moving_mean", c), ("moving_variance", c)]


def _layer_scale(layer, shape) -> Weights:
    return [("gamma", (shape[-1],))]


_RULES: dict[str, Callable[..., Weights]] = {
    "conv2d": _conv2d,
    "conv2d_transpose": _conv2d_transpose,
    "depthwise_conv2d": _depthwise,
    "separable_conv2d": _separable,
    "dense": _dense,
    "batch_norm": _batch_norm,
    "layer_scale": _layer_scale,
}


def weights(layer_type: str, layer, shape: tuple[int, ...], params: int) -> Weights:
    """Weight names and shapes, or [] when unknown or not adding up to
    `params` (the checker's count is the truth)."""
    rule = _RULES.get(layer_type)
    if rule is None or layer is None or not shape:
        return []
    try:
        found = rule(layer, shape)
    except (AttributeError, TypeError, ZeroDivisionError):
        return []
    if sum(prod(s) for _, s in found) != params:
        return []
    return found


def fmt_weight(name: str, shape: tuple[int, ...]) -> str:
    return f"{name} [{', '.join(str(d) for d in shape)}]"
