"""The five-minute Fashion-MNIST recipe (specs/fashion_mnist_fast.toml) over
several seeds, beside the same network without augmentation and with the old
recipe of specs/fashion_mnist_cnn.toml; writes the "fashion_fast" section of
docs/benchmarks.md.

    python benchmarks/bench_fashion_fast.py                  # 9 runs, ~45 min quiet
    python benchmarks/bench_fashion_fast.py --compare-seeds 1 # 3 + 1 + 1 runs
    python benchmarks/bench_fashion_fast.py --quick          # smoke test, ~3 min

Every run is the command a user types, `python -m modelspec train SPEC --set
...`, in a fresh process, one after another (never two at once: they would
share the two cores). Wall time is measured from just before the process starts
to the modification time of the run's metrics.json (the brief's "start to
metrics.json"); the process's own exit comes a moment later.

The results are kept, run by run, in a JSON file (--results), and the section
is rewritten after every run, so an interrupted benchmark still shows exactly
which runs finished. `--report-only` rewrites the section from that file.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write_section
from bench_train import epoch_seconds_from_history, rates, run

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "fashion_mnist_fast.toml"
TARGET_ACC, TARGET_WALL = 0.94, 300.0
QUICK = [
    "data.limit=2000",
    "data.validation=500",
    "data.test_limit=2000",
    "train.epochs=1",
]
NO_AUG = ["data.augment={}"]
# specs/fashion_mnist_cnn.toml's [train] on this network, without augmentation
# (that spec has none): Adam 1e-3, cosine to 0, 12 epochs, batch 128.
OLD_RECIPE = NO_AUG + [
    "train.epochs=12",
    "train.batch_size=128",
    'train.optimizer={type="adam", learning_rate=1e-3}',
    'train.schedule={type="cosine"}',
    "train.label_smoothing=0.0",
]
VARIANTS = {
    "fast": ("fashion_mnist_fast.toml as written", []),
    "no_aug": ("same network and recipe, no augmentation", NO_AUG),
    "old": (
        "same network, old recipe (fashion_mnist_cnn.toml's: Adam 1e-3, "
        "cosine, 12 epochs, batch 128, no smoothing, no augmentation)",
        OLD_RECIPE,
    ),
}


def val_curve(path: Path) -> list[float]:
    with path.open() as f:
        return [float(r["val_accuracy"]) for r in csv.DictReader(f)]


def train_once(variant: str, seed: int, out: Path, extra: list[str]) -> dict:
    sets = VARIANTS[variant][1] + [f"train.seed={seed}"] + extra
    cmd = [sys.executable, "-m", "modelspec", "train", str(SPEC), "--out", str(out)]
    for item in sets:
        cmd += ["--set", item]
    load0 = os.getloadavg()[0]
    start = time.time()
    process_wall, _ = run(cmd)
    done = [m for m in out.glob("*/*/metrics.json") if not m.parent.is_symlink()]
    if len(done) != 1:  # each training gets an --out folder of its own
        sys.exit(f"expected one finished run under {out}, found {len(done)}")
    run_dir = done[0].parent
    metrics = json.loads(done[0].read_text())
    n = json.loads((run_dir / "resolved.json").read_text())["derived"]["examples"]
    seconds = epoch_seconds_from_history(run_dir / "history.csv", n["train"])
    all_eps, rest = rates(n["train"], seconds) if seconds else (None, None)
    return {
        "variant": variant,
        "seed": seed,
        "wall": done[0].stat().st_mtime - start,
        "process_wall": process_wall,
        "fit": metrics["wall_time_s"],
        "epochs": metrics["epochs_done"],
        "best_epoch": metrics.get("best_epoch"),
        "acc": metrics["test"]["accuracy"],
        "val_curve": val_curve(run_dir / "history.csv"),
        "rate_all": all_eps,
        "rate_rest": rest,
        "n": n,
        "load_start": load0,
        "load_end": os.getloadavg()[0],
        "when": time.strftime("%Y-%m-%d %H:%M", time.localtime(start)),
    }


def summary_row(variant: str, rows: list[dict]) -> str:
    accs = [r["acc"] for r in rows]
    walls = [r["wall"] for r in rows]
    rate = [r["rate_rest"] or r["rate_all"] for r in rows]
    loads = [r["load_start"] for r in rows] + [r["load_end"] for r in rows]
    return (
        f"| {VARIANTS[variant][0]} | {len(rows)} | {rows[0]['epochs']} | "
        f"{statistics.mean(accs):.4f} | {min(accs):.4f} | "
        f"{statistics.mean(walls):.0f} s | {max(walls):.0f} s | "
        f"{statistics.mean(rate):,.0f} | {min(loads):.1f}-{max(loads):.1f} |"
    )


def run_rows(results: list[dict]) -> list[str]:
    lines = [
        "| variant | seed | test accuracy | wall to metrics.json | in fit | "
        "examples/s (epochs 2+) | load start/end | validation accuracy per epoch |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in results:
        curve = " ".join(f"{v:.3f}" for v in r["val_curve"])
        rate = r["rate_rest"] or r["rate_all"]
        lines.append(
            f"| {r['variant']} | {r['seed']} | {r['acc']:.4f} | {r['wall']:.0f} s | "
            f"{r['fit']:.0f} s | {rate:,.0f} | {r['load_start']:.1f}/"
            f"{r['load_end']:.1f} | {curve} |"
        )
    return lines


def describe(results: list[dict], planned: int, command: str, quick: bool) -> str:
    lines = ["## Fashion-MNIST in five minutes (benchmarks/bench_fashion_fast.py)", ""]
    if quick:
        lines += [
            "**Quick smoke run (`--quick`)**: 1 epoch on 2,000 examples; the "
            "accuracies mean nothing. Run without `--quick` for the figures.",
            "",
        ]
    if len(results) < planned:
        lines += [
            f"**Partial: {len(results)} of {planned} planned runs finished.**",
            "",
        ]
    first = results[0] if results else None
    n = first["n"] if first else {}
    lines += [
        f"Machine: {machine()}; command: `{command}`; runs from "
        f"{results[0]['when'] if results else '-'} to "
        f"{results[-1]['when'] if results else '-'} (start times, machine clock). "
        f"Splits: {n.get('train', 0):,} training, {n.get('val', 0):,} validation "
        f"(the end of the training set) and {n.get('test', 0):,} test examples. "
        "Each run is a fresh `python -m modelspec train specs/fashion_mnist_fast.toml "
        "--set ...` process, one after another.",
        "",
        "| variant | seeds | epochs | mean test accuracy | worst | mean wall | "
        "worst wall | examples/s | load |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for variant in VARIANTS:
        rows = [r for r in results if r["variant"] == variant]
        if rows:
            lines.append(summary_row(variant, rows))
    fast = [r for r in results if r["variant"] == "fast"]
    if fast:
        worst_acc = min(r["acc"] for r in fast)
        worst_wall = max(r["wall"] for r in fast)
        lines += [
            "",
            f"- Targets, fashion_mnist_fast.toml over {len(fast)} seeds: worst test "
            f"accuracy >= {TARGET_ACC:.1%}: **{worst_acc:.2%}, "
            f"{'met' if worst_acc >= TARGET_ACC else 'NOT met'}**; worst wall time "
            f"<= {TARGET_WALL / 60:.0f} min: **{worst_wall / 60:.1f} min, "
            f"{'met' if worst_wall <= TARGET_WALL else 'NOT met'}** at the load "
            "shown (a load above 2 means other jobs shared the two cores, so the "
            "time is pessimistic).",
        ]
    lines += [
        "- Wall time: from just before the process starts (Python start-up, "
        "TensorFlow import, data loading) to metrics.json written (after "
        "training, reloading best.keras and evaluating it on every split). "
        "Test accuracy is best.keras's, picked by validation accuracy; the test "
        "set is never used to pick anything. Examples/s: training examples x "
        "epochs / time in the epochs (the validation pass included), epochs 2+.",
        "",
        "Every run:",
        "",
        *run_rows(results),
    ]
    return "\n".join(lines)


def plan(args) -> list[tuple[str, int]]:
    """Seed by seed, so that an interrupted benchmark has the comparisons
    first: (fast 0, no_aug 0, old 0, fast 1, ...)."""
    todo = []
    for seed in range(max(args.seeds, args.compare_seeds)):
        if seed < args.seeds:
            todo.append(("fast", seed))
        if seed < args.compare_seeds:
            todo += [("no_aug", seed), ("old", seed)]
    return todo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="seeds of the fast spec")
    ap.add_argument(
        "--compare-seeds", type=int, default=3, help="seeds of each comparison"
    )
    ap.add_argument("--quick", action="store_true", help="smoke test")
    ap.add_argument(
        "--results",
        type=Path,
        default=Path(tempfile.gettempdir()) / "bench_fashion_fast.json",
        help="JSON file the runs are kept in (reused to skip finished runs)",
    )
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    command = "python benchmarks/bench_fashion_fast.py " + " ".join(sys.argv[1:])
    results = json.loads(args.results.read_text()) if args.results.exists() else []
    todo = plan(args)
    if not args.report_only:
        for variant, seed in todo:
            if any(r["variant"] == variant and r["seed"] == seed for r in results):
                continue  # finished in an earlier, interrupted invocation
            with tempfile.TemporaryDirectory(prefix="bench_fast_") as tmp:
                r = train_once(variant, seed, Path(tmp), QUICK if args.quick else [])
            print(f"   {variant} seed {seed}: {r['acc']:.4f} in {r['wall']:.0f} s")
            results.append(r)
            args.results.write_text(json.dumps(results, indent=1))
            if not args.no_write:
                write_section(
                    "fashion_fast", describe(results, len(todo), command, args.quick)
                )
    body = describe(results, len(todo), command, args.quick)
    print(body)
    if not args.no_write:
        write_section("fashion_fast", body)


if __name__ == "__main__":
    main()
