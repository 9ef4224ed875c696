"""What an exported ONNX file says about itself (its `metadata_props`).

Framework-free: the exporter writes these entries and `modelspec.onnx_file.predict`
reads them back with nothing but onnxruntime and numpy, so a consumer can
preprocess inputs and read outputs correctly without the spec.

Every value is a string (ONNX's rule); lists and dicts are JSON. The
preprocessing entry is always of one form, whatever the spec said:

    x = (raw / divide - mean) / std      (channels last; mean/std per channel)

with `mean` 0 and `std` 1 when the data is only scaled. `scale` names what
training did ('unit', 'standardize', 'per_image', 'none', or 'unknown' for a
spec exported without its data); entries that are not known are null. Two
steps follow the formula when present: `crop` = [h, w] takes the central crop
of images of shape `raw_shape` (the model input is the crop), and scale
'per_image' standardizes each example by its own mean and std
(tf.image.per_image_standardization). The graph itself takes the model input.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

FORMULA = "x = (raw / divide - mean) / std"

# Entries the exporter always writes; JSON-encoded ones are listed in JSON_KEYS.
KEYS = (
    "modelspec_version",
    "spec_name",
    "spec_sha256",
    "class_names",
    "input_name",
    "input_shape",
    "output_name",
    "output_kind",
    "preprocessing",
    "opset",
)
JSON_KEYS = frozenset({"class_names", "input_shape", "preprocessing"})


def canonical_preprocessing(prep: Mapping[str, Any] | None) -> dict:
    """The data pipeline's preprocessing dict (`Splits.preprocessing`: `scale`
    'unit' with `divide`, 'standardize' with per-channel `mean`/`std` of raw
    pixels, or 'none'; `raw_max`, the raw pixel range) with the one-formula
    fields `divide`, `mean`, `std` filled in. Other keys are kept as given.

    Values that are unknown (a spec exported without its data: standardization
    statistics, the pixel range of user data) stay null, and
    `modelspec.onnx_file.predict` then refuses to guess.
    """
    if not prep:
        return {
            "scale": "unknown",
            "divide": None,
            "mean": None,
            "std": None,
            "formula": FORMULA,
        }
    prep = dict(prep)
    scale = str(prep.get("scale", "none"))
    out = dict(prep)
    out["scale"] = scale
    if scale == "unit":
        divide = _first(prep, ("divide", "raw_max"), None)
        out["divide"] = float(divide) if divide is not None else None
        out["mean"], out["std"] = 0.0, 1.0
    elif scale == "standardize":
        out["divide"] = float(prep.get("divide", 1.0))
        out["mean"] = _floats(prep["mean"]) if prep.get("mean") is not None else None
        out["std"] = _floats(prep["std"]) if prep.get("std") is not None else None
    else:
        out["divide"] = float(prep.get("divide", 1.0))
        out["mean"] = _floats(prep.get("mean", 0.0))
        out["std"] = _floats(prep.get("std", 1.0))
    out["formula"] = FORMULA
    return out


def static_preprocessing(spec) -> dict | None:
    """What the spec alone says about preprocessing (no data loaded): None
    without a `[data]` table."""
    from ..data.info import DATASETS

    data = getattr(spec, "data", None)
    if data is None:
        return None
    raw_max = 16.0 if data.dataset == "digits" else 255.0
    out: dict
    if data.dataset not in DATASETS and data.scale == "unit":
        out = {"scale": "unit", "divide": None, "raw_max": None}
    elif data.scale == "unit":
        out = {"scale": "unit", "divide": raw_max, "raw_max": raw_max}
    elif data.scale == "standardize":
        out = {"scale": "standardize", "mean": None, "std": None, "raw_max": raw_max}
    else:  # 'per_image' or 'none': no statistics of the data needed
        out = {"scale": data.scale, "raw_max": raw_max}
    return _with_crop(out, data, spec.model.input)


def _with_crop(prep: dict, data, input_shape) -> dict:
    """`crop` and `raw_shape` of a spec whose [data.augment] crops, when the
    dataset's image size is known without loading it."""
    from ..data.info import DATASETS

    crop = data.augment.crop
    if crop and data.dataset in DATASETS and len(input_shape) == 3:
        h, w = DATASETS[data.dataset][0][:2]
        prep["crop"] = [int(d) for d in crop]
        prep["raw_shape"] = [h, w, int(input_shape[2])]
    return prep


def _first(d: Mapping[str, Any], keys: Sequence[str], default: Any) -> Any:
    for key in keys:
        if d.get(key) is not None:
            return d[key]
    return default


def _floats(v: Any) -> float | list[float]:
    if isinstance(v, (int, float)):
        return float(v)
    flat = [float(x) for x in _flatten(v)]
    return flat[0] if len(flat) == 1 else flat


def _flatten(v: Any):
    if hasattr(v, "tolist"):  # a numpy array, without importing numpy here
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        for item in v:
            yield from _flatten(item)
    else:
        yield v


def output_kind(spec) -> str:
    """'probabilities' when the model ends in softmax, else 'logits'.

    Follows the training loss's rule (`[train] from_logits` overrides it), so
    the file states what the network was trained to output.
    """
    from_logits = getattr(getattr(spec, "train", None), "from_logits", None)
    if from_logits is not None:
        return "logits" if from_logits else "probabilities"
    last = spec.layers[-1]
    if getattr(last, "activation", None) == "softmax":
        return "probabilities"
    return "logits"


def default_class_names(spec) -> list[str]:
    """The spec's class names, else the built-in dataset's, else '0'..'n-1'."""
    from ..data.info import CLASS_NAMES

    if spec.model.class_names:
        return list(spec.model.class_names)
    n = spec.model.classes
    data = getattr(spec, "data", None)
    names = CLASS_NAMES.get(data.dataset) if data is not None else None
    if names and data is not None and data.classes:
        names = [names[i] for i in data.classes if i < len(names)]
    if names and (n is None or len(names) == n):
        return list(names)
    return [str(i) for i in range(n)] if n else []


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_json(obj: Any) -> str:
    """Hash of a canonical JSON rendering (key order and spacing fixed)."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return sha256_text(blob)


def encode(meta: Mapping[str, Any]) -> dict[str, str]:
    """Python values -> ONNX metadata strings."""
    out = {}
    for key, value in meta.items():
        if value is None:
            continue
        if key in JSON_KEYS or not isinstance(value, (str, int, float)):
            out[key] = json.dumps(value)
        else:
            out[key] = str(value)
    return out


def decode(props: Mapping[str, str]) -> dict[str, Any]:
    """ONNX metadata strings -> Python values (JSON entries parsed)."""
    out: dict[str, Any] = {}
    for key, value in props.items():
        if key in JSON_KEYS:
            try:
                out[key] = json.loads(value)
            except json.JSONDecodeError as e:
                raise ValueError(f"'{key}' is not valid JSON: {e}") from e
        elif key == "opset":
            out[key] = int(value)
        else:
            out[key] = value
    return out
