"""Datasets for training: `load_data(table, input_shape) -> Splits`.

The names below are loaded lazily, so that `modelspec.data.info` (used by the
checker) never imports numpy, which only the framework extras install.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .images import load_image_files
    from .load import load_data
    from .process import Splits, preprocess

__all__ = ["Splits", "load_data", "load_image_files", "preprocess"]

_HOMES = {
    "Splits": "process",
    "preprocess": "process",
    "load_data": "load",
    "load_image_files": "images",
}


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'modelspec.data' has no attribute {name!r}")
    from importlib import import_module

    from ..errors import require

    require("numpy")
    return getattr(import_module(f".{_HOMES[name]}", __name__), name)
