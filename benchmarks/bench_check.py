"""How fast is `modelspec check`, against importing TensorFlow and building the
same model in plain Keras? Prints ratios measured side by side in one run and
writes the "check" section of docs/benchmarks.md; `--part zoo` measures every
specs/zoo/<X>.toml against `import keras` + `keras.applications.<X>(weights=None)`
and writes the "check-zoo" section.

    python benchmarks/bench_check.py [--repeat 7] [--part all|basic|zoo] [--zoo X,Y]
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
ZOO = ROOT / "specs" / "zoo"
KERAS_APP = "import keras\nm = keras.applications.{name}(weights=None)\n"

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
            lines += [
                "[[layers]]",
                'type = "conv2d"',
                "filters = 8",
                "kernel = 3",
                'padding = "same"',
                'activation = "relu"',
            ]
        else:
            lines += ["[[layers]]", 'type = "batch_norm"']
    lines += [
        "[[layers]]",
        'type = "global_avg_pool2d"',
        "[[layers]]",
        'type = "dense"',
        "units = 16",
        'activation = "relu"',
        "[[layers]]",
        'type = "dense"',
        "units = 10",
    ]
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


def in_process_file_time(path: Path, repeat: int) -> tuple[float, int]:
    """(median check time, expanded layer count) of one spec file."""
    from modelspec.check import check_file

    report = check_file(path)
    assert report.ok, [d.render() for d in report.diagnostics[:3]]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        check_file(path)
        times.append(time.perf_counter() - t)
    return statistics.median(times), len(report.layers)


def zoo_section(paths: list[Path], repeat: int, env: dict, note: str) -> str:
    """Cold check of each zoo spec beside import keras + the keras.applications
    build, and in-process check time against the expanded layer count."""
    py = sys.executable
    rows = [
        "| spec | layers | cold check | import keras + build | ratio | "
        "check in process | per layer |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    results = []
    for path in paths:
        cmd = [py, "-m", "modelspec", "check", "-q", str(path)]
        timed(cmd, env)  # warm the caches
        cold = median_of(repeat, cmd, env)
        build = median_of(3, [py, "-c", KERAS_APP.format(name=path.stem)], env)
        inproc, n = in_process_file_time(path, max(3, repeat // 2))
        results.append((n, path.stem, cold, build, inproc))
    for n, name, cold, build, inproc in sorted(results):
        rows.append(
            f"| {name} | {n} | **{cold * 1000:.0f} ms** | "
            f"{build * 1000:.0f} ms | **{build / cold:.1f}x** | "
            f"{inproc * 1000:.1f} ms | {inproc / n * 1e6:.0f} us |"
        )
    per_layer = [(n, inproc) for n, _, _, _, inproc in results]
    if len(per_layer) > 1 and max(per_layer)[0] >= 2 * min(per_layer)[0]:
        (n0, t0), (n1, t1) = min(per_layer), max(per_layer)
        rows += [
            "",
            f"From {n0} to {n1} expanded layers the in-process check time "
            f"grows {t1 / t0:.1f}x (linear would be {n1 / n0:.1f}x).",
        ]
    return (
        "## Check: the zoo (benchmarks/bench_check.py --part zoo)\n\n"
        f"Machine: {machine()}, load average {os.getloadavg()[0]:.1f} at the "
        f"end; cold checks are medians of {repeat} processes, "
        'Keras builds of 3 (`python -c "import keras; '
        'keras.applications.<X>(weights=None)"`, nothing downloaded). The '
        f"ratio is Keras build / cold check.{note}\n\n" + "\n".join(rows)
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--part", choices=("all", "basic", "zoo"), default="all")
    ap.add_argument(
        "--zoo",
        default="",
        help="comma-separated zoo spec names (default: every specs/zoo/*.toml)",
    )
    args = ap.parse_args()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    # A user's install caches bytecode; this sandbox sets PYTHONDONTWRITEBYTECODE,
    # which would make every cold check recompile modelspec from source.
    bytecode_off = env.pop("PYTHONDONTWRITEBYTECODE", None) is not None
    note = (
        " PYTHONDONTWRITEBYTECODE was unset for the measured processes, as on a "
        "normal install."
        if bytecode_off
        else ""
    )
    if args.part in ("all", "zoo"):
        names = [n for n in args.zoo.split(",") if n]
        paths = [ZOO / f"{n}.toml" for n in names] or sorted(ZOO.glob("*.toml"))
        body = zoo_section(paths, args.repeat, env, note)
        print(body)
        write_section("check-zoo", body)
    if args.part in ("all", "basic"):
        basic(args, env, note)


def basic(args, env: dict, note: str) -> None:
    py = sys.executable
    timed([py, "-m", "modelspec", "check", "-q", str(SPEC)], env)  # warm the caches

    check_cold = median_of(
        args.repeat, [py, "-m", "modelspec", "check", "-q", str(SPEC)], env
    )
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
            cold_big[n] = median_of(
                args.repeat, [py, "-m", "modelspec", "check", "-q", str(f)], env
            )

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
        rows.append(
            f"| {n} | {per[n] * 1000:.1f} ms | {per[n] / n * 1e6:.0f} us | "
            f"{cold_big[n] * 1000:.0f} ms |"
        )
    growth = per[1000] / per[100]
    rows.append("")
    rows.append(
        f"From 100 to 1000 layers the in-process time grows {growth:.1f}x "
        "(linear would be 10x)."
    )
    body = (
        "## Check (benchmarks/bench_check.py)\n\n" + f"Machine: {machine()}; "
        f"medians of {args.repeat} runs (3 for TensorFlow).{note}\n\n" + "\n".join(rows)
    )
    print(body)
    write_section("check", body)


if __name__ == "__main__":
    main()
