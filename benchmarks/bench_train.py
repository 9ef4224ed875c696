"""Training on Fashion-MNIST: `modelspec train` against the same network written
by hand in plain Keras, float32 against mixed_bfloat16, and XLA on and off.
Everything is measured side by side in one run; writes the "train" section of
docs/benchmarks.md.

    python benchmarks/bench_train.py           # the benchmark, ~15 min when quiet
    python benchmarks/bench_train.py --quick   # smoke test, ~3 min (~7 when busy)

Every training runs in its own fresh process, one after another: modelspec as
the CLI a user runs (`python -m modelspec train ...`), plain Keras as a worker
mode of this script (`--worker plain`). Wall time is the whole process (Python
start, TensorFlow import, data loading, training, final evaluation; for
modelspec also the checkpoints, plots and the reload of best.keras).

Examples/s are measured the same way for both: training examples per epoch
times epochs, divided by the time from Keras's on_epoch_begin to on_epoch_end
(the training steps plus the evaluation of the validation split; the epoch's
checkpoint saving, which runs after, is not included). It is given over all
epochs (the first includes tracing/compilation) and over epochs 2+ only; the
ratios use epochs 2+ when there are at least two epochs.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write_section

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "fashion_mnist_cnn.toml"
LENET = ROOT / "specs" / "mnist_lenet.toml"
PARAMS = 421_930
# The hand-written training below hard-codes these; main() checks that the spec
# still says the same, so the comparison never silently drifts apart.
BATCH, LR, SEED = 128, 1e-3, 0
TARGET_ACC, TARGET_WALL = 0.91, 600.0
QUICK_DATA = ["data.limit=2000", "data.validation=1000", "data.test_limit=2000"]


def build_plain_model(keras):
    """specs/fashion_mnist_cnn.toml written by hand with the functional API."""
    from keras import layers

    inputs = keras.Input((28, 28, 1))
    x = layers.Conv2D(32, 3, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(10)(x)
    return keras.Model(inputs, outputs)


# The config entries that define a layer's computation (not names or dtypes).
ARCH_KEYS = {
    "filters",
    "kernel_size",
    "strides",
    "padding",
    "dilation_rate",
    "use_bias",
    "activation",
    "units",
    "rate",
    "pool_size",
    "momentum",
    "epsilon",
    "center",
    "scale",
}


def architecture(model) -> list[tuple]:
    """(layer class, the config values that define it), input layer left out."""
    return [
        (
            type(layer).__name__,
            {k: v for k, v in layer.get_config().items() if k in ARCH_KEYS},
        )
        for layer in model.layers
        if type(layer).__name__ != "InputLayer"
    ]


def check_same_architecture(report, plain) -> None:
    """Stop if the spec and the hand-written model differ in any layer (the
    spec may change after this script was written; counts alone miss e.g. a
    dropout rate)."""
    from backends.keras_backend import build_model

    want, got = architecture(build_model(report)), architecture(plain)
    if want != got:
        # The two may differ in length; the first differing entries say enough.
        pairs = enumerate(zip(want, got, strict=False))
        diff = [(i, w, g) for i, (w, g) in pairs if w != g]
        sys.exit(
            f"{SPEC.name} and build_plain_model differ ({len(want)} vs {len(got)} "
            f"layers; first difference: {(diff or [None])[0]}): update "
            "build_plain_model in this script to match the spec"
        )


def epoch_timer(keras):
    """Per-epoch seconds, on_epoch_begin to on_epoch_end, as modelspec's own
    throughput callback (backends/keras_backend/callbacks.py) measures them."""

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._t0)

    return EpochTimer()


def plain_worker(epochs: int, data_sets: list[str]) -> dict:
    """Train the hand-written model the way the seeds did: model.fit on numpy
    arrays with validation_data. The arrays come from modelspec's loader so
    both sides see identical splits (loading is not what is compared)."""
    import keras

    from modelspec.check import check_file
    from modelspec.data import load_data

    report = check_file(SPEC, data_sets)
    check_same_architecture(report, build_plain_model(keras))
    s = load_data(report.spec.data, (28, 28, 1), seed=SEED, classes=10)
    keras.utils.set_random_seed(SEED)
    model = build_plain_model(keras)
    steps = math.ceil(len(s.x_train) / BATCH)
    schedule = keras.optimizers.schedules.CosineDecay(LR, decay_steps=epochs * steps)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    timer = epoch_timer(keras)
    model.fit(
        s.x_train,
        s.y_train,
        batch_size=BATCH,
        epochs=epochs,
        validation_data=(s.x_val, s.y_val),
        callbacks=[timer],
        verbose=0,
    )
    test = model.evaluate(
        s.x_test, s.y_test, batch_size=BATCH, verbose=0, return_dict=True
    )
    return {
        "n_train": len(s.x_train),
        "epoch_seconds": timer.seconds,
        "test_accuracy": float(test["accuracy"]),
    }


def run(cmd: list[str]) -> tuple[float, str]:
    """(wall seconds, stdout); on failure print its output and stop."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", MODELSPEC_OFFLINE="1")
    print("$", " ".join(cmd), flush=True)
    t = time.perf_counter()
    p = subprocess.run(
        cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-3000:] + p.stderr[-3000:])
        sys.exit(f"command failed with exit code {p.returncode}")
    return wall, p.stdout


def rates(n: int, seconds: list[float]) -> tuple[float, float | None]:
    """(examples/s over all epochs, over epochs 2+ or None with one epoch)."""
    total = n * len(seconds) / sum(seconds)
    rest = n * (len(seconds) - 1) / sum(seconds[1:]) if len(seconds) > 1 else None
    return total, rest


def epoch_seconds_from_history(path: Path, n: int) -> list[float] | None:
    """history.csv's examples_per_s is cumulative (n * k / seconds so far):
    recover each epoch's seconds from it (None if the column is missing)."""
    with path.open() as f:
        rows = list(csv.DictReader(f))
    if not rows or "examples_per_s" not in rows[0]:
        return None
    cumulative = [float(r["examples_per_s"]) for r in rows]
    totals = [n * (k + 1) / r for k, r in enumerate(cumulative)]
    return [b - a for a, b in zip([0.0] + totals[:-1], totals, strict=True)]


def modelspec_run(
    spec: Path, out: Path, epochs: int | None, sets: list[str], label: str
) -> dict:
    cmd = [sys.executable, "-m", "modelspec", "train", str(spec), "--out", str(out)]
    if epochs:
        cmd += ["--epochs", str(epochs)]
    for item in sets:
        cmd += ["--set", item]
    wall, stdout = run(cmd)
    print("  ", stdout.strip().splitlines()[-1] if stdout.strip() else "")
    done = [m for m in out.glob("*/*/metrics.json") if not m.parent.is_symlink()]
    if len(done) != 1:  # each training gets an --out folder of its own
        sys.exit(f"expected one finished run under {out}, found {len(done)}")
    run_dir = done[0].parent
    metrics = json.loads((run_dir / "metrics.json").read_text())
    resolved = json.loads((run_dir / "resolved.json").read_text())
    counts = resolved["derived"]["examples"]
    n = counts["train"]
    seconds = epoch_seconds_from_history(run_dir / "history.csv", n)
    if seconds is None:  # only the run's overall figure is known
        all_eps, rest = metrics["train_examples_per_s"], None
    else:
        all_eps, rest = rates(n, seconds)
    return {
        "what": label,
        "epochs": metrics["epochs_done"],
        "wall": wall,
        "fit": metrics["wall_time_s"],
        "rate_all": all_eps,
        "rate_rest": rest,
        "recorded_rate": metrics["train_examples_per_s"],
        "acc": metrics["test"]["accuracy"],
        "n": n,
        "n_val": counts["val"],
        "n_test": counts["test"],
        "run_dir": run_dir,
    }


def plain_run(epochs: int, data_sets: list[str]) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        "plain",
        "--epochs",
        str(epochs),
    ]
    for item in data_sets:
        cmd += ["--set", item]
    wall, stdout = run(cmd)
    res = json.loads(stdout.strip().splitlines()[-1])
    all_eps, rest = rates(res["n_train"], res["epoch_seconds"])
    return {
        "what": "plain Keras, same network, model.fit on numpy",
        "epochs": epochs,
        "wall": wall,
        "fit": sum(res["epoch_seconds"]),
        "rate_all": all_eps,
        "rate_rest": rest,
        "acc": res["test_accuracy"],
        "n": res["n_train"],
    }


def speed(r: dict) -> float:
    return r["rate_rest"] if r["rate_rest"] is not None else r["rate_all"]


def ratio(a: dict, b: dict) -> str:
    which = "epochs 2+" if a["rate_rest"] and b["rate_rest"] else "all epochs"
    return f"{speed(a) / speed(b):.2f}x ({which})"


def row(r: dict, ratio_text: str = "") -> str:
    rest = f"{r['rate_rest']:,.0f}" if r["rate_rest"] is not None else "-"
    return (
        f"| {r['what']} | {r['epochs']} | {r['wall']:.0f} s | {r['fit']:.0f} s | "
        f"{r['rate_all']:,.0f} | {rest} | {r['acc']:.4f} | {ratio_text} |"
    )


def check_spec_matches() -> int:
    """The spec's epochs; stops if it no longer matches the hand-written side."""
    from modelspec.check import check_file

    report = check_file(SPEC)
    if not report.ok:
        sys.exit(f"{SPEC} does not check clean: run modelspec check {SPEC}")
    t, aug = report.spec.train, report.spec.data.augment
    keys = (
        "batch",
        "optimizer",
        "lr",
        "schedule",
        "seed",
        "precision",
        "augment",
        "params",
    )
    got = (
        t.batch_size,
        t.optimizer.type,
        t.optimizer.learning_rate,
        (t.schedule.type, t.schedule.alpha, t.schedule.warmup_epochs),
        t.seed,
        t.precision,
        bool(aug.flip or aug.pad_crop),
        report.total_params,
    )
    want = (BATCH, "adam", LR, ("cosine", 0.0, 0.0), SEED, "float32", False, PARAMS)
    if got != want:
        diff = {k: (g, w) for k, g, w in zip(keys, got, want, strict=True) if g != w}
        sys.exit(
            f"{SPEC} changed (spec, hand-written): {diff}; update "
            "build_plain_model/plain_worker in this script"
        )
    return t.epochs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--epochs",
        type=int,
        help="epochs of the main comparison (default: the spec's; --quick: 1)",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 1 epoch (2 in the comparisons) on 2,000 examples",
    )
    ap.add_argument(
        "--compare-epochs",
        type=int,
        default=2,
        help="epochs of the precision and XLA comparisons",
    )
    ap.add_argument("--no-precision", action="store_true")
    ap.add_argument("--no-jit", action="store_true")
    ap.add_argument(
        "--no-write",
        action="store_true",
        help="print only, leave docs/benchmarks.md alone",
    )
    ap.add_argument("--worker", choices=["plain"], help=argparse.SUPPRESS)
    ap.add_argument("--set", action="append", default=[], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker == "plain":
        print(json.dumps(plain_worker(args.epochs, args.set)))
        return

    spec_epochs = check_spec_matches()
    epochs = args.epochs or (1 if args.quick else spec_epochs)
    # --quick: small splits, so that process start-up is most of the time.
    lim = QUICK_DATA if args.quick else []
    jit_data = ["data.dataset=fashion_mnist"] + (
        QUICK_DATA if args.quick else ["data.limit=20000"]
    )
    load = os.getloadavg()[0]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        folders = (Path(tmp) / f"run{i}" for i in range(10))
        # Plain Keras first: its worker stops at once if the spec has changed.
        plain = plain_run(epochs, lim)
        ms = modelspec_run(SPEC, next(folders), epochs, lim, "modelspec train (CLI)")
        prec = [
            modelspec_run(
                SPEC,
                next(folders),
                args.compare_epochs,
                lim + [f"train.precision={p}"],
                f"modelspec, precision = {p}",
            )
            for p in ([] if args.no_precision else ["float32", "mixed_bfloat16"])
        ]
        jit = [
            modelspec_run(
                LENET,
                next(folders),
                args.compare_epochs,
                jit_data + [f"train.jit_compile={j}"],
                f"LeNet (mnist_lenet.toml), jit_compile = {j}",
            )
            for j in ([] if args.no_jit else ["false", "true"])
        ]
    total = time.perf_counter() - started
    body = describe(args, ms, plain, prec, jit, load, total)
    print()
    print(body)
    if not args.no_write:
        write_section("train", body)


def describe(args, ms, plain, prec, jit, load, total) -> str:
    """The Markdown section: header, table, targets and how it was measured."""
    lines = ["## Train (benchmarks/bench_train.py)", ""]
    if args.quick:
        lines += [
            (
                "**Quick smoke run (`--quick`), not the benchmark figures**: "
                f"{ms['epochs']} epoch on {ms['n']:,} examples, so the accuracies "
                "mean nothing (batch norm's moving statistics have not settled) and "
                "process start-up dominates. Run without `--quick` for the figures."
            ),
            "",
        ]
    acc_ok = "met" if ms["acc"] >= TARGET_ACC else "NOT met"
    wall_ok = "met" if ms["wall"] < TARGET_WALL else "NOT met"
    lines += [
        (
            f"Machine: {machine()}; load average {load:.1f} at the start; "
            f"whole benchmark {total / 60:.1f} min; command: "
            f"`python benchmarks/bench_train.py {' '.join(sys.argv[1:])}`."
        ),
        "",
        (
            f"`specs/fashion_mnist_cnn.toml` ({PARAMS:,} parameters) on Fashion-MNIST: "
            f"{ms['n']:,} training, {ms['n_val']:,} validation (held out from the end "
            f"of the training set) and {ms['n_test']:,} test examples; batch {BATCH}, "
            f"Adam {LR:g} with cosine decay, seed {SEED}. Each row is a fresh process, "
            "run one after another."
        ),
        "",
        (
            "| what | epochs | wall time | in fit | examples/s (all epochs) | "
            "examples/s (epochs 2+) | test accuracy | ratio |"
        ),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        row(ms),
        row(plain, f"modelspec / plain: **{ratio(ms, plain)}**"),
    ]
    if prec:
        lines.append(row(prec[0]))
        lines.append(row(prec[1], f"bf16 / fp32: **{ratio(prec[1], prec[0])}**"))
    if jit:
        lines.append(row(jit[0]))
        lines.append(row(jit[1], f"XLA / graph: **{ratio(jit[1], jit[0])}**"))
    lines += [
        "",
        (
            f"- Targets: test accuracy of best.keras >= {TARGET_ACC:.0%}: "
            f"**{ms['acc']:.2%}, {acc_ok}**; the whole `modelspec train` command under "
            f"{TARGET_WALL / 60:.0f} min: **{ms['wall'] / 60:.1f} min, {wall_ok}**; "
            f"modelspec at least as fast as plain Keras: **{ratio(ms, plain)}**."
        ),
        (
            "- Wall time is the whole process (start-up, TensorFlow import, data, "
            "training, final evaluation; for modelspec also checkpoints, plots and "
            'the reload of best.keras). "In fit" is the time inside `model.fit` '
            "(modelspec: `wall_time_s` of metrics.json; plain Keras: its epochs). "
            "modelspec's accuracy is best.keras reloaded (picked by the spec's "
            "`[train] monitor`, here val_accuracy); plain Keras's is the model "
            "after the last epoch."
        ),
        (
            "- Examples/s, the same on both sides: training examples per epoch x "
            "epochs / the time from on_epoch_begin to on_epoch_end (the training "
            'steps and the validation pass; not the checkpoint saving). "All '
            'epochs" includes the first epoch\'s tracing, "epochs 2+" leaves it '
            "out; the ratios use epochs 2+ when both sides have two or more epochs."
        ),
    ]
    if prec or jit:
        lines.append(
            f"- The precision rows train {args.compare_epochs} epochs each (the "
            "cosine schedule spans those epochs). The XLA rows train "
            f"`specs/mnist_lenet.toml` (batch 50) with `--set "
            f"data.dataset=fashion_mnist` on {jit[0]['n'] if jit else 0:,} "
            f"examples for {args.compare_epochs} epochs. Seed 0 everywhere."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
