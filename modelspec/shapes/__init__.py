"""Shape and parameter rules, one pure function per layer kind.

`RULES[type](layer, input_shapes) -> Out` with shapes that have no batch axis.
A rule raises `ShapeError` holding every problem it found for that layer; the
inference pass prefixes them with the layer and the TOML line.
"""

from __future__ import annotations

from .base import Issue, Out, ShapeError

# -- conv family and resizing (conv_family.py, resize.py)
from .conv_family import RULES as _CONV_FAMILY
from .merge import RULES as _MERGE
from .norm import RULES as _NORM  # vocab-merge
from .resize import RULES as _RESIZE
from .resize import dropout as _dropout
from .spatial import RULES as _SPATIAL
from .tensor import RULES as _TENSOR

RULES = {
    **_SPATIAL,
    **_TENSOR,
    **_MERGE,
    **_CONV_FAMILY,
    **_RESIZE,
    **_NORM,
    "dropout": _dropout,
}

__all__ = ["RULES", "Issue", "Out", "ShapeError"]
