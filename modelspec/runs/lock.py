"""One process at a time in a run (or sweep) folder.

An `flock` on `<folder>/.lock`, held while the process trains there. The
kernel drops it when the process dies, however it dies (kill -9 included),
so a lock left by a killed process is simply taken over; the pid written in
the file names the holder for the message a second process gets.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import UsageError
from .rundir import LOCK


class RunBusy(UsageError):
    """Another live process holds the folder's lock (exit 2)."""

    def __init__(self, folder: Path, pid: str) -> None:
        who = f"process {pid}" if pid else "another process"
        super().__init__(
            f"{folder} is in use by {who}, which is training in it",
            hint="wait for it to finish, or stop it"
            + (f" (kill {pid})" if pid else ""),
        )
        self.folder = folder
        self.pid = pid


def _read_pid(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 64).decode("ascii", "replace").strip()


def _acquire(path: Path, folder: Path) -> tuple[int, str]:
    """(open fd holding the lock, pid of the previous holder or '')."""
    import fcntl

    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise RunBusy(folder, pid) from None
        except BaseException:
            os.close(fd)
            raise
        # The holder we waited on may have unlinked the file just before we
        # locked it: then our lock is on a dead inode; open the file again.
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd, _read_pid(fd)
        os.close(fd)


@contextmanager
def locked(folder: str | os.PathLike) -> Iterator[str]:
    """Hold `folder`'s lock for the block; yields the pid of a previous
    holder that died without releasing it ('' when there was none). Raises
    RunBusy when a live process holds it. Without fcntl (Windows) there is
    no lock."""
    folder = Path(folder)
    try:
        import fcntl  # noqa: F401
    except ImportError:
        yield ""
        return
    path = folder / LOCK
    fd, stale = _acquire(path, folder)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield stale
    finally:
        # Unlink before unlocking (closing): see the inode check in _acquire.
        path.unlink(missing_ok=True)
        os.close(fd)
