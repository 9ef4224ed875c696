"""Layers that pad, crop or upsample a feature map (no weights)."""

from __future__ import annotations

from ..schema import pair
from ..schema.conv_layers import margins
from .base import Out, ShapeError, fmt, need_rank


def zero_pad2d(layer, inputs) -> Out:
    (shape,) = inputs
    need_rank(shape, 3, "zero_pad2d", "a feature map (h, w, c)")
    (top, bottom), (left, right) = margins(layer.padding)
    h, w, c = shape
    return Out((h + top + bottom, w + left + right, c))


def cropping2d(layer, inputs) -> Out:
    (shape,) = inputs
    need_rank(shape, 3, "cropping2d", "a feature map (h, w, c)")
    h, w, c = shape
    cuts = margins(layer.cropping)
    gone = [
        (axis, n, a, b)
        for axis, n, (a, b) in zip(("height", "width"), (h, w), cuts, strict=True)
        if a + b >= n
    ]
    if gone:
        axis, n, a, b = gone[0]
        raise ShapeError.one(
            "MS222",
            f"cropping {a} + {b} = {a + b} from the {axis} crops away all {n} "
            f"of the input's {axis} (Keras needs the crop smaller than the input)."
            f" Received: cropping={layer.cropping}, input {fmt(shape)}",
            key="cropping",
            hint="crop less, or crop before the layers that downsample",
        )
    return Out((h - sum(cuts[0]), w - sum(cuts[1]), c))


def upsampling2d(layer, inputs) -> Out:
    (shape,) = inputs
    need_rank(shape, 3, "upsampling2d", "a feature map (h, w, c)")
    fh, fw = pair(layer.size)
    h, w, c = shape
    return Out((h * fh, w * fw, c))


def dropout(layer, inputs) -> Out:
    """Keras's noise_shape must broadcast to the input: each entry is 1 (one
    mask value shared along that axis) or the input's own size."""
    (shape,) = inputs
    noise = layer.noise_shape
    if noise is None:
        return Out(shape)
    if len(noise) != len(shape) or any(
        n not in (1, d) for n, d in zip(noise, shape, strict=True)
    ):
        raise ShapeError.one(
            "MS223",
            f"noise_shape {noise} does not broadcast to the input {fmt(shape)}: "
            f"it needs one entry per axis ({len(shape)}, no batch axis), each 1 "
            "or the input's size",
            key="noise_shape",
            hint=f"[{', '.join('1' for _ in shape)}] drops whole examples "
            "(stochastic depth, Keras's noise_shape=(None, 1, 1, 1))",
        )
    return Out(shape)


RULES = {
    "zero_pad2d": zero_pad2d,
    "cropping2d": cropping2d,
    "upsampling2d": upsampling2d,
}
