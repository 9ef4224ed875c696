"""Read a Keras model for `modelspec import`: its serialized config (plain
data for `modelspec.importer`) and, for `--weights`, its weights by layer name.

Sources: a `.keras` file (its `config.json`, read without Keras), a legacy
full-model `.h5` file (its `model_config` attribute, read with h5py) or
`keras.applications:NAME` (built with `weights=None`: nothing is downloaded).
Weights are read by loading the model with Keras's safe mode, which refuses to
run code stored in a file (a Lambda's bytecode).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from modelspec.errors import RunError, UsageError, require
from modelspec.fsutil import atomic_path

APPLICATIONS = "keras.applications:"
# keras.applications models built for any image size (None, None, 3) are
# imported at their default size, as in specs/zoo.
DEFAULT_IMAGE = (224, 224, 3)


def _application(name: str):
    keras = require("keras")
    build = getattr(keras.applications, name, None)
    if not name.isidentifier() or not callable(build) or name[0].islower():
        raise UsageError(
            f"keras.applications has no model {name!r}",
            hint="e.g. keras.applications:ResNet50 (the class-style names of "
            "keras.applications)",
        )
    keras.utils.clear_session()  # automatic layer names start from the first
    model = build(weights=None)
    if None in model.input_shape[1:]:
        keras.utils.clear_session()
        model = build(weights=None, input_shape=DEFAULT_IMAGE)
    return model


def _keras_config(path: Path) -> dict:
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path} is not a Keras 3 .keras file ({exc})") from None


def _h5_config(path: Path) -> dict:
    h5py = require("h5py")
    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
    except OSError as exc:
        raise UsageError(f"{path} is not an HDF5 file ({exc})") from None
    if raw is None:
        raise UsageError(
            f"{path} holds weights only, no model configuration",
            hint="import the .keras (or full-model .h5) file the weights belong to",
        )
    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)


def read_config(source: str) -> dict:
    """The serialized model (`{"class_name", "config", ...}`) of `source`."""
    if source.startswith(APPLICATIONS):
        keras = require("keras")
        model = _application(source[len(APPLICATIONS) :])
        return keras.saving.serialize_keras_object(model)
    path = Path(source)
    if not path.is_file():
        raise UsageError(
            f"no such model file: {source}",
            hint="a .keras or .h5 file, or keras.applications:NAME",
        )
    if path.suffix == ".keras":
        return _keras_config(path)
    if path.suffix in (".h5", ".hdf5"):
        return _h5_config(path)
    raise UsageError(
        f"cannot import {source}: not a .keras or .h5 file",
        hint="a .keras or .h5 file, or keras.applications:NAME",
    )


def load(source: str):
    """The model itself, loaded in safe mode (for its weights)."""
    if source.startswith(APPLICATIONS):
        return _application(source[len(APPLICATIONS) :])
    from . import custom_objects

    keras = require("keras")
    try:
        return keras.saving.load_model(
            source, custom_objects=custom_objects(), compile=False, safe_mode=True
        )
    except Exception as exc:  # Keras's own reasons, named with the file
        raise RunError(f"cannot load {source} for its weights: {exc}") from exc


def leaf_layers(model) -> list:
    """Layers with nested models replaced by their own layers (flattened, as
    the imported spec is)."""
    out = []
    for layer in model.layers:
        out.extend(leaf_layers(layer) if hasattr(layer, "layers") else [layer])
    return out


def write_weights(model, target: Path) -> int:
    """Every weighted layer's arrays, by layer name, in the layout
    `pretrained.read_weights` reads (`layer_names`, `weight_names`); nested
    models are flattened. Returns the number of layers written."""
    h5py, np = require("h5py"), require("numpy")
    layers = [layer for layer in leaf_layers(model) if layer.weights]
    with atomic_path(target, suffix=".h5") as tmp, h5py.File(tmp, "w") as f:
        f.attrs["layer_names"] = [layer.name.encode() for layer in layers]
        for layer in layers:
            group = f.create_group(layer.name)
            names = [f"{layer.name}/{_var_name(v)}" for v in layer.weights]
            group.attrs["weight_names"] = [n.encode() for n in names]
            for name, variable in zip(names, layer.weights, strict=True):
                group.create_dataset(name, data=np.asarray(variable))
    return len(layers)


def _var_name(variable) -> str:
    return getattr(variable, "path", variable.name).split("/")[-1]
