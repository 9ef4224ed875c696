"""The one exceptions module. Library code raises these; only the CLI prints.

Each error carries a one-line message (state the rule, name the thing, show what
was received) and an optional hint. `exit_code` is what the CLI exits with.
"""

from __future__ import annotations

from . import DISTRIBUTION

# Exit codes of the CLI. A bug (3) is kept apart from a bad spec or failed run
# (1) so that CI can tell a modelspec defect from a user's mistake.
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


class ModelspecError(Exception):
    """Base of every error modelspec raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(ModelspecError):
    """Bad command-line use or unreadable/missing files (exit 2)."""

    exit_code = 2


class SpecInvalid(ModelspecError):
    """The spec has errors; `report` holds every diagnostic."""

    def __init__(self, report) -> None:  # report: modelspec.report.Report
        n = len(report.errors)
        super().__init__(f"{report.file}: {n} error{'s' * (n != 1)} in the spec")
        self.report = report


class MissingExtra(ModelspecError):
    """A command needs the framework stack, which is not installed (exit 2)."""

    exit_code = 2

    def __init__(self, module: str, extra: str = "cpu") -> None:
        gpu = "; '[gpu]' instead on a CUDA machine" if extra == "cpu" else ""
        super().__init__(
            f"this command needs '{module}', which is not installed",
            hint=f"pip install '{DISTRIBUTION}[{extra}]' (from a source checkout: "
            f"pip install -e '.[{extra}]'{gpu})",
        )
        self.module = module
        self.extra = extra


class DataError(ModelspecError):
    """The data cannot be loaded or does not fit the model."""


class RunError(ModelspecError):
    """Training, evaluation, transfer or a run directory went wrong."""


class ExportError(ModelspecError):
    """ONNX export or its verification failed."""


class OutputExists(ExportError):
    """The target file exists and --force was not given (a usage error, exit 2)."""

    exit_code = 2


def require(module: str, extra: str = "cpu"):
    """Import a framework module, or raise MissingExtra naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(module, extra) from None


def from_os_error(e: OSError, doing: str = "use", where=None) -> UsageError:
    """An OSError (permissions, a file where a folder should be, a full disk) as
    the usage/IO error it is, naming the path and the OS's reason. `where` names
    the place when the OS error does not (writes deep inside a library)."""
    import errno

    path = e.filename if e.filename is not None else (where or "a file")
    reason = e.strerror or str(e)
    hints = {
        errno.ENOSPC: "free some space on that disk, or write elsewhere (--out)",
        errno.EDQUOT: "free some space on that disk, or write elsewhere (--out)",
        errno.EACCES: "check the permissions of that path, or write elsewhere",
        errno.EPERM: "check the permissions of that path, or write elsewhere",
        errno.EROFS: "that filesystem is read-only: write elsewhere (--out)",
        errno.ENOTDIR: "a file stands where a folder is needed: choose another path",
        errno.EEXIST: "remove it or choose another path",
    }
    return UsageError(f"cannot {doing} {path}: {reason}", hint=hints.get(e.errno or 0))
