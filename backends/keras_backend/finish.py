"""Stage 6 of a run, finish: reload best.keras, evaluate it on every split,
write metrics.json and the plots. Also `evaluate` and `predict` on a
finished run."""

from __future__ import annotations

import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from modelspec import runs
from modelspec.errors import RunError, require

from . import optim, pipeline, plots
from .build import dtype_policy

SPLITS = ("train", "val", "test")


def load_best(run_dir: Path, report, compile_: bool = True):
    """best.keras (else last.keras), compiled with the spec's loss/metrics."""
    from . import load_model

    optim.custom_objects()
    for name in (runs.BEST, runs.LAST):
        path = run_dir / name
        if path.exists():
            break
    else:
        raise RunError(f"{run_dir} holds no {runs.BEST} or {runs.LAST}")
    model = load_model(path, compile=False)
    if compile_:
        model.compile(
            loss=optim.make_loss(report),
            metrics=optim.make_metrics(report.spec.train),
        )
    return model, path


def evaluate_splits(model, splits, batch_size: int) -> dict:
    """{split: {loss, accuracy, ..., examples, examples_per_s}} for every
    non-empty split."""
    out = {}
    for split in SPLITS:
        x, y = splits.model_x(split), getattr(splits, f"y_{split}")
        if len(x) == 0:
            continue
        ds = pipeline.eval_dataset(x, y, batch_size=batch_size, cache=False)
        t0 = time.perf_counter()
        values = model.evaluate(ds, verbose=0, return_dict=True)
        seconds = time.perf_counter() - t0
        row = {k: float(v) for k, v in values.items()}
        row["examples"] = len(x)
        row["examples_per_s"] = len(x) / seconds if seconds > 0 else None
        out[split] = row
    return out


def probabilities(model, x, from_logits: bool, batch_size: int = 256) -> np.ndarray:
    tf = require("tensorflow")
    out = model.predict(x, batch_size=batch_size, verbose=0)
    out = np.asarray(out, dtype=np.float32)
    if from_logits:
        out = tf.nn.softmax(out, axis=-1).numpy()
    return out


def finish(report, splits, plan, state: dict, train_examples_per_s) -> dict:
    """metrics.json for `plan` (a plan.RunPlan) after fit; on a multi-worker
    non-chief only the state's summary (the chief evaluates and writes)."""
    t = report.spec.train
    if not plan.chief:
        return {
            "monitor": t.monitor,
            "best_epoch": state.get("best_epoch"),
            "epochs_done": state.get("epochs_done"),
            "wall_time_s": state.get("fit_seconds", 0.0),
        }
    # Multi-worker: the chief alone evaluates best.keras, outside the
    # strategy, so nothing waits for workers that have finished.
    scope = nullcontext() if plan.multi_worker else plan.strategy.scope()
    with dtype_policy(t.precision), scope:
        return finish_run(
            report,
            splits,
            plan.run_dir,
            state,
            fit_seconds=state.get("fit_seconds", 0.0),
            train_examples_per_s=train_examples_per_s,
            epochs_planned=plan.epochs,
            resumed_from=plan.first_epoch if plan.resuming else None,
        )


def finish_run(
    report,
    splits,
    run_dir: Path,
    state: dict,
    *,
    fit_seconds: float,
    train_examples_per_s,
    epochs_planned: int,
    resumed_from,
) -> dict:
    t = report.spec.train
    model, path = load_best(run_dir, report)
    results = evaluate_splits(model, splits, t.batch_size)
    metrics = {
        **results,
        "checkpoint": path.name,
        "monitor": t.monitor,
        "best_value": state.get("best"),
        "best_epoch": state.get("best_epoch"),
        "epochs_to_best": state.get("best_epoch"),
        "epochs_done": state.get("epochs_done"),
        "epochs_planned": epochs_planned,
        "train_examples_per_s": train_examples_per_s,
        "wall_time_s": fit_seconds,
        "resumed_from_epoch": resumed_from,
    }
    _plots(model, report, splits, run_dir)
    # metrics.json last: it marks the run done (`runs`, a sweep's skip, a
    # resume's refusal), so a kill before it leaves a run --resume finishes.
    runs.write_json(run_dir / runs.METRICS, metrics)
    return metrics


def _plots(model, report, splits, run_dir: Path) -> None:
    plots.curves(plots.read_history(run_dir / runs.HISTORY), run_dir / runs.CURVES)
    if len(splits.x_test) == 0:
        return
    probs = probabilities(model, splits.x_test, optim.resolve_from_logits(report))
    pred = probs.argmax(axis=-1)
    names = list(splits.class_names)
    plots.samples(splits.x_test, splits.y_test, pred, names, run_dir / runs.SAMPLES)
    plots.confusion(splits.y_test, pred, names, run_dir / runs.CONFUSION)


def evaluate_run(run_dir, splits=None):
    """(metrics per split, checkpoint path) of a run's best.keras on its data."""
    from modelspec.check import check_text

    from .pipeline import load_splits

    run_dir = runs.resolve_run(run_dir)
    report = _run_report(run_dir, check_text)
    splits = splits if splits is not None else load_splits(report.spec)
    model, path = load_best(run_dir, report)
    return evaluate_splits(model, splits, report.spec.train.batch_size), path


def _run_report(run_dir: Path, check_text):
    from modelspec.errors import SpecInvalid

    resolved = runs.read_json(run_dir / runs.RESOLVED)
    text = (run_dir / runs.SPEC).read_text()
    report = check_text(
        text, file=str(run_dir / runs.SPEC), overrides=resolved.get("overrides", [])
    )
    if not report.ok or report.spec is None:
        raise SpecInvalid(report)
    return report


def load_inputs(paths, input_shape, preprocessing: dict) -> np.ndarray:
    """Images (PNG/JPEG) or .npy arrays, preprocessed as the run's training
    data was (same raw range, image size and scaling)."""
    from modelspec.data import load_image_files, preprocess

    # With a crop, images are read at the uncropped size and cut centrally.
    shape = preprocessing.get("raw_shape") or input_shape
    raw = load_image_files(
        [str(p) for p in paths], tuple(shape), preprocessing=preprocessing
    )
    return np.asarray(preprocess(raw, preprocessing), dtype=np.float32)


def predict_run(run_dir, paths, top_k: int = 3):
    """[(path, [(class name, probability), ...])] best first, per input."""
    from modelspec.check import check_text

    run_dir = runs.resolve_run(run_dir)
    report = _run_report(run_dir, check_text)
    resolved = runs.read_json(run_dir / runs.RESOLVED)
    x = load_inputs(paths, report.spec.model.input, resolved.get("preprocessing", {}))
    model, _ = load_best(run_dir, report, compile_=False)
    probs = probabilities(model, x, optim.resolve_from_logits(report))
    names = resolved.get("class_names") or [str(i) for i in range(probs.shape[-1])]
    results = []
    labels = [str(p) for p in paths]
    if len(labels) != len(probs):  # an .npy file held several examples
        labels = [f"example {i}" for i in range(len(probs))]
    for label, row in zip(labels, probs, strict=True):
        order = np.argsort(-row)[: max(1, min(top_k, len(row)))]
        results.append((label, [(names[i], float(row[i])) for i in order]))
    return results
