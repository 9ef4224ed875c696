"""`modelspec train/evaluate/predict/runs` end to end on a small digits subset:
the run directory, its checkpoints, metrics, plots, and the CLI's refusals."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from modelspec.cli import train as cli_train

pytestmark = pytest.mark.framework

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

TINY = """\
[model]
name = "tiny_digits"
input = [8, 8, 1]
classes = 10

[[layers]]
type = "conv2d"
name = "conv1"
filters = 8
kernel = 3
padding = "same"
activation = "relu"

[[layers]]
type = "max_pool2d"
name = "pool"

[[layers]]
type = "flatten"

[[layers]]
type = "dropout"
name = "drop"
rate = 0.2

[[layers]]
type = "dense"
name = "logits"
units = 10

[data]
dataset = "digits"
validation = 0.1
limit = 600

[train]
epochs = 3
batch_size = 32
optimizer = { type = "adam", learning_rate = 3e-3 }
metrics = ["accuracy", "top3"]
"""


def make_app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    cli_train.register(app)
    return app


def invoke(*args: str):
    # Wide enough that Rich tables do not elide the numbers the tests read.
    runner = CliRunner(env={"COLUMNS": "200"})
    return runner.invoke(make_app(), [str(a) for a in args])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One 3-epoch CLI training shared by the tests below."""
    root = tmp_path_factory.mktemp("train")
    spec = root / "tiny.toml"
    spec.write_text(TINY)
    out = root / "runs"
    result = invoke("train", spec, "--out", out)
    assert result.exit_code == 0, result.output
    run_dir = (out / "tiny_digits" / "latest").resolve()
    return {"spec": spec, "out": out, "run": run_dir, "output": result.output}


def test_run_directory_layout(trained):
    run = trained["run"]
    for name in (
        "spec.toml",
        "resolved.json",
        "best.keras",
        "last.keras",
        "history.csv",
        "state.json",
        "metrics.json",
        "curves.png",
        "samples.png",
        "confusion.png",
    ):
        assert (run / name).is_file(), name
    assert (run / "spec.toml").read_text() == TINY
    assert str(run) in trained["output"].replace("\n", "")
    resolved = json.loads((run / "resolved.json").read_text())
    assert resolved["spec"]["model"]["name"] == "tiny_digits"
    assert resolved["derived"]["from_logits"] is True  # last layer: no softmax
    assert resolved["derived"]["examples"]["train"] == 600
    assert "keras" in resolved["versions"]
    state = json.loads((run / "state.json").read_text())
    assert state["epochs_done"] == 3 and not state["interrupted"]
    if resolved["derived"]["tensorboard"]:
        assert list((run / "tb").rglob("events.out.tfevents.*"))
    # No temporary checkpoint or plot file is left behind.
    assert not [p for p in run.iterdir() if p.name.startswith(".")]


def test_loss_decreases_on_real_digits(trained):
    with open(trained["run"] / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    losses = [float(r["loss"]) for r in rows]
    assert losses[-1] < losses[0]
    assert float(rows[-1]["val_accuracy"]) > 0.5  # chance is 0.1


def test_metrics_json_matches_an_independent_evaluation(trained):
    """metrics.json against plain Keras on best.keras and numpy on digits split
    here (helpers.digits_splits), not against modelspec's own evaluation."""
    import keras

    from helpers import classification_metrics, digits_splits

    metrics = json.loads((trained["run"] / "metrics.json").read_text())
    assert metrics["checkpoint"] == "best.keras"
    model = keras.saving.load_model(trained["run"] / "best.keras", compile=False)
    for split, (x, y) in digits_splits(validation=0.1, limit=600).items():
        assert metrics[split]["examples"] == len(x), split
        logits = np.asarray(model.predict(x, batch_size=256, verbose=0))
        mine = classification_metrics(logits, y)
        for key in ("loss", "accuracy", "top3"):
            assert metrics[split][key] == pytest.approx(mine[key], abs=1e-5), (
                split,
                key,
            )
    assert metrics["val"]["loss"] == pytest.approx(metrics["best_value"], abs=1e-5)
    assert 1 <= metrics["best_epoch"] <= 3
    assert metrics["train_examples_per_s"] > 0


def test_plots_are_valid_pngs(trained):
    from PIL import Image

    for name in ("curves.png", "samples.png", "confusion.png"):
        path = trained["run"] / name
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        with Image.open(path) as img:
            img.verify()
        with Image.open(path) as img:
            assert img.size[0] > 100 and img.size[1] > 100


def test_evaluate_command_prints_every_split(trained):
    result = invoke("evaluate", trained["run"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((trained["run"] / "metrics.json").read_text())
    for split in ("train", "val", "test"):
        assert split in result.output
    assert f"{metrics['test']['accuracy']:.4f}" in result.output


def test_predict_command_uses_run_preprocessing(trained, tmp_path):
    import keras
    from sklearn.datasets import load_digits

    raw = load_digits().images[:2].astype(np.float32)[..., None]  # 0..16
    np.save(tmp_path / "two.npy", raw)
    result = invoke("predict", trained["run"], tmp_path / "two.npy", "--top", "10")
    assert result.exit_code == 0, result.output
    model = keras.saving.load_model(trained["run"] / "best.keras", compile=False)
    # The digits run was trained on pixels / 16 (scale "unit"; README).
    logits = model.predict(raw / 16.0, verbose=0)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    from backends.keras_backend.finish import predict_run

    ranked = predict_run(trained["run"], [tmp_path / "two.npy"], top_k=10)
    for (_, rows), p in zip(ranked, probs, strict=True):
        assert rows[0][0] == str(int(p.argmax()))
        assert sum(prob for _, prob in rows) == pytest.approx(1.0, abs=1e-5)
        assert rows[0][1] == pytest.approx(float(p.max()), abs=1e-5)
    assert f"{ranked[0][1][0][1]:.4f}" in result.output


def test_predict_reads_png_images(trained, tmp_path):
    from PIL import Image
    from sklearn.datasets import load_digits

    pixels = (load_digits().images[0] * (255 / 16)).round().astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "zero.png")
    result = invoke("predict", trained["run"], tmp_path / "zero.png")
    assert result.exit_code == 0, result.output
    assert "zero.png" in result.output
    probs = [float(t) for t in result.output.split() if t.startswith("0.")]
    assert len(probs) == 3 and probs == sorted(probs, reverse=True)
    assert sum(probs) <= 1.0 + 1e-4


def test_predict_of_a_missing_file_is_an_error(trained, tmp_path):
    result = invoke("predict", trained["run"], tmp_path / "none.png")
    assert result.exit_code == 2  # a missing file is a usage/IO error (README)
    assert "error:" in result.output and "none.png" in result.output


def test_runs_command_lists_the_run(trained):
    result = invoke("runs", trained["out"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((trained["run"] / "metrics.json").read_text())
    assert "tiny_digits" in result.output
    assert trained["run"].name in result.output
    assert f"{metrics['test']['accuracy']:.4f}" in result.output


def test_run_directory_is_never_overwritten(tmp_path):
    from modelspec import runs

    first = runs.create_run_dir(tmp_path, "m", now=0)
    (first / "marker").write_text("keep")
    second = runs.create_run_dir(tmp_path, "m", now=0)
    third = runs.create_run_dir(tmp_path, "m", now=0)
    assert second.name == first.name + "-2" and third.name == first.name + "-3"
    assert (first / "marker").read_text() == "keep"
    runs.point_latest(third)
    assert (tmp_path / "m" / "latest").resolve() == third.resolve()


def test_train_refuses_a_broken_spec(tmp_path):
    broken = TINY.replace('type = "flatten"', 'type = "flaten"')
    spec = tmp_path / "broken.toml"
    spec.write_text(broken)
    result = invoke("train", spec, "--out", tmp_path / "runs")
    assert result.exit_code == 1
    assert "error" in result.output and "flaten" in result.output
    assert not (tmp_path / "runs").exists()


def test_train_needs_spec_or_resume(tmp_path):
    result = invoke("train")
    assert result.exit_code == 2
    assert "--resume" in result.output


def test_resume_of_a_missing_run_is_a_usage_error(tmp_path):
    result = invoke("train", "--resume", tmp_path / "nope")
    assert result.exit_code == 2
    assert "run directory not found" in result.output


def test_ctrl_c_then_resume_through_the_cli(tmp_path, monkeypatch):
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY)
    out = tmp_path / "runs"
    original = cli_train.RichReporter.epoch_end

    def ctrl_c_after_first_epoch(self, epoch, logs):
        original(self, epoch, logs)
        if epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli_train.RichReporter, "epoch_end", ctrl_c_after_first_epoch)
    result = invoke("train", spec, "--out", out, "--epochs", "2")
    assert result.exit_code == 1
    run = (out / "tiny_digits" / "latest").resolve()
    assert "interrupted after epoch 1" in result.output
    assert f"modelspec train --resume {run}" in result.output.replace("\n", "")
    assert (run / "last.keras").is_file() and not (run / "metrics.json").exists()
    resolved = json.loads((run / "resolved.json").read_text())
    assert resolved["overrides"] == ["train.epochs=2"]
    assert resolved["spec"]["train"]["epochs"] == 2

    monkeypatch.setattr(cli_train.RichReporter, "epoch_end", original)
    result = invoke("train", "--resume", run)
    assert result.exit_code == 0, result.output
    state = json.loads((run / "state.json").read_text())
    assert state["epochs_done"] == 2 and not state["interrupted"]
    assert json.loads((run / "metrics.json").read_text())["resumed_from_epoch"] == 1
    assert [p.name for p in (out / "tiny_digits").iterdir() if not p.is_symlink()] == [
        run.name
    ]


def test_runs_command_needs_no_framework(trained):
    """Listing runs is a quick look: it must not import TensorFlow or Keras."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from modelspec import cli\n"
        f"r = CliRunner().invoke(cli.app, ['runs', {str(trained['out'])!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=root,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
