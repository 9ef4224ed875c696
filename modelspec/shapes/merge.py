"""`add` and `concat`: several inputs, Keras 3's merge rules."""

from __future__ import annotations

from .base import Out, ShapeError, fmt


def _shapes(inputs, names) -> str:
    return ", ".join(f"{n} {fmt(s)}" for n, s in zip(names, inputs))


def add(layer, inputs) -> Out:
    names = layer.inputs
    ranks = {len(s) for s in inputs}
    if len(ranks) > 1:
        raise ShapeError.one(
            "MS208", f"add needs inputs of one rank: {_shapes(inputs, names)}",
            key="inputs",
        )
    out = list(inputs[0])
    for shape in inputs[1:]:
        for i, (a, b) in enumerate(zip(out, shape)):
            # Keras broadcasts a 1 against anything; other sizes must agree.
            if a != b and 1 not in (a, b):
                raise ShapeError.one(
                    "MS208",
                    f"add needs equal shapes: {_shapes(inputs, names)}",
                    key="inputs",
                    hint="in a residual block both branches must keep the same "
                    "(h, w, c): use padding = \"same\" and the same filters, or a "
                    "1x1 conv on the shortcut",
                )
            out[i] = max(a, b)
    return Out(tuple(out))


def concat(layer, inputs) -> Out:
    names = layer.inputs
    rank = len(inputs[0])
    if any(len(s) != rank for s in inputs):
        raise ShapeError.one(
            "MS208", f"concat needs inputs of one rank: {_shapes(inputs, names)}",
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
        if any(a != b for i, (a, b) in enumerate(zip(inputs[0], shape)) if i != axis):
            raise ShapeError.one(
                "MS208",
                f"concat along axis {layer.axis} needs every other axis equal: "
                f"{_shapes(inputs, names)}",
                key="inputs",
            )
    out = list(inputs[0])
    out[axis] = sum(s[axis] for s in inputs)
    return Out(tuple(out))


RULES = {"add": add, "concat": concat}
