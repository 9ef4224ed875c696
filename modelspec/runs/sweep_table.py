"""The comparison table of a sweep: one row per variant, from its run's
metrics.json, rendered as CSV and Markdown (the CLI renders it with Rich)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from ..fsutil import atomic_write_text
from .rundir import value_at

CSV_FILE = "comparison.csv"
MD_FILE = "comparison.md"

# The comparison: one row per variant, from its run's metrics.json.
COLUMNS = (
    ("variant", "variant"),
    ("status", "status"),
    ("val_accuracy", "val acc"),
    ("test_accuracy", "test acc"),
    ("epochs_to_best", "best epoch"),
    ("epochs_done", "epochs"),
    ("wall_time_s", "wall s"),
    ("examples_per_s", "ex/s"),
)


def comparison_row(variant, metrics: dict, run_dir=None) -> dict:
    """Accuracy of the run's best checkpoint (by its monitor) on val and test,
    the epoch it came from, fit wall time and training examples/s."""
    # value_at: a damaged metrics.json shows '-', never stops the table.
    return {
        "variant": variant.label,
        "status": variant.status,
        "val_accuracy": value_at(metrics, "val", "accuracy"),
        "test_accuracy": value_at(metrics, "test", "accuracy"),
        "epochs_to_best": value_at(metrics, "epochs_to_best", kind=int),
        "epochs_done": value_at(metrics, "epochs_done", kind=int),
        "wall_time_s": value_at(metrics, "wall_time_s"),
        "examples_per_s": value_at(metrics, "train_examples_per_s"),
        "monitor": value_at(metrics, "monitor", kind=str),
        "run_dir": None if run_dir is None else str(run_dir),
        **{f"set:{k}": v for k, v in variant.values.items()},
    }


def format_cell(key: str, value) -> str:
    if value is None:
        return "-"
    if key.endswith("accuracy"):
        return f"{value:.4f}"
    if key in ("wall_time_s", "examples_per_s"):
        return f"{value:,.0f}" if key == "examples_per_s" else f"{value:.1f}"
    return str(value)


def comparison_csv(rows: Sequence[dict]) -> str:
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in keys})
    return buf.getvalue()


def comparison_markdown(rows: Sequence[dict], title: str) -> str:
    monitors = sorted({r["monitor"] for r in rows if r.get("monitor")})
    head = [label for _, label in COLUMNS]
    lines = [
        f"# {title}",
        "",
        "Accuracy of each run's best checkpoint"
        + (f" (by {', '.join(monitors)})" if monitors else "")
        + "; wall time of fit; training examples per second.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" if i < 2 else "---:" for i in range(len(head))) + "|",
    ]
    for row in rows:
        cells = [format_cell(k, row.get(k)) for k, _ in COLUMNS]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def write_comparison(sweep_dir: Path, rows: Sequence[dict], title: str) -> None:
    atomic_write_text(Path(sweep_dir) / CSV_FILE, comparison_csv(rows))
    atomic_write_text(Path(sweep_dir) / MD_FILE, comparison_markdown(rows, title))
