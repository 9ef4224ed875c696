"""Pretrained weights from weight files, matched by layer name (`[transfer]`).

`[transfer] from` may name a Keras 3 `.weights.h5` file or a legacy HDF5 file
(`.h5`: what `save_weights` wrote before Keras 3, and keras.applications'
ImageNet files such as `resnet50_weights_tf_dim_ordering_tf_kernels.h5`).
Both are read with h5py into `StoredWeights`, which looks like a model to
`transfer.apply_transfer` (layers with `.name`, `.weights`, `.get_weights()`),
so every source goes through one copy-by-name mechanism.

keras.applications loads its files by layer *order*
(`legacy_h5_format.load_weights_from_hdf5_group`); matching by name is what
lets a spec that adds, drops or reorders layers still start from them.
"""

from __future__ import annotations

import os
from pathlib import Path

from modelspec.errors import RunError, require

WEIGHT_SUFFIXES = (".weights.h5", ".h5", ".hdf5")


def is_weight_file(path) -> bool:
    name = str(path).lower()
    return name.endswith(WEIGHT_SUFFIXES)


def keras_cache_dirs() -> list[Path]:
    """Where Keras keeps downloaded model weights (keras.utils.get_file):
    $KERAS_HOME/models, else ~/.keras/models, else /tmp/.keras/models."""
    dirs = []
    if os.environ.get("KERAS_HOME"):
        dirs.append(Path(os.environ["KERAS_HOME"]) / "models")
    dirs += [Path.home() / ".keras" / "models", Path("/tmp/.keras/models")]
    return dirs


def find_in_keras_cache(name: str) -> Path | None:
    """A bare file name found in Keras's model cache, else None."""
    if Path(name).name != name:
        return None
    for folder in keras_cache_dirs():
        if (folder / name).is_file():
            return folder / name
    return None


class StoredLayer:
    """One layer's arrays from a weight file, in the order they were saved,
    with the variable names when the file has them (legacy files do)."""

    def __init__(self, name: str, arrays: list, var_names: list[str] | None):
        self.name = name
        self.weights = arrays
        self.var_names = var_names

    def get_weights(self) -> list:
        return list(self.weights)

    def ordered_like(self, layer) -> StoredLayer:
        """The arrays in `layer`'s variable order, matched by variable name
        (kernel, bias, gamma, moving_mean ...) when every name matches:
        legacy files store trainable variables first, which differs from
        `layer.weights` when the layer was frozen when saved."""
        ours = [v.name.split("/")[-1] for v in layer.weights]
        if self.var_names is None or sorted(ours) != sorted(self.var_names):
            return self
        by_name = dict(zip(self.var_names, self.weights, strict=True))
        return StoredLayer(self.name, [by_name[n] for n in ours], ours)


class StoredWeights:
    """A weight file's layers, shaped like a Keras model for apply_transfer."""

    def __init__(self, layers: list[StoredLayer], source: str):
        self.layers = layers
        self.source = source

    def aligned_to(self, model) -> StoredWeights:
        targets = {layer.name: layer for layer in model.layers}
        return StoredWeights(
            [
                s.ordered_like(targets[s.name]) if s.name in targets else s
                for s in self.layers
            ],
            self.source,
        )


def _text(value) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _legacy_layers(group) -> list[StoredLayer]:
    """`layer_names` / `weight_names` attributes, as legacy_h5_format writes."""
    np = require("numpy")
    out = []
    for layer_name in (_text(n) for n in group.attrs["layer_names"]):
        layer_group = group[layer_name]
        weight_names = [_text(n) for n in layer_group.attrs.get("weight_names", [])]
        if not weight_names:
            continue
        arrays = [np.asarray(layer_group[w]) for w in weight_names]
        # "conv1_conv/kernel:0" (TF 1/2) or "conv1_conv/kernel" (Keras 3)
        var_names = [w.split("/")[-1].split(":")[0] for w in weight_names]
        out.append(StoredLayer(layer_name, arrays, var_names))
    return out


def _keras3_layers(group, path: Path) -> list[StoredLayer]:
    """`layers/<key>/vars/0, 1, ...` with the layer's name as the `name`
    attribute of `vars` (saving_lib's layout)."""
    np = require("numpy")
    out = []
    for key, layer_group in group["layers"].items():
        vars_group = layer_group.get("vars")
        if vars_group is None or not len(vars_group):
            continue
        name = vars_group.attrs.get("name")
        if name is None:
            raise RunError(
                f"{path}: layer '{key}' has no stored layer name, so its weights "
                "cannot be matched by name",
                hint="save the source model as .keras (model.save) instead",
            )
        arrays = [np.asarray(vars_group[str(i)]) for i in range(len(vars_group))]
        out.append(StoredLayer(_text(name), arrays, None))
    return out


def read_weights(path) -> StoredWeights:
    """Every layer's arrays in a `.weights.h5` or legacy `.h5` file."""
    h5py = require("h5py")
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            group = f.get("model_weights", f)
            if "layer_names" in group.attrs:
                layers = _legacy_layers(group)
            elif "layers" in group:
                layers = _keras3_layers(group, path)
            else:
                raise RunError(
                    f"{path} is an HDF5 file but holds no Keras weights (neither "
                    "layer_names nor layers/)"
                )
    except OSError as exc:
        raise RunError(f"cannot read weights from {path}: {exc}") from None
    return StoredWeights(layers, str(path))


def check_fit(report) -> None:
    """An error naming every layer whose stored weights did not fit."""
    if not report.skipped:
        return
    lines = [f"  {name}: {detail}" for name, detail in report.skipped]
    raise RunError(
        f"{len(report.skipped)} layer(s) of {report.source} do not fit this model "
        "(source vs here):\n" + "\n".join(lines),
        hint="fix the spec, or list the layers in [transfer] skip = [...] to leave "
        "them at their initializers",
    )
