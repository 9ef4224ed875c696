"""steps_per_execution: 1 against more, for modelspec and for plain Keras, on
specs/fashion_mnist_cnn.toml. Writes the "steps" section of docs/benchmarks.md.

    python benchmarks/bench_steps.py           # ~10 min when quiet
    python benchmarks/bench_steps.py --quick   # smoke test

All four trainings live in one process and take turns, one epoch each per
round (the order rotates every round), so a machine shared with other jobs
slows them alike; the ratios are medians of per-round ratios. modelspec's side
is its own lowering (build_compiled) fed by its own input pipeline
(pipeline.train_dataset, steps_per_epoch as `train` passes it); plain Keras's
is bench_train.py's hand-written twin, model.fit on numpy arrays. Epoch time
is on_epoch_begin to on_epoch_end, the validation split included, as
`modelspec train` reports examples/s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MODELSPEC_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _report import machine, write_section
from bench_train import BATCH, SPEC, build_plain_model, epoch_timer

EXECUTION = 16  # what the issue measured; modelspec uses the divisor it picks


def setup(limit: int):
    from modelspec.check import check_file
    from modelspec.data import load_data

    report = check_file(SPEC, [f"data.limit={limit}"])
    s = load_data(report.spec.data, (28, 28, 1), seed=0, classes=10)
    return report, s


def modelspec_side(report, s, k: int, rounds: int):
    """(fit(epoch) -> seconds, steps per execution used)."""
    from backends.keras_backend.build import build_compiled
    from backends.keras_backend.pipeline import (
        eval_dataset,
        steps_per_epoch,
        train_dataset,
    )
    from modelspec.lint.recipe_rules import execution_steps

    spe = steps_per_epoch(len(s.x_train), BATCH)
    used = execution_steps(k, spe)
    model, _ = build_compiled(
        report, spe, spe * rounds, jit=False, base=SPEC.parent, steps_per_execution=used
    )
    ds = train_dataset(
        s.x_train,
        s.y_train,
        batch_size=BATCH,
        seed=0,
        first_epoch=0,
        last_epoch=rounds + 1,
    )
    val = eval_dataset(s.x_val, s.y_val, batch_size=BATCH)
    import keras

    timer = epoch_timer(keras)
    done = [0]

    def fit():
        model.fit(
            ds,
            initial_epoch=done[0],
            epochs=done[0] + 1,
            steps_per_epoch=spe,
            validation_data=val,
            callbacks=[timer],
            shuffle=False,
            verbose=0,
        )
        done[0] += 1
        return timer.seconds[-1]

    return fit, used


def plain_side(s, k: int):
    import keras

    keras.utils.set_random_seed(0)
    model = build_plain_model(keras)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        steps_per_execution=k,
    )
    timer = epoch_timer(keras)

    def fit():
        model.fit(
            s.x_train,
            s.y_train,
            batch_size=BATCH,
            epochs=1,
            validation_data=(s.x_val, s.y_val),
            callbacks=[timer],
            verbose=0,
        )
        return timer.seconds[-1]

    return fit


def measure(limit: int, rounds: int) -> tuple[dict, dict, int]:
    report, s = setup(limit)
    fits, used = {}, {}
    for k in (1, EXECUTION):
        fits[("modelspec", k)], used[k] = modelspec_side(report, s, k, rounds)
        fits[("plain Keras", k)] = plain_side(s, k)
    for fit in fits.values():  # first epoch: tracing, not measured
        fit()
    seconds: dict = {key: [] for key in fits}
    keys = list(fits)
    for r in range(rounds):
        for key in keys[r % len(keys) :] + keys[: r % len(keys)]:
            seconds[key].append(fits[key]())
    return seconds, used, len(s.x_train)


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def body(seconds, used, n, args, started_load, minutes) -> str:
    def speedup(side):
        pairs = zip(seconds[(side, 1)], seconds[(side, EXECUTION)], strict=True)
        return statistics.median(a / b for a, b in pairs)

    lines = [
        "## steps_per_execution (benchmarks/bench_steps.py)",
        "",
        f"Machine: {machine()}; load average (1, 5, 15 min) {started_load} at "
        f"the start, {load()} at the end (other jobs shared the 2 cores: "
        f"compare ratios, not times); {minutes:.1f} min; command: "
        f"`python benchmarks/bench_steps.py{' --quick' if args.quick else ''}`.",
        "",
        f"`specs/fashion_mnist_cnn.toml`, first {n:,} training examples, batch "
        f"{BATCH}; {args.rounds} rounds of one epoch each for every row, taking "
        "turns, after one untimed epoch each.",
        "",
        "| what | steps per execution | median epoch | examples/s |",
        "| --- | ---: | ---: | ---: |",
    ]
    for (side, k), secs in seconds.items():
        shown = used[k] if side == "modelspec" else k
        med = statistics.median(secs)
        lines.append(f"| {side} | {shown} | {med:.2f} s | {n / med:,.0f} |")
    lines += [
        "",
        f"- modelspec, {used[EXECUTION]} per execution / 1: "
        f"**{speedup('modelspec'):.2f}x**; plain Keras, {EXECUTION} / 1: "
        f"**{speedup('plain Keras'):.2f}x** (medians of per-round ratios).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    args.rounds = args.rounds or (2 if args.quick else 5)
    args.limit = args.limit or (2048 if args.quick else 20480)
    started, started_load = time.perf_counter(), load()
    seconds, used, n = measure(args.limit, args.rounds)
    minutes = (time.perf_counter() - started) / 60
    text = body(seconds, used, n, args, started_load, minutes)
    print(text)
    if not args.quick:
        write_section("steps", text)


if __name__ == "__main__":
    main()
