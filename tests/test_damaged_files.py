"""Damaged and missing files: one wording and one exit code for the same file,
whichever command meets it (issue 10, item 13)."""

import shutil
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelspec.cli import app
from modelspec.errors import UsageError
from modelspec.runs.checkpoint import require_model_file

ROOT = Path(__file__).resolve().parents[1]
SPEC = str(ROOT / "specs" / "digits_lenet.toml")
runner = CliRunner()


# -- framework-free: the file check itself ----------------------------------------


def _keras_like(path: Path, members=("config.json", "model.weights.h5")) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for m in members:
            z.writestr(m, "x" * 1000)
    return path


def test_a_whole_archive_passes(tmp_path):
    p = _keras_like(tmp_path / "m.keras")
    assert require_model_file(p) == p


@pytest.mark.parametrize("cut", [10, 500, -30])
def test_a_cut_off_archive_is_damaged_not_missing(tmp_path, cut):
    whole = _keras_like(tmp_path / "whole.keras").read_bytes()
    p = tmp_path / "m.keras"
    p.write_bytes(whole[:cut])
    with pytest.raises(UsageError) as e:
        require_model_file(p)
    assert "is damaged: it is not a complete .keras archive" in e.value.message
    assert e.value.exit_code == 2


def test_an_archive_without_weights_is_damaged(tmp_path):
    p = _keras_like(tmp_path / "m.keras", members=("config.json",))
    with pytest.raises(UsageError) as e:
        require_model_file(p)
    assert "has no model.weights.h5" in e.value.message


def test_missing_and_non_hdf5(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        require_model_file(tmp_path / "nope.keras")
    (tmp_path / "w.weights.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(UsageError, match="not an HDF5 file"):
        require_model_file(tmp_path / "w.weights.h5")


# -- the commands ---------------------------------------------------------------


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    result = runner.invoke(
        app,
        [
            "train",
            SPEC,
            "--set",
            "data.limit=120",
            "--set",
            "data.test_limit=30",
            "--epochs",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return next((out / "digits_lenet").glob("2*"))


@pytest.fixture
def npy(tmp_path):
    import numpy as np

    good, bad = tmp_path / "good.npy", tmp_path / "bad.npy"
    np.save(good, np.zeros((8, 8, 1), np.float32))
    np.save(bad, np.zeros((7, 7, 1), np.float32))
    return good, bad


def _error_line(result) -> str:
    return next(
        line for line in result.stderr.splitlines() if line.startswith("error:")
    )


pytestmark = pytest.mark.framework


def test_same_damaged_checkpoint_same_answer_everywhere(run_dir, tmp_path, npy):
    damaged = tmp_path / "run"
    shutil.copytree(run_dir, damaged)
    best = damaged / "best.keras"
    best.write_bytes(best.read_bytes()[:5000])
    answers = [
        runner.invoke(app, ["evaluate", str(damaged)]),
        runner.invoke(app, ["predict", str(damaged), str(npy[0])]),
        runner.invoke(app, ["export", str(damaged), "--onnx", "--random-inputs"]),
    ]
    assert [r.exit_code for r in answers] == [2, 2, 2], [r.output for r in answers]
    lines = {_error_line(r) for r in answers}
    assert lines == {
        f"error: {best} is damaged: it is not a complete .keras "
        "archive (a crash or a full disk while it was written?)"
    }
    assert not list(damaged.glob("*.onnx"))


def test_predict_missing_image_is_exit_2_for_runs_and_onnx(run_dir, tmp_path):
    onnx_file = tmp_path / "m.onnx"
    r = runner.invoke(
        app, ["export", str(run_dir), "--onnx", "--random-inputs", "-o", str(onnx_file)]
    )
    assert r.exit_code == 0, r.output
    for target in (run_dir, onnx_file):
        r = runner.invoke(app, ["predict", str(target), str(tmp_path / "no.png")])
        assert r.exit_code == 2, r.output
        assert "no.png: no such file" in r.stderr


def test_predict_shape_hint_talks_about_the_model_not_the_spec(run_dir, npy, tmp_path):
    onnx_file = tmp_path / "m.onnx"
    runner.invoke(
        app, ["export", str(run_dir), "--onnx", "--random-inputs", "-o", str(onnx_file)]
    )
    for target in (run_dir, onnx_file):
        r = runner.invoke(app, ["predict", str(target), str(npy[1])])
        assert r.exit_code == 1, r.output
        assert "the model takes examples of shape [8, 8, 1]" in r.stderr
        assert "change [model] input" not in r.stderr


def test_damaged_onnx_metadata_is_a_clear_error(run_dir, npy, tmp_path):
    import onnx

    onnx_file = tmp_path / "m.onnx"
    runner.invoke(
        app, ["export", str(run_dir), "--onnx", "--random-inputs", "-o", str(onnx_file)]
    )
    model = onnx.load(onnx_file)
    for prop in model.metadata_props:
        if prop.key == "preprocessing":
            prop.value = "{not json"
    onnx.save(model, onnx_file)
    r = runner.invoke(app, ["predict", str(onnx_file), str(npy[0])])
    assert r.exit_code == 2, r.output
    assert "its modelspec metadata is damaged ('preprocessing'" in r.stderr
    assert "internal error" not in r.output
