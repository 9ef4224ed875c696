"""The spec language as Pydantic models (the JSON Schema is generated from them)."""

from __future__ import annotations

from typing import Optional

from pydantic import Field

from .common import Strict
from .layers import LAYER_MODELS, LAYER_TYPES, Layer, LayerBase, pair
from .tables import (
    BUILTIN_DATASETS,
    DataTable,
    ExportTable,
    ModelTable,
    TrainTable,
    TransferTable,
)

TABLES: dict[str, type[Strict]] = {
    "model": ModelTable,
    "data": DataTable,
    "train": TrainTable,
    "transfer": TransferTable,
    "export": ExportTable,
}


class Spec(Strict):
    """A whole modelspec file."""

    model: ModelTable = Field(description="The model's name, input and classes.")
    layers: list[Layer] = Field(min_length=1, description="The layers, in order.")
    data: Optional[DataTable] = Field(None, description="Data for train/evaluate.")
    train: TrainTable = Field(
        default_factory=TrainTable, description="Training settings."
    )
    transfer: Optional[TransferTable] = Field(
        None, description="Start from another model's weights."
    )
    export: ExportTable = Field(
        default_factory=ExportTable, description="ONNX export settings."
    )


def json_schema() -> dict:
    from ..blocks.schema import add_blocks
    from .tagged import untangle

    schema = untangle(add_blocks(Spec.model_json_schema(by_alias=True)))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "modelspec"
    return schema


__all__ = [
    "BUILTIN_DATASETS",
    "DataTable",
    "ExportTable",
    "LAYER_MODELS",
    "LAYER_TYPES",
    "Layer",
    "LayerBase",
    "ModelTable",
    "Spec",
    "TABLES",
    "TrainTable",
    "TransferTable",
    "json_schema",
    "pair",
]
