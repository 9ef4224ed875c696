"""Time `modelspec graph` rendering for every spec in specs/ and specs/broken/.

Usage: python benchmarks/bench_graph.py [--repeat N]
Prints, per spec, the median in-process time of check + render for each format
(the checker's own time is shown separately). Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from modelspec.check import check_file  # noqa: E402
from modelspec.drawing import FORMATS, render  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from _report import machine, write_section  # noqa: E402


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    specs = sorted((ROOT / "specs").glob("*.toml")) + sorted(
        (ROOT / "specs" / "broken").glob("*.toml")
    )
    render(check_file(specs[0]), "png")  # warm imports and font loading
    print(
        f"{'spec':48} {'layers':>6} {'check':>8} "
        + " ".join(f"{f:>8}" for f in FORMATS)
    )
    worst = dict.fromkeys(FORMATS, 0.0)
    for path in specs:
        report = check_file(path)
        t_check = median_time(lambda p=path: check_file(p), args.repeat)
        cells = []
        for fmt in FORMATS:
            t = median_time(lambda r=report, f=fmt: render(r, f), args.repeat)
            worst[fmt] = max(worst[fmt], t)
            cells.append(f"{t * 1000:6.1f}ms")
        name = str(path.relative_to(ROOT))
        print(
            f"{name:48} {len(report.nodes):6d} {t_check * 1000:6.1f}ms "
            + " ".join(cells)
        )
    slowest = ", ".join(f"{f} {t * 1000:.1f} ms" for f, t in worst.items())
    print("slowest: " + slowest)
    write_section(
        "graph",
        (
            "## Graph (benchmarks/bench_graph.py)\n\n"
            f"Machine: {machine()}; medians of {args.repeat} in-process renders of "
            f"each of the {len(specs)} specs in specs/ and specs/broken/ "
            "(check excluded).\n\n"
            f"Slowest spec per format: {slowest}."
        ),
    )


if __name__ == "__main__":
    main()
