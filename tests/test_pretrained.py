"""Pretrained weights by name: `[transfer] from` a .keras, .weights.h5 or
legacy .h5 file (keras.applications' ImageNet format), with a report of what
was loaded, what kept its initializer and an error for what does not fit.

The weight files are made here from `weights=None` models; nothing is
downloaded.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from modelspec.check import check_text
from modelspec.errors import RunError

pytestmark = pytest.mark.framework

FORMATS = ["model.keras", "model.weights.h5", "legacy.h5", "full_legacy.h5"]
VGG_BLOCKS = [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]


def small_spec(extra: str = "", filters: int = 8) -> str:
    return f"""\
[model]
name = "small"
input = [12, 12, 3]
classes = 5

[[layers]]
type = "conv2d"
name = "conv1"
filters = {filters}
kernel = 3

[[layers]]
type = "batch_norm"
name = "bn1"

[[layers]]
type = "activation"
name = "relu1"
activation = "relu"

[[layers]]
type = "global_avg_pool2d"
name = "pool"

[[layers]]
type = "dense"
name = "head"
units = 5
{extra}"""


def vgg16_notop_spec(extra: str = "", last_filters: int = 512) -> str:
    """keras.applications.VGG16(include_top=False) at 32x32, then a new head."""
    rows = []
    for b, (filters, convs) in enumerate(VGG_BLOCKS, start=1):
        for c in range(1, convs + 1):
            f = last_filters if (b, c) == (5, 3) else filters
            rows.append(
                f'{{ type = "conv2d", name = "block{b}_conv{c}", '
                f'filters = {f}, kernel = 3, padding = "same", '
                'activation = "relu" },'
            )
        rows.append(f'{{ type = "max_pool2d", name = "block{b}_pool" }},')
    rows.append('{ type = "global_avg_pool2d", name = "gap" },')
    rows.append('{ type = "dense", name = "predictions", units = 10 },')
    return (
        "layers = [\n" + "\n".join(rows) + '\n]\n[model]\nname = "vgg"\n'
        "input = [32, 32, 3]\nclasses = 10\n" + extra
    )


def checked(text: str):
    report = check_text(text, file="pretrained.toml")
    assert report.ok, [d.render() for d in report.diagnostics]
    return report


def save(model, folder, fmt: str):
    """`model` saved in one of FORMATS; legacy.h5 is written the way the
    ImageNet files of keras.applications were (layer_names / weight_names);
    full_legacy.h5 is a whole Keras 2 model file (weights under model_weights)."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    path = folder / fmt
    if fmt in ("model.keras", "full_legacy.h5"):
        model.save(path)
    elif fmt == "model.weights.h5":
        model.save_weights(path)
    else:
        with h5py.File(path, "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return path


def load(report, path, seed=2):
    from backends.keras_backend import build_model
    from backends.keras_backend.transfer import load_and_apply

    model = build_model(report, seed=seed)
    before = {layer.name: layer.get_weights() for layer in model.layers}
    rep = load_and_apply(model, report.spec.transfer, base=path.parent)
    return model, before, rep


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_loads_by_name_and_reports(tmp_path, fmt):
    from backends.keras_backend import build_model

    source = build_model(checked(small_spec()), seed=1)
    # Non-default batch-norm statistics, so a swapped gamma/mean would show.
    bn = source.get_layer("bn1")
    bn.set_weights([np.arange(8.0) + k for k in range(1, 5)])
    path = save(source, tmp_path, fmt)
    report = checked(small_spec(f'[transfer]\nfrom = "{fmt}"\n'))
    model, before, rep = load(report, path)
    assert rep.copied == ["conv1", "bn1", "head"]
    assert rep.new == rep.skipped == rep.kept == []
    for name in rep.copied:
        assert_same(
            model.get_layer(name).get_weights(), source.get_layer(name).get_weights()
        )
    assert not np.array_equal(
        before["conv1"][0], model.get_layer("conv1").get_weights()[0]
    )


def test_legacy_variables_load_by_name_not_order(tmp_path):
    """An old TF 2 file ("bn1/gamma:0") whose batch-norm variables are listed
    in another order than the layer's own: they load by variable name."""
    import h5py

    order = ["moving_variance", "gamma", "moving_mean", "beta"]
    values = {n: np.full(8, k, np.float32) for k, n in enumerate(order, start=1)}
    path = tmp_path / "old.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"bn1"]
        group = f.create_group("bn1")
        group.attrs["weight_names"] = [f"bn1/{n}:0".encode() for n in order]
        for n in order:
            group.create_dataset(f"bn1/{n}:0", data=values[n])
    model, _, rep = load(checked(small_spec('[transfer]\nfrom = "old.h5"\n')), path)
    assert rep.copied == ["bn1"] and rep.new == ["conv1", "head"]
    loaded = model.get_layer("bn1").get_weights()  # gamma, beta, mean, variance
    assert [float(w[0]) for w in loaded] == [2.0, 4.0, 3.0, 1.0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_layer_that_does_not_fit_is_one_error_with_both_shapes(tmp_path, fmt):
    from backends.keras_backend import build_model

    path = save(build_model(checked(small_spec()), seed=1), tmp_path, fmt)
    report = checked(small_spec(f'[transfer]\nfrom = "{fmt}"\n', filters=6))
    with pytest.raises(RunError) as info:
        load(report, path)
    message = info.value.message
    for text in (
        "conv1",
        "(3, 3, 3, 8) vs (3, 3, 3, 6)",
        "bn1",
        "(8,) vs (6,)",
        "head",
        "(8, 5) vs (6, 5)",
    ):
        assert text in message, message
    assert "skip" in info.value.hint


def test_skip_keeps_initializers_and_says_so(tmp_path):
    from backends.keras_backend import build_model

    path = save(
        build_model(checked(small_spec()), seed=1), tmp_path, "model.weights.h5"
    )
    report = checked(
        small_spec('[transfer]\nfrom = "model.weights.h5"\nskip = ["head"]\n')
    )
    model, before, rep = load(report, path)
    assert rep.kept == ["head"] and rep.copied == ["conv1", "bn1"]
    assert_same(model.get_layer("head").get_weights(), before["head"])
    assert ("head", "kept", "left at its initializer ([transfer] skip)") in rep.rows()
    assert rep.to_json()["kept"] == ["head"]


def test_skip_must_name_layers():
    report = check_text(small_spec('[transfer]\nfrom = "x.h5"\nskip = ["haed"]\n'))
    assert [d.code for d in report.diagnostics] == ["MS405"]
    assert "skip names 'haed'" in report.diagnostics[0].message


def test_keras_applications_file_from_keras_cache(tmp_path, monkeypatch):
    """A legacy file in $KERAS_HOME/models, named like keras.applications'
    ImageNet files, loads into a spec by layer name; the new head keeps its
    initializer."""
    import keras

    vgg = keras.applications.VGG16(
        weights=None, include_top=False, input_shape=(32, 32, 3)
    )
    cache = tmp_path / "keras_home" / "models"
    cache.mkdir(parents=True)
    name = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    (cache / name).write_bytes(save(vgg, tmp_path, "legacy.h5").read_bytes())
    monkeypatch.setenv("KERAS_HOME", str(cache.parent))
    report = checked(vgg16_notop_spec(f'[transfer]\nfrom = "{name}"\n'))
    model, before, rep = load(report, tmp_path / "elsewhere" / "spec.toml")
    weighted = [layer.name for layer in vgg.layers if layer.weights]
    assert rep.copied == weighted and len(weighted) == 13
    assert rep.new == ["predictions"] and rep.source == str(cache / name)
    for layer in weighted:
        assert_same(
            model.get_layer(layer).get_weights(), vgg.get_layer(layer).get_weights()
        )
    assert_same(model.get_layer("predictions").get_weights(), before["predictions"])
    x = np.random.default_rng(0).uniform(-120, 130, (2, 32, 32, 3)).astype("float32")
    features = keras.Model(model.input, model.get_layer("block5_pool").output)
    np.testing.assert_allclose(features(x), vgg(x), rtol=1e-5, atol=1e-5)


def test_keras_applications_mismatch_names_the_layer(tmp_path):
    import keras

    vgg = keras.applications.VGG16(
        weights=None, include_top=False, input_shape=(32, 32, 3)
    )
    path = save(vgg, tmp_path, "model.weights.h5")
    report = checked(
        vgg16_notop_spec('[transfer]\nfrom = "model.weights.h5"\n', last_filters=256)
    )
    with pytest.raises(RunError) as info:
        load(report, path)
    assert "1 layer(s)" in info.value.message
    assert (
        "block5_conv3: shape mismatch (3, 3, 512, 512) vs (3, 3, 512, 256)"
        in info.value.message
    )


def test_a_file_without_weights_is_a_clear_error(tmp_path):
    import h5py

    from backends.keras_backend.pretrained import read_weights

    path = tmp_path / "empty.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(RunError, match="holds no Keras weights"):
        read_weights(path)
    other = tmp_path / "w.npz"
    other.write_bytes(b"x")
    from backends.keras_backend.transfer import resolve_source

    with pytest.raises(RunError, match="weight file"):
        resolve_source(str(other))


def digits_spec(extra: str = "") -> str:
    return f"""\
[model]
name = "digits_pre"
input = [8, 8, 1]
classes = 10

[[layers]]
type = "conv2d"
name = "conv1"
filters = 4
kernel = 3
activation = "relu"

[[layers]]
type = "flatten"

[[layers]]
type = "dense"
name = "logits"
units = 10

[data]
dataset = "digits"
validation = 50
limit = 200

[train]
epochs = 1
batch_size = 50
{extra}"""


def test_train_starts_from_a_weight_file_and_records_the_report(tmp_path):
    """The whole path: `train` resolves the file before making a run folder,
    loads conv1 by name, keeps the skipped head's initializer, and writes the
    report to resolved.json."""
    import json

    from backends.keras_backend import build_model
    from backends.keras_backend.train import train

    source = build_model(checked(digits_spec()), seed=5)
    path = save(source, tmp_path, "model.weights.h5")
    text = digits_spec(
        f'\n[transfer]\nfrom = "{path}"\nskip = ["logits"]\nfreeze = ["conv1"]\n'
    )
    reports = []
    result = train(checked(text), out=tmp_path / "runs", on_transfer=reports.append)
    rep = reports[0]
    assert rep.copied == ["conv1"] and rep.kept == ["logits"]
    assert rep.source == str(path)
    resolved = json.loads((result.run_dir / "resolved.json").read_text())
    assert resolved["derived"]["transfer"]["kept"] == ["logits"]
    from backends.keras_backend import load_model

    trained = load_model(result.run_dir / "best.keras", compile=False)
    assert_same(
        trained.get_layer("conv1").get_weights(),  # frozen: unchanged
        source.get_layer("conv1").get_weights(),
    )
