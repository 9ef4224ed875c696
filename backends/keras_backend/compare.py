"""Plots across runs: a sweep's validation accuracy curves and
`modelspec runs --compare`. Matplotlib only (Agg), read from each run's
history.csv, so no TensorFlow is loaded to draw them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from modelspec import runs
from modelspec.errors import UsageError

from .plots import _pyplot, _save, read_history


def _epochs(history: dict) -> list[int]:
    # CSVLogger counts epochs from 0; people count from 1.
    return [int(e) + 1 for e in history.get("epoch", [])]


def _axes(ax, ylabel: str, title: str) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)


def _legend(ax) -> None:
    if ax.lines:
        # Below the plot: sweep labels are long and would cover the curves.
        ax.legend(
            fontsize="small",
            loc="upper center",
            bbox_to_anchor=(0.5, -0.15),
            ncol=1,
            frameon=False,
        )


def val_accuracy_plot(series: Sequence[tuple[str, Path]], target: Path) -> int:
    """One line of validation accuracy per epoch for each (label, run_dir);
    returns how many runs had a curve to draw."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    drawn = 0
    for label, run_dir in series:
        history = read_history(Path(run_dir) / runs.HISTORY)
        key = "val_accuracy" if "val_accuracy" in history else "accuracy"
        if key not in history or not history.get("epoch"):
            continue
        suffix = "" if key == "val_accuracy" else " (train: no validation split)"
        ax.plot(_epochs(history), history[key], marker="o", label=label + suffix)
        drawn += 1
    _axes(ax, "validation accuracy", "validation accuracy per epoch")
    _legend(ax)
    _save(fig, target)
    return drawn


def run_label(run_dir: Path) -> str:
    """`<spec name>/<stamp>` plus the run's --set overrides, for legends."""
    info = runs.run_info(run_dir)
    overrides = " ".join(info.extra.get("overrides", []))
    return f"{info.name}/{info.stamp}" + (f" {overrides}" if overrides else "")


def compare_runs(
    run_paths: Sequence[str | Path],
    target: str | Path,
    labels: Sequence[str] | None = None,
) -> list[Path]:
    """Loss and accuracy per epoch of several runs on one figure: one colour
    per run, training dashed, validation solid. Returns the resolved runs."""
    if len(run_paths) < 1:
        raise UsageError("--compare needs at least one run folder")
    dirs = [runs.resolve_run(p) for p in run_paths]
    labels = list(labels) if labels else [run_label(d) for d in dirs]
    histories = [read_history(d / runs.HISTORY) for d in dirs]
    empty = [str(d) for d, h in zip(dirs, histories, strict=True) if not h.get("epoch")]
    if empty:
        raise UsageError(
            f"no finished epoch to plot in {', '.join(empty)}",
            hint="a run has curves once its history.csv has a row",
        )
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, history) in enumerate(zip(labels, histories, strict=True)):
        color = colors[i % len(colors)]
        for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
            for key, style, part in (
                (metric, "--", "train"),
                (f"val_{metric}", "-", "val"),
            ):
                if key in history:
                    ax.plot(
                        _epochs(history),
                        history[key],
                        linestyle=style,
                        color=color,
                        marker="o",
                        markersize=3,
                        label=f"{label} ({part})",
                    )
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        _axes(ax, metric, f"{metric} (train dashed, validation solid)")
    _legend(axes[0])
    _save(fig, Path(target))
    return dirs
