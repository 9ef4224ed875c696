"""ONNX export and inference: export time per spec, and ONNX Runtime against
Keras (`model.predict` and a direct `model(x)` call) for the LeNet spec, as
ratios measured in one run. Writes the "export" section of docs/benchmarks.md.

    python benchmarks/bench_export.py [--repeat 50] [--specs 'specs/*.toml']
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MODELSPEC_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write_section  # noqa: E402

LENET = ROOT / "specs" / "mnist_lenet.toml"


def export_times(pattern: str, folder: Path) -> list[tuple]:
    from backends.keras_backend import build_model
    from backends.onnx_export import export_onnx
    from modelspec.check import check_file

    rows = []
    for path in sorted(glob.glob(str(ROOT / pattern))):
        report = check_file(path)
        if not report.ok:
            continue
        model = build_model(report, seed=0)
        start = time.perf_counter()
        result = export_onnx(
            model, report, folder / f"{Path(path).stem}.onnx", force=True, n_random=16
        )
        total = time.perf_counter() - start
        rows.append(
            (
                Path(path).name,
                model.count_params(),
                result.convert_seconds,
                total,
                result.file_size,
                result.verification.max_abs_diff,
            )
        )
        print(f"{Path(path).name:32s} {total:6.1f} s", flush=True)
    return rows


def _median_seconds(fn, repeat: int) -> float:
    fn()  # warm-up: graph tracing, session arenas
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def inference(folder: Path, repeat: int) -> dict:
    import numpy as np

    from backends.keras_backend import build_model
    from backends.onnx_export import export_onnx
    from backends.onnx_export.verify import session
    from modelspec.check import check_file

    report = check_file(LENET)
    model = build_model(report, seed=0)
    path = folder / "lenet.onnx"
    export_onnx(model, report, path, force=True, n_random=16)
    sess = session(path)
    name = sess.get_inputs()[0].name
    rng = np.random.default_rng(0)
    out = {}
    for batch in (1, 64):
        x = rng.random((batch, 28, 28, 1)).astype(np.float32)
        n = repeat if batch == 1 else max(5, repeat // 5)
        # Each lambda is timed before the loop moves on; the defaults bind
        # this iteration's values all the same.
        out[batch] = {
            "onnxruntime": _median_seconds(lambda x=x: sess.run(None, {name: x}), n),
            "model.predict": _median_seconds(
                lambda x=x, b=batch: model.predict(x, batch_size=b, verbose=0), n
            ),
            "model(x)": _median_seconds(lambda x=x: model(x, training=False), n),
        }
    return out


def render(rows, inf, repeat: int, load: tuple) -> str:
    lines = [
        "## Export (benchmarks/bench_export.py)",
        "",
        f"Machine: {machine()}; ONNX Runtime CPUExecutionProvider with default "
        f"threads; medians of {repeat} calls (batch 1) and {max(5, repeat // 5)} "
        "(batch 64) after one warm-up call; random weights. Load average at the "
        f"start: {load[0]:.1f}, at the end: {os.getloadavg()[0]:.1f}; above 2, "
        "other jobs shared the cores, so absolute times are noisy; the ratios "
        "compare calls made in the same minutes.",
        "",
        "Inference, `specs/mnist_lenet.toml` (3,274,634 parameters):",
        "",
        "| | batch 1 latency | batch 64 throughput | time / ONNX Runtime's (1 / 64) |",
        "| --- | ---: | ---: | ---: |",
    ]
    ort1, ort64 = inf[1]["onnxruntime"], inf[64]["onnxruntime"]
    for key in ("onnxruntime", "model.predict", "model(x)"):
        t1, t64 = inf[1][key], inf[64][key]
        ratio = f"{t1 / ort1:.1f}x / {t64 / ort64:.1f}x"
        lines.append(
            f"| {key} | {t1 * 1e3:.2f} ms | {64 / t64:,.0f} images/s | {ratio} |"
        )
    lines += [
        "",
        "Export time per spec (conversion with tf2onnx, then onnx.checker, shape "
        "inference and the ONNX Runtime / Keras parity check on 16 random inputs):",
        "",
        "| spec | params | convert | total | file | max abs diff |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, params, conv, total, size, diff in rows:
        lines.append(
            f"| {name} | {params:,} | {conv:.1f} s | {total:.1f} s | "
            f"{size / 2**20:.1f} MB | {diff:.1e} |"
        )
    lines += [
        "",
        "Conversion time grows with the weights: tf2onnx copies the constant "
        "tensors through several protobuf passes, so the 25.8M-parameter "
        "`mnist_mod` dominates.",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--specs", default="specs/*.toml")
    args = ap.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inf = inference(folder, args.repeat)
        for batch, row in inf.items():
            print(
                f"batch {batch}: "
                + ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in row.items())
            )
        rows = export_times(args.specs, folder)
    write_section("export", render(rows, inf, args.repeat, load))
    print("wrote the export section of docs/benchmarks.md")


if __name__ == "__main__":
    main()
