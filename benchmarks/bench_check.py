"""How fast is `modelspec check`, against importing TensorFlow and building the
same model in plain Keras? Prints ratios measured side by side in one run and
writes the "check" section of docs/benchmarks.md.

    python benchmarks/bench_check.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write_section

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "mnist_lenet.toml"

KERAS_LENET = """
import keras
from keras import layers
inputs = keras.Input((28, 28, 1))
x = layers.Conv2D(32, 5, padding="same", activation="relu")(inputs)
x = layers.MaxPooling2D(2, padding="same")(x)
x = layers.Conv2D(64, 5, padding="same", activation="relu")(x)
x = layers.MaxPooling2D(2, padding="same")(x)
x = layers.Flatten()(x)
x = layers.Dense(1024, activation="relu")(x)
x = layers.Dropout(0.4)(x)
outputs = layers.Dense(10)(x)
model = keras.Model(inputs, outputs)
assert model.count_params() == 3274634
"""


def timed(cmd: list[str], env=None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=ROOT)
    return time.perf_counter() - t


def median_of(n: int, cmd: list[str], env=None) -> float:
    return statistics.median(timed(cmd, env) for _ in range(n))


def chain_spec(n_layers: int) -> str:
    """A valid spec of n layers: conv/batch-norm pairs, then a head."""
    lines = ["[model]", 'name = "gen"', "input = [32, 32, 3]", "classes = 10"]
    body = max(n_layers - 3, 0)
    for i in range(body):
        if i % 2 == 0:
            lines += ["[[layers]]", 'type = "conv2d"', "filters = 8", "kernel = 3",
                      'padding = "same"', 'activation = "relu"']
        else:
            lines += ["[[layers]]", 'type = "batch_norm"']
    lines += ["[[layers]]", 'type = "global_avg_pool2d"', "[[layers]]",
              'type = "dense"', "units = 16", 'activation = "relu"', "[[layers]]",
              'type = "dense"', "units = 10"]
    return "\n".join(lines) + "\n"


def in_process_check_time(n_layers: int, repeat: int) -> float:
    from modelspec.check import check_text

    text = chain_spec(n_layers)
    report = check_text(text)
    assert report.ok and len(report.layers) == n_layers, report.diagnostics[:3]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        check_text(text)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    # A user's install caches bytecode; this sandbox sets PYTHONDONTWRITEBYTECODE,
    # which would make every cold check recompile modelspec from source.
    bytecode_off = env.pop("PYTHONDONTWRITEBYTECODE", None) is not None
    py = sys.executable
    timed([py, "-m", "modelspec", "check", "-q", str(SPEC)], env)  # warm the caches

    check_cold = median_of(args.repeat, [py, "-m", "modelspec", "check", "-q",
                                         str(SPEC)], env)
    python_bare = median_of(args.repeat, [py, "-c", "pass"], env)
    import_tf = median_of(3, [py, "-c", "import tensorflow"], env)
    keras_build = median_of(3, [py, "-c", "import tensorflow\n" + KERAS_LENET], env)

    sizes = [10, 100, 1000]
    per = {n: in_process_check_time(n, max(3, args.repeat // 2)) for n in sizes}
    cold_big = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            f = Path(tmp) / f"gen{n}.toml"
            f.write_text(chain_spec(n))
            cold_big[n] = median_of(args.repeat, [py, "-m", "modelspec", "check", "-q",
                                                  str(f)],
                                    env)

    rows = [
        f"- cold `modelspec check specs/mnist_lenet.toml` (process): "
        f"**{check_cold * 1000:.0f} ms** (bare `python -c pass`: "
        f"{python_bare * 1000:.0f} ms)",
        f"- `import tensorflow`: {import_tf * 1000:.0f} ms; import tensorflow + build "
        f"the same LeNet in plain Keras: **{keras_build * 1000:.0f} ms**",
        f"- ratio Keras build / modelspec check: **{keras_build / check_cold:.1f}x**",
        "",
        "| layers | check in process | per layer | cold process |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for n in sizes:
        rows.append(f"| {n} | {per[n] * 1000:.1f} ms | {per[n] / n * 1e6:.0f} us | "
                    f"{cold_big[n] * 1000:.0f} ms |")
    growth = per[1000] / per[100]
    rows.append("")
    rows.append(f"From 100 to 1000 layers the in-process time grows {growth:.1f}x "
                "(linear would be 10x).")
    note = (" PYTHONDONTWRITEBYTECODE was unset for the measured processes, as on a "
            "normal install." if bytecode_off else "")
    body = "## Check (benchmarks/bench_check.py)\n\n" + f"Machine: {machine()}; " \
        f"medians of {args.repeat} runs (3 for TensorFlow).{note}\n\n" + \
        "\n".join(rows)
    print(body)
    write_section("check", body)


if __name__ == "__main__":
    main()
