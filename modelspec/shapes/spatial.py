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
        issues.append(
            Issue(
                "MS211",
                f"in_channels = {layer.in_channels}, but the input {fmt(shape)} has "
                f"{c} channels",
                key="in_channels",
                hint=f"a kernel here is [{k[0]}, {k[1]}, {_per_group(c, layer)}, "
                f"{layer.filters}] as [kh, kw, in, out]",
            )
        )
    spans = [dd * (kk - 1) + 1 for kk, dd in zip(k, d, strict=True)]
    window = _window_issue(shape, k, spans, s, layer.padding)
    issues += [i for i in (window, groups_issue(layer, c)) if i is not None]
    if issues:
        raise ShapeError(issues)
    out = [
        conv_length(n, kk, ss, layer.padding, dd)
        for n, kk, ss, dd in zip((h, w), k, s, d, strict=True)
    ]
    # Each group's kernel sees only c / groups input channels.
    kernel = k[0] * k[1] * (c // layer.groups) * layer.filters
    params = kernel + (layer.filters if layer.use_bias else 0)
    return Out((out[0], out[1], layer.filters), params)


def _per_group(channels: int, layer) -> int:
    """Input channels one kernel sees: all of them unless grouped."""
    g = layer.groups
    return channels // g if channels % g == 0 else channels


def groups_issue(layer, channels: int) -> Issue | None:
    """Keras's rule: input channels and filters both divide into the groups."""
    g = layer.groups
    bad = [
        f"{what} = {n}"
        for what, n in (("input channels", channels), ("filters", layer.filters))
        if n % g
    ]
    if not bad:
        return None
    return Issue(
        "MS220",
        f"groups = {g} must divide both the input channels and the filters; "
        f"{' and '.join(bad)} {'is' if len(bad) == 1 else 'are'} not a multiple "
        f"of {g}. Received: groups={g}, input channels={channels}, "
        f"filters={layer.filters}",
        key="groups",
        hint=f"each group convolves channels/groups inputs into filters/groups "
        f"outputs; use a divisor of {channels} and {layer.filters}",
    )


def _window_issue(shape, k, spans, strides, padding) -> Issue | None:
    """One issue for a kernel that does not fit, naming every axis it overflows.

    'valid' needs the window inside the input (Keras fails otherwise). 'same'
    pads, but at most 2n-1 rows (columns) of a kernel can ever overlap an n-row
    input: the rest are dead weights, as in seed 000's [128, 24] on 24x24.
    """
    h, w, _ = shape
    bad = [
        (axis, n, kk, sp, ss)
        for axis, n, kk, sp, ss in zip(_AXES, (h, w), k, spans, strides, strict=True)
        if sp > (n if padding == "valid" else 2 * n - 1)
    ]
    if not bad:
        return None
    size = "x".join(str(x) for x in k)
    dilated = "" if list(spans) == list(k) else f" (dilated to {spans[0]}x{spans[1]})"
    if padding == "valid":
        outs = "x".join(
            str((n - sp) // ss + 1)
            for n, sp, ss in zip((h, w), spans, strides, strict=True)
        )
        return Issue(
            "MS207",
            f"kernel {size}{dilated} is larger than the {h}x{w} input, so with "
            f"padding 'valid' the output would be {outs} (input {fmt(shape)})",
            key="kernel",
            hint='use a smaller kernel, padding = "same", or less downsampling '
            "before this layer",
        )
    axis, n, _kk, sp, _ = bad[0]
    rows = "rows" if axis == "height" else "columns"
    return Issue(
        "MS206",
        f"kernel {list(k)} is larger than the {h}x{w} input: with padding 'same' "
        f"only {2 * n - 1} of its {sp} {rows} can ever overlap the image; the other "
        f"{sp - (2 * n - 1)} are dead weights (input {fmt(shape)})",
        key="kernel",
        hint=f"a TF weight shape [kh, kw, in, out] such as [{k[0]}, {k[1]}, "
        f"{shape[2]}, N] means a {k[0]}x{k[1]} kernel; for a 5x5 kernel over "
        f"{shape[2]} channels write kernel = 5, in_channels = {shape[2]}",
    )


def _pool(layer, inputs, kind: str) -> Out:
    (shape,) = inputs
    need_rank(shape, 3, kind, "a feature map (h, w, c)")
    h, w, c = shape
    p = pair(layer.pool)
    s = pair(layer.strides) if layer.strides is not None else p
    if layer.padding == "valid" and (p[0] > h or p[1] > w):
        outs = "x".join(
            str((n - pp) // ss + 1) for n, pp, ss in zip((h, w), p, s, strict=True)
        )
        raise ShapeError.one(
            "MS207",
            f"pool {p[0]}x{p[1]} is larger than the {h}x{w} input, so with padding "
            f"'valid' the output would be {outs} (input {fmt(shape)})",
            key="pool",
            hint='use a smaller pool, padding = "same", or fewer pooling layers',
        )
    out = [
        pool_length(n, pp, ss, layer.padding)
        for n, pp, ss in zip((h, w), p, s, strict=True)
    ]
    return Out((out[0], out[1], c))


def _global(layer, inputs, kind: str) -> Out:
    (shape,) = inputs
    need_rank(shape, 3, kind, "a feature map (h, w, c)")
    return Out((1, 1, shape[-1]) if layer.keepdims else (shape[-1],))


RULES = {
    "conv2d": conv2d,
    "max_pool2d": lambda layer, inputs: _pool(layer, inputs, "max_pool2d"),
    "avg_pool2d": lambda layer, inputs: _pool(layer, inputs, "avg_pool2d"),
    "global_avg_pool2d": lambda layer, inputs: _global(layer, inputs, "global pool"),
    "global_max_pool2d": lambda layer, inputs: _global(layer, inputs, "global pool"),
}
