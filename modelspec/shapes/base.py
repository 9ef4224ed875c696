"""Types shared by the shape rules, and the small arithmetic they all use."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

Shape = tuple[int, ...]


@dataclass
class Out:
    shape: Shape
    params: int = 0
    non_trainable: int = 0  # weights Keras never trains (batch-norm statistics)


@dataclass
class Issue:
    code: str
    message: str
    key: str | None = None  # the layer key to point at, e.g. "kernel"
    hint: str | None = None


@dataclass
class ShapeError(Exception):
    issues: list[Issue] = field(default_factory=list)

    @classmethod
    def one(cls, code, message, key=None, hint=None) -> ShapeError:
        return cls([Issue(code, message, key, hint)])


def fmt(shape: Shape) -> str:
    """(28, 28, 32) the way Keras prints shapes, without the batch axis."""
    inner = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
    return "(" + inner + ")"


def prod(shape: Shape) -> int:
    return math.prod(shape)


def conv_length(n: int, k: int, stride: int, padding: str, dilation: int = 1) -> int:
    """Keras's `compute_conv_output_shape` for one spatial axis."""
    if padding == "same":
        return (n + stride - 1) // stride
    return (n - dilation * (k - 1) - 1) // stride + 1


def pool_length(n: int, k: int, stride: int, padding: str) -> int:
    """Keras's `compute_pooling_output_shape` for one spatial axis."""
    if padding == "same":
        return (n - 1) // stride + 1
    return (n - k) // stride + 1


def need_rank(shape: Shape, rank: int, kind: str, what: str) -> None:
    if len(shape) != rank:
        hint = None
        if rank == 3 and len(shape) == 1:
            hint = "reshape the vector to (h, w, c) first, or use dense layers"
        raise ShapeError.one(
            "MS213",
            f"{kind} needs {what} (rank {rank}, no batch axis); its input is "
            f"{fmt(shape)}, rank {len(shape)}",
            hint=hint,
        )
