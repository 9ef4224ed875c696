"""ONNX export: Keras model -> verified ONNX file with modelspec metadata.

Importing this package loads no framework; tf2onnx, onnx and onnxruntime load
on the first call that needs them.
"""

from __future__ import annotations

from .export import ExportReport, build_metadata, convert, export_onnx
from .verify import Verification, random_inputs

__all__ = [
    "ExportReport",
    "Verification",
    "build_metadata",
    "convert",
    "export_onnx",
    "random_inputs",
]
