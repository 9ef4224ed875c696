"""Builders and references shared by the tests: the one TOML writer, the one
LRN reference and the one ONNX-vs-Keras parity measurement. Framework modules
are imported inside the functions that need them."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace


def toml_value(v) -> str:
    """A TOML literal for a Python value (the standard library only reads TOML)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        # JSON's string escapes are TOML's basic-string escapes.
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"no TOML literal for {v!r}")


def to_toml(model: dict, layers: list[dict]) -> str:
    """A spec: the [model] table, then one [[layers]] table per dict, in order.
    Keys whose value is None are left out (the spec's default applies)."""
    lines = ["[model]"] + [f"{k} = {toml_value(v)}" for k, v in model.items()]
    for layer in layers:
        lines += ["", "[[layers]]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in layer.items() if v is not None]
    return "\n".join(lines) + "\n"


def spec_text(layers: list[dict], input=(28, 28, 1), name="t", **model) -> str:
    """TOML for a spec with the given layer tables (dicts, in order)."""
    return to_toml({"name": name, "input": list(input), **model}, layers)


def codes(report) -> list[str]:
    return [d.code for d in report.diagnostics]


def lrn_reference(x, depth_radius, bias, alpha, beta):
    """TF's local_response_normalization written out in numpy (float64): a
    window of 2r+1 channels, alpha applied to the plain sum of squares (ONNX
    divides alpha by the window size; TF does not)."""
    import numpy as np

    channels = x.shape[-1]
    sq = np.square(np.asarray(x, dtype=np.float64))
    sqr_sum = np.zeros_like(sq)
    for c in range(channels):
        lo, hi = max(0, c - depth_radius), min(channels, c + depth_radius + 1)
        sqr_sum[..., c] = sq[..., lo:hi].sum(axis=-1)
    return x / (bias + alpha * sqr_sum) ** beta


def run_onnxruntime(path, x):
    """The output of an .onnx file on `x`, by plain ONNX Runtime (not the
    exporter's own helpers, so that parity is measured independently)."""
    import numpy as np
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    (inp,) = sess.get_inputs()
    (out,) = sess.run(None, {inp.name: np.asarray(x, dtype=np.float32)})
    return np.asarray(out)


def onnx_keras_max_diff(path, model, x) -> float:
    """max |ONNX Runtime(x) - Keras(x)| with the Keras model in inference mode."""
    import numpy as np

    want = np.asarray(model(np.asarray(x, dtype=np.float32), training=False))
    got = run_onnxruntime(path, x)
    assert got.shape == want.shape, (got.shape, want.shape)
    return float(np.abs(got.astype(np.float64) - want.astype(np.float64)).max())


def digits_splits(validation: float = 0.0, limit: int | None = None) -> dict:
    """scikit-learn's digits as the README documents modelspec's `digits`
    dataset, rebuilt here without modelspec.data: the test set is a stratified
    20% (random_state 0), validation the last `validation` fraction of the
    training part, `limit` the first N of what is left; pixels / 16, shape
    (n, 8, 8, 1). {split: (x float32, y int64)}."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x_tr, x_te, y_tr, y_te = train_test_split(
        bunch.images,
        bunch.target,
        test_size=0.2,
        stratify=bunch.target,
        random_state=0,
    )
    n_val = round(validation * len(x_tr))
    x_va, y_va = x_tr[len(x_tr) - n_val :], y_tr[len(y_tr) - n_val :]
    x_tr, y_tr = x_tr[: len(x_tr) - n_val][:limit], y_tr[: len(y_tr) - n_val][:limit]

    def ready(x, y):
        return (x / 16.0).astype(np.float32)[..., None], y.astype(np.int64)

    return {
        "train": ready(x_tr, y_tr),
        "val": ready(x_va, y_va),
        "test": ready(x_te, y_te),
    }


def classification_metrics(logits, y) -> dict:
    """Mean sparse cross-entropy from logits, top-1 and top-3 accuracy, in
    numpy (float64), for checking what a run wrote against a plain model."""
    import numpy as np

    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    rows = np.arange(len(y))
    top3 = np.argsort(-z, axis=1)[:, :3]
    return {
        "loss": float(-log_p[rows, y].mean()),
        "accuracy": float((z.argmax(axis=1) == y).mean()),
        "top3": float((top3 == y[:, None]).any(axis=1).mean()),
    }


def cli_in_process(monkeypatch, capsys, *args) -> SimpleNamespace:
    """`modelspec ARGS` through the CLI's own entry point (`main`: its exit
    codes and error rendering) in this process, for cases where a child process
    would only add a TensorFlow import. Like subprocess.run's result."""
    import pytest

    from modelspec.cli.app import main

    monkeypatch.delenv("MODELSPEC_DEBUG", raising=False)
    monkeypatch.setattr(sys, "argv", ["modelspec", *map(str, args)])
    capsys.readouterr()  # what the test printed before is not the command's
    with pytest.raises(SystemExit) as done:
        main()
    out, err = capsys.readouterr()
    return SimpleNamespace(returncode=done.value.code or 0, stdout=out, stderr=err)
