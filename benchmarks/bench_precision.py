"""float32 against mixed_bfloat16 on a network that is compute-bound on a CPU:
the CIFAR-style ResNet of specs/cifar10_blocks.toml at 32x32 (widths 16/32/64,
and 4x wider). Writes the "precision" section of docs/benchmarks.md.

    python benchmarks/bench_precision.py           # ~15 min when quiet
    python benchmarks/bench_precision.py --quick   # smoke test, ~3 min

Speed: both models are built by modelspec (the same lowering `train` uses) in
one process, on the same synthetic batches, and timed in alternation (fp32,
bf16, fp32, bf16, ...): each round runs `--steps` training steps of each, so a
machine shared with other jobs slows both alike, and the ratio is the median
of the per-round ratios. Accuracy: `modelspec train` (in process) on real
Fashion-MNIST with the same network (input 28x28x1), once per precision.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MODELSPEC_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _report import machine, write_section

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "cifar10_blocks.toml"
PRECISIONS = ("float32", "mixed_bfloat16")
WIDTHS = {"16/32/64": "[16, 32, 64]", "64/128/256": "[64, 128, 256]"}
BATCH = 128


def cpu_flags() -> str:
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return "unknown"
    found = sorted({f for f in flags if f.startswith(("avx512_bf16", "amx"))})
    return ", ".join(found) or "no bf16/AMX flags"


def report_for(widths: str, extra=()):
    from modelspec.check import check_file

    report = check_file(SPEC, [f"vars.widths={widths}", *extra])
    if not report.ok:
        sys.exit("\n".join(d.render() for d in report.diagnostics))
    return report


def compiled(report, precision: str):
    from backends.keras_backend.build import build_compiled, dtype_policy

    with dtype_policy(precision):
        model, _ = build_compiled(report, 100, 1000, jit=False, base=ROOT)
    return model


def synthetic(steps: int):
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.random((BATCH * 4, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, BATCH * 4)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH).repeat()
    return ds.take(steps).cache()


def time_steps(model, ds, steps: int) -> float:
    t0 = time.perf_counter()
    model.fit(ds, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0)
    return time.perf_counter() - t0


def speed(widths: str, steps: int, rounds: int) -> dict:
    """Per precision: seconds of each round; alternated A B A B."""
    ds = synthetic(steps)
    models = {
        p: compiled(report_for(widths, [f"train.precision={p}"]), p) for p in PRECISIONS
    }
    for model in models.values():  # trace and warm up outside the timing
        time_steps(model, ds, steps)
    seconds: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    for r in range(rounds):
        order = PRECISIONS if r % 2 == 0 else PRECISIONS[::-1]
        for p in order:
            seconds[p].append(time_steps(models[p], ds, steps))
    ratios = [a / b for a, b in zip(*seconds.values(), strict=True)]
    return {
        "params": models["float32"].count_params(),
        "seconds": seconds,
        "speedup": statistics.median(ratios),
        "ratios": ratios,
        "rate": {p: BATCH * steps / statistics.median(s) for p, s in seconds.items()},
    }


def accuracy(widths: str, precision: str, limit: int, epochs: int) -> dict:
    from backends.keras_backend.train import train

    extra = [
        "data.dataset=fashion_mnist",
        "model.input=[28, 28, 1]",
        f"data.limit={limit}",
        "data.validation=0.1",
        "data.test_limit=5000",
        f"train.epochs={epochs}",
        "train.batch_size=32",  # enough steps for BatchNorm's moving averages
        "train.schedule.type=cosine",
        f"train.precision={precision}",
    ]
    report = report_for(widths, extra)
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        result = train(report, out=out, overrides=extra)
        wall = time.perf_counter() - t0
    return {"test_accuracy": result.metrics["test"]["accuracy"], "wall": wall}


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def body(results, acc, args, started_load, minutes) -> str:
    lines = [
        "## Precision (benchmarks/bench_precision.py)",
        "",
        f"Machine: {machine()}; CPU flags: {cpu_flags()}; load average "
        f"(1, 5, 15 min) {started_load} at the start, {load()} at the end "
        "(other jobs shared the 2 cores, so compare ratios, not times); "
        f"{minutes:.1f} min; command: `python benchmarks/bench_precision.py"
        f"{''.join(' ' + a for a in sys.argv[1:])}`.",
        "",
        f"Speed: `specs/cifar10_blocks.toml` (a CIFAR ResNet, 3 stages of 2 "
        f"basic blocks) at 32x32x3, batch {BATCH}, Adam, synthetic data, both "
        f"models in one process, {args.rounds} alternating rounds of "
        f"{args.steps} training steps each ({max(2, args.steps // 4)} for the "
        "wide one) after a warm-up.",
        "",
        "| widths | params | float32 examples/s | mixed_bfloat16 examples/s "
        "| bf16 speed-up (median of rounds) | range |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['params']:,} | {r['rate']['float32']:,.0f} | "
            f"{r['rate']['mixed_bfloat16']:,.0f} | **{r['speedup']:.2f}x** | "
            f"{min(r['ratios']):.2f}-{max(r['ratios']):.2f} |"
        )
    lines += [
        "",
        f"Accuracy: the 16/32/64 network on Fashion-MNIST (28x28x1), first "
        f"{args.limit:,} training examples (10% held out), {args.epochs} epochs at "
        "batch 32, cosine schedule, seed 0, 5,000 test examples; `train` in "
        "process, one precision after the other.",
        "",
        "| precision | test accuracy | wall time |",
        "| --- | ---: | ---: |",
    ]
    for p, a in acc.items():
        lines.append(f"| {p} | {a['test_accuracy']:.4f} | {a['wall']:.0f} s |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=None)
    args = ap.parse_args()
    args.rounds = args.rounds or (2 if args.quick else 6)
    args.steps = args.steps or (3 if args.quick else 16)
    args.limit = args.limit or (1000 if args.quick else 12000)
    args.epochs = args.epochs or (1 if args.quick else 3)
    started, started_load = time.perf_counter(), load()
    results = {}
    for name, widths in WIDTHS.items():
        # The wide net does 16x the work per step: fewer steps per round.
        steps = args.steps if name == "16/32/64" else max(2, args.steps // 4)
        results[name] = speed(widths, steps, args.rounds)
        print(name, results[name], flush=True)
    acc = {}
    for p in PRECISIONS:
        acc[p] = accuracy(WIDTHS["16/32/64"], p, args.limit, args.epochs)
        print(p, acc[p], flush=True)
    minutes = (time.perf_counter() - started) / 60
    text = body(results, acc, args, started_load, minutes)
    print(text)
    if not args.quick:
        write_section("precision", text)


if __name__ == "__main__":
    main()
