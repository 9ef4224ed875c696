"""Optimizers, schedules, loss and metrics from `[train]`; strategies and
precision policies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from modelspec.check import check_text
from modelspec.schema import TrainTable

pytestmark = pytest.mark.framework

ROOT = Path(__file__).resolve().parents[1]

BASE = """\
[model]
name = "opt"
input = [8, 8, 1]
classes = 10

[[layers]]
type = "flatten"

[[layers]]
type = "dense"
name = "out"
units = 10
{activation}

[data]
dataset = "digits"
validation = 64
limit = 128

[train]
epochs = 1
batch_size = 64
{train}
"""


def report_of(activation="", train=""):
    report = check_text(BASE.format(activation=activation, train=train))
    assert report.ok, [d.render() for d in report.diagnostics]
    return report


def lr_at(schedule, steps):
    return [float(schedule(s)) for s in steps]


def test_step_schedule_decays_per_epoch_after_warmup():
    from backends.keras_backend.optim import make_schedule

    t = TrainTable.model_validate(
        {
            "optimizer": {"learning_rate": 0.1},
            "schedule": {
                "type": "step",
                "decay_rate": 0.5,
                "decay_epochs": 2,
                "warmup_epochs": 1,
            },
        }
    )
    s = make_schedule(t, steps_per_epoch=10, total_steps=100)
    # Warm-up over steps 0..9 (10 steps = 1 epoch), then halve every 20 steps.
    assert lr_at(s, [0, 4, 9]) == pytest.approx([0.01, 0.05, 0.1])
    assert lr_at(s, [10, 29, 30, 50]) == pytest.approx([0.1, 0.1, 0.05, 0.025])


def test_cosine_and_exponential_schedules():
    from backends.keras_backend.optim import make_schedule

    cos = TrainTable.model_validate(
        {
            "optimizer": {"learning_rate": 1.0},
            "schedule": {"type": "cosine", "alpha": 0.1},
        }
    )
    s = make_schedule(cos, steps_per_epoch=10, total_steps=100)
    assert lr_at(s, [0, 50, 100, 150]) == pytest.approx([1.0, 0.55, 0.1, 0.1])
    exp = TrainTable.model_validate(
        {
            "optimizer": {"learning_rate": 1.0},
            "schedule": {"type": "exponential", "decay_rate": 0.5, "decay_epochs": 1},
        }
    )
    s = make_schedule(exp, steps_per_epoch=4, total_steps=40)
    assert lr_at(s, [0, 2, 4, 8]) == pytest.approx([1.0, 0.5**0.5, 0.5, 0.25])
    const = TrainTable.model_validate({"optimizer": {"learning_rate": 0.3}})
    assert make_schedule(const, 10, 100) == 0.3


def test_schedule_survives_save_and_load(tmp_path):
    import keras

    from backends.keras_backend.optim import custom_objects, make_optimizer

    t = TrainTable.model_validate(
        {
            "optimizer": {
                "type": "sgd",
                "learning_rate": 0.2,
                "momentum": 0.9,
                "nesterov": True,
            },
            "schedule": {"type": "cosine", "warmup_epochs": 0.5},
        }
    )
    opt = make_optimizer(t, steps_per_epoch=8, total_steps=80)
    assert isinstance(opt, keras.optimizers.SGD) and opt.nesterov
    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Dense(2)(inp))
    model.compile(optimizer=opt, loss="mse")
    model.fit(np.ones((8, 3)), np.ones((8, 2)), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(
        tmp_path / "m.keras", custom_objects=custom_objects()
    )
    sched = again.optimizer._learning_rate
    assert sched.get_config() == opt._learning_rate.get_config()
    assert int(again.optimizer.iterations) == 1


@pytest.mark.parametrize(
    "kind, cls", [("adam", "Adam"), ("adamw", "AdamW"), ("rmsprop", "RMSprop")]
)
def test_optimizer_kinds(kind, cls):
    from backends.keras_backend.optim import make_optimizer

    t = TrainTable.model_validate({"optimizer": {"type": kind, "learning_rate": 0.01}})
    opt = make_optimizer(t, 10, 100)
    assert type(opt).__name__ == cls
    if kind == "adamw":
        assert opt.weight_decay == pytest.approx(0.004)


def test_from_logits_follows_the_final_activation():
    from backends.keras_backend.optim import make_loss

    assert make_loss(report_of()).get_config()["from_logits"] is True
    soft = report_of('activation = "softmax"')
    assert make_loss(soft).get_config()["from_logits"] is False
    agreeing = report_of('activation = "softmax"', "from_logits = false")
    assert make_loss(agreeing).get_config()["from_logits"] is False
    # Seed 002's mismatch never reaches training: the checker refuses it.
    clash = check_text(BASE.format(activation="", train="from_logits = false"))
    assert not clash.ok


def test_label_smoothing_matches_the_formula():
    from backends.keras_backend.optim import make_loss

    loss = make_loss(report_of("", "label_smoothing = 0.2"))
    logits = np.array([[2.0, 0.0, -1.0, 0, 0, 0, 0, 0, 0, 0]], np.float32)
    logp = logits - np.log(np.exp(logits).sum())
    target = np.full(10, 0.2 / 10)
    target[0] += 0.8
    expected = -(target * logp).sum()
    assert float(loss(np.array([0]), logits)) == pytest.approx(expected, rel=1e-5)


def test_topk_metric_names_and_values():
    from backends.keras_backend.optim import make_metrics

    t = TrainTable.model_validate({"metrics": ["accuracy", "top3"]})
    acc, top3 = make_metrics(t)
    assert (acc.name, top3.name) == ("accuracy", "top3")
    scores = np.array([[0.1, 0.5, 0.3, 0.2], [0.9, 0.05, 0.03, 0.02]], np.float32)
    top3.update_state(np.array([3, 3]), scores)
    assert float(top3.result()) == pytest.approx(0.5)


def test_mixed_bfloat16_trains_with_float32_output(tmp_path):
    import keras

    from backends.keras_backend import load_model
    from backends.keras_backend.train import train

    result = train(report_of("", 'precision = "mixed_bfloat16"'), out=tmp_path)
    assert keras.mixed_precision.dtype_policy().name == "float32"  # restored
    model = load_model(result.run_dir / "best.keras", compile=False)
    assert model.get_layer("out").dtype_policy.name == "mixed_bfloat16"
    assert model.outputs[0].dtype == "float32"
    assert np.isfinite(result.metrics["test"]["loss"])


def test_multi_worker_without_tf_config_is_a_clear_error(monkeypatch):
    from backends.keras_backend.plan import choose_strategy
    from modelspec.errors import RunError

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(RunError, match="TF_CONFIG"):
        choose_strategy("multi_worker")


def test_mirrored_strategy_over_two_cpu_devices(tmp_path):
    """Two logical CPUs must be configured before TensorFlow starts: run in a
    fresh interpreter."""
    script = textwrap.dedent(f"""
        import json, sys
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        sys.path.insert(0, {str(ROOT)!r})
        from modelspec.check import check_text
        from backends.keras_backend.train import train
        text = {BASE.format(activation="", train='strategy = "mirrored"')!r}
        result = train(check_text(text), out={str(tmp_path)!r})
        print(json.dumps({{"run": str(result.run_dir)}}))
    """)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = Path(json.loads(proc.stdout.strip().splitlines()[-1])["run"])
    resolved = json.loads((run / "resolved.json").read_text())
    assert resolved["derived"]["strategy"] == "mirrored (2 CPU)"
    state = json.loads((run / "state.json").read_text())
    assert state["epochs_done"] == 1
    assert np.isfinite(json.loads((run / "metrics.json").read_text())["test"]["loss"])
