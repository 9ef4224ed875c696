"""User data in .npz files: `x_train, y_train, x_test, y_test` (+ optional
`class_names`), and validation files with `x_val, y_val`.

Always `np.load(..., allow_pickle=False)`: an .npz with object arrays could
run code when loaded, so it is refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from .process import RawData

TRAIN_TEST = ("x_train", "y_train", "x_test", "y_test")
VALIDATION = ("x_val", "y_val")


def read_npz(path: str | Path, keys: tuple[str, ...], optional=()) -> dict:
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(
            f"{path}: no such file",
            hint=f"[data] path must name an .npz file with {', '.join(keys)}",
        )
    try:
        with np.load(path, allow_pickle=False) as f:
            if not hasattr(f, "files"):
                raise DataError(
                    f"{path}: a single .npy array, not an .npz archive",
                    hint=f"save one with np.savez(path, {', '.join(keys)})",
                )
            missing = [k for k in keys if k not in f.files]
            if missing:
                raise DataError(
                    f"{path}: missing arrays {missing} (it has {sorted(f.files)})",
                    hint=f"save it with np.savez(path, {'=..., '.join(keys)}=...)",
                )
            return {k: f[k] for k in (*keys, *optional) if k in f.files}
    except DataError:
        raise
    except ValueError as e:  # object arrays with allow_pickle=False, bad zip
        raise DataError(
            f"{path}: cannot load ({e})",
            hint="store plain numeric arrays (no Python objects)",
        ) from e
    except Exception as e:
        raise DataError(f"{path}: not a readable .npz file ({e})") from e


def load_npz(path: str) -> RawData:
    arrays = read_npz(path, TRAIN_TEST, optional=("class_names",))
    names = arrays.pop("class_names", None)
    if names is not None:
        names = [str(n) for n in np.asarray(names).reshape(-1)]
    # raw_max None: the pixel range is read off the data when 'unit' scaling.
    return RawData(
        name=Path(path).name,
        **arrays,
        class_names=names,
        raw_max=None,
        source=str(Path(path).expanduser()),
    )


def load_validation(path: str) -> tuple[np.ndarray, np.ndarray]:
    arrays = read_npz(path, VALIDATION)
    return arrays["x_val"], arrays["y_val"]
