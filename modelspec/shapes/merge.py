"""Merges of several inputs (`add`, `subtract`, `multiply`, `maximum`, `average`,
`concat`): Keras 3's merge rules."""

from __future__ import annotations

from .base import Out, ShapeError, fmt


def _shapes(inputs, names) -> str:
    return ", ".join(f"{n} {fmt(s)}" for n, s in zip(names, inputs, strict=True))


# Why two shapes that differ cannot be merged element-wise, per kind.
_HINTS = {
    "add": "in a residual block both branches must keep the same (h, w, c): use "
    'padding = "same" and the same filters, or a 1x1 conv on the shortcut',
    "multiply": "a squeeze-and-excite gate is (1, 1, c) against the (h, w, c) "
    "feature map: the gate's channels must equal the map's",
}
_DEFAULT_HINT = "each axis must be equal, or 1 in one of the inputs (broadcast)"


def elementwise(layer, inputs) -> Out:
    """add, subtract, multiply, maximum, average: Keras's `Merge` broadcasting,
    axis by axis (a 1 stretches to the other size), for inputs of one rank.

    Keras also accepts inputs of different ranks (it inserts axes after the
    batch axis); the checker does not: (h, w, c) with (c,) is a wiring slip
    more often than a broadcast, and [1, 1, c] says it explicitly.
    """
    kind, names = layer.type, layer.inputs
    ranks = {len(s) for s in inputs}
    if len(ranks) > 1:
        raise ShapeError.one(
            "MS208",
            f"{kind} needs inputs of one rank: {_shapes(inputs, names)}",
            key="inputs",
            hint="reshape the smaller input so the ranks match, e.g. (c,) to "
            "[1, 1, c] against (h, w, c)",
        )
    out = list(inputs[0])
    for shape in inputs[1:]:
        for i, (a, b) in enumerate(zip(out, shape, strict=True)):
            # Keras broadcasts a 1 against anything; other sizes must agree.
            if a != b and 1 not in (a, b):
                raise ShapeError.one(
                    "MS208",
                    f"{kind} needs equal shapes: {_shapes(inputs, names)}",
                    key="inputs",
                    hint=_HINTS.get(kind, _DEFAULT_HINT),
                )
            out[i] = max(a, b)
    return Out(tuple(out))


add = elementwise


def concat(layer, inputs) -> Out:
    names = layer.inputs
    rank = len(inputs[0])
    if any(len(s) != rank for s in inputs):
        raise ShapeError.one(
            "MS208",
            f"concat needs inputs of one rank: {_shapes(inputs, names)}",
            key="inputs",
        )
    axis = layer.axis
    if not -rank <= axis < rank:
        raise ShapeError.one(
            "MS214",
            f"axis {axis} is out of range for inputs of rank {rank} (no batch axis)",
            key="axis",
            hint=f"use -1 (channels) or 0..{rank - 1}",
        )
    axis %= rank
    for shape in inputs[1:]:
        pairs = enumerate(zip(inputs[0], shape, strict=True))
        if any(a != b for i, (a, b) in pairs if i != axis):
            raise ShapeError.one(
                "MS208",
                f"concat along axis {layer.axis} needs every other axis equal: "
                f"{_shapes(inputs, names)}",
                key="inputs",
            )
    out = list(inputs[0])
    out[axis] = sum(s[axis] for s in inputs)
    return Out(tuple(out))


RULES = {
    "add": elementwise,
    "concat": concat,
    # --- vocab-merge ---
    "subtract": elementwise,
    "multiply": elementwise,
    "maximum": elementwise,
    "average": elementwise,
    # --- end vocab-merge ---
}
