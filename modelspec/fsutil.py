"""Atomic file writes: a reader never sees half a file, a crash leaves none
that a later command does not clean up (`remove_stale_temps`)."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# `.<target name>.<pid>.<mkstemp's 8 random characters><suffix>`: the pid says
# whether the writer is still alive, so a cleanup never takes a live file.
_TEMP = re.compile(r"^\.(?P<target>.+?)\.(?P<pid>\d+)\.[a-z0-9_]{8}(?P<suffix>\.\w+)?$")


@contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success rename it over target.

    The temporary name keeps `suffix` (e.g. '.keras') because some writers
    insist on the extension, and holds this process's id (see _TEMP).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.{os.getpid()}.",
        suffix=suffix or target.suffix,
        dir=target.parent,
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes owner-only files; give the result the permissions a
        # plain open() would (0666 less the umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(target, text.encode("utf-8"))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, under another user
        return True
    return True


def remove_stale_temps(folder: str | os.PathLike, names=None) -> list[Path]:
    """Delete the temporary files `atomic_path` left in `folder` when its
    process was killed (its pid is gone); only those of targets in `names`
    when given. Returns what was removed. A file of a live writer is kept."""
    folder = Path(folder)
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for path in entries:
        m = _TEMP.match(path.name)
        if m is None or (names is not None and m["target"] not in names):
            continue
        if _alive(int(m["pid"])) or not path.is_file():
            continue
        try:
            path.unlink()
            removed.append(path)
        except FileNotFoundError:
            pass
    return removed
