"""`[transfer]`: copy by name, widen a 9-class head to 10, freeze, report."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from modelspec.check import check_text

pytestmark = pytest.mark.framework


def spec(classes: int, extra: str = "", hidden: int = 16) -> str:
    data_classes = "" if classes == 10 else f"classes = {list(range(classes))}"
    return f"""\
[model]
name = "tr{classes}"
input = [8, 8, 1]
classes = {classes}

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
name = "fc"
units = {hidden}
activation = "relu"

[[layers]]
type = "dense"
name = "logits"
units = {classes}

[data]
dataset = "digits"
validation = 50
limit = 200
{data_classes}

[train]
epochs = 1
batch_size = 50
seed = {classes}
{extra}
"""


def report_of(text):
    report = check_text(text, file="transfer.toml")
    assert report.ok, [d.render() for d in report.diagnostics]
    return report


def test_apply_transfer_copies_widens_and_reports():
    from backends.keras_backend import build_model
    from backends.keras_backend.transfer import apply_transfer
    from modelspec.schema import TransferTable

    source = build_model(report_of(spec(9, hidden=16)), seed=1)
    target = build_model(report_of(spec(10, hidden=12)), seed=2)
    fresh_head = [w.copy() for w in target.get_layer("logits").get_weights()]
    table = TransferTable.model_validate({"from": "x.keras", "freeze": ["conv1"]})
    rep = apply_transfer(target, source, table)

    assert rep.copied == ["conv1"]
    assert rep.skipped and rep.skipped[0][0] == "fc"  # 16 -> 12 units: no fit
    assert "shape mismatch" in rep.skipped[0][1]
    assert [n for n, _ in rep.widened] == []  # logits' input width changed too
    assert rep.frozen == ["conv1"] and not target.get_layer("conv1").trainable
    for a, b in zip(
        source.get_layer("conv1").get_weights(),
        target.get_layer("conv1").get_weights(),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    # The skipped head keeps its own initialisation.
    for a, b in zip(fresh_head, target.get_layer("logits").get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_widened_head_keeps_learned_rows():
    from backends.keras_backend import build_model
    from backends.keras_backend.transfer import apply_transfer
    from modelspec.schema import TransferTable

    source = build_model(report_of(spec(9)), seed=1)
    target = build_model(report_of(spec(10)), seed=2)
    new_kernel, new_bias = [w.copy() for w in target.get_layer("logits").get_weights()]
    table = TransferTable.model_validate({"from": "x.keras", "freeze": "all_but_last"})
    rep = apply_transfer(target, source, table)

    assert rep.copied == ["conv1", "fc"]
    assert rep.widened == [("logits", "(16, 9) -> (16, 10), (9,) -> (10,)")]
    assert rep.frozen == ["conv1", "fc"] and rep.new == []
    assert target.get_layer("logits").trainable
    old_kernel, old_bias = source.get_layer("logits").get_weights()
    kernel, bias = target.get_layer("logits").get_weights()
    np.testing.assert_array_equal(kernel[:, :9], old_kernel)
    np.testing.assert_array_equal(bias[:9], old_bias)
    np.testing.assert_array_equal(kernel[:, 9], new_kernel[:, 9])
    np.testing.assert_array_equal(bias[9], new_bias[9])
    rows = {layer: action for layer, action, _ in rep.rows()}
    assert rows == {
        "conv1": "copied, frozen",
        "fc": "copied, frozen",
        "logits": "widened",
    }


def test_widen_false_skips_the_head():
    from backends.keras_backend import build_model
    from backends.keras_backend.transfer import apply_transfer
    from modelspec.schema import TransferTable

    source = build_model(report_of(spec(9)), seed=1)
    target = build_model(report_of(spec(10)), seed=2)
    table = TransferTable.model_validate({"from": "x.keras", "widen": False})
    rep = apply_transfer(target, source, table)
    assert [n for n, _ in rep.skipped] == ["logits"]
    assert "widen = false" in rep.skipped[0][1]


def test_train_from_a_run_dir_freezes_what_it_reports(tmp_path):
    from backends.keras_backend import load_model
    from backends.keras_backend.train import train

    out = tmp_path / "runs"
    src = train(report_of(spec(9)), out=out)
    reports = []
    extra = f'[transfer]\nfrom = "{out / "tr9"}"\nfreeze = "all_but_last"\n'
    text = spec(10) + "\n" + extra
    dst = train(report_of(text), out=out, on_transfer=reports.append)

    assert dst.transfer is reports[0]
    rep = reports[0]
    assert rep.source == str(src.run_dir / "best.keras")
    assert rep.copied == ["conv1", "fc"] and [w for w, _ in rep.widened] == ["logits"]
    before = load_model(src.run_dir / "best.keras", compile=False)
    after = load_model(dst.run_dir / "best.keras", compile=False)
    # Frozen layers are bit-identical after a training epoch; the head trained.
    for name in ("conv1", "fc"):
        assert not after.get_layer(name).trainable
        for a, b in zip(
            before.get_layer(name).get_weights(),
            after.get_layer(name).get_weights(),
            strict=True,
        ):
            np.testing.assert_array_equal(a, b)
    old_kernel = before.get_layer("logits").get_weights()[0]
    new_kernel = after.get_layer("logits").get_weights()[0]
    assert new_kernel.shape == (16, 10)
    assert not np.array_equal(new_kernel[:, :9], old_kernel)
    resolved = (dst.run_dir / "resolved.json").read_text()
    assert '"widened"' in resolved


def test_transfer_from_a_missing_run_is_a_clear_error(tmp_path):
    from backends.keras_backend.train import train
    from modelspec.errors import RunError

    text = spec(10) + f'\n[transfer]\nfrom = "{tmp_path / "nothing"}"\n'
    with pytest.raises(RunError, match="no such run directory or file"):
        train(report_of(text), out=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()  # refused before creating a run
