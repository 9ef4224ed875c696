"""Where built-in datasets are looked for, and the one place that downloads.

Search order for a built-in dataset (first match wins):

1. `[data] path`, and its sub-folders named like the dataset;
2. every folder in `$MODELSPEC_DATA` (os.pathsep-separated) and their
   sub-folders named like the dataset (e.g. `$MODELSPEC_DATA/fashion-mnist/`);
3. Keras's cache, `$KERAS_HOME/datasets` or `~/.keras/datasets` (and
   `/tmp/.keras/datasets`, where Keras falls back when home is read-only);
4. system folders: `/usr/share/datasets/<name>` (Debian's
   `dataset-fashion-mnist` puts the four gz IDX files there) and
   `/usr/local/share/datasets/<name>`.

Only then is a download tried, into Keras's cache and in the files Keras itself
uses. `MODELSPEC_OFFLINE=1` turns downloads off (the tests set it); `downloader`
can be replaced (tests, mirrors).
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import DataError
from ..fsutil import atomic_path

ENV_DATA = "MODELSPEC_DATA"
ENV_OFFLINE = "MODELSPEC_OFFLINE"
SYSTEM_DIRS = (Path("/usr/share/datasets"), Path("/usr/local/share/datasets"))
# Where Keras caches when the home folder is not writable.
FALLBACK_CACHE = Path("/tmp/.keras/datasets")

# Sub-folder names a dataset may live in; the first is the conventional one.
ALIASES: dict[str, tuple[str, ...]] = {
    "mnist": ("mnist",),
    "fashion_mnist": ("fashion-mnist", "fashion_mnist"),
    "cifar10": ("cifar10", "cifar-10"),
    "cifar100": ("cifar100", "cifar-100"),
}


@dataclass(frozen=True)
class Place:
    """A folder to search. `own` means it belongs to this one dataset, so file
    names that several datasets share (IDX files) may be taken from it."""

    folder: Path
    own: bool


def keras_cache() -> Path:
    """Keras's dataset cache (keras.utils.get_file with cache_subdir='datasets')."""
    home = os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
    return Path(home).expanduser() / "datasets"


def places(name: str, path: str | None) -> list[Place]:
    """Every folder searched for built-in dataset `name`, in order."""
    aliases = ALIASES.get(name, (name,))
    out: list[Place] = []

    def base(folder: Path, own: bool) -> None:
        out.append(Place(folder, own))
        out.extend(Place(folder / a, True) for a in aliases)

    if path:
        base(Path(path).expanduser(), True)
    for entry in os.environ.get(ENV_DATA, "").split(os.pathsep):
        if entry.strip():
            base(Path(entry.strip()).expanduser(), False)
    base(keras_cache(), False)
    base(FALLBACK_CACHE, False)
    for system in SYSTEM_DIRS:
        out.extend(Place(system / a, True) for a in aliases)
    seen: set[Path] = set()
    unique = []
    for p in out:
        if p.folder not in seen:
            seen.add(p.folder)
            unique.append(p)
    return unique


def offline() -> bool:
    return os.environ.get(ENV_OFFLINE, "").strip().lower() not in ("", "0", "false")


def urllib_download(url: str, target: Path) -> None:
    with urllib.request.urlopen(url, timeout=60) as response, open(target, "wb") as f:
        while chunk := response.read(1 << 20):
            f.write(chunk)


# Replaceable: called as downloader(url, target_path); must write the file or raise.
downloader: Callable[[str, Path], None] = urllib_download
# The CLI may set this to say what is being fetched (the library never prints).
notify: Callable[[str, Path], None] | None = None


class DownloadFailed(Exception):
    """Internal: the download was off or failed; the caller explains what to do."""


def download(url: str, target: Path, sha256: str | None = None) -> Path:
    """Fetch `url` to `target` atomically (never a half file), checking sha256."""
    if offline():
        raise DownloadFailed(f"downloads are off ({ENV_OFFLINE}=1)")
    if notify is not None:
        notify(url, target)
    try:
        with atomic_path(target) as tmp:
            downloader(url, tmp)
            if sha256 is not None:
                got = _sha256(tmp)
                if got != sha256:
                    raise DownloadFailed(
                        f"{url} has sha256 {got[:12]}..., expected {sha256[:12]}..."
                    )
    except DownloadFailed:
        raise
    except Exception as e:  # urllib, socket and OS errors all mean "not fetched"
        raise DownloadFailed(f"downloading {url} failed: {e}") from e
    return target


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def not_found(name: str, wanted: str, searched: list[Place], why: str, hint: str):
    """The DataError for a dataset found nowhere: what, where, and why no download."""
    folders = ", ".join(str(p.folder) for p in searched)
    return DataError(
        f"dataset {name!r} not found: looked for {wanted} in {folders}; {why}",
        hint=hint,
    )
