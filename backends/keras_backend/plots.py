"""PNG plots of a run: training curves, sample predictions, confusion matrix.

Matplotlib runs headless (Agg) and is imported inside the functions.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from modelspec.errors import require
from modelspec.fsutil import atomic_path


def _pyplot():
    # require: a core install without the cpu extra gets "install [cpu]"
    matplotlib = require("matplotlib")
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, target: Path) -> None:
    plt = _pyplot()
    with atomic_path(target, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)


def read_history(path: Path) -> dict[str, list[float]]:
    cols: dict[str, list[float]] = {}
    if not Path(path).exists():
        return cols
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            for key, value in row.items():
                try:
                    cols.setdefault(key, []).append(float(value))
                except (TypeError, ValueError):
                    cols.setdefault(key, []).append(float("nan"))
    return cols


def curves(history: dict[str, list[float]], target: Path) -> None:
    """Loss and accuracy per epoch, training and validation."""
    plt = _pyplot()
    epochs = [int(e) + 1 for e in history.get("epoch", [])]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        for key, label in ((metric, "train"), (f"val_{metric}", "validation")):
            if key in history and epochs:
                ax.plot(epochs, history[key], marker="o", label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    _save(fig, target)


def _as_image(x: np.ndarray) -> np.ndarray:
    img = np.asarray(x, dtype=np.float32)
    lo, hi = float(img.min()), float(img.max())
    img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim == 1:
        img = img[None, :]
    return img


def samples(x, y_true, y_pred, class_names, target: Path, seed=3, count=10) -> None:
    """`count` random test images with true and predicted labels; wrong
    predictions in red (seed 003's figure)."""
    plt = _pyplot()
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(x), size=min(count, len(x)), replace=False)
    cols = 5
    rows = max(1, -(-len(picks) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.5 * rows))
    axes = np.atleast_1d(axes).ravel()
    for ax in axes:
        ax.axis("off")
    # The grid has at least as many axes as pictures; the spare ones stay blank.
    for ax, i in zip(axes, picks, strict=False):
        img = _as_image(x[i])
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
        true, pred = int(y_true[i]), int(y_pred[i])
        ax.set_title(
            f"true {class_names[true]}\npred {class_names[pred]}",
            color="black" if true == pred else "red",
            fontsize=9,
        )
    _save(fig, target)


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    m = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return m


def confusion(y_true, y_pred, class_names, target: Path) -> np.ndarray:
    plt = _pyplot()
    n = len(class_names)
    m = confusion_matrix(y_true, y_pred, n)
    size = min(max(4.0, 0.5 * n + 2), 24.0)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(m, cmap="Blues")
    if n <= 30:
        ticks = np.arange(n)
        ax.set_xticks(ticks, labels=class_names, rotation=90)
        ax.set_yticks(ticks, labels=class_names)
        if n <= 15:
            top = m.max() or 1
            for i in range(n):
                for j in range(n):
                    color = "white" if m[i, j] > top / 2 else "black"
                    ax.text(
                        j,
                        i,
                        str(m[i, j]),
                        ha="center",
                        va="center",
                        color=color,
                        fontsize=8,
                    )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix (test)")
    _save(fig, target)
    return m
