"""Depthwise, separable and transposed convolutions.

Keras 3's arithmetic: `compute_conv_output_shape` for the depthwise and
separable kinds (as conv2d), `compute_conv_transpose_output_shape` (the
deconv_output_length of TF's padding rules) for conv2d_transpose.
"""

from __future__ import annotations

from ..schema import pair
from .base import Issue, Out, ShapeError, conv_length, fmt, need_rank
from .spatial import _window_issue


def _in_channels_issue(layer, shape, kernel_text: str) -> Issue | None:
    c = shape[-1]
    if layer.in_channels is None or layer.in_channels == c:
        return None
    return Issue(
        "MS211",
        f"in_channels = {layer.in_channels}, but the input {fmt(shape)} has "
        f"{c} channels",
        key="in_channels",
        hint=f"a kernel here is {kernel_text}",
    )


def _windowed(layer, inputs, kind: str, kernel_text) -> tuple:
    """Checks shared by the depthwise and separable kinds; the output (h, w)."""
    (shape,) = inputs
    need_rank(shape, 3, kind, "a feature map (h, w, c)")
    k, s, d = pair(layer.kernel), pair(layer.strides), pair(layer.dilation)
    issues = [
        i
        for i in (
            _in_channels_issue(layer, shape, kernel_text(k, shape[-1])),
            _window_issue(
                shape,
                k,
                [dd * (kk - 1) + 1 for kk, dd in zip(k, d, strict=True)],
                s,
                layer.padding,
            ),
        )
        if i is not None
    ]
    if issues:
        raise ShapeError(issues)
    return tuple(
        conv_length(n, kk, ss, layer.padding, dd)
        for n, kk, ss, dd in zip(shape[:2], k, s, d, strict=True)
    )


def depthwise_conv2d(layer, inputs) -> Out:
    m = layer.depth_multiplier
    h, w = _windowed(
        layer,
        inputs,
        "depthwise_conv2d",
        lambda k, c: f"[{k[0]}, {k[1]}, {c}, {m}] as [kh, kw, in, depth_multiplier]",
    )
    c = inputs[0][-1]
    k = pair(layer.kernel)
    params = k[0] * k[1] * c * m + (c * m if layer.use_bias else 0)
    return Out((h, w, c * m), params)


def separable_conv2d(layer, inputs) -> Out:
    m, f = layer.depth_multiplier, layer.filters
    h, w = _windowed(
        layer,
        inputs,
        "separable_conv2d",
        lambda k, c: (
            f"[{k[0]}, {k[1]}, {c}, {m}] (depthwise) then "
            f"[1, 1, {c * m}, {f}] (pointwise)"
        ),
    )
    c = inputs[0][-1]
    k = pair(layer.kernel)
    # One bias, after the pointwise convolution (Keras's SeparableConv2D).
    params = k[0] * k[1] * c * m + c * m * f + (f if layer.use_bias else 0)
    return Out((h, w, f), params)


def transpose_length(
    n: int, k: int, s: int, padding: str, output_padding, d: int
) -> int:
    """Keras's deconv output length for one axis (backend_utils)."""
    k = (k - 1) * d + 1
    if padding == "valid":
        extra = max(k, s) - k if output_padding is None else output_padding
        return (n - 1) * s + k + extra
    if output_padding is None:
        return n * s
    return (n - 1) * s + k % 2 + output_padding


def _output_padding_issue(layer, k, s, d) -> Issue | None:
    if layer.output_padding is None:
        return None
    op = pair(layer.output_padding)
    too_big = [(o, ss) for o, ss in zip(op, s, strict=True) if o >= ss]
    if too_big:
        return Issue(
            "MS221",
            f"output_padding must be smaller than the stride on every axis "
            f"(Keras's rule). Received: output_padding={layer.output_padding}, "
            f"strides={layer.strides}",
            key="output_padding",
            hint="output_padding picks one of the stride's possible output sizes: "
            "0 to stride-1, or leave it out to let Keras choose",
        )
    even = [
        kk
        for kk, dd, o in zip(k, d, op, strict=True)
        if ((kk - 1) * dd + 1) % 2 == 0 and o == 0
    ]
    if layer.padding == "same" and even:
        return Issue(
            "MS221",
            f"with padding 'same', an even kernel ({layer.kernel}) and "
            f"output_padding 0, the output would be one row short of what the "
            f"stride gives, which TensorFlow refuses. Received: "
            f"output_padding={layer.output_padding}, kernel={layer.kernel}",
            key="output_padding",
            hint="use output_padding = 1 (or more, below the stride), or leave it out",
        )
    return None


def conv2d_transpose(layer, inputs) -> Out:
    (shape,) = inputs
    need_rank(shape, 3, "conv2d_transpose", "a feature map (h, w, c)")
    c, f = shape[-1], layer.filters
    k, s, d = pair(layer.kernel), pair(layer.strides), pair(layer.dilation)
    issues = [
        i
        for i in (
            _in_channels_issue(
                layer, shape, f"[{k[0]}, {k[1]}, {f}, {c}] as [kh, kw, out, in]"
            ),
            _output_padding_issue(layer, k, s, d),
        )
        if i is not None
    ]
    if issues:
        raise ShapeError(issues)
    op = (None, None) if layer.output_padding is None else pair(layer.output_padding)
    h, w = (
        transpose_length(n, kk, ss, layer.padding, oo, dd)
        for n, kk, ss, oo, dd in zip(shape[:2], k, s, op, d, strict=True)
    )
    params = k[0] * k[1] * f * c + (f if layer.use_bias else 0)
    return Out((h, w, f), params)


RULES = {
    "depthwise_conv2d": depthwise_conv2d,
    "separable_conv2d": separable_conv2d,
    "conv2d_transpose": conv2d_transpose,
}
