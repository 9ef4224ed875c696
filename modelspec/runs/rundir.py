"""Run directories: `runs/<spec name>/<YYYYmmdd-HHMMSS>[-N]/`, never reused.

Framework-free on purpose: `modelspec runs` lists runs without TensorFlow.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import RunError, UsageError
from ..fsutil import atomic_write_text

SPEC = "spec.toml"
RESOLVED = "resolved.json"
BEST = "best.keras"
LAST = "last.keras"
HISTORY = "history.csv"
STATE = "state.json"
METRICS = "metrics.json"
TB = "tb"
LATEST = "latest"
# The plots written after training (backends/keras_backend/finish.py).
CURVES = "curves.png"
SAMPLES = "samples.png"
CONFUSION = "confusion.png"
AUGMENT = "augment.png"  # training examples beside augmented views
# Held while a process trains in the folder (runs/lock.py).
LOCK = ".lock"


def create_run_dir(out: str | os.PathLike, name: str, now: float | None = None):
    """Claim a fresh directory. mkdir without exist_ok is the atomic claim, so
    two trainings started in the same second get different folders."""
    parent = Path(out) / name
    parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    for n in range(1, 10_000):
        candidate = parent / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise RunError(f"cannot create a new run directory under {parent}")


def point_latest(run_dir: Path) -> None:
    """`<name>/latest` -> run_dir: a relative symlink, swapped in atomically;
    a plain file holding the folder name where symlinks are not allowed."""
    link = run_dir.parent / LATEST
    tmp = run_dir.parent / f".{LATEST}.{os.getpid()}"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(run_dir.name, tmp)
        os.replace(tmp, link)
    except OSError:
        if tmp.is_symlink():
            tmp.unlink()
        if link.is_symlink():
            link.unlink()
        atomic_write_text(link, run_dir.name + "\n")


def resolve_run(path: str | os.PathLike) -> Path:
    """A run directory, or `<name>/latest`, or `<name>` (its latest run)."""
    p = Path(path)
    if p.is_file() and p.name == LATEST:
        p = p.parent / p.read_text().strip()
    if p.is_dir() and not (p / SPEC).exists() and (p / LATEST).exists():
        return resolve_run(p / LATEST)
    if not p.is_dir():
        raise UsageError(f"run directory not found: {path}")
    p = p.resolve()
    if not (p / SPEC).exists():
        raise UsageError(
            f"{path} is not a run directory (it has no {SPEC})",
            hint="pass a folder under runs/<spec name>/, e.g. runs/<name>/latest",
        )
    return p


def write_json(path: Path, data: dict) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def read_json(path: Path) -> dict:
    """A run file's JSON object; {} when the file does not exist. Raises
    RunError naming the file when it is not JSON or not an object."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise RunError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise RunError(
            f"cannot read {path}: expected a JSON object, found {type(data).__name__}",
            hint="the file is damaged or was edited by hand",
        )
    return data


# state.json keys, their types and whether None is allowed.
_STATE_KEYS = {
    "epochs_done": ((int,), False),
    "best": ((int, float), True),
    "best_epoch": ((int,), True),
    "interrupted": ((bool,), False),
    "fit_seconds": ((int, float), False),
    "last_logs": ((dict,), False),
    "fit_done": ((int,), True),
}


def read_state(run_dir: Path) -> dict:
    """state.json, its keys checked (RunError naming the file and key)."""
    path = Path(run_dir) / STATE
    state = read_json(path)
    for key, (types, nullable) in _STATE_KEYS.items():
        if key not in state or (nullable and state[key] is None):
            continue
        value = state[key]
        bad = isinstance(value, bool) and bool not in types
        if (
            bad
            or not isinstance(value, types)
            or (key == "epochs_done" and isinstance(value, int) and value < 0)
        ):
            raise RunError(
                f"cannot read {path}: '{key}' should be "
                f"{' or '.join(t.__name__ for t in types)}. Received: {value!r}",
                hint="the file is damaged or was edited by hand",
            )
    return state


@dataclass
class RunInfo:
    path: Path
    name: str
    stamp: str
    status: str  # done, interrupted, incomplete, empty or unreadable
    epochs: int | None = None
    best_epoch: int | None = None
    val_accuracy: float | None = None
    test_accuracy: float | None = None
    wall_time: float | None = None
    examples_per_s: float | None = None
    extra: dict = field(default_factory=dict)
    error: str | None = None  # why the run is unreadable: names the file


def value_at(data: dict, *keys, kind=(int, float)):
    """data[k1][k2]... when every level is an object and the value has the
    right type, else None (a `runs` table shows '-')."""
    node: object = data
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    if isinstance(node, bool) or not isinstance(node, kind):
        return None
    return node


def run_info(run_dir: Path) -> RunInfo:
    """What `modelspec runs` shows of one run; an unreadable file makes the
    run 'unreadable' (with the reason) rather than failing the listing."""
    try:
        state = read_state(run_dir)
        metrics = read_json(run_dir / METRICS)
        resolved = read_json(run_dir / RESOLVED)
    except RunError as exc:
        return RunInfo(
            path=run_dir,
            name=run_dir.parent.name,
            stamp=run_dir.name,
            status="unreadable",
            error=exc.message,
        )
    name = value_at(resolved, "spec", "model", "name", kind=str) or run_dir.parent.name
    if metrics:
        status = "done"
    elif state.get("interrupted"):
        status = "interrupted"
    elif state:
        status = "incomplete"
    else:
        status = "empty"
    overrides = resolved.get("overrides", [])
    if not isinstance(overrides, list):
        overrides = []
    return RunInfo(
        path=run_dir,
        name=name,
        stamp=run_dir.name,
        status=status,
        epochs=state.get("epochs_done"),
        best_epoch=state.get("best_epoch"),
        val_accuracy=value_at(metrics, "val", "accuracy"),
        test_accuracy=value_at(metrics, "test", "accuracy"),
        wall_time=value_at(metrics, "wall_time_s"),
        examples_per_s=value_at(metrics, "train_examples_per_s"),
        extra={"overrides": [str(o) for o in overrides]},
    )


def list_runs(root: str | os.PathLike = "runs") -> list[RunInfo]:
    """Every run under root (a runs/ folder, one spec's folder, or one run)."""
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"no runs folder at {root}", hint="train a spec first")
    if (root / SPEC).exists():
        return [run_info(root)]
    found = sorted(p.parent for p in root.glob("*/" + SPEC))
    found += sorted(p.parent for p in root.glob("*/*/" + SPEC))
    runs = [run_info(p) for p in dict.fromkeys(found) if not p.is_symlink()]
    return sorted(runs, key=lambda r: (r.name, r.stamp))
