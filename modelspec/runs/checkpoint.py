"""Is a saved model file whole? Told without a framework, before Keras reads it.

A crash or a full disk can leave a `.keras` archive cut short; Keras then says
"File not found", which sends the user looking in the wrong place. Every
command that loads a model (evaluate, predict, export, resume, transfer) asks
here first, so the same damaged file gets the same message and exit code.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..errors import UsageError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# What Keras 3 writes into every .keras archive.
KERAS_MEMBERS = ("config.json", "model.weights.h5")


def require_model_file(path: str | Path) -> Path:
    """Return `path` if it holds a complete .keras archive or an HDF5 weights
    file; raise UsageError (exit 2) naming what is wrong otherwise."""
    p = Path(path)
    if not p.exists():
        raise UsageError(f"no such file: {p}")
    if not p.is_file():
        raise UsageError(f"{p} is not a file")
    if p.suffix == ".keras":
        _require_keras_archive(p)
    elif p.suffix == ".h5":
        _require_hdf5(p)
    return p


def _damaged(p: Path, what: str) -> UsageError:
    return UsageError(
        f"{p} is damaged: {what} (a crash or a full disk while it was written?)",
        hint="the run's other checkpoint may be whole (last.keras / best.keras); "
        "or train again",
    )


def _require_keras_archive(p: Path) -> None:
    try:
        with zipfile.ZipFile(p) as z:
            names = set(z.namelist())
    except zipfile.BadZipFile:
        raise _damaged(p, "it is not a complete .keras archive") from None
    except OSError as e:
        raise UsageError(f"cannot read {p}: {e.strerror or e}") from e
    missing = [m for m in KERAS_MEMBERS if m not in names]
    if missing:
        raise _damaged(p, f"the archive has no {', '.join(missing)}")


def _require_hdf5(p: Path) -> None:
    try:
        with open(p, "rb") as f:
            head = f.read(len(HDF5_SIGNATURE))
    except OSError as e:
        raise UsageError(f"cannot read {p}: {e.strerror or e}") from e
    if head != HDF5_SIGNATURE:
        raise _damaged(p, "it is not an HDF5 file")
