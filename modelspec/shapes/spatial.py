"""Convolution and pooling over (height, width, channels) inputs."""

from __future__ import annotations

from ..schema import pair
from .base import Issue, Out, ShapeError, conv_length, fmt, need_rank, pool_length

_AXES = ("height", "width")


def conv2d(layer, inputs) -> Out:
    (shape,) = inputs
    need_rank(shape, 3, "conv2d", "a feature map (h, w, c)")
    h, w, c = shape
    k, s, d = pair(layer.kernel), pair(layer.strides), pair(layer.dilation)
    issues: list[Issue] = []
    if layer.in_channels is not None and layer.in_channels != c:
        issues.append(Issue(
            "MS211",
            f"in_channels = {layer.in_channels}, but the input {fmt(shape)} has "
            f"{c} channels",
            key="in_channels",
            hint=f"a kernel here is [{k[0]}, {k[1]}, {c}, {layer.filters}] "
            "as [kh, kw, in, out]",
        ))
    out = []
    for axis, n, kk, ss, dd in zip(_AXES, (h, w), k, s, d):
        span = dd * (kk - 1) + 1
        # 'valid' needs the window inside the input (Keras fails otherwise);
        # 'same' pads, but a window wider than 2n-1 has taps that never touch
        # any input pixel: dead weights, as in a [128, 24] kernel on 24x24.
        limit = n if layer.padding == "valid" else 2 * n - 1
        if span > limit and layer.padding == "valid":
            got = (n - span) // ss + 1
            issues.append(Issue(
                "MS207",
                f"kernel {kk}" + (f" (dilated to {span})" if dd > 1 else "")
                + f" is larger than the input {axis} {n}, so with padding "
                f"'valid' the output {axis} would be {got} (input {fmt(shape)})",
                key="kernel",
                hint="use a smaller kernel, padding = \"same\", or less "
                "downsampling before this layer",
            ))
            continue
        if span > limit:
            issues.append(Issue(
                "MS206",
                f"kernel {list(k)} is larger than the {n}-pixel input {axis}: with "
                f"padding 'same', taps beyond {limit} never touch the input "
                f"(input {fmt(shape)})",
                key="kernel",
                hint="if the kernel came from a TF weight shape [kh, kw, in, out], "
                f"only the first two entries are the kernel: [{k[0]}, {k[1]}] is "
                f"{k[0]}x{k[1]} pixels, not a {n}x{n}-sized window",
            ))
            continue
        out.append(conv_length(n, kk, ss, layer.padding, dd))
    if issues:
        raise ShapeError(issues)
    params = k[0] * k[1] * c * layer.filters + (layer.filters if layer.use_bias else 0)
    return Out((out[0], out[1], layer.filters), params)


def _pool(layer, inputs, kind: str) -> Out:
    (shape,) = inputs
    need_rank(shape, 3, kind, "a feature map (h, w, c)")
    h, w, c = shape
    p = pair(layer.pool)
    s = pair(layer.strides) if layer.strides is not None else p
    out, issues = [], []
    for axis, n, pp, ss in zip(_AXES, (h, w), p, s):
        if pp > n and layer.padding == "valid":
            issues.append(Issue(
                "MS207",
                f"pool {pp} is larger than the input {axis} {n}, so with padding "
                f"'valid' the output {axis} would be {(n - pp) // ss + 1} "
                f"(input {fmt(shape)})",
                key="pool",
                hint="use a smaller pool, padding = \"same\", or fewer pooling "
                "layers",
            ))
            continue
        out.append(pool_length(n, pp, ss, layer.padding))
    if issues:
        raise ShapeError(issues)
    return Out((out[0], out[1], c))


def _global(layer, inputs, kind: str) -> Out:
    (shape,) = inputs
    need_rank(shape, 3, kind, "a feature map (h, w, c)")
    return Out((shape[-1],))


RULES = {
    "conv2d": conv2d,
    "max_pool2d": lambda layer, inputs: _pool(layer, inputs, "max_pool2d"),
    "avg_pool2d": lambda layer, inputs: _pool(layer, inputs, "avg_pool2d"),
    "global_avg_pool2d": lambda layer, inputs: _global(layer, inputs, "global pool"),
    "global_max_pool2d": lambda layer, inputs: _global(layer, inputs, "global pool"),
}
